"""The layering of ARCHITECTURE.md §1, checked on the source: imports point down the picture only.

controller -> firmware_bridge, profiles, simulator; firmware_bridge and profiles import nothing
else of ours; simulator imports only firmware_bridge.protocol and firmware_bridge.clock.
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
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
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
