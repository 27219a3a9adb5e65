"""S4, S6, S7, S9: the controller's own duties (controller/core.py), on the simulated pen in
virtual time: a stop is on the wire before the owner handles anything, alarms stop the needle and
are journaled with the pen's frames behind them, an acknowledgement clears only what it may, and
a journal that cannot be written stops the needle and keeps saying why.
"""

from __future__ import annotations

import errno
import os
import threading
from pathlib import Path
from typing import Any

import pytest

from controller import actions as act
from controller import dispatch
from controller.core import LEASE_MS, REASON_MAX, SNAPSHOT_NS, Controller
from controller.journal import writer as writer_module
from controller.machines import Device, Step
from controller.runner import VirtualRunner
from firmware_bridge.clock import NS_PER_MS
from firmware_bridge.link import TelemetryReceived
from firmware_bridge.protocol import MotorState, StopReason
from simulator.config import PenConfig
from tests.controller.world import World

DEV_FULL = Path("/dev/full")


def running(world: World) -> World:
    world.to_armed()
    world.start()
    return world


def sent_to_pen(world: World) -> list[tuple[str, dict[str, Any]]]:
    assert world.ctl.pen is not None
    return [(f["type"], f["fields"]) for f in world.ctl.pen.dump_frames() if f["dir"] == "to_pen"]


def commands_at_pen(world: World) -> list[str]:
    return [e.data["type"] for e in world.pen.events if e.event == "command"]


def with_the_disk_full(world: World) -> None:
    """The session file's descriptor now writes to /dev/full: every write fails with ENOSPC."""
    journal = world.journal
    real_fd = journal._fd  # the one way to fill the disk mid-session
    assert real_fd is not None
    journal._fd = os.open(DEV_FULL, os.O_WRONLY)
    os.close(real_fd)


# ---- S4: a stop is written first, from the caller's thread -------------------------------------


def test_s4_a_stop_is_on_the_wire_with_its_reason_before_the_owner_handles_it(world: World) -> None:
    running(world)
    handled = world.ctl.actions_handled
    ticket = world.ctl.submit(act.Stop(reason=StopReason.AREA_COMPLETE))
    assert sent_to_pen(world)[-1] == ("STOP", {"reason": "AREA_COMPLETE"})
    assert ticket == handled + 1 and world.ctl.actions_handled == handled
    world.advance(0)
    assert world.ctl.snapshot().actions_handled == ticket
    [stop] = world.records("NEEDLE_STOP")
    assert stop["actor"] == "op:tester" and stop["data"]["reason"] == "area_complete"
    assert stop["data"]["detail"] is None
    # handled at the instant it was pressed (virtual time): the record's two times agree
    assert stop["data"]["sent_mono_ns"] == stop["mono_ns"]
    world.advance_ms(200)
    assert world.device is Device.PAUSED


def test_s4_an_estop_is_on_the_wire_before_the_owner_handles_it_and_latches(world: World) -> None:
    running(world)
    world.ctl.submit(act.EStop())
    assert sent_to_pen(world)[-1] == ("ESTOP", {"reason": "ESTOP"})
    world.advance_ms(100)
    [stop] = [r for r in world.records("NEEDLE_STOP") if r["actor"] == "op:tester"]
    assert (stop["data"]["reason"], stop["data"]["detail"]) == ("estop", "emergency stop")
    assert world.device is Device.ESTOP and world.alarm_ids() == ["ESTOP_ENGAGED"]


def test_s4_an_estop_pressed_twice_sends_twice_but_shows_and_journals_one_alarm(
    world: World,
) -> None:
    running(world)
    world.submit(act.EStop(), after_ms=100)
    world.submit(act.EStop(), after_ms=100)
    assert commands_at_pen(world).count("ESTOP") == 2
    assert world.alarm_ids() == ["ESTOP_ENGAGED"]
    assert [r["data"]["alarm_id"] for r in world.records("ALARM")] == ["ESTOP_ENGAGED"]
    assert len([r for r in world.records("FAULT") if r["data"]["fault_id"] == "ESTOP_ENGAGED"]) == 1


def test_s4_an_estop_the_pen_received_is_sent_once_even_across_a_reconnect(world: World) -> None:
    """One press, one ESTOP: an e-stop written to the pen is not owed to it again on reconnecting
    (only one pressed while no pen was open is, test_model_findings)."""
    running(world)
    world.submit(act.EStop(), after_ms=100)
    world.pen.unplug()
    world.advance_ms(1000)
    world.pen.replug()
    world.submit(act.Connect(), after_ms=500)
    assert commands_at_pen(world).count("ESTOP") == 1, commands_at_pen(world)
    assert world.device is Device.ESTOP


def test_s4_tickets_count_every_action_and_a_snapshot_shows_when_each_was_handled(
    world: World,
) -> None:
    first = world.ctl.submit(act.Stop())
    second = world.ctl.submit(act.Connect())
    assert (first, second) == (1, 2)
    assert world.ctl.snapshot().actions_handled == 0
    world.advance_ms(500)
    assert world.ctl.snapshot().actions_handled == 2


def test_s4_an_estop_pressed_before_the_owner_runs_is_kept_and_handled_once_it_does(
    world: World,
) -> None:
    """A controller whose runner is not attached yet (penctl starting up): the press is not lost."""
    starting = Controller(
        clock=world.clock,
        journal=world.journal,
        library=world.library,
        operator="op:tester",
        open_pen=world.ctl._open_pen,
    )
    assert starting.submit(act.EStop()) == 1
    VirtualRunner(starting, world.clock)
    world.clock.run_until(world.now + 200 * NS_PER_MS)
    assert starting.device_state is Device.ESTOP and starting.estop_unwritten
    assert starting.snapshot().actions_handled == 1


def test_s4_s5_an_estop_before_any_pen_leaves_the_owner_ticking_without_a_fault(
    world: World,
) -> None:
    world.submit(act.EStop(), after_ms=1000)
    assert world.device is Device.ESTOP and world.alarm_ids() == ["ESTOP_ENGAGED"]
    assert world.ctl.snapshot().at_ns == world.now


def test_a_fresh_console_shows_no_refusal_and_the_session_names_the_software(
    world: World,
) -> None:
    assert world.ctl.snapshot().last_refusal is None
    world.connect()
    world.intake()
    [opened] = world.records("SESSION_OPEN")
    assert opened["data"]["software_version"] == "penctl"


def test_s7_every_state_change_is_journaled_once_by_the_controller(world: World) -> None:
    running(world)
    world.submit(act.Stop(), after_ms=200)
    changes = [
        (r["actor"], r["data"]["machine"], r["data"]["from_state"], r["data"]["to_state"])
        for r in world.records("STATE_CHANGE")
    ]
    assert ("controller", "device", "running", "stopping") in changes, changes
    assert ("controller", "device", "stopping", "paused") in changes, changes
    assert all(before != after for _, _, before, after in changes)
    assert {actor for actor, *_ in changes} == {"controller"}


def test_a_transition_the_table_lacks_is_refused_naming_the_machine(world: World) -> None:
    """What HOST_INTERNAL would quote if a handler ever fired a row the table lacks."""
    from transitions import MachineError

    with pytest.raises(MachineError, match="\"device: Can't trigger event start from state"):
        world.ctl.fire("device", "start")
    with pytest.raises(MachineError, match="\"workflow: Can't trigger event aftercare_done"):
        world.ctl.fire("workflow", "aftercare_done")
    assert world.ctl.can("workflow", "intake_done")
    assert not world.ctl.can("workflow", "aftercare_done")
    assert world.ctl.can("device", "connect") and not world.ctl.can("device", "start")


def test_with_telemetry_alone_the_picture_is_rebuilt_at_most_every_50_ms(world: World) -> None:
    """A pen sending 100 frames a second: the console's snapshot is rebuilt for telemetry alone
    at most every SNAPSHOT_NS, so drawing it does not take the interpreter from the keys."""
    fast = World.build(config=PenConfig(telemetry_period_ms=10))
    try:
        fast.connect()
        built = set()
        for _ in range(100):
            fast.advance_ms(10)
            at_ns = fast.ctl.snapshot().at_ns
            # rebuilt by the first telemetry that finds it SNAPSHOT_NS old, so never seen that old
            assert fast.now - at_ns < SNAPSHOT_NS
            built.add(at_ns)
        # one rebuild every 50 ms from telemetry, plus the ticks' every 100 ms: not 100
        assert len(built) <= 30, len(built)
    finally:
        fast.close()


# ---- alarms: the needle stopped by the owner, the records behind them (S6, S7) -----------------


def drifting(world: World) -> None:
    """The depth actuator drifts while the needle runs: the host sees it and stops the needle."""
    world.pen.inject("depth_drift", rate_um_per_s=2000.0, for_ms=2000)
    world.advance_ms(1500)


def test_s7_a_needle_stopping_alarm_stops_the_needle_and_the_controller_journals_why(
    world: World,
) -> None:
    running(world)
    drifting(world)
    assert world.device is Device.FAULT
    [stop] = world.records("NEEDLE_STOP")
    assert stop["actor"] == "controller"
    assert stop["data"]["reason"] == "host_fault"
    assert stop["data"]["detail"] == "alarm DEPTH_DEVIATION"
    assert ("STOP", {"reason": "HOST_FAULT"}) in sent_to_pen(world)


def test_s6_a_latched_alarm_is_journaled_as_fault_and_alarm_with_the_pens_last_three_frames(
    world: World,
) -> None:
    running(world)
    drifting(world)
    [fault] = [r for r in world.records("FAULT") if r["data"]["fault_id"] == "DEPTH_DEVIATION"]
    [alarm] = [r for r in world.records("ALARM") if r["data"]["alarm_id"] == "DEPTH_DEVIATION"]
    shown = next(a for a in world.ctl.snapshot().alarms if a.alarm_id == "DEPTH_DEVIATION")
    assert all(part.endswith(".") for part in (shown.what, shown.did, shown.next))  # S10
    message = f"{shown.what} {shown.did} {shown.next}"
    assert fault["data"]["message"] == alarm["data"]["message"] == message
    assert fault["data"]["cause"] == alarm["data"]["condition"] == "depth_deviation"
    assert fault["data"]["latched"] is True and alarm["data"]["priority"] == "high"
    assert fault["actor"] == alarm["actor"] == "controller"
    frames = fault["data"]["raw_frames"]
    assert alarm["data"]["raw_frames"] == frames and len(frames) == 3
    assert world.ctl.pen is not None
    from_pen = [f["hex"] for f in world.ctl.pen.dump_frames() if f["dir"] == "to_host"]
    at = from_pen.index(frames[0])
    assert from_pen[at : at + 3] == frames, "the pen's three frames, in the order they came"


def test_an_alarm_that_does_not_stop_the_needle_is_journaled_and_the_needle_runs_on(
    world: World,
) -> None:
    running(world)
    world.pen.inject("drain_battery", to_pct=12.0)
    world.advance_ms(500)
    assert world.device is Device.RUNNING and world.alarm_ids() == ["BATTERY_LOW"]
    assert [r["data"]["alarm_id"] for r in world.records("ALARM")] == ["BATTERY_LOW"]
    assert not world.records("FAULT") and not world.records("NEEDLE_STOP")


# ---- S6: acknowledging clears only what it may --------------------------------------------------


def test_s6_acknowledging_while_a_pen_fault_lasts_clears_only_the_unlatched_alarms(
    world: World,
) -> None:
    running(world)
    world.pen.inject("drain_battery", to_pct=12.0)
    world.advance_ms(300)
    drifting(world)
    latched = {"DEPTH_DEVIATION", "DEPTH_SENSOR_DISAGREE"}
    assert set(world.alarm_ids()) == {"BATTERY_LOW", *latched}
    world.submit(act.Acknowledge(note="battery swapped"), after_ms=300)
    assert set(world.alarm_ids()) == latched, "a latched alarm whose cause lasts stays"
    acks = [(r["data"]["subject"], r["data"]["note"]) for r in world.records("OPERATOR_ACK")]
    assert acks == [("BATTERY_LOW", "battery swapped")]


def test_s6_the_operator_s_note_is_journaled_when_the_pen_confirms_it_released_its_latch(
    world: World,
) -> None:
    """The acknowledgement of an e-stop waits for the pen's CLEAR_FAULT answer; the note the
    operator gave goes into the record written then (it used to be dropped)."""
    running(world)
    world.submit(act.EStop(), after_ms=300)
    assert world.device is Device.ESTOP
    world.submit(act.Acknowledge(note="patient moved; checked"), after_ms=300)
    assert world.device is Device.IDLE
    acks = [(r["data"]["subject"], r["data"]["note"]) for r in world.records("OPERATOR_ACK")]
    assert acks == [("ESTOP_ENGAGED", "patient moved; checked")]


# ---- S7: a journal that cannot be written ------------------------------------------------------


@pytest.mark.skipif(not DEV_FULL.exists(), reason="needs /dev/full to make writes fail (ENOSPC)")
def test_s7_a_full_disk_stops_the_needle_and_says_which_file_could_not_be_written(
    world: World,
) -> None:
    running(world)
    with_the_disk_full(world)
    world.submit(act.Pause(), after_ms=300)
    assert world.device is Device.FAULT
    assert ("STOP", {"reason": "HOST_FAULT"}) in sent_to_pen(world)
    [journal_fault] = [a for a in world.ctl.snapshot().alarms if a.alarm_id == "JOURNAL_FAULT"]
    assert journal_fault.latched
    assert journal_fault.what == (
        "The session journal cannot be written: No space left on device on "
        f"{world.directory / 'journal' / 'session-000001.jsonl'}."
    )
    telemetry = world.ctl.facts.telemetry
    assert telemetry is not None and telemetry.motor_state.name == "STOPPED"


@pytest.mark.skipif(not DEV_FULL.exists(), reason="needs /dev/full to make writes fail (ENOSPC)")
def test_s6_s7_acknowledging_clears_other_alarms_but_the_journal_fault_stays_while_it_lasts(
    world: World,
) -> None:
    running(world)
    world.pen.inject("drain_battery", to_pct=12.0)
    world.advance_ms(300)
    with_the_disk_full(world)
    world.submit(act.Pause(), after_ms=300)
    assert set(world.alarm_ids()) == {"BATTERY_LOW", "JOURNAL_FAULT"}
    for _ in range(2):
        world.submit(act.Acknowledge(), after_ms=300)
        assert world.alarm_ids() == ["JOURNAL_FAULT"]
    assert not world.ctl.allowed()["start"].ok
    device, stops = world.device, sent_to_pen(world).count(("STOP", {"reason": "HOST_FAULT"}))
    world.submit(act.Abort(reason="the journal disk is full"), after_ms=100)
    assert world.step is Step.ABORTED and "HOST_INTERNAL" not in world.alarm_ids()
    # nothing more is tried on the latched journal: no second fault, no second stop
    assert world.device is device
    assert sent_to_pen(world).count(("STOP", {"reason": "HOST_FAULT"})) == stops


@pytest.mark.skipif(not DEV_FULL.exists(), reason="needs /dev/full to make writes fail (ENOSPC)")
def test_s7_start_pressed_with_the_journal_unwritable_sends_a_stop_and_no_start(
    world: World,
) -> None:
    """Armed, not running: the pen is told to stop, and no needle runs unrecorded."""
    world.to_armed()
    with_the_disk_full(world)
    world.submit(act.Start(), after_ms=300)
    assert world.device is Device.FAULT and "JOURNAL_FAULT" in world.alarm_ids()
    assert "START" not in commands_at_pen(world)
    assert ("STOP", {"reason": "HOST_FAULT"}) in sent_to_pen(world)


# ---- the owner's safety net -----------------------------------------------------------------


def test_s7_an_error_in_a_handler_stops_the_needle_latches_and_says_what_broke(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fault injected into one handler (monkeypatched to raise): the owner keeps running."""

    def broken(ctl: object, action: act.Action) -> None:
        raise RuntimeError("the pass counter\nwent negative " + "x" * 400)

    running(world)
    monkeypatch.setitem(dispatch.HANDLERS, act.Pause, broken)
    world.submit(act.Pause(), after_ms=300)
    assert world.device is Device.FAULT and world.owner_alive
    assert ("STOP", {"reason": "HOST_FAULT"}) in sent_to_pen(world)
    [internal] = [a for a in world.ctl.snapshot().alarms if a.alarm_id == "HOST_INTERNAL"]
    error = ("RuntimeError: the pass counter went negative " + "x" * 400)[:300]
    assert f": {error}." in internal.what, "the error on one line, its first 300 characters"
    assert internal.latched
    [fault] = [r for r in world.records("FAULT") if r["data"]["fault_id"] == "HOST_INTERNAL"]
    assert error in fault["data"]["message"]


def test_s7_an_error_in_a_handler_while_armed_stops_the_pen_too(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(ctl: object, action: act.Action) -> None:
        raise RuntimeError("injected")

    world.to_armed()
    monkeypatch.setitem(dispatch.HANDLERS, act.Adjust, broken)
    world.submit(act.Adjust(depth_um=800), after_ms=300)
    assert world.device is Device.FAULT and "HOST_INTERNAL" in world.alarm_ids()
    assert ("STOP", {"reason": "HOST_FAULT"}) in sent_to_pen(world)


def test_the_next_patient_after_an_aborted_session_starts_again_at_intake(world: World) -> None:
    world.connect()
    world.intake()
    world.submit(act.Abort(reason="the patient changed their mind"), after_ms=100)
    assert world.step is Step.ABORTED
    world.intake(patient="P-0002")
    assert world.step is Step.CONSENT and "HOST_INTERNAL" not in world.alarm_ids()
    opened = [r["data"]["patient_pseudonym"] for r in world.records("SESSION_OPEN")]
    assert opened == ["P-0001", "P-0002"]


@pytest.mark.skipif(not DEV_FULL.exists(), reason="needs /dev/full to make writes fail (ENOSPC)")
def test_s7_an_error_in_a_handler_with_the_disk_full_shows_both_and_stops_the_needle(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(ctl: object, action: act.Action) -> None:
        raise RuntimeError("injected")

    running(world)
    monkeypatch.setitem(dispatch.HANDLERS, act.Pause, broken)
    with_the_disk_full(world)
    world.submit(act.Pause(), after_ms=300)
    assert world.device is Device.FAULT and world.owner_alive
    assert set(world.alarm_ids()) == {"HOST_INTERNAL", "JOURNAL_FAULT"}
    assert ("STOP", {"reason": "HOST_FAULT"}) in sent_to_pen(world)


@pytest.mark.skipif(not DEV_FULL.exists(), reason="needs /dev/full to make writes fail (ENOSPC)")
def test_s6_s7_a_pen_alarm_met_with_a_full_disk_shows_beside_the_journal_fault(
    world: World,
) -> None:
    running(world)
    with_the_disk_full(world)
    drifting(world)
    assert world.device is Device.FAULT
    assert {"DEPTH_DEVIATION", "JOURNAL_FAULT"} <= set(world.alarm_ids())
    assert ("STOP", {"reason": "HOST_FAULT"}) in sent_to_pen(world)


def _journal_chores_done() -> None:
    """Waits for the journal's head.json rewrite on its own thread (writer.py), as time would."""
    for thread in threading.enumerate():
        if thread.name == "journal-head":
            thread.join()


def test_s7_a_head_json_that_cannot_be_rewritten_stops_the_needle_within_a_tick(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The periodic checkpoint's head.json is rewritten off the append's path (journal.md §5).
    When that fails and no record follows, the owner's tick still hears of it: the needle
    stops, the fault names head.json, and nothing else is blamed (no uncommanded run)."""
    running(world)

    def failing(*args: object, **kwargs: object) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(writer_module, "write_file_atomic", failing)
    world.advance_ms(61_000)  # a checkpoint falls due (60 s) and rides with the next record
    world.ctl.submit(act.Adjust(depth_um=100_000))  # refused, and the refusal is journaled
    world.advance(0)
    assert world.device is Device.RUNNING
    assert [r["type"] for r in world.records()[-2:]] == ["ACTION_REFUSED", "CHECKPOINT"]
    _journal_chores_done()
    world.advance_ms(100)
    assert world.device is Device.FAULT and world.alarm_ids() == ["JOURNAL_FAULT"]
    assert ("STOP", {"reason": "HOST_FAULT"}) in sent_to_pen(world)
    [journal_fault] = world.ctl.snapshot().alarms
    assert journal_fault.what == (
        "The session journal cannot be written: Input/output error on "
        f"{world.directory / 'journal' / 'head.json'}."
    )


PHOTO = act.AddPhoto(phase="after", path="photos/after.jpg", sha256="ab" * 32)


def test_s1_s6_a_host_fault_while_the_needle_runs_is_not_taken_for_an_uncommanded_run(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A host fault stops the needle from RUNNING straight to FAULT; the telemetry the pen sent
    before it saw that stop still shows the needle turning, and must not raise a second, false
    alarm (the console would say the pen ran by itself)."""

    def broken(ctl: object, action: act.Action) -> None:
        raise RuntimeError("injected")

    running(world)
    monkeypatch.setitem(dispatch.HANDLERS, act.AddPhoto, broken)
    world.submit(PHOTO, after_ms=300)
    assert world.device is Device.FAULT and world.alarm_ids() == ["HOST_INTERNAL"]
    assert ("STOP", {"reason": "HOST_FAULT"}) in sent_to_pen(world)


@pytest.mark.parametrize(
    ("waited_ms", "uncommanded"), [(None, True), (LEASE_MS, False), (LEASE_MS + 1, True)]
)
def test_s1_a_needle_shown_turning_after_a_fault_stop_is_excused_only_while_the_stop_is_on_its_way(
    world: World, monkeypatch: pytest.MonkeyPatch, waited_ms: int | None, uncommanded: bool
) -> None:
    """A frame that came while our stop had waited a lease or less may predate the pen's seeing
    it; one that came with no stop on its way, or a stop unanswered for longer (the pen hears
    the host, its lease holds, and does not answer), is an uncommanded run (S1)."""

    def broken(ctl: object, action: act.Action) -> None:
        raise RuntimeError("injected")

    running(world)
    turning = world.ctl.facts.telemetry
    assert turning is not None and turning.motor_state is MotorState.AT_SPEED
    monkeypatch.setitem(dispatch.HANDLERS, act.AddPhoto, broken)
    world.submit(PHOTO, after_ms=300)
    waited = None if waited_ms is None else waited_ms * NS_PER_MS
    world.ctl.on_link(TelemetryReceived(turning, 0, world.ctl.now_ns(), waited))
    world.advance(0)
    assert ("UNCOMMANDED_RUN" in world.alarm_ids()) is uncommanded


# ---- S9: a refusal's words fit its record -------------------------------------------------------


@pytest.mark.parametrize("length", [REASON_MAX, REASON_MAX + 1])
def test_s9_a_refusals_reason_is_journaled_whole_up_to_its_limit_and_cut_saying_so_beyond(
    world: World, length: int
) -> None:
    world.connect()
    world.intake()
    why = "r" * length
    world.ctl.refuse(act.Start(), why)
    [refused] = world.records("ACTION_REFUSED")
    if length <= REASON_MAX:
        expected = why
    else:
        expected = "r" * (REASON_MAX - 40) + f"... ({length} characters in all)"
    assert refused["data"]["reason"] == expected
    assert world.ctl.last_refusal == f"start: {expected}"


def test_s9_a_refusal_quoting_undecodable_text_is_journaled_escaped(world: World) -> None:
    world.connect()
    world.intake()
    world.ctl.refuse(act.Start(), "profile name 'acne\udcff' is not known")
    [refused] = world.records("ACTION_REFUSED")
    assert refused["data"]["reason"] == "profile name 'acne\\udcff' is not known"
