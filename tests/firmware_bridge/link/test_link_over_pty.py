"""The pen link in real time over a real pty, with `penctl sim` in its own process.

Each check reads the simulator's own events file (its clock is CLOCK_MONOTONIC, the same one the
host reads), so "the motor stopped" is the pen's word, not the host's belief.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from controller.simproc import simulator_process
from firmware_bridge import open_pen
from firmware_bridge.clock import NS_PER_MS
from firmware_bridge.link import LinkOutput, LinkState, LinkStateChanged, PenRefused
from firmware_bridge.protocol import FaultCode, NakReason, PenState, StopReason

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="ptys are POSIX only")
LEASE_MS = 300


def _events(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _wait_for(path: Path, event: str, timeout_s: float = 3.0, **match: Any) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for item in _events(path):
            if item["event"] == event and all(item.get(k) == v for k, v in match.items()):
                return item
        time.sleep(0.02)
    raise AssertionError(f"no {event} {match} in {path}: {_events(path)[-10:]}")


def _run_briefly(pen: Any, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pen.renew_lease(LEASE_MS)
        time.sleep(0.1)


def test_the_full_command_set_over_a_real_pty(tmp_path: Path) -> None:
    """HELLO, LEASE, SET_PARAMS, START, GET_STATUS, STOP, ESTOP, CLEAR_FAULT, reconnect (S3, S4)."""
    events = tmp_path / "events.jsonl"
    with (
        simulator_process(["--events", str(events)]) as path,
        open_pen(path, trace=tmp_path / "trace.jsonl") as pen,
    ):
        identity = pen.identify()
        assert identity.identify.model == "PENSIM-1"
        pen.renew_lease(LEASE_MS)
        applied = pen.set_params(depth_um=750, speed_sps=100)
        assert (applied.depth_um, applied.speed_sps) == (750, 100)
        assert pen.start().pen_state is PenState.RUNNING
        _wait_for(events, "motor_started")
        _run_briefly(pen, 0.3)
        assert pen.get_status().pen_state is PenState.RUNNING
        assert pen.stop(StopReason.OPERATOR, wait=True) is not None
        _wait_for(events, "motor_stopped", reason="stop")

        assert pen.estop(wait=True) is not None
        _wait_for(events, "estop_engaged")
        with pytest.raises(PenRefused, match="e-stop is latched") as refused:
            pen.set_params(depth_um=500, speed_sps=100)
        assert refused.value.nak.reason is NakReason.ESTOPPED
        assert pen.clear_fault(FaultCode.ESTOP).pen_state is PenState.IDLE

        again = pen.reconnect()
        assert again.serial_number == identity.serial_number
        assert pen.status().link is LinkState.UP
        assert pen.applied is None  # a HELLO discards the applied set: confirm it again (S5)
    trace = [json.loads(line) for line in (tmp_path / "trace.jsonl").read_text().splitlines()]
    assert {"HELLO", "SET_PARAMS", "START", "STOP", "ESTOP", "ACK", "TELEMETRY"} <= {
        t["type"] for t in trace
    }


def test_a_pulled_cable_is_link_loss_and_the_pen_stops_by_its_lease(tmp_path: Path) -> None:
    """S5: the host reports link loss within its timeout; the pen stopped on its own."""
    scenario = tmp_path / "pull.toml"
    scenario.write_text(
        'name = "pull"\n[[fault]]\non = "motor_started"\nafter_ms = 300\n'
        'action = "unplug"\nfor_ms = 5000\n'
    )
    events = tmp_path / "events.jsonl"
    changes: list[LinkStateChanged] = []

    def keep(output: LinkOutput) -> None:
        if isinstance(output, LinkStateChanged):
            changes.append(output)

    with (
        simulator_process(["--events", str(events), "--scenario", str(scenario)]) as path,
        open_pen(path) as pen,
    ):
        pen.subscribe(keep)
        pen.identify()
        pen.renew_lease(LEASE_MS)
        pen.set_params(depth_um=500, speed_sps=100)
        pen.start()
        _run_briefly(pen, 1.2)
        unplugged = _wait_for(events, "link_unplugged")
        stopped = _wait_for(events, "motor_stopped", reason="lease_expired")
        assert pen.status().link is LinkState.LOST
    lost = next(c for c in changes if c.new is LinkState.LOST)
    # The host knew within 3 telemetry periods plus a poll; the pen stopped within its lease.
    assert lost.at_ns - unplugged["t_ns"] <= 200 * NS_PER_MS
    assert stopped["t_ns"] - unplugged["t_ns"] <= (LEASE_MS + 50) * NS_PER_MS


HOST_SCRIPT = """
import sys, time
from firmware_bridge import open_pen
pen = open_pen(sys.argv[1])
pen.identify()
pen.renew_lease(300)
pen.set_params(depth_um=500, speed_sps=100)
pen.start()
print("running", flush=True)
while True:
    pen.renew_lease(300)
    time.sleep(0.1)
"""


def test_a_killed_host_leaves_the_motor_stopped_within_the_lease(tmp_path: Path) -> None:
    """S5: SIGKILL the host mid-run; the pen's lease watchdog stops the motor by itself."""
    events = tmp_path / "events.jsonl"
    with simulator_process(["--events", str(events)]) as path:
        host = subprocess.Popen(
            [sys.executable, "-c", HOST_SCRIPT, path],
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            assert host.stdout is not None
            assert host.stdout.readline().strip() == "running"
            time.sleep(0.5)
            killed_ns = time.monotonic_ns()
            host.send_signal(signal.SIGKILL)
        finally:
            host.wait(timeout=10)
        stopped = _wait_for(events, "motor_stopped", reason="lease_expired")
    assert stopped["t_ns"] - killed_ns <= (LEASE_MS + 50) * NS_PER_MS
