"""What a check returns, and the small helpers every check shares.

A check is a pure function `check(doc) -> list[Issue]`. `validate_document` turns each
Issue into a `Finding`, choosing the level: schema and structure problems are always
errors; consistency problems are errors for `measured` and `simulated` documents and
warnings for `reported` ones (a publication's numbers are kept, flagged).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

Level = Literal["error", "warning"]


@dataclass(frozen=True)
class Finding:
    """One problem in one document: where (RFC 6901 JSON pointer) and what, in one line."""

    file: str
    level: Level
    pointer: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {
            "file": self.file,
            "level": self.level,
            "pointer": self.pointer,
            "message": self.message,
        }


@dataclass(frozen=True)
class Issue:
    """A check's raw result, before the document's kind decides its level."""

    pointer: str
    message: str


def pointer(*parts: str | int) -> str:
    """RFC 6901 pointer from path parts: `~` -> `~0`, `/` -> `~1`; no parts -> ''."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def resolve(doc: Any, ptr: str) -> tuple[bool, Any]:
    """(found, value) of an RFC 6901 pointer in doc."""
    if ptr == "":
        return True, doc
    if not ptr.startswith("/"):
        return False, None
    node = doc
    for raw in ptr[1:].split("/"):
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return False, None
    return True, node


def num(obj: Any, key: str) -> float | None:
    """obj[key] when it is a finite number (not a bool), else None: checks never crash on junk."""
    if not isinstance(obj, dict):
        return None
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def sub(obj: Any, key: str) -> dict[str, Any]:
    """obj[key] when it is an object, else {}."""
    value = obj.get(key) if isinstance(obj, dict) else None
    return value if isinstance(value, dict) else {}


def items(obj: Any, key: str) -> list[Any]:
    """obj[key] when it is an array, else []."""
    value = obj.get(key) if isinstance(obj, dict) else None
    return value if isinstance(value, list) else []


def close(actual: float, expected: float, rel: float, abs_tol: float = 0.0) -> bool:
    """|actual - expected| <= rel x |expected| + abs_tol."""
    return abs(actual - expected) <= rel * abs(expected) + abs_tol


def fmt(x: float) -> str:
    """A number for a message: up to 6 significant digits, no trailing zeros."""
    return f"{x:.6g}"


def pct(actual: float, expected: float) -> str:
    if expected == 0:
        return "n/a"
    return f"{100 * (actual - expected) / abs(expected):+.1f}%"


def runs(doc: Any) -> Iterator[tuple[tuple[str | int, ...], dict[str, Any]]]:
    """(path parts, run) for every throughput and latency run; `pointer(*parts)` names it."""
    measurements = sub(doc, "measurements")
    for group in ("throughput", "latency"):
        for i, run in enumerate(items(measurements, group)):
            if isinstance(run, dict):
                yield ("measurements", group, i), run
