"""The coupled physics (docs/simulator.md, "The physical model"), each through its bundled scenario,
in virtual time: heat follows the motor's current, the battery sags under load, warns, and browns
out; readings are not clipped; a stuck actuator, a jam's spike and the 41 °C limit."""

from __future__ import annotations

from firmware_bridge.protocol import (
    Ack,
    ClearFault,
    EventCode,
    FaultCode,
    Lease,
    PenState,
    SetParams,
    Start,
    Telemetry,
)
from simulator.scenario import load_scenario
from tests.simulator.testbench import Bench, make_bench

RENEW_MS, LONG_LEASE_MS = 500, 1000  # a host renewing less often, for runs of many minutes


def _running(b: Bench, speed_sps: int = 120) -> Bench:
    b.ready(speed_sps=speed_sps)
    assert isinstance(b.host.request(Lease(LONG_LEASE_MS)), Ack)
    assert isinstance(b.host.request(Start(1)), Ack)
    return b


def _run_minutes(b: Bench, minutes: float) -> None:
    b.keep_running_ms(round(minutes * 60_000), renew_every_ms=RENEW_MS, lease_ms=LONG_LEASE_MS)


def _faults(b: Bench) -> list[str]:
    return [e.data["fault"] for e in b.named("fault_raised")]


def test_heat_follows_the_motor_current_hot_motor_trips_at_41_c() -> None:
    scenario = load_scenario("hot-motor")
    free = _running(make_bench(config=scenario.pen))  # the same room and handpiece, no drag
    dragged = _running(make_bench(scenario))
    _run_minutes(free, 1)
    _run_minutes(dragged, 1)
    free_t, dragged_t = free.host.telemetry()[-1], dragged.host.telemetry()[-1]
    assert dragged_t.motor_current_ma > free_t.motor_current_ma + 150
    assert dragged_t.temperature_cdeg > free_t.temperature_cdeg + 150  # 1.5 °C hotter in 1 min
    assert _faults(dragged) == []
    _run_minutes(dragged, 3)
    assert _faults(dragged) == ["over_temperature"]
    hottest = max(t.temperature_cdeg for t in dragged.host.telemetry())
    assert 4095 <= hottest <= 4105  # tripped at the first tick above 41 °C (IEC 60601-1 11.1.2.2)
    assert _faults(free) == []


def test_over_temperature_trips_above_41_c_and_not_below() -> None:
    cool, hot = make_bench().identified(), make_bench().identified()
    cool.pen.inject("overheat", to_c=40.9)
    hot.pen.inject("overheat", to_c=41.1)
    cool.advance_ms(100)
    hot.advance_ms(100)
    assert cool.fw.active_fault is FaultCode.NONE
    assert hot.fw.active_fault is FaultCode.OVER_TEMPERATURE


def test_the_battery_voltage_sags_under_the_motor_load() -> None:
    b = make_bench().ready()
    b.advance_ms(200)
    idle_mv = b.host.telemetry()[-1].battery_mv
    assert isinstance(b.host.request(Lease(300)), Ack)
    assert isinstance(b.host.request(Start(1)), Ack)
    b.keep_running_ms(500)
    running = b.host.telemetry()[-1]
    assert running.motor_current_ma > 300
    # 150 mΩ × about 0.35 A more: 40 to 70 mV lower with the same charge
    assert 40 <= idle_mv - running.battery_mv <= 70


def test_brownout_a_weak_cell_collapses_under_load_and_the_pen_resets() -> None:
    b = make_bench(load_scenario("brownout")).ready()
    b.advance_ms(200)
    assert b.host.telemetry()[-1].battery_mv > 3300  # it holds the idle pen
    assert isinstance(b.host.request(Lease(300)), Ack)
    assert isinstance(b.host.request(Start(1)), Ack)
    b.advance_ms(300)
    (brownout,) = b.named("brownout")
    assert brownout.data["battery_mv"] < b.pen.config.brownout_mv
    assert [e.event for e in b.pen.events if e.event in ("brownout", "reboot", "boot")] == [
        "boot",
        "brownout",
        "reboot",
        "boot",
    ]
    assert b.named("motor_stopped")[-1].data == {"reason": "reboot"}
    assert b.fw.state is PenState.IDLE and not b.fw.identified
    assert b.host.events()[-1] is EventCode.BOOT


def test_battery_low_warns_before_the_critical_latch() -> None:
    b = _running(make_bench(load_scenario("battery-low")))
    _run_minutes(b, 0.2)
    (warning,) = b.named("battery_low")
    assert 13.5 <= warning.data["battery_pct"] <= 14.0
    assert b.fw.state is PenState.RUNNING and _faults(b) == []
    critical = _running(make_bench(load_scenario("battery-critical")))
    _run_minutes(critical, 0.2)
    order = [e.event for e in critical.pen.events if e.event in ("battery_low", "fault_raised")]
    assert order == ["battery_low", "fault_raised"]


def test_depth_readings_are_not_clipped_an_offset_sensor_reads_out_of_tolerance() -> None:
    b = _running(make_bench(load_scenario("depth-sensor-offset")))
    _run_minutes(b, 1)
    readings = [t.depth_um for t in b.host.telemetry() if t.pen_state is PenState.RUNNING]
    tolerance = b.pen.config.depth_tolerance_um
    outside = [d for d in readings if abs(d - 1000) > tolerance]
    assert _faults(b) == []  # the pen's own check: 120 µm is within its 150 µm
    assert 0.1 < len(outside) / len(readings) < 0.4  # P(noise > 30 µm) at σ = 40 µm: 0.23


def test_a_stuck_depth_actuator_raises_the_depth_fault_within_its_settle_time() -> None:
    b = make_bench(load_scenario("depth-stuck")).identified()
    assert isinstance(b.host.request(SetParams(1, 1000, 120)), Ack)
    set_at = b.clock.monotonic_ns()
    b.advance_ms(1100)
    (raised,) = b.named("fault_raised")
    assert raised.data == {"fault": "depth_sensor_disagree"}
    assert 1000 <= (raised.t_ns - set_at) / 1e6 <= 1020  # depth_settle_ms, to the tick
    # Faulted, the pen sends the needle to 0, where the jammed actuator still is: clearable, and
    # the next set trips again.
    assert isinstance(b.host.request(ClearFault(FaultCode.DEPTH_SENSOR_DISAGREE)), Ack)
    assert isinstance(b.host.request(SetParams(2, 500, 120)), Ack)
    b.advance_ms(1100)
    assert _faults(b) == ["depth_sensor_disagree", "depth_sensor_disagree"]


def test_a_jam_shows_its_current_spike_in_telemetry_before_the_trip() -> None:
    b = _running(make_bench(load_scenario("motor-jam")))
    b.keep_running_ms(3000)
    frames = [f.message for f in b.host.frames]
    raised = next(
        i
        for i, m in enumerate(frames)
        if getattr(m, "event", None) is EventCode.FAULT_RAISED
        and m.detail == FaultCode.OVER_CURRENT
    )
    before = [m for m in frames[:raised] if isinstance(m, Telemetry)]
    assert before[-1].pen_state is PenState.RUNNING
    assert before[-1].motor_current_ma > b.pen.config.over_current_ma  # the host saw the spike
