"""The simulated firmware at its edges, as a host or the events file sees them: limits accepted
exactly at their value, what each event says (the events file and the pen's EVENT frames), the
order latches clear in, and what a power cycle keeps. Written for the first full mutation run of
simulator/firmware.py (issue 14): each test is about what a user checks.
"""

from __future__ import annotations

from firmware_bridge.clock import NS_PER_MS
from firmware_bridge.protocol import (
    Ack,
    CartridgeState,
    ClearFault,
    EStop,
    Event,
    EventCode,
    FaultCode,
    Hello,
    Lease,
    Nak,
    NakReason,
    PenState,
    SetParams,
    StopReason,
)
from simulator.config import DEFAULT_CARTRIDGE, PenConfig
from tests.simulator.testbench import Bench, make_bench

QUIET = PenConfig(depth_noise_um=0, current_noise_ma=0)  # readings equal to the physics


def _wire_events(b: Bench) -> list[tuple[EventCode, int]]:
    b.host.poll()
    return [
        (f.message.event, f.message.detail) for f in b.host.frames if isinstance(f.message, Event)
    ]


def _event_data(b: Bench, name: str) -> list[dict[str, object]]:
    return [e.data for e in b.named(name)]


# ---- limits accepted at their value ----------------------------------------------------------


def test_s2_depth_and_speed_exactly_at_their_limits_are_accepted() -> None:
    b = make_bench().identified()
    config = b.pen.config
    assert isinstance(b.host.request(SetParams(1, config.depth_min_um, config.speed_min_sps)), Ack)
    assert isinstance(b.host.request(SetParams(2, config.depth_max_um, config.speed_max_sps)), Ack)
    nak = b.host.request(SetParams(3, config.depth_max_um + config.depth_step_um, 100))
    assert (nak.reason, nak.detail) == (NakReason.DEPTH_OUT_OF_RANGE, config.depth_max_um)


def test_s2_the_depth_and_speed_grids_start_at_their_minimum() -> None:
    """The grid is minimum + k × step, also when the minimum is not a multiple of the step."""
    config = PenConfig(depth_min_um=230, depth_step_um=100, speed_min_sps=65, speed_step_sps=20)
    b = make_bench(config=config).identified()
    assert isinstance(b.host.request(SetParams(1, 330, 85)), Ack)
    nak = b.host.request(SetParams(2, 300, 85))
    assert (nak.reason, nak.detail) == (NakReason.OFF_STEP, 100)
    nak = b.host.request(SetParams(3, 330, 80))
    assert (nak.reason, nak.detail) == (NakReason.OFF_STEP, 20)


def test_a_pen_with_the_clamp_defect_accepts_one_step_beyond_its_maximum() -> None:
    """The defect the conformance kit must catch works as documented (docs/simulator.md)."""
    config = PenConfig(defects=frozenset({"clamp-off-by-one"}))
    long_needle = DEFAULT_CARTRIDGE.replace(needle_length_um=3000)
    b = make_bench(config=config, cartridge=long_needle).identified()
    too_deep = config.depth_max_um + config.depth_step_um
    assert isinstance(b.host.request(SetParams(1, too_deep, 100)), Ack)


def test_s5_a_lease_of_exactly_the_minimum_is_granted() -> None:
    b = make_bench().identified()
    assert isinstance(b.host.request(Lease(b.pen.config.lease_min_ms)), Ack)
    nak = b.host.request(Lease(b.pen.config.lease_min_ms - 1))
    assert (nak.reason, nak.detail) == (NakReason.LEASE_OUT_OF_RANGE, b.pen.config.lease_min_ms)


def test_s5_a_pen_without_its_lease_watchdog_runs_on_past_the_lease() -> None:
    b = make_bench(config=PenConfig(defects=frozenset({"no-lease-watchdog"}))).running()
    b.advance_ms(2000)
    assert b.fw.state is PenState.RUNNING and not b.named("lease_expired")


# ---- what the events say ------------------------------------------------------------------------


def test_the_events_name_the_set_applied_and_the_set_started() -> None:
    b = make_bench().running()
    assert _event_data(b, "params_applied") == [
        {"param_version": 1, "depth_um": 1000, "speed_sps": 120}
    ]
    assert _event_data(b, "motor_started") == [
        {"param_version": 1, "depth_um": 1000, "speed_sps": 120}
    ]


def test_the_button_is_reported_by_event_and_ignored_on_a_still_pen() -> None:
    b = make_bench().running()
    b.pen.press_button()
    assert len(b.named("button_stop")) == 1
    assert (EventCode.BUTTON_STOP, 0) in _wire_events(b)
    assert (EventCode.MOTOR_STOPPED, StopReason.BUTTON) in _wire_events(b)
    b.advance_ms(100)
    b.pen.press_button()  # the motor is still: nothing to stop, nothing to report
    assert len(b.named("button_stop")) == 1


def test_the_button_brakes_a_needle_still_coasting_slowly() -> None:
    b = make_bench().ready()
    b.fw.model.speed_sps = 0.5  # the last half stroke a second of a coast-down
    b.pen.press_button()
    assert b.fw.model.speed_sps == 0 and len(b.named("button_stop")) == 1


def test_a_cartridge_swap_is_reported_with_serials_and_the_new_cartridges_state() -> None:
    b = make_bench().identified()
    fresh = DEFAULT_CARTRIDGE.replace(serial="CART-0777")
    b.pen.seat_cartridge(fresh)  # over the seated one: it comes out first
    assert _event_data(b, "cartridge_removed") == [{"serial": DEFAULT_CARTRIDGE.serial}]
    assert _event_data(b, "cartridge_inserted")[-1] == {"serial": "CART-0777", "state": "fresh"}
    assert (EventCode.CARTRIDGE_INSERTED, CartridgeState.FRESH) in _wire_events(b)


def test_s8_a_used_cartridge_pushed_back_is_reported_reattached_by_serial() -> None:
    b = make_bench().running()
    b.pen.pull_cartridge()
    b.pen.seat_cartridge()
    assert _event_data(b, "cartridge_reattached") == [{"serial": DEFAULT_CARTRIDGE.serial}]
    assert (EventCode.CARTRIDGE_INSERTED, CartridgeState.LOCKED_OUT) in _wire_events(b)


def test_s4_an_estop_event_carries_its_reason() -> None:
    b = make_bench().running()
    b.host.request(EStop(StopReason.OPERATOR))
    assert (EventCode.ESTOP_ENGAGED, StopReason.OPERATOR) in _wire_events(b)
    assert (EventCode.MOTOR_STOPPED, StopReason.ESTOP) in _wire_events(b)


def test_s6_fault_events_name_the_fault_raised_and_cleared() -> None:
    b = make_bench().running()
    b.advance_ms(400)  # no renewal: the lease lapses
    assert _event_data(b, "fault_raised") == [{"fault": "lease_expired"}]
    assert (EventCode.FAULT_RAISED, FaultCode.LEASE_EXPIRED) in _wire_events(b)
    assert isinstance(b.host.request(ClearFault(FaultCode.LEASE_EXPIRED)), Ack)
    assert (EventCode.FAULT_CLEARED, FaultCode.LEASE_EXPIRED) in _wire_events(b)


def test_telemetry_names_no_set_as_version_zero() -> None:
    b = make_bench().identified()
    b.advance_ms(100)
    assert b.host.telemetry()[-1].param_version == 0


# ---- latches ----------------------------------------------------------------------------------


def test_s6_under_an_estop_the_fault_raised_last_is_the_next_to_clear() -> None:
    b = make_bench().running()
    b.host.request(EStop(StopReason.OPERATOR))
    b.pen.act(lambda now: b.fw.raise_internal(now))
    b.pen.inject("overheat", to_c=b.pen.config.over_temp_c + 1)
    b.advance_ms(100)
    assert b.fw.latched_faults == (
        FaultCode.INTERNAL,
        FaultCode.OVER_TEMPERATURE,
        FaultCode.ESTOP,
    )
    assert isinstance(b.host.request(ClearFault(FaultCode.ESTOP)), Ack)
    assert b.fw.active_fault is FaultCode.OVER_TEMPERATURE


def test_s6_a_fault_can_be_cleared_once_its_cause_is_exactly_at_the_clear_level() -> None:
    b = make_bench().running()
    config = b.pen.config
    b.pen.inject("overheat", to_c=config.over_temp_c + 1)
    b.advance_ms(100)
    assert b.fw.active_fault is FaultCode.OVER_TEMPERATURE
    b.pen.inject("overheat", to_c=config.over_temp_clear_c)
    assert isinstance(b.host.request(ClearFault(FaultCode.OVER_TEMPERATURE)), Ack)


def test_s6_critical_battery_cannot_be_cleared_at_exactly_the_critical_level() -> None:
    b = make_bench().running()
    b.pen.inject("drain_battery", to_pct=4.0)
    b.advance_ms(100)
    b.pen.inject("charge_battery", to_pct=b.pen.config.battery_critical_pct)
    nak = b.host.request(ClearFault(FaultCode.BATTERY_CRITICAL))
    assert isinstance(nak, Nak) and nak.reason is NakReason.FAULT_CAUSE_PRESENT


def test_s6_over_current_clears_with_the_current_exactly_at_its_limit() -> None:
    b = make_bench().running()
    b.pen.inject("stall", load=1.0)
    b.advance_ms(200)
    assert FaultCode.OVER_CURRENT in b.fw.latched_faults
    b.pen.act(lambda now: b.fw.set_stall(0.0, now))
    b.fw.model.current_ma = b.pen.config.over_current_ma
    assert b.fw._cause_present(FaultCode.OVER_CURRENT) is False
    b.fw.model.current_ma += 1
    assert b.fw._cause_present(FaultCode.OVER_CURRENT) is True


def test_s6_depth_disagreement_clears_with_the_error_exactly_at_the_tolerance() -> None:
    b = make_bench().running()
    tolerance = b.pen.config.depth_tolerance_um
    b.pen.inject("depth_drift", rate_um_per_s=0, offset_um=tolerance + 10)
    b.advance_ms(400)
    assert b.fw.active_fault is FaultCode.DEPTH_SENSOR_DISAGREE
    b.pen.act(b.fw.end_depth_drift)
    b.advance_ms(1000)  # the needle back at its retracted setpoint
    b.pen.inject("depth_drift", rate_um_per_s=0, offset_um=tolerance)
    assert isinstance(b.host.request(ClearFault(FaultCode.DEPTH_SENSOR_DISAGREE)), Ack)


def test_s6_the_depth_check_trips_exactly_its_window_after_the_first_tick_out_of_tolerance() -> (
    None
):
    b = make_bench().running()
    config = b.pen.config
    start_ns = b.clock.monotonic_ns()
    b.pen.inject("depth_drift", rate_um_per_s=0, offset_um=config.depth_tolerance_um + 10)
    tick_ns = config.tick_ms * NS_PER_MS
    first_tick = (start_ns // tick_ns + 1) * tick_ns
    b.advance_ms(config.depth_disagree_window_ms + 100)
    [raised] = b.named("fault_raised")
    assert raised.t_ns == first_tick + config.depth_disagree_window_ms * NS_PER_MS


def test_s6_a_cleared_depth_fault_starts_its_window_afresh() -> None:
    """Cleared, then out of tolerance again at once: a new full window, not an instant latch."""
    b = make_bench().running()
    config = b.pen.config
    b.pen.inject("depth_drift", rate_um_per_s=0, offset_um=config.depth_tolerance_um + 10)
    b.advance_ms(400)
    b.pen.act(b.fw.end_depth_drift)
    b.advance_ms(1000)
    assert isinstance(b.host.request(ClearFault(FaultCode.DEPTH_SENSOR_DISAGREE)), Ack)
    cleared_ns = b.clock.monotonic_ns()
    b.pen.inject("depth_drift", rate_um_per_s=0, offset_um=config.depth_tolerance_um + 10)
    b.advance_ms(config.depth_disagree_window_ms + 100)
    assert len(b.named("fault_raised")) == 2
    assert (
        b.named("fault_raised")[-1].t_ns - cleared_ns >= config.depth_disagree_window_ms * NS_PER_MS
    )


# ---- the needle and its drift -----------------------------------------------------------------


def test_drift_offsets_add_up_and_end_with_the_needle_back_on_its_setpoint() -> None:
    b = make_bench(config=QUIET).ready(depth_um=1000)
    b.advance_ms(1000)
    b.pen.inject("depth_drift", rate_um_per_s=0, offset_um=30)
    b.pen.inject("depth_drift", rate_um_per_s=0, offset_um=20)
    b.advance_ms(100)
    assert b.host.telemetry()[-1].depth_um == 1050
    b.pen.act(b.fw.end_depth_drift)
    b.advance_ms(1000)
    assert b.host.telemetry()[-1].depth_um == 1000


def test_s2_discarded_settings_retract_the_needle_fully() -> None:
    b = make_bench(config=QUIET).ready(depth_um=1000)
    b.advance_ms(1000)
    b.pen.pull_cartridge()  # READY: the applied set goes with it
    b.advance_ms(1000)
    assert b.host.telemetry()[-1].depth_um == 0


# ---- battery ----------------------------------------------------------------------------------


def test_battery_low_warns_once_at_exactly_its_level_with_the_charge_to_a_tenth() -> None:
    b = make_bench().identified()
    low = b.pen.config.battery_low_pct
    b.pen.inject("drain_battery", to_pct=low)
    b.advance_ms(200)
    assert _event_data(b, "battery_low") == [{"battery_pct": low}]
    b.pen.inject("drain_battery", to_pct=low - 0.04)
    b.advance_ms(200)
    assert len(b.named("battery_low")) == 1


def test_battery_low_rounds_the_charge_it_reports_to_a_tenth() -> None:
    b = make_bench().identified()
    b.pen.inject("drain_battery", to_pct=12.26)
    b.advance_ms(100)
    [data] = _event_data(b, "battery_low")
    assert abs(data["battery_pct"] - 12.3) < 0.001  # type: ignore[operator]


def test_battery_low_rearms_only_above_its_level_plus_the_margin() -> None:
    b = make_bench().identified()
    low = b.pen.config.battery_low_pct
    b.pen.inject("drain_battery", to_pct=low - 1)
    b.advance_ms(100)
    b.pen.inject("charge_battery", to_pct=low + 2)  # at the margin: not re-armed
    b.advance_ms(100)
    b.pen.inject("drain_battery", to_pct=low - 1)
    b.advance_ms(100)
    assert len(b.named("battery_low")) == 1
    b.pen.inject("charge_battery", to_pct=low + 2.5)
    b.advance_ms(100)
    b.pen.inject("drain_battery", to_pct=low - 1)
    b.advance_ms(100)
    assert len(b.named("battery_low")) == 2


# ---- power cycles -----------------------------------------------------------------------------


def test_s4_a_reboot_without_an_estop_boots_to_idle_and_says_so() -> None:
    b = make_bench(config=QUIET).ready(depth_um=1000)
    b.advance_ms(1000)
    b.pen.reboot()
    assert len(b.named("reboot")) == 1
    b.advance_ms(1000)
    b.host.request(Hello(1))
    b.advance_ms(100)
    assert b.fw.state is PenState.IDLE and b.fw.latched_faults == ()
    assert b.host.telemetry()[-1].depth_um == 0  # the actuator retracted on power loss
