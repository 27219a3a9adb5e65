"""docs/simulator.md carries the tables generated from the code; the clock the simulator shares
loads alone. (Which of our packages the simulator may import is an import-linter contract in
pyproject.toml, checked by tests/test_layers.py.)"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from simulator.config import render_range_table
from simulator.states import render_command_table, render_mermaid

ROOT = Path(__file__).resolve().parents[2]


def _generated(name: str) -> str:
    text = (ROOT / "docs" / "simulator.md").read_text(encoding="utf-8")
    match = re.search(rf"<!-- generated:{name} -->\n(.*?)\n<!-- /generated:{name} -->", text, re.S)
    assert match, f"docs/simulator.md has no generated:{name} block"
    return match.group(1)


def test_the_state_diagram_in_the_docs_is_the_one_in_the_code() -> None:
    assert _generated("states") == f"```mermaid\n{render_mermaid()}\n```"


def test_the_command_table_in_the_docs_is_the_one_in_the_code() -> None:
    assert _generated("commands") == render_command_table()


def test_the_pen_value_ranges_in_the_docs_are_the_ones_the_simulator_enforces() -> None:
    """S9: a scenario author reads what `[pen]` accepts; the table is rendered from the check."""
    assert _generated("pen-ranges") == render_range_table()


def test_the_virtual_clock_comes_alone() -> None:
    code = (
        "import sys, firmware_bridge.clock; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('simulator', 'firmware_bridge', 'controller', 'profiles')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['firmware_bridge', 'firmware_bridge.clock']"
