"""The noise generator: seeded windows, bounded, stops by itself, logs when it was on."""

from __future__ import annotations

import io
import itertools
import multiprocessing
import subprocess
import sys
import time

import pytest

from twinbench.tools.noise import Plan, on_windows, parse_plan, run, windows

PLAN = Plan(600, 3, 10, 60, 1, ("cpu", "memory"), 8)


def test_windows_are_seeded_alternate_and_cover_the_duration():
    spans = windows(PLAN)
    assert spans == windows(PLAN)
    assert spans != windows(Plan(600, 4, 10, 60, 1, ("cpu",), 8))
    assert spans[0][0] == 0 and spans[-1][1] == 600
    assert [on for *_, on in spans[:4]] == [False, True, False, True]
    assert all(10 <= end - start <= 60 for start, end, _ in spans[:-1])
    assert all(a[1] == b[0] for a, b in itertools.pairwise(spans))


def test_a_short_run_switches_the_load_and_stops_by_itself(tmp_path):
    log = tmp_path / "noise.jsonl"
    plan = Plan(2.5, 1, 0.5, 0.8, 2, ("cpu", "memory"), 8)
    started = time.monotonic()
    events = run(plan, log, out=io.StringIO())
    assert time.monotonic() - started < 2.5 + 8  # start-up and stopping of the load included
    assert events[0]["event"] == "start" and events[-1]["event"] == "stop"
    assert [e["event"] for e in events].count("on") >= 1
    ons = [e for e in events if e["event"] == "on"]
    assert ons[0]["kinds"] == ["cpu", "memory"]
    spans = on_windows(log)
    assert len(spans) == len(ons) and all(end > start for start, end in spans)
    assert not multiprocessing.active_children()  # no load left behind


@pytest.mark.parametrize(
    "argv",
    [
        ["--duration", "0"],
        ["--duration", "99999"],
        ["--duration", "5", "--kinds", "gpu"],
        ["--duration", "5", "--min-window", "9", "--max-window", "3"],
        ["--duration", "5", "--memory-mb", "100000"],
        ["--duration", "5", "--workers", "999"],
    ],
)
def test_out_of_range_settings_are_usage_errors(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        parse_plan(argv)
    assert exit_info.value.code == 2
    assert "see --help" in capsys.readouterr().err


def test_the_tool_imports_nothing_else_from_twinbench():
    code = (
        "import sys, twinbench.tools.noise; "
        "print([m for m in sys.modules if m.startswith('twinbench.') "
        "and not m.startswith('twinbench.tools')])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
