"""Interleaved A/B: order, judgement, rounds, refusal, and the run file holding both sides."""

from __future__ import annotations

import itertools
import random
import sys

import pytest
from fixtures.ab import ENVIRONMENTS, fake_measure
from fixtures.runs import METADATA

from twinbench.cli import main
from twinbench.core.cases import Case
from twinbench.execute.environment import describe_environment, incomparable
from twinbench.execute.interleave import interleaved_order
from twinbench.gate.ab import RUN_ALPHA, look_alpha, look_sizes, run_ab
from twinbench.gate.ab_record import ab_lines, ab_run
from twinbench.gate.paired import smallest_pair_p_value
from twinbench.gate.settings import GateSettings
from twinbench.gate.stats import smallest_p_value
from twinbench.results.runfile import case_rows
from twinbench.results.storage import SCHEMA_VERSION, validate_run

SAME = "mlp-keras-graph-cpu-infer-fp32-b1"
SLOW = "mlp-torch-eager-cpu-infer-fp32-b1"


def test_abba_alternates_which_side_goes_first():
    assert interleaved_order(3, "abba", random.Random(0)) == ["a", "b", "b", "a", "a", "b"]
    shuffled = interleaved_order(20, "random", random.Random(1))
    assert shuffled.count("a") == 20
    assert all(sorted(shuffled[i : i + 2]) == ["a", "b"] for i in range(0, 40, 2))
    assert shuffled == interleaved_order(20, "random", random.Random(1))
    with pytest.raises(ValueError, match="choose from abba, random"):
        interleaved_order(1, "aabb", random.Random(0))


def test_b_slower_by_25_percent_is_slower_and_an_unchanged_case_is_the_same():
    calls: list[list[str]] = []
    speeds = {SAME: {"a": 1e-4, "b": 1e-4}, SLOW: {"a": 1e-4, "b": 1.25e-4}}
    outcome = run_ab(
        [Case.from_id(SAME), Case.from_id(SLOW)], fake_measure(speeds, calls), GateSettings(), 6
    )
    words = {v.case_id: v.verdict for v in outcome.verdicts}
    assert words == {SAME: "ok", SLOW: "regression"}
    assert len(calls) == 1  # nothing undecided: no extra round
    lines = "\n".join(ab_lines(outcome, ENVIRONMENTS)).splitlines()
    assert "differences: torch 2.12.0 -> 2.13.0" in lines
    assert any(line.startswith(SLOW) and " slower " in line for line in lines)
    assert any(line.startswith(SAME) and " same " in line for line in lines)


def test_an_undecided_case_gets_rounds_then_ends_unsure():
    calls: list[list[str]] = []
    speeds = {SLOW: {"a": 1e-4, "b": 1.25e-4}}
    # Two processes a side cannot be significant: every round looks again, then unsure.
    outcome = run_ab(
        [Case.from_id(SLOW)],
        fake_measure(speeds, calls, processes=1),
        GateSettings(confirm_rounds=2),
        1,
    )
    (verdict,) = outcome.verdicts
    assert verdict.verdict == "unsure" and outcome.rounds == 2
    assert calls == [[SLOW]] * 3
    assert "3 A and 3 B processes" in verdict.note
    assert any("what to do about 1 unsure" in line for line in ab_lines(outcome, ENVIRONMENTS))


def test_looks_that_cannot_decide_spend_no_alpha():
    # 3 a side: the first look cannot reach p < 0.05, so the other three share alpha.
    assert look_alpha([3, 6, 9, 12], 0.01) == pytest.approx(0.01 / 3)
    # 6 a side: every look can decide, an even split as Bonferroni has it.
    assert look_alpha([6, 12, 18, 24], 0.01) == pytest.approx(0.01 / 4)
    # Only the last of three looks (3 a side) can reach p < 0.1: it gets all of alpha.
    assert look_alpha([1, 2, 3], 0.1) == pytest.approx(0.1)
    # Whatever the plan, the looks able to decide spend at most alpha between them.
    for first in range(1, 9):
        for rounds in range(5):
            for paired in (False, True):
                sizes = look_sizes(first, rounds, 0.01, paired)
                share = look_alpha(sizes, 0.01, paired)
                smallest = smallest_pair_p_value if paired else lambda n: smallest_p_value(n, n)
                able = sum(smallest(n) < share for n in sizes)
                assert able * share <= 0.01 + 1e-12


def test_rounds_add_as_many_as_the_first_look_or_enough_for_the_next_look_to_decide():
    run_wide = RUN_ALPHA / 34  # the quick profile's 34 CPU cases
    # 3 pairs settle what is unchanged; 11 pairs can go below 1/2**11 < run_wide / 3.
    assert look_sizes(3, 3, run_wide, paired=True) == (3, 11, 19, 27)
    # 6 pairs a look already decide at the second look: every round adds 6, as before.
    assert look_sizes(6, 2, run_wide, paired=True) == (6, 12, 18)
    # 3 processes a side: 7 against 7 can decide, 6 against 6 cannot at the share of three.
    assert look_sizes(3, 3, run_wide) == (3, 7, 11, 15)
    assert look_sizes(4, 0, run_wide, paired=True) == (4,)
    for first, rounds, paired in itertools.product(range(1, 12), range(1, 4), (False, True)):
        sizes = look_sizes(first, rounds, run_wide, paired)
        step = sizes[1] - sizes[0]
        assert step >= first and all(b - a == step for a, b in itertools.pairwise(sizes))
        second = smallest_pair_p_value(sizes[1]) if paired else smallest_p_value(*sizes[1:2] * 2)
        assert second < look_alpha(sizes, run_wide, paired)
    with pytest.raises(ValueError, match="at least one pair"):
        look_sizes(0, 2, 0.01)


def test_each_round_asks_for_the_planned_pairs():
    asked: list[int] = []
    speeds = {SLOW: {"a": 1e-4, "b": 1.25e-4}}
    fake = fake_measure(speeds, [])

    def measure(cases: list[Case], count: int):
        asked.append(count)
        return fake(cases, count)

    # One case tested at what each of 34 would get: the plan of a quick profile's run.
    settings = GateSettings(confirm_rounds=3, alpha=RUN_ALPHA / 34)
    outcome = run_ab([Case.from_id(SLOW)], measure, settings, 3)
    assert asked == [3, 4]  # 3 against 3 cannot decide; 7 against 7 can, and does
    assert outcome.look_sizes == (3, 7, 11, 15) and outcome.verdicts[0].verdict == "regression"
    assert "planned looks: 3, 7, 11, 15" in ab_lines(outcome, ENVIRONMENTS)[0]


def test_cases_a_side_skipped_are_folded_under_the_table_by_reason():
    """On a laptop the CUDA cases outnumber the measured ones: one line per reason, no rows."""
    from twinbench.gate.ab import ABOutcome
    from twinbench.gate.compare import Verdict

    no_gpu = "PyTorch sees no CUDA device"
    skipped = [
        Verdict(f"mlp-torch-eager-cuda-infer-fp32-b{b}", "missing", note=no_gpu) for b in (1, 64)
    ]
    outcome = ABOutcome([Verdict(SAME, "ok", ratio=1.0), *skipped], results={})
    lines = "\n".join(ab_lines(outcome, ENVIRONMENTS)).splitlines()
    assert f"not measured: 2 case(s): {no_gpu}" in lines
    assert not any(line.startswith("mlp-torch-eager-cuda") for line in lines)
    assert any(line.startswith(SAME) for line in lines)


def test_the_run_file_holds_both_sides_and_validates():
    speeds = {SAME: {"a": 1e-4, "b": 1e-4}, SLOW: {"a": 1e-4, "b": 1.25e-4}}
    outcome = run_ab(
        [Case.from_id(SAME), Case.from_id(SLOW)], fake_measure(speeds, []), GateSettings(), 6
    )
    run = ab_run(outcome, dict(METADATA), {"profile": "quick"}, ENVIRONMENTS, GateSettings())
    validate_run(run, finite=False)
    assert run["twinbench"]["schema_version"] == SCHEMA_VERSION
    ab = run["twinbench"]["ab"]
    assert ab["environments"] == ENVIRONMENTS
    assert ab["differences"] == {"torch": ["2.12.0", "2.13.0"]}
    assert {b["param"] for b in ab["a_benchmarks"]} == {SAME, SLOW}
    b_levels = {row.case.id: row.median_s for row in case_rows(run)}
    assert b_levels[SLOW] > 1.2e-4
    stored = {v["case_id"]: v["verdict"] for v in run["twinbench"]["comparison"]["verdicts"]}
    assert stored == {SAME: "ok", SLOW: "regression"}


def test_environments_without_a_framework_or_with_another_format_are_refused():
    a = {
        "executable": "a",
        "torch": "2.13.0",
        "keras": "3.15",
        "tensorflow": "2.21",
        "schema_version": 2,
    }
    assert incomparable(a, dict(a), ["torch", "keras"]) == []
    (reason,) = incomparable(a, {**a, "torch": None}, ["torch"])
    assert reason == "B (a) lacks torch, needed for torch cases"
    assert incomparable(a, {**a, "torch": None}, ["keras"]) == []
    (reason,) = incomparable(a, {**a, "schema_version": 3}, ["torch"])
    assert "A writes run-file format 2" in reason and "B format 3" in reason
    (reason,) = incomparable({**a, "twinbench_error": "ImportError: no"}, a, ["torch"])
    assert reason.startswith("A (a) cannot import twinbench")


def test_this_interpreter_describes_itself():
    info = describe_environment(sys.executable)
    assert info["schema_version"] == SCHEMA_VERSION and info["torch"]


def test_the_command_refuses_an_environment_without_the_framework(tmp_path, capsys):
    fake = tmp_path / "python-without-torch"
    fake.write_text(
        '#!/bin/sh\necho \'{"executable": "fake", "torch": null, "schema_version": '
        f'{SCHEMA_VERSION}, "twinbench": "0"}}\'\n'
    )
    fake.chmod(0o755)
    status = main(
        [
            "ab",
            "--a",
            sys.executable,
            "--b",
            str(fake),
            "--frameworks",
            "torch",
            "--models",
            "mlp",
            "--results-dir",
            str(tmp_path),
        ]
    )
    assert status == 2
    err = capsys.readouterr().err
    assert "cannot be compared: B (fake) lacks torch, needed for torch cases" in err
    assert "select fewer with --frameworks" in err
    assert not (tmp_path / "ab").exists()
