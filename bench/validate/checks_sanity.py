"""Checks of the `sanity` object: its arithmetic, its verdict, and the records behind it.

- counts (consistency): correct <= questions, correct + failed_requests <= questions (a failed
  request is a wrong answer), accuracy = correct / questions, the records' count = questions.
- verdict (consistency, so an error for `measured` and `simulated` documents): accuracy below
  `min_accuracy` means the server's answers were wrong, and fast garbage is not ranked.
  Simulated documents are held to it too: the simulator answers every question right unless
  `--fault-garbage-rate` tells it not to, so a simulated result below its minimum is that
  fault (or a broken client) at work, and must show exactly as a measured one would.
  A `reported` document only gets a warning, as for every consistency finding.
- records hashed (advice, always a warning): a measured or simulated check names its records'
  sha256, as every run does.
- records (`sanity_records_issues`, beside the document, like the runs' records): the same
  sha256; the counts recomputed from the lines; the questions regenerated from the seed (when
  the document's `generator` is this kit's); every uncut reply scored again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.errors import InputError
from bench.validate.findings import Issue, fmt, num, pointer, sub
from bench.validate.records_check import UNREADABLE, records_file

ACCURACY_ABS = 5e-4  # a document may round accuracy to 3 decimals
SHOWN = 3  # record disagreements named one by one; the rest are counted


def _sanity(doc: Any) -> dict[str, Any] | None:
    value = doc.get("sanity") if isinstance(doc, dict) else None
    return value if isinstance(value, dict) else None


def check_sanity_counts(doc: Any) -> list[Issue]:
    """correct and failed_requests fit in questions; accuracy = correct / questions."""
    sanity = _sanity(doc)
    if sanity is None:
        return []
    questions, correct = num(sanity, "questions"), num(sanity, "correct")
    stated, failed = num(sanity, "accuracy"), num(sanity, "failed_requests")
    out = []
    if questions is None or correct is None:
        return []
    if correct > questions:
        out.append(
            Issue(
                pointer("sanity", "correct"),
                f"{fmt(correct)} answers right of {fmt(questions)} questions",
            )
        )
    elif failed is not None and correct + failed > questions:
        out.append(
            Issue(
                pointer("sanity", "failed_requests"),
                f"{fmt(failed)} failed requests and {fmt(correct)} right answers are more than "
                f"the {fmt(questions)} questions (a failed request is a wrong answer)",
            )
        )
    if stated is not None and questions > 0 and abs(stated - correct / questions) > ACCURACY_ABS:
        out.append(
            Issue(
                pointer("sanity", "accuracy"),
                f"accuracy {fmt(stated)} but correct / questions = {fmt(correct)} / "
                f"{fmt(questions)} = {fmt(correct / questions)}",
            )
        )
    count = num(sub(sanity, "records"), "count")
    if count is not None and count != questions:
        out.append(
            Issue(
                pointer("sanity", "records", "count"),
                f"the records hold {fmt(count)} questions, the check {fmt(questions)}",
            )
        )
    return out


def check_sanity_accuracy(doc: Any) -> list[Issue]:
    """Accuracy at or above min_accuracy: below it the speed came with wrong answers."""
    sanity = _sanity(doc)
    if sanity is None:
        return []
    stated, minimum = num(sanity, "accuracy"), num(sanity, "min_accuracy")
    if stated is None or minimum is None or stated >= minimum:
        return []
    questions, correct = num(sanity, "questions"), num(sanity, "correct")
    failed = num(sanity, "failed_requests")
    right = (
        f"{fmt(correct)} of {fmt(questions)} sanity questions answered right, "
        if correct is not None and questions is not None
        else ""
    )
    why = f"; {fmt(failed)} of the requests failed" if failed else ""
    return [
        Issue(
            pointer("sanity", "accuracy"),
            f"the server's answers were wrong: {right}accuracy {fmt(stated)} is below "
            f"min_accuracy {fmt(minimum)}{why}; a fast result with wrong answers is not ranked",
        )
    ]


def _rescored(record: Any) -> bool | None:
    """Whether the record's reply is right by the scoring rule; None when it cannot be told
    (the request failed, or the reply was cut when recorded)."""
    from bench.workload.sanity import score_reply

    if record.error_kind is not None or record.reply is None or record.reply_truncated:
        return None
    return score_reply(record.reply, record.expected).correct


def _record_issues(sanity: dict[str, Any], records: list[Any]) -> list[str]:
    """What the records say against the object, the generator and the scoring (pure)."""
    from bench.records.sanity import counts
    from bench.workload.sanity import GENERATOR, generate_questions

    out = []
    recounted = counts(records)
    for key in ("questions", "correct", "failed_requests"):
        stated = num(sanity, key)
        if stated is not None and stated != recounted[key]:
            out.append(f"{key} {fmt(stated)} but the records give {recounted[key]}")
    seed = num(sanity, "seed")
    regenerated = None
    if sanity.get("generator") == GENERATOR and seed is not None and seed >= 0:
        regenerated = generate_questions(len(records), int(seed))
    wrong: list[str] = []
    for i, record in enumerate(records):
        if record.index != i:
            wrong.append(f"record {i + 1} has index {record.index}")
        elif regenerated and (record.question, record.expected) != (
            regenerated[i].text,
            regenerated[i].expected,
        ):
            wrong.append(f"question {i} is not the generator's ({regenerated[i].text!r})")
        elif record.error_kind is not None and record.correct:
            wrong.append(f"question {i} failed ({record.error_kind}) yet is marked right")
        elif (rescored := _rescored(record)) is not None and rescored != record.correct:
            marked, scores = ("right", "wrong") if record.correct else ("wrong", "right")
            wrong.append(f"question {i} is marked {marked} but its reply scores {scores}")
    if wrong:
        more = f" (and {len(wrong) - SHOWN} more)" if len(wrong) > SHOWN else ""
        out.append("; ".join(wrong[:SHOWN]) + more)
    return out


def sanity_records_issues(doc: Any, base_dir: Path) -> list[Issue]:
    """The sanity records beside the document: same bytes, same counts, same verdicts."""
    from bench.jsonio import sha256_file
    from bench.records.sanity import SANITY_RECORDS_FORMAT, read_sanity_records

    sanity = _sanity(doc)
    if sanity is None:
        return []
    records = sub(sanity, "records")
    target = records_file(records, base_dir)
    if target is None:
        return []
    digest = records.get("sha256")
    if isinstance(digest, str) and sha256_file(target) != digest:
        return [
            Issue(
                pointer("sanity", "records", "sha256"),
                f"{records['path']} has a different sha256 than the document records "
                "(changed since?)",
            )
        ]
    if records.get("format") != SANITY_RECORDS_FORMAT:
        return []
    try:
        lines = read_sanity_records(target)
    except InputError as exc:
        return [Issue(pointer("sanity", "records", "path"), f"{UNREADABLE}{exc}")]
    return [
        Issue(pointer("sanity", "records"), f"the sanity records disagree: {message}")
        for message in _record_issues(sanity, lines)
    ]


def check_sanity_records_hashed(doc: Any) -> list[Issue]:
    """A measured or simulated check names its records and their sha256 (advice)."""
    sanity = _sanity(doc)
    if sanity is None or doc.get("kind") not in ("measured", "simulated"):
        return []
    if sub(sanity, "records").get("sha256"):
        return []
    return [
        Issue(
            pointer("sanity", "records"),
            "no sha256 of the sanity records: the accuracy cannot be checked against them",
        )
    ]


CHECKS = [check_sanity_counts, check_sanity_accuracy]
ADVICE_CHECKS = [check_sanity_records_hashed]
