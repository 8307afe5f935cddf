"""JSON files that are never half-written, and the error that names a file that cannot be used.

Below every stage: run files, baselines and the numerics references all go through here.
A file whose name ends in ``.xz`` (or ``.gz``) is written compressed; reading recognises xz and
gzip by their first bytes, so plain and compressed files read alike whatever their names.
"""

from __future__ import annotations

import gzip
import json
import lzma
import os
import tempfile
import zlib
from pathlib import Path
from typing import Any

# Names of the JSON files a folder of runs may hold: plain (baselines, and run files from
# before compression), xz-compressed (run files) and gzip-compressed (files a person or an
# older tool compressed).
JSON_PATTERNS = ("*.json", "*.json.xz", "*.json.gz")
# Every xz and gzip stream starts with these bytes; JSON text never does.
XZ_MAGIC, GZIP_MAGIC = b"\xfd7zXZ\x00", b"\x1f\x8b"


class RunFileError(Exception):
    """A run or baseline file that cannot be used; names the file and, if known, the key."""

    def __init__(self, path: Path | str, problem: str, key: str | None = None) -> None:
        where = f"{path}" + (f" (key {key})" if key else "")
        super().__init__(f"{where}: {problem}")
        self.path, self.key, self.problem = Path(path), key, problem


def write_json_atomic(path: Path, data: dict[str, Any]) -> Path:
    """Write `data` to `path` through a temp file and os.replace; NaN is refused.

    A `.xz` (or `.gz`) name gets compact JSON, compressed with no time stamp in the
    container, so the same data always gives the same bytes (a rerun of a night changes
    nothing).
    """
    if path.name.endswith((".xz", ".gz")):
        text = json.dumps(data, separators=(",", ":"), allow_nan=False)
        payload = compress(text.encode("utf-8") + b"\n", path.name)
    else:
        text = json.dumps(data, indent=1, allow_nan=False, sort_keys=False)
        payload = text.encode("utf-8") + b"\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; results are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def compress(payload: bytes, name: str) -> bytes:
    """`payload` xz-compressed (gzip for a `.gz` name), the same bytes for the same payload."""
    if name.endswith(".gz"):
        return gzip.compress(payload, compresslevel=9, mtime=0)
    return lzma.compress(payload, preset=6)


def read_json_bytes(path: Path) -> bytes:
    """The JSON text of a file, plain, xz- or gzip-compressed (OSError when it cannot be read)."""
    raw = path.read_bytes()
    try:
        if raw.startswith(XZ_MAGIC):
            return lzma.decompress(raw)
        if raw.startswith(GZIP_MAGIC):
            return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error, lzma.LZMAError) as error:
        raise RunFileError(
            path,
            f"compressed file cut off or damaged ({error}); an interrupted copy or a full "
            "disk? Restore it from version control, or record it again",
        ) from error
    return raw


def read_json(path: Path) -> Any:
    """A JSON file, plain or compressed, parsed (standard library only)."""
    return json.loads(read_json_bytes(path))


def json_files(folder: Path, recursive: bool = False) -> list[Path]:
    """The plain and compressed JSON files in `folder` (below it too when `recursive`), by
    path; [] when the folder does not exist."""
    if not folder.is_dir():
        return []
    find = folder.rglob if recursive else folder.glob
    return sorted(path for pattern in JSON_PATTERNS for path in find(pattern))


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
