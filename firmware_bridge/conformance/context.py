"""What every case stands on: the probe, the pen's identity, a person's hands, and small steps
(say HELLO, apply a set, run the motor) each checked against the section that requires it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from firmware_bridge.conformance.probe import Nonconformance, Probe, Skipped
from firmware_bridge.protocol import (
    Ack,
    Cartridge,
    CartridgeState,
    ClearFault,
    EventCode,
    FaultCode,
    Hello,
    Identify,
    Lease,
    Message,
    Nak,
    NakReason,
    PenState,
    SetParams,
    Start,
    Telemetry,
)

REPLY_MS = 20  # protocol.md §5.1: every answered frame is answered within 20 ms of receipt

# The physical acts a case may need: what is done, and how the person is asked to do it.
ACTS: dict[str, tuple[str, str]] = {
    "power-cycle": (
        "power-cycle the pen",
        "switch the pen off and on again (a full power cycle), then press Enter",
    ),
    "press-button": (
        "press the pen's stop button while the motor runs",
        "press Enter, then within 5 s press the pen's own stop button once",
    ),
    "pull-cartridge": (
        "pull the cartridge out of the running pen",
        "press Enter, then within 5 s pull the cartridge out of the running pen",
    ),
    "reseat-cartridge": (
        "seat the pulled cartridge again",
        "seat the same cartridge again (the one just pulled), then press Enter",
    ),
    "seat-fresh-cartridge": (
        "seat a fresh cartridge",
        "seat a fresh, unused, in-date cartridge, then press Enter",
    ),
}


class Operator(Protocol):
    """A person (or a test's hands) doing a physical act on the pen."""

    def perform(self, act: str, instruction: str) -> bool:
        """Do `act` (see ACTS); False when it cannot be done now (the case is then skipped)."""
        ...


class NoOperator:
    """--non-interactive: nobody is there, so every physical act is skipped."""

    def perform(self, act: str, instruction: str) -> bool:
        return False


@dataclass
class Settings:
    tolerance_ms: float = 30.0  # timing slack for the link's latency and jitter
    lease_ms: int = 300


class Context:
    def __init__(self, probe: Probe, operator: Operator, settings: Settings) -> None:
        self.probe = probe
        self.operator = operator
        self.settings = settings
        self.identify: Identify | None = None
        self.cartridge: Cartridge | None = None
        self._version = 0

    # ---- timing --------------------------------------------------------------------------------

    @property
    def reply_ms(self) -> float:
        return REPLY_MS + self.settings.tolerance_ms

    @property
    def pen(self) -> Identify:
        assert self.identify is not None, "the handshake runs before every case"
        return self.identify

    @property
    def lease_ms(self) -> int:
        pen = self.pen
        return max(pen.lease_min_ms, min(self.settings.lease_ms, pen.lease_max_ms))

    def next_version(self) -> int:
        self._version += 1
        return self._version

    # ---- commands ------------------------------------------------------------------------------

    def command(self, message: Message, section: str = "§5.1", seq: int | None = None) -> Any:
        """Send `message`; its ACK or NAK (Nonconformance when none comes in time)."""
        since = self.probe.mark()
        seq = self.probe.send(message, seq)
        return self.probe.await_reply(seq, message.TYPE, since, section, self.reply_ms)

    def ack(self, message: Message, section: str, why: str = "") -> Ack:
        reply = self.command(message)
        if not isinstance(reply, Ack):
            raise Nonconformance(
                section,
                f"{message!r} was refused with NAK {reply.reason.name} (detail {reply.detail})"
                f"{'; ' + why if why else ''}",
            )
        return reply

    def nak(
        self, message: Message, section: str, reason: NakReason, detail: int | None = None
    ) -> Nak:
        reply = self.command(message)
        if not isinstance(reply, Nak):
            raise Nonconformance(
                section,
                f"{message!r} was accepted (ACK, pen_state {reply.pen_state.name}); "
                f"expected NAK {reason.name}",
            )
        expect(
            reply.reason is reason and (detail is None or reply.detail == detail),
            section,
            f"{message!r} was refused with NAK {reply.reason.name} detail {reply.detail}; "
            f"expected NAK {reason.name}{'' if detail is None else f' detail {detail}'}",
        )
        return reply

    def hello(self) -> Ack:
        since = self.probe.mark()
        ack = self.ack(Hello(1), "§4 HELLO")
        self.probe.until(lambda: bool(self.probe.of_type(Cartridge, since)), self.reply_ms)
        identify = self.probe.of_type(Identify, since)
        expect(bool(identify), "§4 HELLO", "no IDENTIFY after the ACK to HELLO")
        self.identify = identify[0]
        cartridges = self.probe.of_type(Cartridge, since)
        expect(bool(cartridges), "§4 CARTRIDGE", "no CARTRIDGE after IDENTIFY")
        self.cartridge = cartridges[0]
        return ack

    def reset(self) -> None:
        """A known start for a case: lease dropped, HELLO, every latched fault cleared."""
        self.probe.keep_lease(None)
        ack = self.hello()
        for _ in range(8):
            if ack.pen_state not in (PenState.FAULTED, PenState.ESTOPPED):
                break
            active = self.telemetry("§4 TELEMETRY").active_fault
            if active is FaultCode.NONE:
                active = FaultCode.ESTOP if ack.pen_state is PenState.ESTOPPED else active
            ack = self.ack(ClearFault(active), "§7.5", "clearing faults left by an earlier case")
        self.probe.wait_ms(self.pen.telemetry_period_ms)

    def telemetry(self, section: str) -> Telemetry:
        """The next TELEMETRY from now."""
        since = self.probe.mark()
        wait = 2 * self.pen.telemetry_period_ms + self.settings.tolerance_ms
        return self.probe.await_telemetry(since, section, wait)

    def settle_motor(self, section: str, within_ms: float = 1000) -> Telemetry:
        """Wait until TELEMETRY shows the motor stopped (a STOP coasts)."""
        deadline_ms = within_ms + self.settings.tolerance_ms
        start = self.probe.now_ns()
        while True:
            sample = self.telemetry(section)
            if sample.speed_sps == 0 and sample.motor_state.name == "STOPPED":
                return sample
            if (self.probe.now_ns() - start) / 1e6 > deadline_ms:
                raise Nonconformance(
                    section,
                    f"the motor still turns {deadline_ms:.0f} ms after the stop "
                    f"(TELEMETRY: {sample.motor_state.name}, {sample.speed_sps} strokes/s)",
                )

    def safe_set(self) -> tuple[int, int]:
        """The shallowest depth and slowest speed: what the kit runs the motor with."""
        return self.pen.depth_min_um, self.pen.speed_min_sps

    def apply(self, depth_um: int | None = None, speed_sps: int | None = None) -> Ack:
        depth, speed = self.safe_set()
        message = SetParams(self.next_version(), depth_um or depth, speed_sps or speed)
        return self.ack(message, "§5.3", "a set within the pen's own limits")

    def runnable(self) -> None:
        state = self.cartridge.state if self.cartridge else CartridgeState.ABSENT
        if state not in (CartridgeState.FRESH, CartridgeState.IN_USE):
            raise Skipped(
                f"the motor cannot run: the cartridge is {state.name}; seat a fresh cartridge"
            )

    def run_motor(self) -> Ack:
        """Lease kept, the safe set applied and START acknowledged, MOTOR_STARTED seen."""
        self.runnable()
        self.probe.keep_lease(self.lease_ms)
        applied = self.apply()
        since = self.probe.mark()
        ack = self.ack(Start(applied.param_version), "§7.3", "every START precondition held")
        expect(ack.pen_state is PenState.RUNNING, "§7.3", f"START's ACK says {ack.pen_state.name}")
        self.probe.await_event(EventCode.MOTOR_STARTED, since, "§7.3", self.reply_ms)
        return applied

    def lease(self, lease_ms: int) -> int:
        """One LEASE, not renewed; its send time."""
        self.probe.keep_lease(None)
        sent = self.probe.now_ns()
        self.ack(Lease(lease_ms), "§4 LEASE")
        return sent

    def act(self, name: str) -> None:
        what, instruction = ACTS[name]
        if not self.operator.perform(name, instruction):
            raise Skipped(f"needs a person to {what}")


def expect(condition: bool, section: str, message: str) -> None:
    if not condition:
        raise Nonconformance(section, message)
