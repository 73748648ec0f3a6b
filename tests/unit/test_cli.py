"""The command line: every command is listed, documented and fails cleanly."""

from __future__ import annotations

import subprocess
import sys

from bench.cli import COMMANDS, build_parser, main


def test_every_command_has_help_text_and_a_description():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name, _module, help_text in COMMANDS:
        assert help_text, name
        assert sub.choices[name].description.strip(), f"{name} has no description"


def test_top_level_help_lists_every_command():
    out = subprocess.run(
        [sys.executable, "-m", "bench", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for name, _module, _help in COMMANDS:
        assert name in out


def test_unknown_command_is_a_usage_error(capsys):
    try:
        main(["no-such-command"])
    except SystemExit as exc:
        assert exc.code == 2
    err = capsys.readouterr().err
    assert err.startswith("Error:") and err.count("\n") == 1


def test_an_unknown_flag_names_the_command_it_was_given_to(capsys):
    try:
        main(["validate", "--no-such-flag", "x.json"])
    except SystemExit as exc:
        assert exc.code == 2
    err = capsys.readouterr().err
    assert "unrecognized arguments: --no-such-flag" in err
    assert "`python -m bench validate --help`" in err
    assert err.count("\n") == 1
