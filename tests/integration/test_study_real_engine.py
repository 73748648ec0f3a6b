"""A study against a real inference engine under the `command` launcher, in `make test`:
llama.cpp's own server (xllamacpp, the `engine` extra) started twice, with 1 and with 2
parallel slots (its `--parallel`), each at concurrency 1 and 2, each cell twice. The tiny
model is built here from the kit's tokenizer (see test_real_engine.py); nothing is
downloaded. The engine has no prefix-cache endpoint and no self-report: each document
says so and is `measured`."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import pytest

from bench.cli import main
from bench.jsonio import load_document
from bench.sim import tokenizer_dir
from bench.validate import validate_file
from tests.integration.tiny_gguf import build_tiny_gguf

pytestmark = pytest.mark.slow
LAUNCHER = Path(__file__).with_name("xllamacpp_server.py")


def test_two_configurations_of_llama_cpps_server(tmp_path, capsys):
    # big enough (about 12 M parameters) that its tokens mostly stream apart
    model = build_tiny_gguf(tmp_path / "tiny.gguf", n_embd=256, n_layers=8, n_ff=1024)
    server = shlex.join([sys.executable, str(LAUNCHER), str(model)])
    study = tmp_path / "llama.toml"
    study.write_text(f"""
[study]
name = "llama-slots"
repeats = 2
cv_max = 1.0

[server]
launcher = "command"
command = "{server} {{port}} {{parallel}}"
model = "tiny"
tokenizer = "{tokenizer_dir()}"
start_timeout_s = 60
stop_timeout_s = 10

[grid]
parallel = [1, 2]

[[workload]]
name = "32-32"
api = "completions"
input_len = 32
output_len = 32
timeout_s = 60

[load]
max_concurrency = [1, 2]
num_prompts = 4
""")
    out = tmp_path / "out"
    code = main(["study", str(study), "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    doc = load_document(out / "study.json")
    assert doc["kind"] == "measured" and doc["status"] == "complete"
    assert [f for f in validate_file(out / "study.json") if f.level == "error"] == []
    assert [c["grid"] for c in doc["configurations"]] == [{"parallel": 1}, {"parallel": 2}]
    for conf in doc["configurations"]:
        assert conf["status"] == "done" and conf["stop"].startswith("stopped by SIGTERM")
        assert conf["launch_command"][-1] == str(conf["grid"]["parallel"])
    for cell in doc["cells"]:
        assert cell["status"] == "done" and len(cell["repeats"]) == 2
        for rep in cell["repeats"]:
            assert rep["requests_failed"] == 0
            # On a busy machine a whole reply can reach the client in one read: its TPOT is
            # then 0, which the delivery figures explain (a warning, not an error)
            assert rep["valid"], rep["errors"]
            result = load_document(out / rep["path"])
            assert result["kind"] == "measured" and result["model"]["id"] == "tiny"
            assert "prefix cache not flushed" in result["notes"]
            assert (
                result["measurements"]["throughput"][0]["metrics"]["total_output_tokens"] == 4 * 32
            )
        assert cell["invalid"] == (not all(r["valid"] for r in cell["repeats"]))
        assert not (cell["invalid"] and cell["ranked"])
        stats = cell["statistics"]["output_throughput_tok_s"]
        assert stats["n"] == 2 and stats["ci95_low"] <= stats["mean"] <= stats["ci95_high"]
    assert main(["report", "--results", str(out)]) == 0
    assert (out / "REPORT-plots" / "pareto-1.png").read_bytes().startswith(b"\x89PNG")
