"""The one clock: where time comes from for every layer, and how work is scheduled on it.

Time is integer nanoseconds everywhere. `monotonic_ns()` orders events and never goes backwards;
`wall_ns()` is nanoseconds since the Unix epoch (UTC), for the journal's timestamps and nothing
else. This module lives in the lowest layer and imports nothing else of ours, so the simulator,
the pen link, the controller and the journal can share one clock object, and in tests one
virtual timeline.

Theory of operation: everything time-driven schedules a callback with `call_at(when_ns, fn)`.
A `VirtualClock` runs those callbacks only when its owner calls `advance`/`run_until`, in time
order, with `monotonic_ns()` reading exactly each callback's due time while it runs; so a
60-minute session takes as long as the CPU needs and behaves the same on every run. A `RealClock`
reads `time.monotonic_ns()` and runs due callbacks from whichever loop owns it (`run_due` from a
select loop, or `run_forever` in a thread).
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable
from typing import Protocol

NS_PER_MS = 1_000_000
NS_PER_S = 1_000_000_000
# Where a VirtualClock's wall time starts unless told otherwise: 2026-01-01T00:00:00Z, a fixed
# instant so that virtual-time journals are byte-identical from run to run.
VIRTUAL_EPOCH_WALL_NS = 1_767_225_600 * NS_PER_S


class TimerHandle:
    """A scheduled callback; `cancel()` makes it a no-op. Cheap: cancelled entries stay queued."""

    __slots__ = ("callback", "cancelled", "when_ns")

    def __init__(self, when_ns: int, callback: Callable[[], None]) -> None:
        self.when_ns = when_ns
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class TimeSource(Protocol):
    """The two readings, for what only reads the time (the journal's timestamps)."""

    def monotonic_ns(self) -> int: ...

    def wall_ns(self) -> int: ...


class Clock(TimeSource, Protocol):
    """What every layer that schedules work needs: the two readings and a way to be called back."""

    def call_at(self, when_ns: int, callback: Callable[[], None]) -> TimerHandle: ...

    def call_later(self, delay_ns: int, callback: Callable[[], None]) -> TimerHandle: ...


class _TimerQueue:
    def __init__(self) -> None:
        self._heap: list[tuple[int, int, TimerHandle]] = []
        self._order = itertools.count()

    def push(self, handle: TimerHandle) -> None:
        heapq.heappush(self._heap, (handle.when_ns, next(self._order), handle))

    def next_due_ns(self) -> int | None:
        heap = self._heap
        while heap and heap[0][2].cancelled:
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def pop_due(self, now_ns: int) -> TimerHandle | None:
        heap = self._heap
        while heap:
            when, _, handle = heap[0]
            if handle.cancelled:
                heapq.heappop(heap)
                continue
            if when > now_ns:
                return None
            heapq.heappop(heap)
            return handle
        return None


class VirtualClock:
    """Time that moves only when told to; single-threaded by design.

    `advance(ns)` / `run_until(t_ns)` run every callback due up to the target in (time, scheduling)
    order, setting the clock to each callback's due time first. Callbacks may schedule more work,
    including at the current time; it runs in the same call. Calling `advance` from inside a
    callback is refused (it would reorder time).
    """

    def __init__(self, start_ns: int = 0, *, wall_start_ns: int = VIRTUAL_EPOCH_WALL_NS) -> None:
        self._start_ns = start_ns
        self._wall_start_ns = wall_start_ns
        self._now_ns = start_ns
        self._queue = _TimerQueue()
        self._running = False

    def monotonic_ns(self) -> int:
        return self._now_ns

    def wall_ns(self) -> int:
        """Wall time moves with virtual time, from `wall_start_ns` at `start_ns`."""
        return self._wall_start_ns + (self._now_ns - self._start_ns)

    @property
    def running(self) -> bool:
        """True while callbacks are being run (a blocking wait must not advance time then)."""
        return self._running

    def call_at(self, when_ns: int, callback: Callable[[], None]) -> TimerHandle:
        handle = TimerHandle(max(when_ns, self._now_ns), callback)
        self._queue.push(handle)
        return handle

    def call_later(self, delay_ns: int, callback: Callable[[], None]) -> TimerHandle:
        return self.call_at(self._now_ns + delay_ns, callback)

    def next_due_ns(self) -> int | None:
        return self._queue.next_due_ns()

    def advance(self, delta_ns: int) -> int:
        """Move time forward by `delta_ns`, running what falls due; returns callbacks run."""
        if delta_ns < 0:
            raise ValueError(f"a clock cannot go backwards ({delta_ns} ns)")
        return self.run_until(self._now_ns + delta_ns)

    def run_until(self, t_ns: int) -> int:
        """Run everything due up to and including `t_ns`, then set the clock to `t_ns`."""
        if self._running:
            raise RuntimeError("VirtualClock.run_until called from inside a clock callback")
        if t_ns < self._now_ns:
            raise ValueError(f"a clock cannot go backwards (now {self._now_ns}, asked {t_ns})")
        ran = 0
        self._running = True
        try:
            while (handle := self._queue.pop_due(t_ns)) is not None:
                self._now_ns = max(self._now_ns, handle.when_ns)
                handle.callback()
                ran += 1
        finally:
            self._running = False
        self._now_ns = t_ns
        return ran


class RealClock:
    """Wall-clock time (`time.monotonic_ns`). Thread-safe: any thread may schedule."""

    def __init__(self) -> None:
        self._queue = _TimerQueue()
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)

    def monotonic_ns(self) -> int:
        return time.monotonic_ns()

    def wall_ns(self) -> int:
        return time.time_ns()

    def call_at(self, when_ns: int, callback: Callable[[], None]) -> TimerHandle:
        handle = TimerHandle(when_ns, callback)
        with self._changed:
            self._queue.push(handle)
            self._changed.notify_all()
        return handle

    def call_later(self, delay_ns: int, callback: Callable[[], None]) -> TimerHandle:
        return self.call_at(time.monotonic_ns() + delay_ns, callback)

    def next_due_ns(self) -> int | None:
        with self._lock:
            return self._queue.next_due_ns()

    def run_due(self) -> int:
        """Run every callback due now (for a select loop that owns this clock)."""
        ran = 0
        while True:
            with self._lock:
                handle = self._queue.pop_due(time.monotonic_ns())
            if handle is None:
                return ran
            handle.callback()
            ran += 1

    def run_forever(self, stop: threading.Event) -> None:
        """Run callbacks as they fall due until `stop` is set (then call `wake()`)."""
        while not stop.is_set():
            self.run_due()
            with self._changed:
                if stop.is_set():
                    return
                due = self._queue.next_due_ns()
                wait_ns = None if due is None else max(0, due - time.monotonic_ns())
                if wait_ns is None or wait_ns > 0:
                    self._changed.wait(None if wait_ns is None else wait_ns / NS_PER_S)

    def wake(self) -> None:
        """Interrupt `run_forever`'s wait (e.g. after setting its stop event)."""
        with self._changed:
            self._changed.notify_all()
