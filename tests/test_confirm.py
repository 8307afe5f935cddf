"""Sequential confirmation on synthetic process samples with known shifts."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from fixtures.properties import examples
from hypothesis import given
from hypothesis import strategies as st

from twinbench.gate.compare import GateSettings, judge_samples
from twinbench.gate.confirm import Round, decide, is_suspect, stored_rounds

CASE = "mlp-torch-eager-cpu-infer-fp32-b1"
SETTINGS = GateSettings()


def processes(rng: np.random.Generator, n: int, scale: float, noise: float = 0.05):
    """`n` processes of 10 samples whose medians spread log-normally by `noise`."""
    return tuple(
        tuple(
            float(x) for x in 1e-3 * scale * np.exp(rng.normal(0, noise) + rng.normal(0, 0.01, 10))
        )
        for _ in range(n)
    )


def suspect_of(base, current):
    verdict = judge_samples(CASE, base, current, SETTINGS)
    assert is_suspect(verdict, SETTINGS)
    return verdict


def test_two_agreeing_rounds_confirm_on_the_pooled_evidence():
    rng = np.random.default_rng(0)
    base, current = processes(rng, 9, 1.0), processes(rng, 3, 1.5)
    suspect = suspect_of(base, current)
    first = Round(processes(rng, 3, 1.5))
    assert decide(suspect, base, current, [first], SETTINGS).confirmed is None  # one is not enough
    decided = decide(suspect, base, current, [first, Round(processes(rng, 3, 1.5))], SETTINGS)
    assert (decided.verdict, decided.confirmed) == ("regression", True)
    assert decided.p_value is not None and decided.p_value < SETTINGS.alpha / 3
    assert "2 of 2 re-measurement round(s) agree" in decided.note
    assert "9 processes" in decided.note


def test_one_round_confirms_when_only_one_is_allowed():
    rng = np.random.default_rng(0)
    base, current = processes(rng, 9, 1.0), processes(rng, 3, 1.5)
    one = replace(SETTINGS, confirm_rounds=1)
    decided = decide(suspect_of(base, current), base, current, [Round(processes(rng, 3, 1.5))], one)
    assert (decided.verdict, decided.confirmed) == ("regression", True)


def test_a_slow_phase_over_the_run_and_one_round_is_not_confirmed():
    """The run and its first round slow, the next two at baseline speed: cleared."""
    rng = np.random.default_rng(4)
    base, current = processes(rng, 9, 1.0), processes(rng, 3, 1.3)
    suspect = suspect_of(base, current)
    slow, calm = Round(processes(rng, 3, 1.25, 0.01)), Round(processes(rng, 3, 1.0, 0.01))
    assert decide(suspect, base, current, [slow, calm], SETTINGS).confirmed is None
    decided = decide(suspect, base, current, [slow, calm, calm], SETTINGS)
    assert (decided.verdict, decided.confirmed) == ("ok", False)


def test_a_suspect_that_can_no_longer_get_two_agreeing_rounds_is_cleared_early():
    rng = np.random.default_rng(5)
    base, current = processes(rng, 9, 1.0), processes(rng, 3, 2.0)
    calm = Round(processes(rng, 3, 1.0, 0.01))
    decided = decide(suspect_of(base, current), base, current, [calm, calm], SETTINGS)
    assert (decided.verdict, decided.confirmed) == ("ok", False)  # round 3 alone cannot confirm


def test_a_round_back_at_baseline_speed_clears_the_suspect():
    rng = np.random.default_rng(1)
    base, current = processes(rng, 9, 1.0), processes(rng, 3, 1.5)
    rounds = [Round(processes(rng, 3, 1.0)), Round(processes(rng, 3, 1.0))]
    decided = decide(suspect_of(base, current), base, current, rounds, SETTINGS)
    assert (decided.verdict, decided.confirmed) == ("ok", False)
    assert "not confirmed" in decided.note


def test_an_ambiguous_first_round_leaves_the_suspect_open():
    base = ((1.0e-3,) * 3, (1.1e-3,) * 3, (0.9e-3,) * 3)
    current = ((1.25e-3,) * 3, (1.3e-3,) * 3, (1.2e-3,) * 3)
    ambiguous = Round(((1.05e-3,) * 3, (1.3e-3,) * 3, (1.15e-3,) * 3))
    decided = decide(suspect_of(base, current), base, current, [ambiguous], SETTINGS)
    assert decided.confirmed is None  # another round decides
    last = decide(suspect_of(base, current), base, current, [ambiguous] * 3, SETTINGS)
    assert last.confirmed is not None  # never open after the last round


def test_a_round_without_samples_leaves_the_suspect_unsure_with_a_reason():
    rng = np.random.default_rng(2)
    base, current = processes(rng, 3, 1.0), processes(rng, 3, 2.0)
    decided = decide(suspect_of(base, current), base, current, [Round(())], SETTINGS)
    assert (decided.verdict, decided.confirmed) == ("unsure", False)
    assert "failed" in decided.note


def test_stored_rounds_are_read_back():
    # The layout from before rounds existed is migrated on read (test_migration.py).
    process = {"samples": [1e-3, 1.1e-3]}
    new = {"confirmation": [{"probe_s": 0.008, "waited_s": 3.0, "processes": [process]}]}
    (round_,) = stored_rounds(new)
    assert round_.processes == ((1e-3, 1.1e-3),) and round_.waited_s == 3.0
    assert stored_rounds({}) == []


@examples(30)
@given(seed=st.integers(0, 2**32 - 1))
def test_unchanged_code_is_almost_never_confirmed(seed):
    """Null model: same distribution everywhere; 3 rounds may look, alpha still bounds it."""
    rng = np.random.default_rng(seed)
    alarms = 0
    trials = 60
    for _ in range(trials):
        base, current = processes(rng, 9, 1.0, 0.1), processes(rng, 3, 1.0, 0.1)
        verdict = judge_samples(CASE, base, current, SETTINGS)
        rounds: list[Round] = []
        while is_suspect(verdict, SETTINGS) and len(rounds) < SETTINGS.confirm_rounds:
            rounds.append(Round(processes(rng, 3, 1.0, 0.1)))
            verdict = decide(
                judge_samples(CASE, base, current, SETTINGS), base, current, rounds, SETTINGS
            )
        alarms += verdict.verdict == "regression"
    assert alarms <= 2  # expected well under 1 at alpha 0.01 with the threshold on top


@examples(20)
@given(seed=st.integers(0, 2**32 - 1))
def test_a_clear_slowdown_is_confirmed(seed):
    """A 1.5x shift with 5% process noise: confirmed within the rounds."""
    rng = np.random.default_rng(seed)
    base, current = processes(rng, 9, 1.0), processes(rng, 3, 1.5)
    verdict = judge_samples(CASE, base, current, SETTINGS)
    rounds: list[Round] = []
    while is_suspect(verdict, SETTINGS) and len(rounds) < SETTINGS.confirm_rounds:
        rounds.append(Round(processes(rng, 3, 1.5)))
        verdict = decide(
            judge_samples(CASE, base, current, SETTINGS), base, current, rounds, SETTINGS
        )
    assert (verdict.verdict, verdict.confirmed) == ("regression", True)


def test_a_baseline_too_small_for_significance_says_so():
    """One baseline process: every round agrees on 3x, yet p cannot go under 1/5."""
    base, current = ((1e-3,) * 5,), ((3e-3,) * 5,)
    rounds = [Round(((3e-3,) * 5,))] * 3
    decided = decide(suspect_of(base, current), base, current, rounds, SETTINGS)
    assert (decided.verdict, decided.confirmed) == ("unsure", False)
    assert "3 of 3 re-measurement round(s) agree" in decided.note
    assert "1 baseline process(es) cannot show significance (p >= 0.2" in decided.note
