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
from pathlib import Path

import pytest

from controller.simproc import simulator_process

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


def test_the_console_in_a_real_terminal_identifies_the_pen_and_f1_latches_the_estop(
    tmp_path: Path,
) -> None:
    events = tmp_path / "events.jsonl"
    penctl = Path(sys.executable).with_name("penctl")
    with simulator_process(["--events", str(events), "--cartridge-serial", "TERM-0001"]) as pty:
        command = (
            f"PENCTL_KEY_DIR={tmp_path / 'keys'} {penctl} console --port {pty} "
            f"--journal {tmp_path / 'j'} --operator op:tmux; sleep 30"
        )
        _tmux("new-session", "-d", "-s", SESSION, "-x", "150", "-y", "48", command)
        try:
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
        finally:
            subprocess.run(["tmux", "kill-session", "-t", SESSION], capture_output=True)
