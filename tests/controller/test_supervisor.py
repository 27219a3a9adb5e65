"""The safety supervisor: each condition it reports, driven by telemetry frames, and each one
renders with the alarm catalogue's fields (S10: a condition that cannot be said is a crash)."""

from __future__ import annotations

import pytest

from controller.alarms import CATALOGUE
from controller.supervisor import (
    BATTERY_LOW_PCT,
    DEPTH_TOLERANCE_UM,
    GAP_ALARM_MISSED,
    SETTLE_SAMPLES,
    SUSTAIN_SAMPLES,
    TEMPERATURE_WARN_CDEG,
    Commanded,
    Condition,
    Supervisor,
)
from firmware_bridge.protocol import CartridgeState, FaultCode, MotorState, PenState, Telemetry

RUNNING = Commanded(depth_um=1000, speed_sps=100, may_run=True)
STILL = Commanded(depth_um=None, speed_sps=None, may_run=False)


def _frame(**changes: object) -> Telemetry:
    fields: dict[str, object] = {
        "counter": 1,
        "pen_state": PenState.RUNNING,
        "motor_state": MotorState.AT_SPEED,
        "depth_um": 1000,
        "speed_sps": 100,
        "motor_current_ma": 300,
        "temperature_cdeg": 3000,
        "battery_mv": 3900,
        "battery_pct": 80,
        "cartridge_state": CartridgeState.IN_USE,
        "active_fault": FaultCode.NONE,
        "lease_remaining_ms": 250,
        "param_version": 1,
    }
    fields.update(changes)
    return Telemetry(**fields)  # type: ignore[arg-type]


def _feed(frames: list[Telemetry], commanded: Commanded, missed: int = 0) -> list[Condition]:
    supervisor = Supervisor()
    found: list[Condition] = []
    for frame in frames:
        found += supervisor.check(frame, missed, commanded)
    return found


CASES = {
    "DEPTH_DEVIATION": (
        [_frame(depth_um=1000 + DEPTH_TOLERANCE_UM + 1)] * SUSTAIN_SAMPLES,
        RUNNING,
        0,
    ),
    "SPEED_DEVIATION": ([_frame(speed_sps=80)] * SUSTAIN_SAMPLES, RUNNING, 0),
    "UNCOMMANDED_RUN": ([_frame()], STILL, 0),
    "TEMPERATURE_HIGH": ([_frame(temperature_cdeg=TEMPERATURE_WARN_CDEG)], RUNNING, 0),
    "BATTERY_LOW": ([_frame(battery_pct=BATTERY_LOW_PCT)], RUNNING, 0),
    "TELEMETRY_GAPS": ([_frame()], RUNNING, GAP_ALARM_MISSED),
}


@pytest.mark.parametrize("alarm_id", CASES)
def test_each_condition_is_reported_once_and_renders_with_the_catalogue(alarm_id: str) -> None:
    frames, commanded, missed = CASES[alarm_id]
    settled = [_frame()]  # the depth actuator has arrived once (SETTLE_SAMPLES)
    found = _feed(settled + frames + frames, commanded, missed)
    assert [c.alarm_id for c in found if c.alarm_id == alarm_id] == [alarm_id]
    condition = next(c for c in found if c.alarm_id == alarm_id)
    text = CATALOGUE[alarm_id].render(**condition.values)
    assert "{" not in text.what + text.did + text.next


def test_one_noisy_sample_never_stops_a_treatment() -> None:
    off = _frame(depth_um=1000 + DEPTH_TOLERANCE_UM + 1, speed_sps=50)
    frames = [off, _frame()] * 5 + [off] * (SUSTAIN_SAMPLES - 1)
    assert _feed(frames, RUNNING) == []


def test_within_tolerance_is_quiet() -> None:
    frame = _frame(depth_um=1000 + DEPTH_TOLERANCE_UM, speed_sps=110)
    assert _feed([frame] * 10, RUNNING) == []


def test_a_ramping_motor_is_not_judged_on_depth_or_speed() -> None:
    frame = _frame(speed_sps=10, motor_state=MotorState.RAMPING_UP)
    assert _feed([frame] * 10, RUNNING) == []


def test_s2_a_depth_that_never_arrives_is_a_deviation_once_the_actuator_had_time() -> None:
    """The actuator travels to a new depth while the motor ramps up: no alarm while it may still
    be on its way (SETTLE_SAMPLES), an alarm once it had that time and is still off."""
    off = _frame(depth_um=1000 - DEPTH_TOLERANCE_UM - 50)
    early = _feed([off] * (SETTLE_SAMPLES - 1), RUNNING)
    assert [c.alarm_id for c in early] == []
    late = _feed([off] * (SETTLE_SAMPLES + SUSTAIN_SAMPLES), RUNNING)
    assert [c.alarm_id for c in late] == ["DEPTH_DEVIATION"]
