"""Profiles: how much of the matrix runs by default, and how long each case is timed."""

from __future__ import annotations

from dataclasses import dataclass

from twinbench.core.cases import DEFAULT_VARIANTS, PRECISIONS, SIZES, TINY, VARIANTS
from twinbench.measure.timing import TimingSettings


@dataclass(frozen=True)
class Profile:
    """Defaults that `--profile` selects; explicit options override them."""

    # Batch sizes run when --batch-sizes is not given.
    batch_sizes: tuple[int, ...]
    # Models run when --models is not given; None: the whole zoo.
    models: tuple[str, ...] | None
    # Variants (--variants overrides): compiling (xla, torch.compile) takes seconds to a
    # minute per case and process, so only `full` runs them by default.
    variants: tuple[str, ...]
    # Precisions (--precisions overrides); bf16 runs on CUDA only.
    precisions: tuple[str, ...]
    # Worker processes that each measure every case (--processes overrides).
    processes: int
    # Processes of a run that saves a baseline (--save-baseline; --processes overrides).
    # A baseline is measured once and compared with every later run, and the gate's
    # permutation test over processes is only as strong as its smaller side: a 3-process
    # baseline missed slowdowns that every round confirmed (docs/measurements.md).
    baseline_processes: int
    # Per process: `rounds` samples after warm-up and calibration.
    timing: TimingSettings
    # What the profile is for, shown in --help.
    purpose: str
    # Model sizes on CUDA (--sizes overrides); the CPU runs tiny unless --sizes asks.
    sizes: tuple[str, ...] = (TINY,)
    # Batch sizes of full-size cases (--batch-sizes overrides): GPT-2 small at 1024 tokens
    # holds its logits alone, batch x 1024 x 50257 floats, in 3.3 GB at batch 16.
    large_batch_sizes: tuple[int, ...] = (1,)


PROFILES: dict[str, Profile] = {
    "quick": Profile(
        batch_sizes=(1, 64),
        # Not gpt (its tiny size costs about what the transformer does). Not resnet: it alone
        # would take the quick profile past its few minutes on a small CPU machine
        # (docs/measurements.md).
        models=("mlp", "cnn", "lstm", "transformer"),
        variants=DEFAULT_VARIANTS,
        precisions=("fp32",),
        processes=3,
        baseline_processes=6,
        timing=TimingSettings(warmup_s=0.2, min_sample_s=0.02, rounds=10, min_loops=4),
        purpose="the default: every model but resnet, small and medium batch, graph/eager, "
        "fp32; a few minutes on 2 CPU cores",
    ),
    "full": Profile(
        batch_sizes=(1, 32, 256),
        models=None,
        variants=VARIANTS,
        precisions=PRECISIONS,
        processes=5,
        baseline_processes=10,
        timing=TimingSettings(warmup_s=1.0, min_sample_s=0.05, rounds=20, min_loops=4),
        purpose="nightly on GPU runners: more batch sizes, all variants and precisions, "
        "full-size models on CUDA (batch 1 and 8), longer and more samples",
        sizes=SIZES,
        large_batch_sizes=(1, 8),
    ),
    "smoke": Profile(
        batch_sizes=(1,),
        models=None,
        variants=DEFAULT_VARIANTS,
        precisions=("fp32",),
        processes=1,
        baseline_processes=1,
        timing=TimingSettings(warmup_s=0.0, min_sample_s=0.001, rounds=3),
        purpose="checks the harness itself; its figures mean nothing",
    ),
}
