"""Machine and software metadata: the machine identity and the software stack of a run.

pyperf style: one `collect_*` function per source, each filling a flat dict. Two allowlists
split it (DESIGN decision 5): the identity must match before two runs are compared, and names
the baseline; the stack is compared and every difference named. Everything else (hostname,
clock speed, date) is recorded but never blocks a comparison.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
from importlib import metadata as importlib_metadata
from typing import Any

# What is measured and where: runs that differ in any of these measured different things, so
# the gate answers `incomparable` (DESIGN decision 5). One line each on why it belongs here.
IDENTITY_FIELDS: tuple[str, ...] = (
    "cpu_model",  # another CPU runs every kernel at another speed
    "cpu_count",  # cores the run may use: thread pools and the noise of neighbours scale with it
    "machine",  # the architecture (x86_64, aarch64): other instructions, other kernels
    "system",  # the OS: scheduler, allocator and timer differ
    "gpu_names",  # another GPU model is another machine for every CUDA case
    "gpu_mig",  # a MIG slice is a fraction of the card: fewer SMs, less memory bandwidth
    "threads",  # the thread count both frameworks were given
    "tf32",  # TF32 matmuls trade precision for speed: another computation
)
# The software stack: recorded and compared, never a reason to refuse; an upgrade is exactly
# what users want judged, so every difference is named beside the verdicts.
STACK_FIELDS: tuple[str, ...] = (
    "python_version",
    "numpy_version",
    "torch_version",
    "torch_cuda",
    "torch_cudnn",
    "tensorflow_version",
    "tensorflow_cuda",
    "tensorflow_cudnn",
    "keras_version",
    "jax_version",
    "gpu_driver",
    "cuda_driver_version",
    "twinbench_version",
)
# How a stack field is named to people ("torch 2.12.0 -> 2.13.0").
STACK_LABELS: dict[str, str] = {
    "python_version": "Python",
    "numpy_version": "NumPy",
    "torch_version": "torch",
    "torch_cuda": "torch CUDA",
    "torch_cudnn": "torch cuDNN",
    "tensorflow_version": "TensorFlow",
    "tensorflow_cuda": "TensorFlow CUDA",
    "tensorflow_cudnn": "TensorFlow cuDNN",
    "keras_version": "Keras",
    "jax_version": "JAX",
    "gpu_driver": "GPU driver",
    "cuda_driver_version": "CUDA driver API",
    "twinbench_version": "twinbench",
}


def collect_metadata(threads: int) -> dict[str, Any]:
    """Everything the run file records about where and with what it ran."""
    from twinbench import __version__

    md: dict[str, Any] = {"threads": threads, "tf32": False, "twinbench_version": __version__}
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
    md["gpu_mig"] = found["gpus"][0]["mig_profile"] if found["gpus"] else None
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
        ("jax_version", "jax"),
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
    """CUDA and cuDNN versions TensorFlow was built with."""
    import tensorflow as tf

    build = tf.sysconfig.get_build_info()
    md["tensorflow_cuda"] = build.get("cuda_version")
    md["tensorflow_cudnn"] = build.get("cudnn_version")


def identity(md: dict[str, Any]) -> dict[str, Any]:
    """The identity fields of `md`: what must match for two runs to be comparable."""
    return {field: md.get(field) for field in IDENTITY_FIELDS}


def stack(md: dict[str, Any]) -> dict[str, Any]:
    """The software-stack fields of `md`: compared between runs, differences named."""
    return {field: md.get(field) for field in STACK_FIELDS}


def identity_id(ident: dict[str, Any]) -> str:
    """Short stable hash of a machine identity, used to name baselines and history series."""
    canonical = json.dumps(ident, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


def differences(
    a: dict[str, Any], b: dict[str, Any], fields: tuple[str, ...]
) -> dict[str, tuple[Any, Any]]:
    """Fields whose values differ between `a` and `b`: {field: (a, b)}, in `fields` order."""
    return {f: (a.get(f), b.get(f)) for f in fields if a.get(f) != b.get(f)}


def describe_stack_changes(changes: dict[str, Any], verb: str = "") -> str:
    """ "torch 2.12.0 -> 2.13.0, Keras 3.14.0 -> 3.15.1": the changes as people read them
    (`verb` goes after the name: " went" gives "torch went 2.12.0 -> 2.13.0")."""
    return ", ".join(
        f"{STACK_LABELS.get(field, field)}{verb} {_version(old)} -> {_version(new)}"
        for field, (old, new) in changes.items()
    )


def _version(value: Any) -> str:
    return "none" if value in (None, "") else str(value)
