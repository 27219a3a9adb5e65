"""S2, S3, S4, S6: the treatment step's actions (controller/treatment.py) as the practitioner and
the auditor see them: what an adjustment may propose, what arming sends and journals, what a pause
records, what an acknowledgement clears and the notes it keeps.
"""

from __future__ import annotations

from typing import Any

import pytest

from controller import actions as act
from controller.machines import Device
from simulator.config import PenConfig
from tests.controller.world import World

SOFT_REASON = "scar work on the cheek, agreed with the patient"


def params_sent(world: World) -> list[dict[str, Any]]:
    assert world.ctl.pen is not None
    frames = world.ctl.pen.dump_frames()
    return [f["fields"] for f in frames if f["dir"] == "to_pen" and f["type"] == "SET_PARAMS"]


def doctor_at_the_cheek(world: World) -> None:
    """A doctor's session: 2.0 mm hard and 1.0 mm soft on the left cheek, 90-120 strokes/s."""
    world.connect()
    world.intake(level="doctor", areas=("cheek_left", "forehead"))
    world.prepare()
    world.submit(act.SelectArea(area="cheek_left"))


def requested(world: World) -> list[tuple[str, int, int, str | None]]:
    return [
        (d["area"], d["depth_um"], d["speed_sps"], d["override_reason"])
        for d in (r["data"] for r in world.records("PARAMS_REQUESTED"))
    ]


def refusals(world: World) -> list[tuple[str, str]]:
    return [(r["data"]["action"], r["data"]["reason"]) for r in world.records("ACTION_REFUSED")]


# ---- adjusting within the limits (S2) ----------------------------------------------------------


def test_s2_a_depth_past_the_hard_ceiling_is_refused_with_the_ceiling_named(world: World) -> None:
    doctor_at_the_cheek(world)
    world.submit(act.Adjust(depth_um=5000))
    why = (
        "5.0 mm refused: 2.0 mm is the hard ceiling for the left cheek. Nothing was sent to the "
        "pen; choose 2.0 mm or less."
    )
    assert refusals(world) == [("adjust", why)]
    assert world.ctl.last_refusal == f"adjust: {why}"
    world.submit(act.Arm(), after_ms=200)
    assert requested(world) == [("cheek_left", 1000, 90, None)]


@pytest.mark.parametrize("reason", [None, "   "])
def test_s2_past_the_soft_ceiling_without_a_reason_is_refused_and_nothing_changes(
    world: World, reason: str | None
) -> None:
    doctor_at_the_cheek(world)
    world.submit(act.Adjust(depth_um=1050, confirm_reason=reason))
    [(action, why)] = refusals(world)
    assert action == "adjust"
    assert why.startswith("1.05 mm needs a confirmation with a reason: deeper than 1.0 mm")
    assert why.endswith("choose 1.0 mm or less. Confirm with a reason to go deeper.")
    assert world.ctl.last_refusal == f"adjust: {why}"
    world.submit(act.Arm(), after_ms=200)
    assert requested(world) == [("cheek_left", 1000, 90, None)]
    assert [(p["depth_um"], p["speed_sps"]) for p in params_sent(world)] == [(1000, 90)]


def test_s2_past_the_soft_ceiling_with_a_reason_the_reason_is_journaled_with_the_request(
    world: World,
) -> None:
    doctor_at_the_cheek(world)
    world.submit(act.Adjust(depth_um=1050, speed_sps=110, confirm_reason=SOFT_REASON))
    assert refusals(world) == []
    world.submit(act.Arm(), after_ms=200)
    assert world.device is Device.ARMED
    assert requested(world) == [("cheek_left", 1050, 110, SOFT_REASON)]
    assert [(p["depth_um"], p["speed_sps"]) for p in params_sent(world)] == [(1050, 110)]
    [applied] = world.records("PARAMS_APPLIED")
    assert (applied["data"]["depth_um"], applied["data"]["speed_sps"]) == (1050, 110)


def test_s2_a_reason_given_within_the_soft_ceiling_is_not_journaled_as_an_override(
    world: World,
) -> None:
    doctor_at_the_cheek(world)
    world.submit(act.Adjust(depth_um=950, confirm_reason=SOFT_REASON))
    world.submit(act.Arm(), after_ms=200)
    assert requested(world) == [("cheek_left", 950, 90, None)]


def test_s2_adjusting_one_value_keeps_the_other_as_proposed(world: World) -> None:
    doctor_at_the_cheek(world)
    world.submit(act.Adjust(speed_sps=110))
    world.submit(act.Adjust(depth_um=900))
    assert refusals(world) == []
    world.submit(act.Arm(), after_ms=200)
    assert requested(world) == [("cheek_left", 900, 110, None)]
    assert world.device is Device.ARMED


# ---- selecting an area --------------------------------------------------------------------------


def test_an_area_named_as_a_person_writes_it_is_journaled_by_its_catalogue_name(
    world: World,
) -> None:
    doctor_at_the_cheek(world)
    world.submit(act.SelectArea(area="cheek-left"))
    world.submit(act.Arm(), after_ms=200)
    assert requested(world) == [("cheek_left", 1000, 90, None)]


def test_s3_selecting_another_area_while_armed_disarms_the_pen_first(world: World) -> None:
    doctor_at_the_cheek(world)
    world.submit(act.Arm(), after_ms=200)
    assert world.device is Device.ARMED
    world.submit(act.SelectArea(area="forehead"))
    assert world.device is Device.IDLE
    last = world.records("STATE_CHANGE")[-1]["data"]
    assert (last["machine"], last["from_state"], last["to_state"], last["trigger"]) == (
        "device",
        "armed",
        "idle",
        "disarm",
    )
    world.submit(act.Start(), after_ms=200)
    assert world.device is Device.IDLE
    assert not [f for f in world.ctl.pen.dump_frames() if f["type"] == "START"]  # type: ignore[union-attr]


# ---- pausing and stopping (S4) ------------------------------------------------------------------


def test_s4_a_pause_is_journaled_as_the_operators_stop(world: World) -> None:
    world.to_armed()
    world.start()
    world.submit(act.Pause(), after_ms=200)
    [stop] = world.records("NEEDLE_STOP")
    assert stop["actor"] == "op:tester"
    assert (stop["data"]["reason"], stop["data"]["detail"]) == (
        "operator",
        "paused by the operator",
    )


def test_s4_an_estop_from_the_console_says_where_it_came_from(world: World) -> None:
    world.to_armed()
    world.start()
    world.submit(act.EStop(), after_ms=100)
    [alarm] = [a for a in world.ctl.snapshot().alarms if a.alarm_id == "ESTOP_ENGAGED"]
    assert alarm.what == "Emergency stop engaged from the console."


def test_s8_a_cartridge_that_has_needled_is_remembered_as_used(world: World) -> None:
    world.to_armed()
    serial = world.ctl.progress.cartridge_serial
    assert serial is not None
    world.start()
    assert world.ctl.history.used_cartridges == {serial}


# ---- acknowledging (S6) -------------------------------------------------------------------------


def test_s6_acknowledging_on_a_lost_link_says_to_reconnect_first(world: World) -> None:
    world.connect()
    world.pen.unplug()
    world.advance_ms(1000)
    assert world.device is Device.LINK_LOST
    world.submit(act.Acknowledge(note="seen"))
    assert world.ctl.last_refusal == "acknowledge: the link is still lost; reconnect (R) first"
    assert world.device is Device.LINK_LOST


def test_s6_a_host_fault_acknowledged_keeps_the_operators_note_in_the_journal(
    world: World,
) -> None:
    world.to_armed()
    world.start()
    world.pen.inject("depth_drift", rate_um_per_s=2000.0, for_ms=2000)
    world.advance_ms(1500)
    assert world.device is Device.FAULT
    world.advance_ms(2000)
    world.submit(act.Acknowledge(note="depth checked on the test pad"), after_ms=300)
    acks = [(r["data"]["subject"], r["data"]["note"]) for r in world.records("OPERATOR_ACK")]
    assert ("DEPTH_DEVIATION", "depth checked on the test pad") in acks
    assert "DEPTH_DEVIATION" not in world.alarm_ids()
    assert world.device is Device.IDLE


def test_s6_an_estop_pressed_with_no_pen_stays_latched_until_a_pen_can_confirm_it(
    world: World,
) -> None:
    """Acknowledged with no pen, the e-stop goes back to connecting; acknowledged again there,
    nothing says its cause is gone, so its alarm stays."""
    world.submit(act.EStop(), after_ms=100)
    assert world.device is Device.ESTOP
    world.submit(act.Acknowledge(note="seen"))
    assert world.device is Device.DISCONNECTED
    world.submit(act.Acknowledge(note="seen again"))
    assert "ESTOP_ENGAGED" in world.alarm_ids()


def test_s6_an_echo_mismatch_the_pen_has_no_fault_for_clears_on_acknowledgement() -> None:
    """S3's latch is the controller's own: the pen has nothing to clear, so the acknowledgement
    itself clears it and the note is journaled with it."""
    world = World.build(config=PenConfig(defects=frozenset({"echo-other-set"})))
    try:
        world.connect()
        world.intake()
        world.prepare()
        world.submit(act.SelectArea(area="cheek_left"))
        world.submit(act.Arm(), after_ms=200)
        assert world.device is Device.FAULT
        assert "ECHO_MISMATCH" in world.alarm_ids()
        world.submit(act.Acknowledge(note="pen swapped for the spare"), after_ms=100)
        acks = [(r["data"]["subject"], r["data"]["note"]) for r in world.records("OPERATOR_ACK")]
        assert ("ECHO_MISMATCH", "pen swapped for the spare") in acks
        assert world.alarm_ids() == []
        assert world.device is Device.IDLE
    finally:
        world.close()


def test_s6_a_rebooted_pens_latch_acknowledged_once_it_is_back_keeps_the_note(
    world: World,
) -> None:
    world.to_armed()
    world.pen.reboot()
    world.advance_ms(2000)
    world.submit(act.Connect(), after_ms=500)
    assert world.device is Device.IDLE
    latched = world.alarm_ids()
    assert "LINK_LOST" in latched
    world.submit(act.Acknowledge(note="battery reseated"), after_ms=100)
    acks = [(r["data"]["subject"], r["data"]["note"]) for r in world.records("OPERATOR_ACK")]
    assert ("LINK_LOST", "battery reseated") in acks
    assert world.alarm_ids() == []
