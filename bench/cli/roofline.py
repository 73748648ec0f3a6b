"""Put a result beside the hardware's physical limits (the roofline lower bounds).

Decode: every step reads all weights plus each sequence's KV cache, so
  TPOT_min = (W + B x kv_bytes_per_token x C) / (n x HBM bandwidth)
Prefill: TTFT_min = max((2 x P x N_in + 2 x L x N_in^2 x d_attn) / (n x peak FLOPS),
                        W / (n x HBM bandwidth))
Efficiency = bound / measured. Peaks come from bench/data/hardware.toml (published Ascend
910B figures disagree: the file says where each number comes from); override them with
measured ones. docs/memory.md ("bench roofline") says what the bounds leave out.

Examples:
  python -m bench roofline results/reference/article-qwen2-7b-atlas800t-sglang.json
  python -m bench roofline result.json --hbm-tb-s 1.6 --tflops 313 --json
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="a result document (JSON)")
    parser.add_argument("--hbm-tb-s", type=float, metavar="X", help="HBM bandwidth per chip, TB/s")
    parser.add_argument("--tflops", type=float, metavar="Y", help="dense BF16 TFLOPS per chip")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def render(result: dict) -> str:
    from tabulate import tabulate

    hw = result["hardware"]
    kind = result.get("kind") or "unknown"
    label = {
        "simulated": "SIMULATED result",
        "reported": "REPORTED result (a publication's figures)",
    }
    lines = [
        f"roofline of a {label.get(kind, kind + ' result')}",
        f"hardware: {hw['count']} x {hw['accelerator']} at {hw['hbm_tb_s']} TB/s HBM, "
        f"{hw['bf16_tflops']} TFLOPS BF16 dense (peaks: "
        f"{'override ' + ', '.join(hw['overridden']) if hw['overridden'] else hw['peaks_from']}, "
        f"confidence {hw['confidence']})",
        "",
        f"decode:  {result['formulas']['decode']}",
        f"prefill: {result['formulas']['prefill']}",
        "",
    ]
    rows = []
    for r in result["runs"]:
        d, p = r.get("decode") or {}, r.get("prefill") or {}
        rows.append(
            [
                r["name"],
                r["input_tokens"],
                d.get("batch"),
                d.get("tpot_ms"),
                d.get("tpot_min_ms"),
                d.get("efficiency_pct"),
                p.get("ttft_ms"),
                p.get("ttft_min_ms"),
                p.get("efficiency_pct"),
            ]
        )
    lines.append(
        tabulate(
            rows,
            headers=[
                "run",
                "N_in",
                "B",
                "TPOT ms",
                "TPOT_min ms",
                "decode eff %",
                "TTFT ms",
                "TTFT_min ms",
                "prefill eff %",
            ],
            missingval="-",
        )
    )
    for r in result["runs"]:
        lines += [f"{r['name']}: {note}" for note in r.get("notes", [])]
    lines += ["", "left out: " + "; ".join(result["leaves_out"])]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    import json

    from bench.errors import InputError, UsageError
    from bench.jsonio import load_document
    from bench.roofline import analyse

    for flag, value in (("--hbm-tb-s", args.hbm_tb_s), ("--tflops", args.tflops)):
        if value is not None and not value > 0:
            raise UsageError(f"{flag} must be a positive number")
    doc = load_document(args.file)
    peaks = {"hbm_tb_s": args.hbm_tb_s, "bf16_tflops": args.tflops}
    result = analyse(doc, peaks)
    if result is None:
        raise InputError(
            f"{args.file}: cannot bound it: needs model.parameter_count or weight_bytes, an "
            "accelerator named in bench/data/hardware.toml (or --hbm-tb-s and --tflops), "
            "and a run with TTFT or TPOT"
        )
    print(json.dumps(result, ensure_ascii=False) if args.json else render(result))
    return 0
