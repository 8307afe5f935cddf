"""The `fit` mode: one epoch of Keras `model.fit` against PyTorch's DataLoader loop, on digits.

The data is scikit-learn's bundled digits (1797 grey 8x8 images, no download), mapped onto a
zoo model's own input shape, standardised once here, so both frameworks get the same arrays.
A step is one epoch over the training split; after timing, the timed model's test accuracy is
recorded: a speed figure for a model that did not learn means nothing.

No TensorFlow or PyTorch here: the pytest process uses this module to skip cases.
"""

from __future__ import annotations

import math
from typing import Any

from twinbench.core.cases import DEFAULT_VARIANTS, Case
from twinbench.execute.case import CaseRun
from twinbench.measure.timing import TimingSettings
from twinbench.zoo.digits import TEST_SIZE, TRAIN_SIZE

# Models a fit case runs. The others skip, with the reason below.
FIT_MODELS: tuple[str, ...] = ("mlp",)
NOT_FIT: dict[str, str] = {
    # Measured on 2 CPU cores (torch and keras alike): too slow to learn for a comparison.
    "cnn": "the cnn learns digits too slowly for the epochs a fit case trains (test accuracy "
    "0.57 PyTorch / 0.73 Keras after 4 epochs, 0.87 / 0.83 after 6; a comparison needs 0.90) "
    "and one epoch takes 2-7 s on 2 CPU cores",
    "lstm": "the lstm takes token ids; a digit image cannot become ids without inventing a task",
    "transformer": "the transformer takes token ids; a digit image cannot become ids without "
    "inventing a task",
}
# An epoch at batch b is ceil(1437 / b) optimizer steps. At batch 1 (the quick profile's small
# batch) that is 1437 steps: per-step overhead, which the train mode at batch 1 measures
# already, at 1437 times its cost. Below 32 the fit cases skip, so the quick profile
# (batches 1, 64) fits at 64 and the full one (1, 32, 256) at 32 and 256.
FIT_MIN_BATCH = 32
# Timed epochs per worker process. An epoch is tens of optimizer steps, long against the
# timer (ms or more), so one epoch is one sample (loops=1) and the first epoch, timed apart as
# the first call, is the warm-up: it traces, allocates and fills caches. Every process then
# trains 1 + FIT_ROUNDS epochs, the same number in both frameworks whatever the profile, so
# accuracies are comparable across runs and the tolerance below holds for what was measured.
FIT_ROUNDS = 3
FIT_TIMING = TimingSettings(warmup_s=0.0, min_sample_s=0.0, rounds=FIT_ROUNDS, max_loops=1)
# Comparable accuracy after the same epochs from the same weights: both frameworks reach
# MIN_ACCURACY on the test split and differ by at most MAX_ACCURACY_GAP (18 of 360 digits).
# In the same order the two take the same steps (tests/test_fit.py), so a gap is the shuffle
# orders' doing; both bounds leave a margin over the accuracies in docs/measurements.md.
MIN_ACCURACY = 0.90
MAX_ACCURACY_GAP = 0.05


def fit_unsupported(case: Case) -> str | None:
    """Why the fit mode does not run `case`, or None when it does (or it is not a fit case)."""
    if case.mode != "fit":
        return None
    if case.model not in FIT_MODELS:
        reason = NOT_FIT.get(case.model, "no fit mapping written for it")
        return f"fit runs {', '.join(FIT_MODELS)} only: {reason}"
    if case.batch < FIT_MIN_BATCH:
        return (
            f"fit runs at batch sizes >= {FIT_MIN_BATCH}: at batch {case.batch} one epoch is "
            f"{math.ceil(TRAIN_SIZE / case.batch)} steps (use --batch-sizes 32,64,...)"
        )
    if case.variant not in DEFAULT_VARIANTS or case.precision != "fp32":
        # model.fit and the DataLoader loop are each framework's plain training path; a
        # compiled or mixed-precision fit would be a different benchmark, not written yet.
        return "fit runs the default variants (Keras graph, PyTorch eager) in fp32 only"
    return None


def accuracy_verdict(accuracies: list[float]) -> str:
    """`ok` when every accuracy is high enough and all are close, else what is wrong."""
    if any(a < MIN_ACCURACY for a in accuracies):
        return "did not learn"
    if accuracies and max(accuracies) - min(accuracies) > MAX_ACCURACY_GAP:
        return "apart"
    return "ok"


def learning_problem(run: CaseRun, earlier: list[CaseRun]) -> str | None:
    """Why a measured fit case does not count (did not learn, or away from its twin), or None."""
    mine = lowest_accuracy(run)
    if mine is None:
        return None
    if mine < MIN_ACCURACY:
        return f"fit: test accuracy {mine:.3f} < {MIN_ACCURACY} (the model did not learn)"
    twins = [r for r in earlier if r.case.group == run.case.group and r is not run]
    for twin in twins:
        theirs = lowest_accuracy(twin)
        if theirs is not None and abs(mine - theirs) > MAX_ACCURACY_GAP:
            return (
                f"fit: test accuracy {mine:.3f} against {theirs:.3f} for "
                f"{twin.case.framework}, more than {MAX_ACCURACY_GAP} apart"
            )
    return None


def lowest_accuracy(run: CaseRun) -> float | None:
    """The lowest test accuracy over the processes that measured a fit case, None without."""
    found = [p.fit["accuracy"] for p in run.measured if p.fit]
    return min(found) if found else None


def fit_summary(processes: list[dict[str, Any] | None]) -> dict[str, Any] | None:
    """What the run file records of a fit case: the lowest accuracy, per process, epochs."""
    learned = [p for p in processes if p]
    if not learned:
        return None
    return {
        "accuracy": min(p["accuracy"] for p in learned),
        "accuracies": [p["accuracy"] for p in learned],
        "epochs": learned[0]["epochs"],
        "train_examples": TRAIN_SIZE,
        "test_examples": TEST_SIZE,
    }
