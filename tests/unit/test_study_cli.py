"""`bench study` at its edges: what it refuses before anything runs, and --dry-run."""

from __future__ import annotations

from pathlib import Path

from bench.cli import main

REPO = Path(__file__).resolve().parents[2]
DEMO = str(REPO / "studies" / "demo.toml")


def test_an_existing_study_directory_is_not_overwritten_without_resume(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("keep me")
    assert main(["study", DEMO, "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Error: ") and "already exists; add --resume" in err
    assert [p.name for p in out.iterdir()] == ["mine.txt"]


def test_resume_needs_a_study_directory(tmp_path, capsys):
    assert main(["study", DEMO, "--resume"]) == 2
    assert "--resume needs --out DIR" in capsys.readouterr().err
    assert main(["study", DEMO, "--resume", "--out", str(tmp_path)]) == 1
    assert "holds no study.json to resume" in capsys.readouterr().err


def test_a_bad_study_file_is_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text((REPO / "studies" / "demo.toml").read_text().replace("repeats", "repeat"))
    assert main(["study", str(bad), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown key 'repeat' in [study]" in err
    assert not (tmp_path / "out").exists()


def test_dry_run_prints_each_configurations_command_and_cells(capsys):
    assert main(["study", DEMO, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "configuration 1: max_running_requests=8" in out
    assert "--max-running-requests 64" in out and out.count("  cell ") == 6
