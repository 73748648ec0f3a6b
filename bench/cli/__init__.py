"""`python -m bench <command>`: a thin layer over the library.

Each command is one module in this package exposing `add_arguments(parser)` and
`run(args) -> int`. Those modules import only the standard library at top level, so
`--help` stays fast; the library is imported inside `run`. Errors surface here, once:
a `BenchError` becomes one `Error: ...` line on stderr and its exit code.

Exit codes: 0 success, 1 failure (invalid input, failed run, invalid result),
2 usage error, 130 interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from bench import __version__
from bench.errors import BenchError

# (command, module, one-line help). A plain ordered list: the order is the order of `--help`.
COMMANDS: list[tuple[str, str, str]] = [
    ("run", "bench.cli.run", "run a workload profile and write a complete result document"),
    ("throughput", "bench.cli.throughput", "load-generate against a server and measure throughput"),
    ("latency", "bench.cli.latency", "measure single-request TTFT/TPOT with the OpenAI SDK"),
    ("sanity", "bench.cli.sanity", "check that the server's answers are right, beside its speed"),
    ("selftest", "bench.cli.selftest", "measure the client's own error against the simulator"),
    ("study", "bench.cli.study", "run a study: configurations x loads x repeats, with confidence"),
    ("slo", "bench.cli.slo", "find the most load a running server takes within an SLO"),
    ("sim", "bench.cli.sim", "start the simulated SGLang-on-Atlas server"),
    ("memory", "bench.cli.memory", "read and reconcile device memory (log, npu-smi, model)"),
    ("env", "bench.cli.env", "capture the system and software environment"),
    ("roofline", "bench.cli.roofline", "put a result beside the hardware's physical limits"),
    ("model", "bench.cli.model", "download a model from ModelScope at a pinned revision"),
    ("validate", "bench.cli.validate", "check result documents: schema and internal consistency"),
    ("report", "bench.cli.report", "aggregate result documents into a Markdown report"),
    ("submit", "bench.cli.submit", "validate a result and file it under results/"),
    ("verify", "bench.cli.verify", "check a signed result: its SSH signature and records hashes"),
    (
        "compare",
        "bench.cli.compare",
        "compare two results side by side, and whether each difference is real",
    ),
]


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        command = " ".join(self.prog.split()[1:])  # "bench validate" -> "validate"
        hint = f"python -m bench {command} --help" if command else "python -m bench --help"
        sys.stderr.write(f"Error: {message} (see `{hint}`)\n")
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="bench",
        description="Reproducibility kit for LLM serving benchmarks on Huawei Ascend NPUs.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, module_name, help_text in COMMANDS:
        module = importlib.import_module(module_name)
        doc = (module.__doc__ or help_text).strip()
        p = sub.add_parser(
            name,
            help=help_text,
            description=doc,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(p)
        p.set_defaults(_module=module, _parser=p)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        # Name the command whose flags were wrong, not the top-level parser.
        (getattr(args, "_parser", None) or parser).error(
            f"unrecognized arguments: {' '.join(unknown)}"
        )
    if not getattr(args, "_module", None):
        parser.print_help()
        return 2
    try:
        return int(args._module.run(args) or 0)
    except BenchError as exc:
        sys.stderr.write(f"Error: {exc}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("Interrupted.\n")
        return 130
