"""Not yet available: see the open issues."""

from __future__ import annotations

import argparse

from bench.errors import BenchError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace) -> int:
    raise BenchError("`bench selftest` is not yet available in this version of the kit")
