"""A simulated pen: the firmware core on a clock, wired to a transport, with a scenario applied.

This is the object the pen link and the controller run, in-process or behind a pty or TCP server:

    clock = VirtualClock()
    pen = SimulatedPen(clock, scenario=load_scenario("flaky-link"), seed=7)
    port = open_host_port(pen)         # a pyserial port (simulator.transport.inprocess)
    ...; clock.advance(50 * NS_PER_MS)

Theory of operation: the firmware is sans-IO; this class feeds it the host's bytes (through the
host-to-pen `WirePipe`), wakes it at its next deadline through the clock, and sends what it
produces (through the pen-to-host `WirePipe`) to the connected `PenPort`. Events go to
`events` and to every listener; the scenario's faults fire on the clock or on events. One lock
serialises everything, so a real-time host thread and the clock's thread can share the pen.
"""

from __future__ import annotations

import datetime
import random
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any, Protocol

from firmware_bridge.clock import NS_PER_MS, Clock, RealClock, TimerHandle
from simulator.config import DEFAULT_CARTRIDGE, VIRTUAL_TODAY, CartridgeSpec, PenConfig
from simulator.events import COMMAND, SimEvent
from simulator.firmware import Firmware
from simulator.scenario import COMMAND_TRIGGERS, WIRE_ACTIONS, FaultSpec, Scenario, fault_spec
from simulator.wire import Direction, WireFault, WirePipe

_UNSET: Any = object()


class PenPort(Protocol):
    """The pen's end of a transport."""

    def send(self, data: bytes) -> None: ...

    def unplug(self) -> None: ...

    def replug(self) -> None: ...


Listener = Callable[[SimEvent], None]


class SimulatedPen:
    def __init__(
        self,
        clock: Clock,
        *,
        scenario: Scenario | None = None,
        config: PenConfig | None = None,
        cartridge: CartridgeSpec | None = _UNSET,
        seed: int | None = None,
        today_yyyymmdd: int | None = None,
        keep_events: bool = True,
    ) -> None:
        """`config` and `cartridge` override the scenario's; `seed` overrides its seed.

        `keep_events`: keep every event in `events` (for tests, which read it afterwards). A pen
        that serves for hours (`penctl sim`, `sim://` with no name) passes False and keeps none:
        listeners (the events file) see each event as it happens, so memory stays flat.

        The pen's calendar: `today_yyyymmdd`, else the config's, else the host's date on a real
        clock and a fixed date (VIRTUAL_TODAY) in virtual time, so virtual runs reproduce.
        """
        scenario = scenario or Scenario()
        self.scenario = scenario
        self.clock = clock
        self.lock = threading.RLock()
        self.seed = seed if seed is not None else (scenario.seed or 0)
        self.config = config or scenario.pen
        if cartridge is _UNSET:
            cartridge = scenario.cartridge
        today = today_yyyymmdd or self.config.today_yyyymmdd or _default_today(clock)
        self.started_ns = clock.monotonic_ns()
        self.firmware = Firmware(
            self.config,
            cartridge=cartridge,
            today_yyyymmdd=today,
            seed=self.seed,
            now_ns=self.started_ns,
        )
        self.events: list[SimEvent] = []
        self._keep_events = keep_events
        self._listeners: list[Listener] = []
        self._command_triggers = any(f.trigger.on in COMMAND_TRIGGERS for f in scenario.faults)
        self._want_command_events()
        self._port: PenPort | None = None
        self.plugged = True
        self._lay_wires()
        self._occurrences: Counter[str] = Counter()
        self._pending_events: list[SimEvent] = []
        self._fresh_serials = 1
        self._closed = False
        with self.lock:
            self._schedule_timed_faults()
            self._reschedule()

    def _lay_wires(self) -> None:
        """The link's two directions, each with its own faults, and the wake-up timer (none yet)."""
        clock = self.clock
        self._to_host = WirePipe(
            Direction.TO_HOST, clock, self._deliver_to_host, self._emit_wire, self._cut_link
        )
        self._to_pen = WirePipe(
            Direction.TO_PEN, clock, self._deliver_to_pen, self._emit_wire, self._cut_link
        )
        self._timer: TimerHandle | None = None
        self._timer_due: int | None = None

    def _schedule_timed_faults(self) -> None:
        """The scenario's faults with an `at_ms`, on the clock from power-on; the others fire on
        events (`_publish`)."""
        for fault in self.scenario.faults:
            if fault.trigger.at_ms is not None:
                when = self.started_ns + fault.trigger.at_ms * NS_PER_MS
                self.clock.call_at(when, self._fire_later(fault))

    # ---- wiring --------------------------------------------------------------------------------

    def connect(self, port: PenPort) -> None:
        """Attach the pen's end of a transport; frames go there from now on."""
        with self.lock:
            self._port = port

    def disconnect(self, port: PenPort | None = None) -> None:
        """Detach the transport (only if it is still `port`, when given)."""
        with self.lock:
            if port is None or self._port is port:
                self._port = None

    def add_listener(self, listener: Listener) -> None:
        """`listener(event)` for every event (including "command"), under the pen's lock."""
        self._listeners.append(listener)
        self._want_command_events()

    def _want_command_events(self) -> None:
        """The firmware makes a "command" event per host frame only if someone would see it."""
        self.firmware.command_events = (
            self._keep_events or bool(self._listeners) or self._command_triggers
        )

    def receive(self, data: bytes) -> None:
        """Bytes from the host's side of the transport."""
        with self.lock:
            if self._closed or not self.plugged:
                return
            self._to_pen.push(data)
            if self._pending_events or self.firmware.has_events:  # raised while it was sent
                self._pump()

    def close(self) -> None:
        """Stop: no more wake-ups, frames or events."""
        with self.lock:
            self._closed = True
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            self._to_host.clear()
            self._to_pen.clear()

    # ---- the hands on the pen (also what scenario actions call) --------------------------------

    def inject(self, action: str, **params: Any) -> None:
        """Apply one scenario action now, e.g. `inject("stall", load=1.0)` or
        `inject("drop", direction="to_host", frames=1)`; checked like a [[fault]] table
        (ScenarioError names the problem)."""
        spec = fault_spec(action, **params)
        with self.lock:
            if self._closed:
                return
            self.firmware.advance_to(self.clock.monotonic_ns())
            self._fire(spec)
            self._pump()

    def press_button(self) -> None:
        self._act(lambda now: self.firmware.press_button(now))

    def pull_cartridge(self) -> None:
        self._act(lambda now: self.firmware.pull_cartridge(now))

    def seat_cartridge(self, cartridge: CartridgeSpec | None = None) -> None:
        """Seat `cartridge`; by default the one pulled last (locked out if it ran: S8)."""
        chosen = cartridge or self.firmware.last_removed or DEFAULT_CARTRIDGE
        self._act(lambda now: self.firmware.seat_cartridge(chosen, now))

    def fresh_cartridge(self) -> CartridgeSpec:
        """A new, unused cartridge like the default one, with a serial not seen before."""
        self._fresh_serials += 1
        return DEFAULT_CARTRIDGE.replace(serial=f"CART-{self._fresh_serials:04d}")

    def reboot(self) -> None:
        with self.lock:
            self._to_host.clear()
            self._to_pen.clear()
        self._act(lambda now: self.firmware.reboot(now))

    def unplug(self) -> None:
        """Pull the USB plug: the port closes; the firmware runs on (its lease will lapse)."""
        with self.lock:
            self._set_plugged(False)
            self._pump()

    def replug(self) -> None:
        with self.lock:
            self._set_plugged(True)
            self._pump()

    # ---- the loop ------------------------------------------------------------------------------

    def _set_plugged(self, plugged: bool) -> None:
        if self.plugged is plugged or self._closed:
            return
        self.plugged = plugged
        self._to_host.clear()
        self._to_pen.clear()
        self._emit_wire("link_replugged" if plugged else "link_unplugged", {})
        if self._port is not None:
            if plugged:
                self._port.replug()
            else:
                self._port.unplug()

    def _cut_link(self, fault: WireFault) -> None:
        """A `cut` fault: the plug comes out in the middle of a frame (from the wire's timer on
        the clock's thread, so it takes the lock)."""
        with self.lock:
            if self._closed:
                return
            self._set_plugged(False)
            self._pump()
            if fault.replug_ns is not None:
                self.clock.call_later(fault.replug_ns, self.replug)

    def act(self, action: Callable[[int], None]) -> None:
        """Run `action(now_ns)` on the firmware under the pen's lock, then send what it made
        (for hands the scenario language has no action for, e.g. the control socket's clears)."""
        self._act(action)

    def _act(self, action: Callable[[int], None]) -> None:
        with self.lock:
            if self._closed:
                return
            action(self.clock.monotonic_ns())
            self._pump()

    def _on_timer(self) -> None:
        with self.lock:
            self._timer = None
            self._timer_due = None
            if self._closed:
                return
            self.firmware.advance_to(self.clock.monotonic_ns())
            self._pump()

    def _deliver_to_pen(self, data: bytes) -> None:
        """Bytes off the wire into the firmware: a frame a fault held back arrives from the
        wire's timer on the clock's thread, while the host's thread may be writing: one lock."""
        with self.lock:
            if self._closed:
                return
            self.firmware.receive(data, self.clock.monotonic_ns())
            self._pump()

    def _deliver_to_host(self, data: bytes) -> None:
        with self.lock:
            if self._port is not None and self.plugged:
                self._port.send(data)

    def _pump(self) -> None:
        """Publish events (which may fire faults, which make more), then send the frames."""
        firmware = self.firmware
        while self._pending_events or firmware.has_events:
            events = self._pending_events + firmware.take_events()
            self._pending_events = []
            for event in events:
                self._publish(event)
        frames = firmware.take_output()
        if frames and self.plugged:
            self._to_host.push(frames[0] if len(frames) == 1 else b"".join(frames))
        self._reschedule()

    def _publish(self, event: SimEvent) -> None:
        if self._keep_events:
            self.events.append(event)
        for listener in self._listeners:
            listener(event)
        key = event.data["type"] if event.event == COMMAND else event.event
        if event.event == COMMAND and event.data.get("result") == "duplicate":
            return
        self._occurrences[key] += 1
        count = self._occurrences[key]
        for fault in self.scenario.faults:
            trigger = fault.trigger
            if trigger.on == key and trigger.nth == count:
                if trigger.after_ms:
                    self.clock.call_later(trigger.after_ms * NS_PER_MS, self._fire_later(fault))
                else:
                    self._fire(fault)

    def _reschedule(self) -> None:
        if self._closed:
            return
        due = self.firmware.next_deadline_ns()
        if due == self._timer_due:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer_due = due
        self._timer = self.clock.call_at(due, self._on_timer)

    def _emit_wire(self, name: str, data: dict[str, Any]) -> None:
        self._pending_events.append(SimEvent(self.clock.monotonic_ns(), name, data))

    # ---- scenario faults -----------------------------------------------------------------------

    def _fire_later(self, fault: FaultSpec) -> Callable[[], None]:
        def fire() -> None:
            with self.lock:
                if self._closed:
                    return
                self.firmware.advance_to(self.clock.monotonic_ns())
                self._fire(fault)
                self._pump()

        return fire

    def _fire(self, fault: FaultSpec) -> None:
        """Apply one scenario fault now (under the lock; the caller pumps)."""
        now = self.clock.monotonic_ns()
        p = fault.params
        firmware = self.firmware
        self._pending_events.append(
            SimEvent(now, "fault_injected", {"fault": fault.index, "action": fault.action})
        )
        action = fault.action
        for_ns = p["for_ms"] * NS_PER_MS if p.get("for_ms") else None
        if action in WIRE_ACTIONS:
            self._start_wire_fault(fault, now, for_ns)
        elif action == "unplug":
            self._set_plugged(False)
            if for_ns is not None:
                self.clock.call_later(for_ns, self.replug)
        elif action == "reboot":
            self._to_host.clear()
            self._to_pen.clear()
            firmware.reboot(now)
        elif action == "button":
            firmware.press_button(now)
        elif action == "stall":
            firmware.set_stall(p["load"], now)
            if for_ns is not None:
                self.clock.call_later(for_ns, lambda: self._act(lambda t: firmware.set_stall(0, t)))
        elif action == "overheat":
            firmware.set_temperature(float(p["to_c"]), now)
        elif action in ("drain_battery", "charge_battery"):
            firmware.set_battery(float(p["to_pct"]), now)
        elif action == "pull_cartridge":
            firmware.pull_cartridge(now)
        elif action == "seat_cartridge":
            base = (
                self.fresh_cartridge()
                if p["fresh"]
                else firmware.last_removed or firmware.cartridge or DEFAULT_CARTRIDGE
            )
            changes = dict(p["changes"])
            if "expiry" in changes:
                changes["expiry_yyyymmdd"] = _as_yyyymmdd(changes.pop("expiry"))
            firmware.seat_cartridge(base.replace(**changes), now)
        elif action == "depth_drift":
            firmware.set_depth_drift(float(p["rate_um_per_s"]), float(p["offset_um"]), now)
            if for_ns is not None:
                self.clock.call_later(for_ns, lambda: self._act(firmware.end_depth_drift))
        else:
            self._fire_physical(action, p, now, for_ns)

    def _fire_physical(self, action: str, p: dict[str, Any], now: int, for_ns: int | None) -> None:
        """The second-pass hands: sensors, cells, clocks and contacts (docs/simulator.md)."""
        firmware = self.firmware
        undo: Callable[[int], None] | None = None
        if action == "weak_battery":
            normal = self.config.battery_internal_mohm
            firmware.set_internal_resistance(p["internal_mohm"], now)
            undo = lambda t: firmware.set_internal_resistance(normal, t)  # noqa: E731
        elif action == "stuck_sensor":
            sensor = p["sensor"]
            firmware.set_sensor_stuck(sensor, True, now)
            undo = lambda t: firmware.set_sensor_stuck(sensor, False, t)  # noqa: E731
        elif action == "depth_stuck":
            firmware.set_depth_stuck(True, now)
            undo = lambda t: firmware.set_depth_stuck(False, t)  # noqa: E731
        elif action == "clock_drift":
            firmware.set_clock_ppm(p["ppm"], now)
        elif action == "internal_fault":
            firmware.raise_internal(now)
        elif action == "half_seated":
            self._half_seat(now)
            undo = self._reseat_fully
        elif action == "intermittent_cartridge":
            self._bounce_contacts(now + p["for_ms"] * NS_PER_MS, p["every_ms"] * NS_PER_MS)
        if undo is not None and for_ns is not None:
            self.clock.call_later(for_ns, lambda: self._act(undo))

    def _half_seat(self, now: int) -> None:
        """The cartridge sits in the socket but its chip's contacts do not meet: UNREADABLE."""
        firmware = self.firmware
        cartridge = firmware.cartridge or firmware.last_removed or DEFAULT_CARTRIDGE
        firmware.seat_cartridge(cartridge.replace(readable=False), now)

    def _reseat_fully(self, now: int) -> None:
        firmware = self.firmware
        cartridge = firmware.cartridge or firmware.last_removed or DEFAULT_CARTRIDGE
        firmware.seat_cartridge(cartridge.replace(readable=True), now)

    def _bounce_contacts(self, until_ns: int, every_ns: int) -> None:
        """Out and back in every `every_ns` until `until_ns`, ending seated (a loose socket)."""

        def bounce() -> None:
            with self.lock:
                if self._closed:
                    return
                firmware = self.firmware
                now = self.clock.monotonic_ns()
                if firmware.cartridge is not None:
                    firmware.pull_cartridge(now)
                else:
                    firmware.seat_cartridge(firmware.last_removed or DEFAULT_CARTRIDGE, now)
                self._pump()
                if now + every_ns <= until_ns or firmware.cartridge is None:
                    self.clock.call_later(every_ns, bounce)

        bounce()

    def _start_wire_fault(self, fault: FaultSpec, now: int, for_ns: int | None) -> None:
        p = fault.params
        direction = p.get("direction", "both")
        directions = frozenset(
            {Direction.TO_PEN, Direction.TO_HOST} if direction == "both" else {Direction(direction)}
        )
        frames, until, replug_ns = p.get("frames"), None, None
        if fault.action == "cut":  # one frame; for_ms is how long the plug stays out
            frames, replug_ns = 1, for_ns
        elif for_ns is not None:
            until = now + for_ns
        wire_fault = WireFault(
            action=fault.action,
            directions=directions,
            rng=random.Random(f"penctl-sim-fault:{self.seed}:{fault.index}"),
            index=fault.index,
            rate=float(p.get("rate", 1.0)),
            until_ns=until,
            frames_left=frames,
            types=frozenset(p["types"]) if p.get("types") else None,
            delay_ns=p.get("delay_ms", 0) * NS_PER_MS,
            parts=p.get("parts", 2),
            gap_ns=p.get("gap_ms", 0) * NS_PER_MS,
            baud=p.get("baud", 0),
            after_bytes=p.get("after_bytes", 0),
            replug_ns=replug_ns,
        )
        if fault.action == "silent":
            self._pending_events.append(
                SimEvent(now, "link_silent", {"direction": direction, "for_ms": p.get("for_ms")})
            )
        self._to_pen.add(wire_fault)
        self._to_host.add(wire_fault)


def _default_today(clock: Clock) -> int:
    if isinstance(clock, RealClock):
        today = datetime.date.today()
        return today.year * 10000 + today.month * 100 + today.day
    return VIRTUAL_TODAY


def _as_yyyymmdd(value: Any) -> int:
    if isinstance(value, int):
        return value
    return int(value.year) * 10000 + int(value.month) * 100 + int(value.day)
