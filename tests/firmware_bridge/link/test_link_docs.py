"""docs/link.md shows the link's state table as the code declares it: the picture cannot drift."""

from __future__ import annotations

import re
from pathlib import Path

from firmware_bridge.link.core import RETRANSMISSIONS, SILENT_PERIODS, STOP_REPEAT_NS, TRY_NS
from firmware_bridge.link.states import render_mermaid, render_table

DOC = Path(__file__).parents[3] / "docs" / "link.md"


def _generated(name: str) -> str:
    text = DOC.read_text(encoding="utf-8")
    match = re.search(rf"<!-- generated:{name} -->\n(.*?)\n<!-- /generated:{name} -->", text, re.S)
    assert match, f"docs/link.md has no generated:{name} block"
    return match.group(1)


def test_the_state_diagram_in_the_docs_is_the_one_in_the_code() -> None:
    assert _generated("link-states") == f"```mermaid\n{render_mermaid()}\n```"


def test_the_transition_table_in_the_docs_is_the_one_in_the_code() -> None:
    assert _generated("link-transitions") == render_table()


def test_the_timing_constants_in_the_docs_are_the_codes() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert TRY_NS == STOP_REPEAT_NS == 100_000_000
    assert "A try waits **100 ms**" in text
    assert f"at most **{RETRANSMISSIONS}** times" in text
    assert f"**{SILENT_PERIODS} telemetry periods**" in text
