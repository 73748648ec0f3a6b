"""JSON in and out: untrusted documents read strictly, results written atomically.

Reading (`load_document`) treats the file as hostile: it is size-limited, must be strict
UTF-8, may not repeat a key in an object, may not hold NaN/Infinity (nor numbers that
overflow to them) and must have an object at its root. Every rejection is one
`InputError` line naming the file and the problem.

Writing (`dumps`, `write_json_atomic`) is canonical: insertion order, indent 2, UTF-8 kept
as is, NaN refused; the file appears complete or not at all, and an existing file is
replaced only when the caller says so.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

from bench.errors import BenchError, InputError, OutputExistsError

MAX_DOCUMENT_BYTES = 10 * 1024 * 1024  # 10 MiB: a result document is a few hundred KiB at most


class _Reject(ValueError):
    """Raised inside the decoder hooks; turned into one InputError line."""


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise _Reject(f"duplicate key {key!r} in one object")
        obj[key] = value
    return obj


def _no_constants(name: str) -> Any:
    raise _Reject(f"{name} is not JSON (NaN and Infinity are rejected)")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise _Reject(f"number {text[:40]} overflows to Infinity")
    return value


def parse_document(data: bytes, name: str = "-") -> dict[str, Any]:
    """Parse untrusted bytes into a JSON object, or raise InputError naming `name`."""
    if len(data) > MAX_DOCUMENT_BYTES:
        raise InputError(f"{name}: file is larger than the {MAX_DOCUMENT_BYTES // 2**20} MiB limit")
    if data.startswith(b"\xef\xbb\xbf"):
        raise InputError(f"{name}: starts with a UTF-8 byte-order mark; save it without one")
    try:
        text = data.decode("utf-8", errors="strict")
    except UnicodeDecodeError as exc:
        raise InputError(f"{name}: not valid UTF-8 (byte offset {exc.start})") from None
    try:
        doc = json.loads(
            text,
            object_pairs_hook=_no_duplicate_keys,
            parse_constant=_no_constants,
            parse_float=_finite_float,
        )
    except _Reject as exc:
        raise InputError(f"{name}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{name}: not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    except RecursionError:
        raise InputError(f"{name}: nested too deeply to be a result document") from None
    if not isinstance(doc, dict):
        raise InputError(f"{name}: the top level is a JSON {_json_type(doc)}, expected an object")
    return doc


def load_document(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read an untrusted JSON document from `path` (see module docstring for the rules)."""
    p = Path(path)
    try:
        with p.open("rb") as f:
            data = f.read(MAX_DOCUMENT_BYTES + 1)
    except IsADirectoryError:
        raise InputError(f"{p}: is a directory, not a JSON file") from None
    except OSError as exc:
        raise InputError(f"{p}: cannot read: {exc.strerror or exc}") from None
    return parse_document(data, str(p))


def _json_type(value: Any) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if value is None:
        return "null"
    return "number"


def dumps(obj: Any) -> str:
    """Canonical text of a document: insertion order, indent 2, UTF-8 kept, no NaN."""
    try:
        return json.dumps(obj, indent=2, ensure_ascii=False, allow_nan=False)
    except ValueError as exc:  # NaN or Infinity somewhere in obj: a bug upstream, said plainly
        raise BenchError(f"cannot write JSON: {exc}") from None


def write_atomic(path: str | os.PathLike[str], data: bytes, *, overwrite: bool) -> Path:
    """Write `data` to `path` atomically (temporary file in the same directory, fsync,
    then rename), so a reader never sees half a file and a crash leaves the old one.

    With `overwrite=False` an existing file is never replaced, even one that appears while
    writing (the final step is a hard link, which fails if the name exists).
    """
    target = Path(path)
    if not overwrite and target.exists():
        raise OutputExistsError(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if overwrite:
            os.replace(tmp, target)
        else:
            _link_new(tmp, target, data)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def _link_new(tmp: Path, target: Path, data: bytes) -> None:
    """Give `tmp` the name `target` only if no file has it (a hard link fails on an existing
    name); where the file system has no hard links, an exclusive create does the same."""
    try:
        try:
            os.link(tmp, target)
        except FileExistsError:
            raise
        except OSError:
            with target.open("xb") as f:
                f.write(data)
    except FileExistsError:
        raise OutputExistsError(target) from None


def write_json_atomic(path: str | os.PathLike[str], obj: Any, *, overwrite: bool) -> Path:
    """Write `dumps(obj)` + newline to `path` atomically (see `write_atomic`)."""
    return write_atomic(path, (dumps(obj) + "\n").encode("utf-8"), overwrite=overwrite)


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    try:
        with Path(path).open("rb") as f:
            while block := f.read(1 << 20):
                digest.update(block)
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    return digest.hexdigest()
