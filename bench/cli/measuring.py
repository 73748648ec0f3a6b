"""What `bench throughput` and `bench latency` share: the target flags, the workload flags
(generated from the workload records, so a flag's name, default and help are the field's),
and the measure-then-finish steps. Not a command: it has no `run`.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    """The server to measure and how to reach its tokenizer (one rule for every command)."""
    parser.add_argument("--base-url", required=True, help="server URL, e.g. http://127.0.0.1:30000")
    parser.add_argument("--model", help="model name to request (default: the first /v1/models id)")
    parser.add_argument(
        "--tokenizer",
        help="directory with the model's tokenizer.json (default: --model-dir, --model if it "
        "is one, else the tokenizer the server reports, if it exists here)",
    )
    parser.add_argument("--model-dir", type=Path, help="model directory (its tokenizer.json)")
    parser.add_argument("--out", type=Path, help="write the run object (JSON) here")
    parser.add_argument(
        "--records", type=Path, help="per-request records file (default: OUT.records.jsonl)"
    )


def add_workload_arguments(
    parser: argparse.ArgumentParser, cls: type, choices: dict[str, tuple[str, ...]]
) -> None:
    """One flag per field of the workload record `cls`, with the field's default and help.

    `choices` restricts string fields (e.g. `api`); a bool field that defaults to true
    becomes `--no-KEY`."""
    from bench.strict_toml import field_types
    from bench.workload.spec import flag_of

    types = field_types(cls)
    group = parser.add_argument_group("workload (the keys of a profile's run entry)")
    for field in dataclasses.fields(cls):
        flag, help_text = flag_of(field), field.metadata["help"]
        shown = "inf" if field.name == "request_rate" else field.default
        if types[field.name] == (bool,):
            group.add_argument(
                "--no-" + field.name.replace("_", "-"),
                dest=field.name,
                action="store_false",
                help=f"do not {help_text}",
            )
            continue
        kind = _rate_flag if field.name == "request_rate" else types[field.name][0]
        group.add_argument(
            flag,
            dest=field.name,
            type=kind,
            default=field.default,
            choices=choices.get(field.name),
            help=help_text + ("" if shown is None else f" (default {shown})"),
        )


def _rate_flag(text: str) -> float:
    from bench.errors import UsageError
    from bench.workload.spec import parse_rate

    try:
        return parse_rate(text)
    except UsageError:
        raise argparse.ArgumentTypeError(f'not a number or "inf": {text!r}') from None


def workload_from_args(args: argparse.Namespace, cls: type) -> Any:
    """The workload record from the parsed flags; a bad value is a UsageError naming the
    flag, not the field."""
    from bench.errors import UsageError
    from bench.workload.spec import flag_of

    fields = dataclasses.fields(cls)
    try:
        return cls(**{f.name: getattr(args, f.name) for f in fields})
    except UsageError as exc:
        message = str(exc)
        for f in fields:
            if message.startswith(f.name + " "):
                message = flag_of(f) + message[len(f.name) :]
        raise UsageError(message) from None


def target_from_args(args: argparse.Namespace, need_tokenizer: bool = True) -> Any:
    from bench.client.target import resolve_target

    return resolve_target(
        args.base_url,
        model=args.model,
        tokenizer=args.tokenizer,
        model_dir=args.model_dir,
        need_tokenizer=need_tokenizer,
    )


def records_path(args: argparse.Namespace, command: str, suffix: str = ".records.jsonl") -> Path:
    """--records; else beside --out; else a new name in the working directory."""
    if args.records:
        return args.records
    if args.out:
        return args.out.with_name(args.out.name.removesuffix(".json") + suffix)
    from bench.utc import utc_stamp

    return Path(f"bench-{command}-{utc_stamp()}{suffix}")


def measure(
    args: argparse.Namespace,
    command: str,
    run: Callable[[Path], dict],
    suffix: str = ".records.jsonl",
) -> dict:
    """`run(records path)` for `bench <command>`, refusing an existing --out first; on
    Ctrl-C, say where every finished request is before the interrupt goes on."""
    from bench.errors import OutputExistsError

    if args.out and args.out.exists():
        raise OutputExistsError(args.out, "name another --out file")
    path = records_path(args, command, suffix)
    try:
        return run(path)
    except KeyboardInterrupt:
        sys.stderr.write(f"Interrupted: every finished request is in {path}\n")
        raise


def finish(args: argparse.Namespace, run: dict, title: str) -> int:
    """Print the summary, write --out, and return the exit code."""
    from bench.client.summary import summary_table
    from bench.jsonio import write_json_atomic

    print(title)
    print(summary_table(run))
    if args.out:
        write_json_atomic(args.out, run, overwrite=False)
        print(f"run written to {args.out}")
    print(f"records: {run['records']['path']} (sha256 {run['records']['sha256'][:12]}...)")
    metrics = run["metrics"]
    if metrics["requests_failed"]:
        failures = ", ".join(f"{k}: {v}" for k, v in metrics["failures"].items())
        hint = ""
        if "http_4xx" in metrics["failures"] and args.ignore_eos:
            hint = " (a server that rejects ignore_eos needs --no-ignore-eos)"
        sys.stderr.write(
            f"Error: {metrics['requests_failed']} of {metrics['requests_sent']} requests "
            f"failed ({failures}){hint}; records in {run['records']['path']}\n"
        )
        return 1
    return 0
