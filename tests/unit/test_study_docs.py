"""docs/studies.md documents every key of the study file, every field of the study
document's schema, every launcher and the simulator's SGLang launch flags."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from bench.cli import COMMANDS
from bench.study.spec import LAUNCHERS, LoadSection, ServerSection, StudyHead

REPO = Path(__file__).resolve().parents[2]
DOCS = (REPO / "docs" / "studies.md").read_text(encoding="utf-8")


def _properties(schema: dict) -> set[str]:
    names: set[str] = set()
    for key, value in (schema.get("properties") or {}).items():
        names.add(key)
        names |= _properties(value)
    items = schema.get("items")
    if isinstance(items, dict):
        names |= _properties(items)
    return names


def test_every_study_file_key_is_documented():
    for cls in (StudyHead, ServerSection, LoadSection):
        for field in dataclasses.fields(cls):
            assert f"`{field.name}`" in DOCS, (cls.__name__, field.name)
    for launcher in LAUNCHERS:
        assert f"**{launcher}**" in DOCS, launcher


def test_every_study_document_field_is_documented():
    schema = json.loads((REPO / "schema" / "study.schema.json").read_text(encoding="utf-8"))
    missing = sorted(
        name for name in _properties(schema) if f"`{name}`" not in DOCS and name not in DOCS
    )
    assert missing == []


def test_the_command_and_the_simulators_launch_flags_are_documented():
    assert "study" in [name for name, _module, _help in COMMANDS]
    for flag in (
        "--tp-size", "--mem-fraction-static", "--max-running-requests", "--chunked-prefill-size",
        "--max-prefill-tokens", "--model-path", "--resume", "--dry-run", "make study-demo",
    ):  # fmt: skip
        assert f"`{flag}" in DOCS or flag in DOCS, flag
