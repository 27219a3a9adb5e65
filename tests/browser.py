"""Headless Chromium for the tests that look at an HTML report as a person would."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
WINDOW = (1280, 1600)

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="/usr/bin/chromium is not installed (apt-get install chromium); "
    "the HTML report is not rendered in this run",
)


def screenshot(page: Path, shot: Path) -> subprocess.CompletedProcess[str]:
    """Render `page` in a fresh profile, with nothing fetched from the network, into `shot`."""
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(
            [
                str(CHROMIUM),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={profile}",
                f"--screenshot={shot}",
                f"--window-size={WINDOW[0]},{WINDOW[1]}",
                page.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
