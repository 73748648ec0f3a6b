"""`bench compare A B`: metrics side by side with B ÷ A, and the settings that differ."""

from __future__ import annotations

import re

import report_docs as docs

from bench.cli import main


def _row(out: str, label: str) -> list[str]:
    line = next(line for line in out.splitlines() if line.startswith(f"| {label} "))
    return [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]


def test_same_setup_at_half_the_speed_gives_half_the_throughput(tmp_path, capsys):
    a = docs.write(tmp_path, "a.json", docs.measured())
    b = docs.write(tmp_path, "b.json", docs.slower(docs.measured(), 0.5))
    assert main(["compare", str(a), str(b)]) == 0
    out = capsys.readouterr().out
    assert _row(out, "output tok/s") == ["output tok/s", "913.0", "456.5", "0.50×"]
    assert _row(out, "TTFT p50 ms")[3] == "1.00×"
    assert "## Settings that differ\n\nNone." in out
    assert f"**A** (measured, valid, 4 warnings): `{a}`" in out


def test_settings_that_differ_are_listed_with_both_values(tmp_path, capsys):
    a = docs.write(tmp_path, "a.json", docs.measured())
    b = docs.write(tmp_path, "b.json", docs.simulated())
    assert main(["compare", str(a), str(b)]) == 0
    out = capsys.readouterr().out
    assert _row(out, "engine") == ["engine", "sglang", "bench-sim"]
    assert _row(out, "CANN") == ["CANN", "8.2.RC1", "—"]
    assert "A is measured and B is simulated" in out
    # same name: paired; different names but the same lengths: paired, differences listed
    assert "## latency latency-4096-512\n" in out
    assert "## throughput throughput-512-256-rate4 / throughput-512-256\n" in out
    assert _row(out, "workload dataset") == ["workload dataset", "random-ids", "random"]
    assert _row(out, "workload request\\_rate\\_rps") == [
        "workload request\\_rate\\_rps",
        "4.0",
        "—",
    ]
    assert "Only in" not in out


def test_runs_with_nothing_in_common_are_named_not_dropped(tmp_path, capsys):
    other = docs.measured()
    other["measurements"]["latency"] = []
    a = docs.write(tmp_path, "a.json", docs.measured())
    b = docs.write(tmp_path, "b.json", other)
    assert main(["compare", str(a), str(b)]) == 0
    assert "Only in A: latency run latency-4096-512." in capsys.readouterr().out


def test_hostile_text_is_escaped_in_the_comparison(tmp_path, capsys):
    hostile = docs.measured()
    hostile["software"]["engine"]["version"] = "<script>|x"
    a = docs.write(tmp_path, "a.json", docs.measured())
    b = docs.write(tmp_path, "b.json", hostile)
    assert main(["compare", str(a), str(b)]) == 0
    out = capsys.readouterr().out
    assert "<script>" not in out
    assert _row(out, "engine version") == ["engine version", "0.5.3", "&lt;script&gt;\\|x"]


def test_a_missing_or_broken_file_is_one_line_error(tmp_path, capsys):
    a = docs.write(tmp_path, "a.json", docs.measured())
    assert main(["compare", str(a), str(tmp_path / "nope.json")]) == 1
    assert capsys.readouterr().err.startswith("Error: B: file not found")
    bad = tmp_path / "bad.json"
    bad.write_text("{", encoding="utf-8")
    assert main(["compare", str(bad), str(a)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Error: A:") and err.count("\n") == 1
