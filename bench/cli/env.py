"""Capture the system and software environment: accelerator, driver, CANN, engine, host, image.

Everything that cannot be read (no NPU, no CANN, no Docker engine, no server) is null with
the reason under `missing`; the command still succeeds. Environment variables are kept
only from an allow-list (ASCEND_*, HCCL_*, SGLANG_*, PYTORCH_NPU_*, ...), and anything
that looks like a token, key or password is redacted.

Examples:
  python -m bench env
  python -m bench env --base-url http://127.0.0.1:30000 --json
  python -m bench env --container sglang-server --json   (on the host, with Docker)
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--base-url", metavar="URL", help="ask this server for its version")
    parser.add_argument(
        "--container", metavar="NAME", help="container to read the image name and digest of"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def render(env: dict) -> str:
    from tabulate import tabulate

    rows = []
    for section in ("system", "software", "provenance"):
        for key, value in env[section].items():
            if key in ("missing", "env"):
                continue
            if isinstance(value, dict):
                rows += [
                    (f"{section}.{key}.{k}", "-" if v is None else v) for k, v in value.items()
                ]
            else:
                rows.append((f"{section}.{key}", "-" if value is None else value))
    blocks = [tabulate(rows, headers=["field", "value"])]
    variables = env["software"].get("env") or {}
    if variables:
        blocks.append(tabulate(sorted(variables.items()), headers=["variable", "value"]))
    missing = {**env["system"].get("missing", {}), **env["software"].get("missing", {})}
    if missing:
        blocks.append(tabulate(sorted(missing.items()), headers=["missing", "why"]))
    return "\n\n".join(blocks)


def run(args: argparse.Namespace) -> int:
    import json

    from bench.system.capture import capture_environment

    env = capture_environment(base_url=args.base_url, container=args.container)
    print(json.dumps(env, ensure_ascii=False) if args.json else render(env))
    return 0
