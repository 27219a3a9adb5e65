"""`penctl sim` keeps a flat resident size however many commands it serves.

An hour of a session renewing its lease at 10 Hz is 36,000 LEASE commands; the test sends that
many to `penctl sim` in its own process over a real pty, as fast as the pty takes them (with the
motor running, so telemetry streams too), and reads the simulator's resident size from
/proc/PID/status after the first tenth and at the end. A simulator that kept an object per
command (it used to: about 11 MB an hour) grows by megabytes; a bounded one stays within a
small margin.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
import serial

from firmware_bridge.protocol import Ack, Lease, SetParams, Start, encode
from tests.simulator.realtime import RealHost, penctl_sim

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads the resident size from /proc (Linux)"
)

COMMANDS = 36_000  # an hour of renewals at 10 Hz
BURST = 40  # LEASE frames written before reading what came back
MARGIN_KB = 1024


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS in /proc/{pid}/status")


def _renew(host: RealHost, first_seq: int, count: int) -> None:
    """Write `count` LEASEs in bursts, draining replies, and wait until the last is answered."""
    for start in range(0, count, BURST):
        frames = b"".join(
            encode(Lease(300), (first_seq + start + i) & 0xFFFF)
            for i in range(min(BURST, count - start))
        )
        host.port.write(frames)
        host.pump()
        host.received.clear()
    host.seq = (first_seq + count) & 0xFFFF
    assert isinstance(host.request(Lease(300), timeout_s=5), Ack)
    host.received.clear()


def test_resident_size_stays_flat_over_an_hour_of_renewals(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    with penctl_sim("--pty-link", str(tmp_path / "pen"), "--events", str(events)) as (proc, url):
        port = serial.serial_for_url(url, timeout=0.01)
        host = RealHost(port)
        host.identify()
        assert isinstance(host.request(SetParams(1, 1000, 120)), Ack)
        assert isinstance(host.request(Lease(300)), Ack)
        assert isinstance(host.request(Start(1)), Ack)
        warm_up = COMMANDS // 10
        _renew(host, host.seq, warm_up)
        first_kb = _rss_kb(proc.pid)
        started = time.monotonic()
        _renew(host, host.seq, COMMANDS - warm_up)
        last_kb = _rss_kb(proc.pid)
        port.close()
    assert last_kb - first_kb <= MARGIN_KB, (
        f"resident size grew from {first_kb} kB to {last_kb} kB over "
        f"{COMMANDS - warm_up} commands ({time.monotonic() - started:.1f} s)"
    )
    served = events.read_text()
    assert '"motor_started"' in served and '"fault_raised"' not in served
