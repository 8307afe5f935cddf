"""scripts/process_spread.py: the spread between processes that bounds what a run can show."""

from __future__ import annotations

import argparse
import json
import math
import statistics

import pytest
from fixtures.scripts import load_script

CASE = "mlp-torch-eager-cpu-infer-fp32-b1"


def entry(levels: list[float]) -> dict:
    """A case whose processes sit at these levels (every sample the same)."""
    return {"param": CASE, "extra_info": {"processes": [{"samples": [x] * 10} for x in levels]}}


def test_pairs_follow_the_abba_order_and_a_failed_process_drops_them():
    script = load_script("process_spread")
    a, b = [0.0, 0.1, 0.2], [0.5, 0.7, 0.9]
    assert script.pair_differences(a, b, [["a", "b", "b", "a", "a", "b"]]) == pytest.approx(
        [0.5, 0.6, 0.7]
    )
    assert script.pair_differences(a[:2], b, [["a", "b", "b", "a", "a", "b"]]) == []


def test_more_spread_needs_more_processes_and_pairing_halves_the_count():
    script = load_script("process_spread")
    args = argparse.Namespace(alpha=0.01 / 3, power=0.9, effect=1.25)
    assert script.needed(0.30, args, False) == pytest.approx(4 * script.needed(0.15, args, False))
    assert script.needed(0.15, args, True) == pytest.approx(script.needed(0.15, args, False) / 2)
    # 2 * ((z(1 - alpha) + z(0.9)) * 0.15 / ln 1.25) ** 2 = 2 * (3.99 * 0.672) ** 2
    assert script.needed(0.15, args, False) == pytest.approx(14.4, abs=0.1)


def test_an_ab_file_reports_the_sides_and_the_pairs(tmp_path, capsys):
    script = load_script("process_spread")
    # B moves with A in every pair (a shared slow spell): the pairs spread less than a side.
    a_levels = [1.0, 1.3, 1.1, 1.6]
    b_levels = [1.25 * x for x in a_levels]
    run = {
        "benchmarks": [entry(b_levels)],
        "twinbench": {
            "ab": {"a_benchmarks": [entry(a_levels)], "orders": {CASE: [["a", "b", "b", "a"] * 2]}}
        },
    }
    path = tmp_path / "ab.json"
    path.write_text(json.dumps(run), encoding="utf-8")
    script.report(path, argparse.Namespace(cases="*", alpha=0.0033, power=0.9, effect=1.25))
    out = capsys.readouterr().out
    side = float(out.split(CASE)[1].split()[1])
    assert side == pytest.approx(statistics.stdev(math.log(x) for x in b_levels), abs=1e-3)
    assert " 0.000" in out.split(CASE)[1]  # the pair differences are all ln 1.25
    assert "median pair spread 0.000" in out


def test_pairs_measured_together_are_one_order_entry_each():
    script = load_script("process_spread")
    a, b = [0.0, 0.1, 0.2], [0.5, 0.7, 0.9]
    assert script.pair_differences(a, b, [["a+b"] * 3]) == pytest.approx([0.5, 0.6, 0.7])
