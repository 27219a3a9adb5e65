"""S1, S4, S5, S6, S8: what the pen reports, followed (controller/pen_events.py), on the simulated
pen in virtual time: its stop button, its own faults and e-stop, a lost or refused link, its
telemetry. Where the simulator cannot say a thing (a fault code newer than ours, a pen that ran
by itself), the link's report is handed to the controller as the link would hand it.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from controller import actions as act
from controller.machines import Device
from firmware_bridge.link import (
    LinkState,
    LinkStateChanged,
    LinkTrigger,
    PenEventReceived,
    TelemetryReceived,
)
from firmware_bridge.protocol import EventCode, FaultCode, MotorState, PenState
from firmware_bridge.protocol.messages import Event
from tests.controller.test_controller_core import running, sent_to_pen
from tests.controller.world import World


def shown(world: World, alarm_id: str) -> str:
    alarm = next(a for a in world.ctl.snapshot().alarms if a.alarm_id == alarm_id)
    return f"{alarm.what} {alarm.did} {alarm.next}"


def stops_by(world: World, actor: str) -> list[dict[str, Any]]:
    return [r["data"] for r in world.records("NEEDLE_STOP") if r["actor"] == actor]


def started_mono_ns(world: World) -> int:
    """When the needle was started, on the journal's clock (counted from the session's origin)."""
    [start] = [r for r in world.records("STATE_CHANGE") if r["data"]["trigger"] == "start"]
    return int(start["mono_ns"])


def report(world: World, output: object) -> None:
    """As the link reports it: queued for the owner, handled at this instant."""
    world.ctl.on_link(output)
    world.advance(0)


def pen_event(world: World, code: EventCode, detail: int) -> PenEventReceived:
    event = Event(event_counter=999, event=code, detail=detail)
    return PenEventReceived(event, 0, world.now)


def report_estopped(world: World) -> None:
    """The pen's last frame as it would be e-stopped: ESTOPPED, motor stopped, the e-stop on top."""
    frame = world.ctl.facts.telemetry
    assert frame is not None
    estopped = frame.replace(
        pen_state=PenState.ESTOPPED, motor_state=MotorState.STOPPED, active_fault=FaultCode.ESTOP
    )
    report(world, TelemetryReceived(estopped, 0, world.now))


# ---- the pen's stop button ----------------------------------------------------------------------


def test_s4_the_pens_stop_button_pauses_with_the_pens_stop_journaled_and_the_button_alarm(
    world: World,
) -> None:
    running(world)
    world.pen.press_button()
    world.advance_ms(300)
    assert world.device is Device.PAUSED
    assert world.alarm_ids() == ["BUTTON_STOP"]
    assert shown(world, "BUTTON_STOP").startswith("The stop button on the pen was pressed.")
    [stop] = stops_by(world, "pen")
    assert stop["reason"] == "button" and stop["detail"] is None
    assert started_mono_ns(world) < stop["sent_mono_ns"]
    [area_pass] = world.records("AREA_PASS")
    assert area_pass["data"]["pass_number"] == 1
    [paused] = [r for r in world.records("STATE_CHANGE") if r["data"]["to_state"] == "paused"]
    assert paused["data"]["trigger"] == "button"


def test_s4_the_stop_button_pressed_with_the_needle_still_is_no_stop_and_no_alarm(
    world: World,
) -> None:
    world.to_armed()
    report(world, pen_event(world, EventCode.BUTTON_STOP, 0))
    assert world.device is Device.ARMED and world.alarm_ids() == []
    assert not world.records("NEEDLE_STOP") and not world.records("AREA_PASS")


# ---- the pen's own faults (S6) ------------------------------------------------------------------


def test_s6_a_pen_fault_while_running_is_journaled_as_the_pens_stop_naming_the_fault(
    world: World,
) -> None:
    running(world)
    world.pen.inject("stall", load=1.0)
    world.advance_ms(500)
    assert world.device is Device.FAULT and "OVER_CURRENT" in world.alarm_ids()
    [stop] = stops_by(world, "pen")
    assert stop["reason"] == "fault" and stop["detail"] == "OVER_CURRENT"
    assert started_mono_ns(world) < stop["sent_mono_ns"]
    [area_pass] = world.records("AREA_PASS")
    assert area_pass["data"]["pass_number"] == 1 and area_pass["data"]["duration_ms"] >= 0


def test_s6_a_pen_fault_while_the_needle_is_still_journals_no_stop(world: World) -> None:
    world.to_armed()
    world.pen.inject("stall", load=1.0)
    world.pen.inject("internal_fault")
    world.advance_ms(300)
    assert world.device is Device.FAULT and "PEN_INTERNAL" in world.alarm_ids()
    assert not stops_by(world, "pen") and not world.records("AREA_PASS")


def test_s6_too_hot_names_the_pens_last_reported_temperature_in_degrees(world: World) -> None:
    running(world)
    world.pen.inject("overheat", to_c=40.7)
    world.advance_ms(200)
    assert world.ctl.facts.telemetry is not None
    last = world.ctl.facts.telemetry.temperature_cdeg
    world.pen.inject("overheat", to_c=55.0)
    world.advance_ms(300)
    assert world.device is Device.FAULT
    words = shown(world, "OVER_TEMPERATURE")
    assert words.startswith(f"The pen is too hot: {last / 100:.1f} °C."), words
    [alarm] = [r for r in world.records("ALARM") if r["data"]["alarm_id"] == "OVER_TEMPERATURE"]
    assert alarm["data"]["message"] == words


def test_s6_a_critical_battery_names_the_pens_last_reported_charge(world: World) -> None:
    running(world)
    world.pen.inject("drain_battery", to_pct=7.0)
    world.advance_ms(200)
    assert world.ctl.facts.telemetry is not None
    last = world.ctl.facts.telemetry.battery_pct
    world.pen.inject("drain_battery", to_pct=2.0)
    world.advance_ms(300)
    assert world.device is Device.FAULT
    words = shown(world, "BATTERY_CRITICAL")
    assert words.startswith(f"The pen's battery is almost empty: {last} %."), words


def test_s4_an_estop_the_pen_reports_as_a_fault_says_it_came_from_the_pen(world: World) -> None:
    running(world)
    report(world, pen_event(world, EventCode.FAULT_RAISED, FaultCode.ESTOP))
    assert "ESTOP_ENGAGED" in world.alarm_ids()
    assert shown(world, "ESTOP_ENGAGED").startswith("Emergency stop engaged from the pen.")
    [stop] = stops_by(world, "pen")
    assert stop["reason"] == "fault" and stop["detail"] == "ESTOP"


@pytest.mark.parametrize("detail", [0, 0x42])
def test_s6_a_fault_report_naming_no_fault_we_know_is_an_internal_pen_fault(
    world: World, detail: int
) -> None:
    """A FAULT_RAISED naming no fault, or one from a newer firmware: the pen latched something;
    it is shown as the pen's internal fault, never as an error of penctl's own."""
    running(world)
    report(world, pen_event(world, EventCode.FAULT_RAISED, detail))
    assert world.device is Device.FAULT
    assert "PEN_INTERNAL" in world.alarm_ids() and "HOST_INTERNAL" not in world.alarm_ids()
    [stop] = stops_by(world, "pen")
    assert stop["reason"] == "fault"


def test_s6_a_pen_shown_faulted_in_its_telemetry_naming_no_fault_is_an_internal_pen_fault(
    world: World,
) -> None:
    """FAULTED with `active_fault` NONE breaks protocol.md (FAULTED is a latched fault): the pen
    has stopped and refuses to run, so the controller follows it into the latch, as it does for
    a FAULT_RAISED naming no fault, rather than show the needle running (S6). The operator's
    acknowledgement is refused: there is no fault to name in CLEAR_FAULT, and a clear on the
    host alone would be undone by the next frame."""
    running(world)
    frame = world.ctl.facts.telemetry
    assert frame is not None
    faulted = frame.replace(
        pen_state=PenState.FAULTED, motor_state=MotorState.STOPPED, active_fault=FaultCode.NONE
    )
    report(world, TelemetryReceived(faulted, 0, world.now))
    assert world.device is Device.FAULT
    assert world.alarm_ids() == ["PEN_INTERNAL"]
    [stop] = stops_by(world, "pen")
    assert stop["reason"] == "fault"
    assert world.ctl.snapshot().confirmed is None
    world.submit(act.Acknowledge(note="seen"))
    assert world.device is Device.FAULT and world.alarm_ids() == ["PEN_INTERNAL"]
    assert world.ctl.last_refusal == (
        "acknowledge: the pen reports itself faulted without naming the fault, so penctl cannot "
        "clear it; take the pen out of service and call service (PEN_INTERNAL)"
    )
    assert "CLEAR_FAULT" not in [kind for kind, _ in sent_to_pen(world)]
    assert [r["data"]["subject"] for r in world.records("OPERATOR_ACK")] == []


# ---- the pen's own e-stop, seen in its telemetry (S4) -------------------------------------------


def test_s4_a_pen_shown_estopped_while_running_latches_the_estop_from_the_pen(
    world: World,
) -> None:
    running(world)
    report_estopped(world)
    assert world.device is Device.ESTOP
    assert shown(world, "ESTOP_ENGAGED").startswith("Emergency stop engaged from the pen.")
    [area_pass] = world.records("AREA_PASS")
    assert area_pass["data"]["pass_number"] == 1


# ---- S8: a cartridge gone -----------------------------------------------------------------------


def test_s8_a_cartridge_removed_event_unchecks_the_cartridge_before_any_telemetry_says_so(
    world: World,
) -> None:
    world.to_armed()
    report(world, pen_event(world, EventCode.CARTRIDGE_REMOVED, 0))
    world.submit(act.Start())
    assert world.device is Device.ARMED
    assert world.ctl.last_refusal == "start: no checked cartridge; fit and check a new one (S8)"
    assert "START" not in [kind for kind, _ in sent_to_pen(world)]


# ---- S5: a lost link ----------------------------------------------------------------------------


def test_s5_a_link_lost_while_running_journals_the_link_stop_with_its_cause(world: World) -> None:
    running(world)
    world.pen.inject("unplug")
    world.advance_ms(500)
    assert world.device is Device.LINK_LOST
    [stop] = [s for s in stops_by(world, "controller") if s["reason"] == "link_loss"]
    assert "unplugged" in stop["detail"]
    words = shown(world, "LINK_LOST")
    assert stop["detail"] in words and "within 300 ms" in words
    assert world.ctl.progress.confirmed is None


def test_s5_a_link_lost_with_the_needle_still_sends_no_stop(world: World) -> None:
    world.to_armed()
    world.pen.inject("unplug")
    world.advance_ms(500)
    assert world.device is Device.LINK_LOST and "LINK_LOST" in world.alarm_ids()
    assert not [s for s in stops_by(world, "controller") if s["reason"] == "link_loss"]
    assert world.ctl.progress.confirmed is None


def test_s5_a_pen_that_restarted_by_itself_is_said_as_such_and_the_link_is_lost(
    world: World,
) -> None:
    world.connect()
    report(
        world,
        LinkStateChanged(
            LinkState.UP, LinkState.PEN_REBOOTED, LinkTrigger.UNEXPECTED_BOOT, "EVENT BOOT", 0
        ),
    )
    assert world.device is Device.LINK_LOST
    assert "PEN_REBOOTED" in world.alarm_ids() and "LINK_LOST" not in world.alarm_ids()
    assert shown(world, "PEN_REBOOTED").startswith("The pen restarted by itself")


def test_s5_a_pen_that_refuses_hello_leaves_the_console_disconnected_saying_why(
    world: World,
) -> None:
    world.ctl.submit(act.Connect())
    world.advance(0)
    assert world.device is Device.IDENTIFYING
    why = "the pen speaks protocol 2, penctl 1"
    report(
        world,
        LinkStateChanged(LinkState.HANDSHAKE, LinkState.REFUSED, LinkTrigger.HELLO_REFUSED, why, 0),
    )
    assert world.device is Device.DISCONNECTED
    assert world.ctl.last_refusal == f"connect: {why}"
    assert "HOST_INTERNAL" not in world.alarm_ids()


# ---- S1: telemetry ------------------------------------------------------------------------------


def test_the_depth_and_speed_charts_show_what_the_pen_reported(world: World) -> None:
    running(world)
    world.advance_ms(300)
    view = world.ctl.snapshot().telemetry
    frame = world.ctl.facts.telemetry
    assert view is not None and frame is not None
    assert view.depth_history_um[-1] == frame.depth_um > 0
    assert view.speed_history_sps[-1] == frame.speed_sps > 0


def test_s1_a_needle_turning_after_a_pause_is_stopped_latched_and_journaled_as_uncommanded(
    world: World,
) -> None:
    running(world)
    turning = world.ctl.facts.telemetry
    assert turning is not None and turning.motor_state is MotorState.AT_SPEED
    world.submit(act.Pause(), after_ms=300)
    assert world.device is Device.PAUSED
    report(world, TelemetryReceived(turning, 0, world.now))
    assert "UNCOMMANDED_RUN" in world.alarm_ids()
    assert world.device is Device.FAULT
    [stop] = [s for s in stops_by(world, "controller") if "without a start" in (s["detail"] or "")]
    assert stop == {
        "reason": "host_fault",
        "detail": "the pen ran without a start (S1)",
        "sent_mono_ns": stop["sent_mono_ns"],
    }
    assert sent_to_pen(world)[-1] == ("STOP", {"reason": "HOST_FAULT"})
    assert re.search("HOST_INTERNAL", " ".join(world.alarm_ids())) is None


def test_s1_stopping_ends_on_the_motors_stop_not_on_another_event_while_the_needle_coasts(
    world: World,
) -> None:
    """The STOP is answered, but the motor's stop is still on its way (the pen's reports held
    back): another event meanwhile does not show the needle paused while it may still turn."""
    running(world)
    world.pen.inject(
        "delay", direction="to_host", types=["EVENT", "TELEMETRY"], delay_ms=60, frames=3
    )
    world.submit(act.Pause(), after_ms=5)
    assert world.device is Device.STOPPING
    report(world, pen_event(world, EventCode.FAULT_CLEARED, FaultCode.NONE))
    assert world.device is Device.STOPPING
    world.advance_ms(200)
    assert world.device is Device.PAUSED


def test_s3_s4_after_the_pen_reports_itself_estopped_no_settings_are_shown_as_confirmed(
    world: World,
) -> None:
    running(world)
    report_estopped(world)
    assert world.device is Device.ESTOP
    assert world.ctl.snapshot().confirmed is None
