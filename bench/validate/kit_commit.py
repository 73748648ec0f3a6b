"""Does the kit commit a measured document names exist? Asked of the kit's own checkout.

Offline, "exists" can only mean: the commit is an object in the git repository the kit is
running from. So the answer is one of three:
- the kit runs from a complete (not shallow) checkout and has the commit: nothing to say;
- it runs from a complete checkout without it: an error, since nobody can check out the
  code that measured the result (a fork's commit, or one never pushed);
- it cannot tell (installed from a wheel, git missing, a shallow clone): a warning that
  the commit could not be checked here, never an error.
Only `measured` documents are asked (see `checks_provenance`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from bench.validate.findings import Issue, Level, pointer, sub

_HEX = re.compile(r"^[0-9a-f]{7,40}$")


def kit_commit_issues(doc: Any, repo: Path | None = None) -> list[tuple[Level, Issue]]:
    """(level, issue) for the kit commit of a measured document; [] when it checks out.
    `repo` is the kit's checkout (default: the one this kit is imported from)."""
    from bench.system.git import KIT_ROOT, has_commit, kit_checkout

    repo = KIT_ROOT if repo is None else repo

    if not isinstance(doc, dict) or doc.get("kind") != "measured":
        return []
    commit = sub(doc, "provenance").get("git_commit")
    if not isinstance(commit, str) or not _HEX.match(commit):
        return []  # absent: checks_provenance says so; malformed: the schema does
    where = pointer("provenance", "git_commit")
    complete, why = kit_checkout(repo)
    if not complete:
        return [("warning", Issue(where, f"kit commit {commit} cannot be checked here: {why}"))]
    if has_commit(commit, repo):
        return []
    return [
        (
            "error",
            Issue(
                where,
                f"kit commit {commit} does not exist in the kit's git history: the code that "
                "measured this cannot be checked out (a fork's commit, or one never pushed?)",
            ),
        )
    ]
