"""The simulated firmware at its edges, as a host or the events file sees them: limits accepted
exactly at their value, what each event says (the events file and the pen's EVENT frames), the
order latches clear in, and what a power cycle keeps. Written for the first full mutation run of
simulator/firmware.py (issue 14): each test is about what a user checks.
"""

from __future__ import annotations

import pytest

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
    Telemetry,
    encode,
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


def _gauge_reads(b: Bench, pct: float) -> None:
    """The battery gauge reads exactly `pct` (held there, so the drain does not move it), on a
    pen whose needle creeps a little, so every control tick runs its checks (a steady pen runs
    its ticks in closed form, whose forecast takes a held gauge for one that never moves)."""

    def hold(now: int) -> None:
        b.fw.set_depth_drift(0.001, 0.0, now)
        b.fw.set_sensor_stuck("battery", False, now)
        b.fw.set_battery(pct, now)
        b.fw.set_sensor_stuck("battery", True, now)

    b.pen.act(hold)


def test_battery_low_warns_once_at_exactly_its_level() -> None:
    b = make_bench().identified()
    low = b.pen.config.battery_low_pct
    _gauge_reads(b, low)
    b.advance_ms(200)
    assert _event_data(b, "battery_low") == [{"battery_pct": low}]
    _gauge_reads(b, low - 1)
    b.advance_ms(200)
    assert len(b.named("battery_low")) == 1


def test_battery_low_rounds_the_charge_it_reports_to_a_tenth() -> None:
    b = make_bench().identified()
    _gauge_reads(b, 12.26)
    b.advance_ms(100)
    [data] = _event_data(b, "battery_low")
    assert abs(data["battery_pct"] - 12.3) < 0.001  # type: ignore[operator]


def test_battery_low_rearms_only_above_its_level_plus_the_margin() -> None:
    b = make_bench().identified()
    low = b.pen.config.battery_low_pct
    for pct in (low - 1, low + 2, low - 1):  # back at exactly the margin: not re-armed
        _gauge_reads(b, pct)
        b.advance_ms(100)
    assert len(b.named("battery_low")) == 1
    for pct in (low + 2.5, low - 1):
        _gauge_reads(b, pct)
        b.advance_ms(100)
    assert len(b.named("battery_low")) == 2


def test_a_gauge_that_comes_unstuck_reads_the_cell_again() -> None:
    b = make_bench().identified()
    b.pen.act(lambda now: b.fw.set_sensor_stuck("battery", True, now))
    b.pen.act(lambda now: b.fw.set_sensor_stuck("temperature", True, now))
    b.pen.act(lambda now: b.fw.set_sensor_stuck("battery", False, now))
    b.pen.act(lambda now: b.fw.set_sensor_stuck("temperature", False, now))
    b.pen.inject("drain_battery", to_pct=50.0)
    b.pen.inject("overheat", to_c=35.0)
    b.advance_ms(100)
    last = b.host.telemetry()[-1]
    assert last.battery_pct == 50 and abs(last.temperature_cdeg - 3500) < 5


def test_brownout_threshold_is_exclusive_a_cell_at_exactly_the_minimum_keeps_running() -> None:
    """An empty cell (3300 mV open circuit) under the idle pen's 40 mA: 7,500 mΩ sags it to
    exactly 3,000 mV, the brown-out level, which the electronics still survive; 7,600 mΩ not."""
    b = make_bench().identified()
    b.pen.act(lambda now: b.fw.set_internal_resistance(7500, now))
    b.pen.inject("drain_battery", to_pct=0.0)
    b.advance_ms(200)
    assert not b.named("brownout")
    b.pen.act(lambda now: b.fw.set_internal_resistance(7600, now))
    b.advance_ms(200)
    assert b.named("brownout")


def test_a_pen_browning_out_while_booting_stays_in_boot_until_the_cell_recovers() -> None:
    """Held in reset: it never finishes booting (no BOOT, no `boot`) while the cell is down,
    and boots a full `boot_ms` after it recovers."""
    b = make_bench()
    b.pen.act(lambda now: b.fw.set_internal_resistance(40_000, now))
    for _ in range(50):
        b.advance_ms(b.pen.config.tick_ms)
        assert b.fw.state is PenState.BOOTING
    assert not b.named("boot") and EventCode.BOOT not in b.host.events()
    b.pen.act(lambda now: b.fw.set_internal_resistance(150, now))
    recovered_ns = b.clock.monotonic_ns()
    b.advance_ms(b.pen.config.boot_ms - 40)
    assert b.fw.state is PenState.BOOTING
    b.advance_ms(100)
    assert b.fw.state is PenState.IDLE
    assert b.named("boot")[-1].t_ns - recovered_ns >= b.pen.config.boot_ms * NS_PER_MS


def test_s6_battery_critical_latches_even_when_the_pen_was_left_alone_for_minutes() -> None:
    """The sans-IO firmware of a pen no host has greeted (so no telemetry slot splits the
    time), run forward a minute at a time: the charge crosses the critical level inside the
    second minute, and the fault is latched."""
    fw = make_bench().booted().fw
    critical = fw.config.battery_critical_pct
    now = fw.now_ns
    fw.set_battery(critical + 0.1, now)  # 40 mA idle: 0.067 % of 1000 mAh a minute
    for minute in (1, 2):
        fw.advance_to(now + minute * 60_000 * NS_PER_MS)
    assert fw.active_fault is FaultCode.BATTERY_CRITICAL


# ---- stall and depth windows -----------------------------------------------------------------


def test_s6_a_drag_to_exactly_the_stall_fraction_is_not_a_stall() -> None:
    b = make_bench().running()
    b.pen.inject("stall", load=round(1 - b.pen.config.stall_speed_fraction, 6))
    b.keep_running_ms(1000)
    assert FaultCode.MOTOR_STALL not in b.fw.latched_faults


def test_s6_a_stall_latches_exactly_its_window_after_the_rotor_falls_behind() -> None:
    """The drag holds the rotor at half its rate from the next control tick on; MOTOR_STALL
    latches a whole stall window after that tick, not a tick later."""
    b = make_bench().running()
    b.keep_running_ms(1000)
    config = b.pen.config
    tick_ns = config.tick_ms * NS_PER_MS
    first_tick = (b.clock.monotonic_ns() // tick_ns + 1) * tick_ns
    b.pen.inject("stall", load=0.5)
    b.keep_running_ms(1000)
    [raised] = [e for e in b.named("fault_raised") if e.data["fault"] == "motor_stall"]
    assert raised.t_ns == first_tick + config.stall_window_ms * NS_PER_MS


def test_s6_a_needle_exactly_at_the_depth_tolerance_is_not_a_disagreement() -> None:
    b = make_bench().running()
    b.keep_running_ms(1000)
    b.pen.inject("depth_drift", rate_um_per_s=0, offset_um=b.pen.config.depth_tolerance_um)
    b.keep_running_ms(1000)
    assert FaultCode.DEPTH_SENSOR_DISAGREE not in b.fw.latched_faults


def test_s5_a_slow_pen_clock_lapses_the_lease_after_its_own_300_ms() -> None:
    """5 % slow: a pen millisecond is 10**12 // 950,000 ns of the host's clock, exactly."""
    b = make_bench().running()
    b.pen.inject("clock_drift", ppm=-50_000)
    sent = b.host.send(Lease(300))
    sent_ns = b.clock.monotonic_ns()
    assert isinstance(b.host.reply(sent), Ack)
    b.advance_ms(400)
    [lapsed] = b.named("lease_expired")
    assert lapsed.t_ns - sent_ns == 300 * (NS_PER_MS * 1_000_000 // 950_000)


# ---- what the pen sends about its cartridge and its set -----------------------------------------


def test_the_cartridge_message_of_an_unreadable_or_absent_cartridge_carries_no_details() -> None:
    b = make_bench().identified()
    b.pen.inject("half_seated")
    b.pen.pull_cartridge()
    absent, unreadable = b.host.cartridges()[-1], b.host.cartridges()[-2]
    assert (absent.serial, absent.lot, absent.needle_count) == ("", "", 0)
    assert (absent.needle_length_um, absent.expiry_yyyymmdd) == (0, 0)
    assert unreadable.state is CartridgeState.UNREADABLE and unreadable.serial == ""


def test_identify_and_cartridge_frames_carry_no_flags() -> None:
    b = make_bench().identified()
    b.host.poll()
    assert {f.flags for f in b.host.frames} == {0}


def test_a_pen_with_the_echo_defect_acknowledges_a_deeper_set_than_applied() -> None:
    config = PenConfig(defects=frozenset({"echo-other-set"}))
    ack = make_bench(config=config).identified().host.request(SetParams(1, 1000, 120))
    assert isinstance(ack, Ack) and ack.depth_um == 1000 + config.depth_step_um


def test_a_dropped_frame_event_says_what_was_wrong_with_it() -> None:
    b = make_bench().identified()
    b.port.write(b"\x05\x01\x02\x03\x04\x00")
    [dropped] = b.named("frame_dropped")
    assert dropped.data["detail"] and isinstance(dropped.data["detail"], str)


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


@pytest.mark.parametrize(
    ("action", "params", "sensor", "fault"),
    [
        ("overheat", {"to_c": 48.0}, "temperature", FaultCode.OVER_TEMPERATURE),
        ("drain_battery", {"to_pct": 4.0}, "battery", FaultCode.BATTERY_CRITICAL),
    ],
)
def test_s6_a_sensor_stuck_past_its_limit_trips_again_after_a_power_cycle(
    action: str, params: dict[str, float], sensor: str, fault: FaultCode
) -> None:
    """A power cycle clears the latches, not the sensor: the booted pen reads the stuck value
    and latches the fault at its first checks, also while it idles in a steady stretch."""
    b = make_bench().running()
    b.pen.inject(action, **params)
    b.advance_ms(100)
    b.pen.inject("stuck_sensor", sensor=sensor)
    b.pen.reboot()
    b.advance_ms(b.pen.config.boot_ms + 100)
    assert b.fw.latched_faults == (fault,)


# ---- what the pen records of each host frame ----------------------------------------------------


def _commands(b: Bench) -> list[dict[str, object]]:
    return _event_data(b, "command")


def test_each_host_frame_is_recorded_with_its_type_seq_and_result() -> None:
    b = make_bench().identified()
    before = len(_commands(b))
    lease = b.host.send(Lease(300))
    refused = b.host.send(SetParams(1, 9_000, 120))
    b.host.send(Lease(300), seq=lease)  # the same frame again: answered from memory
    assert _commands(b)[before:] == [
        {"type": "LEASE", "seq": lease, "result": "ack"},
        {"type": "SET_PARAMS", "seq": refused, "result": "nak", "reason": "DEPTH_OUT_OF_RANGE"},
        {"type": "LEASE", "seq": lease, "result": "duplicate"},
    ]
    assert b.fw.stats["rx_frames"] == before + 3 and b.fw.stats["rx_duplicates"] == 1


def test_the_pens_stats_count_every_duplicate_answered_from_memory() -> None:
    """`stats` counts the frames received and, of those, each one answered from memory."""
    b = make_bench().identified()
    before = b.fw.stats["rx_frames"]
    lease = b.host.send(Lease(300))
    for _ in range(3):
        b.host.send(Lease(300), seq=lease)
    assert b.fw.stats["rx_frames"] == before + 4 and b.fw.stats["rx_duplicates"] == 3


def test_a_pen_type_frame_at_the_pen_is_recorded_as_dropped_by_name() -> None:
    b = make_bench().identified()
    telemetry = Telemetry(0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    for seq in (50, 51):
        b.port.write(encode(telemetry, seq))
    dropped = _event_data(b, "frame_dropped")
    assert dropped == [{"direction": "to_pen", "cause": "unknown_type", "detail": "TELEMETRY"}] * 2
    assert b.fw.stats["rx_unknown_type"] == 2


def test_the_duplicate_memory_forgets_the_oldest_frame_first() -> None:
    b = make_bench().identified()
    for seq in range(100, 134):  # 34 frames: the first two fall out of a 32-frame memory
        b.host.send(Lease(300), seq=seq)
    b.host.send(Lease(300), seq=133)
    b.host.send(Lease(300), seq=100)
    results = [c["result"] for c in _commands(b)[-2:]]
    assert results == ["duplicate", "ack"]
