"""State of one benchmark session: worker pool, results, the run file and the summary tables."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from twinbench.cases import Case
from twinbench.execution import OK, SKIPPED, CaseRun, merge
from twinbench.options import BenchOptions
from twinbench.report import run_summary
from twinbench.runfile import build_run
from twinbench.storage import write_run
from twinbench.timing import loop_overhead_per_step
from twinbench.workers import WorkerPool


class BenchSession:
    """Registered with pytest's plugin manager; the hooks in `plugin` stay thin."""

    def __init__(self, options: BenchOptions) -> None:
        self.options = options
        self.pool = WorkerPool(options.processes, options.threads)
        self.runs: list[CaseRun] = []
        self.test_names: dict[str, str] = {}
        self.started = datetime.now(UTC).isoformat()
        self.loop_overhead_s: float | None = None
        self.run: dict[str, Any] | None = None
        self.run_path: Path | None = None

    def run_case(self, case: Case, nodeid: str) -> CaseRun:
        """Measure `case` in every worker, record it, and turn its status into a pytest outcome."""
        self.test_names[case.id] = nodeid
        if self.loop_overhead_s is None:
            self.loop_overhead_s = loop_overhead_per_step()
        run = merge(case, self.pool.measure(case, self.options.profile.timing))
        self.runs.append(run)
        if run.status == SKIPPED:
            if self.options.require_gpu:
                pytest.fail(f"--require-gpu: {run.reason}", pytrace=False)
            pytest.skip(run.reason or "skipped")
        if run.status != OK:
            pytest.fail(f"{run.status}: {run.reason}\n{run.details or ''}", pytrace=False)
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
            },
            "frameworks": self.pool.runner_metadata,
        }

    def finish(self) -> Path | None:
        """Stop the workers; build and write the run file when any case was attempted."""
        self.pool.close()
        if not self.runs:
            return None
        from twinbench.metadata import collect_metadata  # imports both frameworks: only now

        metadata = collect_metadata(self.options.threads)
        self.run = build_run(self.runs, metadata, self.settings(), self.test_names)
        self.run_path = write_run(self.options.results_dir / "history", self.run)
        return self.run_path

    def summary_lines(self) -> list[str]:
        """What the terminal shows at the end: the tables, from the run file's own data."""
        if self.run is None:
            return []
        lines = ["", *run_summary(self.run)]
        if self.run_path:
            lines.append(f"run file: {self.run_path}")
        return lines
