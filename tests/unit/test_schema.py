"""The result schema is a valid draft 2020-12 schema and matches its generator."""

from __future__ import annotations

import json
import runpy

import jsonschema


def test_schema_is_valid_against_the_2020_12_metaschema(repo):
    schema = json.loads((repo / "schema" / "result.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"]


def test_committed_schema_is_what_the_generator_writes(repo):
    module = runpy.run_path(str(repo / "tools" / "build_schema.py"))
    committed = (repo / "schema" / "result.schema.json").read_text()
    assert committed == module["render"](), "run `python tools/build_schema.py`"
