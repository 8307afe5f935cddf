"""--baseline-code-check=all, the default: every case measured beside the baseline's code, instead
of the confirmation rounds, its reading the verdict (gate/code_check.py)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from fixtures.runs import run_with

from test_code_check import CODE, SUSPECT, with_code
from test_gate import CASES, SLOW, remeasure_at
from twinbench.bench.explain import explanation_lines
from twinbench.core.status import Outcome
from twinbench.gate.ab import ABOutcome
from twinbench.gate.code_check import apply_stored_check, code_check_lines, read_beside
from twinbench.gate.compare import Verdict, compare_runs
from twinbench.gate.rounds import apply_confirmations
from twinbench.gate.session_gate import run_gate, verdict_lines
from twinbench.gate.settings import GateSettings
from twinbench.results.baselines import save_baseline

OTHER = "mlp-keras-graph-cpu-infer-fp32-b1"
EVERY = GateSettings(baseline_code_check="all")


def reading(case_id: str, outcome: str, ratio: float) -> Verdict:
    interval = (ratio - 0.05, ratio + 0.05)
    return Verdict(case_id, outcome, 1e-4, 1e-4 * ratio, ratio, 0.001, interval, 1.08,
                   note="11 pairs measured together")  # fmt: skip


def check_reading(readings: dict[str, tuple[str, float]], calls: list):
    """A fake check: each case reads as `readings` says."""

    def check(case_ids: list[str], code: dict) -> ABOutcome | str:
        calls.append((case_ids, code))
        verdicts = [reading(case_id, *readings[case_id]) for case_id in case_ids]
        return ABOutcome(verdicts, {}, look_sizes=(3, 11), rounds=1)

    return check


def test_every_case_is_measured_beside_the_baselines_code_instead_of_the_rounds(tmp_path):
    save_baseline(tmp_path, with_code(run_with(CASES)), "base.json")
    # The suspect reads the same beside the baseline's code; the case the stored baseline
    # saw unchanged reads slower there.
    readings = {SUSPECT: (Outcome.OK, 1.01), OTHER: (Outcome.REGRESSION, 1.25)}
    run, rounds, checked = with_code(run_with(SLOW)), [], []
    outcome = run_gate(
        run, tmp_path, EVERY, remeasure_at(2e-4, rounds), check_reading(readings, checked)
    )
    assert rounds == []  # no confirmation round: the check judged
    assert checked == [([SUSPECT, OTHER], CODE)]
    verdicts = {v.case_id: v for v in outcome.comparison.verdicts}
    assert verdicts[SUSPECT].verdict == Outcome.OK
    assert "against the stored baseline 2.00x" in verdicts[SUSPECT].note
    slower = verdicts[OTHER]
    assert (slower.verdict, slower.confirmed, slower.ratio) == (Outcome.REGRESSION, True, 1.25)
    assert slower.note.startswith("beside the baseline's code in one sitting: slower, 11 pairs")
    assert outcome.comparison.failed(strict=False)
    stored = run["twinbench"]["comparison"]
    assert stored["code_check"]["every_case"] is True
    assert stored["settings"]["baseline_code_check"] == "all"
    lines = verdict_lines(outcome)
    assert any(
        line.startswith("2 case(s) measured beside the baseline's code in one sitting (A/B, "
                        "looks of 3, 11): 1 same, 1 slower; each reading is the case's verdict")
        for line in lines
    )  # fmt: skip
    (regression,) = [line for line in lines if line.startswith(f"REGRESSION {OTHER}: 100")]
    assert regression.endswith("measured beside the baseline's commit")
    # No verdict rests on the one-run baseline's samples: no advice to pool more runs.
    assert not any("the baseline pools 1 run(s)" in line for line in lines)


def gated_then_judged_again(tmp_path, readings: dict[str, tuple[str, float]]):
    """A run gated with every case read as `readings` says, then its baseline, the run, and
    the run compared again from the files, as `twinbench check` starts."""
    baseline = with_code(run_with(CASES))
    save_baseline(tmp_path, baseline, "base.json")
    run = with_code(run_with(SLOW))
    run_gate(run, tmp_path, EVERY, remeasure_at(2e-4, []), check_reading(readings, []))
    return baseline, run, compare_runs(baseline, run, GateSettings())


def test_twinbench_check_reads_the_stored_every_case_check_again(tmp_path):
    readings = {SUSPECT: (Outcome.UNSURE, 1.15), OTHER: (Outcome.OK, 0.99)}
    baseline, run, again = gated_then_judged_again(tmp_path, readings)
    assert {v.case_id: v.verdict for v in again.verdicts}[SUSPECT] == Outcome.REGRESSION
    apply_confirmations(baseline, run, again, GateSettings())
    apply_stored_check(baseline, run, again)
    verdicts = {v.case_id: v for v in again.verdicts}
    assert verdicts[SUSPECT].verdict == Outcome.UNSURE
    assert verdicts[SUSPECT].interval == pytest.approx((1.1, 1.2))
    assert verdicts[OTHER].verdict == Outcome.OK and verdicts[OTHER].ratio == 0.99


def test_twinbench_check_says_a_slower_ok_case_read_the_same_beside_the_baselines_code(tmp_path):
    readings = {SUSPECT: (Outcome.OK, 1.04), OTHER: (Outcome.OK, 0.99)}
    baseline, run, again = gated_then_judged_again(tmp_path, readings)
    apply_stored_check(baseline, run, again)
    (line,) = [line for line in explanation_lines(again, GateSettings()) if line]
    assert line == (
        f"ok {SUSPECT}: 1.04x slower but ok: the same as the baseline's own code measured beside"
        " it in one sitting (A/B); this noise hides slowdowns below 1.08x"
    )


def test_a_check_that_cannot_run_leaves_the_rounds_to_judge_and_says_why(tmp_path):
    save_baseline(tmp_path, with_code(run_with(CASES)), "base.json")
    run, rounds = with_code(run_with(SLOW)), []

    def broken(case_ids: list[str], code: dict) -> str:
        return "git worktree add failed"

    outcome = run_gate(run, tmp_path, EVERY, remeasure_at(2e-4, rounds), broken)
    assert [ids for ids, _ in rounds] == [[SUSPECT]] * 2
    verdict = next(v for v in outcome.comparison.verdicts if v.case_id == SUSPECT)
    assert (verdict.verdict, verdict.confirmed) == (Outcome.REGRESSION, True)
    lines = verdict_lines(outcome)
    assert any("the baseline pools 1 run(s)" in line for line in lines)
    assert any(line.endswith("confirmed by re-measurement") for line in lines)  # by the rounds
    (line,) = code_check_lines(outcome.comparison.code_check)
    assert line == (
        "2 case(s) not measured beside the baseline's code in one sitting: git worktree add"
        " failed; the confirmation rounds judged them"
    )


def test_a_baseline_without_a_commit_is_judged_by_the_rounds(tmp_path):
    save_baseline(tmp_path, with_code(run_with(CASES), None), "base.json")
    run, rounds, checked = with_code(run_with(SLOW)), [], []
    readings = {SUSPECT: (Outcome.OK, 1.0), OTHER: (Outcome.OK, 1.0)}
    outcome = run_gate(
        run, tmp_path, EVERY, remeasure_at(2e-4, rounds), check_reading(readings, checked)
    )
    assert checked == [] and len(rounds) == 2
    (line,) = code_check_lines(outcome.comparison.code_check)
    assert line.startswith("1 suspect(s) not measured") and "records no single commit" in line


@pytest.mark.parametrize(
    ("first", "verdict"),
    [(Outcome.REGRESSION, Outcome.UNSURE), (Outcome.OK, Outcome.OK)],
)
def test_a_case_whose_side_failed_keeps_its_first_look_but_no_unconfirmed_regression(
    first, verdict
):
    first_look = Verdict(SUSPECT, first, 1e-4, 2e-4, 2.0, 0.001)
    failed = Verdict(SUSPECT, Outcome.ERROR, note="worker died")
    read = read_beside(first_look, failed)
    assert read.verdict == verdict and read.ratio == 2.0
    assert read.note == (
        "against the stored baseline 2.00x; the baseline's code could not be measured: worker died"
    )


def test_a_faster_reading_is_faster_and_same_is_ok_whatever_the_first_look_said():
    first_look = Verdict(SUSPECT, Outcome.FASTER, 1e-4, 0.5e-4, 0.5, 0.001)
    assert read_beside(first_look, reading(SUSPECT, Outcome.OK, 1.0)).verdict == Outcome.OK
    faster = read_beside(
        replace(first_look, verdict=Outcome.OK), reading(SUSPECT, Outcome.FASTER, 0.7)
    )
    assert (faster.verdict, faster.confirmed) == (Outcome.FASTER, None)
