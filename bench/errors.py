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


class OutputExistsError(BenchError):
    """An output the command would create exists already; nothing is ever overwritten that
    the user did not name for it. Exit code 1, from every command."""

    def __init__(self, path: object, hint: str = "name another output file or move it away"):
        super().__init__(f"{path} already exists; {hint}")
        self.path = path
