"""The study file: strict TOML naming server configurations x workloads x load levels.

    [study]        name, description, repeats (runs per cell), cv_max (instability flag)
    [server]       the launcher ("command" | "compose" | "external") and how to reach it
    [grid]         server configurations: the Cartesian product of these lists
    [[workload]]   the keys of a profile's [[throughput]] entry (name required)
    [load]         max_concurrency = [...] or request_rate = [...], and how many prompts
    [search]       optional: the most load under an SLO per configuration and workload
                   (`bench.slo.spec`); with it, [load] may list no levels

Every table is read strictly (`bench.strict_toml`): an unknown key is an error naming the
key, the table and the file. `Study.as_dict()` is the study as resolved (every default
filled in): it is stored in the study document, and a resume compares it key by key.
"""

from __future__ import annotations

import dataclasses
import math
import re
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import strict_toml
from bench.errors import InputError, UsageError
from bench.workload.profile import ThroughputRun, throughput_run
from bench.workload.spec import parse_rate

LAUNCHERS = ("command", "compose", "external")
PLACEHOLDERS = ("port", "npus")  # besides the [grid] keys
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")
_GRID_KEY = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_TOP_KEYS = ("study", "server", "grid", "workload", "load", "search")


@dataclass(frozen=True)
class StudyHead:
    name: str
    description: str = ""
    repeats: int = 3  # runs per cell
    cv_max: float = 0.05  # a cell whose output throughput varies more is `unstable`


@dataclass(frozen=True)
class ServerSection:
    """How each configuration's server is started, reached and stopped."""

    launcher: str = "command"
    command: str | None = None  # command: the template ({port}, {npus}, every [grid] key)
    base_url: str | None = None  # external: the server; command: http://127.0.0.1:{port}
    port: int = 0  # 0: a free port for each configuration (command); compose: 30000
    health_path: str = "/health"
    start_timeout_s: float = 600.0  # bounded wait for health after each start
    stop_timeout_s: float = 30.0  # SIGTERM, then SIGKILL after this grace period
    port_free_timeout_s: float = 60.0  # bounded wait for the port after a stop
    flush: str = "auto"  # "auto": /flush_cache then /reset_prefix_cache; "none"; or a path
    model: str | None = None  # served model name (compose: the hub id it serves)
    tokenizer: str | None = None
    model_dir: str | None = None
    server_log: str | None = None  # external: the server's log, for memory figures
    npus: tuple[int, ...] = tuple(range(8))  # NPUs the study may use ({npus}, compose devices)
    hbm_settle_timeout_s: float = 300.0  # npu-smi hosts: wait for HBM to return to baseline
    hbm_tolerance_mib: int = 1024
    compose_file: str = "compose.yaml"
    models_dir: str = "models"
    image: str | None = None  # compose: the server image (default: compose.yaml's)
    extra_args: str = ""  # compose: SGLang flags added to every configuration

    def as_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["npus"] = list(self.npus)
        return out


@dataclass(frozen=True)
class LoadSection:
    """The load levels of every cell: one swept list, and how many prompts each sends."""

    max_concurrency: tuple[int, ...] = ()
    request_rate: tuple[float, ...] = ()
    num_prompts: int | None = None
    prompts_per_concurrency: int | None = None
    min_prompts: int = 16  # with prompts_per_concurrency: the fewest a level sends

    @property
    def kind(self) -> str:
        return "max_concurrency" if self.max_concurrency else "request_rate"

    @property
    def levels(self) -> tuple[float, ...]:
        return self.max_concurrency or self.request_rate

    def prompts_at(self, level: float) -> int | None:
        """Prompts one level sends; None leaves the workload's own num_prompts."""
        if self.prompts_per_concurrency is not None:
            return max(self.min_prompts, self.prompts_per_concurrency * int(level))
        return self.num_prompts

    def as_dict(self) -> dict[str, Any]:
        rates = ["inf" if math.isinf(r) else r for r in self.request_rate]
        return {
            "max_concurrency": list(self.max_concurrency),
            "request_rate": rates,
            "num_prompts": self.num_prompts,
            "prompts_per_concurrency": self.prompts_per_concurrency,
            "min_prompts": self.min_prompts,
        }


@dataclass(frozen=True)
class Study:
    head: StudyHead
    server: ServerSection
    grid: tuple[tuple[str, tuple[Any, ...]], ...]  # ordered as written
    workloads: tuple[ThroughputRun, ...]
    load: LoadSection
    path: str = "<study>"
    extra: dict[str, Any] = field(default_factory=dict)  # tables a later kit adds
    search: Any = None  # a bench.slo.spec.SearchSpec, or None

    @property
    def name(self) -> str:
        return self.head.name

    def as_dict(self) -> dict[str, Any]:
        """The study as resolved: what a resume must find unchanged."""
        return {
            "study": dataclasses.asdict(self.head),
            "server": self.server.as_dict(),
            "grid": {key: list(values) for key, values in self.grid},
            "workload": [run.to_dict() for run in self.workloads],
            "load": self.load.as_dict(),
            **({"search": self.search.as_dict()} if self.search is not None else {}),
            **self.extra,
        }


_SERVER_TYPES: dict[str, tuple[type, ...]] = {
    **{k: v for k, v in strict_toml.field_types(ServerSection).items() if k != "npus"},
    "npus": (list,),
}
_LOAD_TYPES: dict[str, tuple[type, ...]] = {
    "max_concurrency": (list,),
    "request_rate": (list,),
    "num_prompts": (int,),
    "prompts_per_concurrency": (int,),
    "min_prompts": (int,),
}


def load_study(path: str | Path) -> Study:
    """Read and check a study file; every problem is an InputError naming the file."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"study file not found: {path}")
    return parse_study(strict_toml.load_toml(path), str(path))


def parse_study(data: dict[str, Any], where: str = "<study>") -> Study:
    strict_toml.reject_unknown(data, _TOP_KEYS, where)
    head = _head(strict_toml.table(data, "study", where), where)
    server = _server(strict_toml.table(data, "server", where), where)
    grid = _grid(strict_toml.table(data, "grid", where), where)
    search = None
    if "search" in data:
        from bench.study.search_spec import parse_study_search

        search = parse_study_search(strict_toml.table(data, "search", where), where)
    load = _load(strict_toml.table(data, "load", where), where, search is not None)
    workloads = _workloads(strict_toml.array_of_tables(data, "workload", where), load, where)
    study = Study(head, server, grid, workloads, load, where, search=search)
    _check_launcher(study, where)
    if search is not None:
        from bench.study.search_spec import check_search

        check_search(study, where)
    return study


def _head(table: dict[str, Any], where: str) -> StudyHead:
    values = strict_toml.check_types(table, strict_toml.field_types(StudyHead), where, "[study]")
    if "name" not in values:
        raise InputError(f"{where}: [study] needs a name")
    if not _NAME.match(values["name"]):
        raise InputError(f"{where}: [study] name must be letters, digits, '.', '_' or '-'")
    head = StudyHead(**values)
    if head.repeats < 1:
        raise InputError(f"{where}: [study] repeats must be >= 1, got {head.repeats}")
    if not head.cv_max > 0:
        raise InputError(f"{where}: [study] cv_max must be > 0, got {head.cv_max}")
    return head


def _server(table: dict[str, Any], where: str) -> ServerSection:
    values = strict_toml.check_types(table, _SERVER_TYPES, where, "[server]")
    if "npus" in values:
        npus = values["npus"]
        if not npus or not all(_is_int(n) and n >= 0 for n in npus) or len(set(npus)) < len(npus):
            raise InputError(f"{where}: [server] npus must be distinct NPU ids (integers >= 0)")
        values["npus"] = tuple(npus)
    server = ServerSection(**values)
    if server.launcher not in LAUNCHERS:
        raise InputError(f"{where}: [server] launcher must be one of {', '.join(LAUNCHERS)}")
    if server.launcher == "compose" and "port" not in values:
        server = dataclasses.replace(server, port=30000)
    if not 0 <= server.port <= 65535:
        raise InputError(f"{where}: [server] port must be in 0..65535, got {server.port}")
    for key in ("start_timeout_s", "stop_timeout_s", "port_free_timeout_s"):
        if not getattr(server, key) > 0:
            raise InputError(f"{where}: [server] {key} must be > 0")
    if not server.health_path.startswith("/"):
        raise InputError(f"{where}: [server] health_path must start with '/'")
    if server.flush not in ("auto", "none") and not server.flush.startswith("/"):
        raise InputError(
            f'{where}: [server] flush must be "auto", "none" or a path like /flush_cache'
        )
    return server


def _grid(table: dict[str, Any], where: str) -> tuple[tuple[str, tuple[Any, ...]], ...]:
    out = []
    for key, values in table.items():
        if not _GRID_KEY.match(key) or key in PLACEHOLDERS:
            raise InputError(
                f"{where}: [grid] key {key!r} must be lower_case (a launch flag's name) and "
                f"not one of {', '.join(PLACEHOLDERS)}"
            )
        if not isinstance(values, list) or not values:
            raise InputError(f"{where}: [grid] {key} must be a non-empty list of values")
        for value in values:
            if not isinstance(value, int | float | str | bool):
                raise InputError(f"{where}: [grid] {key} values must be numbers, strings or bools")
        if len({(type(v), v) for v in values}) < len(values):
            raise InputError(f"{where}: [grid] {key} lists a value twice")
        out.append((key, tuple(values)))
    return tuple(out)


def _load(table: dict[str, Any], where: str, searched: bool = False) -> LoadSection:
    values = strict_toml.check_types(table, _LOAD_TYPES, where, "[load]")
    swept = [k for k in ("max_concurrency", "request_rate") if k in values]
    if searched and not swept:  # a search alone: [load] says only how many prompts
        return _prompts_only(values, where)
    if len(swept) != 1:
        raise InputError(
            f"{where}: [load] needs exactly one of max_concurrency = [...] or request_rate = [...]"
        )
    levels = values[swept[0]]
    if not levels:
        raise InputError(f"{where}: [load] {swept[0]} must list at least one level")
    if swept[0] == "max_concurrency":
        if not all(_is_int(v) and v >= 1 for v in levels):
            raise InputError(f"{where}: [load] max_concurrency levels must be integers >= 1")
        values["max_concurrency"] = tuple(levels)
    else:
        try:
            rates = tuple(parse_rate(v) for v in levels)
        except UsageError as exc:
            raise InputError(f"{where}: [load] {exc}") from None
        if not all(r > 0 for r in rates):
            raise InputError(f'{where}: [load] request_rate levels must be > 0 or "inf"')
        values["request_rate"] = rates
    if len(set(values[swept[0]])) < len(levels):
        raise InputError(f"{where}: [load] {swept[0]} lists a level twice")
    if "prompts_per_concurrency" in values and swept[0] != "max_concurrency":
        raise InputError(f"{where}: [load] prompts_per_concurrency needs max_concurrency levels")
    return _prompts_only(values, where)


def _prompts_only(values: dict[str, Any], where: str) -> LoadSection:
    """[load]'s prompts per level, checked (a study that only searches gives no levels)."""
    if "num_prompts" in values and "prompts_per_concurrency" in values:
        raise InputError(f"{where}: [load] give num_prompts or prompts_per_concurrency, not both")
    if "min_prompts" in values and "prompts_per_concurrency" not in values:
        raise InputError(f"{where}: [load] min_prompts goes with prompts_per_concurrency")
    for key in ("num_prompts", "prompts_per_concurrency", "min_prompts"):
        if key in values and values[key] < 1:
            raise InputError(f"{where}: [load] {key} must be >= 1")
    return LoadSection(**values)


def _workloads(
    entries: list[dict[str, Any]], load: LoadSection, where: str
) -> tuple[ThroughputRun, ...]:
    if not entries:
        raise InputError(f"{where}: the study has no [[workload]]")
    runs = []
    for i, entry in enumerate(entries):
        label = f"[[workload]] #{i + 1}"
        if "name" not in entry:
            raise InputError(f"{where}: {label} needs a name")
        if load.levels and load.kind in entry:
            raise InputError(f"{where}: {label} sets {load.kind}, which [load] sweeps")
        if "num_prompts" in entry and load.prompts_at(1) is not None:
            raise InputError(f"{where}: {label} sets num_prompts, which [load] sets too")
        run = throughput_run(entry, where, label, entry["name"])
        if not _NAME.match(run.name):
            raise InputError(f"{where}: {label} name must be letters, digits, '.', '_' or '-'")
        runs.append(run)
    names = [r.name for r in runs]
    if len(set(names)) < len(names):
        raise InputError(f"{where}: [[workload]] names must be unique")
    return tuple(runs)


def _check_launcher(study: Study, where: str) -> None:
    server = study.server
    keys = [key for key, _ in study.grid]
    if server.launcher == "external":
        if not server.base_url:
            raise InputError(f'{where}: [server] launcher = "external" needs base_url')
        if keys:
            raise InputError(
                f"{where}: an external server cannot take a [grid] (it is already running)"
            )
        if server.command:
            raise InputError(f"{where}: [server] command is for the command launcher")
        return
    if server.launcher == "command":
        if not server.command:
            raise InputError(f'{where}: [server] launcher = "command" needs a command')
        fields = _placeholders(server.command, where)
        unknown = sorted(fields - set(keys) - set(PLACEHOLDERS))
        if unknown:
            raise InputError(f"{where}: [server] command has {{{unknown[0]}}}, not a [grid] key")
        unused = [k for k in keys if k not in fields]
        if unused:
            raise InputError(f"{where}: [grid] {unused[0]} is not used in [server] command")
        if "port" not in fields and not server.base_url:
            raise InputError(f"{where}: [server] command needs {{port}} (or give base_url)")
        return
    if server.command:
        raise InputError(f"{where}: [server] command is for the command launcher")
    if server.port == 0:
        raise InputError(f"{where}: [server] port must be fixed for the compose launcher")


def _placeholders(template: str, where: str) -> set[str]:
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise InputError(f"{where}: [server] command is not a valid template: {exc}") from None
    names = set()
    for _text, name, spec, conversion in parsed:
        if name is None:
            continue
        if not name or spec or conversion or not name.isidentifier():
            raise InputError(f"{where}: [server] command placeholders are plain {{name}}s")
        names.add(name)
    return names


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
