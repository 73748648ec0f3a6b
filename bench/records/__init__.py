"""Per-request records: the raw facts of every request, one JSON line each.

A record holds only what was observed (integer nanoseconds from `time.perf_counter_ns`,
counts, status); every metric is computed from records by `bench.metrics`. Records are
appended and flushed as each request finishes, so a crash or Ctrl-C loses nothing that
was already measured. The writer hashes what it writes, so the run object can carry the
file's sha256 without reading it back.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TypeVar

from bench.errors import InputError, OutputExistsError

RECORDS_FORMAT = "bench-records-v1"

# Where a token count came from (the schema's token_counts sources, per request).
COUNT_SOURCES = ("server_usage", "tokenizer", "requested", "unknown")
T = TypeVar("T")


@dataclass(frozen=True)
class Record:
    """One request as the client saw it.

    Times are `time.perf_counter_ns()` values of the client process (CLOCK_MONOTONIC on
    Linux, comparable with the simulator's ground truth on the same host).
    `submit_ns` is when the client began the request (before the HTTP library call);
    `send_ns` is when the request's last byte was written to the socket (the HTTP library's
    request-sent hook; `submit_ns` when there was none). TTFT and E2E start at `send_ns`,
    so the client's own request building is not charged to the server.
    `chunk_ns[i]` is when the i-th chunk carrying generated content arrived and
    `chunk_tokens[i]` how many tokens it carried (`chunk_tokens_source` says how that was
    counted). `error_kind` is None for a completed request.

    `cached_tokens_server` is how many prompt tokens the server says it took from its
    prefix cache (`usage.prompt_tokens_details.cached_tokens`, or llama.cpp's
    `timings.cache_n`); None when it said nothing. `group` is the request's shared-prefix
    group or conversation, `turn` its turn within the conversation (None outside those
    workloads). These three came after the format's first release: records without them
    still read, as None.
    """

    index: int
    rid: str
    warmup: bool
    send_ns: int
    done_ns: int
    scheduled_ns: int | None = None
    submit_ns: int | None = None
    chunk_ns: tuple[int, ...] = ()
    chunk_tokens: tuple[int, ...] = ()
    chunk_tokens_source: str = "unknown"
    response_id: str | None = None
    http_status: int | None = None
    finish_reason: str | None = None
    prompt_tokens_server: int | None = None
    completion_tokens_server: int | None = None
    prompt_tokens_client: int | None = None
    completion_tokens_client: int | None = None
    requested_output_tokens: int | None = None
    error_kind: str | None = None
    error: str | None = None
    cached_tokens_server: int | None = None
    group: int | None = None
    turn: int | None = None

    @property
    def ok(self) -> bool:
        return self.error_kind is None

    def to_json(self) -> dict[str, Any]:
        out = {name: getattr(self, name) for name in _FIELD_NAMES}
        out["chunk_ns"] = list(self.chunk_ns)
        out["chunk_tokens"] = list(self.chunk_tokens)
        return out

    @classmethod
    def from_json(cls, obj: Any) -> Record:
        """Build a record from a parsed JSON line; unknown or missing keys are errors."""
        if not isinstance(obj, dict):
            raise ValueError("a record must be a JSON object")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(obj) - names)
        if unknown:
            raise ValueError(f"unknown key {unknown[0]!r}")
        data = dict(obj)
        for key in ("chunk_ns", "chunk_tokens"):
            if key in data:
                value = data[key]
                if not isinstance(value, list) or not all(
                    isinstance(v, int) and not isinstance(v, bool) for v in value
                ):
                    raise ValueError(f"{key} must be a list of integers")
                data[key] = tuple(value)
        try:
            record = cls(**data)
        except TypeError as exc:  # a required key is missing
            raise ValueError(str(exc).replace("__init__() ", "")) from None
        _check_types(record)
        return record


_FIELD_NAMES = tuple(f.name for f in dataclasses.fields(Record))


def _check_types(record: Record) -> None:
    for field in dataclasses.fields(record):
        value = getattr(record, field.name)
        kind = str(field.type)
        if value is None and "None" in kind:
            continue
        if kind.startswith("int") and (not isinstance(value, int) or isinstance(value, bool)):
            raise ValueError(f"{field.name} must be an integer")
        if kind.startswith("str") and not isinstance(value, str):
            raise ValueError(f"{field.name} must be a string")
        if kind.startswith("bool") and not isinstance(value, bool):
            raise ValueError(f"{field.name} must be true or false")
    if len(record.chunk_ns) != len(record.chunk_tokens):
        raise ValueError("chunk_ns and chunk_tokens differ in length")
    if record.chunk_tokens_source not in COUNT_SOURCES:
        raise ValueError(f"chunk_tokens_source {record.chunk_tokens_source!r} is not known")


class RecordWriter:
    """Appends one JSON line per finished request and flushes it at once.

    The file is created new (never overwritten unless `overwrite=True`). `sha256` and
    `count` describe exactly the bytes written so far.
    """

    def __init__(self, path: str | Path, *, overwrite: bool = False) -> None:
        self.path = Path(path)
        self.count = 0
        self._hash = hashlib.sha256()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file: IO[bytes] | None = open(self.path, "wb" if overwrite else "xb")  # noqa: SIM115
        except FileExistsError:
            raise OutputExistsError(self.path, "name another --records file") from None
        except OSError as exc:
            raise InputError(f"cannot create records file {self.path}: {exc.strerror}") from None

    def write(self, record: Record) -> None:
        if self._file is None:
            raise ValueError("RecordWriter is closed")
        line = (json.dumps(record.to_json(), ensure_ascii=False, allow_nan=False) + "\n").encode()
        self._file.write(line)
        self._file.flush()
        self._hash.update(line)
        self.count += 1

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> RecordWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def named_file(path: Any, document_dir: Path) -> Path | None:
    """A file a result document names (records, a timeline): absolute as given, or relative
    to the document's directory; None when the name is not a non-empty string."""
    if not isinstance(path, str) or not path:
        return None
    return Path(path) if Path(path).is_absolute() else document_dir / path


def read_records(path: str | Path) -> list[Record]:
    """Read a records file; a malformed line is an InputError naming the file and line."""
    return read_json_lines(path, Record.from_json)


def read_json_lines(path: str | Path, parse: Callable[[Any], T], what: str = "record") -> list[T]:
    """`parse` of every non-empty line of a JSON Lines file (it raises ValueError for a bad
    one); an unreadable file or a bad line is an InputError naming the file and line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"records file {path} does not exist") from None
    except UnicodeDecodeError:
        raise InputError(f"records file {path} is not UTF-8") from None
    except OSError as exc:
        raise InputError(f"cannot read records file {path}: {exc.strerror}") from None
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(parse(json.loads(line)))
        except (ValueError, RecursionError) as exc:
            raise InputError(f"{path}:{number}: not a valid {what}: {exc}") from None
    return records
