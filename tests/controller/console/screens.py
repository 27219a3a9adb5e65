"""The console's screens, drawn by Textual from sessions in virtual time (seeded, so the same
every run), each reached as a practitioner reaches it: the pictures in docs/console.md and the
SVG snapshots of test_snapshots.py come from here.

    .venv/bin/python -m tests.controller.console.screens   # rewrites docs/console/*.svg
    .venv/bin/pytest tests/controller/console/test_snapshots.py --snapshot-update
"""

from __future__ import annotations

import os
from pathlib import Path

from textual._doc import take_svg_screenshot
from textual.pilot import Pilot
from textual.widgets import Input

from controller.journal.paths import ENV_JOURNAL_DIR
from tests.controller.console.test_console import SIZE, Bench, rig, run_needle, to_treatment

ROOT = Path(__file__).resolve().parents[3]
OUT = ROOT / "docs" / "console"
SCREENS = ("device", "treatment", "alarm", "summary")


async def reach(b: Bench, name: str) -> None:
    """Reach the screen; the text cursor stops blinking so each picture is the same."""
    for field in b.app.query(Input):
        field.cursor_blink = False
    if name != "device":
        await to_treatment(b)
        await run_needle(b)
        await b.wait(1_500)
    if name == "alarm":
        await b.press("f1", ms=200)
    elif name == "summary":
        await b.press("p", ms=300)
        await b.press("n")
        await b.press("f")
        await b.click("#aftercare-done")
    b.app.refresh_view()
    await b.pilot.pause()


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name in SCREENS:
        with rig(f"screens-{name}") as r:
            # the journal's temporary directory made the default: the report command omits it
            os.environ[ENV_JOURNAL_DIR] = str(r.controller.journal.directory)

            async def before(pilot: Pilot[None], name: str = name) -> None:
                await reach(await r.bench(pilot), name)

            svg = take_svg_screenshot(
                r.app, terminal_size=SIZE, run_before=before, title=f"penctl console: {name}"
            )
        (OUT / f"{name}.svg").write_text(svg, encoding="utf-8")
        print(f"wrote {OUT / name}.svg")


if __name__ == "__main__":
    main()
