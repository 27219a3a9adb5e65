"""docs/controller.md carries the machines generated from their tables, every action and every
snapshot field, and the supervisor's thresholds with the values in the code."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from pathlib import Path

import pytest

from controller import supervisor
from controller.actions import ALL_ACTIONS
from controller.machines import generated_blocks
from controller.snapshot import Snapshot

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "controller.md"


def _text() -> str:
    return DOC.read_text(encoding="utf-8")


def _generated(name: str) -> str:
    match = re.search(
        rf"<!-- generated:{name} -->\n(.*?)\n<!-- /generated:{name} -->", _text(), re.S
    )
    assert match, f"docs/controller.md has no generated:{name} block"
    return match.group(1)


@pytest.mark.parametrize("name", list(generated_blocks()))
def test_the_generated_block_in_the_docs_is_the_one_in_the_code(name: str) -> None:
    """To regenerate after a deliberate change: `python -m controller.machines`, and paste."""
    assert _generated(name) == generated_blocks()[name]


def test_python_m_controller_machines_prints_every_block_with_its_markers() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "controller.machines"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout
    for name, block in generated_blocks().items():
        assert f"<!-- generated:{name} -->\n{block}\n<!-- /generated:{name} -->" in out


def _section(title: str) -> str:
    """From the heading `title` to the next heading of any level."""
    text = _text()
    start = text.index(f"\n{title}\n") + 1
    following = re.search(r"^#+ ", text[start + len(title) :], re.M)
    end = start + len(title) + following.start() if following else len(text)
    return text[start:end]


def test_every_action_is_in_the_action_table() -> None:
    table = _section("### Actions")
    listed = re.findall(r"^\| `([a-z_]+)` \|", table, re.M)
    assert listed == [action.name for action in ALL_ACTIONS]


def test_every_snapshot_field_is_described() -> None:
    table = _section("### Snapshot")
    described: list[str] = []
    for cell in re.findall(r"^\| (`[^|]+`) \|", table, re.M):
        described += re.findall(r"`([a-z_]+)`", cell)
    assert described == [f.name for f in dataclasses.fields(Snapshot)]


def test_the_supervisor_thresholds_are_the_ones_in_the_code() -> None:
    constants = {
        name: value
        for name, value in vars(supervisor).items()
        if name.isupper() and isinstance(value, int)
    }
    table = _section("## 5. The safety supervisor")
    rows = dict(re.findall(r"^\| `([A-Z_]+)` \| ([0-9]+) \|", table, re.M))
    assert rows == {name: str(value) for name, value in constants.items()}
