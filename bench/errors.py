"""The kit's errors. Library code raises these; only the CLI turns them into exit codes."""

from __future__ import annotations


class BenchError(Exception):
    """A failure the user can act on: printed as one `Error: ...` line, exit code 1."""

    exit_code = 1


class UsageError(BenchError):
    """A wrong flag or argument combination: exit code 2."""

    exit_code = 2


class InputError(BenchError):
    """Untrusted input (a result file, a log, a stream) that cannot be read: exit code 1."""
