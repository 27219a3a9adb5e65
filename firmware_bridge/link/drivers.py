"""Two drivers for one LinkCore: a real-time one (one I/O thread) and a virtual-time one (none).

Both do the same three things: call the core with the time, write what it returns to the port (the
stop first, the trace after), and hand its outputs to the client. They differ only in who waits.

- `ThreadedDriver`: one I/O thread only reads the port and wakes the core at its deadlines, as
  pyserial's `threaded.ReaderThread` does. Each read waits until data comes or the core's next
  deadline is due; a thread that makes an earlier deadline wakes the read (`cancel_read`).
  Commands come from any thread under one lock; a STOP is encoded and written from the caller's
  thread at once, never waiting for the I/O thread. A failing port (SerialException, EIO, EOF)
  becomes link loss, never an exception escaping a thread.
- `VirtualDriver`: no threads. Time moves only in `run_until`/`wait`, which step the shared
  virtual clock from one due callback to the next and read the port after each step, so bytes are
  taken at the virtual instant they arrived and a run repeats exactly.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Protocol, TypeVar

import serial

from firmware_bridge.clock import NS_PER_MS, NS_PER_S, Clock, TimerHandle
from firmware_bridge.link.core import LinkCore
from firmware_bridge.link.outputs import LinkOutput
from firmware_bridge.link.trace import Trace

R = TypeVar("R")
OutputHandler = Callable[[list[LinkOutput]], None]
POLL_S = 0.005  # the read timeout on a port that cannot be woken early (no `cancel_read`)
IDLE_MS = 512  # the longest read while nothing is timed; a new deadline or `close` wakes it
_PORT_ERRORS = (serial.SerialException, OSError, TypeError, AttributeError, ValueError)


class Port(Protocol):
    """What a driver needs of a pyserial port."""

    timeout: float | None

    @property
    def in_waiting(self) -> int: ...

    def read(self, size: int = 1, /) -> bytes: ...

    def write(self, data: bytes, /) -> int | None: ...

    def close(self) -> None: ...


class SteppingClock(Clock, Protocol):
    """A clock whose time moves only when told: `firmware_bridge.clock.VirtualClock`."""

    @property
    def running(self) -> bool: ...

    def next_due_ns(self) -> int | None: ...

    def run_until(self, t_ns: int) -> int: ...


class _Driver:
    def __init__(
        self,
        core: LinkCore,
        port: Port,
        clock: Clock,
        on_outputs: OutputHandler,
        trace: Trace | None,
    ) -> None:
        self.core = core
        self.clock = clock
        self._port: Port | None = port
        self._on_outputs = on_outputs
        self._trace = trace

    def _flush(self) -> None:
        """Write, trace, then hand up: in that order, so nothing delays the bytes."""
        self._write_out()
        outputs = self.core.take_outputs()
        if outputs:
            self._on_outputs(outputs)

    def _write_out(self) -> None:
        data = self.core.data_to_send()
        if data:
            port = self._port
            try:
                if port is None:
                    raise serial.SerialException("the port is closed")
                port.write(data)
            except Exception as exc:  # any failure of the port (queue.Full on loop:// too)
                self.core.port_failed(f"writing to the port failed ({exc})", self.now_ns())
        if self._trace is not None:
            self._trace.write(self.core.take_traced())

    def now_ns(self) -> int:
        return self.clock.monotonic_ns()

    def _read(self, port: Port) -> bytes | Exception:
        """Whatever the port holds now (waiting up to its timeout), or why it failed."""
        try:
            return port.read(port.in_waiting or 1)
        except Exception as exc:  # whatever the port raises becomes link loss, never a crash
            return exc

    def _take(self, data: bytes | Exception) -> None:
        """Feed the core what was read at this instant, and wake it if it is due."""
        now = self.now_ns()
        if isinstance(data, Exception):
            self.core.port_failed(f"the port failed ({data})", now)
        elif data:
            self.core.receive(data, now)
        deadline = self.core.next_deadline_ns()
        if deadline is not None and now >= deadline:
            self.core.advance(now)
        self._flush()


class ThreadedDriver(_Driver):
    """Real time: one I/O thread reads; any thread may send under the one lock."""

    def __init__(
        self,
        core: LinkCore,
        port: Port,
        clock: Clock,
        on_outputs: OutputHandler,
        trace: Trace | None = None,
    ) -> None:
        super().__init__(core, port, clock, on_outputs, trace)
        self._lock = threading.RLock()  # the core and the port
        self._dispatch = threading.RLock()  # handing outputs up, in the order they were made
        self._settled = threading.Condition(self._dispatch)
        self._held: list[LinkOutput] = []
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._read_until_ns = 0
        self._wake_due = False
        self._start(port)

    def call(self, fn: Callable[[LinkCore, int], R]) -> R:
        return self._locked(lambda: fn(self.core, self.now_ns()))

    def peek(self, fn: Callable[[LinkCore], R]) -> R:
        """Read the core under its lock, changing nothing and handing nothing up."""
        with self._lock:
            return fn(self.core)

    def _locked(self, work: Callable[[], R]) -> R:
        """Run `work` on the core, write what it made, then hand the outputs up outside the
        core's lock, so a slow subscriber never holds back a STOP from another thread. The
        dispatch lock is taken before the core's is let go: outputs go up in the order made."""
        with self._lock:
            try:
                result = work()
            finally:
                self._flush()
                outputs, self._held = self._held, []
                wake, self._wake_due = self._wake_due, False
            self._dispatch.acquire()
        if wake:
            self._wake_reader()
        try:
            if outputs:
                self._on_outputs(outputs)
            self._settled.notify_all()
        finally:
            self._dispatch.release()
        return result

    def wait(self, predicate: Callable[[], bool], timeout_ns: int) -> bool:
        deadline = self.now_ns() + timeout_ns
        with self._settled:
            while not predicate():
                remaining = deadline - self.now_ns()
                if remaining <= 0:
                    return False
                self._settled.wait(remaining / NS_PER_S)
        return True

    def replace_port(self, port: Port | None) -> None:
        """Stop the I/O thread and close the old port; start again on `port` (None: stay shut)."""
        self._halt()
        if port is not None:
            self._start(port)

    def close(self) -> None:
        self._halt()

    def _flush(self) -> None:
        """Under the core's lock: write now, keep the outputs for `_locked` to hand up, and have
        it wake the I/O thread's read (once the lock is let go) if the core is now due before
        that read would end."""
        self._write_out()
        self._held += self.core.take_outputs()
        deadline = self.core.next_deadline_ns()
        if deadline is not None and deadline < self._read_until_ns:
            self._read_until_ns = deadline
            self._wake_due = True

    def _wake_reader(self) -> None:
        cancel = getattr(self._port, "cancel_read", None)
        if cancel is not None and threading.current_thread() is not self._thread:
            with contextlib.suppress(*_PORT_ERRORS):
                cancel()

    def _plan_read(self, port: Port) -> float:
        """Under the core's lock: how long the next read may wait. Until the core's next
        deadline (at most IDLE_MS), rounded down to a power of two milliseconds so the port's
        timeout (a termios call on a serial port) seldom changes; POLL_S on a port that cannot
        be woken early. Kept in `_read_until_ns`, which an earlier deadline cuts short."""
        now = self.now_ns()
        deadline = self.core.next_deadline_ns()
        wait_ms = IDLE_MS if deadline is None else min(IDLE_MS, max(0, deadline - now) // NS_PER_MS)
        wait_s = 2 ** max(0, wait_ms.bit_length() - 1) / 1000
        if not hasattr(port, "cancel_read"):
            wait_s = min(wait_s, POLL_S)
        self._read_until_ns = now + round(wait_s * NS_PER_S)
        return wait_s

    def _start(self, port: Port) -> None:
        port.timeout = POLL_S
        self._read_until_ns = self.now_ns()
        self._port = port
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(port, self._stop), name="penctl-link-io", daemon=True
        )
        self._thread.start()

    def _with_waiting(self, port: Port, data: bytes | Exception) -> bytes | Exception:
        return data if isinstance(data, Exception) else data + self._waiting(port)

    def _take_then_plan(self, port: Port, data: bytes | Exception) -> float:
        self._take(self._caught_up(port, data))
        return self._plan_read(port)

    def _caught_up(self, port: Port, data: bytes | Exception) -> bytes | Exception:
        """Under the core's lock, only when a deadline is due: what arrived while this thread
        waited for the lock too, so a stalled host never takes its own buffer for silence."""
        deadline = self.core.next_deadline_ns()
        if deadline is None or self.now_ns() < deadline:
            return data
        return self._with_waiting(port, data)

    def _waiting(self, port: Port) -> bytes:
        """What arrived while this thread waited for the interpreter after its read: a host
        stalled by a collector pause must not take buffered frames for a silent pen (§5.5)."""
        try:
            waiting = port.in_waiting
            return port.read(waiting) if waiting else b""
        except _PORT_ERRORS:
            return b""  # the next read reports the failure

    def _halt(self) -> None:
        self._stop.set()
        self._wake_reader()
        thread, port = self._thread, self._port
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=2)
        self._thread = None
        with self._lock:
            self._port = None
        if port is not None:
            with contextlib.suppress(_PORT_ERRORS):
                port.close()

    def _run(self, port: Port, stop: threading.Event) -> None:
        """The I/O thread: read, feed the core with the arrival time, wake it when due. The port
        is read outside the core's lock: a STOP from another thread never waits for a read."""
        wait_s = POLL_S
        while not stop.is_set():
            if port.timeout != wait_s:
                port.timeout = wait_s
            data = self._with_waiting(port, self._read(port))
            if stop.is_set():
                return
            try:
                wait_s = self._locked(lambda data=data: self._take_then_plan(port, data))
            except Exception as exc:  # never escapes the thread: the link is lost instead
                self._locked(
                    lambda exc=exc: self.core.port_failed(f"link error ({exc})", self.now_ns())
                )
                return
            if isinstance(data, Exception):
                return


class VirtualDriver(_Driver):
    """Virtual time on a SteppingClock, no threads: deterministic for a given seed."""

    def __init__(
        self,
        core: LinkCore,
        port: Port,
        clock: SteppingClock,
        on_outputs: OutputHandler,
        trace: Trace | None = None,
    ) -> None:
        super().__init__(core, port, clock, on_outputs, trace)
        self._stepping = clock
        self._timer: TimerHandle | None = None
        self._timer_at: int | None = None
        port.timeout = 0

    def call(self, fn: Callable[[LinkCore, int], R]) -> R:
        result = fn(self.core, self.now_ns())
        self._flush()
        if not self._stepping.running:
            self.pump()
        return result

    def peek(self, fn: Callable[[LinkCore], R]) -> R:
        """Read the core, changing nothing: time and the port are left for `run_until`."""
        return fn(self.core)

    def wait(self, predicate: Callable[[], bool], timeout_ns: int) -> bool:
        """Step virtual time until `predicate` holds or `timeout_ns` has passed in virtual time."""
        clock = self._stepping
        if clock.running:
            raise RuntimeError("a blocking link call from inside a clock callback would deadlock")
        deadline = clock.monotonic_ns() + timeout_ns
        self.pump()
        while not predicate():
            if clock.monotonic_ns() >= deadline:
                return False
            self.run_until(deadline, stop_when=predicate)
        return True

    def run_until(self, t_ns: int, stop_when: Callable[[], bool] | None = None) -> None:
        """Move virtual time to `t_ns` one due callback at a time, reading the port after each."""
        clock = self._stepping
        while True:
            due = clock.next_due_ns()
            if due is None or due > t_ns:
                clock.run_until(t_ns)
                self.pump()
                return
            clock.run_until(due)
            self.pump()
            if stop_when is not None and stop_when():
                return

    def pump(self) -> None:
        """Take what the port holds at this instant, and wake the core if it is due.

        An in-process pen answers inside our write, so this reads again until the port is empty.
        """
        while True:
            port = self._port
            data = b"" if port is None else self._read_now(port)
            self._take(data)
            if isinstance(data, Exception):
                self.replace_port(None)
            if not data or isinstance(data, Exception):
                return

    def _read_now(self, port: Port) -> bytes | Exception:
        try:
            waiting = port.in_waiting
        except _PORT_ERRORS as exc:
            return exc
        return self._read(port) if waiting else b""

    def replace_port(self, port: Port | None) -> None:
        old, self._port = self._port, port
        if old is not None:
            with contextlib.suppress(_PORT_ERRORS):
                old.close()
        if port is not None:
            port.timeout = 0

    def close(self) -> None:
        self.replace_port(None)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _flush(self) -> None:
        super()._flush()
        self._schedule()

    def _schedule(self) -> None:
        """Keep one clock callback at the core's next deadline, so others' steps wake it too."""
        deadline = self.core.next_deadline_ns()
        if deadline == self._timer_at:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = deadline
        self._timer = None if deadline is None else self._stepping.call_at(deadline, self._due)

    def _due(self) -> None:
        self._timer = None
        self._timer_at = None
        self.pump()
