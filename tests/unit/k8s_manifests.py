"""Reading deploy/k8s/ for the tests: its manifests, kustomizations, pod templates and the
vendored CRD schemas (deploy/k8s/schemas/README.md), without a cluster."""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "deploy" / "k8s"
# The oldest Kubernetes the LeaderWorkerSet controller runs on without a feature gate
# (its installation guide: >= 1.26, Start Ordinal on by default from 1.27) and the newest
# kubernetes-validate ships schemas for.
KUBERNETES_VERSIONS = ("1.27.0", "1.37.0")
CRD_SCHEMAS = {
    ("leaderworkerset.x-k8s.io/v1", "LeaderWorkerSet"): "leaderworkerset-v1.json",
    ("scheduling.volcano.sh/v1beta1", "Queue"): "volcano-queue-v1beta1.json",
}
NPU = "huawei.com/Ascend910"


def manifest_files() -> list[Path]:
    return sorted(p for p in K8S.rglob("*.yaml") if p.name != "kustomization.yaml")


def kustomizations() -> list[Path]:
    return sorted(K8S.rglob("kustomization.yaml"))


@cache
def documents(path: Path) -> tuple[dict[str, Any], ...]:
    return tuple(d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d)


def all_documents() -> Iterator[tuple[Path, dict[str, Any]]]:
    for path in manifest_files():
        for doc in documents(path):
            yield path, doc


def strict(schema: Any) -> Any:
    """A CRD schema that rejects unknown fields, as the API server's strict field validation
    does (`kubectl apply --validate=strict`): every object that lists its properties and
    neither allows others nor preserves unknown fields gets additionalProperties: false."""
    if isinstance(schema, dict):
        out = {k: strict(v) for k, v in schema.items()}
        if (
            "properties" in out
            and "additionalProperties" not in out
            and not out.get("x-kubernetes-preserve-unknown-fields")
        ):
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [strict(v) for v in schema]
    return schema


@cache
def crd_schema(name: str) -> dict[str, Any]:
    return strict(json.loads((K8S / "schemas" / name).read_text(encoding="utf-8")))


def pod_templates(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The pod templates of a workload: Deployment/Job `spec.template`, LeaderWorkerSet's
    worker (and leader) template."""
    spec = doc.get("spec") or {}
    if doc["kind"] in ("Deployment", "Job"):
        return [spec["template"]]
    if doc["kind"] == "LeaderWorkerSet":
        lwt = spec["leaderWorkerTemplate"]
        return [
            lwt["workerTemplate"],
            *([lwt["leaderTemplate"]] if "leaderTemplate" in lwt else []),
        ]
    return []


def workloads() -> list[tuple[Path, dict[str, Any]]]:
    return [(p, d) for p, d in all_documents() if pod_templates(d)]


def npus_requested(container: dict[str, Any]) -> int:
    resources = container.get("resources") or {}
    return int((resources.get("limits") or {}).get(NPU, 0))


def env_of(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container.get("env") or [] if "value" in e}
