"""Worker processes: replies, a framework that cannot start, a worker killed mid-case."""

from __future__ import annotations

import os
import signal
import textwrap
import threading
import time
from pathlib import Path

import pytest

from twinbench.core.cases import Case
from twinbench.core.status import Status
from twinbench.execute.pool import Worker, WorkerDied, WorkerPool
from twinbench.measure.timing import TimingSettings

TIMING = TimingSettings(warmup_s=0.0, min_sample_s=0.001, rounds=2)
CASE = Case.from_id("mlp-torch-eager-cpu-infer-fp32-b2")


def test_each_process_measures_the_case():
    pool = WorkerPool(processes=2, threads=1)
    try:
        results = pool.measure(CASE, TIMING)
    finally:
        pool.close()
    assert [r.status for r in results] == [Status.OK, Status.OK]
    assert all(r.measurement and len(r.measurement.samples) == 2 for r in results)
    assert pool.runner_metadata["torch"]["threads"] == 1  # the thread count reached the worker


def test_a_pools_keras_workers_get_the_pytorch_twin_through_the_pools_folder():
    # The Keras workers get the twin's weights and FLOPs from a torch-only child
    # (runners/twin_export.py), written to the folder the pool hands every worker, where the
    # second worker finds what the first exported.
    pool = WorkerPool(processes=2, threads=1)
    try:
        results = pool.measure(Case.from_id("mlp-keras-graph-cpu-infer-fp32-b2"), TIMING)
        exported = sorted(p.name for p in Path(pool.twin_cache.name).iterdir())
    finally:
        pool.close()
    assert [r.status for r in results] == [Status.OK, Status.OK]
    assert results[0].flops_per_step == results[1].flops_per_step == 2 * 2 * 668_672
    assert exported == ["mlp.tiny-infer-b2.flops.json", "mlp.tiny-seed0.npz"]


def test_a_framework_that_cannot_start_is_an_error_not_a_hang(monkeypatch, tmp_path):
    # A TensorFlow that fails to import, first on the worker's path: Keras cannot start.
    (tmp_path / "tensorflow").mkdir()
    (tmp_path / "tensorflow" / "__init__.py").write_text('raise ImportError("broken install")')
    paths = [str(tmp_path), *filter(None, [os.environ.get("PYTHONPATH")])]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(paths))
    pool = WorkerPool(processes=1, threads=1)
    try:
        (result,) = pool.measure(Case.from_id("mlp-keras-graph-cpu-infer-fp32-b1"), TIMING)
    finally:
        pool.close()
    assert result.status == Status.ERROR
    assert "cannot start keras" in (result.reason or "")
    assert "broken install" in (result.reason or "")


def test_a_dead_worker_is_reported_and_replaced():
    worker = Worker("torch", threads=1)
    worker.wait_ready()
    worker.process.kill()
    with pytest.raises(WorkerDied, match="exited with code"):
        worker.request(CASE, TIMING, seed=0)
    worker.close()

    pool = WorkerPool(processes=1, threads=1)
    try:
        pool.measure(CASE, TIMING)
        pool.workers[0].process.kill()
        pool.workers[0].process.wait()
        (result,) = pool.measure(CASE, TIMING)  # a fresh worker takes over
    finally:
        pool.close()
    assert result.status == Status.OK


# Loaded by every worker started with its folder first on PYTHONPATH: the runner's prepare of
# the named case writes the worker's pid to a file (the case has started), then hangs there.
HANG_HOOK = textwrap.dedent(
    """
    import os
    import time
    from pathlib import Path

    import twinbench.runners

    _load_runner = twinbench.runners.load_runner


    def load_runner(framework):
        runner = _load_runner(framework)
        prepare = runner.prepare

        def prepare_or_hang(spec, case, seed):
            if case.id == os.environ["TWINBENCH_TEST_HANG_CASE"]:
                Path(os.environ["TWINBENCH_TEST_STARTED"]).write_text(str(os.getpid()))
                time.sleep(600)
            return prepare(spec, case, seed)

        runner.prepare = prepare_or_hang
        return runner


    twinbench.runners.load_runner = load_runner
    """
)


def kill_once_started(started: Path, timeout_s: float = 240.0) -> None:
    """Wait for the hanging case to announce its worker, then kill that worker."""
    deadline = time.monotonic() + timeout_s
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    os.kill(int(started.read_text()), signal.SIGKILL)


def test_a_worker_killed_mid_case_makes_that_case_an_error_and_the_next_case_runs(
    tmp_path, monkeypatch
):
    hook, started = tmp_path / "hook", tmp_path / "started"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(HANG_HOOK)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(hook), os.environ.get("PYTHONPATH", "")]))
    hanging = Case.from_id("mlp-torch-eager-cpu-infer-fp32-b3")
    monkeypatch.setenv("TWINBENCH_TEST_HANG_CASE", hanging.id)
    monkeypatch.setenv("TWINBENCH_TEST_STARTED", str(started))
    killer = threading.Thread(target=kill_once_started, args=(started,))
    pool = WorkerPool(processes=1, threads=1)
    try:
        killer.start()
        (died,) = pool.measure(hanging, TIMING)
        (after,) = pool.measure(CASE, TIMING)
    finally:
        killer.join()
        pool.close()
    assert died.status == Status.ERROR
    code = -signal.SIGKILL
    assert f"torch worker exited with code {code} during {hanging.id}" in (died.reason or "")
    assert after.status == Status.OK  # a fresh worker took over
    assert after.measurement is not None and len(after.measurement.samples) == 2


def test_a_pytorch_worker_never_imports_tensorflow():
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from twinbench.execute.worker import measure_one\n"
        "from twinbench.runners import load_runner\n"
        "from twinbench.core.cases import Case\n"
        "runner = load_runner('torch'); runner.configure(1)\n"
        "timing = {'warmup_s': 0, 'min_sample_s': 0.001, 'rounds': 1}\n"
        "for model in ('mlp', 'cnn'):\n"
        "    case = Case.from_id(f'{model}-torch-eager-cpu-train-fp32-b2')\n"
        "    assert measure_one(runner, case, {'timing': timing}).status == 'ok'\n"
        "print(sorted(m for m in ('keras', 'tensorflow') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"  # seconds of start-up saved in every PyTorch worker


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="no CPU affinity on this OS")
def test_a_worker_asked_for_cpus_runs_on_them_only():
    cpu = min(os.sched_getaffinity(0))
    worker = Worker("torch", threads=1, cpus=(cpu,))
    try:
        worker.wait_ready()  # pinned before torch started its threads: they inherit the mask
        assert os.sched_getaffinity(worker.process.pid) == {cpu}
        reply = worker.request(CASE, TIMING, seed=0)
    finally:
        worker.close()
    assert reply["result"]["status"] == "ok"
