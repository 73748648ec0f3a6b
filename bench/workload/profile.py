"""Workload profiles: strict TOML files naming what `bench run` sends.

A profile is data, read with the standard library's `tomllib` and checked strictly: an
unknown key (a misspelt setting) is an error naming the key and the file, never silently
ignored, and every value has its type checked. `load_profile("seed")` reads
`profiles/seed.toml` of the kit; a path reads that file.

    [profile]      name, description, source
    [server]       what the server is expected to run with (recorded, not enforced)
    [[throughput]] one entry per throughput run (driver "kit" or "sglang")
    [[latency]]    one entry per latency run (the kit's OpenAI-SDK probe)
    [[sanity]]     at most one: seeded questions with exact answers, asked after the runs
                   (bench.workload.sanity); below its min_accuracy the result is invalid

`as_dict()` gives the resolved profile (defaults filled in) for the result document's
`provenance.profile`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import strict_toml
from bench.errors import InputError, UsageError
from bench.workload.sanity import SanitySpec
from bench.workload.spec import LatencyWorkload, ThroughputWorkload, parse_rate

# The package's copies of the top-level profiles/ (tools/sync_package_data.py writes them), so
# an installed kit finds them too.
PROFILES_DIR = Path(__file__).resolve().parent.parent / "profiles"

DRIVERS = ("kit", "sglang")
# Keys an older kit spelled differently: the error for them says the new spelling.
RENAMED = {"input_tokens": "input_len", "output_tokens": "output_len"}


@dataclass(frozen=True)
class ServerExpectation:
    """How the profile expects the server to be launched; copied into `server.args`."""

    model: str | None = None
    tp_size: int | None = None
    mem_fraction_static: float | None = None
    attention_backend: str | None = None
    device: str | None = None


@dataclass(frozen=True)
class ThroughputRun:
    """One throughput run: its workload, and the driver that measures it."""

    name: str
    workload: ThroughputWorkload = field(default_factory=ThroughputWorkload)
    driver: str = "kit"
    as_written: bool = False  # driver "sglang": the article's command exactly as written
    notes: str | None = None
    workers: int = 1  # driver "kit": client processes (a client setting; the server sees no change)

    def to_dict(self) -> dict[str, Any]:
        """Flat, as the profile spells it: the run's own keys, then the workload's.
        `workers` only when not 1, so a run without it (and a study cell's identity) reads
        as it did before the key existed."""
        own = {"name": self.name, "driver": self.driver, "as_written": self.as_written}
        if self.workers != 1:
            own["workers"] = self.workers
        return {**own, **self.workload.to_dict(), "notes": self.notes}


@dataclass(frozen=True)
class LatencyRun:
    """One latency run: its workload, measured by the kit's OpenAI-SDK probe."""

    name: str
    workload: LatencyWorkload = field(default_factory=LatencyWorkload)
    notes: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, **self.workload.to_dict(), "notes": self.notes}


@dataclass(frozen=True)
class SanityRun:
    """The sanity check of a profile: its questions, asked after every measured run."""

    name: str = "sanity"
    check: SanitySpec = field(default_factory=SanitySpec)
    notes: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, **self.check.to_dict(), "notes": self.notes}


@dataclass(frozen=True)
class Profile:
    name: str
    description: str = ""
    source: str | None = None
    path: str | None = None
    server: ServerExpectation = field(default_factory=ServerExpectation)
    throughput: tuple[ThroughputRun, ...] = ()
    latency: tuple[LatencyRun, ...] = ()
    sanity: SanityRun | None = None

    def as_dict(self) -> dict[str, Any]:
        """The resolved profile as plain JSON-ready data (defaults filled in)."""
        return {
            "name": self.name,
            "description": self.description,
            "source": self.source,
            "path": self.path,
            "server": dataclasses.asdict(self.server),
            "throughput": [run.to_dict() for run in self.throughput],
            "latency": [run.to_dict() for run in self.latency],
            "sanity": self.sanity.to_dict() if self.sanity else None,
        }


_PROFILE_KEYS: dict[str, tuple[type, ...]] = {
    "name": (str,),
    "description": (str,),
    "source": (str,),
}
_RUN_KEYS: dict[str, tuple[type, ...]] = {"name": (str,), "notes": (str,)}
_THROUGHPUT_OWN_KEYS = {**_RUN_KEYS, "driver": (str,), "as_written": (bool,), "workers": (int,)}
_TOP_KEYS = ("profile", "server", "throughput", "latency", "sanity")


def resolve_profile_path(name_or_path: str | Path) -> Path:
    """A bare name (`seed`) is looked up in the kit's profiles/; anything else is a path."""
    text = str(name_or_path)
    if "/" not in text and not text.endswith(".toml"):
        path = PROFILES_DIR / f"{text}.toml"
        if not path.is_file():
            known = ", ".join(sorted(p.stem for p in PROFILES_DIR.glob("*.toml")))
            raise InputError(f"no profile named {text!r} (known: {known})")
        return path
    path = Path(text)
    if not path.is_file():
        raise InputError(f"profile file not found: {path}")
    return path


def load_profile(name_or_path: str | Path) -> Profile:
    """Read and check a profile; every problem is an InputError naming the file."""
    path = resolve_profile_path(name_or_path)
    return parse_profile(strict_toml.load_toml(path), str(path))


def parse_profile(data: dict[str, Any], where: str = "<profile>") -> Profile:
    """Build a Profile from parsed TOML, rejecting unknown keys and wrong types."""
    strict_toml.reject_unknown(data, _TOP_KEYS, where)
    head = strict_toml.check_types(
        strict_toml.table(data, "profile", where), _PROFILE_KEYS, where, "[profile]"
    )
    if "name" not in head:
        raise InputError(f"{where}: [profile] needs a name")
    server = strict_toml.check_types(
        strict_toml.table(data, "server", where),
        strict_toml.field_types(ServerExpectation),
        where,
        "[server]",
    )
    throughput = tuple(
        throughput_run(entry, where, f"[[throughput]] #{i + 1}", f"throughput-{i + 1}")
        for i, entry in enumerate(strict_toml.array_of_tables(data, "throughput", where))
    )
    latency = tuple(
        latency_run(entry, where, f"[[latency]] #{i + 1}", f"latency-{i + 1}")
        for i, entry in enumerate(strict_toml.array_of_tables(data, "latency", where))
    )
    if not throughput and not latency:
        raise InputError(f"{where}: the profile has no [[throughput]] and no [[latency]] run")
    sanity = sanity_run(strict_toml.array_of_tables(data, "sanity", where), where)
    names = [run.name for run in (*throughput, *latency, *([sanity] if sanity else []))]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise InputError(f"{where}: run names must be unique, repeated: {', '.join(duplicates)}")
    return Profile(
        name=head["name"],
        description=head.get("description", ""),
        source=head.get("source"),
        path=where,
        server=ServerExpectation(**server),
        throughput=throughput,
        latency=latency,
        sanity=sanity,
    )


def throughput_run(
    entry: dict[str, Any], where: str, label: str, default_name: str
) -> ThroughputRun:
    """A `[[throughput]]` table (a study's `[[workload]]` too) as a checked ThroughputRun."""
    spec = {**_THROUGHPUT_OWN_KEYS, **_workload_keys(ThroughputWorkload)}
    values = dict(entry)
    if "request_rate" in values:
        values["request_rate"] = _converted(parse_rate, values["request_rate"], where, label)
    values = _checked(values, spec, where, label)
    own = {k: values.pop(k) for k in list(values) if k in _THROUGHPUT_OWN_KEYS}
    own.setdefault("name", default_name)
    workload = _converted(lambda v: ThroughputWorkload(**v), values, where, label)
    run = ThroughputRun(workload=workload, **own)
    if run.driver not in DRIVERS:
        raise InputError(f"{where}: {label} driver must be one of {', '.join(DRIVERS)}")
    if run.as_written and run.driver != "sglang":
        raise InputError(f'{where}: {label} as_written needs driver = "sglang"')
    if run.workers < 1:
        raise InputError(f"{where}: {label} workers must be >= 1, got {run.workers}")
    if run.workers > 1 and run.driver != "kit":
        raise InputError(f'{where}: {label} workers needs driver = "kit"')
    return run


def latency_run(entry: dict[str, Any], where: str, label: str, default_name: str) -> LatencyRun:
    """A `[[latency]]` table as a checked LatencyRun."""
    values = _checked(dict(entry), {**_RUN_KEYS, **_workload_keys(LatencyWorkload)}, where, label)
    own = {k: values.pop(k) for k in list(values) if k in _RUN_KEYS}
    own.setdefault("name", default_name)
    workload = _converted(lambda v: LatencyWorkload(**v), values, where, label)
    return LatencyRun(workload=workload, **own)


def sanity_run(entries: list[dict[str, Any]], where: str) -> SanityRun | None:
    """The profile's `[[sanity]]` entry (at most one) as a checked SanityRun, or None."""
    if not entries:
        return None
    if len(entries) > 1:
        raise InputError(f"{where}: at most one [[sanity]] entry, found {len(entries)}")
    label = "[[sanity]]"
    values = _checked(dict(entries[0]), {**_RUN_KEYS, **_workload_keys(SanitySpec)}, where, label)
    own = {k: values.pop(k) for k in list(values) if k in _RUN_KEYS}
    check = _converted(lambda v: SanitySpec(**v), values, where, label)
    return SanityRun(check=check, **own)


def _workload_keys(cls: type) -> dict[str, tuple[type, ...]]:
    keys = strict_toml.field_types(cls)
    if "request_rate" in keys:
        keys["request_rate"] = (float,)  # "inf" is converted before the check
    return keys


def _checked(
    values: dict[str, Any], spec: dict[str, tuple[type, ...]], where: str, label: str
) -> dict[str, Any]:
    for key in values:
        if key not in spec and key in RENAMED:
            raise InputError(f"{where}: unknown key {key!r} in {label} (now {RENAMED[key]!r})")
    return strict_toml.check_types(values, spec, where, label)


def _converted(convert: Any, value: Any, where: str, label: str) -> Any:
    """`convert(value)`, its UsageError turned into an InputError naming the place."""
    try:
        return convert(value)
    except UsageError as exc:
        raise InputError(f"{where}: {label} {exc}") from None
