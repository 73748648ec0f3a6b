"""Resume decisions: pure functions over what the study document recorded.

A study is resumed only with the same study file: `differences(old, new)` names every key
of the resolved study that changed (`load.max_concurrency`, `grid.tp_size`, ...), and a
resume is refused when it names any. Then `decide` sorts the planned runs: a run is done
when the document recorded it (its result document validated before it was recorded) and
its file is still there with the recorded sha256; every other run is to do. A result file
of a run that is not recorded as done (a crash between writing and recording it, or a
file changed since) is set aside, never trusted and never overwritten.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any


def differences(old: Any, new: Any, path: str = "") -> list[str]:
    """Dotted keys whose values differ (a list item as `key[2]`); empty when equal."""
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[str] = []
        for key in [*old, *(k for k in new if k not in old)]:
            where = f"{path}.{key}" if path else str(key)
            if key not in old or key not in new:
                out.append(where)
            else:
                out += differences(old[key], new[key], where)
        return out
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        out = []
        for i, (a, b) in enumerate(zip(old, new, strict=True)):
            out += differences(a, b, f"{path}[{i}]")
        return out
    return [] if old == new else [path or "(the whole study)"]


@dataclass(frozen=True)
class Decision:
    done: tuple[str, ...]  # run ids recorded and intact
    todo: tuple[str, ...]  # run ids to run, in plan order
    set_aside: tuple[str, ...]  # recorded run ids whose file is missing or changed


def decide(
    planned: Iterable[str],
    recorded: dict[str, dict[str, Any]],
    intact: Callable[[dict[str, Any]], bool],
) -> Decision:
    """Sort planned run ids into done and to do. `recorded` maps a run id to its entry in
    the study document; `intact(entry)` says whether its file is there, unchanged."""
    done, todo, aside = [], [], []
    for run_id in planned:
        entry = recorded.get(run_id)
        if entry is not None and intact(entry):
            done.append(run_id)
            continue
        if entry is not None:
            aside.append(run_id)
        todo.append(run_id)
    return Decision(tuple(done), tuple(todo), tuple(aside))
