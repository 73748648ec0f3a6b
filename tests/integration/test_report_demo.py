"""The demo's report, as issue 7 checks it: the simulated result beside the article's
reported baseline, ratios between them, a PNG that opens, and the glossary.

Runs tools/demo.sh (the simulator, `bench run --profile quick`, `bench report`) into a
temporary directory, then reads only what it wrote.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory) -> Path:
    demo_dir = tmp_path_factory.mktemp("demo")
    env = {
        **os.environ,
        "PY": str(REPO / ".venv" / "bin" / "python"),
        "DEMO_DIR": str(demo_dir),
        "PROFILE": "quick",
    }
    proc = subprocess.run(
        [str(REPO / "tools" / "demo.sh")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    last = proc.stdout.splitlines()[-1]
    assert last.startswith("demo: report: "), last
    return Path(last.removeprefix("demo: report: "))


def _section(markdown: str, title: str) -> str:
    start = markdown.index(f"## {title}")
    end = markdown.find("\n## ", start + 1)
    return markdown[start : end if end != -1 else None]


@pytest.mark.slow
def test_demo_report_puts_the_simulated_result_beside_the_article_with_ratios(demo_report):
    md = demo_report.read_text(encoding="utf-8")
    summary = _section(md, "Summary by setting")
    assert re.search(r"^\| — +\| \[R\d+\]\(#r\d+\) \S+ +\| simulated", summary, re.MULTILINE)
    assert re.search(r"^\| — +\| \[R\d+\]\(#r\d+\) \S+ +\| reported", summary, re.MULTILINE)
    assert "Baseline: R1, the figures reported by the article" in md
    against = _section(md, "Against the article's reported baseline")
    simulated_rows = [line for line in against.splitlines() if "| simulated" in line]
    assert simulated_rows, against
    assert all(re.search(r"\(\d+\.\d\d×\)", line) for line in simulated_rows)
    glossary = _section(md, "Glossary")
    assert "**TTFT**" in glossary and "**TPOT**" in glossary


@pytest.mark.slow
def test_demo_report_links_pngs_that_open(demo_report):
    import matplotlib.image

    md = demo_report.read_text(encoding="utf-8")
    links = re.findall(r"!\[[^\]]+\]\(([^)]+\.png)\)", md)
    assert links, "no plot linked with alt text"
    for link in links:
        data = (demo_report.parent / link).read_bytes()
        assert data.startswith(PNG_SIGNATURE), link
        image = matplotlib.image.imread(io.BytesIO(data), format="png")
        assert image.ndim == 3 and image.shape[0] > 100, link
