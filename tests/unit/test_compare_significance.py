"""Whether a difference is real: Welch's t-test over repeats and a bootstrap over requests,
checked with numbers worked by hand, the exact sentences a reader gets, and what
`bench compare` accepts as A and B (documents, directories of repeats, study cells)."""

from __future__ import annotations

import json
import math

import pytest
import report_docs as docs

from bench.cli import main
from bench.errors import InputError
from bench.jsonio import sha256_file
from bench.report.compare_inputs import cell_documents, resolve_side
from bench.report.significance import bootstrap, sentence, welch


def test_welch_matches_the_numbers_worked_by_hand():
    # means 100 and 110, variances 4 and 4, n = 3: SE = sqrt(4/3 + 4/3) = 1.633,
    # t = 6.124 on 4 degrees of freedom (Welch-Satterthwaite), t(0.975, 4) = 2.776
    d = welch("output tokens/s", "higher", [100, 102, 98], [110, 112, 108])
    assert (d.a, d.b, d.diff) == (100.0, 110.0, 10.0)
    assert d.diff_low == pytest.approx(10 - 2.776445 * 1.632993, abs=1e-5)
    assert d.diff_high == pytest.approx(10 + 2.776445 * 1.632993, abs=1e-5)
    assert d.p_value == pytest.approx(0.003602, abs=1e-6)
    # delta method: se(ratio) = sqrt(4 / (3 x 100^2) + 110^2 x 4 / (3 x 100^4)) = 0.017166
    se = math.sqrt(4 / 3e4 + 110**2 * 4 / (3 * 100**4))
    assert d.pct_low == pytest.approx(100 * (1.1 - 2.776445 * se - 1), abs=1e-4)
    assert d.significant and d.winner == "B"


@pytest.mark.parametrize(
    ("label", "better", "a", "b", "expected"),
    [
        (
            "output tokens/s", "higher", [100, 102, 98], [110, 112, 108],
            "B's output tokens/s is 10.0% higher (95% CI 5.2 to 14.8%), significant "
            "(p = 0.004, Welch's t-test, 3 repeats each): B is better.",
        ),
        (
            "output tokens/s", "higher", [100, 110, 90], [102, 112, 92],
            "No significant difference in output tokens/s (p = 0.82, Welch's t-test, "
            "3 repeats each): B is 2.0% higher (95% CI -20.9 to 24.9%).",
        ),
        (
            "median TPOT", "lower", [20.0, 20.4, 19.6], [18.6, 18.9, 18.3],
            "B's median TPOT is 7.0% lower (95% CI 3.0 to 11.0%), significant "
            "(p = 0.01, Welch's t-test, 3 repeats each): B is better.",
        ),
        (
            "p99 TTFT", "lower", [5, 5, 5], [6, 6, 6],
            "B's p99 TTFT is 20.0% higher (95% CI 20.0 to 20.0%), significant "
            "(no spread within either side, 3 repeats each): A is better.",
        ),
        (
            "requests/s", "higher", [100, 101, 99], [99, 100, 101, 100],
            "No significant difference in requests/s (p = 1.00, Welch's t-test, 3 and 4 "
            "repeats): B is no different (95% CI -2.0 to 2.0%).",
        ),
    ],
)  # fmt: skip
def test_the_sentences_over_repeats(label, better, a, b, expected):
    assert sentence(welch(label, better, a, b)) == expected


def test_the_sentences_within_one_run_each():
    same = bootstrap("median TTFT", "lower", "median", [10.0] * 5, [12.0] * 5)
    assert sentence(same) == (
        "B's median TTFT is 20.0% higher (95% CI 20.0 to 20.0%), significant (bootstrap "
        "over 5 and 5 requests of one run each): A's run is better."
    )
    a = [float(x) for x in range(90, 111)]  # 21 requests, median 100
    faster = bootstrap("median TPOT", "lower", "median", a, [x - 30 for x in a])
    assert faster.significant and faster.winner == "B" and faster.pct == pytest.approx(-30)
    assert sentence(faster).startswith("B's median TPOT is 30.0% lower (95% CI ")
    again = bootstrap("median TPOT", "lower", "median", a, [x - 30 for x in a])
    assert again == faster  # a fixed seed: the same requests give the same interval
    alike = bootstrap("p99 TPOT", "lower", "p99", a, list(reversed(a)))
    assert not alike.significant and alike.diff == 0
    assert sentence(alike).startswith(
        "No significant difference in p99 TPOT (bootstrap over 21 and 21 requests of one run "
        "each): B's run is no different (95% CI "
    )


def test_two_directories_of_repeats_are_compared_run_by_run(tmp_path, capsys):
    for i, factor in enumerate((1.0, 0.98, 0.96)):
        docs.write(tmp_path / "a", f"r{i}.json", docs.slower(docs.measured(), factor))
        docs.write(tmp_path / "same", f"r{i}.json", docs.slower(docs.measured(), factor))
        docs.write(tmp_path / "half", f"r{i}.json", docs.slower(docs.measured(), factor / 2))
    assert main(["compare", str(tmp_path / "a"), str(tmp_path / "same")]) == 0
    out = capsys.readouterr().out
    assert "3 result document(s), measured" in out and "## Settings that differ\n\nNone." in out
    assert "Welch's t-test over repeats (3 runs of A, 3 of B)" in out
    assert (
        "- No significant difference in output tokens/s (p = 1.00, Welch's t-test, 3 repeats "
        "each): B is no different (95% CI "
    ) in out
    assert main(["compare", str(tmp_path / "a"), str(tmp_path / "half")]) == 0
    out = capsys.readouterr().out
    # A 912.97, 894.71, 876.45 (variance 333.4), B half of each (83.35): the ratio's delta-
    # method se is 0.00833 and t(0.975) on Welch's 2.94 degrees of freedom 3.19: 50 +- 2.66%
    assert (
        "- B's output tokens/s is 50.0% lower (95% CI 47.3 to 52.7%), significant "
        "(p < 0.001, Welch's t-test, 3 repeats each): A is better."
    ) in out
    # latencies do not move with `slower`: no spread and no difference
    assert "- No significant difference in median TTFT (no spread within either side" in out


def test_differences_in_the_workload_are_said_before_the_numbers(tmp_path, capsys):
    other = docs.measured()
    other["measurements"]["throughput"][0]["workload"]["input_len"] = 1024
    for i in range(2):
        docs.write(tmp_path / "a", f"r{i}.json", docs.measured())
        docs.write(tmp_path / "b", f"r{i}.json", other)
    assert main(["compare", str(tmp_path / "a"), str(tmp_path / "b")]) == 0
    out = capsys.readouterr().out
    first = out.index("**A and B ran different workloads** (run ")
    assert first < out.index("## Settings that differ") < out.index("| metric ")
    assert "workload input\\_len 512 vs 1024" in out
    # and again where the numbers are, for one document each
    assert main(["compare", str(tmp_path / "a" / "r0.json"), str(tmp_path / "b" / "r0.json")]) == 0
    out = capsys.readouterr().out
    assert out.index("**A and B ran different workloads** (run ") < out.index("## Settings")


def test_one_document_each_without_records_says_why_nothing_is_tested(tmp_path, capsys):
    a = docs.write(tmp_path, "a.json", docs.measured())
    b = docs.write(tmp_path, "b.json", docs.slower(docs.measured(), 0.5))
    assert main(["compare", str(a), str(b)]) == 0
    out = capsys.readouterr().out
    assert out.index("## Settings that differ") < out.index("## Is the difference real?")
    assert "nothing to resample: not tested" in out


def study_with_cell(tmp_path):
    runs = []
    for r in (1, 2):
        path = docs.write(tmp_path / "cells", f"repeat-{r}.json", docs.measured())
        runs.append({"repeat": r, "run_id": f"{r:016x}", "path": f"cells/repeat-{r}.json",
                     "sha256": sha256_file(path)})  # fmt: skip
    study = {"study_schema_version": "1.0", "cells": [{"id": "0123456789abcdef", "repeats": runs}]}
    (tmp_path / "study.json").write_text(json.dumps(study))
    return tmp_path


def test_a_study_cell_is_its_recorded_repeats_checked_by_sha256(tmp_path):
    study = study_with_cell(tmp_path)
    paths = cell_documents(study, "0123456789abcdef", "A")
    assert [p.name for p in paths] == ["repeat-1.json", "repeat-2.json"]
    side = resolve_side(f"{study}:0123456789abcdef", "A")
    assert len(side.entries) == 2
    with pytest.raises(InputError, match="has no run of cell fedcba9876543210"):
        resolve_side(f"{study}:fedcba9876543210", "A")
    with pytest.raises(InputError, match="is a study directory; name a cell as"):
        resolve_side(str(study), "B")
    (study / "cells" / "repeat-2.json").write_text("{}")
    with pytest.raises(InputError, match=r"is missing or not the file study\.json recorded"):
        resolve_side(f"{study}:0123456789abcdef", "A")


@pytest.mark.parametrize(
    ("named", "message"),
    [
        ("missing.json", "A: file not found: "),
        ("empty-dir", "A: no result documents (*.json) in "),
        ("nostudy:0123456789abcdef", "A: no study.json at "),
    ],
)
def test_bad_inputs_are_one_line(tmp_path, capsys, named, message):
    (tmp_path / "empty-dir").mkdir()
    b = docs.write(tmp_path, "b.json", docs.measured())
    assert main(["compare", str(tmp_path / named), str(b)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"Error: {message}") and err.count("\n") == 1
