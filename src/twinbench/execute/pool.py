"""Parent side of the worker processes: a pool of workers for the framework being measured."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from twinbench.core.cases import Case, execution_order
from twinbench.core.status import Status
from twinbench.execute.case import CaseResult, result_from_json
from twinbench.measure.gpu import worker_environment
from twinbench.measure.timing import TimingSettings
from twinbench.runners.twin_export import TWIN_CACHE_ENV

# The CPUs a worker pins itself to before it imports its framework (execute/worker.py), so
# that every thread the framework starts inherits them: "0,1".
CPUS_ENV = "TWINBENCH_WORKER_CPUS"


class WorkerDied(RuntimeError):
    """A worker exited (crash, kill by the OS) before answering."""


class Worker:
    """One `python -m twinbench.execute.worker` process serving one framework."""

    def __init__(
        self,
        framework: str,
        threads: int,
        python: str | None = None,
        twin_cache: Path | None = None,
        cpus: tuple[int, ...] | None = None,
    ) -> None:
        self.framework, self.threads, self.python, self.cpus = framework, threads, python, cpus
        self.twin_cache = twin_cache
        # Where a Keras worker finds the PyTorch twins' weights and FLOPs exported by a
        # torch-only child (runners/twin_export.py), shared so each is exported once.
        cache = {TWIN_CACHE_ENV: str(twin_cache)} if twin_cache else {}
        pinned = {CPUS_ENV: ",".join(map(str, cpus))} if cpus else {}
        # The frameworks log a screenful at start-up; keep it out of the report, but at hand
        # for the error message when the worker dies.
        self.log = tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace")  # noqa: SIM115 (closed in close())
        self.process = subprocess.Popen(
            # `python`: another environment's interpreter (the A/B command), else this one.
            [python or sys.executable, "-m", "twinbench.execute.worker", framework, str(threads)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
            bufsize=1,
            env=worker_environment() | cache | pinned,
        )

    def wait_ready(self) -> None:
        """Block until the worker has imported its framework (or died trying)."""
        assert self.process.stdout is not None
        self.process.stdout.readline()  # a startup failure is reported with the first case

    def request(
        self, case: Case, timing: TimingSettings, seed: int, numerics_dir: Path | None = None
    ) -> dict[str, Any]:
        """Send one case, wait for its reply."""
        self.send(case, timing, seed, numerics_dir)
        return self.receive(case)

    def send(
        self, case: Case, timing: TimingSettings, seed: int, numerics_dir: Path | None = None
    ) -> None:
        """Ask for one case without waiting: two workers can then measure at the same time."""
        assert self.process.stdin is not None
        message = {
            "case": case.id,
            "timing": timing.as_dict(),
            "seed": seed,
            "numerics_dir": str(numerics_dir) if numerics_dir else None,
        }
        try:
            self.process.stdin.write(json.dumps(message) + "\n")
            self.process.stdin.flush()
        except BrokenPipeError:
            pass  # reported by receive() as a dead worker

    def receive(self, case: Case) -> dict[str, Any]:
        """The reply to the case sent; WorkerDied when the worker exited instead."""
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            code = self.process.wait()
            raise WorkerDied(
                f"{self.framework} worker exited with code {code} during {case.id};"
                f" its last output:\n{self.log_tail()}"
            )
        reply: dict[str, Any] = json.loads(line)
        return reply

    def log_tail(self, lines: int = 15) -> str:
        """The last lines the worker wrote to stderr."""
        self.log.seek(0)
        return "".join(self.log.readlines()[-lines:])

    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self) -> None:
        """Close stdin (the worker's signal to stop) and wait; kill if it does not stop."""
        if self.process.stdin:
            with contextlib.suppress(BrokenPipeError):  # the worker may already be dead
                self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout:
            self.process.stdout.close()
        self.log.close()


class WorkerPool:
    """`processes` workers for one framework at a time; switching framework stops the others.

    Only one framework's processes exist at once, so idle thread pools and memory of the other
    framework cannot disturb the measurement (DESIGN decision 4).
    """

    def __init__(self, processes: int, threads: int, numerics_dir: Path | None = None) -> None:
        self.processes = processes
        self.threads = threads
        # Where reference outputs live; None skips the numerics check.
        self.numerics_dir = numerics_dir
        self.framework: str | None = None
        self.workers: list[Worker] = []
        self.runner_metadata: dict[str, dict[str, Any]] = {}
        # Set after a CUDA out-of-memory error with idle workers alive (see `measure`).
        self.one_gpu_worker = False
        # The PyTorch twins' exports for the Keras workers, removed with the pool.
        self.twin_cache = tempfile.TemporaryDirectory(prefix="twinbench-twins-")

    def measure(self, case: Case, timing: TimingSettings, seed: int = 0) -> list[CaseResult]:
        """The case measured once in each worker, one after the other (never in parallel).

        On a GPU, idle workers keep memory (TensorFlow never returns what it grew to): the
        first CUDA out-of-memory error while other workers are alive switches the pool to one
        GPU worker alive at a time, and the case is measured again alone.
        """
        self._switch_to(case.framework)
        results = []
        for index in range(len(self.workers)):
            result = self._measure_in(index, case, timing, seed)
            if result.status == Status.OOM and self._others_alive(index) and case.device == "cuda":
                self.one_gpu_worker = True
                for worker in self.workers:  # the failed one too: its pool may be fragmented
                    worker.close()
                result = self._measure_in(index, case, timing, seed)
            if self.one_gpu_worker and case.device == "cuda":
                self.workers[index].close()  # restarted when its turn comes again
            results.append(result)
            if result.status != "ok":
                break  # the same failure in every process would only cost time
        return results

    def _measure_in(self, index: int, case: Case, timing: TimingSettings, seed: int) -> CaseResult:
        """The case in worker `index`, restarting it first if it is no longer running."""
        worker = self.workers[index]
        if not worker.alive():  # a previous case killed it, or the pool closed it
            worker.close()
            worker = self.workers[index] = self._start(case.framework)
            worker.wait_ready()
        try:
            reply = worker.request(case, timing, seed, self.numerics_dir)
        except WorkerDied as died:
            return CaseResult(case=case, status=Status.ERROR, reason=str(died))
        if "runner" in reply:
            self.runner_metadata[case.framework] = reply["runner"]
        return result_from_json(reply["result"])

    def _others_alive(self, index: int) -> bool:
        return any(w.alive() for i, w in enumerate(self.workers) if i != index)

    def measure_all(self, cases: list[Case], timing: TimingSettings) -> dict[str, list[CaseResult]]:
        """Every case measured in this pool, framework by framework (a framework starts once)."""
        ordered = sorted(cases, key=execution_order)
        return {case.id: self.measure(case, timing) for case in ordered}

    def _switch_to(self, framework: str) -> None:
        if framework == self.framework:
            return
        self.close()
        self.framework = framework
        self.workers = [self._start(framework) for _ in range(self.processes)]
        for worker in self.workers:  # imports run in parallel; measuring waits for all of them
            worker.wait_ready()

    def _start(self, framework: str) -> Worker:
        return Worker(framework, self.threads, twin_cache=Path(self.twin_cache.name))

    def close(self) -> None:
        """Stop every worker."""
        for worker in self.workers:
            worker.close()
        self.workers, self.framework = [], None
