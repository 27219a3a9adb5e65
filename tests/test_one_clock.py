"""One clock for every layer: a simulated pen, the pen link and the journal share one
VirtualClock, so their timestamps agree to the nanosecond and a whole session can run in virtual
time (ARCHITECTURE.md §2: all time comes from an injected clock)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from controller.journal import JournalWriter
from firmware_bridge import open_pen
from firmware_bridge.clock import NS_PER_MS, NS_PER_S, VirtualClock
from simulator.pen import SimulatedPen
from simulator.transport.inprocess import publish
from tests.controller.journal.helpers import fixed_signer, session_open


def test_pen_handshake_and_journal_share_one_timeline(tmp_path: Path) -> None:
    wall_start_ns = 1_780_000_000 * NS_PER_S
    clock = VirtualClock(start_ns=7 * NS_PER_S, wall_start_ns=wall_start_ns)
    pen = SimulatedPen(clock)
    identity = open_pen(publish("one-clock", pen), clock=clock).identify()
    identified_at_ns = clock.monotonic_ns()
    with JournalWriter.open(tmp_path / "j", signer=fixed_signer(), clock=clock) as journal:
        record = journal.open_session(session_open(identity.identify.serial_number), "op:alice")
        clock.advance(250 * NS_PER_MS)
        later = journal.checkpoint()

    # The pen booted on the shared clock, and the handshake waited it out on that clock.
    boot = next(e for e in pen.events if e.event == "boot")
    assert boot.t_ns == 7 * NS_PER_S + pen.config.boot_ms * NS_PER_MS
    assert boot.t_ns <= identified_at_ns < boot.t_ns + 200 * NS_PER_MS
    # The journal stamped the records with the same clock's readings, both of them (mono_ns
    # counted from the session's opening, docs/journal.md §2).
    assert record.mono_ns == 0 and later.mono_ns == 250 * NS_PER_MS
    elapsed_ns = identified_at_ns - 7 * NS_PER_S
    expected_utc = datetime.fromtimestamp((wall_start_ns + elapsed_ns) / NS_PER_S, UTC)
    assert datetime.fromisoformat(record.utc.replace("Z", "+00:00")) == expected_utc


def test_virtual_wall_time_moves_with_virtual_time() -> None:
    clock = VirtualClock()
    before = clock.wall_ns()
    clock.advance(1_500 * NS_PER_MS)
    assert clock.wall_ns() - before == 1_500 * NS_PER_MS
    assert clock.monotonic_ns() == 1_500 * NS_PER_MS
