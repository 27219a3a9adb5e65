"""What the model-based test (test_model.py) found: each bug as the smallest session that shows it.

Each test is a shrunk sequence of the model, written out by hand, and names the invariant it
guards. They run in virtual time on the simulated pen (tests/controller/world.py).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from controller import actions as act
from controller.machines import Device, Step
from firmware_bridge.protocol import FaultCode
from simulator.events import SimEvent
from tests.controller.world import World


@pytest.fixture
def world() -> Iterator[World]:
    built = World.build()
    yield built
    built.close()


def no_internal_fault(world: World) -> None:
    assert "HOST_INTERNAL" not in world.alarm_ids(), world.ctl.snapshot().alarms
    assert not [r for r in world.records("ALARM") if r["data"]["alarm_id"] == "HOST_INTERNAL"]


def motor_starts(world: World) -> list[tuple[SimEvent, Device]]:
    """Every motor_started from now on, with the device state the controller had at that instant."""
    seen: list[tuple[SimEvent, Device]] = []

    def listen(event: SimEvent) -> None:
        if event.event == "motor_started":
            seen.append((event, world.ctl.device_state))

    world.pen.add_listener(listen)
    return seen


# ---- S9: bad operator input is refused with a reason, never a fault ---------------------------


@pytest.mark.parametrize(
    ("where", "action", "field"),
    [
        ("intake", act.Abort(reason="x"), None),  # a control: nothing is under way
        ("consent", act.Abort(reason=""), "reason"),
        ("consent", act.Consent(form_id="", form_version="3"), "form_id"),
        ("consent", act.Consent(form_id="CF-1", form_version="3", planned_sessions=0), "planned"),
        ("preparation", act.AddPhoto(phase="before", path="p.jpg", sha256="nope"), "sha256"),
        ("preparation", act.ApplyNumbing(agent=""), "agent"),
        ("intake", act.Intake(patient="x" * 200, profile="", areas=(), skin_type=3), "patient"),
    ],
)
def test_s9_input_the_journal_cannot_hold_is_refused_naming_the_field(
    world: World, where: str, action: act.Action, field: str | None
) -> None:
    world.connect()
    if where != "intake":
        world.intake()
    if where == "preparation":
        world.submit(act.Consent(form_id="CF-1", form_version="3"))
        world.submit(act.Cleanse())
    if isinstance(action, act.Intake):
        answers = dict.fromkeys(world.library.policy.contraindications, "no")
        action = act.Intake(
            patient=action.patient,
            profile="acne-scars",
            areas=("cheek_left",),
            skin_type=3,
            answers=answers,  # type: ignore[arg-type]
        )
    world.submit(action)
    no_internal_fault(world)
    assert world.device is Device.IDLE
    refusal = world.ctl.last_refusal or ""
    assert refusal.startswith(f"{action.name}: ")
    if field is not None:
        assert field in refusal and "nothing was recorded" in refusal


def test_s9_a_refusal_that_quotes_a_long_input_is_journaled_not_a_fault(world: World) -> None:
    world.connect()
    world.intake()
    world.prepare()
    world.submit(act.SelectArea(area="x" * 2001))
    no_internal_fault(world)
    [refused] = world.records("ACTION_REFUSED")
    assert refused["data"]["action"] == "select_area"
    assert len(refused["data"]["reason"]) <= 2000


# ---- S4: an e-stop with no pen to hear it ------------------------------------------------------


def test_s4_an_estop_before_any_pen_never_lets_a_session_open_without_one(world: World) -> None:
    world.submit(act.EStop())
    assert world.device is Device.ESTOP
    answers = dict.fromkeys(world.library.policy.contraindications, "no")
    intake = act.Intake(
        patient="P-1",
        profile="acne-scars",
        areas=("cheek_left",),
        skin_type=3,
        answers=answers,  # type: ignore[arg-type]
    )
    world.submit(intake)
    no_internal_fault(world)
    assert world.ctl.last_refusal and "connect and identify the pen first" in world.ctl.last_refusal


def test_s4_acknowledging_an_estop_before_any_pen_leaves_connecting_possible(world: World) -> None:
    world.submit(act.EStop())
    world.submit(act.Acknowledge())
    assert world.device is Device.DISCONNECTED  # not IDLE: there is no pen
    assert world.ctl.allowed()["connect"].ok
    world.connect()
    no_internal_fault(world)


def test_s4_acknowledging_an_estop_during_a_link_loss_leaves_reconnecting_possible(
    world: World,
) -> None:
    world.connect()
    world.pen.unplug()
    world.advance_ms(500)
    assert world.device is Device.LINK_LOST
    world.submit(act.EStop())
    world.submit(act.Acknowledge())
    assert world.device is Device.LINK_LOST
    world.pen.replug()
    world.submit(act.Connect(), after_ms=500)
    assert world.device is Device.ESTOP  # the e-stop reached the pen once it was back: latched
    world.submit(act.Acknowledge(), after_ms=100)
    assert world.device is Device.IDLE


# ---- S6: once the cause is gone, an acknowledgement clears the latch ---------------------------


def test_s6_a_link_loss_alarm_can_be_acknowledged_once_reconnected(world: World) -> None:
    world.connect()
    world.pen.unplug()
    world.advance_ms(500)
    world.pen.replug()
    world.submit(act.Connect(), after_ms=500)
    assert world.device is Device.IDLE and "LINK_LOST" in world.alarm_ids()
    world.submit(act.Acknowledge(note="cable reseated"))
    assert "LINK_LOST" not in world.alarm_ids()


def test_s6_a_pen_fault_on_show_before_a_reconnect_latches_the_device_again(world: World) -> None:
    world.connect()
    world.pen.inject("overheat", to_c=50.0)
    world.advance_ms(200)
    assert world.device is Device.FAULT
    world.pen.reboot()  # still hot: it faults again once booted
    world.advance_ms(600)
    world.submit(act.Connect(), after_ms=500)
    assert world.pen.firmware.active_fault.name == "OVER_TEMPERATURE"
    assert world.device is Device.FAULT  # not IDLE, where nothing could clear it
    world.pen.inject("overheat", to_c=25.0)
    world.advance_ms(100)
    world.submit(act.Acknowledge(), after_ms=100)
    assert world.device is Device.IDLE


# ---- S7: nothing reaches the pen off the record --------------------------------------------------


def test_s7_no_parameters_are_sent_once_the_session_is_aborted(world: World) -> None:
    world.to_armed()
    world.start()
    world.submit(act.Pause(), after_ms=200)
    world.submit(act.Abort(reason="patient unwell"))
    assert world.step is Step.ABORTED and world.journal.session is None
    applied_before = [e for e in world.pen.events if e.event == "params_applied"]
    world.submit(act.Arm(), after_ms=200)
    assert world.ctl.last_refusal and world.ctl.last_refusal.startswith("arm: ")
    assert [e for e in world.pen.events if e.event == "params_applied"] == applied_before


def test_s7_alarms_on_show_when_a_session_opens_are_on_its_record(world: World) -> None:
    world.connect()
    world.submit(act.EStop())  # no session yet: nowhere to journal it
    world.intake()
    faults = [r["data"]["fault_id"] for r in world.records("FAULT")]
    alarms = [r["data"]["alarm_id"] for r in world.records("ALARM")]
    assert "ESTOP_ENGAGED" in faults and "ESTOP_ENGAGED" in alarms


# ---- S1: the needle never starts after the operator stopped it -----------------------------------


def test_s1_a_start_lost_on_the_wire_is_not_sent_again_after_a_pause(world: World) -> None:
    world.to_armed()
    starts = motor_starts(world)
    world.pen.inject("drop", direction="to_pen", frames=1, types=["START"])
    world.submit(act.Start(), after_ms=20)
    world.submit(act.Pause())
    world.advance_ms(500)
    assert starts == []
    assert world.device is Device.PAUSED
    no_internal_fault(world)


def test_s1_paused_only_once_the_pen_has_acknowledged_the_stop(world: World) -> None:
    """START held back 100 ms on the wire, the STOP behind it lost: the telemetry still shows the
    motor stopped, but the START is on its way and the STOP is not through yet."""
    world.to_armed()
    starts = motor_starts(world)
    world.pen.inject("delay", direction="to_pen", frames=1, types=["START"], delay_ms=100)
    world.pen.inject("drop", direction="to_pen", frames=1, types=["STOP"])
    world.submit(act.Start())
    world.submit(act.Pause())
    world.advance_ms(500)
    assert [device for _, device in starts] in ([], [Device.STOPPING])
    assert world.device is Device.PAUSED and not world.pen.firmware.motor_running


# ---- S1, S8: the needle runs only on the cartridge that was checked ----------------------------


def test_s1_s8_a_cartridge_swapped_while_the_link_was_down_is_not_the_checked_one(
    world: World,
) -> None:
    world.connect()
    world.intake()
    world.prepare()
    world.submit(act.SelectArea(area="cheek_left"))
    world.pen.unplug()
    world.advance_ms(300)
    world.pen.seat_cartridge(world.pen.fresh_cartridge())  # its EVENT is lost: no link
    world.pen.replug()
    world.submit(act.Connect(), after_ms=500)
    world.submit(act.Acknowledge(), after_ms=100)
    starts = motor_starts(world)
    world.submit(act.Arm(), after_ms=200)
    assert world.ctl.last_refusal and "cartridge" in world.ctl.last_refusal
    world.submit(act.Start(), after_ms=200)
    assert starts == []
    assert world.pen.firmware.cartridge is not None
    checked = [r["data"]["serial"] for r in world.records("CARTRIDGE")]
    assert world.pen.firmware.cartridge.serial not in checked


def test_s1_s8_a_pull_whose_events_were_lost_is_noticed_from_the_telemetry(world: World) -> None:
    world.connect()
    world.intake()
    world.prepare()
    world.submit(act.SelectArea(area="cheek_left"))
    world.pen.inject("drop", direction="to_host", types=["EVENT", "CARTRIDGE"], for_ms=1000)
    world.pen.pull_cartridge()
    world.advance_ms(200)  # the telemetry says ABSENT meanwhile
    world.pen.seat_cartridge(world.pen.fresh_cartridge())
    world.advance_ms(100)
    starts = motor_starts(world)
    world.submit(act.Arm(), after_ms=200)
    assert world.ctl.last_refusal and "cartridge" in world.ctl.last_refusal
    world.submit(act.Start(), after_ms=200)
    assert starts == []


def test_s4_an_estop_pressed_before_any_pen_holds_once_one_connects(world: World) -> None:
    """Found by the model: E-STOP with no pen open, then connect, used to land in IDLE with the
    e-stop never acknowledged. It is delivered once the pen is identified and holds (S4)."""
    world.submit(act.EStop())
    world.submit(act.Connect(), after_ms=500)
    assert world.device is Device.ESTOP
    assert FaultCode.ESTOP in world.pen.firmware.latched_faults
    world.submit(act.Acknowledge(), after_ms=100)
    assert world.device is Device.IDLE
    no_internal_fault(world)


def test_s1_s7_a_start_is_refused_while_a_stop_is_unanswered(world: World) -> None:
    """Found by the model: STOP pressed while armed, its ACK lost; START 50 ms later reached the
    pen, and the stop's repeat (which the pen executes again, protocol.md §5.2) stopped the needle
    50 ms into the run, with the journal's NEEDLE_STOP before the NEEDLE_START. Starting waits
    until the pen has acknowledged the stop."""
    world.to_armed()
    starts = motor_starts(world)
    world.pen.inject("drop", direction="to_host", rate=1.0, for_ms=100)
    world.submit(act.Stop(), after_ms=50)
    world.submit(act.Start())
    assert world.ctl.last_refusal is not None
    assert "not yet acknowledged the last stop" in world.ctl.last_refusal
    world.advance_ms(300)
    assert starts == []
    world.start()
    world.advance_ms(300)
    assert [device for _, device in starts] == [Device.RUNNING]
    assert not any(e.event == "motor_stopped" for e in world.pen.events[-40:])
    no_internal_fault(world)


def test_s1_a_start_held_on_the_wire_runs_only_until_the_estop_behind_it(world: World) -> None:
    """Found by the model (an oracle's gap, not a controller bug): a START written while
    running was allowed, held 100 ms on the wire, reaches the pen after the operator's e-stop.
    No host can recall a frame; the e-stop written behind it on the same wire must stop the
    motor the instant it arrives, and the pen ends latched."""
    world.to_armed()
    world.pen.inject("delay", direction="to_pen", rate=1.0, delay_ms=100, for_ms=100)
    world.submit(act.Start(), after_ms=10)
    world.submit(act.EStop())
    world.advance_ms(300)
    started = [e for e in world.pen.events if e.event == "motor_started"]
    stopped = [e for e in world.pen.events if e.event == "motor_stopped"]
    assert len(started) == 1  # the START reached the pen after the e-stop was pressed
    assert [e.data["reason"] for e in stopped] == ["estop"]
    assert stopped[0].t_ns - started[0].t_ns <= 10 * 1_000_000
    assert world.pen.firmware.state.name == "ESTOPPED"
    assert world.device is Device.ESTOP
    no_internal_fault(world)


def test_s8_a_cartridge_is_not_checked_while_the_link_is_lost(world: World) -> None:
    """Found by the model: the link lost, a used cartridge pushed in; checking the cartridge
    journaled the fresh one the pen had reported before the loss. A check needs the pen's word
    now; once reconnected, the used cartridge is refused."""
    world.connect()
    world.intake()
    world.submit(act.Consent(form_id="CF-1", form_version="3"))
    used = world.pen.firmware.cartridge
    assert used is not None
    world.pen.firmware.used_serials.add(used.serial)
    world.pen.inject("unplug", for_ms=200)
    world.advance_ms(300)
    assert world.device is Device.LINK_LOST
    world.pen.pull_cartridge()
    world.advance_ms(200)
    world.pen.seat_cartridge(used.replace(used=True))
    world.advance_ms(100)
    world.submit(act.CheckCartridge())
    assert world.ctl.last_refusal and "link to the pen is down" in world.ctl.last_refusal
    assert world.records("CARTRIDGE") == []
    world.submit(act.Connect(), after_ms=500)
    world.submit(act.CheckCartridge())
    assert world.records("CARTRIDGE") == []
    assert world.ctl.last_refusal and "(S8)" in world.ctl.last_refusal


def test_s10_a_start_the_link_failed_is_told_in_words_not_as_an_object(world: World) -> None:
    """Found by the model: a START lost on the wire and then stopped was reported as
    "start: the pen refused: Failed(command_id=42, message=Start(...), ...)": the pen refused
    nothing, and a practitioner cannot read a Python repr."""
    world.to_armed()
    world.pen.inject("drop", direction="to_pen", frames=1, types=["START"])
    world.submit(act.Start())
    world.submit(act.Pause(), after_ms=300)
    refusal = world.ctl.last_refusal or ""
    assert refusal.startswith("start: START was not confirmed by the pen: ")
    assert "not sent again" in refusal and "Failed(" not in refusal
    [journaled] = [r for r in world.records("ACTION_REFUSED") if r["data"]["action"] == "start"]
    assert journaled["data"]["reason"] == refusal.removeprefix("start: ")
