"""S4 and S6 with the simulated pen: an e-stop latches, acknowledging it is not "go", and the
operator can always get back to a working pen."""

from __future__ import annotations

from pathlib import Path

from controller import actions as act
from controller.machines import Device
from firmware_bridge.protocol import MotorState
from tests.controller.session import Rig, run_session


def _motor(rig: Rig) -> MotorState:
    telemetry = rig.ctl.facts.telemetry
    assert telemetry is not None
    return telemetry.motor_state


def _commands(rig: Rig, since: int) -> list[str]:
    return [e.data["type"] for e in rig.pen.events[since:] if e.event == "command"]


def test_s4_s6_an_estop_while_running_latches_and_its_release_is_never_go(tmp_path: Path) -> None:
    with run_session(tmp_path / "journal") as rig:
        rig.connect()
        rig.intake()
        rig.consent()
        rig.prepare()
        rig.begin()
        rig.arm()
        rig.start(seconds=1.0)
        assert _motor(rig) is MotorState.AT_SPEED
        ctl = rig.ctl

        rig.submit(act.EStop(), settle_ms=200)
        assert ctl.device_state is Device.ESTOP
        assert _motor(rig) is MotorState.STOPPED
        assert [a.alarm_id for a in ctl.alarms if a.latched] == ["ESTOP_ENGAGED"]
        for name in ("start", "arm", "select_area"):
            assert not ctl.allowed()[name].ok, name

        before = len(rig.pen.events)
        rig.submit(act.Acknowledge(note="patient moved; checked"), settle_ms=200)
        assert "CLEAR_FAULT" in _commands(rig, before)  # the pen must agree the latch is gone
        assert ctl.device_state is Device.IDLE
        assert ctl.alarms == []
        assert ctl.snapshot().confirmed is None  # the set must be confirmed again (S6)
        assert not ctl.allowed()["start"].ok
        rig.wait_s(1.0)
        assert _motor(rig) is MotorState.STOPPED
        assert "START" not in _commands(rig, before)

        rig.submit(act.Arm(), settle_ms=200)  # confirm the set again, then start: never by itself
        assert ctl.device_state is Device.ARMED
        assert ctl.allowed()["start"].ok


def test_s4_an_estop_before_connecting_leaves_the_way_to_connect(
    tmp_path: Path,
) -> None:
    with run_session(tmp_path / "journal") as rig:
        rig.submit(act.EStop())
        assert rig.ctl.device_state is Device.ESTOP
        rig.submit(act.Acknowledge())
        assert rig.ctl.allowed()["connect"].ok, rig.ctl.allowed()["connect"].why
        rig.connect()
        assert rig.ctl.device_state is Device.IDLE and rig.ctl.facts.identify is not None


def test_s4_s6_an_estop_on_a_lost_link_leaves_the_way_to_reconnect(tmp_path: Path) -> None:
    with run_session(tmp_path / "journal") as rig:
        rig.connect()
        rig.pen.unplug()
        rig.wait_s(1.0)
        assert rig.ctl.device_state is Device.LINK_LOST
        rig.submit(act.EStop())
        rig.submit(act.Acknowledge())
        assert rig.ctl.snapshot().link == "lost"
        assert rig.ctl.device_state is not Device.IDLE, "idle with the link lost"
        assert rig.ctl.allowed()["connect"].ok, rig.ctl.allowed()["connect"].why


def test_s4_s6_an_estop_acknowledged_at_once_releases_the_pen_too(tmp_path: Path) -> None:
    """F1 then F2 quicker than the pen's next telemetry: the acknowledgement still sends
    CLEAR_FAULT(ESTOP), so host and pen agree, and nothing restarts (found by the console bench)."""
    with run_session(tmp_path / "journal") as rig:
        rig.connect()
        rig.ctl.submit(act.EStop())
        rig.ctl.submit(act.Acknowledge())  # no time passes between the two keys
        rig.wait_s(0.5)
        events = [e.event for e in rig.pen.events]
        assert "estop_engaged" in events and "fault_cleared" in events
        assert rig.ctl.device_state is Device.IDLE
        assert not rig.ctl.alarms
        assert "motor_started" not in events
