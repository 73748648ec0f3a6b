"""deploy/k8s/ checked offline: every manifest against the Kubernetes schemas
(kubernetes-validate, strict) and the vendored CRD schemas (LeaderWorkerSet, Volcano's
Queue); the NPU requests, node selectors and Volcano scheduling; every kit command parses
with the kit's own CLI; the server scripts run (with stand-in python3 and bench) and hand
LeaderWorkerSet's variables to SGLang's multi-node flags; the fleet's index picks its study."""

from __future__ import annotations

import itertools
import os
import re
import shlex
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml
from kubernetes_validate import utils as kv

from bench.cli import build_parser
from bench.study.plan import plan_cells
from bench.study.spec import load_study
from tests.unit.k8s_manifests import (
    CRD_SCHEMAS,
    K8S,
    KUBERNETES_VERSIONS,
    NPU,
    all_documents,
    crd_schema,
    documents,
    env_of,
    kustomizations,
    manifest_files,
    npus_requested,
    pod_templates,
    workloads,
)
from tests.unit.test_containers import sglang_flags

NODE_SELECTOR = {
    "accelerator": "huawei-Ascend910",
    "accelerator-type": "module-910b-8",
    "host-arch": "huawei-arm",
}
KIT_IMAGES = ("ascend-bench-kit:0.1.0", "ascend-bench-kit:0.1.0-ascend")


def _id(item) -> str:
    path, doc = item
    return f"{path.relative_to(K8S)}:{doc['kind']}/{doc['metadata']['name']}"


@pytest.mark.parametrize("item", list(all_documents()), ids=_id)
@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_manifest_validates_against_its_schema(item, version):
    _, doc = item
    key = (doc["apiVersion"], doc["kind"])
    if key in CRD_SCHEMAS:
        jsonschema.Draft7Validator(crd_schema(CRD_SCHEMAS[key])).validate(doc)
    else:
        kv.validate(doc, version, strict=True)


def test_the_validators_catch_a_misspelt_field():
    (lws,) = documents(K8S / "two-hosts" / "sglang-lws.yaml")[:1]
    bad = yaml.safe_load(yaml.safe_dump(lws))
    bad["spec"]["leaderWorkerTemplate"]["sizes"] = 2
    schema = crd_schema(CRD_SCHEMAS[(lws["apiVersion"], "LeaderWorkerSet")])
    with pytest.raises(jsonschema.ValidationError, match="sizes"):
        jsonschema.Draft7Validator(schema).validate(bad)
    (deployment, _) = documents(K8S / "one-host" / "sglang.yaml")
    bad = yaml.safe_load(yaml.safe_dump(deployment))
    bad["spec"]["template"]["spec"]["nodeSelectors"] = {}
    with pytest.raises(kv.ValidationError):
        kv.validate(bad, KUBERNETES_VERSIONS[0], strict=True)


def test_every_manifest_is_in_a_kustomization_or_is_a_job_to_create():
    listed = set()
    for kustomization in kustomizations():
        spec = yaml.safe_load(kustomization.read_text())
        assert spec["apiVersion"] == "kustomize.config.k8s.io/v1beta1"
        assert spec["kind"] == "Kustomization"
        for resource in spec.get("resources", []):
            target = (kustomization.parent / resource).resolve()
            assert target.exists(), (kustomization, resource)
            if target.is_dir():
                assert (target / "kustomization.yaml").is_file(), target
            else:
                listed.add(target)
        for generator in spec.get("configMapGenerator", []):
            for file in generator["files"]:
                assert (kustomization.parent / file).is_file(), file
    jobs = {p.resolve() for p in (K8S / "jobs").glob("*.yaml")}
    assert all(doc["kind"] == "Job" for p in jobs for doc in documents(p))
    assert {p.resolve() for p in manifest_files()} == listed | jobs


def test_the_studies_configmap_holds_every_study_and_each_reads_and_plans():
    base = yaml.safe_load((K8S / "base" / "kustomization.yaml").read_text())
    (generator,) = base["configMapGenerator"]
    assert (
        generator["name"] == "bench-studies" and base["generatorOptions"]["disableNameSuffixHash"]
    )
    files = sorted(generator["files"])
    assert files == sorted(f"studies/{p.name}" for p in (K8S / "base" / "studies").glob("*.toml"))
    for file in files:
        study = load_study(K8S / "base" / file)
        assert plan_cells(study), file
        if study.server.command:  # the fleet's: SGLang launched in the pod, real flags only
            argv = shlex.split(study.server.command.format(port=1, npus="0", tp_size=1, dp_size=1))
            assert argv[:3] == ["python3", "-m", "sglang.launch_server"]
            assert {a for a in argv if a.startswith("--")} <= sglang_flags()


def test_npu_workloads_request_whole_hosts_through_volcano_on_910b_nodes():
    queues = {d["metadata"]["name"] for _, d in all_documents() if d["kind"] == "Queue"}
    assert queues == {"ascend-bench"}
    npu_pods = 0
    for path, doc in workloads():
        annotations = doc["metadata"].get("annotations") or {}
        for template in pod_templates(doc):
            spec = template["spec"]
            assert spec["schedulerName"] == "volcano", path
            queue = annotations.get("scheduling.volcano.sh/queue-name") or (
                template["metadata"].get("annotations") or {}
            ).get("scheduling.volcano.sh/queue-name")
            assert queue in queues, path
            for container in spec["containers"]:
                npus = npus_requested(container)
                if not npus:
                    continue
                npu_pods += 1
                assert container["resources"]["requests"][NPU] == npus == 8, path
                assert spec["nodeSelector"] == NODE_SELECTOR, path
                mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
                for driver in ("/usr/local/Ascend/driver", "/usr/local/dcmi",
                               "/usr/local/bin/npu-smi", "/etc/ascend_install.info"):  # fmt: skip
                    assert mounts[driver].get("readOnly") is True, (path, driver)
                hostpaths = {
                    v["name"]: v["hostPath"]["path"] for v in spec["volumes"] if "hostPath" in v
                }
                assert (
                    hostpaths[mounts["/usr/local/Ascend/driver"]["name"]]
                    == "/usr/local/Ascend/driver"
                )
                # no device nodes by hand: the Ascend device plugin maps /dev/davinciN
                assert not any(path.startswith("/dev") for path in hostpaths.values())
    assert npu_pods == 3  # the Deployment, the LeaderWorkerSet, the fleet


def test_each_server_uses_the_npus_it_requests():
    servers = {p.parent.name: d for p, d in workloads() if d["metadata"]["name"] == "sglang"}
    one = servers["one-host"]["spec"]["template"]["spec"]["containers"][0]
    env = env_of(one)
    assert int(env["TP_SIZE"]) * int(env["DP_SIZE"]) == npus_requested(one)
    lws = servers["two-hosts"]["spec"]["leaderWorkerTemplate"]
    two = lws["workerTemplate"]["spec"]["containers"][0]
    env = env_of(two)
    assert int(env["TP_SIZE"]) * int(env["DP_SIZE"]) == lws["size"] * npus_requested(two)
    assert env["MODEL"] == "Qwen/Qwen2-72B-Instruct" and lws["size"] == 2


def test_the_service_selects_the_server_that_serves_the_api():
    for layout, selector in (
        ("one-host", {"app.kubernetes.io/name": "sglang", "role": "leader"}),
        ("two-hosts", {"leaderworkerset.sigs.k8s.io/name": "sglang",
                       "leaderworkerset.sigs.k8s.io/worker-index": "0"}),
    ):  # fmt: skip
        docs = {d["kind"]: d for p, d in all_documents() if p.parent.name == layout}
        assert docs["Service"]["spec"]["selector"] == selector
        assert docs["Service"]["spec"]["ports"][0]["port"] == 30000
        if layout == "one-host":
            labels = docs["Deployment"]["spec"]["template"]["metadata"]["labels"]
            assert selector.items() <= labels.items()


def test_every_volume_is_a_claim_or_configmap_the_kit_defines():
    claims = {
        d["metadata"]["name"] for _, d in all_documents() if d["kind"] == "PersistentVolumeClaim"
    }
    assert claims == {"models", "results"}
    for path, doc in all_documents():
        if doc["kind"] == "PersistentVolumeClaim":
            assert doc["spec"]["accessModes"] == ["ReadWriteMany"], path  # pods on many hosts
    for path, doc in workloads():
        for template in pod_templates(doc):
            volumes = {v["name"]: v for v in template["spec"]["volumes"]}
            for container in template["spec"]["containers"]:
                for mount in container["volumeMounts"]:
                    volume = volumes[mount["name"]]
                    if "persistentVolumeClaim" in volume:
                        claim = volume["persistentVolumeClaim"]["claimName"]
                        assert claim in claims and mount["mountPath"] == f"/{claim}", path
                    if "configMap" in volume:
                        assert volume["configMap"]["name"] == "bench-studies"
                        assert mount["mountPath"] == "/studies"


def _substituted(text: str, env: dict[str, str]) -> str:
    """Kubernetes' $(VAR) expansion of a container's args, from its env."""
    return re.sub(r"\$\((\w+)\)", lambda m: env.get(m.group(1), m.group(0)), text)


def _kit_commands():
    """(where, argv) of every kit command: the kit image's args, and each `bench ...` line of
    a server's or the fleet's script (shell variables given sample values)."""
    sample = {"rank": "1", "JOB_COMPLETION_INDEX": "2", "out": "/results/fleet/2",
              "resume": "", "SUBMITTER": "someone"}  # fmt: skip
    for path, doc in workloads():
        for template in pod_templates(doc):
            for container in template["spec"]["containers"]:
                env = env_of(container)
                args = [_substituted(a, env) for a in container.get("args", [])]
                if container["image"] == KIT_IMAGES[0]:
                    yield path, args
                    continue
                script = "\n".join(args).replace("\\\n", " ")
                for line in re.findall(r"(?m)^\s*(?:exec )?bench (.*?)(?: >| \|\||$)", script):
                    text = re.sub(r'"?\$\{?(\w+)\}?"?', lambda m: sample.get(m.group(1), "x"), line)
                    yield path, shlex.split(text)


@pytest.mark.parametrize(
    "where_argv", list(_kit_commands()), ids=lambda x: f"{x[0].name}:{x[1][0]}"
)
def test_every_kit_command_parses_with_the_kits_cli(where_argv):
    _, argv = where_argv
    args = build_parser().parse_args(argv)
    assert args.command == argv[0]


def test_the_jobs_run_what_they_say():
    commands = {path.stem: argv for path, argv in _kit_commands() if path.parent.name == "jobs"}
    assert commands["bench-run"][:3] == ["run", "--profile", "seed"]
    two = commands["bench-run-two-hosts"]
    assert [two[i + 1] for i, a in enumerate(two) if a == "--node-env"] == [
        "0=/results/nodes/node-0.env.json", "1=/results/nodes/node-1.env.json"
    ]  # fmt: skip
    assert commands["bench-study"][:2] == ["study", "/studies/service-sweep.toml"]
    assert commands["fleet-report"] == ["report", "--results", "/results/fleet", "--out",
                                        "/results/fleet/REPORT.md"]  # fmt: skip
    assert commands["model"][:5] == ["model", "--model", "Qwen/Qwen2-7B-Instruct", "--revision", ""]


def _run_script(
    container: dict, tmp_path: Path, extra_env: dict[str, str]
) -> subprocess.CompletedProcess:
    """A container's bash script, with stand-in `python3` and `bench` that log their argv
    (one per line) and the kit's paths moved under tmp_path."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for name in ("python3", "bench"):
        tool = bin_dir / name
        tool.write_text(f'#!/bin/sh\nprintf "%s\\n" "{name}" "$@" >> "{tmp_path}/argv.txt"\n'
                        'echo "{\\"system\\": {}}"\n')  # fmt: skip
        tool.chmod(0o755)
    script = container["args"][0]
    for root in ("/results", "/studies"):
        script = script.replace(root, str(tmp_path / root.strip("/")))
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", **env_of(container), **extra_env}
    return subprocess.run([*container["command"], script], capture_output=True, text=True,
                          env=env, timeout=30, check=False)  # fmt: skip


def _calls(tmp_path: Path) -> list[list[str]]:
    calls: list[list[str]] = []
    for line in (tmp_path / "argv.txt").read_text().splitlines():
        if line in ("python3", "bench"):
            calls.append([line])
        else:
            calls[-1].append(line)
    return calls


@pytest.mark.parametrize("rank", [0, 1])
def test_the_lws_pod_maps_leaderworkerset_variables_onto_sglangs_multi_node_flags(tmp_path, rank):
    (lws, _) = documents(K8S / "two-hosts" / "sglang-lws.yaml")
    spec = lws["spec"]["leaderWorkerTemplate"]["workerTemplate"]["spec"]
    assert spec["hostNetwork"] is True and spec["dnsPolicy"] == "ClusterFirstWithHostNet"
    container = spec["containers"][0]
    lws_env = {"LWS_LEADER_ADDRESS": "sglang-0.sglang.ascend-bench", "LWS_GROUP_SIZE": "2",
               "LWS_WORKER_INDEX": str(rank)}  # fmt: skip
    proc = _run_script(container, tmp_path, lws_env)
    assert proc.returncode == 0, proc.stderr
    env_call, launch = _calls(tmp_path)
    assert env_call == ["bench", "env", "--json"]
    assert (tmp_path / "results" / "nodes" / f"node-{rank}.env.json").read_text().startswith("{")
    assert launch[:3] == ["python3", "-m", "sglang.launch_server"]
    flags = dict(itertools.pairwise(launch))
    assert flags["--nnodes"] == "2" and flags["--node-rank"] == str(rank)
    assert flags["--dist-init-addr"] == "sglang-0.sglang.ascend-bench:20000"
    assert flags["--tp-size"] == "16" and flags["--model-path"] == "/models/Qwen/Qwen2-72B-Instruct"
    assert {a for a in launch if a.startswith("--")} <= sglang_flags()
    assert "--api-key" not in launch  # no secret, no flag
    env = env_of(container)
    assert env["HCCL_SOCKET_IFNAME"] and env["GLOO_SOCKET_IFNAME"] and env["HCCL_BUFFSIZE"]
    assert (tmp_path / "results" / "server-logs" / f"node-{rank}.log").is_file()


def test_the_one_host_pod_launches_sglang_with_its_env_and_the_key_only_if_set(tmp_path):
    (deployment, _) = documents(K8S / "one-host" / "sglang.yaml")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    proc = _run_script(container, tmp_path, {"API_KEY": "sk-test"})
    assert proc.returncode == 0, proc.stderr
    _, launch = _calls(tmp_path)
    flags = dict(itertools.pairwise(launch))
    assert (flags["--tp-size"], flags["--dp-size"], flags["--api-key"]) == ("1", "8", "sk-test")
    assert "--nnodes" not in flags
    assert {a for a in launch if a.startswith("--")} <= sglang_flags()


@pytest.mark.parametrize("resumed", [False, True])
def test_the_fleets_index_picks_its_study_and_directory_and_resumes_a_retry(tmp_path, resumed):
    (job,) = documents(K8S / "jobs" / "fleet-study.yaml")
    spec = job["spec"]
    assert spec["completionMode"] == "Indexed"
    fleet = sorted((K8S / "base" / "studies").glob("fleet-*.toml"))
    assert spec["completions"] == spec["parallelism"] == len(fleet)
    container = spec["template"]["spec"]["containers"][0]
    if resumed:
        (tmp_path / "results" / "fleet" / "1").mkdir(parents=True)
        (tmp_path / "results" / "fleet" / "1" / "study.json").write_text("{}")
    proc = _run_script(container, tmp_path, {"JOB_COMPLETION_INDEX": "1"})
    assert proc.returncode == 0, proc.stderr
    (call,) = _calls(tmp_path)
    expected = [
        "bench",
        "study",
        f"{tmp_path}/studies/fleet-1.toml",
        "--out",
        f"{tmp_path}/results/fleet/1",
    ]
    assert call == [*expected, *(["--resume"] if resumed else []), "--submitter", "anonymous"]
    affinity = spec["template"]["spec"]["affinity"]["podAntiAffinity"]
    (term,) = affinity["requiredDuringSchedulingIgnoredDuringExecution"]
    assert term["topologyKey"] == "kubernetes.io/hostname"


def test_the_schemas_readme_names_each_vendored_schema_and_its_source():
    readme = (K8S / "schemas" / "README.md").read_text()
    for name in os.listdir(K8S / "schemas"):
        if name.endswith(".json"):
            assert f"`{name}`" in readme, name
    assert "https://github.com/kubernetes-sigs/lws" in readme and "v0.10.0" in readme
    assert "https://github.com/volcano-sh/volcano" in readme and "v1.15.1" in readme
