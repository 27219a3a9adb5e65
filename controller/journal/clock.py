"""The journal's two clocks, injected so the controller can run in virtual time."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class JournalClock:
    """`wall_ns`: nanoseconds since the Unix epoch (UTC); `monotonic_ns`: never goes backwards."""

    wall_ns: Callable[[], int] = time.time_ns
    monotonic_ns: Callable[[], int] = time.monotonic_ns
