"""The drawing shortcuts that keep the console's CPU down still show what changed, at once."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from textual.app import App, ComposeResult

from controller.console.forms import report_command
from controller.console.widgets import Cached, Spark, bars, link_troubles
from controller.journal.paths import ENV_JOURNAL_DIR


class _Lines(App[None]):
    def compose(self) -> ComposeResult:
        yield Cached("", id="text")
        yield Spark("", id="spark")


def _shown(app: App[None], widget: Cached) -> str:
    return "\n".join(line.text.rstrip() for line in widget.render_lines(widget.region.reset_offset))


async def test_a_line_that_changes_shows_its_new_text_at_the_next_redraw() -> None:
    app = _Lines()
    async with app.run_test(size=(60, 10)) as pilot:
        text = app.query_one("#text", Cached)
        text.paint("lease 250 ms")
        await pilot.pause()
        text.paint("lease 240 ms")  # the same height: repainted without a layout pass
        await pilot.pause()
        assert _shown(app, text) == "lease 240 ms"
        assert text.size.height == 1


async def test_a_text_that_grows_gets_the_lines_it_needs() -> None:
    """An alarm banner going from one alarm to three must show all three (a layout pass)."""
    app = _Lines()
    async with app.run_test(size=(60, 10)) as pilot:
        text = app.query_one("#text", Cached)
        text.paint("one alarm")
        await pilot.pause()
        text.paint("first\nsecond\nthird")
        await pilot.pause()
        assert text.size.height == 3
        assert _shown(app, text).splitlines() == ["first", "second", "third"]
        text.paint("x" * 100)  # wider than the screen: wraps onto two lines
        await pilot.pause()
        assert text.size.height == 2


async def test_the_sparkline_shows_the_newest_samples_one_a_cell() -> None:
    app = _Lines()
    async with app.run_test(size=(20, 10)) as pilot:
        spark = app.query_one("#spark", Spark)
        spark.show(tuple(range(100)))
        await pilot.pause()
        shown = _shown(app, spark)
        assert len(shown) == 20  # the last 20 of 100 samples
        assert shown[0] == "▁" and shown[-1] == "█"


def test_bars_run_from_the_lowest_sample_shown_to_the_highest() -> None:
    assert bars([500, 750, 1000]) == "▁▄█"
    assert bars([600, 600]) == "▁▁"  # a steady value is a flat line, not a division by zero
    assert bars([]) == ""


def test_the_report_command_quotes_a_journal_directory_with_spaces_and_quotes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pasted into a shell, the summary's command reaches the journal whatever its name."""
    monkeypatch.setenv(ENV_JOURNAL_DIR, str(tmp_path / "default"))
    odd = str(tmp_path / "clinic's journal dir")
    command = report_command(odd, 7)
    assert shlex.split(command) == [
        *("penctl", "audit", "report", odd, "--session", "7"),
        *("--format", "html", "-o", "session-000007.html"),
    ]
    assert report_command(str(tmp_path / "default"), 7).startswith("penctl audit report --session")


def test_the_device_bar_names_only_the_link_troubles_there_are() -> None:
    assert link_troubles({"bad_frames": 0, "retransmits": 0, "telemetry_gaps": 0}) == ""
    assert (
        link_troubles({"bad_frames": 1, "retransmits": 2, "telemetry_gaps": 0})
        == ": 1 bad frame, 2 retries"
    )
    assert link_troubles({"bad_frames": 0, "retransmits": 1, "telemetry_gaps": 3}) == (
        ": 1 retry, 3 telemetry gaps"
    )
