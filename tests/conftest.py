"""Selects the Hypothesis profile (fixtures/properties.py) before test modules are imported."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fixtures import properties


def pytest_configure(config: pytest.Config) -> None:
    # Hypothesis' own plugin loads the profile named by --hypothesis-profile; the test modules'
    # example counts (properties.examples) need to know it when their decorators run.
    properties.active_profile = config.getoption("hypothesis_profile", None) or "ci"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Under the thorough profile: where the parity tests' worst errors were written."""
    if not properties.worst_errors:
        return
    path = Path(os.environ.get("TWINBENCH_PARITY_WORST", ".hypothesis/parity-worst-errors.json"))
    path.parent.mkdir(parents=True, exist_ok=True)
    properties.write_worst_errors(path)
    terminalreporter.write_line(
        f"parity: worst errors of {len(properties.worst_errors)} checks written to {path}"
    )
