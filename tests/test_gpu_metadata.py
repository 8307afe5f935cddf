"""The GPU fingerprint and telemetry, with NVML and nvidia-smi faked at the boundary."""

from __future__ import annotations

import subprocess
from types import SimpleNamespace

import pytest

from twinbench.measure import gpu


class FakeNvml:
    """NVML of a machine with two GPUs, the second split into MIG slices."""

    NVML_CLOCK_SM, NVML_CLOCK_MEM, NVML_TEMPERATURE_GPU = 1, 2, 0

    def __init__(self, throttle_bits: int = 0):
        self.throttle_bits = throttle_bits
        mig = "NVIDIA A100-SXM4-40GB MIG"
        self.devices = {
            "GPU-aaa": {"name": "NVIDIA H100 80GB HBM3", "index": 0, "mem": 80 << 30},
            "GPU-bbb": {"name": "NVIDIA A100-SXM4-40GB", "index": 1, "mem": 40 << 30},
            "MIG-ccc": {
                "name": f"{mig} 1g.5gb",
                "mem": 5 << 30,
                "of": "GPU-bbb",
            },
            "MIG-ddd": {
                "name": f"{mig} 3g.20gb",
                "mem": 20 << 30,
                "of": "GPU-bbb",
            },
        }

    def nvmlDeviceGetCount(self):
        return 2

    def nvmlDeviceGetHandleByIndex(self, index):
        return next(u for u, d in self.devices.items() if d.get("index") == index)

    def nvmlDeviceGetHandleByUUID(self, uuid):
        if uuid not in self.devices:
            raise RuntimeError("NVML_ERROR_NOT_FOUND")
        return uuid

    def nvmlDeviceGetName(self, handle):
        return self.devices[handle]["name"].encode()  # old bindings return bytes

    def nvmlDeviceGetUUID(self, handle):
        return handle

    def nvmlDeviceIsMigDeviceHandle(self, handle):
        return handle.startswith("MIG-")

    def nvmlDeviceGetDeviceHandleFromMigDeviceHandle(self, handle):
        return self.devices[handle]["of"]

    def nvmlDeviceGetCudaComputeCapability(self, handle):
        assert not handle.startswith("MIG-"), "asked on the parent"
        return (9, 0) if handle == "GPU-aaa" else (8, 0)

    def nvmlDeviceGetMemoryInfo(self, handle):
        return SimpleNamespace(total=self.devices[handle]["mem"])

    def nvmlDeviceGetPowerManagementLimit(self, handle):
        return 700_000

    def nvmlDeviceGetApplicationsClock(self, handle, clock):
        return 1980 if clock == self.NVML_CLOCK_SM else 2619

    def nvmlSystemGetDriverVersion(self):
        return "580.65.06"

    def nvmlSystemGetCudaDriverVersion(self):
        return 13000

    def nvmlDeviceGetClockInfo(self, handle, clock):
        return 1755 if clock == self.NVML_CLOCK_SM else 2619

    def nvmlDeviceGetTemperature(self, handle, sensor):
        return 61

    def nvmlDeviceGetPowerUsage(self, handle):
        return 412_500

    def nvmlDeviceGetCurrentClocksEventReasons(self, handle):
        return self.throttle_bits


def names(found):
    return [g["name"] for g in found["gpus"]]


def test_without_cuda_visible_devices_every_gpu_is_listed():
    found = gpu.collect_gpus(FakeNvml(), environ={})
    assert names(found) == ["NVIDIA H100 80GB HBM3", "NVIDIA A100-SXM4-40GB"]
    assert found["gpu_driver"] == "580.65.06" and found["cuda_driver_version"] == "13.0"
    first = found["gpus"][0]
    assert first["compute_capability"] == "9.0" and first["memory_bytes"] == 80 << 30
    assert first["power_limit_w"] == 700 and first["application_sm_clock_mhz"] == 1980


@pytest.mark.parametrize("visible", ["1", "GPU-bbb", "1,0", " 1 ,GPU-aaa"])
def test_cuda_visible_devices_by_index_or_uuid_picks_that_gpu_first(visible):
    found = gpu.collect_gpus(FakeNvml(), environ={"CUDA_VISIBLE_DEVICES": visible})
    assert names(found)[0] == "NVIDIA A100-SXM4-40GB"


@pytest.mark.parametrize("visible", ["", "-1", "-1,0"])
def test_cuda_visible_devices_can_hide_every_gpu(visible):
    assert gpu.collect_gpus(FakeNvml(), environ={"CUDA_VISIBLE_DEVICES": visible})["gpus"] == []


def test_mig_slices_are_told_apart_by_name_and_profile():
    small = gpu.collect_gpus(FakeNvml(), environ={"CUDA_VISIBLE_DEVICES": "MIG-ccc"})["gpus"][0]
    large = gpu.collect_gpus(FakeNvml(), environ={"CUDA_VISIBLE_DEVICES": "MIG-ddd"})["gpus"][0]
    assert (small["mig_profile"], large["mig_profile"]) == ("1g.5gb", "3g.20gb")
    assert small["name"] != large["name"]
    assert small["memory_bytes"] == 5 << 30 and small["compute_capability"] == "8.0"


def test_telemetry_names_the_throttle_reasons_and_not_idle():
    nvml = FakeNvml(throttle_bits=0x1 | 0x4 | 0x40)  # idle, power cap, hw thermal
    sample = gpu.telemetry(nvml, "GPU-aaa")
    assert sample["sm_clock_mhz"] == 1755 and sample["temperature_c"] == 61
    assert sample["power_w"] == 412.5
    assert gpu.throttled(sample) == ["sw_power_cap", "hw_thermal_slowdown"]
    assert gpu.throttled(gpu.telemetry(FakeNvml(throttle_bits=0x1), "GPU-aaa")) == []


def test_telemetry_is_empty_without_nvml():
    assert gpu.telemetry(None, None) == {}


SMI_ROWS = (
    "0, GPU-aaa, NVIDIA H100 80GB HBM3, 580.65.06, 9.0, 81559, 700.00, 1980, 2619\n"
    "1, GPU-bbb, NVIDIA A100-SXM4-40GB, 580.65.06, 8.0, 40960, [N/A], [N/A], [N/A]\n"
)


def test_without_nvml_nvidia_smi_gives_the_visible_gpus():
    calls = []

    def fake_smi(args):
        calls.append(args)
        return SMI_ROWS

    found = gpu.collect_gpus(None, environ={"CUDA_VISIBLE_DEVICES": "GPU-bbb"}, run=fake_smi)
    assert found["gpu_source"] == "nvidia-smi" and names(found) == ["NVIDIA A100-SXM4-40GB"]
    assert found["gpus"][0]["power_limit_w"] is None  # [N/A]
    assert found["gpus"][0]["memory_bytes"] == 40960 << 20
    assert calls and calls[0][0].startswith("--query-gpu=")


def test_without_nvml_or_nvidia_smi_nothing_is_recorded():
    def missing(args):
        raise FileNotFoundError("nvidia-smi")

    found = gpu.collect_gpus(None, environ={}, run=missing)
    assert found == {"gpus": [], "gpu_driver": None, "gpu_source": None}


def test_a_failing_nvidia_smi_is_no_gpu():
    def failing(args):
        raise subprocess.CalledProcessError(9, "nvidia-smi")

    assert gpu.collect_gpus(None, environ={}, run=failing)["gpus"] == []


def test_the_run_metadata_records_the_visible_gpu(monkeypatch):
    from twinbench.results import metadata

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "MIG-ddd")
    monkeypatch.setattr(gpu, "load_nvml", FakeNvml)
    md: dict = {}
    metadata.collect_gpu_metadata(md)
    assert md["gpu_names"] == ["NVIDIA A100-SXM4-40GB MIG 3g.20gb"]
    assert md["gpu_mig"] == "3g.20gb" and md["gpu_driver"] == "580.65.06"
    assert md["gpus"][0]["uuid"] == "MIG-ddd"


def test_workers_get_no_jax_preallocation_unless_the_user_chose(monkeypatch):
    monkeypatch.delenv("XLA_PYTHON_CLIENT_PREALLOCATE", raising=False)
    assert gpu.worker_environment()["XLA_PYTHON_CLIENT_PREALLOCATE"] == "false"
    monkeypatch.setenv("XLA_PYTHON_CLIENT_PREALLOCATE", "true")
    assert gpu.worker_environment()["XLA_PYTHON_CLIENT_PREALLOCATE"] == "true"


def test_tf32_is_read_from_what_the_workers_reported():
    from twinbench.results.metadata import tf32_in_use

    off = {"torch": {"tf32_matmul": False, "tf32_cudnn": False}, "keras": {"tf32": False}}
    assert tf32_in_use(off) is False
    assert tf32_in_use(off | {"torch": {"tf32_matmul": False, "tf32_cudnn": True}}) is True
    assert tf32_in_use(off | {"keras": {"tf32": True}}) is True
