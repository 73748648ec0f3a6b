"""Untrusted JSON is read strictly; results are written canonically and atomically."""

from __future__ import annotations

import hashlib
import json

import pytest

from bench.errors import BenchError, InputError
from bench.jsonio import (
    MAX_DOCUMENT_BYTES,
    dumps,
    load_document,
    sha256_file,
    write_json_atomic,
)


def write(tmp_path, data: bytes):
    path = tmp_path / "doc.json"
    path.write_bytes(data)
    return path


def rejection(tmp_path, data: bytes) -> str:
    with pytest.raises(InputError) as info:
        load_document(write(tmp_path, data))
    message = str(info.value)
    assert "\n" not in message and message.startswith(str(tmp_path / "doc.json") + ": ")
    return message.split(": ", 1)[1]


def test_an_object_loads_in_order(tmp_path):
    doc = load_document(write(tmp_path, '{"b": 1, "a": [1.5, "模型"]}'.encode()))
    assert list(doc) == ["b", "a"] and doc["a"] == [1.5, "模型"]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b'{"a": 1, "a": 2}', "duplicate key 'a' in one object"),
        (b'{"x": {"a": 1, "a": 1}}', "duplicate key 'a' in one object"),
        (b'{"a": NaN}', "NaN is not JSON (NaN and Infinity are rejected)"),
        (b'{"a": -Infinity}', "-Infinity is not JSON (NaN and Infinity are rejected)"),
        (b'{"a": 1e999}', "number 1e999 overflows to Infinity"),
        (b"[1, 2]", "the top level is a JSON array, expected an object"),
        (b'"text"', "the top level is a JSON string, expected an object"),
        (b"null", "the top level is a JSON null, expected an object"),
        (b'{"a": "\xff"}', "not valid UTF-8 (byte offset 7)"),
        (b'\xef\xbb\xbf{"a": 1}', "starts with a UTF-8 byte-order mark; save it without one"),
        (b'{"a": [1, 2', "not valid JSON: Expecting ',' delimiter (line 1, column 12)"),
        (b"", "not valid JSON: Expecting value (line 1, column 1)"),
        (b"[" * 100_000, "nested too deeply to be a result document"),
    ],
)
def test_bad_input_is_one_line_naming_the_problem(tmp_path, data, reason):
    assert rejection(tmp_path, data) == reason


def test_a_file_over_the_limit_is_rejected_without_reading_it_all(tmp_path):
    data = b'{"a": "' + b"x" * MAX_DOCUMENT_BYTES + b'"}'
    assert rejection(tmp_path, data) == "file is larger than the 10 MiB limit"


def test_a_missing_file_or_a_directory_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="cannot read: No such file"):
        load_document(tmp_path / "absent.json")
    with pytest.raises(InputError, match="is a directory"):
        load_document(tmp_path)


def test_dumps_is_canonical_and_refuses_nan():
    assert dumps({"b": 1, "a": "模型"}) == '{\n  "b": 1,\n  "a": "模型"\n}'
    with pytest.raises(BenchError, match="cannot write JSON"):
        dumps({"a": float("nan")})


def test_write_json_atomic_writes_and_never_overwrites_unless_asked(tmp_path):
    path = tmp_path / "sub" / "result.json"
    write_json_atomic(path, {"a": 1}, overwrite=False)
    assert path.read_text(encoding="utf-8") == '{\n  "a": 1\n}\n'
    with pytest.raises(BenchError, match="already exists"):
        write_json_atomic(path, {"a": 2}, overwrite=False)
    assert json.loads(path.read_text())["a"] == 1
    write_json_atomic(path, {"a": 3}, overwrite=True)
    assert json.loads(path.read_text())["a"] == 3
    assert sorted(p.name for p in path.parent.iterdir()) == ["result.json"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "result.json"
    path.write_text("old")
    with pytest.raises(BenchError):
        write_json_atomic(path, {"a": float("inf")}, overwrite=True)
    assert path.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["result.json"]


def test_sha256_file(tmp_path):
    path = write(tmp_path, b"abc")
    assert sha256_file(path) == hashlib.sha256(b"abc").hexdigest()
    with pytest.raises(InputError):
        sha256_file(tmp_path / "absent")
