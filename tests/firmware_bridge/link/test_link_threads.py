"""The real-time driver's threads, over a real pty with `penctl sim` in its own process: what the
link's lock may wait for (nothing slow: S4), and the I/O thread's timing (docs/link.md §4)."""

from __future__ import annotations

import fcntl
import itertools
import json
import os
import select
import sys
import termios
import threading
import time
import tty
from array import array
from pathlib import Path
from typing import Any

import pytest

from controller.simproc import simulator_process
from firmware_bridge import open_pen
from firmware_bridge.link import LinkState
from firmware_bridge.protocol import Decoder, Frame

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="fifos sized by fcntl: Linux only")


def _events(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _wait(check: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {timeout_s} s")
        time.sleep(0.02)


def _queued(fd: int) -> int:
    count = array("i", [0])
    fcntl.ioctl(fd, termios.FIONREAD, count)
    return count[0]


def _full(fd: int) -> bool:
    """The pipe takes no more: what it holds stays the same while telemetry keeps coming, so
    whoever writes the trace is stuck in its write."""
    before = _queued(fd)
    time.sleep(0.3)
    return before > 0 and _queued(fd) == before


def _drain(fd: int) -> None:
    """Read the fifo to its end (the writer closing it), so the trace can finish."""
    fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
    while os.read(fd, 65536):
        pass
    os.close(fd)


def test_s4_an_estop_is_written_while_the_trace_file_takes_nothing(tmp_path: Path) -> None:
    """S4: a trace file that stops taking lines (a full pipe, a hung disk) holds back the trace
    alone. The link keeps reading, and an ESTOP from another thread reaches the pen at once. The
    I/O thread used to write the trace holding the link's lock, so the stop waited for good."""
    events, fifo = tmp_path / "events.jsonl", tmp_path / "trace.fifo"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    fcntl.fcntl(reader, fcntl.F_SETPIPE_SZ, 4096)
    with simulator_process(["--events", str(events)]) as path, open_pen(path, trace=fifo) as pen:
        try:
            pen.identify()
            _wait(lambda: _full(reader), 10, "the trace never filled its pipe")
            sent = threading.Event()
            threading.Thread(target=lambda: (pen.estop(), sent.set()), daemon=True).start()
            assert sent.wait(2.0), "estop() waited behind the trace file"
            _wait(
                lambda: any(e["event"] == "estop_engaged" for e in _events(events)),
                2.0,
                "the pen never latched the e-stop",
            )
            assert pen.status().link is LinkState.UP
        finally:  # let the trace finish, so the pen closes either way
            threading.Thread(target=_drain, args=(reader,), daemon=True).start()


def _frames_sent(master: int, seconds: float) -> list[tuple[int, str, int]]:
    """(arrival ns, type, flags) of each frame the host writes to the far end of its pty."""
    decoder, frames = Decoder(), []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        ready, _, _ = select.select([master], [], [], 0.01)
        if ready:
            now = time.monotonic_ns()
            for item in decoder.feed(os.read(master, 4096)):
                if isinstance(item, Frame):
                    frames.append((now, item.message.TYPE.name, item.flags))
    return frames


def test_deadlines_are_kept_with_nothing_arriving(tmp_path: Path) -> None:
    """S4: with a pen that says nothing, the I/O thread's read waits for no data, yet HELLO's
    retransmissions go out every 100 ms and the link is LOST after the fourth try; an ESTOP sent
    from another thread while the read waits (nothing timed: up to half a second) is repeated
    every 100 ms. A read that did not end at the core's deadline, or was not woken by the new
    one, would send them up to IDLE_MS late."""
    master, slave = os.openpty()
    tty.setraw(master)
    try:
        with open_pen(os.ttyname(slave)) as pen:
            pen.hello()
            hello = _frames_sent(master, 0.5)
            assert pen.status().link is LinkState.LOST  # nothing is timed: the read waits long
            pen.estop()
            estop = _frames_sent(master, 0.55)
    finally:
        os.close(slave)
        os.close(master)
    assert [t for _, t, _ in hello] == ["HELLO"] * 4
    assert [t for _, t, _ in estop][:5] == ["ESTOP"] * 5
    for frames in (hello, estop[:5]):
        gaps_ms = [(b[0] - a[0]) / 1e6 for a, b in itertools.pairwise(frames)]
        assert all(90 <= gap <= 150 for gap in gaps_ms), gaps_ms


def test_a_trace_stuck_behind_a_full_file_ends_instead_of_growing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A trace file that takes nothing costs bounded memory: past MAX_BEHIND queued writes the
    trace ends; once the file takes lines again what was queued is written, then one
    `trace_ended` line, and nothing after it. `write` never waits meanwhile."""
    from firmware_bridge.link import trace as trace_module
    from firmware_bridge.link.stats import Direction, FrameRecord
    from firmware_bridge.protocol import GetStatus

    monkeypatch.setattr(trace_module, "MAX_BEHIND", 50)
    fifo = tmp_path / "trace.fifo"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    fcntl.fcntl(reader, fcntl.F_SETPIPE_SZ, 4096)
    trace = trace_module.TraceThread(trace_module.TraceWriter(fifo))
    frame = Frame(7, GetStatus(), 0)
    started = time.monotonic()
    for n in itertools.count():
        trace.write([FrameRecord(n, Direction.TO_PEN, frame)])
        if trace._ended or n > 100_000:
            break
    assert trace._ended, "the trace never ended behind a file that takes nothing"
    assert time.monotonic() - started < 5, "write() waited for the file"
    trace.write([FrameRecord(-1, Direction.TO_PEN, frame)])  # after the end: not kept
    closing = threading.Thread(target=trace.close, kwargs={"timeout_s": 10})
    closing.start()
    fcntl.fcntl(reader, fcntl.F_SETFL, fcntl.fcntl(reader, fcntl.F_GETFL) & ~os.O_NONBLOCK)
    text = b""
    while chunk := os.read(reader, 65536):
        text += chunk
    os.close(reader)
    closing.join()
    lines = [json.loads(line) for line in text.decode().splitlines()]
    assert lines[-1] == {"trace_ended": "the trace file fell 50 writes behind"}
    times = [line["t_ns"] for line in lines[:-1]]
    assert times == list(range(len(times))), "frames lost or reordered before the end"
    assert len(times) <= n, "a write after the end was kept"
