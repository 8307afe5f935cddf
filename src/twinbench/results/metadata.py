"""Machine and software metadata, and the fingerprint that decides which runs are comparable.

pyperf style: one `collect_*` function per source, each filling a flat dict. The fingerprint is
an allowlist of fields that must match before two runs are compared (DESIGN decision 5);
everything else (hostname, clock speed, date) is recorded but never blocks a comparison.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
from importlib import metadata as importlib_metadata
from typing import Any

FINGERPRINT_FIELDS: tuple[str, ...] = (
    "cpu_model",
    "cpu_count",
    "machine",
    "system",
    "gpu_names",
    "gpu_driver",
    "python_version",
    "numpy_version",
    "torch_version",
    "torch_cuda",
    "torch_cudnn",
    "tensorflow_version",
    "tensorflow_cuda",
    "tensorflow_cudnn",
    "keras_version",
    "keras_backend",
    "threads",
    "tf32",
)


def collect_metadata(threads: int) -> dict[str, Any]:
    """Everything the run file records about where and with what it ran."""
    md: dict[str, Any] = {"threads": threads, "tf32": False}
    collect_system_metadata(md)
    collect_cpu_metadata(md)
    collect_gpu_metadata(md)
    collect_package_metadata(md)
    collect_torch_metadata(md)
    collect_tensorflow_metadata(md)
    return md


def collect_system_metadata(md: dict[str, Any]) -> None:
    """Python, OS and host."""
    md["python_version"] = platform.python_version()
    md["python_implementation"] = platform.python_implementation()
    md["machine"] = platform.machine()
    md["system"] = platform.system()
    md["release"] = platform.release()
    md["hostname"] = platform.node()
    md["cpu_count"] = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    md["argv"] = sys.argv


def collect_cpu_metadata(md: dict[str, Any]) -> None:
    """CPU model (stable) and current clock (volatile), via py-cpuinfo."""
    import cpuinfo  # shipped with pytest-benchmark; slow (~1 s), so imported only here

    info = cpuinfo.get_cpu_info()
    md["cpu_model"] = info.get("brand_raw") or platform.processor() or None
    md["cpu_hz_actual"] = info.get("hz_actual_friendly")


def collect_gpu_metadata(md: dict[str, Any]) -> None:
    """The GPUs CUDA_VISIBLE_DEVICES shows (NVML, else nvidia-smi): gpu_names (a MIG slice's
    name carries its profile, so two slices differ), gpu_driver, and per device its UUID,
    compute capability, memory, MIG profile, power limit and application clocks."""
    from twinbench.measure.gpu import collect_gpus, load_nvml

    found = collect_gpus(load_nvml())
    md["gpu_names"] = [gpu["name"] for gpu in found["gpus"]]
    md["gpu_driver"] = found["gpu_driver"]
    md["gpu_mig_profile"] = found["gpus"][0]["mig_profile"] if found["gpus"] else None
    md["cuda_driver_version"] = found.get("cuda_driver_version")
    md["gpus"] = found["gpus"]
    md["gpu_source"] = found["gpu_source"]


def tf32_in_use(frameworks: dict[str, dict[str, Any]]) -> bool:
    """Whether any framework's workers let float32 matmuls or convolutions use TF32, by the
    settings the workers reported (`Runner.metadata`), not by what this process assumes."""
    keys = ("tf32", "tf32_matmul", "tf32_cudnn")
    return any(bool(meta.get(key)) for meta in frameworks.values() for key in keys)


def collect_package_metadata(md: dict[str, Any]) -> None:
    """Installed versions, read without importing the packages."""
    for field, dist in (
        ("numpy_version", "numpy"),
        ("torch_version", "torch"),
        ("tensorflow_version", "tensorflow"),
        ("keras_version", "keras"),
        ("pytest_benchmark_version", "pytest-benchmark"),
    ):
        try:
            md[field] = importlib_metadata.version(dist)
        except importlib_metadata.PackageNotFoundError:
            md[field] = None


def collect_torch_metadata(md: dict[str, Any]) -> None:
    """CUDA and cuDNN versions PyTorch was built with and loads."""
    import torch

    md["torch_cuda"] = torch.version.cuda
    md["torch_cudnn"] = torch.backends.cudnn.version() if torch.cuda.is_available() else None


def collect_tensorflow_metadata(md: dict[str, Any]) -> None:
    """CUDA and cuDNN versions TensorFlow was built with, and the Keras backend."""
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import keras
    import tensorflow as tf

    build = tf.sysconfig.get_build_info()
    md["tensorflow_cuda"] = build.get("cuda_version")
    md["tensorflow_cudnn"] = build.get("cudnn_version")
    md["keras_backend"] = keras.backend.backend()


def fingerprint(md: dict[str, Any]) -> dict[str, Any]:
    """The allowlisted fields of `md`: what must match for two runs to be comparable."""
    return {field: md.get(field) for field in FINGERPRINT_FIELDS}


def fingerprint_id(fp: dict[str, Any]) -> str:
    """Short stable hash of a fingerprint, used to name baselines."""
    canonical = json.dumps(fp, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


def fingerprint_differences(a: dict[str, Any], b: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Fields whose values differ between two fingerprints: {field: (a, b)}."""
    return {f: (a.get(f), b.get(f)) for f in FINGERPRINT_FIELDS if a.get(f) != b.get(f)}
