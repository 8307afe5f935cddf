"""Run files: versioned JSON, written atomically, validated on read.

Layout (asv style): ``<results>/history/<machine>/<UTC time>-<random>.json.xz``, one file per
run, so two runs at once never write the same file and no shared counter exists. Run files are
xz-compressed and slimmed (compact.py); files written before that, plain ``.json``, read alike.

The top level is pytest-benchmark's (machine_info, commit_info, benchmarks, datetime, version),
so a plain file, or the one `twinbench export` writes, is what ``pytest-benchmark compare``
reads; our own fields live under "twinbench".
"""

from __future__ import annotations

import json
import math
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from twinbench.core.cases import Case
from twinbench.core.jsonfile import RunFileError, read_json_bytes, require, write_json_atomic
from twinbench.results.compact import compact_run, expand_run
from twinbench.results.migrations import migrate

# Format history (bump on any incompatible change, add a migration for the old version):
#   1 (2026-11): first version; case ids model-framework-device-mode-bN.
#   2 (2026-11): variants and precisions; case ids model-framework-variant-device-mode-
#                precision-bN, `extra_info.case` gains variant and precision, groups name the
#                Keras/PyTorch pair. Version-1 files are migrated on read (their cases ran
#                the default variants, graph and eager, in fp32); the file is not rewritten.
#   3 (2026-12): `fingerprint`/`fingerprint_id` split into `identity`/`identity_id` (where and
#                what is measured: must match; names the baseline) and `stack` (software
#                versions: compared, changes named); the comparison records `identity_changes`
#                and `stack_changes`; Keras on JAX/PyTorch has its own framework value
#                (keras_jax, keras_torch) instead of a `keras_backend` machine field;
#                `extra_info.confirmation` is always a list of rounds; verdicts store
#                `baseline_level_s`/`current_level_s` (were `*_median_s`). Each step is a function
#                in `migrations` (STEPS), applied on read.
#   4 (2026-12): run files are xz-compressed (`.json.xz`) and slimmed (compact.py): samples
#                rounded to the timer's grid, `stats.data` left out where it only repeats
#                the processes' samples (reading puts it back), witness shares to 0.001.
#                Version-3 files need no change.
SCHEMA_VERSION = 4


def new_run_filename(now: datetime | None = None) -> str:
    """Unique file name for a run: sortable UTC time plus randomness (two runs at once)."""
    now = now or datetime.now(UTC)
    return f"{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}.json.xz"


def machine_slug(md: dict[str, Any]) -> str:
    """Folder name for a machine: its CPU (and first GPU), readable and filesystem-safe."""
    parts = [str(md.get("cpu_model") or md.get("machine") or "unknown-cpu")]
    parts += [str(name) for name in (md.get("gpu_names") or [])[:1]]
    slug = re.sub(r"[^a-z0-9]+", "-", " ".join(parts).lower()).strip("-")
    return slug[:80] or "unknown-machine"


def write_run(history_dir: Path, run: dict[str, Any]) -> Path:
    """Store `run`, compressed and slimmed, as a new file under `history_dir/<machine>/`;
    never overwrites."""
    folder = history_dir / machine_slug(run["twinbench"]["metadata"])
    while True:
        path = folder / new_run_filename()
        if not path.exists():
            return write_json_atomic(path, compact_run(run))


def read_run(path: Path | str) -> dict[str, Any]:
    """Load and validate a run file; raises RunFileError naming the file and key."""
    path = Path(path)
    try:
        raw = read_json_bytes(path)
    except OSError as error:
        raise RunFileError(path, f"cannot read: {error.strerror or error}") from error
    try:
        data = orjson.loads(raw)  # strict JSON: no NaN or infinity gets through
        finite = True
    except orjson.JSONDecodeError:
        data, finite = _read_lenient(raw, path), False
    expand_run(data)
    migrate(data, _schema_version(data, path), path)
    validate_run(data, path, finite=finite)
    return data


def _read_lenient(raw: bytes, path: Path) -> Any:
    """What orjson refused, read with json, which says where a file is cut off and reads NaN,
    infinity and 1e999, so that validation can name the key that holds them."""
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise RunFileError(path, f"not UTF-8 text: {error}") from error
    except json.JSONDecodeError as error:
        raise RunFileError(path, _not_json(raw, error)) from error


def _not_json(raw: bytes, error: json.JSONDecodeError) -> str:
    """Why a file is no JSON, and what to do: a cut-off run file and a wrong file differ."""
    if raw.lstrip()[:1] in (b"{", b"["):
        return (
            f"not valid JSON, cut off or damaged ({error}); an interrupted copy or a full disk? "
            "Restore it from version control, or record it again"
        )
    return f"not a JSON file ({error}): pass a run file that `pytest benches` wrote"


def _schema_version(data: Any, path: Path | str) -> int:
    """The file's schema version; RunFileError when it has none or one this twinbench lacks."""
    if not isinstance(data, dict) or "twinbench" not in data:
        raise RunFileError(
            path,
            'not a twinbench run file (no "twinbench" section): pass a file that '
            "`pytest benches` wrote under results/history/ or results/baselines/",
        )
    section = require(data, "twinbench", dict, path)
    version: int = require(section, "schema_version", int, path, "twinbench.schema_version")
    if version > SCHEMA_VERSION:
        raise RunFileError(
            path,
            f"schema version {version} is newer than this twinbench reads ({SCHEMA_VERSION});"
            " upgrade twinbench",
            "twinbench.schema_version",
        )
    if version < 1:
        raise RunFileError(path, f"unknown schema version {version}", "twinbench.schema_version")
    return version


def validate_run(data: Any, path: Path | str = "<run>", finite: bool = False) -> None:
    """Check schema version, required keys and types, case ids, and that numbers are finite.

    `finite`: the caller already knows there is no NaN or infinity (parsed JSON without them).
    """
    version = _schema_version(data, path)
    if version != SCHEMA_VERSION:
        raise RunFileError(
            path, f"schema version {version} must be migrated first", "twinbench.schema_version"
        )
    section = data["twinbench"]
    if not finite:
        _find_non_finite(data, "", path)
    require(section, "metadata", dict, path, "twinbench.results.metadata")
    require(section, "identity", dict, path, "twinbench.identity")
    require(section, "identity_id", str, path, "twinbench.identity_id")
    require(section, "stack", dict, path, "twinbench.stack")
    for i, item in enumerate(require(section, "unmeasured", list, path, "twinbench.unmeasured")):
        _require_case_id(item, "case", path, f"twinbench.unmeasured[{i}].case")
    for i, bench in enumerate(require(data, "benchmarks", list, path)):
        key = f"benchmarks[{i}]"
        _require_case_id(bench, "param", path, f"{key}.param")
        stats = require(bench, "stats", dict, path, f"{key}.stats")
        samples = require(stats, "data", list, path, f"{key}.stats.data")
        if not samples:
            raise RunFileError(path, "no samples", f"{key}.stats.data")
        for field in ("median", "min", "max", "mean", "iterations"):
            require(stats, field, (int, float), path, f"{key}.stats.{field}")
        extra = require(bench, "extra_info", dict, path, f"{key}.extra_info")
        for j, process in enumerate(
            require(extra, "processes", list, path, f"{key}.extra_info.processes")
        ):
            require(process, "samples", list, path, f"{key}.extra_info.processes[{j}].samples")


def _require_case_id(obj: Any, key: str, path: Path | str, where: str) -> None:
    try:
        Case.from_id(require(obj, key, str, path, where))
    except ValueError as error:
        raise RunFileError(path, str(error), where) from error


def _find_non_finite(value: Any, where: str, path: Path | str) -> None:
    """Raise on the first NaN or infinity (Python's json reads them by default)."""
    if isinstance(value, float) and not math.isfinite(value):
        raise RunFileError(path, f"non-finite number {value}", where or "<top>")
    if isinstance(value, dict):
        for key, item in value.items():
            _find_non_finite(item, f"{where}.{key}" if where else str(key), path)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _find_non_finite(item, f"{where}[{i}]", path)
