"""The study file (strict TOML), its plan (configurations, cells, identities) and what each
launcher would run: pure, no process started."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from bench.errors import InputError
from bench.study.commands import command_argv, compose_plan, launch_definition
from bench.study.plan import configurations, load_levels, plan_cells
from bench.study.spec import load_study

REPO = Path(__file__).resolve().parents[2]
GOOD = """
[study]
name = "mrr-x-concurrency"
description = "two limits"
repeats = 3
cv_max = 0.05

[server]
launcher = "command"
command = "sim --port {port} --max-running-requests {max_running_requests} --tp-size {tp_size}"
health_path = "/health"
start_timeout_s = 600

[grid]
max_running_requests = [16, 64]
tp_size = [1, 2]

[[workload]]
name = "512-256"
api = "completions"
input_len = 512
output_len = 256

[load]
max_concurrency = [1, 4, 16, 64]
prompts_per_concurrency = 4
min_prompts = 32
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "study.toml"
    path.write_text(text)
    return path


def test_a_good_file_resolves_with_every_default(tmp_path):
    study = load_study(write(tmp_path, GOOD))
    resolved = study.as_dict()
    assert resolved["study"] == {
        "name": "mrr-x-concurrency", "description": "two limits", "repeats": 3, "cv_max": 0.05,
    }  # fmt: skip
    assert resolved["server"]["port"] == 0 and resolved["server"]["flush"] == "auto"
    assert resolved["grid"] == {"max_running_requests": [16, 64], "tp_size": [1, 2]}
    assert resolved["workload"][0]["seed"] == 1  # the profile's defaults filled in
    assert [lv.num_prompts for lv in load_levels(study)] == [32, 32, 64, 256]  # max(32, 4c)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("cv_max = 0.05", "cv_maxx = 0.05", r"study.toml: unknown key 'cv_maxx' in \[study\]"),
        ('health_path = "/health"', 'health = "/health"', r"unknown key 'health' in \[server\]"),
        ("[load]", "[loads]", r"unknown key 'loads'"),
        ("min_prompts = 32", "min_prompt = 32", r"unknown key 'min_prompt' in \[load\]"),
        ("output_len = 256", "output_tokens = 256", r"unknown key 'output_tokens'.*output_len"),
        ("tp_size = [1, 2]", "tp_size = [1, 2]\nslots = [1]", r"\[grid\] slots is not used"),
        ("{tp_size}", "{tp_sise}", r"\{tp_sise\}, not a \[grid\] key"),
        ("repeats = 3", "repeats = 0", r"repeats must be >= 1"),
        ("prompts_per_concurrency = 4", "num_prompts = 4\nprompts_per_concurrency = 4", "not both"),
        ("max_concurrency = [1, 4, 16, 64]", "max_concurrency = [1, 1]", "lists a level twice"),
        ("max_running_requests = [16, 64]", "max_running_requests = []", "non-empty list"),
        ('launcher = "command"', 'launcher = "docker"', "launcher must be one of"),
        ('name = "512-256"', 'name = "512-256"\nmax_concurrency = 3', "which \\[load\\] sweeps"),
    ],
)
def test_bad_input_is_one_line_naming_the_key_and_file(tmp_path, old, new, message):
    assert old in GOOD
    with pytest.raises(InputError, match=message):
        load_study(write(tmp_path, GOOD.replace(old, new, 1)))


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(InputError, match="study file not found"):
        load_study(tmp_path / "nope.toml")


def test_configurations_are_the_grids_product_in_order(tmp_path):
    study = load_study(write(tmp_path, GOOD))
    confs = configurations(study)
    assert [c.as_dict for c in confs] == [
        {"max_running_requests": 16, "tp_size": 1},
        {"max_running_requests": 16, "tp_size": 2},
        {"max_running_requests": 64, "tp_size": 1},
        {"max_running_requests": 64, "tp_size": 2},
    ]
    assert confs[1].key == "c2-max_running_requests-16-tp_size-2"
    cells = plan_cells(study)
    assert len(cells) == 4 * 4 and len({c.id for c in cells}) == 16
    assert cells[0].run.workload.max_concurrency == 1 and cells[0].run.workload.num_prompts == 32


def test_a_cells_identity_follows_what_it_measures_and_not_the_rest(tmp_path):
    base = plan_cells(load_study(write(tmp_path, GOOD)))
    same = plan_cells(load_study(write(tmp_path, GOOD.replace("two limits", "other words"))))
    assert [c.id for c in base] == [c.id for c in same]  # the description measures nothing
    longer = plan_cells(
        load_study(write(tmp_path, GOOD.replace("output_len = 256", "output_len = 128")))
    )
    assert not {c.id for c in base} & {c.id for c in longer}
    assert base[0].run_id(1) != base[0].run_id(2)
    assert base[0].definition["launch"]["command"][2] == "{port}"  # the port is not in it


def test_a_workloads_workers_key_is_taken_as_a_profiles_and_names_new_cells(tmp_path):
    base = plan_cells(load_study(write(tmp_path, GOOD)))
    text = GOOD.replace('name = "512-256"', 'name = "512-256"\nworkers = 2')
    two = plan_cells(load_study(write(tmp_path, text)))
    assert {c.run.workers for c in two} == {2}
    assert not {c.id for c in base} & {c.id for c in two}  # the client changed: new cells
    with pytest.raises(InputError, match="workers must be >= 1"):
        load_study(write(tmp_path, GOOD.replace('name = "512-256"', 'name = "w"\nworkers = 0')))


def test_the_command_template_is_filled_and_quoted(tmp_path):
    study = load_study(write(tmp_path, GOOD))
    argv = command_argv(study.server, {"max_running_requests": 16, "tp_size": 2}, 31000)
    assert argv == ["sim", "--port", "31000", "--max-running-requests", "16", "--tp-size", "2"]
    text = GOOD.replace("max_running_requests = [16, 64]", 'max_running_requests = ["a b"]')
    study = load_study(write(tmp_path, text))
    assert command_argv(study.server, {"max_running_requests": "a b", "tp_size": 1}, 1)[4] == "a b"


def test_request_rate_levels_and_inf(tmp_path):
    text = GOOD.replace("max_concurrency = [1, 4, 16, 64]", 'request_rate = [1, 2.5, "inf"]')
    text = text.replace("prompts_per_concurrency = 4\nmin_prompts = 32", "num_prompts = 50")
    levels = load_levels(load_study(write(tmp_path, text)))
    assert [lv.value for lv in levels] == [1.0, 2.5, math.inf]
    assert [lv.json_value for lv in levels] == [1.0, 2.5, None]
    assert [lv.key for lv in levels] == ["r1.0", "r2.5", "rinf"]


COMPOSE = """
[study]
name = "tp"

[server]
launcher = "compose"
model = "Qwen/Qwen2-7B-Instruct"
npus = [4, 5, 6, 7]
extra_args = "--disable-radix-cache"

[grid]
tp_size = [1, 2, 4]
mem_fraction_static = [0.85]
enable_mixed_chunk = [true]

[[workload]]
name = "w"

[load]
max_concurrency = [1]
"""


def test_compose_maps_the_grid_onto_sglang_flags_and_npus(tmp_path):
    study = load_study(write(tmp_path, COMPOSE))
    values = {"tp_size": 2, "mem_fraction_static": 0.85, "enable_mixed_chunk": True}
    plan = compose_plan(study.server, values, tmp_path / "c2")
    assert plan.env["SGLANG_FLAGS"] == (
        "--attention-backend ascend --device npu --tp-size 2 --mem-fraction-static 0.85 "
        "--enable-mixed-chunk --disable-radix-cache"
    )
    assert (plan.env["TP"], plan.env["NPUS"], plan.env["NPU_DEVICE"]) == ("2", "4,5", "4")
    assert (plan.env["MEM_FRACTION"], plan.env["PORT"]) == ("0.85", "30000")
    assert plan.env["LOG_DIR"] == str((tmp_path / "c2").resolve())
    assert plan.devices_yaml.endswith("      - /dev/davinci4\n      - /dev/davinci5\n")
    assert plan.up[-5:] == ["npu", "up", "--detach", "--no-deps", "server"]
    assert plan.up[:5] == ["docker", "compose", "-f", "compose.yaml", "-f"]
    assert plan.stop[-4:] == ["stop", "--timeout", "30", "server"]
    off = compose_plan(study.server, {**values, "enable_mixed_chunk": False}, tmp_path)
    assert "--enable-mixed-chunk" not in off.env["SGLANG_FLAGS"]
    assert launch_definition(study.server, values)["npus"] == [4, 5]


def test_a_configuration_needing_more_npus_than_listed_is_refused(tmp_path):
    text = COMPOSE.replace("tp_size = [1, 2, 4]", "tp_size = [8]")
    study = load_study(write(tmp_path, text))
    with pytest.raises(InputError, match="needs 8 NPUs; \\[server\\] npus lists 4"):
        plan_cells(study)


def test_the_shipped_studies_read_and_plan(tmp_path):
    files = sorted((REPO / "studies").glob("*.toml"))
    assert {f.stem for f in files} >= {"demo", "parameter-challenge", "qwen2-72b"}
    for path in files:
        study = load_study(path)
        assert plan_cells(study) or study.search is not None, path  # a search plans probes
    challenge = load_study(REPO / "studies" / "parameter-challenge.toml")
    grid = dict(challenge.grid)
    assert grid["tp_size"] == (1, 2, 4) and grid["mem_fraction_static"] == (0.8, 0.85, 0.9)
    assert challenge.load.max_concurrency[0] == 1 and challenge.load.max_concurrency[-1] == 256
    assert dict(load_study(REPO / "studies" / "qwen2-72b.toml").grid)["tp_size"] == (4, 8)
