"""`twinbench ab --together`: both processes of a pair measure at once, on disjoint CPUs."""

from __future__ import annotations

import argparse
import contextlib
import itertools
import random
from pathlib import Path
from types import SimpleNamespace
from typing import ClassVar

import pytest
from fixtures.ab import ENVIRONMENTS, fake_measure
from fixtures.runs import measured

from twinbench.bench.options import OptionError
from twinbench.cli import ab as ab_command
from twinbench.core.cases import Case
from twinbench.core.status import Outcome, Status
from twinbench.execute import interleave
from twinbench.execute.case import CaseResult, result_to_json
from twinbench.execute.interleave import (
    TOGETHER,
    Interleaved,
    cpu_halves,
    interleaved_order,
    measure_interleaved,
    side_twin_caches,
)
from twinbench.gate.ab import RUN_ALPHA, case_alpha, look_alpha, run_ab
from twinbench.gate.ab_record import ab_lines
from twinbench.gate.settings import GateSettings
from twinbench.measure.timing import TimingSettings

CASES = [
    Case.from_id("mlp-torch-eager-cpu-infer-fp32-b1"),
    Case.from_id("mlp-torch-eager-cpu-infer-fp32-b64"),
]
TIMING = TimingSettings(warmup_s=0.0, min_sample_s=0.001, rounds=2)


def test_the_cpus_split_into_two_disjoint_halves():
    assert cpu_halves([1, 0]) == ((0,), (1,))
    assert cpu_halves([0, 1, 2, 3, 4]) == ((0, 1), (2, 3))  # an odd one out stays idle
    with pytest.raises(ValueError, match="needs at least 2 CPUs"):
        cpu_halves([0])


class FakeWorker:
    """Records when each request is sent and answered, on one timeline shared by all."""

    timeline: ClassVar[list[tuple[str, str, tuple[int, ...] | None]]] = []
    pids: ClassVar[itertools.count[int]] = itertools.count(1000)

    def __init__(self, framework, threads, python=None, twin_cache=None, cpus=None):
        self.framework, self.threads, self.python, self.cpus = framework, threads, python, cpus
        self.process = SimpleNamespace(stdin=None, pid=next(self.pids))  # what the pair uses
        self.sent: Case | None = None

    def wait_ready(self):
        pass

    def alive(self):
        return True

    def send(self, case, timing, seed, numerics_dir=None):
        self.sent = case
        self.timeline.append(("send", self.python, self.cpus))

    def receive(self, case):
        assert self.sent == case
        self.timeline.append(("receive", self.python, self.cpus))
        (result,) = measured(case.id, 0.001, processes=1).processes
        return {"result": result_to_json(result)}

    def close(self):
        pass


@pytest.fixture(autouse=True)
def swaps(monkeypatch):
    """The pairs' trades of CPU halves, recorded instead of made (the real ones:
    tests/test_half_swap.py)."""
    made: list[tuple[tuple[int, int], tuple[tuple[int, ...], ...]]] = []

    @contextlib.contextmanager
    def record(pids, halves):
        made.append((tuple(pids), tuple(halves)))
        yield

    monkeypatch.setattr(interleave, "swapping_halves", record)
    return made


def test_the_two_workers_of_a_pair_trade_halves_while_they_measure(monkeypatch, swaps):
    started: list[FakeWorker] = []

    def start(*args, **kwargs):
        started.append(FakeWorker(*args, **kwargs))
        return started[-1]

    monkeypatch.setattr(interleave, "Worker", start)
    monkeypatch.setattr(interleave, "usable_cpus", lambda: [0, 1])
    measure_interleaved(
        [CASES[0], CUDA_CASE], TIMING, {"a": "pa", "b": "pb"}, processes=2, threads=1, together=True
    )
    by_pid = {worker.process.pid: worker for worker in started}
    assert len(swaps) == 2  # one per pair of the CPU case, none while the sides take turns
    for pids, halves in swaps:
        a, b = (by_pid[pid] for pid in pids)
        assert (a.python, b.python) == ("pa", "pb")
        assert halves == (a.cpus, b.cpus)  # each starts on the half it was started on


def test_sides_that_take_turns_trade_nothing(monkeypatch, swaps):
    monkeypatch.setattr(interleave, "Worker", FakeWorker)
    measure_interleaved(CASES[:1], TIMING, {"a": "pa", "b": "pb"}, 2, threads=1)
    assert swaps == []


def test_together_sends_to_both_workers_of_a_pair_before_reading_either(monkeypatch):
    FakeWorker.timeline = []
    monkeypatch.setattr(interleave, "Worker", FakeWorker)
    monkeypatch.setattr(interleave, "usable_cpus", lambda: [0, 1])
    result = measure_interleaved(
        CASES[:1], TIMING, {"a": "python-a", "b": "python-b"}, processes=3, threads=1, together=True
    )
    (case_id,) = result.results
    assert [len(result.results[case_id][side]) for side in ("a", "b")] == [3, 3]
    assert result.orders[case_id] == [TOGETHER] * 3
    pairs = [FakeWorker.timeline[i : i + 4] for i in range(0, 12, 4)]
    for index, pair in enumerate(pairs):
        assert [event for event, _, _ in pair] == ["send", "send", "receive", "receive"]
        cpus = {python: cpus for _, python, cpus in pair}
        assert cpus["python-a"] != cpus["python-b"]  # disjoint halves...
        assert cpus["python-a"] == ((0,), (1,))[index % 2]  # ...that swap sides every pair


class ShortLivedWorker(FakeWorker):
    """Dies after one case, so that the next case starts a fresh worker in its place."""

    started: ClassVar[list[ShortLivedWorker]] = []

    def __init__(self, framework, threads, python=None, twin_cache=None, cpus=None):
        super().__init__(framework, threads, python, twin_cache, cpus)
        self.twin_cache, self.measured = twin_cache, 0
        self.started.append(self)

    def receive(self, case):
        self.measured += 1
        return super().receive(case)

    def alive(self):
        return self.measured == 0


def test_each_side_shares_its_twin_cache_also_with_restarted_workers(monkeypatch):
    # Without a shared folder every Keras worker exports the PyTorch twin's FLOPs again for
    # each case, in a torch-only child: seconds a case.
    ShortLivedWorker.started, FakeWorker.timeline = [], []
    monkeypatch.setattr(interleave, "Worker", ShortLivedWorker)
    monkeypatch.setattr(interleave, "usable_cpus", lambda: [0, 1])
    caches = {"a": Path("/cache-a"), "b": Path("/cache-b")}
    pythons = {"a": "python-a", "b": "python-b"}
    measure_interleaved(CASES, TIMING, pythons, 2, threads=1, together=True, twin_caches=caches)
    assert len(ShortLivedWorker.started) == 8  # 4 for the first case, 4 restarted
    assert {(w.python, w.twin_cache) for w in ShortLivedWorker.started} == {
        ("python-a", Path("/cache-a")),
        ("python-b", Path("/cache-b")),
    }


def test_side_twin_caches_are_one_folder_a_side_removed_afterwards():
    with side_twin_caches() as caches:
        assert set(caches) == {"a", "b"}
        assert caches["a"] != caches["b"]
        assert all(folder.is_dir() for folder in caches.values())
    assert not any(folder.exists() for folder in caches.values())


def test_interleaved_sends_one_request_at_a_time_without_pinning(monkeypatch):
    FakeWorker.timeline = []
    monkeypatch.setattr(interleave, "Worker", FakeWorker)
    measure_interleaved(CASES[:1], TIMING, {"a": "python-a", "b": "python-b"}, 2, threads=1)
    events = [event for event, _, _ in FakeWorker.timeline]
    assert events == ["send", "receive"] * 4
    assert [python for _, python, _ in FakeWorker.timeline[::2]] == [
        "python-a",
        "python-b",
        "python-b",
        "python-a",
    ]
    assert {cpus for _, _, cpus in FakeWorker.timeline} == {None}


def test_threads_together_default_to_half_the_cpus_and_may_not_exceed_it(monkeypatch):
    monkeypatch.setattr(ab_command, "usable_cpus", lambda: [0, 1, 2, 3])
    assert ab_command._threads_together(None) == 2
    assert ab_command._threads_together(1) == 1
    with pytest.raises(OptionError, match="half of the 4 CPUs: --threads 3 exceeds 2"):
        ab_command._threads_together(3)
    monkeypatch.setattr(ab_command, "usable_cpus", lambda: [0])
    with pytest.raises(OptionError, match=r"--together: .*needs at least 2 CPUs"):
        ab_command._threads_together(None)


def test_together_on_one_cpu_is_refused_before_anything_is_measured(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(ab_command, "usable_cpus", lambda: [0])
    parser = argparse.ArgumentParser()
    ab_command.add_parser(parser.add_subparsers())
    args = parser.parse_args(
        ["ab", "--a", "python-a", "--b", "python-b", "--together", "--results-dir", str(tmp_path)]
    )
    assert args.handler(args) == 2
    assert "needs at least 2 CPUs" in capsys.readouterr().err
    assert not (tmp_path / "ab").exists()


def test_the_table_says_the_pairs_were_measured_together():
    calls: list[list[str]] = []
    speeds = {case.id: {"a": 0.001, "b": 0.001} for case in CASES}

    def measure(cases, asked):
        interleaved = fake_measure(speeds, calls, processes=6)(cases, asked)
        interleaved.orders = {case_id: [TOGETHER] * 6 for case_id in interleaved.orders}
        return interleaved

    outcome = run_ab(CASES, measure, GateSettings(), 6)
    header = ab_lines(outcome, ENVIRONMENTS)[0]
    assert "each pair measured together on its own CPUs" in header
    assert "interleaved" not in header


def test_looks_of_pairs_spend_alpha_only_where_a_sign_flip_can_decide():
    # 6, 12, 18 pairs: 6 cannot go below 1/64, so the other two share 0.01.
    assert look_alpha([6, 12, 18], 0.01, paired=True) == pytest.approx(0.005)
    assert look_alpha([6, 12, 18], 0.01) == pytest.approx(0.01 / 3)  # 6 against 6 processes can


def pairs_measure(factor: float, calls: list[int], fail_pair: int | None = None):
    """Pairs whose two processes share a moment (levels over a 2x range), B `factor` slower."""
    moments = [1.0, 1.9, 1.3, 1.6, 1.1, 2.0]

    def result(case: Case, level: float, failed: bool) -> CaseResult:
        if failed:
            return CaseResult(case=case, status=Status.ERROR, reason="worker died")
        (ok,) = measured(case.id, level, processes=1).processes
        return ok

    def measure(cases: list[Case], asked: int = 6) -> Interleaved:
        calls.append(len(cases))
        results = {
            case.id: {
                "a": [result(case, 1e-3 * m, False) for m in moments],
                "b": [
                    result(case, 1e-3 * m * factor, i == fail_pair) for i, m in enumerate(moments)
                ],
            }
            for case in cases
        }
        return Interleaved(results, {case.id: [TOGETHER] * len(moments) for case in cases})

    return measure


def test_pairs_measured_together_are_judged_as_pairs():
    calls: list[int] = []
    outcome = run_ab(CASES[:1], pairs_measure(1.25, calls), GateSettings(), 6, paired=True)
    (verdict,) = outcome.verdicts
    assert verdict.verdict == Outcome.REGRESSION  # 12 pairs, all slower: p = 1/4096
    assert verdict.note == "12 pairs measured together"
    assert calls == [1, 1]  # 6 pairs cannot decide at 0.005: one round
    unpaired = run_ab(CASES[:1], pairs_measure(1.25, []), GateSettings(), 6)
    assert unpaired.verdicts[0].verdict != Outcome.REGRESSION  # the moments drown it


def test_a_pair_with_a_failed_side_drops_out():
    outcome = run_ab(
        CASES[:1], pairs_measure(1.25, [], fail_pair=0), GateSettings(), 6, paired=True
    )
    assert outcome.verdicts[0].note == "10 pairs measured together"


def rounds_of_pairs(ratios_per_look: list[list[float]], calls: list[int]):
    """Pairs at shared moments whose B/A ratios are given look by look (the last one repeats)."""
    moments = [1.0, 1.9, 1.3, 1.6, 1.1, 2.0]

    def measure(cases: list[Case], asked: int = 6) -> Interleaved:
        ratios = ratios_per_look[min(len(calls), len(ratios_per_look) - 1)]
        calls.append(len(cases))
        results = {
            case.id: {
                "a": [measured(case.id, 1e-3 * m, processes=1).processes[0] for m in moments],
                "b": [
                    measured(case.id, 1e-3 * m * r, processes=1).processes[0]
                    for m, r in zip(moments, ratios, strict=True)
                ],
            }
            for case in cases
        }
        return Interleaved(results, {case.id: [TOGETHER] * len(moments) for case in cases})

    return measure


# Six pair ratios whose median reads inside the 1.10 threshold but that spread so wide a
# slowdown of 1.10 or more is still likely.
WIDE_INSIDE = [1.55, 0.85, 1.05, 0.9, 1.35, 1.0]


def test_a_look_does_not_call_a_case_the_same_while_a_slowdown_is_still_likely():
    calls: list[int] = []
    look_after = [WIDE_INSIDE, [1.25] * 6]
    outcome = run_ab(CASES[:1], rounds_of_pairs(look_after, calls), GateSettings(), 6, paired=True)
    assert len(calls) > 1  # the first look's `same` was not settled: more rounds
    assert outcome.verdicts[0].verdict == Outcome.REGRESSION


def test_a_tight_same_ends_at_the_first_look_and_a_wide_one_at_the_last():
    calls: list[int] = []
    tight = [[1.01, 0.99, 1.0, 1.02, 0.98, 1.0]]
    outcome = run_ab(CASES[:1], rounds_of_pairs(tight, calls), GateSettings(), 6, paired=True)
    assert calls == [1] and outcome.verdicts[0].verdict == Outcome.OK
    calls = []
    rounds = GateSettings(confirm_rounds=2)
    outcome = run_ab(CASES[:1], rounds_of_pairs([WIDE_INSIDE], calls), rounds, 6, paired=True)
    assert calls == [1, 1, 1]  # open at every look before the last...
    assert outcome.verdicts[0].verdict == Outcome.OK  # ...where inside the threshold is same


def test_the_cases_of_a_run_share_its_false_alarm_rate():
    assert case_alpha(0.01, 1) == 0.01  # alone, a case keeps the gate's alpha
    assert case_alpha(0.01, 34) == pytest.approx(RUN_ALPHA / 34)
    for cases in range(1, 200):
        assert cases * case_alpha(0.01, cases) <= RUN_ALPHA + 1e-12


MANY_CASES = [Case.from_id(f"mlp-torch-eager-cpu-infer-fp32-b{n}") for n in range(1, 35)]
# 12 pair ratios 1.17x slower but two: the sign-flip p of their mean lies between what one
# case alone is tested at (0.01) and its share of a run of 34 (0.05 / 34).
TWO_AGAINST = [[1.17] * 6, [1.17, 0.9, 1.17, 1.17, 0.93, 1.17]]


def test_a_case_slower_at_the_gates_alpha_is_not_when_34_cases_share_the_run():
    one_look = GateSettings(confirm_rounds=1)
    alone = run_ab(CASES[:1], rounds_of_pairs(TWO_AGAINST, []), one_look, 6, paired=True)
    (verdict,) = alone.verdicts
    assert verdict.verdict == Outcome.REGRESSION
    assert verdict.p_value is not None and RUN_ALPHA / 34 < verdict.p_value < 0.01
    many = run_ab(MANY_CASES, rounds_of_pairs(TWO_AGAINST, []), one_look, 6, paired=True)
    assert {v.verdict for v in many.verdicts} == {Outcome.UNSURE}
    assert many.cases_judged == 34 and many.look_alpha == pytest.approx(RUN_ALPHA / 34)
    header = ab_lines(many, ENVIRONMENTS)[0]
    assert "any of the 34 cases slower in at most 5% of runs" in header


def test_a_clear_slowdown_still_decides_on_the_second_look_of_a_34_case_run():
    calls: list[int] = []
    rounds = GateSettings(confirm_rounds=2)
    outcome = run_ab(MANY_CASES, rounds_of_pairs([[1.25] * 6], calls), rounds, 6, paired=True)
    assert calls == [34, 34]
    assert {v.verdict for v in outcome.verdicts} == {Outcome.REGRESSION}


def test_cases_a_side_skipped_do_not_share_the_false_alarm_rate():
    def measure(cases: list[Case], asked: int = 6) -> Interleaved:
        pairs = rounds_of_pairs([[1.0] * 6], [])(cases, asked)
        skipped = CaseResult(case=cases[1], status=Status.SKIPPED, reason="no GPU")
        pairs.results[cases[1].id]["b"] = [skipped] * 6
        return pairs

    outcome = run_ab(MANY_CASES[:3], measure, GateSettings(), 6, paired=True)
    assert outcome.cases_judged == 2 and outcome.case_alpha == 0.01


def test_pairs_measure_together_by_default_on_two_cpus_and_take_turns_on_one(monkeypatch):
    monkeypatch.setattr(ab_command, "usable_cpus", lambda: [0, 1])
    assert ab_command._mode(None, None) == (True, "abba")
    assert ab_command._mode(False, None) == (False, "abba")  # --interleaved
    assert ab_command._mode(None, "random") == (False, "random")  # an order means turns
    with pytest.raises(OptionError, match="--order applies when the sides take turns"):
        ab_command._mode(True, "random")
    monkeypatch.setattr(ab_command, "usable_cpus", lambda: [0])
    assert ab_command._mode(None, None) == (False, "abba")


def test_together_and_interleaved_exclude_each_other():
    parser = argparse.ArgumentParser()
    ab_command.add_parser(parser.add_subparsers())
    with pytest.raises(SystemExit):
        parser.parse_args(["ab", "--a", "x", "--b", "y", "--together", "--interleaved"])
    assert parser.parse_args(["ab", "--a", "x", "--b", "y"]).together is None
    assert parser.parse_args(["ab", "--a", "x", "--b", "y", "--interleaved"]).together is False


CUDA_CASE = Case.from_id("mlp-torch-eager-cuda-infer-fp32-b1")


def test_cuda_cases_take_turns_even_when_pairs_measure_together(monkeypatch):
    FakeWorker.timeline = []
    monkeypatch.setattr(interleave, "Worker", FakeWorker)
    monkeypatch.setattr(interleave, "usable_cpus", lambda: [0, 1])
    result = measure_interleaved(
        [CASES[0], CUDA_CASE], TIMING, {"a": "pa", "b": "pb"}, processes=2, threads=1, together=True
    )
    assert result.orders[CASES[0].id] == [TOGETHER] * 2
    assert result.orders[CUDA_CASE.id] == ["a", "b", "b", "a"]
    cuda_events = [event for event, _, _ in FakeWorker.timeline[8:]]  # after the CPU case's
    assert cuda_events == ["send", "receive"] * 4  # one side at a time on the one card


def test_in_a_together_run_alternated_cases_are_judged_side_against_side():
    calls: list[int] = []
    together = rounds_of_pairs([[1.25] * 6], calls)

    def measure(cases: list[Case], asked: int = 6) -> Interleaved:
        measured = together(cases, asked)
        for case in cases:
            if case.device == "cuda":
                measured.orders[case.id] = ["a", "b", "b", "a"] * 3
        return measured

    outcome = run_ab([CASES[0], CUDA_CASE], measure, GateSettings(), 6, paired=True)
    notes = {v.case_id: v.note for v in outcome.verdicts}
    assert notes[CASES[0].id].endswith("pairs measured together")
    assert "A and" in notes[CUDA_CASE.id] and "alternated (one GPU)" in notes[CUDA_CASE.id]
    assert outcome.look_alpha == look_alpha([6, 12, 18, 24], 0.01, paired=True)  # the pairs' plan


def test_the_command_says_up_front_how_it_measures():
    options = SimpleNamespace(processes=6, threads=1)
    together = ab_command._announce(True, options)  # type: ignore[arg-type]
    assert (
        together.startswith("ab: 6 pairs a case at the first look") and "--interleaved" in together
    )
    turns = ab_command._announce(False, SimpleNamespace(processes=3, threads=2))  # type: ignore[arg-type]
    assert turns == "ab: 3 processes a side a case at the first look, taking turns, 2 thread(s)"


def test_a_large_round_starts_no_more_workers_at_a_time_than_asked(monkeypatch):
    FakeWorker.timeline = []
    alive: list[int] = []
    most: list[int] = [0]

    class CountedWorker(FakeWorker):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            alive.append(self.process.pid)
            most[0] = max(most[0], len(alive))

        def close(self):
            if self.process.pid in alive:
                alive.remove(self.process.pid)

    monkeypatch.setattr(interleave, "Worker", CountedWorker)
    monkeypatch.setattr(interleave, "usable_cpus", lambda: [0, 1])
    notes: list[str] = []
    result = measure_interleaved(
        CASES[:2],
        TIMING,
        {"a": "pa", "b": "pb"},
        5,
        1,
        together=True,
        at_once=2,
        progress=notes.append,
    )
    assert most[0] == 4 and not alive  # two a side at a time, all closed at the end
    for case in CASES[:2]:
        assert result.orders[case.id] == [TOGETHER] * 5
        assert [len(result.results[case.id][side]) for side in "ab"] == [5, 5]
    assert f"{CASES[0].id} (workers 5-5 a side)" in notes
    # The halves still alternate pair by pair across the batches.
    starts = [cpus for event, python, cpus in FakeWorker.timeline if python == "pa"][::2]
    assert starts[:5] == [(0,), (1,), (0,), (1,), (0,)]


def test_taking_turns_keeps_alternating_across_batches_and_rounds(monkeypatch):
    """A look of 3 pairs restarted at A B would end every look on B; carried on, the
    batches of a round and the rounds after it go on B A, A B, ... as one long look."""
    FakeWorker.timeline = []
    monkeypatch.setattr(interleave, "Worker", FakeWorker)
    monkeypatch.setattr(interleave, "usable_cpus", lambda: [0, 1])
    case_id = CUDA_CASE.id  # takes turns, like every case of an --interleaved run
    first = measure_interleaved([CUDA_CASE], TIMING, {"a": "pa", "b": "pb"}, 3, 1, at_once=1)
    later = measure_interleaved(
        [CUDA_CASE], TIMING, {"a": "pa", "b": "pb"}, 3, 1, pairs_before={case_id: 3}
    )
    assert first.orders[case_id] == ["a", "b", "b", "a", "a", "b"]  # one pair a batch
    assert later.orders[case_id] == ["b", "a", "a", "b", "b", "a"]
    assert first.orders[case_id] + later.orders[case_id] == interleaved_order(
        6, "abba", random.Random(0)
    )


def test_each_look_is_announced_and_carries_the_pairs_before_it(monkeypatch):
    from twinbench.execute import ab_measure

    calls: list[tuple[int, dict]] = []

    def fake(cases, timing, pythons, *, processes, pairs_before, **kwargs):
        calls.append((processes, pairs_before))
        return Interleaved({case.id: {"a": [None] * processes} for case in cases})

    monkeypatch.setattr(ab_measure, "measure_interleaved", fake)
    heard: list[str] = []
    measure = ab_measure.ab_measurer(
        {"a": "pa", "b": "pb"}, TIMING, first_look=3, threads=1, together=True,
        twin_caches={}, progress=heard.append,
    )  # fmt: skip
    measure(CASES[:2], 3)
    measure(CASES[:1], 8)
    assert heard == [
        "look 1: 2 case(s), 3 more pair(s) each",
        "look 2: 1 case(s), 8 more pair(s) each",
    ]
    assert calls == [(3, {}), (8, {CASES[0].id: 3, CASES[1].id: 3})]
