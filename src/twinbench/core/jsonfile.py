"""JSON files that are never half-written, and the error that names a file that cannot be used.

Below every stage: run files, baselines and the numerics references all go through here.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any


class RunFileError(Exception):
    """A run or baseline file that cannot be used; names the file and, if known, the key."""

    def __init__(self, path: Path | str, problem: str, key: str | None = None) -> None:
        where = f"{path}" + (f" (key {key})" if key else "")
        super().__init__(f"{where}: {problem}")
        self.path, self.key, self.problem = Path(path), key, problem


def write_json_atomic(path: Path, data: dict[str, Any]) -> Path:
    """Write `data` to `path` through a temp file and os.replace; NaN is refused."""
    text = json.dumps(data, indent=1, allow_nan=False, sort_keys=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; results are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def require(obj: Any, key: str, kind: Any, path: Path | str, where: str | None = None) -> Any:
    """`obj[key]`, checked to be of `kind`; RunFileError naming the file and key otherwise."""
    if not isinstance(obj, dict) or key not in obj:
        raise RunFileError(path, "missing", where or key)
    value = obj[key]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise RunFileError(path, f"expected {_kind_name(kind)}, got {value!r:.60}", where or key)
    return value


def _kind_name(kind: Any) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(k.__name__ for k in kinds)
