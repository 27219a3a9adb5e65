"""The wire between host and pen, with the scenario's wire faults applied frame by frame.

One `WirePipe` per direction. Bytes are cut into frames at the 0x00 delimiter; each active fault
decides, with its own seeded random stream, whether it hits the frame (at its `rate`), then drops,
corrupts, duplicates, delays or splits it. Delivery stays first-in first-out, like a serial line:
a delayed frame holds back the ones behind it.
"""

from __future__ import annotations

import itertools
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from firmware_bridge.clock import NS_PER_MS, Clock, TimerHandle
from firmware_bridge.protocol import MessageType
from firmware_bridge.protocol.framing import HEADER_SIZE, cobs_decode

_BITS_PER_BYTE = 10  # 8N1: a start bit, 8 data bits, a stop bit


class Direction(StrEnum):
    TO_PEN = "to_pen"
    TO_HOST = "to_host"


@dataclass(slots=True)
class WireFault:
    """One active wire fault (a scenario's drop/corrupt/duplicate/delay/split/silent)."""

    action: str
    directions: frozenset[Direction]
    rng: random.Random
    index: int = 0
    rate: float = 1.0
    until_ns: int | None = None
    frames_left: int | None = None
    types: frozenset[str] | None = None
    delay_ns: int = 0
    parts: int = 2
    gap_ns: int = 0
    baud: int = 0
    after_bytes: int = 0
    replug_ns: int | None = None  # a cut: how long the link stays unplugged (None: for good)
    hits: int = field(default=0)

    def expired(self, now_ns: int) -> bool:
        return (self.until_ns is not None and now_ns >= self.until_ns) or self.frames_left == 0


Emit = Callable[[str, dict[str, Any]], None]


class WirePipe:
    """One direction of the wire: frames in, (possibly faulty) bytes delivered in order."""

    def __init__(
        self,
        direction: Direction,
        clock: Clock,
        deliver: Callable[[bytes], None],
        emit: Emit,
        cut: Callable[[WireFault], None] | None = None,
    ) -> None:
        self.direction = direction
        self._clock = clock
        self._deliver = deliver
        self._emit = emit
        self._cut = cut
        self.faults: list[WireFault] = []
        self._partial = bytearray()
        self._queue: deque[tuple[int, bytes]] = deque()
        self._last_release_ns = 0
        self._timer: TimerHandle | None = None

    def add(self, fault: WireFault) -> None:
        if self.direction in fault.directions:
            self.faults.append(fault)

    def push(self, data: bytes) -> None:
        """Bytes entering the wire (any chunking); whole frames go through the faults."""
        if not self.faults and not self._queue and not self._partial:
            self._deliver(data)
            return
        self._partial += data
        while (end := self._partial.find(0)) >= 0:
            frame = bytes(self._partial[: end + 1])
            del self._partial[: end + 1]
            self._frame(frame)

    def clear(self) -> None:
        """The wire was cut: whatever was in flight is gone."""
        self._partial.clear()
        self._queue.clear()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _frame(self, frame: bytes) -> None:
        now = self._clock.monotonic_ns()
        self.faults = [f for f in self.faults if not f.expired(now)]
        pieces = [frame]
        delay_ns = 0
        gap_ns = 0
        line_ns = 0
        cut_by: WireFault | None = None
        for fault in self.faults:
            if fault.expired(now):
                continue
            if fault.types is not None and _frame_type(frame) not in fault.types:
                continue
            if fault.rate < 1.0 and fault.rng.random() >= fault.rate:
                continue
            if fault.frames_left is not None:
                fault.frames_left -= 1
            fault.hits += 1
            action = fault.action
            info = {"direction": self.direction.value, "fault": fault.index}
            if action == "silent":
                return
            if action == "drop":
                self._emit("frame_dropped", {**info, "cause": "injected"})
                return
            if action == "pace":
                line_ns = max(line_ns, len(frame) * _BITS_PER_BYTE * 1_000_000_000 // fault.baud)
                continue
            if action == "cut":
                self._emit("frame_cut", {**info, "bytes": min(fault.after_bytes, len(frame) - 1)})
                pieces = [frame[: min(fault.after_bytes, len(frame) - 1)]]
                fault.frames_left = 0
                cut_by = fault
                break
            if action == "corrupt":
                pieces = [_corrupt(p, fault.rng) for p in pieces]
                self._emit("frame_corrupted", info)
            elif action == "zero_byte":
                pieces = [_zero_byte(p, fault.rng) for p in pieces]
                self._emit("frame_corrupted", info)
            elif action == "duplicate":
                pieces = pieces + pieces
                self._emit("frame_duplicated", info)
            elif action == "delay":
                delay_ns += fault.delay_ns
                self._emit("frame_delayed", {**info, "delay_ms": fault.delay_ns // NS_PER_MS})
            elif action == "split":
                pieces = [part for p in pieces for part in _split(p, fault.parts, fault.rng)]
                gap_ns = max(gap_ns, fault.gap_ns)
                self._emit("frame_split", {**info, "parts": fault.parts})
        release = max(now + delay_ns, self._last_release_ns) + line_ns
        for i, piece in enumerate(pieces):
            self._queue.append((release + i * gap_ns, piece))
        self._last_release_ns = release + (len(pieces) - 1) * gap_ns
        self._flush()
        if cut_by is not None and self._cut is not None:
            self._clock.call_at(self._last_release_ns, lambda: self._cut(cut_by))

    def _flush(self) -> None:
        now = self._clock.monotonic_ns()
        while self._queue and self._queue[0][0] <= now:
            self._deliver(self._queue.popleft()[1])
        if self._queue and self._timer is None:
            self._timer = self._clock.call_at(self._queue[0][0], self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._flush()


def _frame_type(frame: bytes) -> str:
    body = cobs_decode(frame[:-1])
    if body is None or len(body) < HEADER_SIZE:
        return "?"
    try:
        return MessageType(body[1]).name
    except ValueError:
        return "?"


def _corrupt(frame: bytes, rng: random.Random) -> bytes:
    """Flip one bit of one byte before the delimiter, never making a new 0x00 (one bad frame)."""
    data = bytearray(frame)
    end = len(data) - 1 if data.endswith(b"\x00") else len(data)
    if end <= 0:
        return frame
    position = rng.randrange(end)
    mask = 1 << rng.randrange(8)
    if data[position] ^ mask == 0:
        mask = (mask << 1) & 0xFF or 1
    data[position] ^= mask
    return bytes(data)


def _zero_byte(frame: bytes, rng: random.Random) -> bytes:
    """One byte before the delimiter becomes 0x00: the receiver sees two broken frames."""
    end = len(frame) - 1 if frame.endswith(b"\x00") else len(frame)
    if end <= 1:
        return frame
    data = bytearray(frame)
    data[rng.randrange(1, end)] = 0
    return bytes(data)


def _split(frame: bytes, parts: int, rng: random.Random) -> list[bytes]:
    if len(frame) < parts:
        return [frame]
    cuts = sorted(rng.sample(range(1, len(frame)), parts - 1))
    bounds = [0, *cuts, len(frame)]
    return [frame[a:b] for a, b in itertools.pairwise(bounds)]
