"""The hand-made faults of issue 16, replayed: each must turn its named tests red.

Each fault of mutation/faults.toml is one textual change to one file. In a scratch copy of the
tree (build/faults/) the change is applied, the fault's tests are run, and the change is undone;
the fault is caught when those tests fail. A fault whose `old` text no longer occurs exactly once
is reported as stale: the code moved on, and the fault must be written again.

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

ROOT = Path(__file__).resolve().parent.parent
SCRATCH = ROOT / "build" / "faults"
COPIED = ("firmware_bridge", "controller", "profiles", "simulator", "tests", "docs", "examples")
IGNORED = shutil.ignore_patterns("__pycache__", ".hypothesis", "*.pyc")


@dataclass(frozen=True)
class Fault:
    name: str
    file: str
    old: str
    new: str
    tests: tuple[str, ...]


def load(selector: str | None) -> list[Fault]:
    table = tomllib.loads((ROOT / "mutation" / "faults.toml").read_text())["fault"]
    faults = [Fault(f["name"], f["file"], f["old"], f["new"], tuple(f["tests"])) for f in table]
    return [f for f in faults if not selector or selector in f.name]


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
    """'caught', 'MISSED', 'STALE' (the old text is gone) or 'ERROR' (no such tests)."""
    target = SCRATCH / fault.file
    original = target.read_text()
    if original.count(fault.old) != 1:
        return "STALE"
    target.write_text(original.replace(fault.old, fault.new))
    try:
        code = _pytest(fault.tests)
    finally:
        target.write_text(original)
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
        print(f"{verdict:<7} {fault.name}  ({fault.file})", flush=True)
    print(f"{len(faults) - bad}/{len(faults)} hand-made faults caught by their tests")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
