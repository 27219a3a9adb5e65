"""Firmware event records: what the simulated pen did, for tests, traces and `--events` files."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

# The vocabulary of `penctl sim --events`; docs/simulator.md describes each.
EVENT_NAMES: frozenset[str] = frozenset(
    {
        "boot",
        "reboot",
        "motor_started",
        "motor_stopped",
        "lease_expired",
        "fault_raised",
        "fault_cleared",
        "estop_engaged",
        "button_stop",
        "params_applied",
        "cartridge_inserted",
        "cartridge_removed",
        "cartridge_reattached",
        "frame_dropped",
        "frame_corrupted",
        "frame_duplicated",
        "frame_delayed",
        "frame_split",
        "frame_cut",
        "link_silent",
        "link_unplugged",
        "link_replugged",
        "fault_injected",
        "battery_low",
        "brownout",
    }
)
# Seen by scenario triggers and in-process listeners, never written to an events file: one per
# host frame would bury the events that matter.
COMMAND = "command"


@dataclass(frozen=True, slots=True)
class SimEvent:
    t_ns: int
    event: str
    data: dict[str, Any] = field(default_factory=dict)

    def record(self, t_ns: int | None = None) -> dict[str, Any]:
        return {"t_ns": self.t_ns if t_ns is None else t_ns, "event": self.event, **self.data}


class EventLog:
    """Appends one JSON object a line per public event, flushed per line (tail -f friendly).

    `stamp` gives `t_ns`: `time.monotonic_ns` by default, so files from several processes line up.
    """

    def __init__(self, path: Path, stamp: Callable[[], int] | None = time.monotonic_ns) -> None:
        self.path = path
        self._stamp = stamp
        self._file: IO[str] = path.open("a", encoding="utf-8")

    def __call__(self, event: SimEvent) -> None:
        if event.event == COMMAND or self._file.closed:
            return
        t_ns = self._stamp() if self._stamp is not None else None
        self._file.write(json.dumps(event.record(t_ns), separators=(",", ":")) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()
