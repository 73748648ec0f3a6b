"""`bench slo`'s bad input: one line naming the problem, a non-zero exit, nothing written
(no server is needed to refuse it)."""

from __future__ import annotations

import pytest

from bench.cli import main

BASE = ["slo", "--base-url", "http://127.0.0.1:9", "--health-timeout", "0.5"]


@pytest.mark.parametrize(
    ("flags", "code", "message"),
    [
        (["--slo", "ttft_p95_ms=100"], 2, "Error: --slo: unknown key 'ttft_p95_ms'"),
        (["--slo", "ttft_p99_ms=100", "--min", "64", "--max", "8"], 2,
         "Error: --min (64) is greater than --max (8)"),
        (["--slo", "ttft_p99_ms=100", "--precision", "0"], 2,
         "Error: --precision must be > 0, got 0.0"),
        (["--slo", "ttft_p99_ms=100", "--precision", "-1"], 2,
         "Error: --precision must be > 0, got -1.0"),
        (["--slo", "ttft_p99_ms=100", "--min", "1.5"], 2,
         "Error: --min must be an integer >= 1 for max_concurrency"),
        (["--slo", "ttft_p99_ms"], 2, "Error: --slo: 'ttft_p99_ms' is not KEY=VALUE"),
        (["--slo", "ttft_p99_ms=100", "--attainment", "1.5"], 2,
         "Error: --attainment must be a fraction in (0, 1)"),
        (["--slo", "ttft_p99_ms=100", "--max-concurrency", "4"], 2,
         "--max-concurrency is what the search varies; leave it out"),
        (["--slo", "ttft_p99_ms=100", "--axis", "request_rate", "--request-rate", "4"], 2,
         "--request-rate is what the search varies; leave it out"),
        (["--slo", "ttft_p99_ms=100", "--axis", "request_rate", "--prompts-per-concurrency",
          "2"], 2, "--prompts-per-concurrency needs --axis max_concurrency"),
        (["--slo", "ttft_p99_ms=100", "--resume"], 2, "--resume needs --out DIR"),
        (["--slo", "ttft_p99_ms=100", "--flush", "cache"], 2, '--flush must be "auto", "none"'),
    ],
)  # fmt: skip
def test_bad_input_is_one_line(tmp_path, capsys, flags, code, message):
    assert main([*BASE, *flags, "--out", str(tmp_path / "out")] if "--resume" not in flags
                else [*BASE, *flags]) == code  # fmt: skip
    err = capsys.readouterr().err
    assert err.startswith("Error: ") and message in err and err.count("\n") == 1, err
    assert not (tmp_path / "out").exists()


def test_an_existing_directory_is_never_written_into(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("keep")
    assert main([*BASE, "--slo", "ttft_p99_ms=100", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "already exists" in err and "--resume" in err and err.count("\n") == 1
    assert [p.name for p in out.iterdir()] == ["mine.txt"]


def test_a_server_that_is_not_there_fails_the_search_and_says_so(tmp_path, capsys):
    out = tmp_path / "out"
    assert main([*BASE, "--slo", "ttft_p99_ms=100", "--out", str(out)]) == 1
    captured = capsys.readouterr()
    assert "search: configuration failed: server did not start" in captured.err
    assert (out / "study.json").is_file()  # what there is, on disk
