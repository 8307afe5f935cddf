"""One GPU worker at a time after memory runs out with idle workers alive (fake workers: the
fake GPU fits one worker's memory, not two)."""

from __future__ import annotations

from typing import ClassVar

from twinbench.core.cases import Case
from twinbench.core.status import Status
from twinbench.execute import pool as pool_module
from twinbench.execute.case import CaseResult, result_to_json
from twinbench.measure.timing import TimingSettings

TIMING = TimingSettings(warmup_s=0.0, min_sample_s=0.0, rounds=1)


class FakeGpuWorker:
    """A worker process; its case runs out of memory when another worker is alive."""

    alive_now: ClassVar[set[FakeGpuWorker]] = set()
    started = 0
    out_of_memory = 0

    def __init__(self, framework: str, threads: int, twin_cache=None) -> None:
        FakeGpuWorker.started += 1
        FakeGpuWorker.alive_now.add(self)

    def wait_ready(self) -> None:
        pass

    def request(self, case, timing, seed, numerics_dir=None):
        crowded = len(FakeGpuWorker.alive_now) > 1 and case.device == "cuda"
        status = Status.OOM if crowded else Status.OK
        FakeGpuWorker.out_of_memory += crowded
        return {"result": result_to_json(CaseResult(case=case, status=status))}

    def alive(self) -> bool:
        return self in FakeGpuWorker.alive_now

    def close(self) -> None:
        FakeGpuWorker.alive_now.discard(self)


def test_an_oom_with_idle_workers_alive_is_measured_again_alone(monkeypatch):
    monkeypatch.setattr(pool_module, "Worker", FakeGpuWorker)
    FakeGpuWorker.alive_now, FakeGpuWorker.started, FakeGpuWorker.out_of_memory = set(), 0, 0
    pool = pool_module.WorkerPool(processes=3, threads=1)
    cuda = Case.from_id("mlp-torch-eager-cuda-train-fp32-b64")
    try:
        first = pool.measure(cuda, TIMING)
        second = pool.measure(cuda, TIMING)
    finally:
        pool.close()
    assert [r.status for r in first] == [Status.OK] * 3
    assert [r.status for r in second] == [Status.OK] * 3  # the pool stays one-at-a-time
    assert pool.one_gpu_worker
    assert FakeGpuWorker.out_of_memory == 1  # from the first error on, never two alive


def test_cpu_cases_keep_every_worker_alive(monkeypatch):
    monkeypatch.setattr(pool_module, "Worker", FakeGpuWorker)
    FakeGpuWorker.alive_now, FakeGpuWorker.started = set(), 0
    pool = pool_module.WorkerPool(processes=3, threads=1)
    try:
        results = pool.measure(Case.from_id("mlp-torch-eager-cpu-train-fp32-b64"), TIMING)
        assert len(FakeGpuWorker.alive_now) == 3 and FakeGpuWorker.started == 3
    finally:
        pool.close()
    assert [r.status for r in results] == [Status.OK] * 3 and not pool.one_gpu_worker
