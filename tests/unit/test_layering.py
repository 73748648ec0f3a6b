"""The package's layers: the library stands alone, the CLI is a thin layer on top of it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "bench"


def imported_modules(path: Path) -> set[str]:
    """Every module an `import` or `from ... import` in `path` names, at any depth."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def library_files() -> list[Path]:
    """Every module but the CLI layer: bench/cli/ and `python -m bench`'s entry point."""
    entry = PACKAGE / "__main__.py"
    return sorted(
        p for p in PACKAGE.rglob("*.py") if "cli" not in p.relative_to(PACKAGE).parts and p != entry
    )


def imports_the_cli(path: Path) -> list[str]:
    return sorted(
        n for n in imported_modules(path) if n == "bench.cli" or n.startswith("bench.cli.")
    )


def test_the_walker_sees_imports_inside_functions(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from bench.cli.throughput import finish\n")
    assert imports_the_cli(probe) == ["bench.cli.throughput", "bench.cli.throughput.finish"]


def test_there_are_library_modules_to_check():
    assert len(library_files()) > 50


@pytest.mark.parametrize("path", library_files(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_library_module_imports_the_cli(path):
    assert imports_the_cli(path) == [], f"{path} imports the CLI"
