"""Provenance of a measured document: can anyone tell what ran, and rebuild it?

Pure checks of the document (the one check that needs the kit's git history, whether the
kit commit exists, is in `kit_commit`, run where files are read). They apply to `measured`
documents only: a simulated run describes the kit's own simulator (its provenance is the
kit), and a reported one copies a publication, which records what it records.

- the environment capture is complete or says why not: every field of `system` and
  `software` left null (and a null kit commit) has its reason in the section's `missing`
  map; a null without a reason is an error, since the kit's own capture always gives one;
- the kit commit is recorded (warning with the reason when not), and the tree was clean
  (a dirty tree is a warning: the commit alone does not rebuild the kit that ran);
- the server's image digest is recorded when it ran in a container (a tag can move; a
  warning, with the reason the document gives);
- the model revision is a commit or a tag (warning when absent, or when it looks like
  neither; the schema already refuses `latest`, `master`, `main` and `HEAD`).
"""

from __future__ import annotations

import re
from typing import Any

from bench.validate.findings import Issue, pointer, sub

# (section, dotted field) for every fact the environment capture records.
CAPTURED_FIELDS: tuple[tuple[str, str], ...] = (
    ("system", "product"),
    ("system", "accelerator.name"),
    ("system", "accelerator.count"),
    ("system", "accelerator.hbm_capacity_gib"),
    ("system", "accelerator.driver_version"),
    ("system", "accelerator.firmware_version"),
    ("system", "host.cpu_model"),
    ("system", "host.cpu_count"),
    ("system", "host.memory_gib"),
    ("system", "host.os"),
    ("system", "host.kernel"),
    ("system", "host.architecture"),
    ("software", "engine.version"),
    ("software", "cann_version"),
    ("software", "torch_version"),
    ("software", "torch_npu_version"),
    ("software", "python_version"),
    ("software", "image.name"),
    ("software", "image.digest"),
)
# A commit id of a hub (git: 40 hex; short forms accepted) or a version-like tag.
_COMMIT = re.compile(r"^[0-9a-f]{7,64}$")
_VERSION_TAG = re.compile(r"^(refs/tags/)?v?\d+(\.\d+)*([-+._][0-9A-Za-z.+-]+)?$")


def _value(section: dict[str, Any], dotted: str) -> Any:
    node: Any = section
    for part in dotted.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def reason_for(missing: dict[str, Any], dotted: str) -> str | None:
    """The reason `missing` gives for a field: its own key, or a parent's (`image` covers
    `image.digest`)."""
    parts = dotted.split(".")
    for n in range(len(parts), 0, -1):
        reason = missing.get(".".join(parts[:n]))
        if isinstance(reason, str) and reason.strip():
            return reason.strip()
    return None


def _measured(doc: Any) -> bool:
    return isinstance(doc, dict) and doc.get("kind") == "measured"


def check_capture_complete(doc: Any) -> list[Issue]:
    """Every null the environment capture left has its reason in `missing`."""
    if not _measured(doc):
        return []
    out = []
    for section_name, dotted in CAPTURED_FIELDS:
        section = sub(doc, section_name)
        if _value(section, dotted) is not None:
            continue
        if reason_for(sub(section, "missing"), dotted) is None:
            out.append(
                Issue(
                    pointer(section_name, *dotted.split(".")),
                    f"{section_name}.{dotted} is null and {section_name}.missing gives no "
                    "reason: the capture must be complete or say why not",
                )
            )
    provenance = sub(doc, "provenance")
    missing = sub(sub(doc, "software"), "missing")
    if (
        provenance.get("git_commit") is None
        and reason_for(missing, "provenance.git_commit") is None
    ):
        out.append(
            Issue(
                pointer("provenance", "git_commit"),
                "the kit commit is null and software.missing gives no reason "
                "(provenance.git_commit)",
            )
        )
    return out


def check_kit_commit_recorded(doc: Any) -> list[Issue]:
    """The kit commit is known and its tree was clean."""
    if not _measured(doc):
        return []
    provenance = sub(doc, "provenance")
    commit, dirty = provenance.get("git_commit"), provenance.get("git_dirty")
    missing = sub(sub(doc, "software"), "missing")
    if commit is None:
        why = reason_for(missing, "provenance.git_commit")
        if why is None:
            return []  # check_capture_complete reports it as an error
        return [
            Issue(
                pointer("provenance", "git_commit"),
                f"the kit commit is not recorded ({why}): which code measured this is unknown",
            )
        ]
    if dirty is True:
        return [
            Issue(
                pointer("provenance", "git_dirty"),
                f"the kit's tree had uncommitted changes when it ran: commit {commit} alone "
                "does not rebuild the code that measured this",
            )
        ]
    if dirty is None:
        return [
            Issue(
                pointer("provenance", "git_dirty"),
                "whether the kit's tree was clean is not recorded",
            )
        ]
    return []


def check_image_digest(doc: Any) -> list[Issue]:
    """A server that ran in a container names its image by digest, not only by tag."""
    if not _measured(doc):
        return []
    software = sub(doc, "software")
    image = sub(software, "image")
    if not image.get("name") or image.get("digest"):
        return []
    why = reason_for(sub(software, "missing"), "image.digest")
    if why is None:
        return []  # check_capture_complete reports it as an error
    return [
        Issue(
            pointer("software", "image", "digest"),
            f"the server ran in image {str(image['name'])[:120]!r} but its digest is not "
            f"recorded ({why[:200]}): a tag can be moved to other contents",
        )
    ]


def check_model_revision(doc: Any) -> list[Issue]:
    """The weights are named by a commit or a tag, not left open or named by a branch."""
    if not _measured(doc):
        return []
    revision = sub(doc, "model").get("revision")
    where = pointer("model", "revision")
    if revision is None:
        return [
            Issue(
                where,
                "the model revision is not recorded: which weights ran is unknown "
                "(`bench model --revision` pins a commit or tag and records it)",
            )
        ]
    if not isinstance(revision, str):
        return []  # the schema reports the wrong type
    if _COMMIT.match(revision) or _VERSION_TAG.match(revision):
        return []
    return [
        Issue(
            where,
            f"model revision {revision[:80]!r} is neither a commit id nor a version tag; "
            "if it is a branch, the weights it names can change: record the commit",
        )
    ]


# Errors for measured documents: a null the capture does not explain.
STRUCTURE_CHECKS = [check_capture_complete]
# Warnings: facts a reviewer wants and cannot always have.
ADVICE_CHECKS = [check_kit_commit_recorded, check_image_digest, check_model_revision]
