"""Parsed option values resolved into what one benchmark session runs with."""

from __future__ import annotations

import os
import sysconfig
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from twinbench.bench.options import (
    DEFAULT_RESULTS_DIR,
    OptionError,
    available_cpus,
    per_framework_variants,
)
from twinbench.bench.profiles import PROFILES, Profile
from twinbench.core.cases import TINY, Selection, build_matrix, keras_framework
from twinbench.gate.settings import GateSettings
from twinbench.zoo import MODEL_NAMES, MODEL_SIZES
from twinbench.zoo.user import registered


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
        models=known_models(get("models") or profile.models or MODEL_NAMES),
        frameworks=resolve_frameworks(get("frameworks"), os.environ.get("KERAS_BACKEND")),
        devices=get("devices"),
        modes=get("modes"),
        batch_sizes=get("batch_sizes") or profile.batch_sizes,
        variants=get("variants") or profile.variants,
        precisions=get("precisions") or profile.precisions,
        sizes=get("sizes") or profile.sizes,
        cpu_sizes=get("sizes") or (TINY,),
        model_sizes=MODEL_SIZES,
        large_batch_sizes=get("batch_sizes") or profile.large_batch_sizes,
    )
    if not build_matrix(selection):
        raise OptionError(no_case_message(selection))
    results_dir = Path(get("results_dir") or DEFAULT_RESULTS_DIR)
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
        numerics_dir=Path(
            get("numerics_dir") or numerics_dir(rootdir, refresh=bool(get("refresh_numerics")))
        ),
        refresh_numerics=bool(get("refresh_numerics")),
        compare=not get("no_compare"),
        strict=bool(get("strict_gate")),
        # Only a pytest run can check its suspects again: only it has --baseline-code-check.
        gate=replace(gate_settings(get), baseline_code_check=get("baseline_code_check")),
    )


def resolve_frameworks(frameworks: tuple[str, ...], backend: str | None) -> tuple[str, ...]:
    """`keras` as the framework value of the Keras backend KERAS_BACKEND names, so that
    `KERAS_BACKEND=jax pytest benches` runs (and records) keras_jax cases."""
    try:
        chosen = keras_framework(backend)
    except ValueError as error:
        raise OptionError(str(error)) from error
    return tuple(dict.fromkeys(chosen if f == "keras" else f for f in frameworks))


# Where a wheel installs the repository's fixtures/numerics (pyproject.toml, data-files).
INSTALLED_NUMERICS = ("share", "twinbench", "numerics")


def numerics_dir(rootdir: Path, refresh: bool = False) -> Path:
    """The reference outputs to check against, when --numerics-dir does not name them.

    The project's own ``fixtures/numerics`` first (the repository, or a project that refreshed
    its own references), then the repository this twinbench was imported from (an editable
    install), then the copy a wheel installs; --refresh-numerics always writes the project's.
    """
    project = rootdir / "fixtures" / "numerics"
    if refresh:
        return project
    here = Path(__file__).resolve()
    # <checkout>/src/twinbench/bench/resolve.py; <prefix>/lib/pythonX.Y/site-packages/twinbench/...
    up = here.parents
    checkout = up[min(3, len(up) - 1)] / "fixtures" / "numerics"
    prefix = up[min(5, len(up) - 1)].joinpath(*INSTALLED_NUMERICS)  # pip --prefix / --user
    interpreter = Path(sysconfig.get_path("data")).joinpath(*INSTALLED_NUMERICS)  # a venv
    candidates = (project, checkout, prefix, interpreter)
    return next((path for path in candidates if path.is_dir()), project)


def known_models(models: tuple[str, ...]) -> tuple[str, ...]:
    """`models` if each is a zoo model or a registered user twin, else an OptionError."""
    known = (*MODEL_NAMES, *registered())
    unknown = [m for m in models if m not in known]
    if unknown:
        raise OptionError(
            f"--models: invalid value {', '.join(unknown)}; choose from: {', '.join(known)} "
            "(comma-separated; register your own twins in conftest.py: docs/adding-a-model.md)"
        )
    return models


def no_case_message(selection: Selection) -> str:
    """Why a selection holds no case: variants of no framework, or sizes of no model."""
    if not any(
        size in MODEL_SIZES.get(m, (TINY,)) for m in selection.models for size in selection.sizes
    ):
        sized = ", ".join(f"{m} ({', '.join(s)})" for m, s in MODEL_SIZES.items())
        return (
            f"no case selected: --sizes {','.join(selection.sizes)} names no size of --models "
            f"{','.join(selection.models)}; models with sizes beyond tiny: {sized}"
        )
    return (
        f"no case selected: --variants {','.join(selection.variants)} names no variant of "
        f"--frameworks {','.join(selection.frameworks)} ({per_framework_variants()})"
    )


def gate_settings(get: Callable[[str], Any]) -> GateSettings:
    """The gate's settings from parsed option values (looked up by dest name)."""
    return GateSettings(
        threshold=get("regression_threshold"),
        case_thresholds=tuple(get("case_threshold") or ()),
        normalise=bool(get("normalise_by_probe")),
        confirm_rounds=get("confirm_rounds"),
        like_for_like=bool(get("like_for_like")),
        baseline_window=get("baseline_window") or 0,
    )
