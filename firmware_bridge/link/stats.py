"""The link's counters and its flight recorder: the last frames both ways, for a dump.

The ring holds raw frames with their times and is formatted only when dumped, so keeping it costs
the hot path (100 TELEMETRY frames a second) one append.
"""

from __future__ import annotations

import statistics
from collections import Counter, deque
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from firmware_bridge.protocol import DecodeError, Frame, encode

RING_FRAMES = 256
RTT_SAMPLES = 1024


class Direction(StrEnum):
    TO_PEN = "to_pen"
    TO_HOST = "to_host"


@dataclass(frozen=True, slots=True)
class FrameRecord:
    """One frame on the wire: a decoded `Frame`, or the `DecodeError` it was dropped with."""

    t_ns: int
    direction: Direction
    frame: Frame | DecodeError

    def as_dict(self) -> dict[str, Any]:
        """The trace's JSON form (docs/link.md): time, direction, seq, type, fields, hex, error."""
        item = self.frame
        if isinstance(item, DecodeError):
            return {
                "t_ns": self.t_ns,
                "dir": self.direction.value,
                "seq": item.seq,
                "type": None,
                "fields": None,
                "hex": item.raw.hex(),
                "error": item.kind.value,
                "detail": item.detail,
            }
        fields = {k: _plain(v) for k, v in item.message.fields().items()}
        return {
            "t_ns": self.t_ns,
            "dir": self.direction.value,
            "seq": item.seq,
            "type": item.message.TYPE.name,
            "flags": item.flags,
            "fields": fields,
            "hex": encode(item.message, item.seq, item.flags).hex(),
            "error": None,
        }


def _plain(value: Any) -> Any:
    name = getattr(value, "name", None)
    return name if isinstance(name, str) else value


class LinkStats:
    """Counters the link keeps; `snapshot()` is what `PenClient.stats()` returns."""

    def __init__(self) -> None:
        self.frames_out = 0
        self.frames_in = 0
        self.bytes_in = 0
        self.receive_errors: Counter[str] = Counter()
        self.retransmits = 0
        self.telemetry_gaps = 0  # TELEMETRY frames the counter says were lost
        self.event_gaps = 0
        self.stale_replies = 0  # an ACK or NAK for nothing outstanding (a late duplicate reply)
        self.unanswered_leases = 0
        self.echo_mismatches = 0
        self.subscriber_errors = 0  # a subscriber raised: counted, never allowed to stop the link
        self.round_trips_ns: deque[int] = deque(maxlen=RTT_SAMPLES)
        self.ring: deque[FrameRecord] = deque(maxlen=RING_FRAMES)

    def snapshot(self) -> dict[str, Any]:
        return summarise(self.counts())

    def counts(self) -> dict[str, Any]:
        """The counters as they stand, round trips unsorted: cheap enough to copy under the
        link's lock; `summarise` does the sorting after the lock is let go."""
        return {
            "frames_out": self.frames_out,
            "frames_in": self.frames_in,
            "bytes_in": self.bytes_in,
            "receive_errors": dict(self.receive_errors),
            "retransmits": self.retransmits,
            "telemetry_gaps": self.telemetry_gaps,
            "event_gaps": self.event_gaps,
            "stale_replies": self.stale_replies,
            "unanswered_leases": self.unanswered_leases,
            "echo_mismatches": self.echo_mismatches,
            "subscriber_errors": self.subscriber_errors,
            "round_trip_ns": list(self.round_trips_ns),
        }


def summarise(counts: dict[str, Any]) -> dict[str, Any]:
    """`LinkStats.counts()` with the round trips summarised (count, min, p50, p99, max)."""
    return {**counts, "round_trip_ns": _summary(sorted(counts["round_trip_ns"]))}


def _summary(sorted_ns: list[int]) -> dict[str, int] | None:
    if not sorted_ns:
        return None
    p99 = sorted_ns[min(len(sorted_ns) - 1, (len(sorted_ns) * 99) // 100)]
    return {
        "count": len(sorted_ns),
        "min": sorted_ns[0],
        "p50": int(statistics.median(sorted_ns)),
        "p99": p99,
        "max": sorted_ns[-1],
    }
