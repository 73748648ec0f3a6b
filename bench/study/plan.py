"""A study's plan: configurations (the grid's product), load levels and cells, each cell
named by a hash of what it measures. Pure: the same study file gives the same plan.

A cell is one (configuration, workload, load level). Its identity `Cell.id` is the sha256
of its resolved definition: the configuration's grid values and launch (the command with
`{port}` unfilled, or compose's SGLang flags, or the external URL), the workload exactly as
sent (load applied, every default filled in) and the load level. Each repeat of a cell is a
run with its own identity, `Cell.run_id(repeat)`: the cell's definition plus the repeat
index. Resume decides on run ids; a search or a second worker can name a cell it has
never seen by the same rule.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import math
import re
from dataclasses import dataclass
from typing import Any

from bench.study.commands import launch_definition, text_of
from bench.study.spec import Study
from bench.workload.profile import ThroughputRun

ID_CHARS = 16  # hex characters of sha256 kept in an id (64 bits)


def identity(definition: Any) -> str:
    """sha256 (first ID_CHARS hex digits) of the canonical JSON of `definition`."""
    text = json.dumps(definition, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:ID_CHARS]


@dataclass(frozen=True)
class Configuration:
    index: int  # 1-based, in grid order
    values: tuple[tuple[str, Any], ...]  # (grid key, value), as the grid names them

    @property
    def as_dict(self) -> dict[str, Any]:
        return dict(self.values)

    @property
    def label(self) -> str:
        """`max_running_requests=16, tp_size=2`; `(the server)` with no grid."""
        return ", ".join(f"{k}={text_of(v)}" for k, v in self.values) or "(the server)"

    @property
    def key(self) -> str:
        """A directory name: `c1-max_running_requests-16`."""
        parts = [f"{k}-{text_of(v)}" for k, v in self.values]
        return _safe("-".join([f"c{self.index}", *parts]))


@dataclass(frozen=True)
class LoadLevel:
    kind: str  # "max_concurrency" | "request_rate"
    value: float  # an int for max_concurrency; math.inf for an unbounded rate
    num_prompts: int | None  # None: the workload's own

    @property
    def json_value(self) -> float | int | None:
        """As a document holds it (an infinite rate is null, as `request_rate_rps`)."""
        if self.kind == "request_rate" and math.isinf(self.value):
            return None
        return self.value

    @property
    def label(self) -> str:
        if self.kind == "max_concurrency":
            return f"concurrency {self.value}"
        return f"rate {text_of(self.value)} req/s"

    @property
    def key(self) -> str:
        return f"c{self.value}" if self.kind == "max_concurrency" else f"r{text_of(self.value)}"

    def applied(self, run: ThroughputRun) -> ThroughputRun:
        """The workload as sent at this level."""
        changes: dict[str, Any] = {self.kind: self.value}
        if self.num_prompts is not None:
            changes["num_prompts"] = self.num_prompts
        workload = dataclasses.replace(run.workload, **changes)
        return dataclasses.replace(run, workload=workload)


@dataclass(frozen=True)
class Cell:
    configuration: Configuration
    workload_name: str
    run: ThroughputRun  # the workload as sent (load applied)
    load: LoadLevel
    definition: dict[str, Any]
    id: str

    @property
    def key(self) -> str:
        """Its directory under cells/: configuration / workload / load."""
        return f"{self.configuration.key}/{self.workload_name}/{self.load.key}"

    @property
    def label(self) -> str:
        return f"{self.configuration.label} | {self.workload_name} | {self.load.label}"

    def run_id(self, repeat: int) -> str:
        return identity({"cell": self.definition, "repeat": repeat})


def configurations(study: Study) -> list[Configuration]:
    """The Cartesian product of the grid's lists, first key slowest."""
    keys = [key for key, _ in study.grid]
    product = itertools.product(*(values for _, values in study.grid))
    return [
        Configuration(i, tuple(zip(keys, combo, strict=True)))
        for i, combo in enumerate(product, start=1)
    ]


def load_levels(study: Study) -> list[LoadLevel]:
    load = study.load
    return [LoadLevel(load.kind, level, load.prompts_at(level)) for level in load.levels]


def cell_definition(
    study: Study, configuration: Configuration, run: ThroughputRun, level: LoadLevel
) -> dict[str, Any]:
    """Everything that changes what a cell measures."""
    return {
        "configuration": configuration.as_dict,
        "launch": launch_definition(study.server, configuration.as_dict),
        "workload": run.to_dict(),
        "load": {"kind": level.kind, "value": text_of(level.value)},
    }


def make_cell(
    study: Study, configuration: Configuration, workload: ThroughputRun, level: LoadLevel
) -> Cell:
    """One cell; a search can make one at a load level the grid does not list."""
    run = level.applied(workload)
    definition = cell_definition(study, configuration, run, level)
    return Cell(configuration, workload.name, run, level, definition, identity(definition))


def plan_cells(study: Study) -> list[Cell]:
    """Every cell, in the order a study runs them: configuration, workload, load level."""
    levels = load_levels(study)
    return [
        make_cell(study, configuration, workload, level)
        for configuration in configurations(study)
        for workload in study.workloads
        for level in levels
    ]


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text)[:120]
