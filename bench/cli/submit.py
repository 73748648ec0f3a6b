"""Validate a result document and file it under results/ for a pull request.

The document is checked by `bench validate` (schema, internal consistency, provenance, and
the records beside it). An invalid one is refused with its findings; a valid one is copied
byte for byte to

    results/<hardware>/<model>/<engine>/<date>-<submitter>-<short-hash>.json

(each part a safe slug; the hash is of the file), and each records file it names is copied
to the same relative path beside it (DOCUMENT.records/ for `bench run`), so the document's
records sha256 can be checked where it is filed. An existing file is never overwritten.
Simulated results are refused unless --allow-simulated: the leaderboard is for hardware.

--sign KEY signs the document with an SSH key (`ssh-keygen -Y sign`, namespace
ascend-bench-kit; the key you sign Git commits with will do) and files the signature as
DOCUMENT.json.sig. The document states each records file's sha256, so the one signature
covers the records too; every records file must then be beside the document. A key with a
passphrase asks for it on a terminal; without one (CI, a pipe) the command fails at once
instead of waiting: load the key into ssh-agent (`ssh-add KEY`) first.
The command then says what to do next: regenerate the report and open a pull request.

Example:
  python -m bench submit runs/my-run.json --sign ~/.ssh/id_ed25519
  make submit FILE=runs/my-run.json
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, metavar="FILE", help="the result document to submit")
    parser.add_argument(
        "--results",
        type=Path,
        default=Path("results"),
        metavar="DIR",
        help="where results are filed (default: results)",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="validate and print the destination, write nothing",
    )
    parser.add_argument(
        "--sign",
        type=Path,
        default=None,
        metavar="KEY",
        help="sign the document with this SSH private key (or a public key held by ssh-agent) "
        "and file DOCUMENT.json.sig beside it",
    )
    parser.add_argument(
        "--allow-simulated",
        action="store_true",
        help="file a simulated result too (for examples; it is labelled simulated everywhere)",
    )


def _finding_line(issue) -> str:
    from bench.report.text import clean

    return f"  {issue.level}: {clean(issue.pointer or '/', 200)}: {clean(issue.message, 500)}"


def run(args: argparse.Namespace) -> int:
    from bench.errors import BenchError, UsageError
    from bench.report.submit import file_submission, plan, refuse_reason
    from bench.trust.sshsig import sign
    from bench.trust.verify import signature_path

    if not args.results.is_dir():
        raise BenchError(f"results directory not found: {args.results}")
    if args.sign is not None and not args.sign.is_file():
        raise UsageError(f"--sign: key file not found: {args.sign}")
    sub = plan(args.file, args.results)
    for issue in sub.issues:
        sys.stderr.write(_finding_line(issue) + "\n")
    reason = refuse_reason(sub, allow_simulated=args.allow_simulated, signing=bool(args.sign))
    if reason:
        raise BenchError(reason)
    for c in sub.records:
        if c.status == "missing":
            sys.stderr.write(f"  note: {c.source} is not there; the document is filed without it\n")
        elif c.status == "refused":
            sys.stderr.write(
                f"  note: records path {c.named.path!r} {c.named.refused}; not filed with it\n"
            )
    warnings = len(sub.warnings)
    note = f"valid; {warnings} warning{'s' if warnings != 1 else ''}, shown in the report"
    records = [c.destination for c in sub.records if c.status in ("copy", "filed")]
    with_records = f" with {len(records)} records file{'s' if len(records) != 1 else ''}"
    if args.dry_run:
        signed = f", signed with {args.sign}" if args.sign else ""
        print(
            f"Would file {args.file} as {sub.destination}{with_records}{signed} ({note}). "
            "Nothing written."
        )
        return 0
    signature = sign(sub.data, args.sign, interactive=sys.stdin.isatty()) if args.sign else None
    dest = file_submission(sub, args.results, signature)
    print(f"Filed {args.file} as {dest}{with_records} ({note}).")
    added = [str(dest), *(str(r) for r in records)]
    if signature is not None:
        print(
            f"Signed it: {signature_path(dest)} (ssh-keygen -Y sign, namespace ascend-bench-kit)."
        )
        added.append(str(signature_path(dest)))
    print("Next:")
    print(f"  1. python -m bench report --results {args.results}   (updates the report and index)")
    if signature is not None:
        pub = args.sign if args.sign.suffix == ".pub" else Path(f"{args.sign}.pub")
        print(f"     if {args.results}/allowed_signers has no line for your key, add one:")
        print(f'     YOUR-EMAIL namespaces="ascend-bench-kit" <the contents of {pub}>')
        print(f"     then: python -m bench verify {dest}")
        added.append(f"{args.results}/allowed_signers")
    print(f"  2. git checkout -b result-{dest.stem}")
    print(f"     git add {' '.join(added)}")
    generated = " ".join(f"{args.results}/{n}" for n in ("REPORT.md", "REPORT-plots", "index.json"))
    print(f"     git add {generated}")
    print(f'     git commit -m "Add result {dest.stem}"')
    print("  3. push the branch and open a pull request; CI validates it, verifies its")
    print("     signature and checks the report is current (results/README.md).")
    return 0
