"""`bench compare` for real on the simulator: two sets of runs of the same configuration are
"no significant difference"; two configurations that truly differ (max_running_requests 8
against 64 at concurrency 64) are told apart, with the better one and its interval.

Why the first cannot flake: both sides run the same three workloads (seeds 1, 2, 3 of a
Poisson schedule at 24 requests/s), one run of each seed per side, against two
simulators of the same configuration. Output tokens/s and requests/s are then set by the
seeded schedule: the seeds move them by several percent while the two sides' runs of
one seed differ by hundredths of a percent (what a busy machine's timing adds), and
Welch's t-test, which does not pair the runs, sees a t near 0 (p 0.98 to 1.00 in every
trial here). It would take the machine's noise to be about a hundred times larger to
reach p < 0.05. Metrics that the engine's step clock randomises run to run (TTFT, whose
wait for the step in progress depends on each arrival's phase) are not asserted: for
them "same configuration" has the test's own 5% false-positive rate, as it should.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bench.cli import main
from bench.jsonio import load_document
from bench.sim.process import SimProcess

pytestmark = pytest.mark.slow

PROFILE = """
[profile]
name = "null-{seed}"
description = "the same configuration, seed {seed}"
[[throughput]]
name = "t"
api = "completions"
input_len = 128
output_len = 32
range_ratio = 0.25
num_prompts = 48
request_rate = 24
seed = {seed}
warmup = 1
timeout_s = 60
"""

STUDY = """
[study]
name = "mrr-8-64"
description = "max_running_requests 8 against 64 at concurrency 64"
repeats = 3
cv_max = 0.5

[server]
launcher = "command"
command = "bench sim --port {port} --speed 5 --max-running-requests {max_running_requests}"
start_timeout_s = 60

[grid]
max_running_requests = [8, 64]

[[workload]]
name = "64-32"
api = "completions"
input_len = 64
output_len = 32
timeout_s = 60

[load]
max_concurrency = [64]
num_prompts = 64
"""


def _sentence(out: str, metric: str) -> str:
    line = next(x for x in out.splitlines() if x.startswith("- ") and f" {metric} " in x)
    return line[2:]


def test_two_sets_of_runs_of_the_same_configuration_differ_by_no_more_than_noise(tmp_path, capsys):
    sides = {"A": tmp_path / "A", "B": tmp_path / "B"}
    with (
        SimProcess(["--speed", "2"], workdir=tmp_path) as sim_a,
        SimProcess(["--speed", "2"], workdir=tmp_path) as sim_b,
    ):
        for seed in (1, 2, 3):
            profile = tmp_path / f"p{seed}.toml"
            profile.write_text(PROFILE.format(seed=seed))
            for tag, sim in (("A", sim_a), ("B", sim_b)):
                out = sides[tag] / f"seed-{seed}.json"
                argv = ["run", "--profile", str(profile), "--base-url", sim.base_url]
                assert main([*argv, "--out", str(out), "--no-telemetry"]) == 0
    capsys.readouterr()
    assert main(["compare", str(sides["A"]), str(sides["B"])]) == 0
    out = capsys.readouterr().out
    print(out)
    assert "Welch's t-test over repeats (3 runs of A, 3 of B)" in out
    assert "## Settings that differ\n\nNone." in out
    for metric in ("output tokens/s", "requests/s"):
        said = _sentence(out, metric)
        assert said.startswith(f"No significant difference in {metric} (p = "), said
        assert ", Welch's t-test, 3 repeats each): B is " in said


def test_max_running_requests_8_and_64_at_concurrency_64_are_told_apart(tmp_path, capsys):
    study = tmp_path / "study.toml"
    study.write_text(STUDY)
    out_dir = tmp_path / "study"
    assert main(["study", str(study), "--out", str(out_dir)]) == 0
    doc = load_document(out_dir / "study.json")
    ids = {c["grid"]["max_running_requests"]: c["id"] for c in doc["cells"]}
    capsys.readouterr()
    assert main(["compare", f"{out_dir}:{ids[8]}", f"{out_dir}:{ids[64]}"]) == 0
    out = capsys.readouterr().out
    print(out)
    assert re.search(r"\| server max\\_running\\_requests +\| 8 +\| 64 +\|", out), out
    said = _sentence(out, "output tokens/s")
    pattern = (
        r"B's output tokens/s is (\d+\.\d)% higher \(95% CI (\d+\.\d) to (\d+\.\d)%\), "
        r"significant \(p [<=] [0-9.]+, Welch's t-test, 3 repeats each\): B is better\."
    )
    match = re.fullmatch(pattern, said)
    assert match, said
    pct, low, high = map(float, match.groups())
    assert low <= pct <= high and low > 100  # 64 slots do far more than 8 at concurrency 64

    # one run each: a bootstrap over the requests of each run's records
    first = {
        k: out_dir / next(c for c in doc["cells"] if c["id"] == v)["repeats"][0]["path"]
        for k, v in ids.items()
    }
    capsys.readouterr()
    assert main(["compare", str(first[8]), str(first[64])]) == 0
    out = capsys.readouterr().out
    said = _sentence(out, "median E2E")
    assert re.fullmatch(
        r"B's median E2E is \d+\.\d% lower \(95% CI \d+\.\d to \d+\.\d%\), significant "
        r"\(bootstrap over 64 and 64 requests of one run each\): B's run is better\.",
        said,
    ), said
    assert "output tokens/s and requests/s, one number per run, are not tested" in out


def test_changed_records_are_refused_before_any_statistic(tmp_path, capsys):
    with SimProcess(["--speed", "10"], workdir=tmp_path) as sim:
        profile = tmp_path / "p.toml"
        profile.write_text(PROFILE.format(seed=1).replace("num_prompts = 48", "num_prompts = 8"))
        docs = []
        for name in ("a", "b"):
            out = tmp_path / f"{name}.json"
            argv = ["run", "--profile", str(profile), "--base-url", sim.base_url, "--out", str(out)]
            assert main([*argv, "--no-telemetry"]) == 0
            docs.append(out)
    records = Path(str(docs[1]).removesuffix(".json") + ".records") / "t.jsonl"
    records.write_text(records.read_text() + "\n")  # one byte more: same records, new hash
    capsys.readouterr()
    assert main(["compare", str(docs[0]), str(docs[1])]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Error: ") and "sha256 differs" in err and err.count("\n") == 1
