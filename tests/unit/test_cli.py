"""The command line: every command is listed, documented and fails cleanly."""

from __future__ import annotations

import subprocess
import sys

import pytest

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
    with pytest.raises(SystemExit) as exc:
        main(["no-such-command"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("Error:") and err.count("\n") == 1


def test_an_unknown_flag_names_the_command_it_was_given_to(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["validate", "--no-such-flag", "x.json"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "unrecognized arguments: --no-such-flag" in err
    assert "`python -m bench validate --help`" in err
    assert err.count("\n") == 1


def test_a_bad_workload_value_names_the_flag(capsys):
    code = main(["throughput", "--base-url", "http://127.0.0.1:9", "--num-prompts", "0"])
    err = capsys.readouterr().err
    assert code == 2 and err == "Error: --num-prompts must be >= 1, got 0\n"


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--workers", "0"], "--workers must be >= 1, got 0"),
        (
            ["--workers", "2", "--driver", "sglang"],
            "--workers is for the kit's load generator (--driver kit)",
        ),
    ],
)
def test_bad_workers_are_one_usage_error_before_anything_is_sent(capsys, flags, message):
    code = main(["throughput", "--base-url", "http://127.0.0.1:9", *flags])
    assert code == 2 and capsys.readouterr().err == f"Error: {message}\n"


def test_a_bad_rate_is_a_usage_error_not_a_traceback(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["throughput", "--base-url", "http://127.0.0.1:9", "--request-rate", "fast"])
    assert exc.value.code == 2
    assert "--request-rate: not a number or \"inf\": 'fast'" in capsys.readouterr().err


def test_workload_flags_have_the_profiles_defaults():
    from bench.workload.spec import LatencyWorkload, ThroughputWorkload

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for command, cls in (("throughput", ThroughputWorkload), ("latency", LatencyWorkload)):
        args = sub.choices[command].parse_args(["--base-url", "http://h:1"])
        assert cls(**{k: getattr(args, k) for k in cls.__dataclass_fields__}) == cls()
