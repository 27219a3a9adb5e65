"""The keys a practitioner presses, from the intake screen to a running needle, on the bundled
simulator's pen: shared by the real-terminal test and the console benchmark (bench/console.py).

Each key waits for what a person would look for before the next one (a list opened, a box
ticked, the next step showing), so the walk holds on a loaded machine. The clinic directory is
the bundled policy with a numbing dwell of 3 s (the bundled 15 min runs in real time: nothing
else shortens it), so the whole walk takes about 15 s.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from profiles.loader import bundled_dir


@dataclass(frozen=True)
class Key:
    """A key (tmux's name for it), then the text to wait for on the screen, or to wait to go."""

    name: str
    shows: str | None = None
    hides: str | None = None


def intake(areas: int = 1) -> list[Key]:
    """Atrophic acne scars on its first `areas` areas (cheek_left first), every answer no."""
    return [
        Key("P-TERM-1", shows="P-TERM-1"),  # patient pseudonym
        Key("Tab"),
        Key("Enter", shows="Prevention of ageing"),  # the profile list is open...
        Key("Down"),
        Key("Enter", shows="cheek_left"),  # ...Atrophic acne scars: its areas fill the next list
        Key("Tab"),
        *[Key("Down"), Key("Space")] * areas,
        Key("Tab"),
        Key("Enter", shows="Fitzpatrick 6"),  # skin type
        Key("Down"),
        Key("Down"),
        Key("Enter", hides="Fitzpatrick 6"),  # Fitzpatrick 2
        Key("Tab"),
        Key("Enter", shows="doctor"),  # practitioner level
        Key("Down"),
        Key("Enter", hides="doctor"),  # therapist
        Key("Tab"),  # screening: every answer no
        Key("Tab"),
        Key("Tab"),
        Key("Tab"),
        Key("Enter", shows="step: consent"),  # Record intake
    ]


CONSENT = [Key("Tab")] * 4 + [Key("Enter", shows="step: preparation")]  # Consent given
NUMBING_DWELL_S = 3
PREPARATION = [
    Key("Tab"),
    Key("Enter", shows="☑ cleansed"),
    Key("Tab"),
    Key("Enter", shows="numbing dwell reached"),  # Numbing on, and its dwell
    Key("Tab"),
    Key("Enter", shows="☑ numbing removed"),
    Key("BTab"),
    Key("BTab"),
    Key("Enter", shows="☑ recleansed"),
    Key("Tab"),
    Key("Tab"),
    Key("Tab"),
    Key("Enter", shows="☑ cartridge"),
    Key("Tab"),
    Key("Enter", shows="step: treatment"),  # Begin treatment
]
TO_TREATMENT = intake() + CONSENT + PREPARATION
ARM = [Key("n", shows="[cheek_left]"), Key("a", shows="  ARMED  ")]

# What a terminal sends for each of those keys (xterm, as tmux and most terminals send them).
TERMINAL_BYTES = {
    "Tab": b"\t",
    "BTab": b"\x1b[Z",
    "Enter": b"\r",
    "Down": b"\x1b[B",
    "Space": b" ",
    "F1": b"\x1bOP",
    "F2": b"\x1bOQ",
}


def to_bytes(key: str) -> bytes:
    return TERMINAL_BYTES.get(key, key.encode())


def walk(
    keys: list[Key],
    press: Callable[[str], None],
    screen: Callable[[], str],
    timeout_s: float = 20,
) -> str:
    """Press each key and wait for what it should show; the screen at the end."""
    for key in keys:
        press(key.name)
        if key.shows or key.hides:
            wait_for(screen, key.shows, key.hides, timeout_s)
        else:
            time.sleep(0.1)
    return screen()


def wait_for(
    screen: Callable[[], str], shows: str | None, hides: str | None = None, timeout_s: float = 20
) -> str:
    deadline = time.monotonic() + timeout_s
    while True:
        shown = screen()
        if (shows is None or shows in shown) and (hides is None or hides not in shown):
            return shown
        if time.monotonic() > deadline:
            what = f"{shows!r} to show" if shows else f"{hides!r} to go"
            raise AssertionError(f"waited {timeout_s} s for {what}; the screen:\n{shown}")
        time.sleep(0.05)


def start_needle(press: Callable[[str], None], screen: Callable[[], str]) -> str:
    """Press s until RUNNING shows: "no live lease yet, try again" is pressed again, as a person
    would (the first renewal after arming can be a moment behind)."""
    press("s")
    deadline = time.monotonic() + 10
    while "  RUNNING  " not in (shown := screen()):
        if time.monotonic() > deadline:
            raise AssertionError(f"the needle never started; the screen:\n{shown}")
        if "no live lease yet" in shown:
            press("s")
        time.sleep(0.2)
    return shown


def short_dwell_clinic(directory: Path) -> Path:
    """A clinic directory: the bundled policy with a numbing dwell of NUMBING_DWELL_S seconds."""
    directory.mkdir(parents=True, exist_ok=True)
    policy = bundled_dir().joinpath("policy.toml").read_text()
    shortened = policy.replace(
        "min_dwell_minutes = 15", f"min_dwell_minutes = {NUMBING_DWELL_S / 60:.2f}"
    )
    assert shortened != policy, "the bundled policy's numbing dwell moved; update walkthrough.py"
    (directory / "policy.toml").write_text(shortened)
    return directory
