"""The pen's safety duties at their edges: what an operator or an auditor of the pen would check.

Each of these once passed over a wrong firmware (mutation testing, docs/testing.md): an e-stop that
let the needle coast, a STOP answered from the duplicate memory, a START that left the cartridge
unmarked, a deeper set kept for a shorter cartridge, thresholds off by one.
"""

from __future__ import annotations

import pytest

from firmware_bridge.protocol import (
    Ack,
    ClearFault,
    EStop,
    FaultCode,
    Lease,
    Nak,
    NakReason,
    PenState,
    SetParams,
    Start,
    Stop,
    StopReason,
)
from simulator.config import CartridgeSpec, PenConfig
from tests.simulator.testbench import Bench, make_bench

TICK_MS = PenConfig().tick_ms


def _one_tick_later(b: Bench) -> None:
    """The pen's physics as of one control tick from now (the pen steps it lazily, when woken)."""
    b.advance_ms(TICK_MS)
    b.fw.advance_to(b.clock.monotonic_ns())


def test_s4_estop_brakes_the_stroke_rate_is_zero_at_the_next_tick() -> None:
    b = make_bench().running()
    b.keep_running_ms(1000)
    assert b.fw.model.speed_sps == 120
    assert isinstance(b.host.request(EStop(StopReason.ESTOP)), Ack)
    _one_tick_later(b)
    assert b.fw.model.speed_sps == 0
    assert b.fw.model.current_ma == 0


def test_s4_a_plain_stop_coasts_down_over_several_ticks() -> None:
    """The contrast with the e-stop: a STOP lets the needle ramp down (docs/simulator.md)."""
    b = make_bench().running()
    b.keep_running_ms(1000)
    assert isinstance(b.host.request(Stop(StopReason.OPERATOR)), Ack)
    _one_tick_later(b)
    assert 0 < b.fw.model.speed_sps < 120


def test_s4_a_stop_repeating_an_earlier_stop_and_seq_is_executed_again() -> None:
    """A STOP identical to one already answered (same seq, same payload) still stops the motor."""
    b = make_bench().running()
    stop = Stop(StopReason.OPERATOR)
    assert isinstance(b.host.reply(b.host.send(stop, seq=500)), Ack)
    assert b.fw.state is PenState.READY
    assert isinstance(b.host.request(Start(1)), Ack)
    assert b.fw.state is PenState.RUNNING
    assert isinstance(b.host.reply(b.host.send(stop, seq=500)), Ack)
    assert b.fw.state is PenState.READY
    assert not b.fw.motor_running


def test_s4_an_estop_repeating_an_earlier_estop_and_seq_is_executed_again() -> None:
    b = make_bench().running()
    estop = EStop(StopReason.ESTOP)
    assert isinstance(b.host.reply(b.host.send(estop, seq=600)), Ack)
    assert isinstance(b.host.request(ClearFault(FaultCode.ESTOP)), Ack)
    assert isinstance(b.host.request(SetParams(2, 1000, 120)), Ack)
    assert isinstance(b.host.request(Lease(300)), Ack)
    assert isinstance(b.host.request(Start(2)), Ack)
    assert b.fw.state is PenState.RUNNING
    assert isinstance(b.host.reply(b.host.send(estop, seq=600)), Ack)
    assert b.fw.state is PenState.ESTOPPED
    assert b.fw.model.speed_sps == 0


def test_s8_a_cartridge_that_ran_in_one_pen_is_locked_out_in_another() -> None:
    """START sets the used flag on the cartridge's own chip, not only in the pen's memory."""
    first = make_bench().running()
    assert isinstance(first.host.request(Stop(StopReason.OPERATOR)), Ack)
    first.pen.pull_cartridge()
    ran = first.fw.last_removed
    assert ran is not None and ran.used
    second = make_bench(cartridge=ran).ready()
    assert isinstance(second.host.request(Lease(300)), Ack)
    reply = second.host.request(Start(1))
    assert isinstance(reply, Nak) and reply.reason is NakReason.CARTRIDGE_LOCKED_OUT


def test_s8_a_cartridge_that_ran_is_locked_out_in_the_same_pen_even_with_a_fresh_chip() -> None:
    b = make_bench().running()
    assert isinstance(b.host.request(Stop(StopReason.OPERATOR)), Ack)
    b.pen.pull_cartridge()
    ran = b.fw.last_removed
    b.pen.seat_cartridge(ran.replace(used=False))
    assert isinstance(b.host.request(SetParams(2, 1000, 120)), Ack)
    reply = b.host.request(Start(2))
    assert isinstance(reply, Nak) and reply.reason is NakReason.CARTRIDGE_LOCKED_OUT


def _ready_without_a_cartridge(depth_um: int) -> Bench:
    """Parameters set while the socket is empty (allowed: no needle to check them against)."""
    b = make_bench().identified()
    b.pen.pull_cartridge()
    assert isinstance(b.host.request(SetParams(1, depth_um, 120)), Ack)
    assert b.fw.state is PenState.READY
    return b


def test_s2_seating_a_shorter_cartridge_discards_a_deeper_applied_set() -> None:
    b = _ready_without_a_cartridge(depth_um=1500)
    b.pen.seat_cartridge(b.pen.fresh_cartridge().replace(needle_length_um=1000))
    assert b.fw.applied is None
    assert b.fw.state is PenState.IDLE
    assert isinstance(b.host.request(Lease(300)), Ack)
    reply = b.host.request(Start(1))
    assert isinstance(reply, Nak) and reply.reason is NakReason.NO_PARAMS
    assert not b.fw.motor_running


def test_s2_seating_a_cartridge_exactly_as_long_as_the_set_depth_keeps_the_set() -> None:
    b = _ready_without_a_cartridge(depth_um=1500)
    b.pen.seat_cartridge(b.pen.fresh_cartridge().replace(needle_length_um=1500))
    assert b.fw.applied is not None and b.fw.applied.depth_um == 1500
    assert b.fw.state is PenState.READY


def test_s2_a_cartridge_pulled_while_ready_takes_the_applied_set_with_it() -> None:
    b = make_bench().ready(depth_um=2000)
    b.pen.pull_cartridge()
    assert b.fw.applied is None
    assert b.fw.state is PenState.IDLE
    b.pen.seat_cartridge(b.pen.fresh_cartridge())
    assert isinstance(b.host.request(Lease(300)), Ack)
    reply = b.host.request(Start(1))
    assert isinstance(reply, Nak) and reply.reason is NakReason.NO_PARAMS
    assert not b.fw.motor_running


def test_s4_a_fault_raised_during_an_estop_stays_under_the_estop() -> None:
    """The e-stop is released first and by the operator; a later fault cannot take its place."""
    b = make_bench().running()
    assert isinstance(b.host.request(EStop(StopReason.ESTOP)), Ack)
    b.pen.inject("overheat", to_c=60.0)
    b.advance_ms(3 * TICK_MS)
    assert b.fw.latched_faults == (FaultCode.OVER_TEMPERATURE, FaultCode.ESTOP)
    assert b.fw.active_fault is FaultCode.ESTOP
    assert b.fw.state is PenState.ESTOPPED
    reply = b.host.request(ClearFault(FaultCode.OVER_TEMPERATURE))
    assert isinstance(reply, Nak) and reply.reason is NakReason.WRONG_FAULT


def test_s6_over_current_cannot_be_cleared_while_the_current_is_above_its_limit() -> None:
    """protocol.md: OVER_CURRENT clears once the motor current is back under its limit.

    The model zeroes the current whenever the motor is braked, so this reading is set by hand:
    the rule is the firmware's, whatever the physics can produce today.
    """
    b = make_bench().running()
    b.fw.model.set_stall(1.0)
    b.advance_ms(5 * TICK_MS)
    assert b.fw.active_fault is FaultCode.OVER_CURRENT
    b.fw.model.current_ma = b.fw.config.over_current_ma + 1
    reply = b.host.request(ClearFault(FaultCode.OVER_CURRENT))
    assert isinstance(reply, Nak) and reply.reason is NakReason.FAULT_CAUSE_PRESENT
    assert b.fw.state is PenState.FAULTED


def _steady_current_ma(config: PenConfig, speed_sps: int) -> int:
    return round(config.current_base_ma + config.current_per_sps_ma * speed_sps)


@pytest.mark.parametrize(("margin_ma", "trips"), [(0, False), (-1, True)])
def test_s6_over_current_trips_only_above_its_limit(margin_ma: int, trips: bool) -> None:
    """A motor drawing exactly `over_current_ma` runs on; one milliampere more trips."""
    config = PenConfig()
    limit = _steady_current_ma(config, 120) + margin_ma
    b = make_bench(config=config.replace(over_current_ma=limit)).running()
    b.keep_running_ms(1000)
    assert (b.fw.active_fault is FaultCode.OVER_CURRENT) is trips
    assert b.fw.motor_running is not trips


@pytest.mark.parametrize(("ambient_c", "trips"), [(41.0, False), (41.5, True)])
def test_s6_over_temperature_trips_only_above_its_limit(ambient_c: float, trips: bool) -> None:
    """An idle pen held at exactly `over_temp_c` (41 °C) is not faulted; half a degree more is.

    Nothing moves in an idle pen, so the simulator runs these ticks as one steady stretch
    (docs/simulator.md, "Clocks and time"): the edge holds for the stretch's forecast too."""
    b = make_bench(config=PenConfig(ambient_c=ambient_c, over_temp_c=41.0)).booted()
    b.pen.inject("overheat", to_c=ambient_c)
    b.advance_ms(5 * TICK_MS)
    assert (b.fw.active_fault is FaultCode.OVER_TEMPERATURE) is trips


@pytest.mark.parametrize(("celsius", "trips"), [(41.0, False), (41.5, True)])
def test_s6_over_temperature_trips_only_above_its_limit_while_the_needle_moves(
    celsius: float, trips: bool
) -> None:
    """The same edge while the depth actuator travels to a new depth: every tick is checked one
    by one (a moving needle is never a steady stretch), and exactly 41 °C still does not trip."""
    b = make_bench(config=PenConfig(ambient_c=41.0, over_temp_c=41.0)).identified()
    assert isinstance(b.host.request(SetParams(1, 2000, 120)), Ack)
    b.pen.inject("overheat", to_c=celsius)
    b.advance_ms(5 * TICK_MS)
    b.fw.advance_to(b.clock.monotonic_ns())
    assert (b.fw.active_fault is FaultCode.OVER_TEMPERATURE) is trips
    if not trips:
        assert 0 < b.fw.model.depth_setpoint_um < 2000  # still travelling: no steady stretch ran


@pytest.mark.parametrize(("start_pct", "trips"), [(5.0, True), (5.5, False)])
def test_s6_critical_battery_trips_at_its_level(start_pct: float, trips: bool) -> None:
    """At exactly `battery_critical_pct` the pen faults; just above it, it does not."""
    config = PenConfig(battery_critical_pct=5.0, battery_start_pct=start_pct, electronics_ma=0)
    b = make_bench(config=config).booted()
    b.advance_ms(5 * TICK_MS)
    assert (b.fw.active_fault is FaultCode.BATTERY_CRITICAL) is trips


def test_the_thresholds_under_test_are_the_shipped_ones() -> None:
    """The edges above are taken at the shipped defaults, so they test what ships."""
    config = PenConfig()
    assert (config.over_temp_c, config.battery_critical_pct) == (41.0, 5.0)
    assert CartridgeSpec().needle_length_um == 2500


def test_clearing_a_fault_is_in_the_pens_event_log_naming_the_fault() -> None:
    """The events file is the pen's side of the audit trail (docs/simulator.md): each latch and
    each release appear in it."""
    b = make_bench().running()
    assert isinstance(b.host.request(EStop(StopReason.ESTOP)), Ack)
    assert isinstance(b.host.request(ClearFault(FaultCode.ESTOP)), Ack)
    assert [e.data for e in b.named("estop_engaged")] == [{"reason": "estop"}]
    assert [e.data for e in b.named("fault_cleared")] == [{"fault": "estop"}]
