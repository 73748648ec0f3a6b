"""The kit's own git checkout: which commit it is at, and whether a commit is in it.

Two callers: `bench.system.capture` records the commit a run used; the validator checks that the
commit a measured document names exists in the kit's history. Both ask the checkout the
kit is imported from (an editable install or a run from the source tree), never the
current directory. Every git call has a timeout; a missing git, a timeout or a failing
command is `None`, never an exception.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

KIT_ROOT = Path(__file__).resolve().parents[2]  # the directory holding bench/
GIT_TIMEOUT_S = 5.0


def git(*args: str, repo: Path = KIT_ROOT, timeout: float = GIT_TIMEOUT_S) -> str | None:
    """stdout of `git -C repo ARGS`, or None when git is absent, slow or fails."""
    try:
        p = subprocess.run(
            ["git", "-C", str(repo), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return p.stdout if p.returncode == 0 else None


def is_top(repo: Path) -> bool:
    """Whether `repo` is the top of a git work tree (not a directory inside one: a kit
    installed in site-packages can lie inside some other repository)."""
    top = git("rev-parse", "--show-toplevel", repo=repo)
    return top is not None and Path(top.strip()).resolve() == repo.resolve()


def head_and_dirty(repo: Path = KIT_ROOT) -> tuple[str | None, bool | None]:
    """(HEAD commit, whether tracked files have uncommitted changes) of the checkout whose
    top is `repo`; (None, None) when `repo` is not the top of one."""
    if not is_top(repo):
        return None, None
    commit = git("rev-parse", "HEAD", repo=repo)
    if commit is None:
        return None, None
    status = git("status", "--porcelain", "--untracked-files=no", repo=repo)
    return commit.strip(), (bool(status.strip()) if status is not None else None)


def kit_checkout(repo: Path = KIT_ROOT) -> tuple[bool, str]:
    """(True, "") when `repo` is the top of a complete git checkout; else (False, why not).

    The top must be `repo` itself: a kit installed inside some other repository (a venv in
    a project) must not be checked against that project's history. A shallow clone lacks
    old commits, so an absent commit proves nothing there.
    """
    if git("rev-parse", "--show-toplevel", repo=repo) is None:
        return False, "the kit is not running from a git checkout (or git is not installed)"
    if not is_top(repo):
        return False, f"the kit at {repo} is not the top of a git checkout"
    shallow = git("rev-parse", "--is-shallow-repository", repo=repo)
    if shallow is None or shallow.strip() != "false":
        return False, "the kit's checkout is shallow (clone with full history to check)"
    return True, ""


def has_commit(commit: str, repo: Path = KIT_ROOT) -> bool:
    """Whether `commit` (full or abbreviated hex) names a commit object in `repo`."""
    return git("rev-parse", "--verify", "--quiet", f"{commit}^{{commit}}", repo=repo) is not None
