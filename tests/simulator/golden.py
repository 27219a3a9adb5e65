"""Golden transcripts of the simulated pen: what a host reads, when, and what the pen publishes.

A host on a VirtualClock starts the motor, then follows a schedule of steps (advance, read,
maybe renew its lease, restart after a fault, ask for status, stop), for every bundled scenario.
The transcript of one run is every read (virtual time, exact bytes) and every published event
(time, name, data, in order); its SHA-256 is what `golden.json` holds, beside counts that help
tell what moved. The reference is the simulator as merged at main 24b9db5 (before issue 14's
speed work): speed work must leave every digest as it is. A deliberate change of behaviour
regenerates the file (`python -m tests.simulator.golden`) in the same commit, saying why.

The pen is also run with `keep_events=False` and no listener (what the bench and `penctl sim`
do): the bytes must be the same as with every event kept.
"""

from __future__ import annotations

import hashlib
import json
import random
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from serial import SerialException

from firmware_bridge.clock import NS_PER_MS, VirtualClock
from firmware_bridge.protocol import (
    ClearFault,
    FaultCode,
    GetStatus,
    Hello,
    Lease,
    Message,
    SetParams,
    Start,
    Stop,
    StopReason,
    encode,
)
from simulator.pen import SimulatedPen
from simulator.scenario import bundled_names, load_scenario
from simulator.transport.inprocess import SimSerial, open_host_port

GOLDEN = Path(__file__).with_name("golden.json")
TODAY = 20260601
LEASE_MS = 300
SECONDS = 30

# A step: (ms to advance, what the host does then, how it reads).
# action: renew | none | restart | status | stop;  read: now | wait (timeout) | block (read(1)).
Step = tuple[int, str, str]


def schedule(name: str) -> list[Step]:
    """The host schedules: `renewals` (the bench's 100 ms, with rare gaps that let the lease
    lapse), `odd` (odd steps, waiting reads, restarts, status and stops), `blocking` (reads
    that block until a byte arrives, as a hardware loop does)."""
    rng = random.Random(f"golden:{name}")
    steps: list[Step] = []
    elapsed = 0
    while elapsed < SECONDS * 1000:
        if name == "renewals":
            ms = rng.choice((100,) * 30 + (450,))
            action = "renew" if ms == 100 else "none"
            if rng.random() < 0.05:
                action = "restart"
            read = "now"
        elif name == "odd":
            ms = rng.choice((100, 100, 100, 7, 13, 50, 230, 400, 1))
            action = rng.choice(("renew",) * 12 + ("none", "restart", "restart", "status", "stop"))
            read = rng.choice(("now", "now", "wait"))
        else:
            ms = rng.choice((0, 3, 20, 60, 100))
            action = rng.choice(("renew",) * 8 + ("none", "restart"))
            read = "block"
        steps.append((ms, action, read))
        elapsed += max(ms, 20)
    return steps


SCHEDULES = ("renewals", "odd", "blocking")


@dataclass
class Transcript:
    reads: list[tuple[int, bytes]]
    events: list[tuple[int, str, str]]

    def digest(self) -> dict[str, Any]:
        h = hashlib.sha256()
        for t_ns, data in self.reads:
            h.update(f"{t_ns}:{data.hex()};".encode())
        bytes_digest = h.hexdigest()
        for t_ns, name, data in self.events:
            h.update(f"{t_ns}:{name}:{data};".encode())
        return {
            "sha256": h.hexdigest(),
            "bytes_sha256": bytes_digest,
            "reads": len(self.reads),
            "bytes": sum(len(d) for _, d in self.reads),
            "events": len(self.events),
        }


def run(scenario: str, schedule_name: str, *, keep_events: bool = True) -> Transcript:
    """One host run; see the module's docstring."""
    clock = VirtualClock()
    pen = SimulatedPen(
        clock,
        scenario=load_scenario(scenario),
        seed=14,
        today_yyyymmdd=TODAY,
        keep_events=keep_events,
    )
    host = _Host(clock, pen)
    for message in (Hello(1), SetParams(1, 1000, 120), Lease(LEASE_MS), Start(1)):
        clock.advance(250 * NS_PER_MS if host.seq == 0 else NS_PER_MS)
        host.write(message)
    for ms, action, read in schedule(schedule_name):
        host.step(ms, action, read)
    events = [(e.t_ns, e.event, repr(e.data)) for e in pen.events]
    pen.close()
    return Transcript(host.reads, events)


class _Host:
    def __init__(self, clock: VirtualClock, pen: SimulatedPen) -> None:
        self.clock = clock
        self.pen = pen
        self.port: SimSerial | None = open_host_port(pen, timeout=0)
        self.reads: list[tuple[int, bytes]] = []
        self.seq = 0
        self.version = 1

    def write(self, message: Message) -> None:
        if self.port is not None and self.port.is_open:
            try:
                self.port.write(encode(message, self.seq & 0xFFFF))
            except SerialException:
                self.port.close()
        self.seq += 1

    def step(self, ms: int, action: str, read: str) -> None:
        self.clock.advance(ms * NS_PER_MS)
        if self.port is None or not self.port.is_open:
            if not self.pen.plugged:
                return
            self.port = open_host_port(self.pen, timeout=0)
        try:
            self.reads.append((self.clock.monotonic_ns(), self._read(self.port, read)))
        except SerialException:
            self.reads.append((self.clock.monotonic_ns(), b"unplugged"))
            self.port.close()
            return
        self._act(action)

    def _read(self, port: SimSerial, how: str) -> bytes:
        if how == "now":
            return port.read(port.in_waiting)
        port.timeout = 0.037 if how == "wait" else None
        data = port.read(4096 if how == "wait" else 1)
        port.timeout = 0
        return data + port.read(port.in_waiting)

    def _act(self, action: str) -> None:
        if action == "renew":
            self.write(Lease(LEASE_MS))
        elif action == "restart":
            fault = self.pen.firmware.active_fault
            if fault is not FaultCode.NONE:
                self.write(ClearFault(fault))
            self.version += 1
            for message in (SetParams(self.version, 1000, 120), Lease(LEASE_MS)):
                self.write(message)
            self.write(Start(self.version))
        elif action == "status":
            self.write(GetStatus())
        elif action == "stop":
            self.write(Stop(StopReason.OPERATOR))


def all_digests() -> dict[str, dict[str, Any]]:
    return {
        f"{scenario}/{name}": run(scenario, name).digest()
        for scenario in bundled_names()
        for name in SCHEDULES
    }


def main() -> int:
    digests = all_digests()
    GOLDEN.write_text(json.dumps(digests, indent=1, sort_keys=True) + "\n")
    print(f"wrote {len(digests)} transcripts to {GOLDEN}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
