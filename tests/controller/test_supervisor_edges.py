"""The supervisor frame by frame: the exact frame each alarm begins at, its figures, and when it
is armed again. The controller stops the needle on these conditions (S1, S3), so one frame early
is a needless stop and one frame late is a deviation run on."""

from __future__ import annotations

from controller.supervisor import (
    DEPTH_TOLERANCE_UM,
    GAP_WINDOW,
    SETTLE_SAMPLES,
    SUSTAIN_SAMPLES,
    Commanded,
    Condition,
    Supervisor,
)
from firmware_bridge.protocol import FaultCode, MotorState
from tests.controller.test_supervisor import RUNNING, STILL, _frame


def _first_report(supervisor: Supervisor, frames: list, commanded: Commanded, alarm: str) -> int:
    """The 1-based number of the frame at which `alarm` was first reported (0: never)."""
    for number, frame in enumerate(frames, 1):
        if any(c.alarm_id == alarm for c in supervisor.check(frame, 0, commanded)):
            return number
    return 0


def _only(conditions: list[Condition], alarm: str) -> Condition:
    [condition] = [c for c in conditions if c.alarm_id == alarm]
    return condition


def test_s1_a_motor_turning_without_leave_is_reported_at_its_first_frame_with_its_speed() -> None:
    supervisor = Supervisor()
    first = supervisor.check(_frame(speed_sps=97), 0, STILL)
    assert _only(first, "UNCOMMANDED_RUN").values == {"measured_sps": "97"}
    assert supervisor.check(_frame(speed_sps=97), 0, STILL) == []  # once, until it clears


def test_a_depth_exactly_at_the_tolerance_is_no_deviation() -> None:
    supervisor = Supervisor()
    frames = [_frame(depth_um=1000)] + [_frame(depth_um=1000 + DEPTH_TOLERANCE_UM)] * 30
    assert _first_report(supervisor, frames, RUNNING, "DEPTH_DEVIATION") == 0


def test_s3_a_depth_deviation_names_the_depths_in_millimetres() -> None:
    supervisor = Supervisor()
    supervisor.check(_frame(depth_um=1000), 0, RUNNING)  # settled at the commanded depth
    found: list[Condition] = []
    for _ in range(SUSTAIN_SAMPLES):
        found += supervisor.check(_frame(depth_um=1151), 0, RUNNING)
    assert _only(found, "DEPTH_DEVIATION").values == {
        "measured_mm": "1.15",
        "applied_mm": "1.00",
        "tolerance_mm": "0.15",
        "readings": "3",
    }


def _never_settling() -> list:
    return [_frame(depth_um=1000 + DEPTH_TOLERANCE_UM + 50)] * 40


def test_s3_a_depth_never_reached_is_a_deviation_once_the_settling_second_is_over() -> None:
    """Frames 1..19 at speed are the actuator's travel; frame 20 is the first that counts, so
    the third deviating reading in a row is frame 22."""
    expected = SETTLE_SAMPLES + SUSTAIN_SAMPLES - 1
    assert _first_report(Supervisor(), _never_settling(), RUNNING, "DEPTH_DEVIATION") == expected


def test_s3_after_a_stop_the_settling_second_starts_again() -> None:
    supervisor = Supervisor()
    supervisor.check(_frame(depth_um=1000), 0, RUNNING)  # settled
    supervisor.check(_frame(motor_state=MotorState.STOPPED), 0, RUNNING)  # a stop: reset
    expected = SETTLE_SAMPLES + SUSTAIN_SAMPLES - 1
    assert _first_report(supervisor, _never_settling(), RUNNING, "DEPTH_DEVIATION") == expected


def test_s3_a_speed_deviation_is_reported_at_the_third_reading_with_its_figures() -> None:
    supervisor = Supervisor()
    assert supervisor.check(_frame(speed_sps=80), 0, RUNNING) == []
    assert supervisor.check(_frame(speed_sps=80), 0, RUNNING) == []
    found = supervisor.check(_frame(speed_sps=80), 0, RUNNING)
    assert _only(found, "SPEED_DEVIATION").values == {
        "measured_sps": "80",
        "applied_sps": "100",
        "readings": "3",
    }


def test_a_needle_at_speed_with_no_confirmed_speed_deviates_from_zero() -> None:
    no_speed = Commanded(depth_um=1000, speed_sps=None, may_run=True)
    found: list[Condition] = []
    supervisor = Supervisor()
    for _ in range(SUSTAIN_SAMPLES):
        found += supervisor.check(_frame(speed_sps=1), 0, no_speed)
    assert _only(found, "SPEED_DEVIATION").values["applied_sps"] == "0"


def test_the_temperature_warning_rearms_only_below_37_degrees() -> None:
    supervisor = Supervisor()
    warnings = []
    for cdeg in (3900, 4000, 3700, 4000, 3699, 4000):
        found = supervisor.check(_frame(temperature_cdeg=cdeg), 0, RUNNING)
        warnings += [c.values["temperature_c"] for c in found if c.alarm_id == "TEMPERATURE_HIGH"]
    assert warnings == ["39.0", "40.0"]


def test_low_battery_is_reported_once_naming_the_percentage() -> None:
    supervisor = Supervisor()
    found = supervisor.check(_frame(battery_pct=15), 0, RUNNING)
    assert _only(found, "BATTERY_LOW").values == {"battery_pct": "15"}
    assert supervisor.check(_frame(battery_pct=14), 0, RUNNING) == []


def _gap_alarms(supervisor: Supervisor, missed: list[int]) -> list[dict]:
    return [
        c.values
        for m in missed
        for c in supervisor.check(_frame(), m, RUNNING)
        if c.alarm_id == "TELEMETRY_GAPS"
    ]


def test_three_missed_frames_in_the_window_raise_the_gap_alarm_with_its_figures() -> None:
    assert _gap_alarms(Supervisor(), [1, 1]) == []
    assert _gap_alarms(Supervisor(telemetry_period_ms=40), [1, 1, 1]) == [
        {"missed": "3", "expected": str(GAP_WINDOW + 3), "silence_ms": "120"}
    ]
    assert _gap_alarms(Supervisor(), [3])[0]["silence_ms"] == "150"  # the pen's 50 ms default


def test_the_gap_alarm_is_armed_again_once_a_whole_window_passed_without_a_gap() -> None:
    supervisor = Supervisor()
    assert len(_gap_alarms(supervisor, [3])) == 1
    assert _gap_alarms(supervisor, [0] * (GAP_WINDOW - 1)) == []  # the gap is still in the window
    assert len(_gap_alarms(supervisor, [0, 3])) == 1


def test_the_pens_own_fault_is_read_from_the_frame() -> None:
    supervisor = Supervisor()
    assert supervisor.pen_fault(_frame()) is None
    assert (
        supervisor.pen_fault(_frame(active_fault=FaultCode.OVER_CURRENT)) is FaultCode.OVER_CURRENT
    )


def test_depths_in_the_alarm_are_exact_millimetres_even_for_a_deep_reading() -> None:
    deep = Commanded(depth_um=6000, speed_sps=100, may_run=True)
    supervisor = Supervisor()
    supervisor.check(_frame(depth_um=6000), 0, deep)
    found: list[Condition] = []
    for _ in range(SUSTAIN_SAMPLES):
        found += supervisor.check(_frame(depth_um=6200), 0, deep)
    values = _only(found, "DEPTH_DEVIATION").values
    assert (values["measured_mm"], values["applied_mm"]) == ("6.20", "6.00")
