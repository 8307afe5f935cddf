"""A confirmed regression measured once more beside the baseline's own code, in one sitting.

The git side runs on a throwaway repository (tmp_path); the A/B side is a fake `CodeCheck`;
tests/test_code_check_live.py measures with real workers.
"""

from __future__ import annotations

import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from fixtures.runs import run_with

from test_gate import CASES, SLOW, remeasure_at
from twinbench.bench.explain import why_ok
from twinbench.core.status import Outcome
from twinbench.execute.code import CodeUnavailable, code_record, git, interpreter_of
from twinbench.gate.ab import ABOutcome
from twinbench.gate.code_check import (
    apply_stored_check,
    check_suspects,
    code_check_lines,
    settle,
)
from twinbench.gate.compare import Comparison, Verdict, compare_runs
from twinbench.gate.session_gate import run_gate, verdict_lines
from twinbench.gate.settings import SUSPECTS, GateSettings
from twinbench.measure.inject import SLOWDOWN_ENV
from twinbench.results.baselines import pool_runs, save_baseline

SUSPECT = "mlp-torch-eager-cpu-infer-fp32-b1"
CODE = {"commit": "c0ffee" * 6 + "c0ff", "dirty": False, "injected_slowdown": None}
# The check of the suspects the rounds leave (tests/test_code_check_every.py: the default).
SUSPECTS_ONLY = GateSettings(baseline_code_check=SUSPECTS)


# --- the code a run measured, and an interpreter that runs it again -------------------------


def repository(root: Path, value: int) -> str:
    """A git repository whose src/pkg.py holds VALUE = `value`; the commit's id."""
    (root / "src").mkdir(parents=True, exist_ok=True)
    if not (root / ".git").exists():
        subprocess.run(["git", "init", "-q", str(root)], check=True)
    (root / "src" / "pkg.py").write_text(f"VALUE = {value}\n")
    for args in (
        ["add", "-A"],
        ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", f"value {value}"],
    ):
        subprocess.run(["git", "-C", str(root), *args], check=True)
    commit = git(root, "rev-parse", "HEAD")
    assert commit is not None
    return commit


def run_python(python: str, code: str) -> str:
    done = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True)
    return done.stdout.strip()


READ = "import os, pkg; print(pkg.VALUE, os.environ.get('TWINBENCH_INJECT_SLOWDOWN'))"


def test_a_run_records_its_commit_and_whether_tracked_files_changed(tmp_path, monkeypatch):
    monkeypatch.delenv(SLOWDOWN_ENV, raising=False)
    commit = repository(tmp_path, 1)
    assert code_record(tmp_path) == {"commit": commit, "dirty": False, "injected_slowdown": None}
    (tmp_path / "results.json").write_text("{}")  # untracked: a run file, not a change
    assert code_record(tmp_path)["dirty"] is False
    (tmp_path / "src" / "pkg.py").write_text("VALUE = 3\n")
    monkeypatch.setenv(SLOWDOWN_ENV, "*=1.25")
    assert code_record(tmp_path) == {"commit": commit, "dirty": True, "injected_slowdown": "*=1.25"}
    assert code_record(tmp_path / "src")["commit"] == commit  # from a sub-folder too
    outside = tmp_path.parent / f"{tmp_path.name}-no-git"
    outside.mkdir()
    assert code_record(outside) is None


def test_the_same_clean_commit_runs_in_the_tree_itself_without_the_injection(tmp_path, monkeypatch):
    commit = repository(tmp_path, 1)
    monkeypatch.setenv(SLOWDOWN_ENV, "*=1.25")  # this run's injection: not the baseline's
    code = {"commit": commit, "dirty": False, "injected_slowdown": None}
    with interpreter_of(code, tmp_path, paths=[str(tmp_path / "src")], cwd=tmp_path) as python:
        assert run_python(python, READ) == "1 None"
        assert run_python(python, "import os; print(os.getcwd())") == str(tmp_path.resolve())
    assert _worktrees(tmp_path) == 1


def test_an_older_commit_runs_from_a_worktree_that_is_removed_afterwards(tmp_path):
    old = repository(tmp_path, 1)
    repository(tmp_path, 2)
    code = {"commit": old, "dirty": False, "injected_slowdown": "*=1.5"}
    with interpreter_of(code, tmp_path, paths=[str(tmp_path / "src")], cwd=tmp_path) as python:
        assert run_python(python, READ) == "1 *=1.5"  # the old code, its injection again
        assert _worktrees(tmp_path) == 2
        worktree = Path(run_python(python, "import os; print(os.getcwd())"))
        assert worktree != tmp_path.resolve() and (worktree / "src" / "pkg.py").is_file()
    assert _worktrees(tmp_path) == 1
    assert not worktree.exists()


def test_uncommitted_changes_now_leave_the_baselines_commit_in_a_worktree(tmp_path):
    commit = repository(tmp_path, 1)
    (tmp_path / "src" / "pkg.py").write_text("VALUE = 5\n")  # this run's change, uncommitted
    code = {"commit": commit, "dirty": False, "injected_slowdown": None}
    with interpreter_of(code, tmp_path, paths=[str(tmp_path / "src")], cwd=tmp_path) as python:
        assert run_python(python, READ) == "1 None"
    assert (tmp_path / "src" / "pkg.py").read_text() == "VALUE = 5\n"  # the tree untouched


def test_code_that_cannot_be_checked_out_again_is_refused_with_the_reason(tmp_path):
    repository(tmp_path, 1)
    dirty = {"commit": "abc", "dirty": True, "injected_slowdown": None}
    with pytest.raises(CodeUnavailable, match="uncommitted"), interpreter_of(dirty, tmp_path):
        pass
    unknown = f"commit c0ffeec0ffee is not in {tmp_path}"
    with pytest.raises(CodeUnavailable, match=unknown), interpreter_of(CODE, tmp_path):
        pass


def test_a_repository_of_twinbench_itself_must_run_its_own_copy_in_the_worktree(tmp_path):
    (tmp_path / "src" / "twinbench").mkdir(parents=True)
    (tmp_path / "src" / "twinbench" / "__init__.py").write_text("")
    old = repository(tmp_path, 1)
    repository(tmp_path, 2)
    code = {"commit": old, "dirty": False, "injected_slowdown": None}
    # Its src/ on the path: the worktree's copy runs.
    with interpreter_of(code, tmp_path, paths=[str(tmp_path / "src")], cwd=tmp_path) as python:
        assert "twinbench-code-" in run_python(
            python, "import twinbench; print(twinbench.__file__)"
        )
    # Not on the path: this environment's twinbench would run, tonight's code on both sides.
    with (
        pytest.raises(CodeUnavailable, match="holds twinbench's source, but the baseline's"),
        interpreter_of(code, tmp_path, paths=[], cwd=tmp_path),
    ):
        pass
    assert _worktrees(tmp_path) == 1


def _worktrees(root: Path) -> int:
    listed = git(root, "worktree", "list", "--porcelain") or ""
    return sum(line.startswith("worktree ") for line in listed.splitlines())


# --- the gate's side: which regressions stand ------------------------------------------------


def regression(note: str = "2 of 2 re-measurement round(s) agree") -> Verdict:
    return Verdict(SUSPECT, Outcome.REGRESSION, 1e-4, 1.3e-4, 1.3, 0.001, (1.2, 1.4), 1.1,
                   1.3, True, note)  # fmt: skip


def ab(outcome: str, ratio: float = 1.0) -> Verdict:
    return Verdict(SUSPECT, outcome, 1e-4, 1e-4 * ratio, ratio, 0.01, (ratio - 0.1, ratio + 0.1),
                   note="9 pairs measured together")  # fmt: skip


@pytest.mark.parametrize(
    ("reading", "verdict", "words"),
    [
        (ab(Outcome.REGRESSION, 1.28), Outcome.REGRESSION, "slower 1.28x (1.18-1.38x)"),
        (ab(Outcome.OK, 1.01), Outcome.OK, "same 1.01x (0.91-1.11x), 9 pairs measured "
         "together: the machine was slower"),
        (ab(Outcome.FASTER, 0.8), Outcome.OK, "faster 0.80x"),
        (ab(Outcome.UNSURE, 1.2), Outcome.UNSURE, "unsure 1.20x"),
        (Verdict(SUSPECT, Outcome.ERROR, note="worker died"), Outcome.REGRESSION,
         "could not be measured: worker died"),
    ],
)  # fmt: skip
def test_the_reading_beside_the_baselines_code_settles_a_regression(reading, verdict, words):
    settled = settle(regression(), reading)
    assert settled.verdict == verdict
    assert settled.note.startswith("2 of 2 re-measurement round(s) agree; ")
    assert words in settled.note
    # The figures against the stored baseline stay what they were.
    assert (settled.ratio, settled.p_value, settled.confirmed) == (1.3, 0.001, True)


@pytest.mark.parametrize(
    ("reading", "verdict"),
    # Slower beside the baseline's code raises no unsure case to a regression.
    [(Outcome.REGRESSION, Outcome.UNSURE), (Outcome.OK, Outcome.OK),
     (Outcome.UNSURE, Outcome.UNSURE), (Outcome.ERROR, Outcome.UNSURE)],
)  # fmt: skip
def test_an_unsure_case_is_settled_the_same_way(reading, verdict):
    unsure = replace(regression("witnessed: cpu/wall 0.72"), verdict=Outcome.UNSURE)
    assert settle(unsure, ab(reading, 1.2)).verdict == verdict


def test_only_regression_and_unsure_cases_with_a_ratio_are_measured_again():
    comparison = Comparison(
        [
            regression(),
            replace(regression(), case_id="b", verdict=Outcome.UNSURE),
            Verdict("c", Outcome.UNSURE, note="no round could measure it"),  # no ratio
            Verdict("d", Outcome.OK, ratio=1.0),
            Verdict("e", Outcome.FASTER, ratio=0.5),
        ]
    )
    calls: list = []
    check_suspects(with_code(run_with(CASES)), comparison, fake_check(Outcome.OK, calls))
    assert calls == [([SUSPECT, "b"], CODE)]


def test_a_cleared_regression_explains_itself_in_twinbench_check():
    cleared = settle(regression(), ab(Outcome.OK, 1.01))
    assert "confirmed, then cleared: no slower than the baseline's own code measured beside" in (
        why_ok(cleared, GateSettings())
    )


def with_code(run: dict, code: dict | None = CODE) -> dict:
    run["twinbench"]["settings"]["code"] = code
    return run


def fake_check(reading: str, calls: list):
    def check(case_ids: list[str], code: dict) -> ABOutcome | str:
        calls.append((case_ids, code))
        verdicts = [ab(reading, 1.02) for _ in case_ids]
        return ABOutcome(verdicts, {}, look_sizes=(3, 9), rounds=1)

    return check


def test_run_gate_clears_a_confirmed_slowdown_that_the_baselines_code_shares(tmp_path):
    save_baseline(tmp_path, with_code(run_with(CASES)), "base.json")
    run, calls, checked = with_code(run_with(SLOW)), [], []
    outcome = run_gate(
        run, tmp_path, SUSPECTS_ONLY, remeasure_at(2e-4, calls), fake_check(Outcome.OK, checked)
    )
    assert checked == [([SUSPECT], CODE)]  # only the confirmed regression, with its code
    verdict = next(v for v in outcome.comparison.verdicts if v.case_id == SUSPECT)
    assert verdict.verdict == Outcome.OK and "the machine was slower" in verdict.note
    assert not outcome.comparison.failed(strict=True)
    stored = run["twinbench"]["comparison"]
    assert stored["code_check"]["baseline_code"] == CODE
    assert stored["code_check"]["verdicts"][0]["verdict"] == "ok"
    assert stored["settings"]["baseline_code_check"] == "suspects"
    assert any(
        line.startswith("1 suspect(s) measured beside the baseline's code in one sitting")
        and line.endswith("(A/B, looks of 3, 9): 1 same")
        for line in verdict_lines(outcome)
    )


def test_twinbench_check_settles_on_the_stored_check_of_the_same_baseline_code(tmp_path):
    baseline = with_code(run_with(CASES))
    save_baseline(tmp_path, baseline, "base.json")
    run = with_code(run_with(SLOW))
    run_gate(run, tmp_path, SUSPECTS_ONLY, remeasure_at(2e-4, []), fake_check(Outcome.OK, []))
    # Judged again from the file, as `twinbench check` does: the stored rounds confirm, the
    # stored check clears.
    again = compare_runs(baseline, run, GateSettings())
    from twinbench.gate.rounds import apply_confirmations

    apply_confirmations(baseline, run, again, GateSettings())
    assert _verdict(again) == Outcome.REGRESSION
    apply_stored_check(baseline, run, again)
    assert _verdict(again) == Outcome.OK
    # Against a baseline of other code the stored check says nothing.
    other = with_code(run_with(CASES), dict(CODE, commit="beef" * 10))
    again = compare_runs(other, run, GateSettings())
    apply_confirmations(other, run, again, GateSettings())
    apply_stored_check(other, run, again)
    assert _verdict(again) == Outcome.REGRESSION


def _verdict(comparison: Comparison) -> str:
    return next(v.verdict for v in comparison.verdicts if v.case_id == SUSPECT)


@pytest.mark.parametrize(
    ("code", "stack_change", "why"),
    [
        (None, False, "records no single commit"),
        (dict(CODE, dirty=True), False, "measured with uncommitted changes"),
        (CODE, True, "the stack changed (torch 2.13.0 -> 2.14.0); `twinbench ab`"),
    ],
)
def test_a_regression_that_cannot_be_checked_stands_and_says_why(code, stack_change, why):
    baseline = with_code(run_with(CASES), code)
    comparison = Comparison([regression(), Verdict("other", Outcome.OK)])
    if stack_change:
        comparison.stack_changes = {"torch_version": ("2.13.0", "2.14.0")}
    calls: list = []
    check_suspects(baseline, comparison, fake_check(Outcome.OK, calls))
    assert calls == []
    stands, other = comparison.verdicts
    assert stands.verdict == Outcome.REGRESSION
    assert "not measured beside the baseline's code in one sitting: " in stands.note
    assert why in stands.note and other.note == ""
    (line,) = code_check_lines(comparison.code_check)
    assert line.startswith("1 suspect(s) not measured beside the baseline's code") and why in line


def test_nothing_is_measured_without_a_regression_or_with_the_check_off():
    comparison = Comparison([Verdict(SUSPECT, Outcome.OK)])
    calls: list = []
    check_suspects(with_code(run_with(CASES)), comparison, fake_check(Outcome.OK, calls))
    comparison = Comparison([regression()])
    check_suspects(with_code(run_with(CASES)), comparison, None)
    assert calls == [] and comparison.verdicts == [regression()] and comparison.code_check == {}


def test_a_pooled_baseline_keeps_its_code_only_when_every_run_measured_the_same():
    first, second = with_code(run_with(CASES)), with_code(run_with(CASES))
    for run in (first, second):
        run["twinbench"]["pooled_runs"] = ["x.json"]
    assert pool_runs(first, second)["twinbench"]["settings"]["code"] == CODE
    with_code(second, dict(CODE, commit="beef" * 10))
    assert pool_runs(first, second)["twinbench"]["settings"]["code"] is None


def test_the_study_script_shows_each_checked_case_before_and_after(tmp_path):
    from fixtures.scripts import load_script

    baseline = with_code(run_with(CASES))
    save_baseline(tmp_path, baseline, "base.json")
    run = with_code(run_with(SLOW))
    run_gate(run, tmp_path, SUSPECTS_ONLY, remeasure_at(2e-4, []), fake_check(Outcome.OK, []))
    lines = load_script("code_check_study").study(baseline, {"night.json": run}, "*-torch-*")
    assert lines == [
        "night.json: 1 case(s) checked",
        f"  {SUSPECT}: regression -> A/B same 1.02x -> ok (affected)",
        "total affected regression -> ok: 1",
    ]
