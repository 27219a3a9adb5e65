"""The console's screens as SVG, drawn by Textual from sessions in virtual time (seeded, so the
same every run): the pictures in docs/console.md, and the snapshots the tests compare.

    .venv/bin/python -m tests.controller.console.screens   # rewrites docs/console/*.svg
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.controller.console.test_console import Bench, console, run_needle, to_treatment

ROOT = Path(__file__).resolve().parents[3]
OUT = ROOT / "docs" / "console"
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


async def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name in SCREENS:
        (OUT / f"{name}.svg").write_text(await draw(name), encoding="utf-8")
        print(f"wrote {OUT / name}.svg")


if __name__ == "__main__":
    asyncio.run(main())
