"""Check that a server's answers are right: speed means nothing if the output is garbage.

Asks --questions seeded arithmetic questions with exact integer answers ("What is 4821 + 397?
Answer with the number only."), one at a time at temperature 0 through the openai SDK,
scores each reply (every number in it must equal the answer; see docs/sanity.md) and prints
how many were right. A failed request is a wrong answer with its reason. --out writes the
result document's `sanity` object; the per-question records (question, expected answer,
reply, verdict) go beside it. The flags are the keys of a profile's [[sanity]] entry, with
the same defaults.

Example:
  python -m bench sanity --base-url http://127.0.0.1:30000 --out sanity.json

Exit codes: 0 accuracy at or above --min-accuracy, 1 below it (the server's answers are
wrong; a result document with this check is invalid) or --out exists, 2 usage error,
130 Ctrl-C (the records keep every question answered so far).
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from bench.cli.measuring import add_workload_arguments
    from bench.workload.sanity import SanitySpec
    from bench.workload.spec import LATENCY_APIS

    parser.add_argument("--base-url", required=True, help="server URL, e.g. http://127.0.0.1:30000")
    parser.add_argument("--model", help="model name to request (default: the first /v1/models id)")
    parser.add_argument("--out", type=Path, help="write the sanity object (JSON) here")
    parser.add_argument(
        "--records", type=Path, help="per-question records file (default: OUT.records.jsonl)"
    )
    parser.add_argument("--name", default="sanity", help="name of the check (default sanity)")
    add_workload_arguments(parser, SanitySpec, {"api": LATENCY_APIS})


def run(args: argparse.Namespace) -> int:
    from bench.cli.measuring import measure, workload_from_args
    from bench.client.sanity import passed, run_sanity, summary_lines
    from bench.client.target import resolve_target
    from bench.jsonio import write_json_atomic
    from bench.records.sanity import read_sanity_records
    from bench.workload.sanity import SanitySpec

    spec = workload_from_args(args, SanitySpec)
    target = resolve_target(args.base_url, model=args.model, need_tokenizer=False)
    sanity = measure(args, "sanity", lambda path: run_sanity(spec, target, path, name=args.name))
    records = read_sanity_records(sanity["records"]["path"])
    print(f"bench sanity against {target.base_url} (model {target.model})")
    print("\n".join(summary_lines(sanity, records)))
    if args.out:
        write_json_atomic(args.out, sanity, overwrite=False)
        print(f"sanity written to {args.out}")
    print(f"records: {sanity['records']['path']} (sha256 {sanity['records']['sha256'][:12]}...)")
    return 0 if passed(sanity) else 1
