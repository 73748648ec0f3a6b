"""Download a model from ModelScope at a pinned revision, or verify an earlier download.

The model lands in MODELS_DIR/<owner>/<name> with MANIFEST.sha256 (every file's SHA-256,
`sha256sum -c` format) and MODEL_SOURCE.json (what was asked for and what it resolved to).
Running it again verifies the files against the manifest instead of downloading; a file
that changed is refused by name (--repair fetches it again). A branch such as `master`
can move, so it is refused unless --allow-unpinned; `--list-revisions` shows the tags and
branches to choose from.

Serve the directory with `--model-path`; SGLANG_USE_MODELSCOPE is then not needed.

  python -m bench model --model Qwen/Qwen2-7B-Instruct --revision <commit-or-tag>
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model",
        default=os.environ.get("MODEL", "Qwen/Qwen2-7B-Instruct"),
        help="model id on ModelScope, owner/name (default: $MODEL or %(default)s)",
    )
    parser.add_argument(
        "--revision",
        default=os.environ.get("MODEL_REVISION", ""),
        help="commit id (40 hex) or tag to download (default: $MODEL_REVISION)",
    )
    parser.add_argument(
        "--models-dir",
        type=Path,
        default=Path(os.environ.get("MODELS_DIR", "models")),
        help="directory holding <owner>/<name> (default: $MODELS_DIR or %(default)s)",
    )
    parser.add_argument(
        "--allow-unpinned",
        action="store_true",
        help="accept a branch (e.g. master) and record the commit it pointed to",
    )
    parser.add_argument(
        "--repair",
        action="store_true",
        help="fetch files that fail MANIFEST.sha256 again (the same revision must give "
        "the same bytes)",
    )
    parser.add_argument(
        "--endpoint",
        default=os.environ.get("MODELSCOPE_ENDPOINT") or None,
        help="hub URL (default: $MODELSCOPE_ENDPOINT or ModelScope's own)",
    )
    parser.add_argument(
        "--list-revisions",
        action="store_true",
        help="print the model's tags and branches on the hub, then exit",
    )


def run(args: argparse.Namespace) -> int:
    from bench import modelhub

    if args.list_revisions:
        branches, tags = modelhub.HubClient(args.endpoint).revisions(args.model)
        for kind, items in (("tag", tags), ("branch", branches)):
            for item in items:
                commit = item.get("CommitId") or ""
                print(f"{kind:<7}{item.get('Revision')}\t{commit}".rstrip())
        if not tags:
            print(f"{args.model} has no tags; pin a commit id from the hub's history page")
        return 0
    request = modelhub.ModelRequest(
        model_id=args.model,
        revision=args.revision.strip(),
        models_dir=args.models_dir,
        allow_unpinned=args.allow_unpinned,
        endpoint=args.endpoint,
        repair=args.repair,
    )
    directory = modelhub.ensure_model(request)
    print(f"model ready: {directory}")
    return 0
