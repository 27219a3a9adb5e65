"""The hand-made faults of issue 16, replayed: each must turn its named tests red.

Each fault of mutation/faults.toml is one textual change to one file (`file`, `old`, `new`), or
several (`[[fault.change]]` tables) when the code makes one decision in more than one place. In a
scratch copy of the tree (build/faults/) the changes are applied, the fault's tests are run, and
the changes are undone; the fault is caught when those tests fail. A fault whose `old` text no
longer occurs exactly once is reported as stale: the code moved on, and the fault must be written
again.

    python -m mutation.faults              every fault
    python -m mutation.faults estop        the faults whose name contains "estop"

Exit status 1 when a fault went uncaught or is stale.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SCRATCH = ROOT / "build" / "faults"
COPIED = ("firmware_bridge", "controller", "profiles", "simulator", "tests", "docs", "examples")
IGNORED = shutil.ignore_patterns("__pycache__", ".hypothesis", "*.pyc")


@dataclass(frozen=True)
class Change:
    file: str
    old: str
    new: str


@dataclass(frozen=True)
class Fault:
    name: str
    changes: tuple[Change, ...]
    tests: tuple[str, ...]

    @property
    def files(self) -> str:
        return ", ".join(sorted({change.file for change in self.changes}))


def load(selector: str | None) -> list[Fault]:
    table = tomllib.loads((ROOT / "mutation" / "faults.toml").read_text())["fault"]
    faults = [
        Fault(
            f["name"],
            tuple(Change(c["file"], c["old"], c["new"]) for c in _changes(f)),
            tuple(f["tests"]),
        )
        for f in table
    ]
    return [f for f in faults if not selector or selector in f.name]


def _changes(entry: dict[str, Any]) -> list[dict[str, str]]:
    """A fault's `[[fault.change]]` tables, or its one change written inline."""
    if "change" in entry:
        changes: list[dict[str, str]] = entry["change"]
        return changes
    return [{"file": entry["file"], "old": entry["old"], "new": entry["new"]}]


def _copy_tree() -> None:
    shutil.rmtree(SCRATCH, ignore_errors=True)
    SCRATCH.mkdir(parents=True)
    for name in COPIED:
        shutil.copytree(ROOT / name, SCRATCH / name, ignore=IGNORED)
    shutil.copy2(ROOT / "pyproject.toml", SCRATCH / "pyproject.toml")


def _pytest(tests: tuple[str, ...]) -> int:
    # PYTHONPATH first: the scratch copy, not the installed tree, is what the tests import.
    command = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:randomly"]
    return subprocess.run(
        [*command, "-p", "no:cacheprovider", *tests],
        cwd=SCRATCH,
        env={"PYTHONPATH": str(SCRATCH), "PATH": "/usr/bin:/bin", "HOME": str(SCRATCH)},
        capture_output=True,
    ).returncode


def replay(fault: Fault) -> str:
    """'caught', 'MISSED', 'STALE' (an old text is gone) or 'ERROR' (no such tests)."""
    originals = {c.file: (SCRATCH / c.file).read_text() for c in fault.changes}
    faulty = dict(originals)
    for change in fault.changes:
        if faulty[change.file].count(change.old) != 1:
            return "STALE"
        faulty[change.file] = faulty[change.file].replace(change.old, change.new)
    try:
        for file, text in faulty.items():
            (SCRATCH / file).write_text(text)
        code = _pytest(fault.tests)
    finally:
        for file, text in originals.items():
            (SCRATCH / file).write_text(text)
    # pytest: 1 tests failed; 2 and 3 the run broke (e.g. an import failed): red all the same;
    # 4 and 5 a wrong test name in faults.toml.
    return {0: "MISSED", 1: "caught", 2: "caught", 3: "caught"}.get(code, "ERROR")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    faults = load(args[0] if args else None)
    _copy_tree()
    # Without any fault the same tests must pass, or "caught" below would mean nothing.
    if _pytest(tuple(sorted({test for fault in faults for test in fault.tests}))) != 0:
        print("the faults' tests fail without any fault: fix them first", file=sys.stderr)
        return 2
    bad = 0
    for fault in faults:
        verdict = replay(fault)
        bad += verdict != "caught"
        print(f"{verdict:<7} {fault.name}  ({fault.files})", flush=True)
    print(f"{len(faults) - bad}/{len(faults)} hand-made faults caught by their tests")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
