"""The physical model as the host sees it, through TELEMETRY: ramps, travel, tolerance, current,
heat, battery; seeded and reproducible."""

from __future__ import annotations

from statistics import mean

from firmware_bridge.protocol import Lease, MotorState, SetParams, Start, Stop, StopReason
from tests.simulator.testbench import make_bench


def test_stroke_rate_ramps_up_and_down_rather_than_jumping() -> None:
    b = make_bench().running()
    start = len(b.host.telemetry())
    b.keep_running_ms(400)
    ramp = [(t.speed_sps, t.motor_state) for t in b.host.telemetry()[start:]]
    speeds = [s for s, _ in ramp]
    assert speeds == sorted(speeds) and speeds[-1] == 120
    assert len([s for s in speeds if 0 < s < 120]) >= 3
    assert ramp[0][1] is MotorState.RAMPING_UP and ramp[-1][1] is MotorState.AT_SPEED
    mark = len(b.host.telemetry())
    b.host.request(Stop(StopReason.OPERATOR))
    b.advance_ms(200)
    down = b.host.telemetry()[mark:]
    assert down[0].motor_state is MotorState.RAMPING_DOWN and 0 < down[0].speed_sps < 120
    assert down[-1].motor_state is MotorState.STOPPED and down[-1].speed_sps == 0


def test_depth_travels_and_then_reads_within_the_tolerance() -> None:
    """±0.15 mm by default, as the Exceed pen states (domain.md §1)."""
    b = make_bench().identified()
    b.host.request(SetParams(1, 2000, 120))
    b.advance_ms(200)
    travelling = [t.depth_um for t in b.host.telemetry()]
    assert any(300 < d < 1700 for d in travelling)  # 4 mm/s: half a second for 2 mm
    b.advance_ms(10_000)
    settled = [t.depth_um for t in b.host.telemetry()[-150:]]
    assert all(abs(d - 2000) <= 150 for d in settled)
    assert len(set(settled)) > 10  # a real sensor is noisy


def test_motor_current_rises_with_speed_and_is_zero_when_stopped() -> None:
    def mean_current(speed: int) -> float:
        b = make_bench().identified()
        b.host.request(SetParams(1, 1000, speed))
        b.host.request(Lease(300))
        b.host.request(Start(1))
        b.keep_running_ms(1500)
        return mean(t.motor_current_ma for t in b.host.telemetry()[-10:])

    slow, fast = mean_current(60), mean_current(150)
    assert 150 < slow < fast < 600
    b = make_bench().identified()
    b.advance_ms(200)
    assert {t.motor_current_ma for t in b.host.telemetry()} == {0}


def test_temperature_rises_with_run_time_and_falls_after() -> None:
    b = make_bench().running()
    b.advance_ms(50)
    first = b.host.telemetry()[0].temperature_cdeg
    b.keep_running_ms(300_000)
    hot = b.host.telemetry()[-1].temperature_cdeg
    assert hot > first + 250  # 2.5 °C or more in five minutes at 120 strokes/s
    b.host.request(Stop(StopReason.SESSION_END))
    b.advance_ms(300_000)
    assert b.host.telemetry()[-1].temperature_cdeg < hot - 50


def test_battery_drains_faster_when_running() -> None:
    idle = make_bench().identified()
    idle.advance_ms(300_000)
    running = make_bench().running()
    running.keep_running_ms(300_000)
    start = idle.host.telemetry()[0]
    idle_end, run_end = idle.host.telemetry()[-1], running.host.telemetry()[-1]
    assert run_end.battery_pct < idle_end.battery_pct <= start.battery_pct
    assert run_end.battery_mv < idle_end.battery_mv
    assert start.battery_pct == 90  # the default charge at power-on


def test_the_same_seed_gives_the_same_bytes_and_another_seed_does_not() -> None:
    def session(seed: int) -> bytes:
        b = make_bench(seed=seed).running()
        b.keep_running_ms(2000)
        return b"".join(f.message.pack() for f in b.host.frames)

    assert session(5) == session(5)
    assert session(5) != session(6)
