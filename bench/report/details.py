"""The details section: provenance and findings of every result, collapsed.

Works on any document, even one the validator rejected (fields of the wrong type are shown
as missing), because an invalid result is listed with its details too.
"""

from __future__ import annotations

import html

from bench.report import text
from bench.report.results import ResultEntry
from bench.report.rows import dig
from bench.trust.verify import Verification

MAX_FINDINGS = 20  # per result; `bench validate` lists them all


def _kv(label: str, value: str) -> str:
    return f"- {label}: {value}"


def _v(doc: dict, *keys: str, limit: int = 40, missing: str = "—") -> str:
    """One field of a (possibly malformed) document as escaped text."""
    value = dig(doc, *keys)
    return text.inline(value, limit) if value not in (None, "", [], {}) else missing


def _versions(doc: dict) -> str:
    return (
        f"{_v(doc, 'software', 'engine', 'name')} "
        f"{_v(doc, 'software', 'engine', 'version', missing='(version not recorded)')} · "
        f"CANN {_v(doc, 'software', 'cann_version')} · "
        f"torch {_v(doc, 'software', 'torch_version')} · "
        f"torch_npu {_v(doc, 'software', 'torch_npu_version')}"
    )


def _roofline_line(analysis: dict | None) -> str:
    if not analysis:
        return "not computed (the document lacks the model size, a known accelerator or TTFT/TPOT)"
    hw = analysis.get("hardware") or {}
    parts = [f"peaks of {text.inline(hw.get('peaks_from') or hw.get('accelerator'), 40)}"]
    parts.append(f"HBM {text.num(hw.get('hbm_tb_s'), 2)} TB/s")
    parts.append(f"BF16 {text.num(hw.get('bf16_tflops'), 0)} TFLOPS")
    parts.append(f"confidence {text.inline(hw.get('confidence') or 'unknown', 20)}")
    tpot_min, ttft_min = analysis.get("tpot_min_ms"), analysis.get("ttft_min_ms")
    if tpot_min is not None:
        parts.append(f"TPOT_min {text.num(tpot_min, 2)} ms")
    if ttft_min is not None:
        parts.append(f"TTFT_min {text.num(ttft_min, 1)} ms")
    return ", ".join(parts)


def _code(doc: dict, *keys: str, limit: int = 120) -> str:
    value = dig(doc, *keys)
    return text.code(value if value not in (None, "") else "not recorded", limit)


def _provenance_lines(doc: dict, analysis: dict | None) -> list[str]:
    """What a reader needs to judge and reproduce a result, from any document, even invalid."""
    args = dig(doc, "server", "args")
    arg_text = " ".join(
        text.code(f"{text.clean(k, 40)}={text.clean(v, 60)}", 110)
        for k, v in (args.items() if isinstance(args, dict) else [])
        if v is not None
    )
    organization = dig(doc, "submitter", "organization")
    dirty = " (dirty tree)" if dig(doc, "provenance", "git_dirty") is True else ""
    lines = [
        _kv("title", _v(doc, "title", limit=200)),
        _kv(
            "submitter",
            _v(doc, "submitter", "name", limit=80)
            + (f" ({text.inline(organization, 80)})" if organization else ""),
        ),
        _kv("created", _v(doc, "created_utc")),
        _kv("engine", _versions(doc)),
        _kv(
            "accelerator",
            f"{_v(doc, 'system', 'accelerator', 'name')} "
            f"×{_v(doc, 'system', 'accelerator', 'count', limit=8)}, "
            f"driver {_v(doc, 'system', 'accelerator', 'driver_version')}, "
            f"firmware {_v(doc, 'system', 'accelerator', 'firmware_version')}",
        ),
        _kv(
            "image",
            f"{_code(doc, 'software', 'image', 'name')}, digest "
            f"{_code(doc, 'software', 'image', 'digest', limit=80)}",
        ),
        _kv(
            "model",
            f"{_v(doc, 'model', 'id', limit=80)} at revision "
            f"{_code(doc, 'model', 'revision', limit=64)} "
            f"({_v(doc, 'model', 'source', limit=20)}, {_v(doc, 'model', 'dtype', limit=20)})",
        ),
        _kv("server args", arg_text or "—"),
        _kv(
            "kit",
            f"{_v(doc, 'provenance', 'kit_version', limit=20)}, commit "
            f"{_code(doc, 'provenance', 'git_commit', limit=40)}{dirty}",
        ),
        _kv("roofline", _roofline_line(analysis)),
    ]
    simulator = dig(doc, "server", "self_report", "simulator")
    if isinstance(simulator, dict):
        lines.append(
            _kv(
                "simulator",
                f"profile {_v(doc, 'server', 'self_report', 'simulator', 'profile', limit=60)}, "
                f"speed ×{_v(doc, 'server', 'self_report', 'simulator', 'speed', limit=12)} "
                "(durations divided by the speed), seed "
                f"{_v(doc, 'server', 'self_report', 'simulator', 'seed', limit=20)}",
            )
        )
    if isinstance(doc.get("sanity"), dict):
        lines.append(
            _kv(
                "sanity",
                f"{_v(doc, 'sanity', 'correct', limit=12)} of "
                f"{_v(doc, 'sanity', 'questions', limit=12)} answers right (accuracy "
                f"{_v(doc, 'sanity', 'accuracy', limit=12)}, minimum "
                f"{_v(doc, 'sanity', 'min_accuracy', limit=12)}; seed "
                f"{_v(doc, 'sanity', 'seed', limit=20)}, api {_v(doc, 'sanity', 'api', limit=20)})",
            )
        )
    if isinstance(doc.get("citation"), dict):
        lines.append(
            _kv(
                "citation",
                f"“{_v(doc, 'citation', 'title', limit=200)}”, "
                f"{_v(doc, 'citation', 'publisher', limit=80)}, "
                f"{_code(doc, 'citation', 'url', limit=300)}",
            )
        )
    if doc.get("notes"):
        lines.append(_kv("notes", _v(doc, "notes", limit=500)))
    return lines


def signature_line(trust: Verification) -> str:
    """Who signed the result, or that nobody did, or why its verification failed."""
    key = f" ({text.code(trust.key, 80)})" if trust.key else ""
    if trust.status == "verified":
        return f"signed by {text.inline(trust.signer, 120)}{key}, verified"
    if trust.status == "unknown-signer":
        return f"signed by a key not in allowed\\_signers{key}: signer unknown"
    if trust.status == "failed":
        return f"✗ verification failed: {text.inline(trust.note, 300)}"
    if trust.status == "unchecked":
        return f"signed, not checked here: {text.inline(trust.note, 200)}"
    return "unsigned"


def details_one(entry: ResultEntry, analysis: dict | None = None) -> list[str]:
    summary_text = html.escape(f"{entry.rid} · {entry.kind_label} · {text.clean(entry.link, 120)}")
    lines = [f'<a id="{entry.rid.lower()}"></a>', "<details>", f"<summary>{summary_text}</summary>"]
    lines += ["", _kv("file", f"{text.code(entry.link, 200)}, sha256 `{entry.sha256[:16]}…`")]
    if entry.trust is not None:
        lines.append(_kv("signature", signature_line(entry.trust)))
    if entry.doc is not None:
        lines += _provenance_lines(entry.doc, analysis)
    if entry.issues:
        lines.append(_kv("findings", ""))
        lines += [
            f"  - {'✗ error' if i.level == 'error' else '⚠ warning'} "
            f"{text.code(i.pointer or '/', 120)}: {text.inline(i.message, 300)}"
            for i in entry.issues[:MAX_FINDINGS]
        ]
        if len(entry.issues) > MAX_FINDINGS:
            lines.append(f"  - … and {len(entry.issues) - MAX_FINDINGS} more (`bench validate`)")
    else:
        lines.append(_kv("findings", "none"))
    return [*lines, "", "</details>", ""]


def details_section(entries: list[ResultEntry], analyses: dict[str, dict]) -> str:
    lines = ["## Details and provenance", ""]
    for entry in entries:
        lines += details_one(entry, analyses.get(entry.rid))
    return "\n".join(lines)
