"""`penctl console` in a real terminal (tmux), on the simulator in its own process over a pty:
what a practitioner sees, and the e-stop key checked at the pen (the simulator's events file).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from controller.simproc import simulator_process
from tests.controller.console.walkthrough import (
    ARM,
    TO_TREATMENT,
    short_dwell_clinic,
    start_needle,
    walk,
)

pytestmark = pytest.mark.skipif(
    shutil.which("tmux") is None,
    reason="tmux is not installed (apt-get install tmux; `make test` does it as root)",
)
ROOT = Path(__file__).resolve().parents[3]
SESSION = f"penctl-test-{os.getpid()}"


def _tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, check=True).stdout


def _screen() -> str:
    return _tmux("capture-pane", "-t", SESSION, "-p")


def _wait_screen(text: str, timeout_s: float = 20) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        screen = _screen()
        if text in screen:
            return screen
        time.sleep(0.2)
    raise AssertionError(f"{text!r} never appeared on the screen:\n{_screen()}")


def _events(path: Path) -> list[dict[str, object]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@contextmanager
def _console_in_tmux(tmp_path: Path, cartridge: str, *options: str) -> Iterator[Path]:
    """`penctl console` in a tmux window on `penctl sim`; yields the simulator's events file."""
    events = tmp_path / "events.jsonl"
    penctl = Path(sys.executable).with_name("penctl")
    with simulator_process(["--events", str(events), "--cartridge-serial", cartridge]) as pty:
        command = (
            f"PENCTL_KEY_DIR={tmp_path / 'keys'} {penctl} console --port {pty} "
            f"--journal {tmp_path / 'j'} --operator op:tmux {' '.join(options)}; sleep 30"
        )
        _tmux("new-session", "-d", "-s", SESSION, "-x", "150", "-y", "48", command)
        try:
            yield events
        finally:
            subprocess.run(["tmux", "kill-session", "-t", SESSION], capture_output=True)


def test_the_console_in_a_real_terminal_identifies_the_pen_and_f1_latches_the_estop(
    tmp_path: Path,
) -> None:
    with _console_in_tmux(tmp_path, "TERM-0001") as events:
        _wait_screen("IDLE")
        screen = _wait_screen("esc STOP")  # the footer names both keys
        assert "f1 E-STOP" in screen
        assert "PENSIM-1 SIM-000001" in screen and "TERM-0001" in screen
        _tmux("send-keys", "-t", SESSION, "P-TYPING")  # typing in the patient field...
        _tmux("send-keys", "-t", SESSION, "F1")  # ...the e-stop key still works (S4)
        screen = _wait_screen("ESTOP_ENGAGED")
        assert "***" in screen and "acknowledge with F2" in screen
        deadline = time.monotonic() + 5
        while not any(e["event"] == "estop_engaged" for e in _events(events)):
            assert time.monotonic() < deadline, _events(events)
            time.sleep(0.05)
        _tmux("send-keys", "-t", SESSION, "F2")
        _wait_screen(" IDLE ")  # acknowledged: the latch released into IDLE, never RUNNING
        assert not any(e["event"] == "motor_started" for e in _events(events))


def _key(name: str) -> None:
    _tmux("send-keys", "-t", SESSION, name)


def _wait_event(path: Path, name: str, after: int = 0, timeout_s: float = 5) -> dict[str, object]:
    deadline = time.monotonic() + timeout_s
    while True:
        found = [e for e in _events(path)[after:] if e["event"] == name]
        if found:
            return found[0]
        assert time.monotonic() < deadline, f"no {name} event: {_events(path)[-5:]}"
        time.sleep(0.05)


def test_a_practitioner_starts_the_needle_from_the_keyboard_and_f1_brakes_it_at_the_pen(
    tmp_path: Path,
) -> None:
    """From intake to a running needle with keys alone, then F1: the pen brakes (motor stopped,
    reason estop) and latches; F2 releases the latch without restarting the needle (S4, S6)."""
    clinic = short_dwell_clinic(tmp_path / "clinic")
    with _console_in_tmux(tmp_path, "TERM-0002", "--clinic-dir", str(clinic)) as events:
        _wait_screen("esc STOP")
        walk(TO_TREATMENT + ARM, _key, _screen)
        screen = start_needle(_key, _screen)
        assert "cheek_left" in screen and "range 0.50" in screen
        started = _wait_event(events, "motor_started")
        seen = len(_events(events))
        _key("F1")
        stopped = _wait_event(events, "motor_stopped", after=seen)
        assert stopped["reason"] == "estop" and started["t_ns"] < stopped["t_ns"]
        screen = _wait_screen("  ESTOP  ")
        assert "ESTOP_ENGAGED" in screen and "acknowledge with F2" in screen
        _key("F2")
        _wait_screen(" IDLE ")
        time.sleep(0.5)
        assert [e["event"] for e in _events(events)].count("motor_started") == 1
