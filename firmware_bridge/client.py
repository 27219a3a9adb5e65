"""`PenClient`: the typed pen API, and the only thing the controller talks to.

    from firmware_bridge import open_pen
    with open_pen("/dev/ttyUSB0") as pen:
        identity = pen.identify()
        applied = pen.set_params(depth_um=500, speed_sps=100)  # returns once the echo matched
        pen.renew_lease(300)
        pen.start()
        pen.stop()

Blocking calls wait at most `timeout_s` and raise typed errors (firmware_bridge.link.errors) whose
messages say what happened, what was done and what to check. `stop()` and `estop()` write at once
from the caller's thread and do not wait unless asked. The lease is renewed by whoever owns the
client (the controller's loop), never by the link: a hung owner lets the lease lapse and the pen
stops by itself (S5). Callbacks given to `subscribe` run on the link's thread (or inside virtual
time steps) and must not block: put what they get on a queue.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from firmware_bridge.clock import NS_PER_MS, NS_PER_S, Clock, RealClock
from firmware_bridge.link.core import LinkCore
from firmware_bridge.link.drivers import Port, SteppingClock, ThreadedDriver, VirtualDriver
from firmware_bridge.link.errors import (
    CommandFailed,
    CommandTimeout,
    EchoMismatchError,
    NotIdentified,
    PenRefused,
    WrongPen,
)
from firmware_bridge.link.outputs import (
    CartridgeReported,
    CommandOutcome,
    Confirmed,
    EchoMismatch,
    Failed,
    LinkOutput,
    Refused,
)
from firmware_bridge.link.states import LinkState
from firmware_bridge.link.stats import summarise
from firmware_bridge.link.trace import Trace, TraceThread, TraceWriter
from firmware_bridge.protocol import (
    Ack,
    Cartridge,
    ClearFault,
    EStop,
    FaultCode,
    GetStatus,
    Identify,
    Lease,
    Message,
    SetParams,
    Start,
    Stop,
    StopReason,
    Telemetry,
)
from firmware_bridge.transport import DEFAULT_BAUDRATE, open_port

DEFAULT_LEASE_MS = 300
DEFAULT_TIMEOUT_S = 2.0  # longer than a command's 4 tries (400 ms), so the link answers first
Subscriber = Callable[[LinkOutput], None]


@dataclass(frozen=True, slots=True)
class PenIdentity:
    identify: Identify
    cartridge: Cartridge | None
    link_errors: dict[str, int]

    @property
    def serial_number(self) -> str:
        return self.identify.serial_number


@dataclass(frozen=True, slots=True)
class AppliedParams:
    """A parameter set the pen applied and echoed back exactly (S3)."""

    param_version: int
    depth_um: int
    speed_sps: int
    params_crc: int
    confirmed_at_ns: int


@dataclass(frozen=True, slots=True)
class PenStatus:
    """What the host last heard, for a snapshot: never what was merely requested (S3)."""

    link: LinkState
    identify: Identify | None
    cartridge: Cartridge | None
    telemetry: Telemetry | None
    last_ack: Ack | None
    stops_unanswered: int = 0  # STOPs and ESTOPs the pen has not acknowledged yet


class PenClient:
    """A pen on one port. Build it with `open_pen`."""

    def __init__(
        self,
        open_port_fn: Callable[[], Port],
        clock: Clock,
        *,
        trace: TraceWriter | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        self._open_port = open_port_fn
        self._timeout_ns = round(timeout_s * NS_PER_S)
        self._trace: Trace | None = trace
        self._subscribers: list[Subscriber] = []
        self._awaited: set[int] = set()
        self._outcomes: dict[int, CommandOutcome] = {}
        self._versions = itertools.count(1)
        self._cartridge_reports = 0
        self._subscriber_lock = threading.Lock()
        self._identity: PenIdentity | None = None
        self._applied: AppliedParams | None = None
        core = LinkCore(tracing=trace is not None)
        port = open_port_fn()
        if hasattr(clock, "run_until"):
            self._driver: ThreadedDriver | VirtualDriver = VirtualDriver(
                core,
                port,
                clock,
                self._on_outputs,
                trace,  # type: ignore[arg-type]
            )
        else:
            # In real time the trace is written by a thread of its own, never under the lock.
            self._trace = None if trace is None else TraceThread(trace)
            self._driver = ThreadedDriver(core, port, clock, self._on_outputs, self._trace)

    # ---- identity and parameters ---------------------------------------------------------------

    def identify(self, timeout_s: float | None = None) -> PenIdentity:
        """HELLO, then the pen's identity and cartridge; the pen drops its applied set and lease."""
        reports = self._cartridge_reports
        hello_id = self._driver.call(lambda core, now: self._await(core.open(now)))
        self._result(hello_id, timeout_s)
        if not self._driver.wait(lambda: self._cartridge_reports > reports, 100 * NS_PER_MS):
            self._command(GetStatus(), timeout_s)
        core = self._driver.core
        assert core.identify is not None
        errors = {k: v for k, v in core.stats.receive_errors.items() if v}
        self._identity = PenIdentity(core.identify, core.cartridge, errors)
        self._applied = None
        return self._identity

    def set_params(self, *, depth_um: int, speed_sps: int) -> AppliedParams:
        """Propose a new set; returns only once the pen's echo matched it field by field (S3)."""
        ack = self._command(self.params_message(depth_um=depth_um, speed_sps=speed_sps))
        self._applied = AppliedParams(
            ack.param_version, ack.depth_um, ack.speed_sps, ack.params_crc, self._now()
        )
        return self._applied

    def start(self, param_version: int | None = None) -> Ack:
        """Run the motor with the applied set (the one `set_params` last confirmed by default)."""
        version = param_version if param_version is not None else self._applied_version()
        return self._command(Start(version))

    def stop(self, reason: StopReason = StopReason.OPERATOR, *, wait: bool = False) -> Ack | None:
        """Written at once, ahead of anything queued, repeated until acknowledged (S4)."""
        return self._stop(Stop(reason), wait)

    def estop(self, reason: StopReason = StopReason.ESTOP, *, wait: bool = False) -> Ack | None:
        """The e-stop: written at once; it latches on the pen until `clear_fault(ESTOP)`."""
        return self._stop(EStop(reason), wait)

    def clear_fault(self, code: FaultCode) -> Ack:
        """The operator's acknowledgement of the active fault; the pen returns to IDLE (S6)."""
        return self._command(ClearFault(code))

    def renew_lease(self, lease_ms: int = DEFAULT_LEASE_MS) -> None:
        """Send LEASE without waiting; a refusal or silence reaches subscribers as an outcome."""
        self._driver.call(lambda core, now: core.send(Lease(lease_ms), now))

    def get_status(self) -> Ack:
        """Ask for a TELEMETRY and a CARTRIDGE out of schedule."""
        return self._command(GetStatus())

    # ---- without waiting (for an owner loop that must never block) ------------------------------

    def hello(self) -> int:
        """Send HELLO without waiting; `Identified` and HELLO's outcome reach subscribers."""
        self._applied = None
        return self._driver.call(lambda core, now: core.open(now))

    def send(self, message: Message) -> int:
        """Queue any host command without waiting; its outcome names the id returned (S4: a
        STOP or ESTOP is written at once)."""
        return self._driver.call(lambda core, now: core.send(message, now))

    def params_message(self, *, depth_um: int, speed_sps: int) -> SetParams:
        """A SET_PARAMS with this client's next version (versions only rise: protocol.md §4)."""
        return SetParams(next(self._versions), depth_um, speed_sps)

    def reopen(self) -> None:
        """Close the port and open it again, without waiting; follow with `hello()` (§5.5)."""
        self._driver.replace_port(None)
        self._driver.replace_port(self._open_port())

    # ---- watching ------------------------------------------------------------------------------

    def status(self) -> PenStatus:
        return self._driver.peek(
            lambda core: PenStatus(
                core.state,
                core.identify,
                core.cartridge,
                core.last_telemetry,
                core.last_ack,
                core.stops_unanswered,
            )
        )

    @property
    def applied(self) -> AppliedParams | None:
        return self._applied

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Every output of the link (telemetry, events, outcomes, state changes); returns undo."""
        with self._subscriber_lock:
            self._subscribers = [*self._subscribers, callback]

        def unsubscribe() -> None:
            with self._subscriber_lock:
                self._subscribers = [s for s in self._subscribers if s is not callback]

        return unsubscribe

    def stats(self) -> dict[str, Any]:
        """The link's counters, copied under the link's lock (the I/O thread keeps adding) and
        summarised after it is let go: a STOP from another thread never waits for the sorting."""
        return summarise(self._driver.peek(lambda core: core.stats.counts()))

    def dump_frames(self) -> list[dict[str, Any]]:
        """The last 256 frames both ways, oldest first (for a fault report)."""
        return [record.as_dict() for record in self._driver.peek(lambda core: [*core.stats.ring])]

    @property
    def driver(self) -> ThreadedDriver | VirtualDriver:
        return self._driver

    # ---- the port ------------------------------------------------------------------------------

    def reconnect(self, timeout_s: float | None = None) -> PenIdentity:
        """Reopen the port and HELLO; refuse another pen. Never restarts the motor (§5.5)."""
        before = self._identity
        self.reopen()
        identity = self.identify(timeout_s)
        if before is not None and identity.serial_number != before.serial_number:
            self.close()
            raise WrongPen(
                f"another pen answered: {identity.serial_number} instead of "
                f"{before.serial_number}. The link was closed; nothing was sent but HELLO. "
                "Connect the pen the session began with, or start a new session."
            )
        return identity

    def close(self) -> None:
        self._driver.call(lambda core, now: core.close(now))
        self._driver.close()
        if self._trace is not None:
            self._trace.close()

    def __enter__(self) -> PenClient:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # ---- plumbing ------------------------------------------------------------------------------

    def _command(self, message: Message, timeout_s: float | None = None) -> Ack:
        command_id = self._driver.call(lambda core, now: self._await(core.send(message, now)))
        return self._result(command_id, timeout_s)

    def _stop(self, message: Stop | EStop, wait: bool) -> Ack | None:
        if not wait:
            self._driver.call(lambda core, now: core.send(message, now))
            return None
        return self._command(message)

    def _await(self, command_id: int) -> int:
        self._awaited.add(command_id)
        return command_id

    def _result(self, command_id: int, timeout_s: float | None) -> Ack:
        timeout_ns = self._timeout_ns if timeout_s is None else round(timeout_s * NS_PER_S)
        if not self._driver.wait(lambda: command_id in self._outcomes, timeout_ns):
            self._awaited.discard(command_id)
            raise CommandTimeout(
                f"no outcome within {timeout_ns // NS_PER_MS} ms; the link keeps trying and "
                "will report it to subscribers. Check the link's state before going on."
            )
        outcome = self._outcomes.pop(command_id)
        self._awaited.discard(command_id)
        if isinstance(outcome, Confirmed):
            return outcome.ack
        if isinstance(outcome, Refused):
            raise PenRefused(outcome.message, outcome.nak)
        if isinstance(outcome, EchoMismatch):
            raise EchoMismatchError(outcome.asked, outcome.ack, outcome.fields)
        raise CommandFailed(outcome.message, outcome.why)

    def _applied_version(self) -> int:
        if self._applied is None:
            raise NotIdentified(
                "no parameter set has been confirmed since the pen was identified; nothing was "
                "sent. Call set_params first: START runs only a set the pen echoed back (S3)."
            )
        return self._applied.param_version

    def _now(self) -> int:
        return self._driver.now_ns()

    def _on_outputs(self, outputs: list[LinkOutput]) -> None:
        """On the link's thread: settle waiters, then tell subscribers (who must not block)."""
        for output in outputs:
            if isinstance(output, Confirmed | Refused | Failed | EchoMismatch):
                if output.command_id in self._awaited:
                    self._outcomes[output.command_id] = output
            elif isinstance(output, CartridgeReported):
                self._cartridge_reports += 1
        for callback in self._subscribers:
            for output in outputs:
                try:
                    callback(output)
                except Exception:  # counted in stats(); a subscriber never stops the link
                    self._driver.core.stats.subscriber_errors += 1


def open_pen(
    url: str,
    *,
    clock: Clock | SteppingClock | None = None,
    trace: str | os.PathLike[str] | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    baudrate: int = DEFAULT_BAUDRATE,
) -> PenClient:
    """Open the pen's port (any pyserial URL) and start its link; `identify()` says hello.

    With a virtual clock (one with `run_until`, such as `VirtualClock`) the link runs without
    threads in virtual time; otherwise an I/O thread runs it in real time.
    """
    writer = TraceWriter(trace) if trace is not None else None
    try:
        return PenClient(
            lambda: open_port(url, baudrate=baudrate),
            clock or RealClock(),
            trace=writer,
            timeout_s=timeout_s,
        )
    except BaseException:
        if writer is not None:
            writer.close()
        raise
