"""`bench report`: result documents in, a Markdown report and PNG plots out.

The documents are A's fixtures (and the article's reference document), judged by the real
validator; the roofline is D's real `bench.roofline.analyse`.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
import report_docs as docs

from bench.cli import main
from bench.report.build import build_report, differences, write_report
from bench.report.compose import MARKER

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _report(results: Path, baseline: Path | None = docs.ARTICLE):
    return build_report(results, results / "REPORT.md", baseline)


def _tables(markdown: str) -> list[list[str]]:
    """Each Markdown table of the report as its list of lines."""
    tables, current = [], []
    for line in markdown.splitlines():
        if line.startswith("|"):
            current.append(line)
        elif current:
            tables.append(current)
            current = []
    return tables


def _cells(line: str) -> int:
    """Number of cells of a table line, as GitHub counts them (`\\|` does not split)."""
    return len(re.split(r"(?<!\\)\|", line.strip())) - 2


def _section(markdown: str, title: str) -> str:
    start = markdown.index(f"## {title}")
    end = markdown.find("\n## ", start + 1)
    return markdown[start : end if end != -1 else None]


@pytest.fixture
def results(tmp_path: Path) -> Path:
    """A results directory: one measured and one simulated result."""
    directory = tmp_path / "results"
    docs.write(directory, "npu/measured.json", docs.measured())
    docs.write(directory, "sim/simulated.json", docs.simulated())
    return directory


def test_report_holds_every_kind_labelled_the_baseline_ratios_and_the_glossary(results):
    md = _report(results).markdown
    assert md.startswith(MARKER + "\n")
    assert "3 result documents read" in md
    assert "(1 measured, 1 simulated, 1 reported)" in md
    summary = _section(md, "Summary by setting")
    rows = [line for line in summary.splitlines() if line.startswith("| ") and "[R" in line]
    kinds = {
        kind for line in rows for kind in ("measured", "simulated", "reported") if kind in line
    }
    assert kinds == {"measured", "simulated", "reported"}
    assert all(any(k in line for k in ("measured", "simulated", "reported")) for line in rows)
    against = _section(md, "Against the article's reported baseline")
    assert re.search(r"\(\d+\.\d\d×\)", against), "no ratio to the article"
    glossary = _section(md, "Glossary")
    assert "**TTFT**" in glossary and "**TPOT**" in glossary and "**Interactivity**" in glossary


def test_only_measured_results_are_ranked_and_simulated_ones_are_not(results):
    md = _report(results).markdown
    for line in _section(md, "Summary by setting").splitlines():
        if "| simulated |" in line or "| reported |" in line:
            assert line.startswith("| —"), line
        elif "| measured |" in line:
            assert line.startswith("| 1 "), line


def test_ranking_orders_measured_results_and_gives_the_ratio_to_the_best(tmp_path):
    directory = tmp_path / "results"
    docs.write(directory, "a-slow.json", docs.slower(docs.measured(), 0.5))
    docs.write(directory, "b-fast.json", docs.measured())
    md = _report(directory, None).markdown
    table = _tables(_section(md, "Summary by setting"))[0]
    first, second = table[2], table[3]
    assert first.startswith("| 1 ") and "[R2]" in first and "| 1.00× " in first
    assert "| 199/200 " in first  # the fixture's one failed request is visible
    assert second.startswith("| 2 ") and "[R1]" in second and "| 0.50× " in second


@pytest.mark.parametrize("case", sorted(docs.HOSTILE_NAMES))
def test_hostile_submitter_name_breaks_no_table_and_injects_no_html(tmp_path, case):
    directory = tmp_path / "results"
    name = docs.HOSTILE_NAMES[case]
    docs.write(directory, "hostile.json", docs.with_submitter(docs.measured(), name))
    md = _report(directory).markdown
    for table in _tables(md):
        widths = {_cells(line) for line in table}
        assert len(widths) == 1, f"a row has a different number of cells: {table}"
    assert "<script" not in md and "<img" not in md
    assert "x" * 200 not in md, "a 10,000-character name must be truncated"
    if case == "script":
        assert "&lt;script&gt;" in md


def test_two_runs_give_byte_identical_report_and_plots(results, tmp_path):
    first = _report(results)
    second = _report(results)
    assert first.markdown == second.markdown
    assert [p.png for p in first.plots] == [p.png for p in second.plots]
    out_a, out_b = tmp_path / "a" / "REPORT.md", tmp_path / "b" / "REPORT.md"
    write_report(first, out_a)
    write_report(second, out_b)
    files_a = sorted(p.relative_to(out_a.parent) for p in out_a.parent.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(out_b.parent) for p in out_b.parent.rglob("*") if p.is_file())
    assert files_a == files_b and len(files_a) >= 2
    for rel in files_a:
        assert (out_a.parent / rel).read_bytes() == (out_b.parent / rel).read_bytes(), rel


def test_plots_are_pngs_matplotlib_reads_back_and_the_report_links_them(results):
    import matplotlib.image

    report = _report(results)
    out = write_report(report, results / "REPORT.md")
    pngs = [p for p in out if p.suffix == ".png"]
    assert any(p.name.startswith("throughput-vs-interactivity-") for p in pngs)
    assert any(p.name.startswith("latency-R") for p in pngs)
    for path in pngs:
        data = path.read_bytes()
        assert data.startswith(PNG_SIGNATURE)
        image = matplotlib.image.imread(io.BytesIO(data), format="png")
        assert image.shape[0] > 100 and image.shape[1] > 100
        assert f"]({report.plots_dir}/{path.name})" in report.markdown
    assert re.search(r"!\[[^\]]+\]\(REPORT-plots/", report.markdown), "plots need alt text"


def test_invalid_result_is_listed_apart_with_its_findings_and_not_ranked(results):
    broken = docs.measured()
    run = broken["measurements"]["throughput"][0]["metrics"]
    run["total_throughput_tok_s"] = run["total_throughput_tok_s"] * 3  # != input + output
    docs.write(results, "npu/broken.json", broken)
    (results / "npu" / "garbage.json").write_text("{not json", encoding="utf-8")
    md = _report(results).markdown
    invalid = _section(md, "Invalid results (not ranked)")
    assert "broken.json" in invalid and "garbage.json" in invalid
    assert "total_throughput_tok_s" in invalid
    assert "not valid JSON" in invalid
    rid = re.search(r"\[(R\d+)\]\(#r\d+\) \| npu/broken\.json", invalid).group(1)
    summary = _section(md, "Summary by setting")
    assert f"[{rid}]" not in summary
    assert "1 measured" in md and "2 invalid" in md


def test_warnings_are_marked_beside_the_result_and_listed_in_its_details(tmp_path):
    directory = tmp_path / "results"
    # records without sha256, no image digest, no model revision: 4 warnings
    docs.write(directory, "a-warned.json", docs.measured())
    clean = docs.with_provenance(docs.with_records_hashes(docs.slower(docs.measured(), 0.5)))
    docs.write(directory, "b-clean.json", clean)
    md = _report(directory, None).markdown
    rows = _tables(_section(md, "Summary by setting"))[0][2:]
    assert "[R1]" in rows[0] and re.search(r"\| ⚠ 4 +\|$", rows[0])
    assert "[R2]" in rows[1] and re.search(r"\| ✓ +\|$", rows[1])
    details = _section(md, "Details and provenance")
    assert details.count("⚠ warning `/measurements/") == 2
    assert "no sha256 of the raw records" in details


def test_a_tpot_that_describes_delivery_is_shown_with_its_warning_beside_it(tmp_path):
    directory = tmp_path / "results"
    docs.write(directory, "bursts.json", docs.delivered_in_bursts(docs.simulated(), 6))
    md = _report(directory, None).markdown
    summary = _section(md, "Summary by setting")
    latency_table = next(t for t in _tables(summary) if "latency-4096-512" in t[2])
    cells = [c.strip() for c in latency_table[2].split("|")]
    header = [c.strip() for c in latency_table[0].split("|")]
    assert cells[header.index("TPOT p50 ms")] == "0.00 ⚠"
    assert cells[header.index("TPOT p99 ms")] == "19.80 ⚠"  # every TPOT figure of the run
    assert cells[header.index("TTFT p50 ms")] == "10,373.9"  # no warning about TTFT: no mark
    note = next(line for line in summary.splitlines() if line.startswith("⚠ R1"))
    assert note.startswith("⚠ R1 latency-4096-512, TPOT p50 ms: tpot\\_ms median is 0 ms: 6 of")
    assert "describe how the replies were delivered" in note
    assert "⚠ R1 latency-4096-512, TPOT p99 ms" not in summary  # one note per metric


def test_write_refuses_to_replace_a_file_it_did_not_write(results):
    mine = results / "REPORT.md"
    mine.write_text("# my notes\n", encoding="utf-8")
    assert main(["report", "--results", str(results)]) == 1
    assert mine.read_text(encoding="utf-8") == "# my notes\n"


def test_rewrite_removes_plots_of_results_that_are_gone(results):
    write_report(_report(results), results / "REPORT.md")
    plots = results / "REPORT-plots"
    mine = plots / "my-own-figure.png"
    mine.write_bytes(b"keep me")
    stale = sorted(plots.glob("latency-R*.png"))
    (results / "sim" / "simulated.json").unlink()
    report = _report(results)
    write_report(report, results / "REPORT.md")
    assert mine.read_bytes() == b"keep me"
    assert sorted(plots.glob("latency-R*.png")) != stale
    assert differences(report, results / "REPORT.md") == []


def test_cli_writes_then_check_passes_and_fails_after_a_change(results, capsys):
    assert main(["report", "--results", str(results)]) == 0
    assert (results / "REPORT.md").is_file()
    assert main(["report", "--results", str(results), "--check"]) == 0
    docs.write(results, "npu/another.json", docs.slower(docs.measured(), 0.5))
    assert main(["report", "--results", str(results), "--check"]) == 1
    assert "Out of date" in capsys.readouterr().out


def test_cli_errors_are_one_line(tmp_path, capsys):
    assert main(["report", "--results", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("Error: results directory not found") and err.count("\n") == 1


MALFORMED_AT = [
    ("submitter",),
    ("provenance",),
    ("system",),
    ("system", "accelerator"),
    ("software",),
    ("software", "engine"),
    ("model",),
    ("server",),
    ("server", "args"),
    ("citation",),
    ("measurements",),
    ("measurements", "memory"),
    ("measurements", "throughput"),
    ("measurements", "throughput", 0),
    ("measurements", "throughput", 0, "metrics"),
    ("measurements", "throughput", 0, "metrics", "ttft_ms"),
    ("measurements", "throughput", 0, "workload"),
]
GARBAGE = [None, "x|<b>bold</b>", [1, "<i>"], {"<k>": "|"}, -7]


def test_malformed_documents_never_crash_the_report_and_are_listed_invalid(tmp_path):
    directory = tmp_path / "results"
    for i, keys in enumerate(MALFORMED_AT):
        for j, garbage in enumerate(GARBAGE):
            doc = docs.measured()
            target = doc
            for key in keys[:-1]:
                target = target[key]
            target[keys[-1]] = garbage
            docs.write(directory, f"bad-{i:02d}-{j}.json", doc)
    md = _report(directory, None).markdown
    assert "<b>" not in md and "<i>" not in md and "<k>" not in md
    for table in _tables(md):
        assert len({_cells(line) for line in table}) == 1, table
    invalid = _section(md, "Invalid results (not ranked)")
    listed = len(re.findall(r"^\| \[R\d+\]", invalid, flags=re.MULTILINE))
    assert listed >= len(MALFORMED_AT) * (len(GARBAGE) - 1)


def test_symbolic_links_in_the_results_are_not_read(results, tmp_path):
    outside = docs.write(tmp_path / "elsewhere", "secret.json", docs.measured())
    (results / "link.json").symlink_to(outside)
    md = _report(results).markdown
    assert "link.json" not in md and "secret.json" not in md
    assert "3 result documents read" in md


def test_a_copy_of_the_article_in_the_results_is_the_baseline_not_a_second_document(results):
    (results / "copy.json").write_bytes(docs.ARTICLE.read_bytes())
    md = _report(results).markdown
    assert "3 result documents read (this report's directory):" in md
    assert "Baseline: R1," in md and "copy.json" in md


def test_a_simulator_run_faster_than_real_time_says_so_on_every_row(tmp_path):
    directory = tmp_path / "results"
    fast = docs.simulated()
    fast["server"]["self_report"]["simulator"] = {"profile": "p", "speed": 10, "seed": 1}
    docs.write(directory, "fast.json", fast)
    md = _report(directory, None).markdown
    rows = [line for line in md.splitlines() if line.startswith("| —") and "[R1]" in line]
    assert rows and all("| simulated ×10 speed |" in line for line in rows)
    assert "speed ×10 (durations divided by the speed)" in md


def test_throughput_plot_falls_back_to_all_npus_when_the_count_is_unknown(tmp_path):
    directory = tmp_path / "results"
    doc = docs.simulated()
    doc["system"]["accelerator"]["count"] = None
    for run in doc["measurements"]["throughput"] + doc["measurements"]["latency"]:
        run["metrics"]["output_throughput_per_npu_tok_s"] = None
    docs.write(directory, "no-count.json", doc)
    report = _report(directory, None)
    assert "| ✓ " in report.markdown or "| ⚠ " in report.markdown  # valid, shown in the summary
    names = [p.name for p in report.plots]
    assert "throughput-vs-interactivity-1.png" in names
    assert "Output tokens/s (all NPUs) against tokens/s per user" in report.markdown


def test_cjk_cells_are_padded_by_display_width_in_every_environment():
    from bench.report.tables import markdown_table

    table = markdown_table(["n", "v"], [["张三", "x"], ["ab", "y"]])
    assert table.splitlines()[2:] == ["| 张三 | x   |", "| ab   | y   |"]
