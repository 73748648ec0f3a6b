"""Extract one version's OpenAPI v3 schema from a CustomResourceDefinition, for offline checks.

deploy/k8s/schemas/ holds the schemas of the custom resources the kit's manifests use
(LeaderWorkerSet, Volcano's Queue), vendored from their projects' released CRDs (the README
there names each source). This script turns a downloaded CRD into what is vendored: the
`openAPIV3Schema` of the named version, with its prose `description`s removed (they make up
most of the bytes and change no rule), as sorted, indented JSON.

    python tools/k8s_crd_schema.py CRD.yaml VERSION > deploy/k8s/schemas/NAME.json
"""

from __future__ import annotations

import json
import sys
from typing import Any

import yaml


def without_descriptions(node: Any) -> Any:
    """The schema with every `description` annotation (a string) dropped, recursively. A
    property *named* `description` is a schema (a dict), and is kept."""
    if isinstance(node, dict):
        return {
            k: without_descriptions(v)
            for k, v in node.items()
            if not (k == "description" and isinstance(v, str))
        }
    if isinstance(node, list):
        return [without_descriptions(v) for v in node]
    return node


def crd_schema(crd: dict[str, Any], version: str) -> dict[str, Any]:
    for entry in crd["spec"]["versions"]:
        if entry["name"] == version:
            return without_descriptions(entry["schema"]["openAPIV3Schema"])
    names = ", ".join(v["name"] for v in crd["spec"]["versions"])
    raise SystemExit(f"no version {version} in {crd['metadata']['name']} (it has {names})")


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        return 2
    with open(argv[0], encoding="utf-8") as f:
        crd = next(d for d in yaml.safe_load_all(f) if d)
    schema = crd_schema(crd, argv[1])
    print(json.dumps(schema, indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
