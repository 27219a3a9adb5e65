"""An area's limits (controller/treatment.py): its clock (`on_tick`), the profile's maximum needling
time on the area, kept by the owner's tick, which warns as the time nears and pauses the needle at
the limit (no over-long needling; S2: the profile's limits hold; each message says what happened,
what penctl did and what to do next, S10), and its depth, capped by the cartridge's needle.

The tick runs every 100 ms; to check a limit to the nanosecond, a test sets the time the area has
used so far and lets the owner tick at that instant (as the runner would, had its tick fallen
there).
"""

from __future__ import annotations

import pytest

from controller import actions as act
from controller.machines import Device
from controller.progress import AreaProgress
from firmware_bridge.clock import NS_PER_MS, NS_PER_S
from tests.controller.test_controller_core import sent_to_pen
from tests.controller.world import World

SCALP_NS = 20 * 60 * NS_PER_S  # hair-growth on the scalp: 20 min of needling


def on_the_scalp(world: World) -> AreaProgress:
    """The needle running on the scalp (hair-growth, 20 min, 3 passes)."""
    world.connect()
    world.intake(profile="hair-growth", areas=("scalp",), level="doctor")
    world.prepare()
    world.arm("scalp")
    world.start()
    current = world.ctl.progress.current
    assert current is not None and current.max_time_ns == SCALP_NS
    return current


def used_so_far(world: World, current: AreaProgress, used_ns: int) -> None:
    """The area has used `used_ns` of its time now; the owner ticks at this instant."""
    running_ns = (
        0 if current.run_started_ns is None else world.ctl.now_ns() - current.run_started_ns
    )
    current.time_ns = used_ns - running_ns
    world.ctl.tick()
    world.advance(0)


def stops(world: World) -> list[dict[str, object]]:
    return [fields for kind, fields in sent_to_pen(world) if kind == "STOP"]


def test_the_needle_runs_on_until_the_area_s_last_nanosecond(world: World) -> None:
    current = on_the_scalp(world)
    used_so_far(world, current, SCALP_NS - 1)
    assert world.device is Device.RUNNING and stops(world) == []
    assert "AREA_TIME_LIMIT" not in world.alarm_ids()


def test_the_needle_is_paused_the_tick_the_area_s_time_is_used_up(world: World) -> None:
    """The pen is told STOP (reason TIME_LIMIT) at once; the stop, its reason and the alarm are
    journaled, and the alarm says the limit in minutes, what penctl did and what comes next."""
    current = on_the_scalp(world)
    used_so_far(world, current, SCALP_NS)
    assert stops(world) == [{"reason": "TIME_LIMIT"}]
    world.advance_ms(300)
    assert world.device is Device.PAUSED
    [stop] = world.records("NEEDLE_STOP")  # one: the alarm after it sends no second stop
    assert stop["actor"] == "controller"
    assert stop["data"]["reason"] == "time_limit"
    assert stop["data"]["detail"] == "the area's 20 min of needling time reached"
    [shown] = [a for a in world.ctl.snapshot().alarms if a.alarm_id == "AREA_TIME_LIMIT"]
    assert shown.what == "scalp: the profile's maximum of 20 min of needling time is reached."
    assert shown.did == "penctl paused the needle; this area is done for this session."
    [alarm] = world.records("ALARM")
    assert alarm["data"]["alarm_id"] == "AREA_TIME_LIMIT"
    assert alarm["data"]["message"] == f"{shown.what} {shown.did} {shown.next}"
    assert not world.ctl.allowed()["start"].ok  # and no more needling on this area


def test_the_runner_s_own_tick_pauses_the_needle_within_100_ms_of_the_limit(world: World) -> None:
    """Without a test's help: 2 s before the limit, nothing is stopped for 1.999 s, and the
    pen has been told STOP within the next 101 ms (one tick)."""
    current = on_the_scalp(world)
    running_ns = world.ctl.now_ns() - (current.run_started_ns or 0)
    current.time_ns = SCALP_NS - 2 * NS_PER_S - running_ns
    world.advance_ms(1_999)
    assert stops(world) == [] and world.device is Device.RUNNING
    world.advance_ms(101)
    assert stops(world) == [{"reason": "TIME_LIMIT"}]


def test_a_paused_area_s_clock_stands_still(world: World) -> None:
    """Only needling time counts: a second before the limit (the warning given), the needle
    paused for five minutes is stopped by nothing else, and may start again."""
    current = on_the_scalp(world)
    used_so_far(world, current, SCALP_NS - NS_PER_S)
    world.ctl.submit(act.Pause())
    world.advance_ms(500)
    assert world.device is Device.PAUSED and stops(world) == [{"reason": "OPERATOR"}]
    world.advance(5 * 60 * NS_PER_S)
    assert [r["data"]["reason"] for r in world.records("NEEDLE_STOP")] == ["operator"]
    assert world.alarm_ids() == ["AREA_TIME_NEAR"] and world.ctl.allowed()["start"].ok


def test_a_warning_comes_once_at_four_fifths_of_the_area_s_time(world: World) -> None:
    """AREA_TIME_NEAR at 80% used, with the time left in minutes and seconds; the needle runs
    on, and the next tick does not warn again."""
    current = on_the_scalp(world)
    used_so_far(world, current, SCALP_NS * 4 // 5 - 1)
    assert world.alarm_ids() == []
    used_so_far(world, current, SCALP_NS * 4 // 5 + 3_500 * NS_PER_MS)
    [shown] = world.ctl.snapshot().alarms
    assert shown.alarm_id == "AREA_TIME_NEAR"
    assert shown.what == "scalp: 3 min 56 s left of the profile's time on this area."
    [alarm] = world.records("ALARM")
    assert alarm["data"]["alarm_id"] == "AREA_TIME_NEAR"
    assert world.device is Device.RUNNING and stops(world) == []
    used_so_far(world, current, SCALP_NS * 4 // 5 + 10 * NS_PER_S)
    assert [a["data"]["alarm_id"] for a in world.records("ALARM")] == ["AREA_TIME_NEAR"]


def test_an_acknowledged_warning_is_not_given_again_for_the_same_area(world: World) -> None:
    current = on_the_scalp(world)
    used_so_far(world, current, SCALP_NS * 4 // 5)
    world.submit(act.Acknowledge())
    assert world.alarm_ids() == []
    used_so_far(world, current, SCALP_NS * 4 // 5 + 10 * NS_PER_S)
    assert world.alarm_ids() == [] and len(world.records("ALARM")) == 1


def test_the_warning_comes_at_exactly_four_fifths(world: World) -> None:
    current = on_the_scalp(world)
    used_so_far(world, current, SCALP_NS * 4 // 5)
    [shown] = world.ctl.snapshot().alarms
    assert shown.what == "scalp: 4 min 0 s left of the profile's time on this area."


def test_s2_a_short_cartridge_caps_the_area_s_depth_at_its_needle_length(world: World) -> None:
    """The cartridge's needle length is one of the hard limits' layers: a 1.0 mm cartridge on a
    cheek (1.5 mm by the profile) caps the depth at 1.0 mm and says why."""
    world.connect()
    world.pen.inject("pull_cartridge")
    world.advance_ms(200)
    world.pen.inject("seat_cartridge", fresh=True, needle_length_um=1000)
    world.advance_ms(300)
    world.intake()
    world.prepare()
    world.arm()
    limits = world.ctl.limits
    assert limits is not None
    assert (limits.depth_max.value, limits.depth_max.layer.value) == (1000, "cartridge")
    assert limits.depth_max.sentence == "1.0 mm is this cartridge's maximum (its needle length)"


# An area's limits need the pen's own (IDENTIFY) and the session's profile. The workflow ensures
# both before treatment; these put the controller in each state directly, so the refusal holds if
# the workflow in front of it ever changes (as test_permissions.py's "guards behind the workflow").


@pytest.mark.parametrize("missing", ["pen", "profile"])
def test_s2_no_area_is_selected_without_the_pen_s_limits_or_the_profile(
    world: World, missing: str
) -> None:
    world.to_armed()
    if missing == "pen":
        world.ctl.facts.identify = None
    else:
        world.ctl.progress.profile = None
    world.submit(act.SelectArea(area="cheek_right"))
    [refused] = world.records("ACTION_REFUSED")
    assert refused["data"]["reason"] == "the pen is not identified"
    assert world.ctl.progress.area == "cheek_left"


def test_s2_without_a_cartridge_report_an_area_s_limits_leave_the_cartridge_out(
    world: World,
) -> None:
    """The cartridge's layer needs its report; without one the other layers still bound the
    area (the checklist refuses START without a cartridge: S1)."""
    world.to_armed()
    world.ctl.facts.cartridge = None
    world.submit(act.SelectArea(area="cheek_right"))
    limits = world.ctl.limits
    assert world.ctl.progress.area == "cheek_right" and limits is not None
    assert "cartridge" not in [layer.value for layer in limits.layers]
