"""Records: one JSON line per finished request, flushed at once, read back strictly."""

from __future__ import annotations

import hashlib
import json

import pytest

from bench.errors import InputError, OutputExistsError
from bench.records import Record, RecordWriter, read_records


def make(index: int = 0, **kw) -> Record:
    base = dict(
        index=index,
        rid=f"r{index}",
        warmup=False,
        send_ns=1_000,
        done_ns=9_000,
        chunk_ns=(2_000, 3_000),
        chunk_tokens=(1, 1),
        chunk_tokens_source="tokenizer",
    )
    base.update(kw)
    return Record(**base)


def test_a_record_survives_the_round_trip(tmp_path):
    path = tmp_path / "r.jsonl"
    written = [
        make(0),
        make(1, error_kind="timeout", error="no answer", chunk_ns=(), chunk_tokens=()),
    ]
    with RecordWriter(path) as writer:
        for r in written:
            writer.write(r)
    assert read_records(path) == written


def test_each_record_is_on_disk_as_soon_as_it_is_written(tmp_path):
    path = tmp_path / "r.jsonl"
    writer = RecordWriter(path)
    writer.write(make(0))
    # not closed: a crash now must not lose the record
    assert len(path.read_text().splitlines()) == 1
    writer.close()


def test_the_writer_hashes_exactly_the_bytes_it_wrote(tmp_path):
    path = tmp_path / "r.jsonl"
    with RecordWriter(path) as writer:
        writer.write(make(0))
        writer.write(make(1))
    assert writer.count == 2
    assert writer.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_writer_never_overwrites_an_existing_file(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text("precious\n")
    with pytest.raises(OutputExistsError, match="already exists"):
        RecordWriter(path)
    assert path.read_text() == "precious\n"


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("{not json", "not a valid record"),
        ('{"index": 0}', "missing"),
        (json.dumps({**make().to_json(), "colour": 1}), "unknown key 'colour'"),
        (json.dumps({**make().to_json(), "send_ns": 1.5}), "send_ns must be an integer"),
        (json.dumps({**make().to_json(), "chunk_tokens": [1]}), "differ in length"),
        ("[1, 2]", "must be a JSON object"),
    ],
)
def test_a_malformed_line_is_named_with_its_line_number(tmp_path, line, problem):
    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps(make().to_json()) + "\n" + line + "\n")
    with pytest.raises(InputError, match=problem) as info:
        read_records(path)
    assert ":2:" in str(info.value)


def test_a_missing_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        read_records(tmp_path / "nope.jsonl")
