"""A fleet study merged by `bench report`, for real on the simulator: two indexes of
deploy/k8s/jobs/fleet-study.yaml (each a study of its own configuration, in
fleet/<index>/) and one report over both, as deploy/k8s/jobs/fleet-report.yaml runs it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bench.cli import main
from bench.jsonio import load_document

pytestmark = pytest.mark.slow

STUDY = """
[study]
name = "fleet-{index}"
description = "fleet index {index}: DP {dp} on the simulator"
repeats = 1

[server]
launcher = "command"
command = "bench sim --port {{port}} --speed 50 --max-running-requests 2 --dp-size {{dp_size}}"
start_timeout_s = 60

[grid]
dp_size = [{dp}]

[[workload]]
name = "64-32"
api = "completions"
input_len = 64
output_len = 32
timeout_s = 60

[load]
max_concurrency = [8]
num_prompts = 16
"""


def test_two_fleet_indexes_merge_into_one_report(tmp_path: Path, capsys):
    fleet = tmp_path / "fleet"
    for index, dp in ((0, 1), (1, 2)):
        study = tmp_path / f"fleet-{index}.toml"
        study.write_text(STUDY.format(index=index, dp=dp))
        code = main(["study", str(study), "--out", str(fleet / str(index))])
        assert code == 0, capsys.readouterr().err
    throughput = {}
    for index in (0, 1):
        doc = load_document(fleet / str(index) / "study.json")
        (cell,) = doc["cells"]
        throughput[index] = cell["statistics"]["output_throughput_tok_s"]["mean"]
    # two copies, each admitting two requests: twice the batch of one (simulated)
    assert throughput[1] > 1.5 * throughput[0]

    assert main(["report", "--results", str(fleet), "--out", str(fleet / "REPORT.md")]) == 0
    report = (fleet / "REPORT.md").read_text()
    headings = re.findall(r"^#+ .*910B3 ×(\d)( \[TP 1 × DP 2\])?.*$", report, re.M)
    assert ("1", "") in headings and ("2", " [TP 1 × DP 2]") in headings
    for index in (0, 1):  # every cell's document of both indexes is in the merged report
        doc = load_document(fleet / str(index) / "study.json")
        for path in (rep["path"] for cell in doc["cells"] for rep in cell["repeats"]):
            link = (Path(str(index)) / path).as_posix()
            assert link in report, link
    assert main(["validate", str(fleet)]) == 0
