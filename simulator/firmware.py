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
from dataclasses import dataclass, field
from typing import Any, ClassVar

from firmware_bridge.clock import NS_PER_MS
from firmware_bridge.protocol import (
    HOST_COMMANDS,
    PROTOCOL_VERSION,
    Cartridge,
    CartridgeState,
    ClearFault,
    DecodeError,
    ErrorKind,
    EStop,
    EventCode,
    FaultCode,
    Frame,
    Hello,
    Identify,
    Lease,
    Message,
    MessageType,
    NakReason,
    PenState,
    SetParams,
    Start,
    Stop,
    StopReason,
    encode,
    params_crc,
    seq_next,
)
from simulator.config import CartridgeSpec, PenConfig
from simulator.defects import Defects
from simulator.events import COMMAND, SimEvent
from simulator.frames import ACK, EVENT, NAK, TELEMETRY, FramePacker, Outgoing
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
    # What every ACK echoes of the set (S3): version, depth, speed, params_crc; computed once,
    # as the pen acknowledges ten LEASEs a second.
    echo: tuple[int, int, int, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        crc = params_crc(self.version, self.depth_um, self.speed_sps)
        object.__setattr__(self, "echo", (self.version, self.depth_um, self.speed_sps, crc))


_NO_SET_ECHO = (0, 0, 0, params_crc(0, 0, 0))


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
        self._ms_ns = NS_PER_MS  # one ms of the pen's own clock, in the host's ns (set_clock_ppm)
        self._tick_ns = config.tick_ms * NS_PER_MS
        self._telemetry_ns = config.telemetry_period_ms * NS_PER_MS
        self._now = now_ns
        self._next_tick_ns = now_ns + self._tick_ns
        self._wake_origin_ns = now_ns
        self._quiet_key: tuple[Any, ...] | None = None
        self._quiet_until_ns = 0
        self._out: list[bytes] = []
        self._deferred: list[Outgoing] | None = None
        self._events: list[SimEvent] = []
        # A "command" event per host frame, for scenario triggers and listeners; the owner turns
        # it off when nobody would see it (a long-serving pen: ten LEASEs a second).
        self.command_events = True
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
            # _next_due, inlined: this loop runs for every frame the pen sends.
            due, kind = self._next_tick_ns, _TICK
            if self._streaming and self._next_telemetry_ns < due:
                due, kind = self._next_telemetry_ns, _TELEMETRY
            state = self._state
            if state is PenState.RUNNING:
                if self._lease_deadline_ns <= due:
                    due, kind = self._lease_deadline_ns, _LEASE
            elif state is PenState.BOOTING and self._boot_done_ns <= due:
                due, kind = self._boot_done_ns, _BOOT
            if due > now_ns:
                break
            if due > self._now:
                self._now = due
            if kind == _LEASE:
                self._lease_lapse()
            elif kind == _BOOT:
                self._boot_complete()
            elif kind == _TICK:
                skip = self._steady_ticks(now_ns)
                if skip:
                    self.model.advance_steady(skip)
                    self._next_tick_ns += (skip - 1) * self._tick_ns
                    self._now = self._next_tick_ns
                    self._next_tick_ns += self._tick_ns
                else:
                    self._next_tick_ns += self._tick_ns
                    self._tick()
            else:
                self._next_telemetry_ns += self._telemetry_ns
                self._send_values(TELEMETRY, self._telemetry())
        if now_ns > self._now:
            self._now = now_ns

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

    @property
    def has_events(self) -> bool:
        return bool(self._events)

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
        left_ns = self._lease_deadline_ns - self._now
        return 0 if left_ns <= 0 else min(0xFFFF, left_ns // self._ms_ns)

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
        self._reboot_now()

    def _reboot_now(self) -> None:
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

    def set_internal_resistance(self, mohm: int, now_ns: int) -> None:
        """An aged or cold cell: its voltage sags further under load (and may brown out)."""
        self.advance_to(now_ns)
        self.model.internal_mohm = mohm

    def set_depth_stuck(self, stuck: bool, now_ns: int) -> None:
        """The depth actuator stops travelling (True) or moves again (False)."""
        self.advance_to(now_ns)
        self.model.depth_stuck = stuck

    def set_sensor_stuck(self, sensor: str, stuck: bool, now_ns: int) -> None:
        """`sensor` ("temperature" or "battery") keeps reporting its present reading (True)."""
        self.advance_to(now_ns)
        model = self.model
        if sensor == "temperature":
            model.temperature_stuck_c = model.temperature_c if stuck else None
        else:
            model.battery_stuck = (model.battery_mv, model.battery_pct) if stuck else None

    def set_clock_ppm(self, ppm: int, now_ns: int) -> None:
        """The pen's crystal runs `ppm` parts per million fast (+) or slow (-) against the
        host's: its lease, telemetry period and control tick, counted in its own ms, scale."""
        self.advance_to(now_ns)
        self._ms_ns = NS_PER_MS * 1_000_000 // (1_000_000 + ppm)
        self._tick_ns = self.config.tick_ms * self._ms_ns
        self._telemetry_ns = self.config.telemetry_period_ms * self._ms_ns

    def raise_internal(self, now_ns: int) -> None:
        """A firmware self-check failed: INTERNAL latches; only a power cycle clears it."""
        self.advance_to(now_ns)
        if self._state is not PenState.BOOTING:
            self._raise_fault(FaultCode.INTERNAL)

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
        self._dedup: OrderedDict[int, tuple[Message, Outgoing]] = OrderedDict()
        self._decoder = self.defects.decoder()
        self._streaming = False
        self._next_telemetry_ns = 0
        self._boot_done_ns = self._now + self.config.boot_ms * self._ms_ns
        self._disagree_since: int | None = None
        self._stall_since: int | None = None
        self._over_current_since: int | None = None
        self._settle_since: int | None = None
        self._battery_low_warned = False

    def _boot_complete(self) -> None:
        estopped = FaultCode.ESTOP in self._latched
        self._move("boot_complete", PenState.ESTOPPED if estopped else PenState.IDLE)
        self._wire_event(EventCode.BOOT)
        self._emit("boot")

    def _tick(self) -> None:
        model = self.model
        model.step()
        config = self.config
        if model.terminal_mv() < config.brownout_mv:
            self._brownout()
            return
        if self._state is PenState.BOOTING:
            return
        now = self._now
        self._over_current_since = self._persisting(
            model.current_ma > config.over_current_ma,
            self._over_current_since,
            config.over_current_window_ms,
            FaultCode.OVER_CURRENT,
        )
        self._settle_since = self._persisting(
            not model.depth_settled,
            self._settle_since,
            config.depth_settle_ms,
            FaultCode.DEPTH_SENSOR_DISAGREE,
        )
        if (
            self._state is PenState.RUNNING
            and model.speed_sps < config.stall_speed_fraction * model.speed_target_sps
            and not model.accelerating
        ):
            if self._stall_since is None:
                self._stall_since = now
            elif now - self._stall_since >= config.stall_window_ms * self._ms_ns:
                self._raise_fault(FaultCode.MOTOR_STALL)
        else:
            self._stall_since = None
        if model.temperature_reading_c > config.over_temp_c:
            self._raise_fault(FaultCode.OVER_TEMPERATURE)
        self._check_battery()
        self._disagree_since = self._persisting(
            abs(model.depth_error_um) > config.depth_tolerance_um,
            self._disagree_since,
            config.depth_disagree_window_ms,
            FaultCode.DEPTH_SENSOR_DISAGREE,
        )

    def _persisting(
        self, condition: bool, since: int | None, window_ms: int, fault: FaultCode
    ) -> int | None:
        """A condition that must hold for `window_ms` (of the pen's clock) before `fault`
        latches; returns when it began (None: it does not hold)."""
        if not condition:
            return None
        if since is None:
            return self._now
        if self._now - since >= window_ms * self._ms_ns:
            self._raise_fault(fault)
        return since

    def _check_battery(self) -> None:
        config = self.config
        pct = self.model.battery_pct_reading
        if pct <= config.battery_low_pct and not self._battery_low_warned:
            self._battery_low_warned = True
            self._emit("battery_low", battery_pct=round(pct, 1))
        elif pct > config.battery_low_pct + _BATTERY_LOW_REARM_PCT:
            self._battery_low_warned = False
        if pct <= config.battery_critical_pct:
            self._raise_fault(FaultCode.BATTERY_CRITICAL)

    def _brownout(self) -> None:
        """The terminal voltage collapsed below the electronics' minimum: they reset, and stay
        in reset (booting) until the voltage recovers."""
        if self._state is PenState.BOOTING:
            self._boot_done_ns = self._now + self.config.boot_ms * self._ms_ns
            return
        self._emit("brownout", battery_mv=round(self.model.terminal_mv()))
        self._reboot_now()

    def _steady_ticks(self, now_ns: int) -> int:
        """How many ticks, of those due up to `now_ns` before the next other deadline, can run
        at once in closed form: while the model is steady, no check is counting towards a fault,
        and heat and charge cross no limit by the last of them (they move monotonically), every
        check would find what it found at the tick before, so skipping them changes nothing.

        A verdict holds while nothing but time changes, so a safe stretch found once (up to
        QUIET_HORIZON_TICKS ahead) is remembered with the state it was found in (`_quiet_key`)."""
        limit = now_ns
        if self._streaming:
            limit = min(limit, self._next_telemetry_ns)  # a tick runs before a sample due with it
        if self._state is PenState.RUNNING:
            limit = min(limit, self._lease_deadline_ns - 1)
        if limit < self._next_tick_ns:
            return 0
        skip = (limit - self._next_tick_ns) // self._tick_ns + 1
        key = self._quiet_signature()
        last_ns = self._next_tick_ns + (skip - 1) * self._tick_ns
        if key == self._quiet_key and last_ns <= self._quiet_until_ns:
            return skip
        if not self._quiet_now():
            return 0
        horizon = max(skip, QUIET_HORIZON_TICKS)
        if self._quiet_for(horizon):
            self._quiet_key = key
            self._quiet_until_ns = self._next_tick_ns + (horizon - 1) * self._tick_ns
            return skip
        return skip if self._quiet_for(skip) else 0

    def _quiet_signature(self) -> tuple[Any, ...]:
        """Everything but time that a steady stretch's verdict depends on, including the windows
        counting towards a fault: a condition that ended between two ticks (a drift's end, say)
        can bring the model back to a state found quiet before, and its window must still be
        closed by a tick before ticks are skipped."""
        m = self.model
        return (
            self._state,
            self._over_current_since,
            self._stall_since,
            self._disagree_since,
            self._settle_since,
            m.motor_on,
            m.speed_target_sps,
            m.speed_sps,
            m.stall_load,
            m.current_ma,
            m.depth_target_um,
            m.depth_setpoint_um,
            m.depth_stuck,
            m.drift_rate_um_per_s,
            m.drift_um,
            m.internal_mohm,
            m.temperature_stuck_c,
            m.battery_stuck,
            m.anchor,
            self._battery_low_warned,
            self._ms_ns,
        )

    def _quiet_now(self) -> bool:
        """The model is steady and no check is counting towards a fault."""
        model, config = self.model, self.config
        return not (
            self._state is PenState.BOOTING
            or not model.steady
            or model.current_ma > config.over_current_ma
            or not model.depth_settled
            or abs(model.depth_error_um) > config.depth_tolerance_um
            or (
                self._state is PenState.RUNNING
                and model.speed_sps < config.stall_speed_fraction * model.speed_target_sps
            )
            or self._over_current_since is not None
            or self._stall_since is not None
            or self._disagree_since is not None
            or self._settle_since is not None
            or (
                self._battery_low_warned
                and model.battery_pct_reading > config.battery_low_pct + _BATTERY_LOW_REARM_PCT
            )  # a tick re-arms the warning
        )

    def _quiet_for(self, ticks: int) -> bool:
        """Heat and charge cross no limit within `ticks` more steady ticks: each moves one way
        (towards its steady value), so checking the first and the last tick covers them all."""
        return self._quiet_after(1) and self._quiet_after(ticks)

    def _quiet_after(self, ticks: int) -> bool:
        """What the sensors would report then: the forecast physics, or a stuck sensor's
        reading (which a power cycle does not free: it may be past a limit already)."""
        model, config = self.model, self.config
        temperature, charge = model.after_steady(ticks)
        stuck_c, stuck_gauge = model.temperature_stuck_c, model.battery_stuck
        reading_c = temperature if stuck_c is None else stuck_c
        if reading_c > config.over_temp_c:
            return False
        pct = 100 * charge / config.battery_capacity_mah if stuck_gauge is None else stuck_gauge[1]
        if pct <= config.battery_critical_pct or (
            pct <= config.battery_low_pct and not self._battery_low_warned
        ):
            return False
        return model.terminal_mv(charge) >= config.brownout_mv

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
        self._reply_nak(error.seq, error.msg_type, reason, detail)

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
            self._send_values(*remembered[1])
            if self.command_events:
                self._emit(COMMAND, type=kind.name, seq=frame.seq, result="duplicate")
            return
        verdict = gate(kind, self._state, self._identified)
        if verdict is RUN:
            self._deferred = []
            try:
                reply = self._HANDLERS[kind](self, frame.seq, message)
            finally:
                deferred, self._deferred = self._deferred, None
            for packer, values in deferred:
                self._send_values(packer, values)
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
        if self.command_events:
            result: dict[str, Any] = {"result": "ack" if reply[0] is ACK else "nak"}
            if reply[0] is NAK:
                result["reason"] = NakReason(reply[1][2]).name
            self._emit(COMMAND, type=kind.name, seq=frame.seq, **result)

    # ---- command handlers: each returns the ACK or NAK it sent ---------------------------------

    def _hello(self, seq: int, message: Hello) -> Outgoing:
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

    def _set_params(self, seq: int, message: SetParams) -> Outgoing:
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

    def _start(self, seq: int, message: Start) -> Outgoing:
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

    def _stop(self, seq: int, message: Stop) -> Outgoing:
        if self._state is PenState.RUNNING:
            if not self.defects.has("motor-runs-after-stop"):
                self.model.coast_down()
            self._move("STOP", PenState.READY)
            self._motor_stopped(message.reason, host_stop=True)
        return self._reply_ack(seq, MessageType.STOP)

    def _estop(self, seq: int, message: EStop) -> Outgoing:
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

    def _clear_fault(self, seq: int, message: ClearFault) -> Outgoing:
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

    def _lease(self, seq: int, message: Lease) -> Outgoing:
        config = self.config
        if message.lease_ms < config.lease_min_ms:
            return self._reply_nak(
                seq, MessageType.LEASE, NakReason.LEASE_OUT_OF_RANGE, config.lease_min_ms
            )
        if message.lease_ms > config.lease_max_ms:
            return self._reply_nak(
                seq, MessageType.LEASE, NakReason.LEASE_OUT_OF_RANGE, config.lease_max_ms
            )
        self._lease_deadline_ns = self._now + message.lease_ms * self._ms_ns
        return self._reply_ack(seq, MessageType.LEASE)

    def _get_status(self, seq: int, message: Message) -> Outgoing:
        ack = self._reply_ack(seq, MessageType.GET_STATUS)
        self._send_values(TELEMETRY, self._telemetry())
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
            return model.temperature_reading_c > config.over_temp_clear_c
        if fault is FaultCode.BATTERY_CRITICAL:
            return model.battery_pct_reading <= config.battery_critical_pct
        if fault is FaultCode.DEPTH_SENSOR_DISAGREE:
            return abs(model.drift_um) > config.depth_tolerance_um or not model.depth_settled
        return fault is FaultCode.INTERNAL  # a failed self-check: only a power cycle clears it

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
        """A message with text fields (IDENTIFY, CARTRIDGE), through the codec."""
        self._out.append(encode(message, self._pen_seq, flags))
        self._pen_seq = seq_next(self._pen_seq)

    def _send_values(self, packer: FramePacker, values: tuple[int, ...]) -> None:
        """A frame packed straight from the pen's values (simulator/frames.py)."""
        self._out.append(packer.pack(self._pen_seq, values))
        self._pen_seq = seq_next(self._pen_seq)

    def _reply_ack(self, seq: int, kind: MessageType) -> Outgoing:
        applied = self._applied
        echo = _NO_SET_ECHO if applied is None else applied.echo
        values = (seq, kind, self._state, *echo, self.lease_remaining_ms)
        reply = (ACK, self.defects.ack_values(values, self.config.depth_step_um))
        self._send_values(*reply)
        return reply

    def _reply_nak(self, seq: int, kind: int, reason: NakReason, detail: int = 0) -> Outgoing:
        reply = (NAK, (seq, kind, reason, detail))
        self._send_values(*reply)
        return reply

    def _wire_event(self, code: EventCode, detail: int = 0) -> None:
        """Send an EVENT; while a command runs, after its reply (ACK first, then what it did)."""
        event = (EVENT, (self._event_counter, code, detail))
        self._event_counter = (self._event_counter + 1) & 0xFFFF
        if self._deferred is not None:
            self._deferred.append(event)
        else:
            self._send_values(*event)

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

    def _telemetry(self) -> tuple[int, ...]:
        """TELEMETRY's wire values, in field order (packed by frames.TELEMETRY)."""
        model = self.model
        applied = self._applied
        counter = self._telemetry_counter
        self._telemetry_counter = (counter + 1) & 0xFFFFFFFF
        return (
            counter,
            self._state,
            *model.readings(),
            self.cartridge_state,
            self.active_fault,
            self.lease_remaining_ms,
            applied.version if applied else 0,
        )


_LEASE, _BOOT, _TICK, _TELEMETRY = range(4)
QUIET_HORIZON_TICKS = 500  # how far ahead (10 s at 20 ms) a steady stretch is checked at once
_BATTERY_LOW_REARM_PCT = 2.0  # the warning re-arms once charged this far above its level
_NEVER = 1 << 62  # a deadline that never comes
