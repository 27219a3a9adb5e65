"""The in-process transport: a pyserial port whose far end is a SimulatedPen in the same process.

`SimSerial` subclasses pyserial's `SerialBase`, so host code holds the same kind of object it holds
for hardware: `read(size)`, `write`, `in_waiting`, `timeout`, `reset_input_buffer`, `close`, and
`SerialException` when the device goes away. Reach it with `open_host_port(pen)`, or by URL
after `publish("bench", pen)`: `serial.serial_for_url("sim://bench")`. `sim://` with no name
starts a pen of its own on a real clock in a background thread
(`sim://?scenario=flaky-link&seed=3`).

On a VirtualClock, a read that would wait instead advances the virtual clock (running every due
callback, the pen's and anyone else's) until the bytes are there or the timeout has passed in
virtual time; so a host loop written for hardware runs unchanged, and instantly. A read from
inside a clock callback never advances time (it returns what is there).
"""

from __future__ import annotations

import threading
import time
import urllib.parse
from typing import Any

import serial
from serial.serialutil import PortNotOpenError, SerialBase, SerialException

from firmware_bridge.clock import NS_PER_S, RealClock, VirtualClock
from simulator.pen import SimulatedPen

# A blocking read (timeout=None) on a virtual clock gives up after this much virtual time.
MAX_VIRTUAL_BLOCK_S = 10.0

_published: dict[str, SimulatedPen] = {}
_published_lock = threading.Lock()


def register_url_handler() -> None:
    """Make `serial.serial_for_url("sim://...")` reach simulated pens (idempotent)."""
    if "simulator.urlhandler" not in serial.protocol_handler_packages:
        serial.protocol_handler_packages.append("simulator.urlhandler")


def publish(name: str, pen: SimulatedPen) -> str:
    """Make `pen` reachable as `sim://NAME`; returns that URL."""
    if not name or not name.replace("-", "").replace("_", "").isalnum():
        raise ValueError(f"{name!r}: a published name is letters, digits, '-' and '_'")
    register_url_handler()
    with _published_lock:
        _published[name] = pen
    return f"sim://{name}"


def unpublish(name: str) -> None:
    with _published_lock:
        _published.pop(name, None)


def open_host_port(pen: SimulatedPen, timeout: float | None = 0.0) -> SimSerial:
    """The host's end of an in-process wire to `pen`, opened (no URL needed).

    Not to be confused with `firmware_bridge.transport.open_port(url)`, which opens any pyserial
    URL (a device, a pty, `socket://`, `sim://`) for the host.
    """
    port = SimSerial(pen=pen, timeout=timeout)
    port.open()
    return port


class SimSerial(SerialBase):
    """The host's end of the in-process wire."""

    def __init__(self, *args: Any, pen: SimulatedPen | None = None, **kwargs: Any) -> None:
        self._pen = pen
        self._owned: _RealTimeRunner | None = None
        self._rx = bytearray()
        self._rx_lock = threading.RLock()  # taken directly where no one waits (cheaper)
        self._ready = threading.Condition(self._rx_lock)
        self._waiting = 0  # readers blocked in _wait_real (the only ones a notify wakes)
        self._lost = False
        self._end: _PenEnd | None = None
        super().__init__(*args, **kwargs)

    @property
    def pen(self) -> SimulatedPen | None:
        return self._pen

    # ---- open and close ------------------------------------------------------------------------

    def open(self) -> None:
        if self.is_open:
            raise SerialException("Port is already open.")
        if self._pen is None:
            if self._port is None:
                raise SerialException("Port must be configured before it can be used.")
            self._pen, self._owned = _resolve(str(self._port))
        pen = self._pen
        if not pen.plugged:
            raise SerialException(
                f"could not open port {self._port or 'sim'}: the simulated pen is unplugged"
            )
        with self._ready:
            self._rx.clear()
            self._lost = False
        self._end = _PenEnd(self)
        pen.connect(self._end)
        self.is_open = True

    def close(self) -> None:
        if self.is_open:
            self.is_open = False
            pen = self._pen
            if pen is not None and self._end is not None:
                pen.disconnect(self._end)
            self._end = None
            with self._ready:
                self._ready.notify_all()
        if self._owned is not None:
            self._owned.stop()
            self._owned = None
            self._pen = None

    def _reconfigure_port(self, force_update: bool = False) -> None:
        """Baud rate, parity and the like mean nothing on an in-process wire."""

    # ---- I/O -----------------------------------------------------------------------------------

    @property
    def in_waiting(self) -> int:
        self._check()
        if self._lost:
            raise SerialException("device disconnected: the simulated pen was unplugged")
        return len(self._rx)

    @property
    def out_waiting(self) -> int:
        self._check()
        return 0

    def read(self, size: int = 1) -> bytes:
        self._check()
        clock = self._pen.clock if self._pen is not None else None
        if isinstance(clock, VirtualClock):
            self._wait_virtual(clock, size)
        else:
            self._wait_real(size)
        with self._rx_lock:
            if self._lost:
                raise SerialException("device disconnected: the simulated pen was unplugged")
            data = bytes(self._rx[:size])
            del self._rx[:size]
        return data

    def write(self, data: bytes | bytearray | memoryview) -> int:
        self._check()
        if self._lost:
            raise SerialException("write failed: the simulated pen was unplugged")
        payload = bytes(data)
        assert self._pen is not None
        self._pen.receive(payload)
        return len(payload)

    def flush(self) -> None:
        self._check()

    def reset_input_buffer(self) -> None:
        self._check()
        with self._ready:
            self._rx.clear()

    def reset_output_buffer(self) -> None:
        self._check()

    def cancel_read(self) -> None:
        with self._ready:
            self._ready.notify_all()

    def _update_rts_state(self) -> None:
        """No modem lines on an in-process wire."""

    def _update_dtr_state(self) -> None:
        """No modem lines on an in-process wire."""

    def _update_break_state(self) -> None:
        """No break condition on an in-process wire."""

    @property
    def cts(self) -> bool:
        return True

    @property
    def dsr(self) -> bool:
        return True

    @property
    def ri(self) -> bool:
        return False

    @property
    def cd(self) -> bool:
        return True

    # ---- waiting -------------------------------------------------------------------------------

    def _wait_virtual(self, clock: VirtualClock, size: int) -> None:
        if self._timeout == 0 or clock.running:
            return
        limit_s = MAX_VIRTUAL_BLOCK_S if self._timeout is None else self._timeout
        deadline = clock.monotonic_ns() + round(limit_s * NS_PER_S)
        while len(self._rx) < size and not self._lost and self.is_open:
            due = clock.next_due_ns()
            if due is None or due > deadline:
                clock.run_until(deadline)
                return
            clock.run_until(due)

    def _wait_real(self, size: int) -> None:
        if self._timeout == 0:
            return
        deadline = None if self._timeout is None else time.monotonic() + self._timeout
        with self._ready:
            while len(self._rx) < size and not self._lost and self.is_open:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return
                self._waiting += 1
                try:
                    self._ready.wait(remaining)
                finally:
                    self._waiting -= 1

    def _check(self) -> None:
        if not self.is_open:
            raise PortNotOpenError()

    # ---- called by the pen's end ---------------------------------------------------------------

    def _arrived(self, data: bytes) -> None:
        with self._rx_lock:
            self._rx += data
            if self._waiting:
                self._ready.notify_all()

    def _unplugged(self) -> None:
        with self._ready:
            self._lost = True
            self._ready.notify_all()


class _PenEnd:
    """What the pen holds: the far end of one open SimSerial."""

    def __init__(self, port: SimSerial) -> None:
        self._port = port

    def send(self, data: bytes) -> None:
        self._port._arrived(data)

    def unplug(self) -> None:
        self._port._unplugged()

    def replug(self) -> None:
        """A re-plugged device is a new port: this handle stays dead, the host must reopen."""


class _RealTimeRunner:
    """Runs a pen of its own on a RealClock in a daemon thread (for `sim://` with no name)."""

    def __init__(self, pen: SimulatedPen, clock: RealClock) -> None:
        self.pen = pen
        self._clock = clock
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=clock.run_forever, args=(self._stop,), name="penctl-sim-clock", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._clock.wake()
        self._thread.join(timeout=5)
        self.pen.close()


def _resolve(url: str) -> tuple[SimulatedPen, _RealTimeRunner | None]:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "sim":
        raise SerialException(f"{url!r}: expected a sim:// URL")
    name = parts.netloc or parts.path.strip("/")
    options = urllib.parse.parse_qs(parts.query)
    if name:
        with _published_lock:
            pen = _published.get(name)
        if pen is None:
            known = ", ".join(sorted(_published)) or "none"
            raise SerialException(
                f"could not open port {url}: no simulated pen is published as {name!r} "
                f"(published: {known}); publish one with simulator.transport.inprocess.publish"
            )
        if options:
            raise SerialException(f"{url}: options only apply to sim:// with no name")
        return pen, None
    return _new_realtime_pen(url, options)


def _new_realtime_pen(
    url: str, options: dict[str, list[str]]
) -> tuple[SimulatedPen, _RealTimeRunner]:
    from simulator.scenario import ScenarioError, load_scenario

    unknown = set(options) - {"scenario", "seed"}
    if unknown:
        raise SerialException(f"{url}: unknown option {sorted(unknown)[0]!r}; use scenario, seed")
    scenario = None
    try:
        if "scenario" in options:
            scenario = load_scenario(options["scenario"][0])
        seed = int(options["seed"][0]) if "seed" in options else None
    except ScenarioError as exc:
        raise SerialException(f"{url}: {exc}") from None
    except ValueError:
        raise SerialException(f"{url}: seed must be a whole number") from None
    clock = RealClock()
    pen = SimulatedPen(clock, scenario=scenario, seed=seed, keep_events=False)
    return pen, _RealTimeRunner(pen, clock)
