"""S3, S4, S6: how the controller follows the pen's answers (controller/pen_events.py): a set
confirmed or echoed otherwise (S3), a START or an acknowledgement the pen refused or never
answered, a CLEAR_FAULT it confirmed or refused (S6), and connecting, including an e-stop pressed
before any pen was open (S4).

Where the simulated pen cannot give an answer (a NAK for a set in range, a command the link gave
up on), the command's frame is held back on the wire and the owner is handed the answer the link
would give for it, at that instant.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from controller import actions as act
from controller.machines import Device
from firmware_bridge.link import Confirmed, Failed, Refused
from firmware_bridge.link.outputs import EchoMismatch
from firmware_bridge.protocol import FaultCode, NakReason, PenState
from firmware_bridge.protocol.messages import Ack, ClearFault, MessageType, Nak, Start
from simulator.config import PenConfig
from tests.controller.test_controller_core import commands_at_pen
from tests.controller.world import World


@pytest.fixture
def world() -> Iterator[World]:
    built = World.build()
    yield built
    built.close()


def refusals(world: World, action: str) -> list[str]:
    return [
        r["data"]["reason"]
        for r in world.records("ACTION_REFUSED")
        if r["data"]["action"] == action
    ]


def held_back(world: World, action: act.Action, purpose: str) -> int:
    """Submit `action` with its command's frame lost on the way to the pen: the owner waits."""
    world.pen.inject("drop", direction="to_pen", frames=1)
    world.submit(action)
    [command_id] = [cid for cid, why in world.ctl.pending.items() if why == purpose]
    return command_id


def answer(world: World, output: Any) -> None:
    world.ctl.on_link(output)
    world.advance(0)


def ack(kind: MessageType, state: PenState, version: int = 1, depth: int = 1000) -> Ack:
    return Ack(
        ack_seq=1,
        ack_type=kind,
        pen_state=state,
        param_version=version,
        depth_um=depth,
        speed_sps=90,
        params_crc=0,
        lease_remaining_ms=500,
    )


def nak(kind: MessageType, reason: NakReason, detail: int) -> Nak:
    return Nak(nak_seq=1, nak_type=kind, reason=reason, detail=detail)


def as_requested(world: World, **changes: Any) -> dict[str, Any]:
    """The one PARAMS_REQUESTED's set, with `changes`."""
    [requested] = world.records("PARAMS_REQUESTED")
    data = {k: v for k, v in requested["data"].items() if k != "override_reason"}
    return data | changes


def to_arming(world: World) -> int:
    world.connect()
    world.intake()
    world.prepare()
    world.submit(act.SelectArea(area="cheek_left"))
    return held_back(world, act.Arm(), "arm")


def estopped(world: World) -> None:
    world.to_armed()
    world.start()
    world.submit(act.EStop(), after_ms=100)
    assert world.device is Device.ESTOP


# ---- S3: the set the pen confirmed, journaled as the pen's ---------------------------------------


def test_s3_a_confirmed_set_is_journaled_by_the_pen_for_its_area_as_matching(world: World) -> None:
    world.to_armed()
    [applied] = world.records("PARAMS_APPLIED")
    assert applied["actor"] == "pen"
    assert applied["data"] == as_requested(world, matches_request=True)
    assert applied["data"]["area"] == "cheek_left"


def test_s3_an_echo_of_another_set_is_journaled_as_echoed_alarmed_and_latched() -> None:
    """A pen that echoes a depth one step off the one applied: the journal keeps what it echoed,
    marked as not matching, the console says which fields differ, and nothing can start."""
    world = World.build(config=PenConfig(defects=frozenset({"echo-other-set"})))
    try:
        world.connect()
        world.intake()
        world.prepare()
        world.submit(act.SelectArea(area="cheek_left"))
        world.submit(act.Arm(), after_ms=200)
        [applied] = world.records("PARAMS_APPLIED")
        assert applied["actor"] == "pen"
        depth_um = as_requested(world)["depth_um"] + 50
        assert applied["data"] == as_requested(world, depth_um=depth_um, matches_request=False)
        assert applied["data"]["area"] == "cheek_left"
        [alarm] = world.ctl.snapshot().alarms
        assert alarm.alarm_id == "ECHO_MISMATCH" and alarm.latched
        assert alarm.what == "The pen confirmed other settings than penctl sent: depth_um differ."
        assert world.device is Device.FAULT
        assert world.ctl.snapshot().confirmed is None
    finally:
        world.close()


def test_s3_an_echo_of_version_zero_is_journaled_as_version_one(world: World) -> None:
    """The journal's versions start at 1: an echo of the pen's empty set (version 0) is recorded
    as 1, with what it echoed and marked as not matching."""
    command_id = to_arming(world)
    asked = world.ctl.pen.params_message(depth_um=1000, speed_sps=90)  # type: ignore[union-attr]
    echoed = ack(MessageType.SET_PARAMS, PenState.IDLE, version=0, depth=0)
    answer(world, EchoMismatch(command_id, asked, echoed, ("param_version", "depth_um"), world.now))
    [applied] = world.records("PARAMS_APPLIED")
    assert applied["data"]["param_version"] == 1
    assert (applied["data"]["depth_um"], applied["data"]["matches_request"]) == (0, False)
    assert world.alarm_ids() == ["ECHO_MISMATCH"]
    assert "param_version, depth_um differ" in world.ctl.snapshot().alarms[0].what


# ---- the pen refused the set, or the link gave up on it ------------------------------------------


def test_s3_a_set_the_pen_refused_is_said_journaled_and_leaves_nothing_armed(world: World) -> None:
    command_id = to_arming(world)
    assert world.device is Device.ARMING
    asked = world.ctl.pen.params_message(depth_um=1000, speed_sps=90)  # type: ignore[union-attr]
    refusal = nak(MessageType.SET_PARAMS, NakReason.BAD_STATE, PenState.FAULTED)
    answer(world, Refused(command_id, asked, refusal, world.now))
    words = "the pen refused the settings: the pen cannot do that in its current state (FAULTED)"
    assert refusals(world, "arm") == [words]
    assert world.ctl.last_refusal == f"arm: {words}"
    assert world.device is Device.IDLE
    assert world.records("PARAMS_APPLIED") == [] and world.ctl.snapshot().confirmed is None


def test_s3_a_set_the_link_gave_up_on_is_refused_in_the_links_words(world: World) -> None:
    command_id = to_arming(world)
    asked = world.ctl.pen.params_message(depth_um=1000, speed_sps=90)  # type: ignore[union-attr]
    answer(world, Failed(command_id, asked, "no answer after 3 tries", world.now))
    assert refusals(world, "arm") == ["the pen refused the settings: no answer after 3 tries"]
    assert world.ctl.last_refusal == "arm: the pen refused the settings: no answer after 3 tries"
    assert world.device is Device.IDLE


# ---- START not confirmed -------------------------------------------------------------------------


def start_held_back(world: World) -> int:
    world.to_armed()
    return held_back(world, act.Start(), "start")


@pytest.mark.parametrize(
    ("make", "why"),
    [
        (
            lambda cid, t: Refused(cid, Start(1), nak(MessageType.START, NakReason.NO_LEASE, 0), t),
            "the pen refused START: the host's lease has lapsed; renew it first",
        ),
        (
            lambda cid, t: Failed(cid, Start(1), "no answer after 3 tries", t),
            "START was not confirmed by the pen: no answer after 3 tries",
        ),
        (
            lambda cid, t: EchoMismatch(
                cid,
                Start(1),
                ack(MessageType.START, PenState.RUNNING, depth=1050),
                ("depth_um",),
                t,
            ),
            "the pen answered START with an echo of other settings (S3)",
        ),
    ],
    ids=["refused", "failed", "echo"],
)
def test_s1_a_start_the_pen_did_not_confirm_is_said_journaled_and_the_area_clock_stays_stopped(
    world: World, make: Any, why: str
) -> None:
    command_id = start_held_back(world)
    assert world.device is Device.RUNNING
    assert world.ctl.progress.current is not None
    assert world.ctl.progress.current.run_started_ns is not None
    answer(world, make(command_id, world.now))
    assert refusals(world, "start") == [why]
    assert world.ctl.last_refusal == f"start: {why}"
    assert world.device is Device.ARMED
    assert world.ctl.progress.current.run_started_ns is None


def test_s1_a_confirmed_start_runs_and_journals_no_refusal(world: World) -> None:
    world.to_armed()
    world.start()
    assert world.records("ACTION_REFUSED") == []
    assert world.device is Device.RUNNING


def test_an_answer_to_a_command_nobody_waits_for_changes_nothing(world: World) -> None:
    """A STOP's outcome, say: the owner waits only for arm, start and clear answers."""
    world.to_armed()
    before = len(world.records())
    answer(world, Failed(9999, Start(1), "no answer after 3 tries", world.now))
    answer(world, Confirmed(9998, Start(1), ack(MessageType.STOP, PenState.IDLE), world.now, None))
    assert world.records("ACTION_REFUSED") == []
    assert world.device is Device.ARMED and world.ctl.last_refusal is None
    assert len(world.records()) == before


# ---- S6: the acknowledgement, cleared only on the pen's word -------------------------------------


def clear_held_back(world: World, note: str = "checked the pen") -> int:
    estopped(world)
    return held_back(world, act.Acknowledge(note=note), "clear")


def test_s6_a_clear_the_pen_confirmed_idle_clears_the_estop_with_the_operators_note(
    world: World,
) -> None:
    estopped(world)
    world.submit(act.Acknowledge(note="checked the pen"), after_ms=100)
    assert world.device is Device.IDLE and world.alarm_ids() == []
    [acked] = [r for r in world.records("OPERATOR_ACK") if r["data"]["subject"] == "ESTOP_ENGAGED"]
    assert acked["data"]["note"] == "checked the pen"


def test_s6_a_clear_confirmed_with_the_pen_still_latched_keeps_the_estop(world: World) -> None:
    command_id = clear_held_back(world)
    answer(
        world,
        Confirmed(
            command_id,
            ClearFault(FaultCode.ESTOP),
            ack(MessageType.CLEAR_FAULT, PenState.FAULTED),
            world.now,
            None,
        ),
    )
    assert world.device is Device.ESTOP and world.alarm_ids() == ["ESTOP_ENGAGED"]
    assert world.records("OPERATOR_ACK") == []


def test_s6_an_estop_the_pen_never_latched_is_cleared_on_its_wrong_fault_none(world: World) -> None:
    """The pen answers CLEAR_FAULT(ESTOP) with WRONG_FAULT, nothing latched: the host's latch
    goes, with the operator's note."""
    command_id = clear_held_back(world, note="pen was never stopped")
    refusal = nak(MessageType.CLEAR_FAULT, NakReason.WRONG_FAULT, FaultCode.NONE)
    answer(world, Refused(command_id, ClearFault(FaultCode.ESTOP), refusal, world.now))
    assert world.device is Device.IDLE and world.alarm_ids() == []
    [acked] = [r for r in world.records("OPERATOR_ACK") if r["data"]["subject"] == "ESTOP_ENGAGED"]
    assert acked["data"]["note"] == "pen was never stopped"
    assert world.records("ACTION_REFUSED") == []


@pytest.mark.parametrize(
    ("reason", "detail", "words"),
    [
        (
            NakReason.WRONG_FAULT,
            FaultCode.OVER_TEMPERATURE,
            "that is not the active fault (the active one is OVER_TEMPERATURE)",
        ),
        (
            NakReason.BAD_STATE,
            PenState.BOOTING,
            "the pen cannot do that in its current state (BOOTING)",
        ),
    ],
    ids=["another-fault", "booting"],
)
def test_s6_a_clear_the_pen_refused_keeps_the_latch_and_says_why(
    world: World, reason: NakReason, detail: int, words: str
) -> None:
    command_id = clear_held_back(world)
    refusal = nak(MessageType.CLEAR_FAULT, reason, detail)
    answer(world, Refused(command_id, ClearFault(FaultCode.ESTOP), refusal, world.now))
    assert world.device is Device.ESTOP and world.alarm_ids() == ["ESTOP_ENGAGED"]
    assert refusals(world, "acknowledge") == [f"the pen kept the fault: {words}"]
    assert world.ctl.last_refusal == f"acknowledge: the pen did not clear the fault: {words}"
    assert world.records("OPERATOR_ACK") == []


def test_s6_a_clear_the_link_gave_up_on_keeps_the_latch_and_says_what_happened(
    world: World,
) -> None:
    command_id = clear_held_back(world)
    failed = Failed(command_id, ClearFault(FaultCode.ESTOP), "no answer after 3 tries", world.now)
    answer(world, failed)
    assert world.device is Device.ESTOP and world.alarm_ids() == ["ESTOP_ENGAGED"]
    [reason] = refusals(world, "acknowledge")
    assert reason == f"the pen kept the fault: {failed}"
    assert "no answer after 3 tries" in reason


# ---- connecting ----------------------------------------------------------------------------------


def test_a_port_that_cannot_be_opened_is_said_and_connecting_is_the_next_step(world: World) -> None:
    world.connect()
    world.intake()
    world.pen.unplug()
    world.advance_ms(1000)
    world.submit(act.Connect(), after_ms=500)
    assert world.device is Device.DISCONNECTED
    assert world.ctl.last_refusal is not None
    assert world.ctl.last_refusal.startswith("connect: could not open the pen's port")
    assert "unplugged" in world.ctl.last_refusal
    changes = [r["data"] for r in world.records("STATE_CHANGE") if r["data"]["machine"] == "device"]
    assert changes[-1] == {
        "machine": "device",
        "from_state": "connecting",
        "to_state": "disconnected",
        "trigger": "port_failed",
    }
    world.pen.replug()
    world.submit(act.Connect(), after_ms=500)
    assert world.device is Device.IDLE
    changes = [r["data"] for r in world.records("STATE_CHANGE") if r["data"]["machine"] == "device"]
    assert [(c["from_state"], c["trigger"]) for c in changes[-3:]] == [
        ("disconnected", "connect"),
        ("connecting", "port_open"),
        ("identifying", "identified"),
    ]


def replugged_and_reconnected(world: World) -> None:
    world.pen.unplug()
    world.advance_ms(1000)
    world.pen.replug()
    world.submit(act.Connect(), after_ms=500)


def test_s4_an_estop_pressed_before_any_pen_was_open_is_delivered_once_and_holds(
    world: World,
) -> None:
    world.submit(act.EStop(), after_ms=10)
    world.submit(act.Connect(), after_ms=500)
    assert commands_at_pen(world).count("ESTOP") == 1
    assert world.device is Device.ESTOP and world.alarm_ids() == ["ESTOP_ENGAGED"]
    replugged_and_reconnected(world)
    assert commands_at_pen(world).count("ESTOP") == 1, commands_at_pen(world)
    assert world.device is Device.ESTOP


# ---- an arm answered after its area was completed under an e-stop --------------------------------


def arm_answer_late_after_an_estop(world: World) -> None:
    """The pen applied the set, then the e-stop, which discards it (protocol.md §7); its answer
    to the set is late on the wire (60 ms) and reaches the host after the host sent the e-stop."""
    world.connect()
    world.intake()
    world.prepare()
    world.submit(act.SelectArea(area="cheek_left"))
    world.pen.inject("delay", direction="to_host", delay_ms=60, frames=1)
    world.submit(act.Arm())
    world.submit(act.EStop())


def arm_answered_after_the_area_was_completed(world: World) -> None:
    """As above, and the operator completed the area before the answer came."""
    arm_answer_late_after_an_estop(world)
    world.submit(act.CompleteArea())
    assert world.device is Device.ESTOP and world.ctl.snapshot().area is None
    world.advance_ms(200)


def test_s3_a_late_echo_of_another_set_is_journaled_for_no_area_and_alarmed() -> None:
    world = World.build(config=PenConfig(defects=frozenset({"echo-other-set"})))
    try:
        arm_answered_after_the_area_was_completed(world)
        [applied] = world.records("PARAMS_APPLIED")
        assert applied["data"]["area"] == "unknown"
        assert applied["data"]["matches_request"] is False
        assert world.alarm_ids() == ["ECHO_MISMATCH", "ESTOP_ENGAGED"]
        assert world.device is Device.ESTOP
    finally:
        world.close()


def test_s3_s6_a_late_confirmation_of_a_set_no_longer_asked_for_is_no_internal_error(
    world: World,
) -> None:
    arm_answered_after_the_area_was_completed(world)
    assert world.alarm_ids() == ["ESTOP_ENGAGED"]
    assert world.device is Device.ESTOP
    assert world.ctl.snapshot().confirmed is None


def test_s3_an_arming_answer_that_comes_after_an_estop_confirms_nothing(world: World) -> None:
    """The answer to the set is journaled as applied, but no set is shown as confirmed while
    e-stopped, nor once the e-stop is cleared: the pen discarded it."""
    arm_answer_late_after_an_estop(world)
    world.advance_ms(200)
    [applied] = world.records("PARAMS_APPLIED")
    assert applied["data"]["area"] == "cheek_left" and applied["data"]["matches_request"]
    assert world.device is Device.ESTOP
    assert world.ctl.snapshot().confirmed is None
    world.submit(act.Acknowledge(note="e-stop tested"))
    world.advance_ms(300)
    assert world.device is Device.IDLE
    assert world.ctl.snapshot().confirmed is None


def test_s3_only_the_answer_to_the_latest_arm_confirms_a_set(world: World) -> None:
    """The first arm's SET_PARAMS is lost and retransmitted; meanwhile an internal error is
    latched and acknowledged, the depth changed and armed again. The pen answers both sets in
    turn: each is journaled as applied, but only the answer to the latest arm's set confirms
    it, and it is the one shown as confirmed once ARMED."""
    to_arming(world)
    depth_1 = as_requested(world)["depth_um"]
    world.ctl.internal_fault(RuntimeError("a test's internal error"))
    world.submit(act.Acknowledge(note="seen"))
    assert world.device is Device.IDLE
    world.submit(act.Adjust(depth_um=depth_1 - 100))
    world.submit(act.Arm())
    world.advance_ms(600)
    applied = [
        (r["data"]["param_version"], r["data"]["depth_um"]) for r in world.records("PARAMS_APPLIED")
    ]
    assert applied == [(1, depth_1), (2, depth_1 - 100)]
    assert world.device is Device.ARMED
    confirmed = world.ctl.snapshot().confirmed
    assert confirmed is not None
    assert (confirmed.depth_um, confirmed.param_version) == (depth_1 - 100, 2)


def test_s3_a_refusal_of_an_earlier_arms_set_is_journaled_and_ends_no_later_arming(
    world: World,
) -> None:
    """The link gives up on the first arm's set while a second arm's waits: the refusal is
    journaled, but it neither ends the second arming nor shows as the operator's last refusal."""
    first = to_arming(world)
    world.ctl.internal_fault(RuntimeError("a test's internal error"))
    world.submit(act.Acknowledge(note="seen"))
    world.pen.inject("drop", direction="to_pen", frames=1)
    world.submit(act.Arm())
    assert world.device is Device.ARMING
    last_refusal = world.ctl.last_refusal
    asked = world.ctl.pen.params_message(depth_um=1000, speed_sps=90)  # type: ignore[union-attr]
    refusal = nak(MessageType.SET_PARAMS, NakReason.BAD_STATE, PenState.FAULTED)
    answer(world, Refused(first, asked, refusal, world.now))
    assert refusals(world, "arm") == [
        "the pen refused the settings: the pen cannot do that in its current state (FAULTED)"
    ]
    assert world.device is Device.ARMING
    assert world.ctl.last_refusal == last_refusal
