"""SVG snapshots (pytest-textual-snapshot) of the device, treatment, alarm and summary screens,
each reached from a seeded session in virtual time (screens.py). A deliberate change:
`.venv/bin/pytest tests/controller/console/test_snapshots.py --snapshot-update`, then review the
SVGs under __snapshots__/ (and rerun `python -m tests.controller.console.screens` for the docs).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual.pilot import Pilot

from controller.journal.paths import ENV_JOURNAL_DIR
from tests.controller.console.screens import SCREENS, reach
from tests.controller.console.test_console import SIZE, rig


@pytest.mark.parametrize("name", SCREENS)
def test_the_screen_matches_its_svg_snapshot(
    name: str, snap_compare: Callable[..., bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    with rig(f"snapshot-{name}") as r:
        # The rig's journal is in a new temporary directory each run: made the default one, the
        # summary's report command leaves it out, so the picture is the same every run.
        monkeypatch.setenv(ENV_JOURNAL_DIR, str(r.controller.journal.directory))

        async def before(pilot: Pilot[None]) -> None:
            await reach(await r.bench(pilot), name)

        assert snap_compare(r.app, terminal_size=SIZE, run_before=before)
