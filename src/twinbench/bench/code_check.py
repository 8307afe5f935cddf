"""The session's half of the baseline-code check: measure the baseline's commit beside this
tree's code, in one sitting (gate/code_check.py says why, execute/code.py how)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from twinbench.bench.resolve import BenchOptions
from twinbench.core.cases import Case
from twinbench.core.cpus import usable_cpus
from twinbench.execute.ab_measure import ab_measurer
from twinbench.execute.code import CodeUnavailable, git, interpreter_of
from twinbench.execute.interleave import cpu_halves, side_twin_caches
from twinbench.gate.ab import ABOutcome, run_ab
from twinbench.gate.code_check import CodeCheck
from twinbench.gate.settings import CODE_CHECK_OFF


def baseline_code_check(options: BenchOptions) -> CodeCheck | None:
    """A `CodeCheck` measuring with this interpreter, the run's timing and selection's cases;
    None when --baseline-code-check=off.

    On 2 or more CPUs the pairs measure together on halves of the CPUs (the A/B command's
    default, for the reasons docs/gate.md gives), each side with at most half of them; on
    one CPU they take turns with the run's threads.
    """

    if options.gate.baseline_code_check == CODE_CHECK_OFF:
        return None

    def check(case_ids: list[str], code: dict[str, Any]) -> ABOutcome | str:
        root = git(Path.cwd(), "rev-parse", "--show-toplevel")
        if root is None:
            return f"{Path.cwd()} is not in a git repository"
        cpus = usable_cpus()
        together = len(cpus) >= 2
        threads = min(options.threads, len(cpu_halves(cpus)[0])) if together else options.threads
        print(file=sys.stderr)  # end pytest's line of progress dots
        say(f"{len(case_ids)} case(s) measured again beside commit {code['commit'][:12]}")
        try:
            with interpreter_of(code, Path(root)) as python_a, side_twin_caches() as caches:
                measure = ab_measurer(
                    {"a": python_a, "b": sys.executable},
                    options.profile.timing,
                    first_look=options.processes,
                    threads=threads,
                    together=together,
                    twin_caches=caches,
                    progress=say,
                )
                cases = [Case.from_id(case_id) for case_id in case_ids]
                return run_ab(cases, measure, options.gate, options.processes, paired=together)
        except CodeUnavailable as problem:
            return str(problem)

    return check


def say(line: str) -> None:
    """Progress on stderr: the check runs after pytest's last test line, minutes at a time."""
    print(f"baseline code check: {line}", file=sys.stderr, flush=True)
