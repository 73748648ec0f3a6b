"""A study's `[search]` table (`bench.slo.spec` reads its keys) and what it asks of the
rest of the study file: workloads measured by the kit's own driver (attainment and
goodput need each request's record), none of which sets the searched key."""

from __future__ import annotations

import math
from typing import Any

from bench.errors import InputError
from bench.slo.spec import SearchSpec, parse_search


def parse_study_search(table: dict[str, Any], where: str) -> SearchSpec:
    return parse_search(table, f"{where}: [search]")


def check_search(study: Any, where: str) -> None:
    """The study's workloads and [load] agree with its search."""
    search: SearchSpec = study.search
    for run in study.workloads:
        label = f"{where}: [[workload]] {run.name}"
        if run.driver != "kit":
            raise InputError(f'{label} needs driver = "kit" for [search] (per-request records)')
        sets_axis = (
            run.workload.max_concurrency is not None
            if search.axis == "max_concurrency"
            else not math.isinf(run.workload.request_rate)
        )
        if sets_axis:
            raise InputError(f"{label} sets {search.axis}, which [search] searches")
    load = study.load
    if load.prompts_per_concurrency is not None and search.axis != "max_concurrency":
        raise InputError(
            f"{where}: [load] prompts_per_concurrency needs [search] axis = max_concurrency"
        )
