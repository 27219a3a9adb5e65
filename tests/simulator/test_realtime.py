"""`penctl sim` in its own process, reached through pyserial over a real pty and over TCP.

Each test is a tiny host loop written with the codec, in real time (a few seconds in all)."""

from __future__ import annotations

import json
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import serial

from firmware_bridge.protocol import (
    Ack,
    Hello,
    Lease,
    SetParams,
    Start,
    Stop,
    StopReason,
)
from tests.simulator.realtime import RealHost, penctl_sim

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="ptys are POSIX only")

TICK_NS = 20_000_000  # PenConfig.tick_ms


def _events(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def _wait_for_event(path: Path, name: str, timeout_s: float = 3.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = [e for e in _events(path) if e["event"] == name]
        if found:
            return found[0]
        time.sleep(0.01)
    raise AssertionError(f"no {name} in {_events(path)}")


def test_a_session_over_a_real_pty_with_the_simulator_in_its_own_process(tmp_path: Path) -> None:
    link, events = tmp_path / "pen", tmp_path / "events.jsonl"
    with penctl_sim("--pty-link", str(link), "--events", str(events), "--seed", "3") as (proc, url):
        assert url == str(link) and link.is_symlink()
        port = serial.serial_for_url(url, timeout=0.05)
        port.reset_input_buffer()
        host = RealHost(port)
        identity = host.identify()
        assert (identity.model, identity.serial_number) == ("PENSIM-1", "SIM-000001")
        applied = host.request(SetParams(1, 500, 100))
        assert isinstance(applied, Ack) and (applied.depth_um, applied.speed_sps) == (500, 100)
        assert isinstance(host.request(Lease(300)), Ack)
        assert isinstance(host.request(Start(1)), Ack)
        for _ in range(5):
            time.sleep(0.1)
            assert host.request(Lease(300)).pen_state.name == "RUNNING"
        stopped = host.request(Stop(StopReason.OPERATOR))
        assert isinstance(stopped, Ack) and stopped.pen_state.name == "READY"
        _wait_for_event(events, "motor_stopped")
        port.close()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=5) == 0
    assert not link.exists()  # the link goes with the simulator
    names = [e["event"] for e in _events(events)]
    assert names[:4] == ["boot", "params_applied", "motor_started", "motor_stopped"]
    stop = _events(events)[3]
    assert stop["reason"] == "stop" and stop["host_reason"] == "operator"
    assert all(isinstance(e["t_ns"], int) for e in _events(events))


def test_s5_lease_lapse_over_a_real_pty_stops_within_the_lease_plus_one_tick(
    tmp_path: Path,
) -> None:
    link, events = tmp_path / "pen", tmp_path / "events.jsonl"
    with penctl_sim("--pty-link", str(link), "--events", str(events)) as (_, url):
        port = serial.serial_for_url(url, timeout=0.05)
        host = RealHost(port)
        host.identify()
        host.request(SetParams(1, 500, 100))
        _, granted_ns = host.send(Lease(200))
        assert isinstance(host.request(Start(1)), Ack)
        stopped = _wait_for_event(events, "motor_stopped")  # no renewals from here
        assert stopped["reason"] == "lease_expired"
        elapsed_ns = stopped["t_ns"] - granted_ns
        assert 200_000_000 <= elapsed_ns <= 200_000_000 + TICK_NS
        assert _wait_for_event(events, "fault_raised")["fault"] == "lease_expired"
        port.close()


def test_a_session_over_socket_urls_one_host_at_a_time() -> None:
    with penctl_sim("--tcp", "127.0.0.1:0") as (proc, url):
        assert url.startswith("socket://127.0.0.1:")
        port = serial.serial_for_url(url, timeout=0.05)
        host = RealHost(port)
        assert host.identify().protocol_version == 1
        second = socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1])), timeout=2)
        assert second.recv(16) == b""  # refused while the first host holds the pen
        second.close()
        assert isinstance(host.request(SetParams(1, 1000, 120)), Ack)
        port.close()
        again = serial.serial_for_url(url, timeout=0.05)  # the next host may connect
        assert isinstance(RealHost(again).request(Hello(1)), Ack)
        again.close()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0


def test_unplug_over_a_real_pty_fails_the_port_and_the_link_comes_back(tmp_path: Path) -> None:
    scenario = tmp_path / "unplug.toml"
    scenario.write_text(
        '[[fault]]\non = "params_applied"\nafter_ms = 100\naction = "unplug"\nfor_ms = 400\n'
    )
    link = tmp_path / "pen"
    with penctl_sim("--pty-link", str(link), "--scenario", str(scenario)) as (_, url):
        port = serial.serial_for_url(url, timeout=0.05)
        host = RealHost(port)
        host.identify()
        assert isinstance(host.request(SetParams(1, 500, 100)), Ack)
        deadline = time.monotonic() + 3
        with pytest.raises(serial.SerialException):  # EIO once the pty is gone
            while time.monotonic() < deadline:
                port.read(64)
        port.close()
        deadline = time.monotonic() + 3
        while not link.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        again = serial.serial_for_url(url, timeout=0.05)  # the same link, a new pty
        assert RealHost(again).request(Hello(1)).pen_state.name == "IDLE"
        again.close()
