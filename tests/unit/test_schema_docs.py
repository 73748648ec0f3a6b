"""schema/README.md documents every field and is what the generator writes."""

from __future__ import annotations

import json
import runpy

from bench.validate.schema_docs import rows


def _schema(repo) -> dict:
    return json.loads((repo / "schema" / "result.schema.json").read_text(encoding="utf-8"))


def test_committed_schema_docs_are_what_the_generator_writes(repo):
    module = runpy.run_path(str(repo / "tools" / "build_schema.py"))
    committed = (repo / "schema" / "README.md").read_text(encoding="utf-8")
    assert committed == module["render_docs"](), "run `python tools/build_schema.py`"


def test_every_field_has_a_description_and_a_row(repo):
    schema = _schema(repo)
    defs = schema["$defs"]
    objects = {"(top level)": schema} | {
        name: d for name, d in defs.items() if "properties" in d and name != "measured_run"
    }
    docs = (repo / "schema" / "README.md").read_text(encoding="utf-8")
    undocumented = []
    for where, obj in objects.items():
        for field, _type, _req, description in rows(obj, defs):
            if not description:
                undocumented.append(f"{where}: {field}")
            assert f"| `{field}` |" in docs, field
    assert undocumented == []


def test_every_unit_suffix_is_explained(repo):
    docs = (repo / "schema" / "README.md").read_text(encoding="utf-8")
    fields = [f for d in _schema(repo)["$defs"].values() for f in d.get("properties", {})]
    suffixes = {f.rsplit("_", 1)[-1] for f in fields if f.endswith(("_ms", "_s", "_gib", "_mib"))}
    for suffix in suffixes:
        assert f"`_{suffix}`" in docs
