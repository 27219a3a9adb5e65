"""The console's screens as SVG, drawn by Textual from sessions in virtual time (seeded, so the
same every run): the pictures in docs/console.md, and the snapshots the tests compare.

    .venv/bin/python -m tests.controller.console.screens   # rewrites docs/console/*.svg
                                                            # and the snapshots' text
The snapshot tests compare the text layer of the SVG (what a person reads, cell by cell), not its
styling, which carries a blinking cursor and Textual's own class names from run to run.
"""

from __future__ import annotations

import asyncio
import html
import re
from pathlib import Path

from tests.controller.console.test_console import Bench, console, run_needle, to_treatment

ROOT = Path(__file__).resolve().parents[3]
OUT = ROOT / "docs" / "console"
SNAPSHOTS = Path(__file__).with_name("snapshots")
_TEXT = re.compile(r'<text class="[^"]*" x="([\d.]+)" y="([\d.]+)"[^>]*>(.*?)</text>')
SCREENS = ("device", "treatment", "alarm", "summary")


async def draw(name: str) -> str:
    """The SVG of one screen, reached as a practitioner would reach it."""
    async with console(f"screens-{name}") as b:
        await _reach(b, name)
        b.app.refresh_view()
        await b.pilot.pause()
        return b.app.export_screenshot(title=f"penctl console: {name}")


async def _reach(b: Bench, name: str) -> None:
    if name == "device":
        return
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


def screen_text(svg: str) -> str:
    """The words on the screen, row by row, from Textual's SVG export."""
    rows: dict[float, list[tuple[float, str]]] = {}
    for match in _TEXT.finditer(svg):
        x, y = float(match.group(1)), float(match.group(2))
        rows.setdefault(y, []).append((x, html.unescape(match.group(3)).replace("\xa0", " ")))
    return (
        "\n".join(
            "".join(t for _, t in sorted(cells)).rstrip() for _, cells in sorted(rows.items())
        )
        + "\n"
    )


async def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    SNAPSHOTS.mkdir(exist_ok=True)
    for name in SCREENS:
        svg = await draw(name)
        (OUT / f"{name}.svg").write_text(svg, encoding="utf-8")
        (SNAPSHOTS / f"{name}.txt").write_text(screen_text(svg), encoding="utf-8")
        print(f"wrote {OUT / name}.svg and its snapshot")


if __name__ == "__main__":
    asyncio.run(main())
