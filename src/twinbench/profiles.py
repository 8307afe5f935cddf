"""Profiles: how much of the matrix runs by default, and how long each case is timed."""

from __future__ import annotations

from dataclasses import dataclass

from twinbench.timing import TimingSettings


@dataclass(frozen=True)
class Profile:
    """Defaults that `--profile` selects; explicit options override them."""

    # Batch sizes run when --batch-sizes is not given.
    batch_sizes: tuple[int, ...]
    # Worker processes that each measure every case (--processes overrides).
    processes: int
    # Per process: `rounds` samples after warm-up and calibration.
    timing: TimingSettings
    # What the profile is for, shown in --help.
    purpose: str


PROFILES: dict[str, Profile] = {
    "quick": Profile(
        batch_sizes=(1, 64),
        processes=3,
        timing=TimingSettings(warmup_s=0.2, min_sample_s=0.02, rounds=10),
        purpose="the default: every model, small and medium batch, a few minutes on 2 CPU cores",
    ),
    "full": Profile(
        batch_sizes=(1, 32, 256),
        processes=5,
        timing=TimingSettings(warmup_s=1.0, min_sample_s=0.05, rounds=20),
        purpose="nightly on GPU runners: more batch sizes, longer and more samples",
    ),
    "smoke": Profile(
        batch_sizes=(1,),
        processes=1,
        timing=TimingSettings(warmup_s=0.0, min_sample_s=0.001, rounds=3),
        purpose="checks the harness itself; its figures mean nothing",
    ),
}
