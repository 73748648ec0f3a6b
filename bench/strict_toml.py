"""Strict TOML: the one loader for every TOML file the kit reads (profiles, studies, the
simulator's profiles).

A misspelt key must never silently drop a setting, so a table is read against the fields
of a frozen dataclass: an unknown key is an error naming the key, the table and the file;
every value's type is checked (a bool is not a number; an int is accepted for a float and
converted). Errors are `InputError`s of one line.
"""

from __future__ import annotations

import dataclasses
import tomllib
import types
import typing
from pathlib import Path
from typing import Any

from bench.errors import InputError

_NAMES = {"int": int, "float": float, "str": str, "bool": bool}


def load_toml(path: str | Path) -> dict[str, Any]:
    """Parse a TOML file; a missing, unreadable or invalid file is an InputError naming it."""
    path = Path(path)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None


def field_types(cls: type) -> dict[str, tuple[type, ...]]:
    """Each field of dataclass `cls` and the TOML value types it accepts (None dropped:
    TOML has no null, so an optional field is simply left out)."""
    hints = typing.get_type_hints(cls)
    out: dict[str, tuple[type, ...]] = {}
    for field in dataclasses.fields(cls):
        hint = hints[field.name]
        args = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
        kinds = tuple(a for a in args if a is not type(None))
        out[field.name] = kinds
    return out


def reject_unknown(table: dict[str, Any], allowed: Any, where: str, label: str = "") -> None:
    """An InputError naming the first key of `table` not in `allowed`."""
    for key in table:
        if key not in allowed:
            place = f" in {label}" if label else ""
            raise InputError(f"{where}: unknown key {key!r}{place}")


def check_types(
    table: dict[str, Any], spec: dict[str, tuple[type, ...]], where: str, label: str
) -> dict[str, Any]:
    """`table` with every key known and every value of an accepted type; ints given for
    float-only keys become floats. Returns a new dict."""
    reject_unknown(table, spec, where, label)
    out = {}
    for key, value in table.items():
        kinds = spec[key]
        is_bool_for_other = isinstance(value, bool) and bool not in kinds
        int_for_float = float in kinds and isinstance(value, int) and not isinstance(value, bool)
        if is_bool_for_other or not (isinstance(value, kinds) or int_for_float):
            names = " or ".join(k.__name__ for k in kinds)
            raise InputError(f"{where}: {label} {key} must be {names}, not {type(value).__name__}")
        out[key] = float(value) if int_for_float and int not in kinds else value
    return out


def table(data: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    """The table `[key]` (empty when absent); anything else is an InputError."""
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise InputError(f"{where}: [{key}] must be a table")
    return dict(value)


def array_of_tables(data: dict[str, Any], key: str, where: str) -> list[dict[str, Any]]:
    """The array `[[key]]` (empty when absent); each element must be a table."""
    value = data.get(key, [])
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        raise InputError(f"{where}: {key} must be an array of tables ([[{key}]])")
    for i, entry in enumerate(value):
        if not isinstance(entry, dict):
            raise InputError(f"{where}: [[{key}]] #{i + 1} must be a table")
    return [dict(entry) for entry in value]
