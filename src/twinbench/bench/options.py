"""Command-line options, typed parsers and their resolution into a Selection.

`add_bench_options(addoption)` serves pytest's parser (and can serve argparse for the console
script), pytest-benchmark style, so the two can never drift apart.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twinbench.bench.parsers import (
    batch_size_list,
    case_threshold,
    choice_list,
    name_list,
    non_negative_int,
    positive_int,
    threshold_ratio,
    variant_list,
)
from twinbench.bench.profiles import PROFILES
from twinbench.core.cases import (
    ALL_FRAMEWORKS,
    DEVICES,
    FRAMEWORK_VARIANTS,
    FRAMEWORKS,
    MODES,
    PRECISIONS,
    SIZES,
)
from twinbench.core.cpus import usable_cpus
from twinbench.gate.settings import CODE_CHECK_OFF, CODE_CHECK_SCOPES, EVERY_CASE
from twinbench.zoo import MODEL_NAMES


class OptionError(ValueError):
    """Option values that are valid one by one but select nothing together."""


def per_framework_variants() -> str:
    """Each framework's variants, for messages: ``keras: graph, xla; torch: eager, compile``."""
    return "; ".join(f"{f}: {', '.join(vs)}" for f, vs in FRAMEWORK_VARIANTS.items())


def available_cpus() -> int:
    """CPUs this process may run on (affinity aware), the default thread count."""
    return len(usable_cpus())


def add_bench_options(addoption: Callable[..., Any], prefix: str = "") -> None:
    """Add the benchmark selection options to a pytest option group or argparse parser."""
    profiles = ", ".join(f"{name} ({p.purpose})" for name, p in PROFILES.items())
    addoption(
        f"--{prefix}frameworks",
        type=choice_list(ALL_FRAMEWORKS),
        default=FRAMEWORKS,
        metavar="LIST",
        help=f"frameworks to run, comma-separated from: {', '.join(ALL_FRAMEWORKS)} (default: "
        f"{','.join(FRAMEWORKS)}). keras is Keras on TensorFlow, or on the backend KERAS_BACKEND "
        "names; keras_jax and keras_torch are Keras on JAX and on PyTorch, with case ids, "
        "history and baseline of their own",
    )
    addoption(
        f"--{prefix}devices",
        type=choice_list(DEVICES),
        default=DEVICES,
        metavar="LIST",
        help="devices, from: cpu, cuda (default: both; CUDA cases skip when no GPU is seen)",
    )
    addoption(
        f"--{prefix}models",
        type=name_list,
        default=None,
        metavar="LIST",
        help=f"models: the zoo's ({', '.join(MODEL_NAMES)}) and your own twins registered "
        "in conftest.py (docs/adding-a-model.md) (default: the profile's; quick: all zoo "
        "models but resnet and gpt)",
    )
    addoption(
        f"--{prefix}sizes",
        type=choice_list(SIZES),
        default=None,
        metavar="LIST",
        help="model sizes: tiny (CPU-sized) and/or full (ResNet-50 at 224x224, GPT-2 small; "
        "resnet and gpt only). Default: the profile's on CUDA (full: both), tiny on the CPU, "
        "where full sizes take seconds per step and run only when this option asks",
    )
    addoption(
        f"--{prefix}modes",
        type=choice_list(MODES),
        default=MODES,
        metavar="LIST",
        help="infer (forward), train (forward, loss, backward, SGD step), fit (one epoch of "
        "Keras model.fit / a PyTorch DataLoader loop on digits) (default: all)",
    )
    addoption(
        f"--{prefix}batch-sizes",
        type=batch_size_list,
        default=None,
        metavar="LIST",
        help="batch sizes, e.g. 1,32,256 (default: the profile's)",
    )
    addoption(
        f"--{prefix}variants",
        type=variant_list,
        default=None,
        metavar="LIST",
        help="variants, comma-separated: default (graph, eager), all, or names "
        f"({per_framework_variants()}); each framework runs its own listed variants "
        "(default: the profile's)",
    )
    addoption(
        f"--{prefix}precisions",
        type=choice_list(PRECISIONS),
        default=None,
        metavar="LIST",
        help="fp32 (TF32 off on both sides) and/or bf16 (mixed precision, CUDA only) "
        "(default: the profile's)",
    )
    addoption(
        f"--{prefix}profile",
        choices=tuple(PROFILES),
        default="quick",
        help=f"timing and default batch sizes: {profiles} (default: quick)",
    )
    addoption(
        f"--{prefix}processes",
        type=positive_int,
        default=None,
        metavar="N",
        help="worker processes that each measure every case, one after the other; processes "
        "are the unit of replication because part of the noise is per process "
        "(default: the profile's)",
    )
    addoption(
        f"--{prefix}threads",
        type=positive_int,
        default=None,
        metavar="N",
        help="CPU threads given to *both* frameworks, recorded in the run file "
        "(default: the CPUs this process may use)",
    )


# One default for pytest and the console script: results/ in the current directory.
DEFAULT_RESULTS_DIR = "results"


def add_results_dir(addoption: Callable[..., Any], prefix: str = "") -> None:
    """--results-dir, the same for pytest and every subcommand: one name, one default."""
    addoption(
        f"--{prefix}results-dir",
        default=None,
        metavar="DIR",
        help=f"where history/ and baselines/ live (default: {DEFAULT_RESULTS_DIR}/ in the "
        "current directory)",
    )


def add_run_options(addoption: Callable[..., Any], prefix: str = "") -> None:
    """Options about where results go and how strict the run is."""
    baseline_processes = ", ".join(
        f"{name}: {p.baseline_processes}" for name, p in PROFILES.items()
    )
    add_results_dir(addoption, prefix)
    addoption(
        f"--{prefix}save-baseline",
        nargs="?",
        const="replace",
        default=None,
        choices=("replace", "extend"),
        help="make this run the baseline of this machine identity (replace), or pool its "
        "processes into the existing one (extend); baselines change only through this option. "
        f"Such a run measures more processes ({baseline_processes}) unless --processes is "
        "given: every later run is compared with it",
    )
    addoption(
        f"--{prefix}numerics-dir",
        default=None,
        metavar="DIR",
        help="reference outputs per model (default: fixtures/numerics under the pytest rootdir, "
        "else the references installed with twinbench)",
    )
    addoption(
        f"--{prefix}refresh-numerics",
        action="store_true",
        default=False,
        help="store this run's outputs as the reference outputs (after an intended change, "
        "e.g. a framework upgrade that legitimately moves the numbers)",
    )
    addoption(
        f"--{prefix}no-compare",
        action="store_true",
        default=False,
        help="do not compare with the baseline",
    )
    addoption(
        f"--{prefix}baseline-code-check",
        dest="baseline_code_check",
        choices=CODE_CHECK_SCOPES,
        default=EVERY_CASE,
        help="measure cases again beside the baseline's own code (its git commit, in a temporary "
        "worktree), A/B in one sitting, where a slow spell slows both sides and slower code "
        "one. all: every case, the reading its verdict, instead of the confirmation rounds "
        "(finds slowdowns a stored baseline hides on a noisy machine; costs an A/B run of "
        "every case); suspects: only those the rounds leave a regression or unsure (cheaper on "
        "a calm machine); off. Needs an unchanged stack and a baseline of one clean commit, "
        "else the rounds judge (default: all)",
    )
    addoption(
        f"--{prefix}no-baseline-code-check",
        dest="baseline_code_check",
        action="store_const",
        const=CODE_CHECK_OFF,
        help="the same as --baseline-code-check=off",
    )
    addoption(
        f"--{prefix}require-gpu",
        action="store_true",
        default=False,
        help="fail CUDA cases instead of skipping them when no GPU is visible (nightly CI)",
    )


CONFIRM_ROUNDS_HELP = (
    "re-measure each suspect (a case slower by the threshold) in up to N rounds of fresh "
    "processes, at least 20 s apart; it is a regression only when two rounds agree (one when N "
    "is 1) and all processes pooled are significant at alpha/N (default: 3; 0 turns "
    "confirmation off)"
)
CONFIRM_STORED_HELP = (
    "judge each suspect with up to N of the re-measurement rounds stored in the run file by "
    "the pytest run that wrote it; nothing is measured here, so a suspect without stored "
    "rounds stays an unconfirmed regression (default: 3; 0 ignores stored rounds)"
)


def add_gate_options(
    addoption: Callable[..., Any], prefix: str = "", remeasures: bool = True
) -> None:
    """Options of the regression gate, shared by pytest and `twinbench check`.

    `remeasures`: False for subcommands that judge stored files and measure nothing, whose
    --confirm-rounds can only use the rounds a pytest run stored.
    """
    addoption(
        f"--{prefix}regression-threshold",
        type=threshold_ratio,
        default=1.10,
        metavar="RATIO",
        help="minimum slowdown (current/baseline median) that can be a regression (default: 1.10)",
    )
    addoption(
        f"--{prefix}case-threshold",
        type=case_threshold,
        action="append",
        default=[],
        metavar="PATTERN=RATIO",
        help="threshold for the cases matching a glob, e.g. '*-b1=1.25'; repeatable, first wins",
    )
    addoption(
        f"--{prefix}normalise-by-probe",
        action="store_true",
        default=False,
        help="divide current times by the machine-speed drift (probe now / probe in the "
        "baseline) before judging; raw and normalised ratios are both reported",
    )
    addoption(
        f"--{prefix}confirm-rounds",
        type=non_negative_int,
        default=3,
        metavar="N",
        help=CONFIRM_ROUNDS_HELP if remeasures else CONFIRM_STORED_HELP,
    )
    addoption(
        f"--{prefix}like-for-like",
        action="store_true",
        default=False,
        help="judge only against a baseline of the same software stack: a changed framework, "
        "Python, CUDA or driver version makes every case incomparable (default: the stack is "
        "judged, and every change named above the verdicts)",
    )
    addoption(
        f"--{prefix}baseline-window",
        type=non_negative_int,
        default=0,
        metavar="N",
        help="judge against the last N runs of this machine identity in the history, pooled "
        "(per case, none from before its latest confirmed regression or faster verdict), "
        "instead of the saved baseline; falls back to the saved baseline while the history "
        "holds none (default: 0, the saved baseline)",
    )
    # Not `--strict`: pytest owns that flag (it turns on its own strict mode).
    addoption(
        f"--{prefix}strict-gate",
        action="store_true",
        default=False,
        help="also fail on incomparable, no-baseline, missing, oom and error verdicts",
    )
