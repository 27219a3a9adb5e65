"""Live control: `penctl sim --control PATH`, driven with `penctl sim ctl` and raw JSON lines while
a host talks to the pen over a real pty (docs/simulator.md, "Live control")."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import serial

from firmware_bridge.protocol import (
    Ack,
    Cartridge,
    CartridgeState,
    ClearFault,
    Event,
    EventCode,
    FaultCode,
    Lease,
    Message,
    Nak,
    NakReason,
    SetParams,
    Start,
    Telemetry,
    encode,
)
from simulator.control import request
from tests.simulator.realtime import RealHost, _penctl, penctl_sim

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="ptys and Unix sockets are POSIX")


def _wait(host: RealHost, found: Callable[[Message], bool], timeout_s: float = 3.0) -> Message:
    """Read until a message `found` accepts arrives (since the last call); it is returned."""
    host.received.clear()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        host.pump()
        for message in host.received:
            if found(message):
                return message
    raise AssertionError(f"not seen within {timeout_s} s; got {host.received[-5:]}")


@contextmanager
def _renewing(port: serial.SerialBase) -> Iterator[None]:
    """A host thread renewing a 1 s lease every 200 ms (seqs from 40000, apart from the test's),
    so the pen keeps running however slowly `penctl sim ctl` starts on a loaded machine."""
    stop = threading.Event()

    def renew() -> None:
        seq = 40_000
        while not stop.wait(0.2):
            with contextlib.suppress(serial.SerialException, OSError):
                port.write(encode(Lease(1000), seq))
            seq += 1

    thread = threading.Thread(target=renew, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _event(code: EventCode, detail: int | None = None) -> Callable[[Message], bool]:
    return lambda m: isinstance(m, Event) and m.event is code and detail in (None, m.detail)


def _ctl(control: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*_penctl(), "sim", "ctl", str(control), *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_live_control_over_a_pty_while_the_pen_runs(tmp_path: Path) -> None:
    link, control = tmp_path / "pen", tmp_path / "pen.ctl"
    with penctl_sim("--pty-link", str(link), "--control", str(control)) as (_, url):
        host = RealHost(serial.serial_for_url(url, timeout=0.01))
        host.identify()
        assert isinstance(host.request(SetParams(1, 1000, 120)), Ack)
        assert isinstance(host.request(Lease(1000)), Ack)
        with _renewing(host.port):
            _live_actions(host, control, link)


def _live_actions(host: RealHost, control: Path, link: Path) -> None:
    """Each action of the control socket, and what the host sees of it."""
    assert isinstance(host.request(Start(1)), Ack)
    done = _ctl(control, "button")  # the command line
    assert done.returncode == 0 and json.loads(done.stdout)["ok"], done
    _wait(host, _event(EventCode.BUTTON_STOP))
    assert request(control, {"action": "status"})["state"] == "READY"

    assert _ctl(control, "set", "battery_pct=20").returncode == 0
    _wait(host, lambda m: isinstance(m, Telemetry) and m.battery_pct == 20)

    assert request(control, {"action": "set", "temperature_c": 45})["ok"]  # JSON lines
    _wait(host, _event(EventCode.FAULT_RAISED, FaultCode.OVER_TEMPERATURE))
    refused = host.request(ClearFault(FaultCode.OVER_TEMPERATURE))
    assert isinstance(refused, Nak) and refused.reason is NakReason.FAULT_CAUSE_PRESENT
    assert request(control, {"action": "clear", "cause": "heat"})["ok"]
    assert isinstance(host.request(ClearFault(FaultCode.OVER_TEMPERATURE)), Ack)

    assert request(control, {"action": "pull_cartridge"})["ok"]
    _wait(host, _event(EventCode.CARTRIDGE_REMOVED))
    assert request(control, {"action": "seat_cartridge", "fresh": True})["ok"]
    seated = _wait(host, lambda m: isinstance(m, Cartridge) and m.serial != "")
    assert seated.state is CartridgeState.FRESH

    dropped = {"action": "drop", "direction": "to_host", "types": ["TELEMETRY"], "frames": 3}
    assert request(control, {"action": "inject", "fault": dropped})["ok"]  # any scenario action
    status = request(control, {"action": "status"})
    assert status["cartridge"] == "FRESH" and status["plugged"] is True

    assert request(control, {"action": "raise", "cause": "internal"})["ok"]
    _wait(host, _event(EventCode.FAULT_RAISED, FaultCode.INTERNAL))
    cannot = request(control, {"action": "clear", "cause": "internal"})
    assert not cannot["ok"] and "reboot" in cannot["error"]
    assert request(control, {"action": "reboot"})["ok"]
    _wait(host, _event(EventCode.BOOT))

    assert request(control, {"action": "cut_link"})["ok"]
    with pytest.raises(OSError):  # EIO: the pty is gone, as a pulled USB device's port
        _wait(host, lambda m: False, timeout_s=2.0)
    assert not link.exists()
    assert request(control, {"action": "restore_link"})["ok"]
    host.port.close()
    again = RealHost(serial.serial_for_url(str(link), timeout=0.01))  # the same link
    assert again.identify().model == "PENSIM-1"
    again.port.close()


def test_bad_control_requests_are_refused_saying_what_to_send(tmp_path: Path) -> None:
    control = tmp_path / "pen.ctl"
    with penctl_sim("--pty-link", str(tmp_path / "pen"), "--control", str(control)):
        unknown = request(control, {"action": "fly"})
        assert not unknown["ok"] and "button" in unknown["error"]
        bad = request(control, {"action": "raise", "cause": "boredom"})
        assert not bad["ok"] and "jam" in bad["error"]
        refused = _ctl(control, "set", "battery_pct=250")
        assert refused.returncode == 1 and "to_pct = 250" in refused.stdout
    gone = _ctl(control, "button")
    assert gone.returncode == 2 and "penctl sim --control" in gone.stderr
    assert "Traceback" not in gone.stderr
