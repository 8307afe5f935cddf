"""State of one benchmark session: worker pool, results, the run file and the summary tables."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from twinbench.bench.proofs import ProofLedger
from twinbench.bench.resolve import BenchOptions
from twinbench.core.cases import DEFAULT_VARIANTS, Case
from twinbench.core.status import Status
from twinbench.execute.case import CaseRun, merge
from twinbench.execute.fit import fit_unsupported, learning_problem
from twinbench.execute.numerics import refresh_references
from twinbench.execute.pool import WorkerPool
from twinbench.execute.proof import IDENTICAL
from twinbench.gate.confirm import ROUND_GAP_S
from twinbench.gate.session_gate import GateOutcome, Remeasurement, run_gate, verdict_lines
from twinbench.measure.probe import measure_probe, wait_for_calm
from twinbench.measure.timing import loop_overhead_per_step
from twinbench.render.text import run_summary
from twinbench.results.baselines import save_baseline
from twinbench.results.runfile import build_run
from twinbench.results.storage import RunFileError, write_run


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
        self.proofs = ProofLedger(options.selection)

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
            self.loop_overhead_s = loop_overhead_per_step()
            self.probe["start_s"] = measure_probe()
        run = merge(case, self.pool.measure(case, self.options.profile.timing))
        self.runs.append(run)
        if run.status == Status.SKIPPED:
            if self.options.require_gpu:
                pytest.fail(f"--require-gpu: {run.reason}", pytrace=False)
            pytest.skip(run.reason or "skipped")
        if run.status != Status.OK:
            pytest.fail(f"{run.status}: {run.reason}\n{run.details or ''}", pytrace=False)
        problem = learning_problem(run, self.runs)
        if problem:  # timed and recorded, but a model that did not learn is no benchmark
            pytest.fail(problem, pytrace=False)
        return run

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
            "selection": {
                "models": list(selection.models),
                "frameworks": list(selection.frameworks),
                "devices": list(selection.devices),
                "modes": list(selection.modes),
                "batch_sizes": list(selection.batch_sizes),
                "variants": list(selection.variants),
                "precisions": list(selection.precisions),
                "sizes": list(selection.sizes),
            },
            "frameworks": self.pool.runner_metadata,
            "parity_proofs": self.proofs.summary(),
        }

    def finish(self) -> bool:
        """Stop the workers, gate, write the run file; True when the run must fail."""
        self.pool.close()
        if not self.runs:
            return False
        self.probe["end_s"] = measure_probe()
        from twinbench.results.metadata import collect_metadata  # imports both frameworks: only now

        metadata = collect_metadata(self.options.threads)
        self.run = build_run(self.runs, metadata, self.settings(), self.test_names, self.probe)
        results_dir = self.options.results_dir
        if self.options.compare:
            try:
                self.gate = run_gate(self.run, results_dir, self.options.gate, self._remeasure)
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

    def _refresh_numerics(self, metadata: dict[str, Any]) -> None:
        """Store this run's reference outputs, per model, for the frameworks and modes run.

        Only the default variants in fp32 make references; xla, compile and bf16 are checked
        against them.
        """
        outputs: dict[str, dict[tuple[str, str], list[Any]]] = {}
        for run in self.runs:
            numerics = run.measured[0].numerics if run.measured else None
            case = run.case
            reference_cell = case.variant in DEFAULT_VARIANTS and case.precision == "fp32"
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
        if self.gate is not None:
            lines += ["", *verdict_lines(self.gate)]
        lines += self.notes
        return lines if len(lines) > 1 else []
