"""State of one benchmark session: runners, results, the run file and the summary tables."""

from __future__ import annotations

import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from twinbench.cases import Case
from twinbench.execution import ERROR, OK, SKIPPED, CaseResult, execute_case
from twinbench.metadata import collect_metadata
from twinbench.options import BenchOptions
from twinbench.report import run_summary
from twinbench.runfile import build_run
from twinbench.runners import load_runner
from twinbench.runners.base import Runner
from twinbench.storage import write_run
from twinbench.timing import loop_overhead_per_step
from twinbench.zoo import load_spec


class BenchSession:
    """Registered with pytest's plugin manager; the hooks in `plugin` stay thin."""

    def __init__(self, options: BenchOptions) -> None:
        self.options = options
        self.results: list[CaseResult] = []
        self.test_names: dict[str, str] = {}
        self.runners: dict[str, Runner] = {}
        self.started = datetime.now(UTC).isoformat()
        self.run: dict[str, Any] | None = None
        self.run_path: Path | None = None
        self.loop_overhead_s: float | None = None

    def run_case(self, case: Case, nodeid: str) -> CaseResult:
        """Measure `case`, record the result, and turn a non-ok status into a pytest outcome."""
        self.test_names[case.id] = nodeid
        if self.loop_overhead_s is None:
            self.loop_overhead_s = loop_overhead_per_step()
        runner = self._runner(case)
        unavailable = runner.device_available(case.device)
        if unavailable:
            self.results.append(CaseResult(case=case, status=SKIPPED, reason=unavailable))
            if self.options.require_gpu:
                pytest.fail(f"--require-gpu: {unavailable}", pytrace=False)
            pytest.skip(unavailable)
        result = execute_case(runner, load_spec, case, self.options.profile.timing)
        self.results.append(result)
        if result.status != OK:
            pytest.fail(f"{result.status}: {result.reason}\n{result.details or ''}", pytrace=False)
        return result

    def _runner(self, case: Case) -> Runner:
        """The case's framework runner, loaded and configured on first use."""
        if case.framework not in self.runners:
            try:
                runner = load_runner(case.framework)
                runner.configure(self.options.threads)
            except Exception as error:
                reason = f"cannot start {case.framework}: {type(error).__name__}: {error}"
                self.results.append(CaseResult(case=case, status=ERROR, reason=reason[:500]))
                pytest.fail(f"{reason}\n{traceback.format_exc()}", pytrace=False)
            self.runners[case.framework] = runner
        return self.runners[case.framework]

    def settings(self) -> dict[str, Any]:
        """How this run was configured, for the run file."""
        selection = self.options.selection
        return {
            "started": self.started,
            "profile": self.options.profile_name,
            "timing": self.options.profile.timing.as_dict(),
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
            "frameworks": {name: runner.metadata() for name, runner in self.runners.items()},
        }

    def save(self) -> Path | None:
        """Build and write the run file when at least one case was attempted."""
        if not self.results:
            return None
        metadata = collect_metadata(self.options.threads)
        self.run = build_run(self.results, metadata, self.settings(), self.test_names)
        self.run_path = write_run(self.options.results_dir / "history", self.run)
        return self.run_path

    def summary_lines(self) -> list[str]:
        """What the terminal shows at the end: the tables read back from the run file's data."""
        if self.run is None:
            return []
        lines = ["", *run_summary(self.run)]
        if self.run_path:
            lines.append(f"run file: {self.run_path}")
        return lines
