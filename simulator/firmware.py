"""The simulated pen's firmware: a sans-IO core, driven by received bytes and the passage of time.

Theory of operation. The owner feeds host bytes with `receive(data, now_ns)` and moves time with
`advance_to(now_ns)`, calling it again at `next_deadline_ns()`; the firmware answers by queueing
frames (`take_output()`) and recording what it did (`take_events()`). No threads, sockets or
clocks: the same inputs at the same times give the same bytes out, which is what lets a 60-minute
session run in virtual time and behave exactly as it would in real time.

Internally time is a fixed grid of control ticks (physics and sensor checks, every `tick_ms` from
power-on) and telemetry samples (every `telemetry_period_ms` from HELLO), plus two exact
deadlines: the end of boot and the lease. Due work runs in time order, each item at its own
nominal time, so a late wake-up changes nothing but latency; the lease is checked at its exact
deadline, never rounded to a tick (S5). The owner need not wake for every tick:
`next_deadline_ns()` names the next moment the pen has something to send on schedule (a
telemetry slot, every telemetry period even before HELLO), the end of boot and the lease
deadline; ticks in between run when it wakes, at their own times. So what a tick raises (a fault,
say) goes out at the next telemetry slot at the latest, and a virtual hour costs 72,000 wake-ups,
not 180,000.

The pen-side rules (docs/protocol.md, "pen-side behaviour") are implemented here; which state
changes are allowed is declared in states.py.
"""

from __future__ import annotations

import random
from collections import Counter, OrderedDict
from dataclasses import dataclass
from typing import Any, ClassVar

from firmware_bridge.clock import NS_PER_MS
from firmware_bridge.protocol import (
    HOST_COMMANDS,
    PROTOCOL_VERSION,
    Ack,
    Cartridge,
    CartridgeState,
    ClearFault,
    DecodeError,
    ErrorKind,
    EStop,
    Event,
    EventCode,
    FaultCode,
    Frame,
    Hello,
    Identify,
    Lease,
    Message,
    MessageType,
    Nak,
    NakReason,
    PenState,
    SetParams,
    Start,
    Stop,
    StopReason,
    Telemetry,
    encode,
    params_crc,
    seq_next,
)
from simulator.config import CartridgeSpec, PenConfig
from simulator.defects import Defects
from simulator.events import COMMAND, SimEvent
from simulator.model import PhysicalModel
from simulator.states import RUN, check_transition, gate

DEDUP_DEPTH = 32
# Always executed, never answered from the duplicate memory: doing them twice is harmless, and a
# restarted host reusing an old seq must never get an old reply instead of a stop (S4).
_NEVER_DUPLICATE = frozenset({MessageType.HELLO, MessageType.STOP, MessageType.ESTOP})
_STOPS = {int(MessageType.STOP): Stop, int(MessageType.ESTOP): EStop}
_HOST_TYPES = frozenset(HOST_COMMANDS)


@dataclass(frozen=True, slots=True)
class ParamSet:
    version: int
    depth_um: int
    speed_sps: int


class Firmware:
    """One pen. Construct at power-on time `now_ns`; it boots for `config.boot_ms`."""

    def __init__(
        self,
        config: PenConfig,
        *,
        cartridge: CartridgeSpec | None,
        today_yyyymmdd: int,
        seed: int = 0,
        now_ns: int = 0,
    ) -> None:
        self.config = config
        self.defects = Defects(config.defects)  # none unless a scenario asks (defects.py)
        self._never_duplicate = self.defects.never_duplicate(_NEVER_DUPLICATE)
        self.today_yyyymmdd = today_yyyymmdd
        self.model = PhysicalModel(config, random.Random(f"penctl-sim-model:{seed}"))
        self.stats: Counter[str] = Counter()
        # Non-volatile: the cartridge in the socket, and the serials this pen has run (flash).
        self.cartridge: CartridgeSpec | None = cartridge
        self.used_serials: set[str] = set()
        self.last_removed: CartridgeSpec | None = None
        self._tick_ns = config.tick_ms * NS_PER_MS
        self._telemetry_ns = config.telemetry_period_ms * NS_PER_MS
        self._now = now_ns
        self._next_tick_ns = now_ns + self._tick_ns
        self._wake_origin_ns = now_ns
        self._out: list[bytes] = []
        self._deferred: list[Message] | None = None
        self._events: list[SimEvent] = []
        self._power_on()
        self.cartridge_state = self._read_cartridge()

    # ---- the sans-IO surface -------------------------------------------------------------------

    @property
    def now_ns(self) -> int:
        return self._now

    def receive(self, data: bytes, now_ns: int) -> None:
        """Bytes from the host, arrived at `now_ns` (any chunking)."""
        self.advance_to(now_ns)
        for item in self._decoder.feed(data):
            if isinstance(item, Frame):
                self._on_frame(item)
            else:
                self._on_bad_frame(item)

    def advance_to(self, now_ns: int) -> None:
        """Run everything due up to `now_ns`, each at its own time."""
        while True:
            due, kind = self._next_due()
            if due > now_ns:
                break
            self._now = max(self._now, due)
            if kind == _LEASE:
                self._lease_lapse()
            elif kind == _BOOT:
                self._boot_complete()
            elif kind == _TICK:
                self._next_tick_ns += self._tick_ns
                self._tick()
            else:
                self._next_telemetry_ns += self._telemetry_ns
                self._send(self._telemetry())
        self._now = max(self._now, now_ns)

    def next_deadline_ns(self) -> int:
        """When the owner must call `advance_to` next (see the module's theory of operation)."""
        if self._streaming:
            due = self._next_telemetry_ns
        else:
            period = self._telemetry_ns
            due = self._wake_origin_ns + ((self._now - self._wake_origin_ns) // period + 1) * period
        if self._state is PenState.BOOTING and self._boot_done_ns < due:
            due = self._boot_done_ns
        if self._state is PenState.RUNNING and self._lease_deadline_ns < due:
            due = self._lease_deadline_ns
        return due

    def take_output(self) -> list[bytes]:
        """Encoded frames to send, in order, each with its 0x00 delimiter."""
        out, self._out = self._out, []
        return out

    def take_events(self) -> list[SimEvent]:
        events, self._events = self._events, []
        return events

    # ---- read-only views for tests and tools ---------------------------------------------------

    @property
    def state(self) -> PenState:
        return self._state

    @property
    def identified(self) -> bool:
        return self._identified

    @property
    def applied(self) -> ParamSet | None:
        return self._applied

    @property
    def active_fault(self) -> FaultCode:
        return self._latched[-1] if self._latched else FaultCode.NONE

    @property
    def latched_faults(self) -> tuple[FaultCode, ...]:
        return tuple(self._latched)

    @property
    def lease_remaining_ms(self) -> int:
        return min(0xFFFF, max(0, self._lease_deadline_ns - self._now) // NS_PER_MS)

    @property
    def lease_deadline_ns(self) -> int:
        return self._lease_deadline_ns

    @property
    def motor_running(self) -> bool:
        return self.model.motor_on

    # ---- physical actions (the scenario's and the user's hands) --------------------------------

    def press_button(self, now_ns: int) -> None:
        """The pen's own stop button: stops the motor at once, locally; not a fault. A needle
        still coasting down after a STOP or a HELLO is braked too (its stop was reported then)."""
        self.advance_to(now_ns)
        if self._state is not PenState.RUNNING:
            if self.model.speed_sps > 0:
                self.model.brake()
                self._wire_event(EventCode.BUTTON_STOP)
                self._emit("button_stop")
            return
        self.model.brake()
        self._move("button", PenState.READY)
        self._wire_event(EventCode.BUTTON_STOP)
        self._emit("button_stop")
        self._motor_stopped(StopReason.BUTTON)

    def pull_cartridge(self, now_ns: int) -> None:
        self.advance_to(now_ns)
        if self.cartridge is None:
            return
        self.last_removed, self.cartridge = self.cartridge, None
        self.cartridge_state = CartridgeState.ABSENT
        if self._state is PenState.BOOTING:
            return
        self._wire_event(EventCode.CARTRIDGE_REMOVED)
        self._emit("cartridge_removed", serial=self.last_removed.serial)
        if self._state is PenState.RUNNING:
            self._raise_fault(FaultCode.CARTRIDGE_REMOVED, StopReason.CARTRIDGE_REMOVED)
        elif self._state is PenState.READY:
            self._discard_params()
            self._move("cartridge_removed", PenState.IDLE)
        self._send(self._cartridge_message())

    def seat_cartridge(self, cartridge: CartridgeSpec, now_ns: int) -> None:
        self.advance_to(now_ns)
        if self.cartridge is not None:
            self.pull_cartridge(now_ns)
        self.cartridge = cartridge
        self.cartridge_state = self._read_cartridge()
        if self._state is PenState.BOOTING:
            return
        self._wire_event(EventCode.CARTRIDGE_INSERTED, int(self.cartridge_state))
        self._emit(
            "cartridge_inserted", serial=cartridge.serial, state=self.cartridge_state.name.lower()
        )
        if self.cartridge_state is CartridgeState.LOCKED_OUT:
            self._wire_event(EventCode.CARTRIDGE_REATTACHED)
            self._emit("cartridge_reattached", serial=cartridge.serial)
        applied = self._applied
        if (
            self._state is PenState.READY
            and applied is not None
            and self.cartridge_state is not CartridgeState.UNREADABLE
            and applied.depth_um > cartridge.needle_length_um
        ):
            self._discard_params()
            self._move("cartridge_inserted", PenState.IDLE)
        self._send(self._cartridge_message())

    def reboot(self, now_ns: int) -> None:
        """Power cycle: RAM state is lost; the pen boots again and says so (EVENT BOOT)."""
        self.advance_to(now_ns)
        was_running = self._state is PenState.RUNNING
        self.model.brake()
        self.model.depth_target_um = 0
        self._out.clear()
        self._emit("reboot")
        if was_running:
            self._emit("motor_stopped", reason="reboot")
        source = self._state
        estop_latched = FaultCode.ESTOP in self._latched
        self._power_on()
        kept = estop_latched and not self.defects.has("estop-lost-on-reboot")
        if kept:  # kept in non-volatile memory: only the operator releases it (S4)
            self._latched.append(FaultCode.ESTOP)
        check_transition("reboot", source, PenState.BOOTING)
        self.cartridge_state = self._read_cartridge()

    def set_stall(self, load: float, now_ns: int) -> None:
        self.advance_to(now_ns)
        self.model.set_stall(load)

    def set_temperature(self, celsius: float, now_ns: int) -> None:
        self.advance_to(now_ns)
        self.model.temperature_c = celsius

    def set_battery(self, pct: float, now_ns: int) -> None:
        self.advance_to(now_ns)
        self.model.set_battery_pct(pct)

    def set_depth_drift(self, rate_um_per_s: float, offset_um: float, now_ns: int) -> None:
        self.advance_to(now_ns)
        self.model.drift_rate_um_per_s = rate_um_per_s
        self.model.drift_um += offset_um

    def end_depth_drift(self, now_ns: int) -> None:
        """The actuator is back on its setpoint (the drift's cause is gone)."""
        self.advance_to(now_ns)
        self.model.drift_rate_um_per_s = 0.0
        self.model.drift_um = 0.0

    # ---- boot and the timeline -----------------------------------------------------------------

    def _power_on(self) -> None:
        self._state = PenState.BOOTING
        self._identified = False
        self._pen_seq = 0
        self._event_counter = 0
        self._telemetry_counter = 0
        self._applied: ParamSet | None = None
        self._version_floor = 0
        self._latched: list[FaultCode] = []
        self._lease_deadline_ns = self._now
        self._dedup: OrderedDict[int, tuple[Message, Message]] = OrderedDict()
        self._decoder = self.defects.decoder()
        self._streaming = False
        self._next_telemetry_ns = 0
        self._boot_done_ns = self._now + self.config.boot_ms * NS_PER_MS
        self._disagree_since: int | None = None
        self._stall_since: int | None = None

    def _next_due(self) -> tuple[int, int]:
        due, kind = self._next_tick_ns, _TICK
        if self._streaming and self._next_telemetry_ns < due:
            due, kind = self._next_telemetry_ns, _TELEMETRY
        if self._state is PenState.BOOTING and self._boot_done_ns <= due:
            due, kind = self._boot_done_ns, _BOOT
        if self._state is PenState.RUNNING and self._lease_deadline_ns <= due:
            due, kind = self._lease_deadline_ns, _LEASE
        return due, kind

    def _boot_complete(self) -> None:
        estopped = FaultCode.ESTOP in self._latched
        self._move("boot_complete", PenState.ESTOPPED if estopped else PenState.IDLE)
        self._wire_event(EventCode.BOOT)
        self._emit("boot")

    def _tick(self) -> None:
        model = self.model
        model.step()
        if self._state is PenState.BOOTING:
            return
        config = self.config
        now = self._now
        if model.current_ma > config.over_current_ma:
            self._raise_fault(FaultCode.OVER_CURRENT)
        if (
            self._state is PenState.RUNNING
            and model.speed_sps < config.stall_speed_fraction * model.speed_target_sps
            and not model.accelerating
        ):
            if self._stall_since is None:
                self._stall_since = now
            elif now - self._stall_since >= config.stall_window_ms * NS_PER_MS:
                self._raise_fault(FaultCode.MOTOR_STALL)
        else:
            self._stall_since = None
        if model.temperature_c > config.over_temp_c:
            self._raise_fault(FaultCode.OVER_TEMPERATURE)
        if model.battery_pct <= config.battery_critical_pct:
            self._raise_fault(FaultCode.BATTERY_CRITICAL)
        if abs(model.depth_error_um) > config.depth_tolerance_um:
            if self._disagree_since is None:
                self._disagree_since = now
            elif now - self._disagree_since >= config.depth_disagree_window_ms * NS_PER_MS:
                self._raise_fault(FaultCode.DEPTH_SENSOR_DISAGREE)
        else:
            self._disagree_since = None

    def _lease_lapse(self) -> None:
        if self.defects.has("no-lease-watchdog"):
            self._lease_deadline_ns = _NEVER
            return
        self._wire_event(EventCode.LEASE_EXPIRED)
        self._emit("lease_expired")
        self._raise_fault(FaultCode.LEASE_EXPIRED, StopReason.LEASE_EXPIRED, "lease_lapse")

    # ---- frames in -----------------------------------------------------------------------------

    def _on_bad_frame(self, error: DecodeError) -> None:
        self.stats[f"rx_{error.kind.value}"] += 1
        self._emit("frame_dropped", direction="to_pen", cause=error.kind.value, detail=error.detail)
        if error.seq is None or error.msg_type is None:
            return
        stop = _STOPS.get(error.msg_type)
        if stop is not None and error.kind in (ErrorKind.WRONG_VERSION, ErrorKind.BAD_FIELD):
            # protocol.md §5.4: once the CRC vouches for it, a stop is a stop (S4).
            self._on_frame(Frame(error.seq, stop(StopReason.UNSPECIFIED)))
            return
        if error.kind is ErrorKind.UNKNOWN_TYPE:
            reason, detail = NakReason.UNKNOWN_TYPE, 0
        elif error.kind is ErrorKind.WRONG_VERSION:
            reason, detail = NakReason.VERSION_MISMATCH, PROTOCOL_VERSION
        else:
            reason, detail = NakReason.BAD_PAYLOAD, 0
        self._send(Nak(error.seq, error.msg_type, reason, detail))

    def _on_frame(self, frame: Frame) -> None:
        message = frame.message
        kind = message.TYPE
        if kind not in _HOST_TYPES:  # a pen's message at the pen: protocol.md §5.4
            self.stats["rx_unknown_type"] += 1
            self._emit("frame_dropped", direction="to_pen", cause="unknown_type", detail=kind.name)
            self._reply_nak(frame.seq, kind, NakReason.UNKNOWN_TYPE)
            return
        self.stats["rx_frames"] += 1
        remembered = self._dedup.get(frame.seq)
        if remembered is not None and remembered[0] == message:
            self.stats["rx_duplicates"] += 1
            self._send(remembered[1])
            self._emit(COMMAND, type=kind.name, seq=frame.seq, result="duplicate")
            return
        verdict = gate(kind, self._state, self._identified)
        if verdict is RUN:
            self._deferred = []
            try:
                reply = self._HANDLERS[kind](self, frame.seq, message)
            finally:
                deferred, self._deferred = self._deferred, None
            for event in deferred:
                self._send(event)
        else:
            assert isinstance(verdict, NakReason)
            detail = {
                NakReason.FAULT_ACTIVE: int(self.active_fault),
                NakReason.BAD_STATE: int(self._state),
            }.get(verdict, 0)
            reply = self._reply_nak(frame.seq, kind, verdict, detail)
        if kind not in self._never_duplicate:
            self._dedup[frame.seq] = (message, reply)
            self._dedup.move_to_end(frame.seq)
            if len(self._dedup) > DEDUP_DEPTH:
                self._dedup.popitem(last=False)
        result: dict[str, Any] = {"result": "ack" if isinstance(reply, Ack) else "nak"}
        if isinstance(reply, Nak):
            result["reason"] = reply.reason.name
        self._emit(COMMAND, type=kind.name, seq=frame.seq, **result)

    # ---- command handlers: each returns the ACK or NAK it sent ---------------------------------

    def _hello(self, seq: int, message: Hello) -> Message:
        if message.protocol_version != PROTOCOL_VERSION:
            return self._reply_nak(
                seq, MessageType.HELLO, NakReason.VERSION_MISMATCH, PROTOCOL_VERSION
            )
        if self._state is PenState.RUNNING:
            self.model.coast_down()
            self._discard_params()
            self._move("HELLO", PenState.IDLE)
            self._motor_stopped(StopReason.HOST_RESET)
        elif self._state is PenState.READY:
            self._discard_params()
            self._move("HELLO", PenState.IDLE)
        self._version_floor = 0
        self._lease_deadline_ns = self._now  # a new host grants its own lease
        self._dedup.clear()
        self._identified = True
        self._streaming = True
        self._telemetry_counter = 0
        self._next_telemetry_ns = self._now + self._telemetry_ns
        ack = self._reply_ack(seq, MessageType.HELLO)
        self._send(self._identify())
        self._send(self._cartridge_message())
        return ack

    def _set_params(self, seq: int, message: SetParams) -> Message:
        config = self.config
        depth, speed = message.depth_um, message.speed_sps
        refusal: tuple[NakReason, int] | None = None
        if depth < config.depth_min_um:
            refusal = NakReason.DEPTH_OUT_OF_RANGE, config.depth_min_um
        elif depth > self.defects.depth_max_um(config.depth_max_um, config.depth_step_um):
            refusal = NakReason.DEPTH_OUT_OF_RANGE, config.depth_max_um
        elif (depth - config.depth_min_um) % config.depth_step_um:
            refusal = NakReason.OFF_STEP, config.depth_step_um
        elif speed < config.speed_min_sps:
            refusal = NakReason.SPEED_OUT_OF_RANGE, config.speed_min_sps
        elif speed > config.speed_max_sps:
            refusal = NakReason.SPEED_OUT_OF_RANGE, config.speed_max_sps
        elif (speed - config.speed_min_sps) % config.speed_step_sps:
            refusal = NakReason.OFF_STEP, config.speed_step_sps
        elif self._cartridge_limits_depth(depth):
            assert self.cartridge is not None
            refusal = NakReason.EXCEEDS_CARTRIDGE, self.cartridge.needle_length_um
        elif message.param_version <= self._version_floor:
            refusal = NakReason.PARAM_VERSION_MISMATCH, self._version_floor & 0xFFFF
        if refusal is not None:
            return self._reply_nak(seq, MessageType.SET_PARAMS, *refusal)
        applied = ParamSet(message.param_version, depth, speed)
        self._applied = applied
        self._version_floor = applied.version
        self.model.depth_target_um = depth
        if self._state is PenState.RUNNING:
            self.model.run(speed)
            self._move("SET_PARAMS", PenState.RUNNING)
        else:
            self._move("SET_PARAMS", PenState.READY)
        self._emit("params_applied", param_version=applied.version, depth_um=depth, speed_sps=speed)
        return self._reply_ack(seq, MessageType.SET_PARAMS)

    def _start(self, seq: int, message: Start) -> Message:
        applied = self._applied
        assert applied is not None
        if message.param_version != applied.version:
            return self._reply_nak(
                seq, MessageType.START, NakReason.PARAM_VERSION_MISMATCH, applied.version & 0xFFFF
            )
        if self._state is PenState.RUNNING:
            return self._reply_ack(seq, MessageType.START)
        cartridge_refusal = {
            CartridgeState.ABSENT: NakReason.NO_CARTRIDGE,
            CartridgeState.UNREADABLE: NakReason.NO_CARTRIDGE,
            CartridgeState.LOCKED_OUT: NakReason.CARTRIDGE_LOCKED_OUT,
            CartridgeState.EXPIRED: NakReason.CARTRIDGE_EXPIRED,
        }.get(self.cartridge_state)
        if cartridge_refusal is not None:
            return self._reply_nak(seq, MessageType.START, cartridge_refusal)
        if self._lease_deadline_ns <= self._now:
            return self._reply_nak(seq, MessageType.START, NakReason.NO_LEASE)
        cartridge = self.cartridge
        assert cartridge is not None
        self.cartridge = cartridge.replace(used=True)
        self.used_serials.add(cartridge.serial)
        self.cartridge_state = CartridgeState.IN_USE
        self.model.run(applied.speed_sps)
        self._stall_since = None
        self._move("START", PenState.RUNNING)
        self._wire_event(EventCode.MOTOR_STARTED, applied.version & 0xFFFF)
        self._emit(
            "motor_started",
            param_version=applied.version,
            depth_um=applied.depth_um,
            speed_sps=applied.speed_sps,
        )
        return self._reply_ack(seq, MessageType.START)

    def _stop(self, seq: int, message: Stop) -> Message:
        if self._state is PenState.RUNNING:
            if not self.defects.has("motor-runs-after-stop"):
                self.model.coast_down()
            self._move("STOP", PenState.READY)
            self._motor_stopped(message.reason, host_stop=True)
        return self._reply_ack(seq, MessageType.STOP)

    def _estop(self, seq: int, message: EStop) -> Message:
        was_running = self._state is PenState.RUNNING
        self.model.brake()
        self._discard_params()
        if FaultCode.ESTOP not in self._latched:
            self._latched.append(FaultCode.ESTOP)
            if self._state is not PenState.BOOTING:
                self._move("ESTOP", PenState.ESTOPPED)
            self._wire_event(EventCode.ESTOP_ENGAGED, int(message.reason))
            self._emit("estop_engaged", reason=message.reason.name.lower())
        if was_running:
            self._motor_stopped(StopReason.ESTOP)
        return self._reply_ack(seq, MessageType.ESTOP)

    def _clear_fault(self, seq: int, message: ClearFault) -> Message:
        active = self.active_fault
        if message.fault is not active:
            return self._reply_nak(seq, MessageType.CLEAR_FAULT, NakReason.WRONG_FAULT, int(active))
        if self._cause_present(active):
            return self._reply_nak(
                seq, MessageType.CLEAR_FAULT, NakReason.FAULT_CAUSE_PRESENT, int(active)
            )
        self._latched.pop()
        self._disagree_since = None
        self._stall_since = None
        if not self._latched:
            self._move("CLEAR_FAULT", PenState.IDLE)
        else:
            self._move("CLEAR_FAULT", PenState.FAULTED)
        self._wire_event(EventCode.FAULT_CLEARED, int(active))
        self._emit("fault_cleared", fault=active.name.lower())
        return self._reply_ack(seq, MessageType.CLEAR_FAULT)

    def _lease(self, seq: int, message: Lease) -> Message:
        config = self.config
        if message.lease_ms < config.lease_min_ms:
            return self._reply_nak(
                seq, MessageType.LEASE, NakReason.LEASE_OUT_OF_RANGE, config.lease_min_ms
            )
        if message.lease_ms > config.lease_max_ms:
            return self._reply_nak(
                seq, MessageType.LEASE, NakReason.LEASE_OUT_OF_RANGE, config.lease_max_ms
            )
        self._lease_deadline_ns = self._now + message.lease_ms * NS_PER_MS
        return self._reply_ack(seq, MessageType.LEASE)

    def _get_status(self, seq: int, message: Message) -> Message:
        ack = self._reply_ack(seq, MessageType.GET_STATUS)
        self._send(self._telemetry())
        self._send(self._cartridge_message())
        return ack

    _HANDLERS: ClassVar[dict[MessageType, Any]] = {
        MessageType.HELLO: _hello,
        MessageType.SET_PARAMS: _set_params,
        MessageType.START: _start,
        MessageType.STOP: _stop,
        MessageType.ESTOP: _estop,
        MessageType.CLEAR_FAULT: _clear_fault,
        MessageType.LEASE: _lease,
        MessageType.GET_STATUS: _get_status,
    }

    # ---- safety ----------------------------------------------------------------------------------

    def _raise_fault(
        self,
        fault: FaultCode,
        motor_reason: StopReason = StopReason.FAULT,
        trigger: str = "pen_fault",
    ) -> None:
        """Latch `fault`: motor stopped at once, set discarded, actuator retracted (S5, S6)."""
        if fault in self._latched:
            return
        was_running = self._state is PenState.RUNNING
        self.model.brake()
        self._discard_params()
        if self._latched and self._latched[-1] is FaultCode.ESTOP:
            self._latched.insert(len(self._latched) - 1, fault)
            self._move(trigger, PenState.ESTOPPED)
        else:
            self._latched.append(fault)
            self._move(trigger, PenState.FAULTED)
        self._wire_event(EventCode.FAULT_RAISED, int(fault))
        self._emit("fault_raised", fault=fault.name.lower())
        if was_running:
            self._motor_stopped(motor_reason, fault)

    def _cause_present(self, fault: FaultCode) -> bool:
        model, config = self.model, self.config
        if fault is FaultCode.OVER_CURRENT:
            return model.current_ma > config.over_current_ma
        if fault is FaultCode.MOTOR_STALL:
            return model.stall_load > 0
        if fault is FaultCode.OVER_TEMPERATURE:
            return model.temperature_c > config.over_temp_clear_c
        if fault is FaultCode.BATTERY_CRITICAL:
            return model.battery_pct <= config.battery_critical_pct
        if fault is FaultCode.DEPTH_SENSOR_DISAGREE:
            return abs(model.drift_um) > config.depth_tolerance_um
        return False

    def _cartridge_limits_depth(self, depth_um: int) -> bool:
        cartridge = self.cartridge
        return (
            cartridge is not None
            and self.cartridge_state is not CartridgeState.UNREADABLE
            and depth_um > cartridge.needle_length_um
        )

    def _read_cartridge(self) -> CartridgeState:
        """What the pen makes of the cartridge in its socket. After a power loss it cannot prove
        a used cartridge stayed seated, so a used one reads LOCKED_OUT then too (S8)."""
        cartridge = self.cartridge
        if cartridge is None:
            return CartridgeState.ABSENT
        if not cartridge.readable:
            return CartridgeState.UNREADABLE
        if cartridge.used or cartridge.serial in self.used_serials:
            return CartridgeState.LOCKED_OUT
        if cartridge.expiry_yyyymmdd < self.today_yyyymmdd:
            return CartridgeState.EXPIRED
        return CartridgeState.FRESH

    def _discard_params(self) -> None:
        self._applied = None
        self.model.depth_target_um = 0

    def _move(self, trigger: str, dest: PenState) -> None:
        check_transition(trigger, self._state, dest)
        self._state = dest

    # ---- frames and events out -----------------------------------------------------------------

    def _send(self, message: Message, flags: int = 0) -> None:
        self._out.append(encode(message, self._pen_seq, flags))
        self._pen_seq = seq_next(self._pen_seq)

    def _reply_ack(self, seq: int, kind: MessageType) -> Message:
        applied = self._applied or ParamSet(0, 0, 0)
        ack = Ack(
            ack_seq=seq,
            ack_type=kind,
            pen_state=self._state,
            param_version=applied.version,
            depth_um=applied.depth_um,
            speed_sps=applied.speed_sps,
            params_crc=params_crc(applied.version, applied.depth_um, applied.speed_sps),
            lease_remaining_ms=self.lease_remaining_ms,
        )
        ack = self.defects.ack(ack, self.config.depth_step_um)
        self._send(ack)
        return ack

    def _reply_nak(self, seq: int, kind: int, reason: NakReason, detail: int = 0) -> Message:
        nak = Nak(nak_seq=seq, nak_type=int(kind), reason=reason, detail=detail)
        self._send(nak)
        return nak

    def _wire_event(self, code: EventCode, detail: int = 0) -> None:
        """Send an EVENT; while a command runs, after its reply (ACK first, then what it did)."""
        event = Event(self._event_counter, code, detail)
        self._event_counter = (self._event_counter + 1) & 0xFFFF
        if self._deferred is not None:
            self._deferred.append(event)
        else:
            self._send(event)

    def _motor_stopped(
        self, reason: StopReason, fault: FaultCode | None = None, *, host_stop: bool = False
    ) -> None:
        """`host_stop`: the host's STOP, whatever reason it names, is `stop` in the events file,
        never a thing the pen did itself (an e-stop, a fault, the button)."""
        self._wire_event(EventCode.MOTOR_STOPPED, int(reason))
        data: dict[str, Any]
        if host_stop:
            data = {"reason": "stop", "host_reason": reason.label}
        else:
            data = {"reason": reason.label}
        if fault is not None and reason is StopReason.FAULT:
            data["fault"] = fault.name.lower()
        self._emit("motor_stopped", **data)

    def _emit(self, name: str, **data: Any) -> None:
        self._events.append(SimEvent(self._now, name, data))

    def _identify(self) -> Identify:
        config = self.config
        major, minor, patch = config.firmware_version
        return Identify(
            protocol_version=PROTOCOL_VERSION,
            firmware_major=major,
            firmware_minor=minor,
            firmware_patch=patch,
            serial_number=config.serial_number,
            model=config.model,
            depth_min_um=config.depth_min_um,
            depth_max_um=config.depth_max_um,
            depth_step_um=config.depth_step_um,
            speed_min_sps=config.speed_min_sps,
            speed_max_sps=config.speed_max_sps,
            speed_step_sps=config.speed_step_sps,
            lease_min_ms=config.lease_min_ms,
            lease_max_ms=config.lease_max_ms,
            telemetry_period_ms=config.telemetry_period_ms,
            cartridge_state=self.cartridge_state,
        )

    def _cartridge_message(self) -> Cartridge:
        cartridge = self.cartridge
        state = self.cartridge_state
        if cartridge is None or state in (CartridgeState.ABSENT, CartridgeState.UNREADABLE):
            return Cartridge(state, "", "", 0, 0, 0)
        return Cartridge(
            state,
            cartridge.serial,
            cartridge.lot,
            cartridge.needle_count,
            cartridge.needle_length_um,
            cartridge.expiry_yyyymmdd,
        )

    def _telemetry(self) -> Telemetry:
        model = self.model
        applied = self._applied
        counter = self._telemetry_counter
        self._telemetry_counter = (counter + 1) & 0xFFFFFFFF
        return Telemetry(
            counter,
            self._state,
            model.motor_state,
            min(0xFFFF, model.sample_depth_um()),
            round(model.speed_sps),
            min(0xFFFF, model.sample_current_ma()),
            max(-0x8000, min(0x7FFF, round(model.temperature_c * 100))),
            model.battery_mv,
            round(model.battery_pct),
            self.cartridge_state,
            self.active_fault,
            self.lease_remaining_ms,
            applied.version if applied else 0,
        )


_LEASE, _BOOT, _TICK, _TELEMETRY = range(4)
_NEVER = 1 << 62  # a deadline that never comes
