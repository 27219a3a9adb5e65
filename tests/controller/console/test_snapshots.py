"""Snapshots of the device, treatment, alarm and summary screens, drawn by Textual as SVG from
seeded sessions in virtual time and compared by what they say (screens.py explains why the text
layer). A deliberate change: `.venv/bin/python -m tests.controller.console.screens`, then review
the diff of snapshots/*.txt and docs/console/*.svg."""

from __future__ import annotations

import pytest

from tests.controller.console.screens import SCREENS, SNAPSHOTS, draw, screen_text


@pytest.mark.parametrize("name", SCREENS)
async def test_the_screen_matches_its_snapshot(name: str) -> None:
    expected = (SNAPSHOTS / f"{name}.txt").read_text(encoding="utf-8")
    assert screen_text(await draw(name)) == expected
