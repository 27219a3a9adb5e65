"""The owner of a controller, in virtual time or in real time: the same handlers either way.

- `VirtualRunner`: no threads. The controller's work runs as callbacks on the shared virtual
  clock: a drain at the instant something is queued, a tick every 100 ms. Whoever advances the
  clock (a test, `penctl session run --fast`) advances the pen, the link and the controller
  together, in time order, so a run repeats exactly.
- `ThreadRunner`: one owner thread waits on the queue with a timeout to the next tick. Operator
  actions and link outputs wake it; nothing else touches controller state.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from controller.core import TICK_NS
from firmware_bridge.clock import NS_PER_S, TimerHandle

if TYPE_CHECKING:
    from controller.core import Controller


class SteppingClock(Protocol):
    running: bool

    def monotonic_ns(self) -> int: ...

    def call_at(self, when_ns: int, callback: object) -> TimerHandle: ...

    def call_later(self, delay_ns: int, callback: object) -> TimerHandle: ...


class VirtualRunner:
    def __init__(self, controller: Controller, clock: SteppingClock) -> None:
        self.controller = controller
        self._clock = clock
        self._drain_due = False
        self._stopped = False
        controller.attach(self._wake)
        clock.call_later(TICK_NS, self._tick)

    def stop(self) -> None:
        """Stop ticking: the lease is no longer renewed, as when an owner dies."""
        self._stopped = True

    def run_until(self, t_ns: int) -> None:
        """Move virtual time to `t_ns`, reading the pen's port after every step (link.md §4)."""
        pen = self.controller.pen
        if pen is not None:
            pen.driver.run_until(t_ns)  # type: ignore[union-attr]
        else:
            self._clock.run_until(t_ns)  # type: ignore[attr-defined]

    def run_for(self, ns: int) -> None:
        self.run_until(self._clock.monotonic_ns() + ns)

    def _wake(self) -> None:
        if not self._drain_due:
            self._drain_due = True
            self._clock.call_at(self._clock.monotonic_ns(), self._drain)

    def _drain(self) -> None:
        self._drain_due = False
        if not self._stopped:
            self._guarded(self.controller.drain)

    def _tick(self) -> None:
        if self._stopped:
            return
        self._clock.call_later(TICK_NS, self._tick)
        self._guarded(self.controller.tick)

    def _guarded(self, work: Callable[[], None]) -> None:
        """The owner never dies silently: an error stops the needle and latches a fault."""
        try:
            work()
        except Exception as exc:
            self.controller.internal_fault(exc)
            self.controller.refresh()


class ThreadRunner:
    def __init__(self, controller: Controller) -> None:
        self.controller = controller
        self._work = threading.Event()
        self._stopping = threading.Event()
        controller.attach(self._work.set)
        self._thread = threading.Thread(target=self._run, name="penctl-controller", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._work.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=2)

    def _run(self) -> None:
        controller = self.controller
        next_tick = controller.now_ns() + TICK_NS
        while not self._stopping.is_set():
            timeout_s = max(0, next_tick - controller.now_ns()) / NS_PER_S
            try:
                if self._work.wait(timeout_s):
                    self._work.clear()
                    controller.drain()
                if controller.now_ns() >= next_tick:
                    controller.tick()
                    next_tick += TICK_NS
                    if next_tick < controller.now_ns():  # a long pause: no burst of ticks
                        next_tick = controller.now_ns() + TICK_NS
            except Exception as exc:  # the owner never dies silently: stop, latch, say what
                controller.internal_fault(exc)
                controller.refresh()
