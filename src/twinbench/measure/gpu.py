"""The GPU a run actually uses, and its clocks, temperature and power around each case.

Read through NVML (the `nvidia-ml-py` package, module `pynvml`), which needs neither a
framework nor a CUDA context. NVML numbers every GPU of the machine in PCI bus order and
ignores CUDA_VISIBLE_DEVICES, so the devices a framework sees are picked here by that variable
(indices, GPU UUIDs or MIG UUIDs); the workers run with CUDA_DEVICE_ORDER=PCI_BUS_ID, so an
index means the same GPU to CUDA and to NVML. A case's "cuda" is the first visible device.
Without `pynvml`, `nvidia-smi` gives the identity (no per-case telemetry); without either,
nothing is recorded. NVML and `nvidia-smi` are faked in tests at the functions' `nvml` and
`run` parameters.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Mapping
from typing import Any

# Clock-event bits that mean the GPU ran slower than it could (NVML's "throttle reasons"):
# power cap, hardware slowdown, thermal slowdowns, power brake. Idle, application-clock and
# display settings are not throttling.
THROTTLE_REASONS: dict[int, str] = {
    0x4: "sw_power_cap",
    0x8: "hw_slowdown",
    0x20: "sw_thermal_slowdown",
    0x40: "hw_thermal_slowdown",
    0x80: "hw_power_brake_slowdown",
}


# Set for every process that may touch the GPU, unless the user set them. JAX would take 75%
# of the GPU's memory in each process at start (its default preallocation): the workers of a
# case could not coexist, and memory figures would be the pool's, not the case's. PCI bus
# order makes CUDA's device indices the ones NVML (telemetry, fingerprint) uses.
WORKER_ENVIRONMENT = {"XLA_PYTHON_CLIENT_PREALLOCATE": "false", "CUDA_DEVICE_ORDER": "PCI_BUS_ID"}


def worker_environment() -> dict[str, str]:
    """This process' environment with WORKER_ENVIRONMENT's defaults for what is unset."""
    return WORKER_ENVIRONMENT | dict(os.environ)


def load_nvml() -> Any | None:
    """The initialised `pynvml` module, or None when it is missing or finds no driver."""
    try:
        import pynvml

        pynvml.nvmlInit()
    except Exception:  # ImportError, or NVMLError: no driver, no GPU
        return None
    return pynvml


def visible_devices(environ: Mapping[str, str] | None = None) -> list[str] | None:
    """CUDA_VISIBLE_DEVICES as a list of tokens (index or UUID); None when unset (all GPUs)."""
    value = (os.environ if environ is None else environ).get("CUDA_VISIBLE_DEVICES")
    if value is None:
        return None
    # CUDA stops at the first token it cannot parse; "-1" or "" hide every GPU.
    tokens = []
    for token in (t.strip() for t in value.split(",")):
        if not token or token.startswith("-"):
            break
        tokens.append(token)
    return tokens


def visible_handles(nvml: Any, environ: Mapping[str, str] | None = None) -> list[Any]:
    """NVML handles of the GPUs CUDA would show, in CUDA's order."""
    tokens = visible_devices(environ)
    if tokens is None:
        return [nvml.nvmlDeviceGetHandleByIndex(i) for i in range(nvml.nvmlDeviceGetCount())]
    handles = []
    for token in tokens:
        if token.isdigit():
            handles.append(nvml.nvmlDeviceGetHandleByIndex(int(token)))
        else:  # GPU-... or MIG-... (NVML resolves both)
            handles.append(nvml.nvmlDeviceGetHandleByUUID(token))
    return handles


def gpu_identity(nvml: Any, handle: Any) -> dict[str, Any]:
    """What names one GPU (or MIG slice): model, UUID, compute capability, memory, MIG
    profile, power limit and application clocks."""
    name = _text(nvml.nvmlDeviceGetName(handle))
    is_mig = bool(_optional(nvml.nvmlDeviceIsMigDeviceHandle, handle))
    parent = nvml.nvmlDeviceGetDeviceHandleFromMigDeviceHandle(handle) if is_mig else handle
    major_minor = _optional(nvml.nvmlDeviceGetCudaComputeCapability, parent)
    power_mw = _optional(nvml.nvmlDeviceGetPowerManagementLimit, parent)
    return {
        "name": name,
        "uuid": _text(nvml.nvmlDeviceGetUUID(handle)),
        "mig_profile": mig_profile(name) if is_mig else None,
        "compute_capability": f"{major_minor[0]}.{major_minor[1]}" if major_minor else None,
        "memory_bytes": int(nvml.nvmlDeviceGetMemoryInfo(handle).total),
        "power_limit_w": power_mw / 1000 if power_mw else None,
        "application_sm_clock_mhz": _optional(
            nvml.nvmlDeviceGetApplicationsClock, parent, nvml.NVML_CLOCK_SM
        ),
        "application_memory_clock_mhz": _optional(
            nvml.nvmlDeviceGetApplicationsClock, parent, nvml.NVML_CLOCK_MEM
        ),
    }


def mig_profile(name: str) -> str | None:
    """The MIG profile in a MIG device's name ("NVIDIA A100-SXM4-40GB MIG 1g.5gb" -> "1g.5gb")."""
    _, found, profile = name.partition(" MIG ")
    return profile.strip() or None if found else None


def collect_gpus(
    nvml: Any | None,
    environ: Mapping[str, str] | None = None,
    run: Callable[[list[str]], str] | None = None,
) -> dict[str, Any]:
    """The visible GPUs and the driver, by NVML, else `nvidia-smi`, else nothing.

    Keys: gpus (one identity per visible device, the first is the one cases use),
    gpu_driver, cuda_driver_version, gpu_source ("nvml", "nvidia-smi" or None).
    """
    if nvml is not None:
        try:
            return {
                "gpus": [gpu_identity(nvml, h) for h in visible_handles(nvml, environ)],
                "gpu_driver": _text(nvml.nvmlSystemGetDriverVersion()),
                "cuda_driver_version": _cuda_version(
                    _optional(nvml.nvmlSystemGetCudaDriverVersion)
                ),
                "gpu_source": "nvml",
            }
        except Exception:  # an NVML error: fall back to nvidia-smi below
            pass
    return smi_gpus(environ, run or _run_smi)


# nvidia-smi --query-gpu fields, in the order `smi_gpus` reads them.
SMI_FIELDS = (
    "index,uuid,name,driver_version,compute_cap,memory.total,power.limit,"
    "clocks.applications.graphics,clocks.applications.memory"
)


def smi_gpus(environ: Mapping[str, str] | None, run: Callable[[list[str]], str]) -> dict[str, Any]:
    """The fallback: `nvidia-smi` rows of the visible GPUs (no MIG detail beyond the parent)."""
    empty: dict[str, Any] = {"gpus": [], "gpu_driver": None, "gpu_source": None}
    try:
        out = run(["--query-gpu=" + SMI_FIELDS, "--format=csv,noheader,nounits"])
    except (OSError, subprocess.SubprocessError):
        return empty
    rows = [[c.strip() for c in line.split(",")] for line in out.strip().splitlines()]
    rows = [r for r in rows if len(r) == len(SMI_FIELDS.split(","))]
    tokens = visible_devices(environ)
    if tokens is not None:
        by_token = {token: r for r in rows for token in (r[0], r[1])}
        rows = [by_token[t] for t in tokens if t in by_token]
    if not rows:
        return empty
    return {
        "gpus": [_smi_identity(r) for r in rows],
        "gpu_driver": rows[0][3],
        "gpu_source": "nvidia-smi",
    }


def telemetry(nvml: Any | None, handle: Any | None) -> dict[str, Any]:
    """SM and memory clocks, temperature, power and throttle reasons of one GPU now; {}
    without NVML or a handle."""
    if nvml is None or handle is None:
        return {}
    try:
        reasons = int(_reasons_call(nvml)(handle))
        return {
            "sm_clock_mhz": nvml.nvmlDeviceGetClockInfo(handle, nvml.NVML_CLOCK_SM),
            "memory_clock_mhz": nvml.nvmlDeviceGetClockInfo(handle, nvml.NVML_CLOCK_MEM),
            "temperature_c": nvml.nvmlDeviceGetTemperature(handle, nvml.NVML_TEMPERATURE_GPU),
            "power_w": nvml.nvmlDeviceGetPowerUsage(handle) / 1000,
            "throttle_reasons": [name for bit, name in THROTTLE_REASONS.items() if reasons & bit],
        }
    except Exception as error:  # a MIG slice answers few queries: say so, keep the case
        return {"error": f"{type(error).__name__}: {error}"[:200]}


def throttled(sample: Mapping[str, Any] | None) -> list[str]:
    """The throttle reasons a telemetry sample shows ([] when none or no sample)."""
    return list((sample or {}).get("throttle_reasons") or [])


def _reasons_call(nvml: Any) -> Callable[[Any], int]:
    # Renamed "clocks event reasons" in recent NVML; the old name stays for old drivers.
    found: Callable[[Any], int] | None = getattr(
        nvml, "nvmlDeviceGetCurrentClocksEventReasons", None
    )
    return found or nvml.nvmlDeviceGetCurrentClocksThrottleReasons


def _smi_identity(row: list[str]) -> dict[str, Any]:
    _, uuid, name, _, cc, memory_mib, power_w, sm_mhz, mem_mhz = row
    return {
        "name": name,
        "uuid": uuid,
        "mig_profile": None,
        "compute_capability": cc or None,
        "memory_bytes": _number(memory_mib, 1 << 20),
        "power_limit_w": _number(power_w),
        "application_sm_clock_mhz": _number(sm_mhz),
        "application_memory_clock_mhz": _number(mem_mhz),
    }


def _run_smi(args: list[str]) -> str:
    smi = shutil.which("nvidia-smi")
    if smi is None:
        raise FileNotFoundError("nvidia-smi")
    return subprocess.run(
        [smi, *args], capture_output=True, text=True, timeout=20, check=True
    ).stdout


def _number(text: str, scale: int = 1) -> Any:
    try:
        value = float(text) * scale
    except ValueError:  # "[N/A]", "[Not Supported]"
        return None
    return int(value) if value.is_integer() else value


def _cuda_version(code: int | None) -> str | None:
    return f"{code // 1000}.{code % 1000 // 10}" if code else None


def _optional(call: Callable[..., Any], *args: Any) -> Any:
    """`call(*args)`, or None where the GPU does not support the query."""
    try:
        return call(*args)
    except Exception:
        return None


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value
