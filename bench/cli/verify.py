"""Verify signed result documents: the SSH signature, and the sha256 of every records file.

For each FILE, FILE.sig must be a signature of FILE's bytes (`ssh-keygen -Y verify`,
namespace ascend-bench-kit) by a key listed in --allowed-signers, and every records file
the document names must be beside it (at the relative path it names) with the sha256 it
states. The signature covers the document, and the document states its records' hashes,
so one changed byte in either fails, naming the file. A DIRECTORY means every document
below it that has a .sig (a .sig whose document is gone fails too); a directory with none
is not an error.

One line per document: `verified` (and by whom), `UNKNOWN SIGNER` (a good signature by a
key that is not listed; add it to allowed_signers in the same pull request), `FAILED`
(with the reason), `UNSIGNED`, or `UNCHECKED` (no ssh-keygen here; OpenSSH 8.2 or later).

Exit status: 0 every document verified, 1 any other outcome, 2 usage error.

Example:
  python -m bench verify results/910b3-x1/qwen-qwen2-7b-instruct/sglang/2026-...json
  python -m bench verify results --allowed-signers results/allowed_signers
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths", nargs="+", metavar="FILE", help="signed result documents or directories"
    )
    parser.add_argument(
        "--allowed-signers",
        type=Path,
        default=Path("results/allowed_signers"),
        metavar="FILE",
        help="ssh-keygen allowed_signers file: who may sign (default: results/allowed_signers)",
    )


def expand(paths: list[str]) -> tuple[list[Path], list[Path]]:
    """(documents to verify, signatures whose document is gone). A directory gives the
    documents below it that have a .sig, sorted."""
    from bench.trust.verify import SIGNATURE_SUFFIX

    documents: list[Path] = []
    orphans: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if not path.is_dir():
            documents.append(path)
            continue
        for sig in sorted(path.rglob(f"*.json{SIGNATURE_SUFFIX}")):
            doc = sig.with_name(sig.name.removesuffix(SIGNATURE_SUFFIX))
            if doc.is_file():
                documents.append(doc)
            else:
                orphans.append(sig)
    return documents, orphans


def run(args: argparse.Namespace) -> int:
    from bench.errors import InputError, UsageError
    from bench.trust.verify import verify_submission

    if not args.allowed_signers.is_file():
        raise UsageError(f"--allowed-signers: file not found: {args.allowed_signers}")
    documents, orphans = expand(args.paths)
    counts: dict[str, int] = {}
    for sig in orphans:
        print(f"{sig}: FAILED: its document {sig.name.removesuffix('.sig')} is not there")
        counts["failed"] = counts.get("failed", 0) + 1
    for doc in documents:
        if not doc.is_file():
            raise InputError(f"result file not found: {doc}")
        result = verify_submission(doc, args.allowed_signers)
        print(result.line())
        counts[result.status] = counts.get(result.status, 0) + 1
    total = len(documents) + len(orphans)
    verified = counts.get("verified", 0)
    others = ", ".join(
        f"{n} {status}" for status, n in sorted(counts.items()) if status != "verified"
    )
    sys.stdout.write(
        f"{total} signed document(s) checked: {verified} verified"
        + (f", {others}" if others else "")
        + "\n"
    )
    return 0 if verified == total else 1
