"""Command-line options, typed parsers and their resolution into a Selection.

`add_bench_options(addoption)` serves pytest's parser (and can serve argparse for the console
script), pytest-benchmark style, so the two can never drift apart.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from twinbench.cases import (
    DEFAULT_VARIANTS,
    DEVICES,
    FRAMEWORK_VARIANTS,
    FRAMEWORKS,
    MODES,
    PRECISIONS,
    VARIANTS,
    Selection,
    build_matrix,
)
from twinbench.compare import GateSettings
from twinbench.profiles import PROFILES, Profile
from twinbench.zoo import MODEL_NAMES


class OptionError(ValueError):
    """Option values that are valid one by one but select nothing together."""


def choice_list(valid: Sequence[str]) -> Callable[[str], tuple[str, ...]]:
    """Parser for a comma-separated subset of `valid`; an unknown value lists the valid ones."""

    def parse(text: str) -> tuple[str, ...]:
        values = tuple(v.strip() for v in text.split(",") if v.strip())
        unknown = [v for v in values if v not in valid]
        if unknown or not values:
            shown = ", ".join(unknown) if unknown else repr(text)
            raise argparse.ArgumentTypeError(
                f"invalid value {shown}; choose from: {', '.join(valid)} (comma-separated)"
            )
        return tuple(dict.fromkeys(values))  # drop repeats, keep order

    parse.__name__ = "list"  # argparse names the type in some messages
    return parse


# Names that stand for several variants in --variants.
VARIANT_KEYWORDS: dict[str, tuple[str, ...]] = {"default": DEFAULT_VARIANTS, "all": VARIANTS}


def variant_list(text: str) -> tuple[str, ...]:
    """Parser for --variants: `default`, `all`, or variant names, comma-separated."""
    names = choice_list((*VARIANT_KEYWORDS, *VARIANTS))(text)
    expanded = [v for name in names for v in VARIANT_KEYWORDS.get(name, (name,))]
    return tuple(dict.fromkeys(expanded))


variant_list.__name__ = "list"


def batch_size_list(text: str) -> tuple[int, ...]:
    """Parser for comma-separated positive batch sizes, e.g. ``1,32,256``."""
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        values = ()
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(
            f"invalid value {text!r}; expected positive integers, comma-separated, e.g. 1,32,256"
        )
    return tuple(dict.fromkeys(values))


def positive_int(text: str) -> int:
    """Parser for a positive integer."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"invalid value {text!r}; expected a positive integer")
    return value


def non_negative_int(text: str) -> int:
    """Parser for an integer of 0 or more."""
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"invalid value {text!r}; expected an integer >= 0")
    return int(text)


def per_framework_variants() -> str:
    """Each framework's variants, for messages: ``keras: graph, xla; torch: eager, compile``."""
    return "; ".join(f"{f}: {', '.join(vs)}" for f, vs in FRAMEWORK_VARIANTS.items())


def available_cpus() -> int:
    """CPUs this process may run on (affinity aware), the default thread count."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def add_bench_options(addoption: Callable[..., Any], prefix: str = "") -> None:
    """Add the benchmark selection options to a pytest option group or argparse parser."""
    profiles = ", ".join(f"{name} ({p.purpose})" for name, p in PROFILES.items())
    addoption(
        f"--{prefix}frameworks",
        type=choice_list(FRAMEWORKS),
        default=FRAMEWORKS,
        metavar="LIST",
        help=f"frameworks to run, comma-separated from: {', '.join(FRAMEWORKS)} (default: all)",
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
        type=choice_list(MODEL_NAMES),
        default=None,
        metavar="LIST",
        help=f"zoo models, from: {', '.join(MODEL_NAMES)} (default: the profile's; quick: all "
        "but resnet)",
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


def add_run_options(addoption: Callable[..., Any], prefix: str = "") -> None:
    """Options about where results go and how strict the run is."""
    baseline_processes = ", ".join(
        f"{name}: {p.baseline_processes}" for name, p in PROFILES.items()
    )
    addoption(
        f"--{prefix}results-dir",
        default=None,
        metavar="DIR",
        help="where history/ and baselines/ live (default: results/ under the pytest rootdir)",
    )
    addoption(
        f"--{prefix}save-baseline",
        nargs="?",
        const="replace",
        default=None,
        choices=("replace", "extend"),
        help="make this run the baseline of this machine fingerprint (replace), or pool its "
        "processes into the existing one (extend); baselines change only through this option. "
        f"Such a run measures more processes ({baseline_processes}) unless --processes is "
        "given: every later run is compared with it",
    )
    addoption(
        f"--{prefix}numerics-dir",
        default=None,
        metavar="DIR",
        help="reference outputs per model (default: fixtures/numerics under the pytest rootdir)",
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
        f"--{prefix}require-gpu",
        action="store_true",
        default=False,
        help="fail CUDA cases instead of skipping them when no GPU is visible (nightly CI)",
    )


def case_threshold(text: str) -> tuple[str, float]:
    """Parser for PATTERN=RATIO, e.g. ``*-b1=1.25`` (glob on case ids)."""
    pattern, _, value = text.rpartition("=")
    try:
        ratio = float(value)
    except ValueError:
        ratio = 0.0
    if not pattern or ratio <= 1.0:
        raise argparse.ArgumentTypeError(
            f"invalid value {text!r}; expected PATTERN=RATIO with RATIO > 1, e.g. '*-b1=1.25'"
        )
    return pattern, ratio


def threshold_ratio(text: str) -> float:
    """Parser for a slowdown ratio above 1, e.g. 1.10."""
    try:
        ratio = float(text)
    except ValueError:
        ratio = 0.0
    if ratio <= 1.0:
        raise argparse.ArgumentTypeError(f"invalid value {text!r}; expected a ratio > 1, e.g. 1.10")
    return ratio


def add_gate_options(addoption: Callable[..., Any], prefix: str = "") -> None:
    """Options of the regression gate, shared by pytest and `twinbench check`."""
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
        help="re-measure each suspect (a case slower by the threshold) in up to N rounds of "
        "fresh processes, at least 20 s apart; it is a regression only when two rounds agree "
        "(one when N is 1) and all processes pooled are significant at alpha/N (default: 3; "
        "0 turns confirmation off)",
    )
    # Not `--strict`: pytest owns that flag (it turns on its own strict mode).
    addoption(
        f"--{prefix}strict-gate",
        action="store_true",
        default=False,
        help="also fail on incomparable, no-baseline, missing, oom and error verdicts",
    )


@dataclass(frozen=True)
class BenchOptions:
    """The resolved options of one benchmark session."""

    selection: Selection
    profile_name: str
    profile: Profile
    processes: int
    # What a run that saves a baseline measures (processes is that number under
    # --save-baseline); calibrate measures it too, since each repetition serves as a baseline.
    baseline_processes: int
    threads: int
    results_dir: Path
    require_gpu: bool
    save_baseline: str | None
    numerics_dir: Path
    refresh_numerics: bool
    compare: bool
    strict: bool
    gate: GateSettings


def resolve_options(get: Callable[[str], Any], rootdir: Path) -> BenchOptions:
    """Turn parsed option values (looked up by dest name) into BenchOptions.

    Raises OptionError when the selection is empty (e.g. --variants xla --frameworks torch).
    """
    profile_name = get("profile")
    profile = PROFILES[profile_name]
    selection = Selection(
        models=get("models") or profile.models or MODEL_NAMES,
        frameworks=get("frameworks"),
        devices=get("devices"),
        modes=get("modes"),
        batch_sizes=get("batch_sizes") or profile.batch_sizes,
        variants=get("variants") or profile.variants,
        precisions=get("precisions") or profile.precisions,
    )
    if not build_matrix(selection):
        raise OptionError(
            f"no case selected: --variants {','.join(selection.variants)} names no variant of "
            f"--frameworks {','.join(selection.frameworks)} ({per_framework_variants()})"
        )
    results_dir = Path(get("results_dir") or rootdir / "results")
    baseline_processes = get("processes") or profile.baseline_processes
    return BenchOptions(
        selection=selection,
        profile_name=profile_name,
        profile=profile,
        processes=baseline_processes
        if get("save_baseline")
        else get("processes") or profile.processes,
        baseline_processes=baseline_processes,
        threads=get("threads") or available_cpus(),
        results_dir=results_dir,
        require_gpu=bool(get("require_gpu")),
        save_baseline=get("save_baseline"),
        numerics_dir=Path(get("numerics_dir") or rootdir / "fixtures" / "numerics"),
        refresh_numerics=bool(get("refresh_numerics")),
        compare=not get("no_compare"),
        strict=bool(get("strict_gate")),
        gate=gate_settings(get),
    )


def gate_settings(get: Callable[[str], Any]) -> GateSettings:
    """The gate's settings from parsed option values (looked up by dest name)."""
    return GateSettings(
        threshold=get("regression_threshold"),
        case_thresholds=tuple(get("case_threshold") or ()),
        normalise=bool(get("normalise_by_probe")),
        confirm_rounds=get("confirm_rounds"),
    )
