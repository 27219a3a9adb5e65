"""The firmware's checks across time: each fault window starts afresh after the condition ended
(even when the pen then sat still for a while, when no control tick had to run), every check
runs at every tick while the needle or motor is moving, a threshold crossed deep into a long
steady stretch trips at its exact tick, and a pen woken late does what a pen woken at every
millisecond does (the firmware's theory of operation: a late wake-up changes only latency).
"""

from __future__ import annotations

import math

import pytest

from firmware_bridge.clock import NS_PER_MS
from firmware_bridge.protocol import (
    Ack,
    FaultCode,
    Hello,
    Lease,
    Message,
    PenState,
    SetParams,
    Start,
    encode,
)
from simulator.config import DEFAULT_CARTRIDGE, PenConfig
from simulator.firmware import Firmware
from tests.simulator.testbench import TODAY, Bench, make_bench

CONFIG = PenConfig()
TICK_NS = CONFIG.tick_ms * NS_PER_MS
QUIET = PenConfig(depth_noise_um=0, current_noise_ma=0)


def _next_tick_ns(b: Bench) -> int:
    """The first control tick after now (ticks fall every tick_ms from power-on at 0)."""
    return (b.clock.monotonic_ns() // TICK_NS + 1) * TICK_NS


def _raised(b: Bench, fault: FaultCode) -> list[int]:
    return [e.t_ns for e in b.named("fault_raised") if e.data["fault"] == fault.name.lower()]


def _restart_into_over_current(b: Bench) -> tuple[list[int], int]:
    """A lease and START(1) on a READY pen whose motor will draw over-current at once: when
    the over-current latched, and the run's first tick."""
    assert isinstance(b.host.request(Lease(300)), Ack)
    first = _next_tick_ns(b)
    assert isinstance(b.host.request(Start(1)), Ack)
    b.keep_running_ms(200)
    return _raised(b, FaultCode.OVER_CURRENT), first


# ---- a window cut short is forgotten ------------------------------------------------------------


def test_s6_an_over_current_cut_short_by_the_button_gives_the_next_run_a_full_window() -> None:
    """A jam draws over-current for one tick, the practitioner presses the button; a second
    later the pen runs into the same jam: the over-current trips a full window after the
    current rose again, not at once."""
    b = make_bench().running()
    b.keep_running_ms(1000)
    b.pen.inject("stall", load=0.7)
    b.advance_ms(CONFIG.tick_ms)  # one tick above the limit
    b.pen.press_button()
    b.advance_ms(1000)
    assert b.fw.state is PenState.READY and not b.named("fault_raised")
    raised, first_over = _restart_into_over_current(b)
    assert raised == [first_over + CONFIG.over_current_window_ms * NS_PER_MS]


def test_s6_a_depth_excursion_shorter_than_its_window_is_forgotten_once_it_ends() -> None:
    """Out of tolerance for two ticks, then back; a second later out again: the fault comes a
    full disagreement window after the second excursion began."""
    b = make_bench().identified()
    b.advance_ms(1000)
    off = CONFIG.depth_tolerance_um + 10
    b.pen.inject("depth_drift", rate_um_per_s=0, offset_um=off)
    b.advance_ms(2 * CONFIG.tick_ms)
    b.pen.act(b.fw.end_depth_drift)
    b.advance_ms(1000)
    assert not b.named("fault_raised")
    first_out = _next_tick_ns(b)
    b.pen.inject("depth_drift", rate_um_per_s=0, offset_um=off)
    b.advance_ms(CONFIG.depth_disagree_window_ms + 100)
    assert _raised(b, FaultCode.DEPTH_SENSOR_DISAGREE) == [
        first_out + CONFIG.depth_disagree_window_ms * NS_PER_MS
    ]


def test_s6_a_needle_that_reached_a_depth_changed_under_it_gets_a_full_settle_window_next() -> None:
    """The needle travels from 0.25 mm towards 1.0 mm; as it passes 0.65 mm the host sets
    0.65 mm, so it has arrived. Later it is sent to 2.0 mm (under half a second of travel):
    that move has its own settle window, and no fault comes."""
    b = make_bench().ready(depth_um=250)
    b.advance_ms(1000)
    assert isinstance(b.host.request(SetParams(2, 1000, 120)), Ack)
    while b.fw.model.depth_setpoint_um < 650:
        b.advance_ms(CONFIG.tick_ms)
        b.pen.act(b.fw.advance_to)
    assert b.fw.model.depth_setpoint_um == 650
    assert isinstance(b.host.request(SetParams(3, 650, 120)), Ack)
    b.advance_ms(2000)
    assert isinstance(b.host.request(SetParams(4, 2000, 120)), Ack)
    b.advance_ms(2000)
    assert not b.named("fault_raised")
    assert b.fw.model.depth_setpoint_um == 2000 and b.fw.state is PenState.READY


# ---- every tick is checked while something moves ------------------------------------------------


def test_s6_a_needle_exactly_at_the_depth_tolerance_is_not_a_disagreement_while_it_travels() -> (
    None
):
    """Drifted exactly by the tolerance while the needle travels 1.5 mm to a new depth (every
    tick checked, no steady stretch): still within tolerance, no fault."""
    b = make_bench(config=QUIET).running()
    b.keep_running_ms(1000)
    b.pen.inject("depth_drift", rate_um_per_s=0, offset_um=CONFIG.depth_tolerance_um)
    assert isinstance(b.host.request(SetParams(2, 2500, 120)), Ack)
    b.keep_running_ms(600)
    assert b.fw.model.depth_setpoint_um == 2500
    assert not b.named("fault_raised") and b.fw.state is PenState.RUNNING


def test_s6_an_over_current_without_a_stall_cut_short_gives_the_next_run_a_full_window() -> None:
    """A pen whose over-current limit is below the draw of a light drag (the rotor still above
    the stall fraction, so only the over-current check counts): one tick over, the button,
    a second at rest, then a start into a jam: a full window after the current rose again."""
    config = PenConfig(over_current_ma=500)
    b = make_bench(config=config).ready(speed_sps=150)
    assert isinstance(b.host.request(Lease(300)), Ack)
    assert isinstance(b.host.request(Start(1)), Ack)
    b.keep_running_ms(1000)
    b.pen.inject("stall", load=0.1)  # 135 of 150 strokes/s: no stall; 534 mA: over 500
    b.advance_ms(config.tick_ms)
    b.pen.press_button()
    b.advance_ms(1000)
    assert b.fw.state is PenState.READY and not b.named("fault_raised")
    b.pen.inject("stall", load=0.5)  # over 500 mA from the first tick of the next run
    raised, first_over = _restart_into_over_current(b)
    assert raised == [first_over + config.over_current_window_ms * NS_PER_MS]


# ---- a threshold crossed deep into a steady stretch -----------------------------------------


@pytest.mark.parametrize("crossing_tick", range(499, 505))
@pytest.mark.parametrize("set_at_tick", range(5))
def test_s6_battery_critical_trips_at_the_exact_tick_after_ten_steady_seconds(
    set_at_tick: int, crossing_tick: int
) -> None:
    """An idle pen with a host (so telemetry every 50 ms), its charge set at one of the five
    ticks between two telemetry slots, reaches the critical level `crossing_tick` ticks later,
    about ten seconds on: the fault is raised at that tick, however far ahead the pen had
    already found the stretch quiet."""
    b = make_bench().identified()
    b.advance_ms(1000 + set_at_tick * CONFIG.tick_ms)
    drain_mah = CONFIG.electronics_ma * CONFIG.tick_ms / 1000 / 3600  # a tick, motor off
    critical_mah = CONFIG.battery_capacity_mah * CONFIG.battery_critical_pct / 100
    start_pct = (
        100 * (critical_mah + drain_mah * (crossing_tick - 0.5)) / CONFIG.battery_capacity_mah
    )
    first = _next_tick_ns(b)
    b.pen.act(lambda now: b.fw.set_battery(start_pct, now))
    start_mah = b.fw.model.battery_mah
    for k in (crossing_tick - 1, crossing_tick):  # the model's own arithmetic agrees
        assert (100 * (start_mah - drain_mah * k) / CONFIG.battery_capacity_mah <= 5.0) is (
            k == crossing_tick
        )
    b.advance_ms((crossing_tick + 20) * CONFIG.tick_ms)
    assert _raised(b, FaultCode.BATTERY_CRITICAL) == [first + (crossing_tick - 1) * TICK_NS]


def test_s6_a_handpiece_set_just_above_the_limit_trips_at_the_next_tick_though_cooling() -> None:
    """An idle pen's handpiece put 0.0006 °C above the over-temperature limit: it cools towards
    ambient by about 0.0004 °C a tick, so only the next tick still reads above the limit; that
    tick trips the fault."""
    b = make_bench().identified()
    b.advance_ms(1000)
    decay = math.exp(-CONFIG.tick_ms / 1000 / CONFIG.thermal_tau_s)
    above_ambient = (CONFIG.over_temp_c - CONFIG.ambient_c) / decay**1.5
    b.pen.act(lambda now: b.fw.set_temperature(CONFIG.ambient_c + above_ambient, now))
    first = _next_tick_ns(b)
    b.advance_ms(1000)
    assert _raised(b, FaultCode.OVER_TEMPERATURE) == [first]


@pytest.mark.parametrize(
    ("action", "params", "sensor", "physics", "fault"),
    [
        ("overheat", {"to_c": 48.0}, "temperature", ("overheat", {"to_c": 30.0}),
         FaultCode.OVER_TEMPERATURE),
        ("drain_battery", {"to_pct": 4.0}, "battery", ("drain_battery", {"to_pct": 80.0}),
         FaultCode.BATTERY_CRITICAL),
    ],
)  # fmt: skip
def test_s6_a_sensor_stuck_past_its_limit_trips_the_booted_pen_though_the_physics_recovered(
    action: str,
    params: dict[str, float],
    sensor: str,
    physics: tuple[str, dict[str, float]],
    fault: FaultCode,
) -> None:
    """The sensor froze past its limit; the handpiece then cooled (or the cell was charged),
    but the sensor still reports the frozen value: after a power cycle the pen, idle and
    steady, latches the fault on what its sensor reads."""
    b = make_bench().running()
    b.pen.inject(action, **params)
    b.advance_ms(100)
    b.pen.inject("stuck_sensor", sensor=sensor)
    b.pen.inject(physics[0], **physics[1])
    b.pen.reboot()
    b.advance_ms(CONFIG.boot_ms + 1000)
    assert b.fw.latched_faults == (fault,)


def _gauge_stuck_at(b: Bench, pct: float) -> None:
    def hold(now: int) -> None:
        b.fw.set_battery(pct, now)
        b.fw.set_sensor_stuck("battery", True, now)

    b.pen.act(hold)


def test_s6_a_gauge_stuck_at_exactly_the_critical_level_trips_at_the_next_tick() -> None:
    """On an idle, steady pen that has already warned of a low battery."""
    b = make_bench().identified()
    b.advance_ms(1000)
    b.pen.inject("drain_battery", to_pct=10.0)
    b.advance_ms(100)
    assert b.named("battery_low")
    _gauge_stuck_at(b, CONFIG.battery_critical_pct)
    first = _next_tick_ns(b)
    b.advance_ms(1000)
    assert _raised(b, FaultCode.BATTERY_CRITICAL) == [first]


def test_a_gauge_stuck_at_exactly_the_low_level_warns_at_the_next_tick() -> None:
    b = make_bench().identified()
    b.advance_ms(1000)
    _gauge_stuck_at(b, CONFIG.battery_low_pct)
    first = _next_tick_ns(b)
    b.advance_ms(1000)
    assert [e.t_ns for e in b.named("battery_low")] == [first]
    assert not b.named("fault_raised")


@pytest.mark.parametrize("crossing_tick", [1, 2, 3, 250, 499, 500, 501])
def test_a_weak_cell_browns_the_idle_pen_out_at_the_exact_tick_its_voltage_falls_too_low(
    crossing_tick: int,
) -> None:
    """A cell of 18.75 ohm sags 750 mV under the idle pen's 40 mA, so its terminal voltage
    falls below the 3,000 mV minimum as the charge passes 50 %: set `crossing_tick` ticks of
    drain above that, the pen browns out at that tick, not when it next checks."""
    b = make_bench().identified()
    b.advance_ms(1000)
    b.pen.act(lambda now: b.fw.set_internal_resistance(18_750, now))
    drain_mah = CONFIG.electronics_ma * CONFIG.tick_ms / 1000 / 3600  # a tick, motor off
    half_mah = CONFIG.battery_capacity_mah / 2
    start_pct = 100 * (half_mah + drain_mah * (crossing_tick - 0.5)) / CONFIG.battery_capacity_mah
    first = _next_tick_ns(b)
    b.pen.act(lambda now: b.fw.set_battery(start_pct, now))
    b.advance_ms((crossing_tick + 20) * CONFIG.tick_ms)
    assert [e.t_ns for e in b.named("brownout")] == [first + (crossing_tick - 1) * TICK_NS]


# ---- a late wake-up changes only latency ---------------------------------------------------


def _powered_pen() -> Firmware:
    return Firmware(CONFIG, cartridge=DEFAULT_CARTRIDGE, today_yyyymmdd=TODAY, seed=3)


def _session(lease_at_ms: list[int]) -> list[tuple[int, Message]]:
    """HELLO, a set and START at 300 ms, LEASEs of 300 ms at the given times, then silence."""
    frames: list[tuple[int, Message]] = [
        (300, Hello(1)),
        (301, SetParams(1, 1000, 120)),
        (302, Lease(300)),
        (303, Start(1)),
    ]
    return frames + [(ms, Lease(300)) for ms in lease_at_ms]


def _run(session: list[tuple[int, Message]], end_ms: int, every_ms: int | None) -> Firmware:
    """Feed `session` to a pen, waking it every `every_ms` between frames (None: only when a
    frame arrives, and once at `end_ms`)."""
    fw = _powered_pen()
    now_ms = 0
    for seq, (at_ms, message) in enumerate([*session, (end_ms, None)]):
        if every_ms is not None:
            while now_ms + every_ms < at_ms:
                now_ms += every_ms
                fw.advance_to(now_ms * NS_PER_MS)
        now_ms = at_ms
        if message is None:
            fw.advance_to(at_ms * NS_PER_MS)
        else:
            fw.receive(encode(message, seq), at_ms * NS_PER_MS)
    return fw


def _what_it_did(fw: Firmware) -> tuple[object, ...]:
    events = [(e.t_ns, e.event, sorted(e.data.items())) for e in fw.take_events()]
    model = fw.model
    return events, fw.take_output(), fw.state, model.battery_mah, model.temperature_c


@pytest.mark.parametrize(
    "last_lease_ms",
    [
        982,  # the lease lapses at 1282 ms, between two ticks, 18 ms before a telemetry slot
        1000,  # it lapses at 1300 ms, on a tick and a telemetry slot
    ],
)
def test_s5_a_pen_woken_late_lapses_its_lease_as_a_pen_woken_every_millisecond(
    last_lease_ms: int,
) -> None:
    """Same frames at the same times; one pen woken at every millisecond, the other only when a
    frame arrives and once 700 ms after the lease lapsed: the same frames out, the same events
    at the same times (the lapse at its exact deadline), the same heat and charge."""
    session = _session([*range(400, last_lease_ms, 100), last_lease_ms])
    end_ms = last_lease_ms + 1000
    on_time, late = _run(session, end_ms, every_ms=1), _run(session, end_ms, every_ms=None)
    did = _what_it_did(late)
    assert did == _what_it_did(on_time)
    events = did[0]
    assert isinstance(events, list)
    lapses = [t for t, name, _ in events if name == "lease_expired"]
    assert lapses == [(last_lease_ms + 300) * NS_PER_MS]
