"""Copies the files users read at the top of the repository into the package, which ships them.

An installed kit (a wheel, `pip install .`) can read only files inside `bench/`, and a
symbolic link does not survive every way of building one. Users and contributors read and
edit the top-level files, so those are the one source of truth; the package holds byte-for-byte
copies that this script writes and `tests/unit/test_package_data.py` checks:

    profiles/*.toml           -> bench/profiles/        `bench run --profile NAME`
    results/reference/*.json  -> bench/data/reference/  `bench report`'s default baseline
    schema/result.schema.json -> bench/validate/        `bench validate` (build_schema.py syncs)
    schema/study.schema.json  -> bench/study/           `bench validate` on a study.json

A copy whose top-level file is gone is removed. The package's own data (bench/data/hardware.toml,
bench/sim/profiles/, bench/sim/tokenizer/) has no top-level twin and is not touched.

Run: python tools/sync_package_data.py           (writes the copies that differ, says which)
     python tools/sync_package_data.py --check   (writes nothing; exit 1 naming stale copies)
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# (top-level directory, file pattern, package directory)
COPIES = (
    ("profiles", "*.toml", "bench/profiles"),
    ("results/reference", "*.json", "bench/data/reference"),
    ("schema", "result.schema.json", "bench/validate"),
    ("schema", "study.schema.json", "bench/study"),
)


def pairs(root: Path = ROOT) -> list[tuple[Path, Path]]:
    """Every (top-level file, package copy) pair, in a fixed order."""
    out = []
    for source_dir, pattern, package_dir in COPIES:
        for source in sorted((root / source_dir).glob(pattern)):
            out.append((source, root / package_dir / source.name))
    return out


def orphans(root: Path = ROOT) -> list[Path]:
    """Package copies whose top-level file no longer exists."""
    out = []
    for source_dir, pattern, package_dir in COPIES:
        for copy in sorted((root / package_dir).glob(pattern)):
            if not (root / source_dir / copy.name).is_file():
                out.append(copy)
    return out


def stale(root: Path = ROOT) -> list[Path]:
    """Package copies that are missing, differ from their top-level file, are a symbolic
    link (not carried by every build) or have no top-level file any more."""
    out = [
        copy
        for source, copy in pairs(root)
        if copy.is_symlink() or not copy.is_file() or copy.read_bytes() != source.read_bytes()
    ]
    return out + orphans(root)


def sync(root: Path = ROOT) -> list[Path]:
    """Make every package copy equal to its top-level file; the paths changed."""
    changed = stale(root)
    for source, copy in pairs(root):
        if copy in changed:
            copy.unlink(missing_ok=True)  # a symlink is replaced, never written through
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, copy)
    for copy in orphans(root):
        copy.unlink()
    return changed


def main(argv: list[str]) -> int:
    if argv not in ([], ["--check"]):
        print("usage: python tools/sync_package_data.py [--check]", file=sys.stderr)
        return 2
    names = ", ".join(str(p.relative_to(ROOT)) for p in (stale() if argv else sync()))
    if argv:
        if names:
            print(f"stale package copies: {names}; run `python tools/sync_package_data.py`")
            return 1
        print("package copies match the top-level files")
        return 0
    print(f"updated {names}" if names else "package copies already match the top-level files")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
