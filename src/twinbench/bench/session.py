"""State of one benchmark session: worker pool, results, the run file and the summary tables."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from twinbench.bench.code_check import baseline_code_check
from twinbench.bench.explain import incomparable_lines
from twinbench.bench.proofs import ProofLedger
from twinbench.bench.resolve import BenchOptions
from twinbench.core.cases import DEFAULT_VARIANTS, Case, reference_framework
from twinbench.core.jsonfile import json_files
from twinbench.core.status import Status
from twinbench.execute.case import CaseRun, merge, throttle_notes
from twinbench.execute.code import code_record
from twinbench.execute.fit import fit_unsupported, learning_problem
from twinbench.execute.numerics import refresh_references
from twinbench.execute.pool import WorkerPool
from twinbench.execute.proof import IDENTICAL
from twinbench.gate.confirm import ROUND_GAP_S
from twinbench.gate.rounds import Remeasurement
from twinbench.gate.session_gate import GateOutcome, run_gate, verdict_lines
from twinbench.measure.gpu_probe import measure_gpu_probe
from twinbench.measure.probe import measure_probe, wait_for_calm
from twinbench.measure.timing import loop_overhead_per_step
from twinbench.render.text import run_summary
from twinbench.results.baselines import EXTEND, save_baseline
from twinbench.results.metadata import tf32_in_use
from twinbench.results.runfile import build_run
from twinbench.results.storage import RunFileError, read_run, write_run


@contextlib.contextmanager
def quiet_native_stderr() -> Iterator[None]:
    """Keep what native code writes to stderr (TensorFlow's and absl's start-up log lines, which
    no environment variable fully silences) out of pytest's progress line; shown on failure."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        except BaseException:
            os.dup2(saved, 2)
            captured.seek(0)
            sys.stderr.write(captured.read().decode("utf-8", "replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


class BenchSession:
    """Registered with pytest's plugin manager; the hooks in `plugin` stay thin."""

    def __init__(self, options: BenchOptions) -> None:
        self.options = options
        self.pool = self._new_pool()
        self.runs: list[CaseRun] = []
        self.test_names: dict[str, str] = {}
        self.started = datetime.now(UTC).isoformat()
        self.loop_overhead_s: float | None = None
        # Machine-speed probe at the start and the end of the run (seconds).
        self.probe: dict[str, float | None] = {"start_s": None, "end_s": None}
        self.run: dict[str, Any] | None = None
        self.run_path: Path | None = None
        self.gate: GateOutcome | None = None
        # When the last confirmation round ended (perf_counter; 0: none yet), to space rounds.
        self._last_round_end = 0.0
        # Lines for the summary that are not tables (an unusable baseline, a saved one).
        self.notes: list[str] = []
        # The case ids collected to run, in order (set by the plugin after collection).
        self.planned: list[str] = []
        self.proofs = ProofLedger(options.selection)
        # Set on Ctrl-C, before pytest reports it (pytest_keyboard_interrupt).
        self.interrupted = False

    @pytest.hookimpl(tryfirst=True)
    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        """Remember Ctrl-C ahead of pytest's own report of it.

        That report can fail (pytest 9.2 on CPython 3.11.7 raised TypeError rendering a
        traceback entry that had no line number), and then pytest finishes the session with
        the exit status still 0: judged by that status alone, the cases measured so far
        would be gated and written as a whole run. pytest.exit comes through this hook too
        (an unusable baseline stops the run that way): that is no interruption to report.
        """
        self.interrupted = excinfo.errisinstance(KeyboardInterrupt)

    def _new_pool(self) -> WorkerPool:
        options = self.options
        return WorkerPool(options.processes, options.threads, options.numerics_dir)

    def run_case(self, case: Case, nodeid: str) -> CaseRun:
        """Measure `case` in every worker, record it, and turn its status into a pytest outcome."""
        self.test_names[case.id] = nodeid
        unsupported = fit_unsupported(case)
        if unsupported:  # a gap in the matrix, not a missing device: no workers, no record
            pytest.skip(unsupported)
        proof = self.proofs.proof(case)
        if proof.status != IDENTICAL:  # never timed: a pair that differs is no benchmark
            self.runs.append(CaseRun(case, proof.status, processes=[], reason=proof.summary))
            pytest.fail(f"{proof.status}: {proof.summary}", pytrace=False)
        if self.loop_overhead_s is None:
            self.check_baselines()  # before the first case: minutes of measuring are at stake
            self.loop_overhead_s = loop_overhead_per_step()
            self.probe["start_s"] = measure_probe()
            self.probe["gpu_start_s"] = self._gpu_probe()
        run = merge(case, self.pool.measure(case, self.options.profile.timing))
        self.runs.append(run)
        if run.status == Status.SKIPPED:
            if self.options.require_gpu and any(p.device_missing for p in run.processes):
                pytest.fail(f"--require-gpu: {run.reason}", pytrace=False)
            pytest.skip(run.reason or "skipped")
        if run.status != Status.OK:
            pytest.fail(f"{run.status}: {run.reason}\n{run.details or ''}", pytrace=False)
        problem = learning_problem(run, self.runs)
        if problem:  # timed and recorded, but a model that did not learn is no benchmark
            pytest.fail(problem, pytrace=False)
        return run

    def _gpu_probe(self) -> float | None:
        """The GPU speed probe when this run measures CUDA cases (a child process)."""
        return measure_gpu_probe() if "cuda" in self.options.selection.devices else None

    def settings(self) -> dict[str, Any]:
        """How this run was configured, for the run file."""
        selection = self.options.selection
        return {
            "started": self.started,
            "profile": self.options.profile_name,
            "timing": self.options.profile.timing.as_dict(),
            "processes": self.options.processes,
            "threads": self.options.threads,
            "require_gpu": self.options.require_gpu,
            "loop_overhead_s": self.loop_overhead_s,
            "code": code_record(Path.cwd()),  # the gate can measure it again (execute/code.py)
            "selection": {
                f.name: list(getattr(selection, f.name))
                for f in fields(selection)
                if f.name != "cpu_sizes"  # None unless a profile sets it
            },
            "frameworks": self.pool.runner_metadata,
            "parity_proofs": self.proofs.summary(),
        }

    def check_baselines(self) -> None:
        """Stop the session, before anything is measured, when a baseline cannot be read.

        The machine's fingerprint needs both frameworks imported, so which baseline the gate
        will read is not known yet: every one under baselines/ must be readable. Nothing under
        results/ changes.
        """
        if not (self.options.compare or self.options.save_baseline == EXTEND):
            return  # --save-baseline --no-compare replaces a baseline without reading it
        for path in json_files(self.options.results_dir / "baselines"):
            try:
                read_run(path)
            except RunFileError as error:
                pytest.exit(
                    f"baseline unusable, nothing measured: {error}. Restore it from version "
                    f"control (git checkout -- {path}) or replace it: pytest benches "
                    "--save-baseline --no-compare",
                    returncode=pytest.ExitCode.USAGE_ERROR,
                )

    def finish(self, interrupted: bool = False) -> bool:
        """Stop the workers, gate, write the run file; True when the run must fail.

        An interrupted run writes nothing: a file with some cases would look complete to the
        gate and the history, so it is dropped and the unmeasured cases are named instead.
        """
        self.pool.close()
        if interrupted or self.interrupted:
            self.notes.append(self._interrupted_note())
            return False
        if not self.runs:
            return False
        try:
            return self._record()
        except KeyboardInterrupt:  # during the gate's confirmation rounds, before writing
            self.notes.append(self._interrupted_note())
            return False

    def _record(self) -> bool:
        """Gate the measured cases, write the run file (and baseline); True: the run fails."""
        self.probe["end_s"] = measure_probe()
        self.probe["gpu_end_s"] = self._gpu_probe()
        from twinbench.results.metadata import collect_metadata  # imports both frameworks: only now

        with quiet_native_stderr():
            metadata = collect_metadata(self.options.threads)
        metadata["tf32"] = tf32_in_use(self.pool.runner_metadata)
        self.notes += throttle_notes(self.runs)
        self.run = build_run(self.runs, metadata, self.settings(), self.test_names, self.probe)
        results_dir, gate = self.options.results_dir, self.options.gate
        if self.options.compare:
            try:
                check = baseline_code_check(self.options)
                self.gate = run_gate(self.run, results_dir, gate, self._remeasure, check)
            except RunFileError as error:
                # Nothing under results/ changes when the baseline is unreadable.
                self.notes.append(f"baseline unusable, run file not written: {error}")
                return True
        self.run_path = write_run(results_dir / "history", self.run)
        if self.options.refresh_numerics:
            self._refresh_numerics(metadata)
        if self.options.save_baseline:
            saved = save_baseline(
                results_dir, self.run, self.run_path.name, self.options.save_baseline
            )
            self.notes.append(f"baseline saved ({self.options.save_baseline}): {saved}")
        return bool(self.gate and self.gate.comparison.failed(self.options.strict))

    def _interrupted_note(self) -> str:
        measured = {run.case.id for run in self.runs}
        missing = [case_id for case_id in self.planned if case_id not in measured]
        listed = ", ".join(missing[:10]) + (
            f" and {len(missing) - 10} more" if len(missing) > 10 else ""
        )
        return (
            f"interrupted: no run file written, {len(measured)} of {len(self.planned)} case(s) "
            f"measured; not measured: {listed or 'none'}. Run it again to record a run."
        )

    def _refresh_numerics(self, metadata: dict[str, Any]) -> None:
        """Store this run's reference outputs, per model, for the frameworks and modes run.

        Only the default variants in fp32 make references; xla, compile and bf16 are checked
        against them.
        """
        outputs: dict[str, dict[tuple[str, str], list[Any]]] = {}
        for run in self.runs:
            numerics = run.measured[0].numerics if run.measured else None
            case = run.case
            reference_cell = (
                case.variant in DEFAULT_VARIANTS
                and case.precision == "fp32"
                # Keras on JAX/PyTorch is checked against Keras on TensorFlow's reference.
                and reference_framework(case.framework) == case.framework
            )
            if numerics and "output" in numerics and reference_cell:
                outputs.setdefault(case.sized_model, {})[(case.framework, case.mode)] = numerics[
                    "output"
                ]
        versions = {
            k: metadata.get(k) for k in ("torch_version", "tensorflow_version", "keras_version")
        }
        for model, by_cell in outputs.items():
            path = refresh_references(self.options.numerics_dir, model, by_cell, versions)
            self.notes.append(f"reference outputs refreshed: {path}")

    def _remeasure(self, case_ids: list[str], reference_probe_s: float | None) -> Remeasurement:
        """One confirmation round: suspects measured again in fresh worker processes.

        The round starts at least ROUND_GAP_S after the previous one, then waits for the
        machine to run about as fast as it has been seen to (see `wait_for_calm`). One fresh pool
        serves all suspects, framework by framework: new processes, so the per-process part of
        the noise is drawn again, without a framework start-up per case.
        """
        since_last = time.perf_counter() - self._last_round_end
        gap = max(0.0, ROUND_GAP_S - since_last) if self._last_round_end else 0.0
        probe_s, waited_s = wait_for_calm(reference_probe_s or None, min_wait_s=gap)
        started = time.perf_counter()
        pool = self._new_pool()
        try:
            cases = [Case.from_id(case_id) for case_id in case_ids]
            results = pool.measure_all(cases, self.options.profile.timing)
        finally:
            pool.close()
        self._last_round_end = time.perf_counter()
        return Remeasurement(results, probe_s, waited_s, self._last_round_end - started)

    def summary_lines(self) -> list[str]:
        """What the terminal shows at the end: tables from the run file's data, then the gate."""
        lines = [""]
        if self.run is not None:
            lines += run_summary(self.run)
        if self.run_path:
            lines.append(f"run file: {self.run_path}")
        if self.gate is not None and not self._saved_first_baseline():
            lines += ["", *verdict_lines(self.gate), *incomparable_lines(self.gate.comparison)]
        lines += self.notes
        return lines if len(lines) > 1 else []

    def _saved_first_baseline(self) -> bool:
        """A run that had no baseline and just saved one: "no baseline yet" would be stale."""
        return bool(self.options.save_baseline and self.gate and self.gate.baseline is None)
