"""The kit installed from a wheel (not editable) finds its own files, from any directory.

A wheel is built from the kit's sources with the build backend pyproject.toml names, and
installed into a fresh virtual environment; then, from an unrelated temporary directory, that
environment's Python runs the simulator, `bench run --profile quick`, `bench validate` and
`bench report`. Nothing here can read the repository's profiles/, schema/ or results/.

Fast and offline, honestly:
- The wheel is built by `pip wheel --no-build-isolation --no-index` from a copy of what a
  build reads (pyproject.toml, README.md, bench/), so the build writes nothing into the
  working tree. Without isolation pip uses this venv's setuptools, so the test first checks
  it is exactly the version `[build-system] requires` pins: the same backend `pip install .`
  would download.
- The fresh venv gets the kit's wheel with `pip install --no-deps --no-index`, and its
  dependencies through a `.pth` file naming this venv's site-packages (already installed by
  `make venv-test`, so nothing is downloaded). A path line in a `.pth` file adds the
  directory to sys.path *after* the fresh venv's own site-packages and does not run the `.pth`
  files inside it, so the editable install of the kit there cannot be imported; the test
  asserts that `bench` and every data file it reads lie inside the fresh venv. pip is not
  installed into the fresh venv (`--without-pip`, and this pip drives it with `--python`),
  which saves seconds.
- The processes get an environment without PYTHON* variables and run in a directory that
  holds no `bench/`, so neither PYTHONPATH nor the current directory can reach the sources.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from importlib.metadata import version
from pathlib import Path

import pytest

from bench.sim.process import SimProcess
from tests.conftest import REPO

pytestmark = pytest.mark.slow
TIMEOUT = 180
SPEED = 10  # simulated time runs 10x faster; the report labels the run so


def _run(argv: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    assert proc.returncode == 0, f"{argv}\n{proc.stdout}\n{proc.stderr}"
    return proc


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env.pop("VIRTUAL_ENV", None)
    env["PYTHONNOUSERSITE"] = "1"
    return env


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    backend = [r for r in project["build-system"]["requires"] if r.startswith("setuptools==")]
    test_extra = project["project"]["optional-dependencies"]["test"]
    assert backend and backend[0] in test_extra, "pin the build backend in the test extra too"
    assert backend == [f"setuptools=={version('setuptools')}"], "run `make venv-test`"
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    shutil.copytree(REPO / "bench", src / "bench", ignore=shutil.ignore_patterns("__pycache__"))
    dist = tmp_path_factory.mktemp("dist")
    _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
         "--disable-pip-version-check", "-q", "-w", str(dist), str(src)],
        cwd=dist,
        env=_clean_env(),
    )  # fmt: skip
    (built,) = dist.glob("ascend_bench_kit-*.whl")
    return built


def test_the_wheel_ships_every_file_of_the_package(wheel):
    """Every file under bench/ (code and data) is in the wheel, and nothing else of the repo."""
    in_tree = {
        p.relative_to(REPO).as_posix()
        for p in (REPO / "bench").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    names = set(zipfile.ZipFile(wheel).namelist())
    assert in_tree - names == set()
    assert {n for n in names if not n.startswith("ascend_bench_kit-")} == in_tree
    for data in (
        "bench/profiles/quick.toml",
        "bench/validate/result.schema.json",
        "bench/data/reference/article-qwen2-7b-atlas800t-sglang.json",
        "bench/data/hardware.toml",
        "bench/sim/tokenizer/tokenizer.json",
    ):
        assert data in names


def test_an_installed_kit_runs_validates_and_reports_from_anywhere(wheel, tmp_path, monkeypatch):
    venv = tmp_path / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=TIMEOUT
    )
    py = str(venv / "bin" / "python")
    env = _clean_env()
    _run(
        [sys.executable, "-m", "pip", "--python", py, "install", "--no-deps", "--no-index",
         "--disable-pip-version-check", "-q", str(wheel)],
        cwd=tmp_path,
        env=env,
    )  # fmt: skip
    site = Path(_run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                     cwd=tmp_path, env=env).stdout.strip())  # fmt: skip
    ours = dict.fromkeys(sysconfig.get_paths()[k] for k in ("purelib", "platlib"))
    (site / "project_dependencies.pth").write_text("".join(f"{p}\n" for p in ours))

    work = tmp_path / "elsewhere"
    work.mkdir()
    probe = (
        "import json; import bench;"
        "from bench.workload.profile import PROFILES_DIR;"
        "from bench.validate.schema import SCHEMA_PATH;"
        "from bench.report.results import DEFAULT_BASELINE;"
        "from bench.roofline import HARDWARE_FILE;"
        "from bench.sim import tokenizer_dir, profiles_dir;"
        "print(json.dumps([bench.__file__, str(PROFILES_DIR / 'quick.toml'), str(SCHEMA_PATH),"
        " str(DEFAULT_BASELINE), str(HARDWARE_FILE), str(tokenizer_dir() / 'tokenizer.json'),"
        " str(profiles_dir())]))"
    )
    paths = json.loads(_run([py, "-c", probe], cwd=work, env=env).stdout)
    for path in map(Path, paths):
        assert path.is_relative_to(venv.resolve()), path
        assert path.exists(), path

    monkeypatch.chdir(work)  # SimProcess starts it in the current directory, with os.environ
    for name in [k for k in os.environ if k.startswith("PYTHON")]:
        monkeypatch.delenv(name)
    with SimProcess(["--speed", str(SPEED)], workdir=work, python=py, start_timeout_s=60) as sim:
        ran = _run([py, "-m", "bench", "run", "--profile", "quick", "--base-url", sim.base_url],
                   cwd=work, env=env)  # fmt: skip
    (result,) = (work / "runs").glob("*.json")
    assert "simulated result written to" in ran.stdout
    doc = json.loads(result.read_text())
    assert doc["kind"] == "simulated"
    assert doc["provenance"]["git_commit"] is None  # an installed kit is no checkout
    # The profile, the simulator's profile and tokenizer all came from the installed package.
    server = doc["server"]["self_report"]
    for path in (
        doc["provenance"]["profile"]["path"],
        server["tokenizer_path"],
        server["simulator"]["profile_file"],
    ):
        assert Path(path).is_relative_to(venv.resolve()), path

    checked = _run([py, "-m", "bench", "validate", str(result)], cwd=work, env=env)
    assert "1 valid, 0 invalid (0 error(s)" in checked.stdout

    _run([py, "-m", "bench", "report", "--results", "runs"], cwd=work, env=env)
    report = (work / "runs" / "REPORT.md").read_text()
    assert f"simulated ×{SPEED} speed" in report
    # The article's baseline came from the installed package, linked from the report.
    assert Path(os.path.relpath(paths[3], (work / "runs").resolve())).as_posix() in report
