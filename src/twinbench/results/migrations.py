"""Schema migrations: each older run-file layout rewritten, in memory, as the next version.

Every "files from before X" difference lives here and nowhere else: the code that reads a run
sees one layout, today's. `read_run` applies the steps in order (1 -> 2 -> 3 ...); the file on
disk is never rewritten (a baseline is rewritten at today's schema only when it is saved again,
through --save-baseline). Each step has a test on a real file of its version
(fixtures/runfiles/schema-N-*.json, kept as written).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twinbench.core.cases import Case, keras_framework, migrate_case_id
from twinbench.core.jsonfile import RunFileError, require
from twinbench.results.metadata import IDENTITY_FIELDS, STACK_FIELDS, identity, identity_id, stack


def migrate(data: dict[str, Any], version: int, path: Any) -> None:
    """Bring `data`, a run file of schema `version`, to the newest schema, in place."""
    first = version
    while version in STEPS:
        STEPS[version](data, path)
        version += 1
        data["twinbench"]["schema_version"] = version
    if first != version:
        data["twinbench"]["migrated_from"] = first


def v1_to_v2(data: dict[str, Any], path: Any) -> None:
    """Every case id gets its variant and precision: the default variants (graph, eager) in
    fp32 were all that version 1 measured."""

    def add_variant(bench: dict[str, Any], case: Case) -> None:
        extra = bench.get("extra_info")
        if isinstance(extra, dict) and isinstance(extra.get("case"), dict):
            extra["case"] = {**extra["case"], "variant": case.variant, "precision": "fp32"}

    rename_cases(data, path, migrate_case_id, add_variant)
    selection = data["twinbench"].get("settings", {}).get("selection")
    if isinstance(selection, dict):
        selection.setdefault("variants", ["graph", "eager"])
        selection.setdefault("precisions", ["fp32"])


def v2_to_v3(data: dict[str, Any], path: Any) -> None:
    """One fingerprint becomes the machine identity (must match) and the software stack
    (compared); Keras on JAX or PyTorch gets its own framework value; re-measurements are
    stored as rounds; a verdict's figures are named levels, which is what they always were."""
    section = data["twinbench"]
    metadata = require(section, "metadata", dict, path, "twinbench.metadata")
    fingerprint = require(section, "fingerprint", dict, path, "twinbench.fingerprint")
    known = {**metadata, **fingerprint, "twinbench_version": section.get("twinbench_version")}
    section["identity"] = identity(known)
    section["identity_id"] = identity_id(section["identity"])
    section["stack"] = stack(known)
    del section["fingerprint"]
    section.pop("fingerprint_id", None)
    _split_fingerprint_changes(section.get("comparison"))
    _verdict_levels(section.get("comparison"))
    _keras_backend_cases(data, path, fingerprint.get("keras_backend"))
    for bench in data["benchmarks"]:
        extra = bench.get("extra_info")
        if isinstance(extra, dict) and extra.get("confirmation"):
            extra["confirmation"] = _as_rounds(extra["confirmation"])


def _split_fingerprint_changes(comparison: dict[str, Any] | None) -> None:
    """A version-2 comparison's fingerprint changes, split the way version 3 records them."""
    if not isinstance(comparison, dict):
        return
    changes = comparison.pop("fingerprint_changes", None) or {}
    comparison["identity_changes"] = {k: v for k, v in changes.items() if k in IDENTITY_FIELDS}
    comparison["stack_changes"] = {k: v for k, v in changes.items() if k in STACK_FIELDS}


def _verdict_levels(comparison: dict[str, Any] | None) -> None:
    """Version 2 called the gate's per-case figures medians; they are medians of per-process
    levels, so version 3 names them levels (the pooled median is another number)."""
    verdicts = comparison.get("verdicts") if isinstance(comparison, dict) else None
    for verdict in verdicts if isinstance(verdicts, list) else []:
        for side in ("baseline", "current"):
            if isinstance(verdict, dict) and f"{side}_median_s" in verdict:
                verdict[f"{side}_level_s"] = verdict.pop(f"{side}_median_s")


def _keras_backend_cases(data: dict[str, Any], path: Any, backend: str | None) -> None:
    """Version 2 recorded the Keras backend on the machine; version 3 in the case id."""
    try:
        framework = keras_framework(backend)
    except ValueError as error:
        raise RunFileError(path, str(error), "twinbench.fingerprint.keras_backend") from error
    if framework == "keras":
        return
    frameworks = data["twinbench"].get("settings", {}).get("frameworks")
    if isinstance(frameworks, dict) and "keras" in frameworks:
        frameworks[framework] = frameworks.pop("keras")

    def renamed(case_id: str) -> str:
        case = Case.from_id(case_id)
        if case.framework != "keras":
            return case_id
        return Case(
            case.model, framework, case.device, case.mode, case.batch, case.variant, case.precision
        ).id

    def set_framework(bench: dict[str, Any], case: Case) -> None:
        extra = bench.get("extra_info")
        if isinstance(extra, dict) and isinstance(extra.get("case"), dict):
            extra["case"] = {**extra["case"], "framework": case.framework}

    rename_cases(data, path, renamed, set_framework)


def _as_rounds(stored: list[Any]) -> list[Any]:
    """Re-measurements stored before rounds existed (one flat list of process entries) as one
    round whose probe and wait are unknown."""
    if isinstance(stored[0], dict) and ("samples" in stored[0] or "status" in stored[0]):
        return [{"probe_s": None, "waited_s": None, "processes": stored}]
    return stored


def rename_cases(
    data: dict[str, Any],
    path: Any,
    rename: Callable[[str], str],
    update: Callable[[dict[str, Any], Case], None],
) -> None:
    """Apply `rename` to every case id of a run (benchmarks, unmeasured, verdicts); `update`
    fixes the rest of each benchmark entry for its new case."""
    section = data["twinbench"]
    for i, bench in enumerate(require(data, "benchmarks", list, path)):
        key = f"benchmarks[{i}]"
        old = require(bench, "param", str, path, f"{key}.param")
        case = Case.from_id(_renamed(rename, old, path, f"{key}.param"))
        bench["param"] = case.id
        bench["group"] = case.group
        if isinstance(bench.get("params"), dict):
            bench["params"]["case"] = case.id
        for field in ("name", "fullname"):
            if isinstance(bench.get(field), str):
                bench[field] = bench[field].replace(f"[{old}]", f"[{case.id}]")
        update(bench, case)
    for i, item in enumerate(require(section, "unmeasured", list, path, "twinbench.unmeasured")):
        where = f"twinbench.unmeasured[{i}].case"
        item["case"] = _renamed(rename, require(item, "case", str, path, where), path, where)
    comparison = section.get("comparison")
    for i, verdict in enumerate(comparison.get("verdicts", []) if comparison else []):
        where = f"twinbench.comparison.verdicts[{i}].case_id"
        old = require(verdict, "case_id", str, path, where)
        verdict["case_id"] = _renamed(rename, old, path, where)


def _renamed(rename: Callable[[str], str], old: str, path: Any, where: str) -> str:
    try:
        return rename(old)
    except ValueError as error:
        raise RunFileError(path, str(error), where) from error


def v3_to_v4(data: dict[str, Any], path: Any) -> None:
    """Nothing to rewrite: version 4 only changed how a file is stored (xz, samples rounded,
    `stats.data` left out and put back on reading: compact.py); version 3 holds it all."""


# Version N -> the step that rewrites a version-N file as version N + 1.
STEPS: dict[int, Callable[[dict[str, Any], Any], None]] = {1: v1_to_v2, 2: v2_to_v3, 3: v3_to_v4}
