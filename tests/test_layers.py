"""The layering of ARCHITECTURE.md §1, checked on the source: imports point down the picture only.

controller -> firmware_bridge, profiles, simulator; firmware_bridge and profiles import nothing
else of ours; simulator imports only firmware_bridge.protocol and firmware_bridge.clock. Inside
controller, only `penctl audit` imports the journal's audit package.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
OURS = ("controller", "firmware_bridge", "profiles", "simulator")
ALLOWED = {
    "controller": {"controller", "firmware_bridge", "profiles", "simulator"},
    "firmware_bridge": {"firmware_bridge"},
    "profiles": {"profiles"},
    "simulator": {"simulator", "firmware_bridge.protocol", "firmware_bridge.clock"},
}


def _imports(path: Path) -> set[str]:
    """Every module of ours a file imports; `from a import b` counts as `a` and `a.b` (b may be
    a module)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in names if name.split(".")[0] in OURS}


@pytest.mark.parametrize("package", OURS)
def test_imports_point_down_the_layers(package: str) -> None:
    allowed = ALLOWED[package]
    wrong = {
        f"{path.relative_to(ROOT)} imports {name}"
        for path in (ROOT / package).rglob("*.py")
        for name in _imports(path)
        if not any(name == ok or name.startswith(ok + ".") for ok in allowed)
    }
    assert not wrong, sorted(wrong)


def test_only_penctl_audit_imports_the_auditors_tools() -> None:
    """A session loads the journal's writer, never its verifier or reports (§1)."""
    audit = "controller.journal.audit"
    allowed = {ROOT / "controller" / "commands" / "audit.py"}
    wrong = {
        f"{path.relative_to(ROOT)} imports {name}"
        for path in (ROOT / "controller").rglob("*.py")
        if path not in allowed and (ROOT / "controller" / "journal" / "audit") not in path.parents
        for name in _imports(path)
        if name == audit or name.startswith(audit + ".")
    }
    assert not wrong, sorted(wrong)
