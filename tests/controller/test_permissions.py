"""S1, S9, S10: what the console tells the operator an action needs, at each point of a session.

`allowed()` (controller/permissions.py) decides, for every action, whether it is possible now and,
if not, the words the console shows beside the greyed-out key. These tests walk sessions on the
simulated pen in virtual time (tests/controller/world.py) and check, at each point, which actions
are possible and the exact words of each refusal: the words are what tells the practitioner what
is missing and what to do first.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from controller import actions as act
from controller.machines import Device, Step
from controller.snapshot import Permission
from firmware_bridge.clock import NS_PER_S
from tests.controller.world import DWELL_S, World

EVERY_ACTION = frozenset(cls.name for cls in act.ALL_ACTIONS)

# The step each action belongs to, and the words its refusal uses for it in any other step.
OF_A_STEP = {
    "consent": ("consent", Step.CONSENT),
    "cleanse": ("cleansing", Step.PREPARATION),
    "apply_numbing": ("numbing", Step.PREPARATION),
    "check_cartridge": ("checking the cartridge", Step.PREPARATION),
    "begin_treatment": ("beginning treatment", Step.PREPARATION),
    "select_area": ("choosing an area", Step.TREATMENT),
    "adjust": ("setting depth and speed", Step.TREATMENT),
    "arm": ("setting depth and speed", Step.TREATMENT),
    "start": ("starting the needle", Step.TREATMENT),
    "finish_treatment": ("finishing treatment", Step.TREATMENT),
    "aftercare": ("aftercare", Step.AFTERCARE),
}

NO_NUMBING = "there is no numbing cream on to remove"
NUMBING_DONE = "the numbing cream was applied and removed already; go on with the cartridge"
NOT_RUNNING = "the needle is not running"
NOTHING_TO_ACKNOWLEDGE = "there is nothing to acknowledge"
NO_AREA = "no area is current"
PHOTOS = "photos belong to preparation (before) and aftercare (after)"
NO_SESSION = "no session is under way"
CHOOSE_AREA = "choose an area first: its limits decide what may be set"


@pytest.fixture
def world() -> Iterator[World]:
    built = World.build()
    yield built
    built.close()


def refusals(world: World) -> dict[str, str]:
    """Every action not possible now, with the words the console shows for it."""
    return {name: p.why for name, p in world.ctl.allowed().items() if not p.ok}


def check(world: World, point: str, refused: dict[str, str]) -> None:
    """At `point`, exactly the actions of `refused` (and the actions of another step) are refused,
    each with exactly those words; everything else is possible (Stop and EStop always are)."""
    step = world.step
    expected = dict(refused)
    for name, (doing, belongs) in OF_A_STEP.items():
        if belongs is not step and name not in expected:
            expected[name] = (
                f"{doing} belongs to the {belongs.value} step; the session is at {step}"
            )
    seen = world.ctl.allowed()
    assert set(seen) == EVERY_ACTION
    for name, permission in seen.items():
        want = Permission(False, expected[name]) if name in expected else Permission(True)
        assert permission == want, f"{point}: {name}"


def test_s10_each_refusal_before_and_at_intake_says_what_to_do_first(world: World) -> None:
    base = {
        "remove_numbing": NO_NUMBING,
        "add_photo": PHOTOS,
        "pause": NOT_RUNNING,
        "acknowledge": NOTHING_TO_ACKNOWLEDGE,
        "complete_area": NO_AREA,
        "abort": NO_SESSION,
    }
    check(
        world,
        "disconnected",
        base
        | {"intake": "connect and identify the pen first: the session records which pen is used"},
    )
    world.connect()
    check(
        world,
        "connected",
        base | {"connect": "the pen is idle; connecting is for a lost or closed link"},
    )
    world.intake()
    check(
        world,
        "consent",
        {
            "connect": "the pen is idle; connecting is for a lost or closed link",
            "intake": "a session is under way (step consent); finish or abort it first",
            "remove_numbing": NO_NUMBING,
            "add_photo": PHOTOS,
            "pause": NOT_RUNNING,
            "acknowledge": NOTHING_TO_ACKNOWLEDGE,
            "complete_area": NO_AREA,
        },
    )


def _preparation(extra: dict[str, str]) -> dict[str, str]:
    return {
        "connect": "the pen is idle; connecting is for a lost or closed link",
        "intake": "a session is under way (step preparation); finish or abort it first",
        "pause": NOT_RUNNING,
        "acknowledge": NOTHING_TO_ACKNOWLEDGE,
        "complete_area": NO_AREA,
    } | extra


def test_s1_s10_preparation_goes_in_its_order_and_each_refusal_names_what_is_missing(
    world: World,
) -> None:
    world.connect()
    world.intake()
    world.submit(act.Consent(form_id="CF-1", form_version="3"))
    checklist = "the preparation checklist is not complete: {} (S1)"
    check(
        world,
        "preparation",
        _preparation(
            {
                "apply_numbing": "cleanse the skin before the numbing cream goes on",
                "remove_numbing": NO_NUMBING,
                "begin_treatment": checklist.format(
                    "cleansed, numbing_dwell, numbing_removed, recleansed, cartridge"
                ),
            }
        ),
    )
    world.submit(act.Cleanse())
    check(
        world,
        "cleansed once",
        _preparation(
            {
                "cleanse": "cleanse again once the numbing cream has been removed",
                "remove_numbing": NO_NUMBING,
                "begin_treatment": checklist.format(
                    "numbing_dwell, numbing_removed, recleansed, cartridge"
                ),
            }
        ),
    )
    world.submit(act.ApplyNumbing(agent="lidocaine 5%"))
    world.advance(1 * NS_PER_S)
    check(
        world,
        "numbing on for 1 s",
        _preparation(
            {
                "cleanse": "cleanse again once the numbing cream has been removed",
                "apply_numbing": "numbing cream is already on",
                "remove_numbing": "the numbing cream has been on 1 s; the policy asks 3 s: "
                "wait 2 s more",
                "begin_treatment": checklist.format(
                    "numbing_dwell, numbing_removed, recleansed, cartridge"
                ),
            }
        ),
    )
    world.advance((DWELL_S - 1) * NS_PER_S)
    world.submit(act.RemoveNumbing())
    check(
        world,
        "numbing removed",
        _preparation(
            {
                "apply_numbing": NUMBING_DONE,
                "remove_numbing": NO_NUMBING,
                "begin_treatment": checklist.format("recleansed, cartridge"),
            }
        ),
    )
    world.submit(act.Cleanse())
    world.submit(act.CheckCartridge())
    check(
        world,
        "checklist complete",
        _preparation(
            {
                "cleanse": "the skin has been cleansed twice already",
                "apply_numbing": NUMBING_DONE,
                "remove_numbing": NO_NUMBING,
            }
        ),
    )


def _treatment(extra: dict[str, str], device: str = "idle") -> dict[str, str]:
    return {
        "connect": f"the pen is {device}; connecting is for a lost or closed link",
        "intake": "a session is under way (step treatment); finish or abort it first",
        "remove_numbing": NO_NUMBING,
        "acknowledge": NOTHING_TO_ACKNOWLEDGE,
    } | extra


def test_s1_s10_treatment_the_needle_starts_only_armed_and_each_refusal_says_what_first(
    world: World,
) -> None:
    world.connect()
    world.intake()
    world.prepare()
    arm_first = "the pen is idle; apply the settings (arm) first"
    check(
        world,
        "treatment",
        _treatment(
            {
                "adjust": CHOOSE_AREA,
                "arm": CHOOSE_AREA,
                "start": arm_first,
                "pause": NOT_RUNNING,
                "complete_area": NO_AREA,
            }
        ),
    )
    world.submit(act.SelectArea(area="cheek_left"))
    check(world, "area chosen", _treatment({"start": arm_first, "pause": NOT_RUNNING}))
    world.submit(act.Arm(), after_ms=200)
    check(world, "armed", _treatment({"pause": NOT_RUNNING}, "armed"))
    world.start()
    check(
        world,
        "running",
        _treatment(
            {
                "select_area": "the pen is running; stop or acknowledge first",
                "adjust": "the pen is running; pause before changing depth or speed",
                "arm": "the pen is running; pause before changing depth or speed",
                "start": "the pen is running; apply the settings (arm) first",
                "complete_area": "the pen is running; stop the needle first",
                "finish_treatment": "the pen is running; stop the needle first",
            },
            "running",
        ),
    )
    world.submit(act.Pause(), after_ms=200)
    check(world, "paused", _treatment({"pause": NOT_RUNNING}, "paused"))
    world.submit(act.CompleteArea(), after_ms=50)
    check(
        world,
        "the only area done",
        _treatment(
            {
                "select_area": "every planned area is done; finish the treatment",
                "adjust": CHOOSE_AREA,
                "arm": CHOOSE_AREA,
                "start": arm_first,
                "pause": NOT_RUNNING,
                "complete_area": NO_AREA,
            }
        ),
    )
    world.submit(act.FinishTreatment(), after_ms=50)
    after = {
        "connect": "the pen is idle; connecting is for a lost or closed link",
        "remove_numbing": NO_NUMBING,
        "pause": NOT_RUNNING,
        "acknowledge": NOTHING_TO_ACKNOWLEDGE,
        "complete_area": NO_AREA,
    }
    intake_later = "a session is under way (step aftercare); finish or abort it first"
    check(world, "aftercare", after | {"intake": intake_later})
    world.submit(act.Aftercare(sheet_id="AC-1", sheet_version="2"), after_ms=100)
    check(world, "closed", after | {"add_photo": PHOTOS, "abort": NO_SESSION})


def says(world: World, **expected: str | bool) -> None:
    """Each named action is possible (True) or refused with exactly these words."""
    allowed = world.ctl.allowed()
    for name, want in expected.items():
        permission = Permission(True) if want is True else Permission(False, str(want))
        assert allowed[name] == permission, name


def test_s4_s10_after_an_estop_the_console_says_the_way_back(world: World) -> None:
    world.to_armed()
    world.submit(act.EStop(), after_ms=200)
    assert world.device is Device.ESTOP
    says(
        world,
        connect="the pen is estop; connecting is for a lost or closed link",
        select_area="the pen is estop; stop or acknowledge first",
        arm="the pen is estop; pause before changing depth or speed",
        acknowledge=True,
        complete_area=True,
        finish_treatment=True,
        abort=True,
    )


def test_s4_an_estop_before_connecting_leaves_connect_and_acknowledge_open(world: World) -> None:
    world.submit(act.EStop(), after_ms=100)
    assert world.device is Device.ESTOP
    says(
        world,
        connect=True,
        acknowledge=True,
        intake="connect and identify the pen first: the session records which pen is used",
    )


def test_s4_an_estop_on_a_lost_link_leaves_connect_open(world: World) -> None:
    world.connect()
    world.pen.unplug()
    world.advance_ms(1000)
    assert world.device is Device.LINK_LOST
    says(world, connect=True)
    world.submit(act.EStop(), after_ms=100)
    assert world.device is Device.ESTOP
    says(world, connect=True, acknowledge=True)


def test_s6_a_pen_that_rebooted_is_armed_again_only_once_its_alarm_is_acknowledged(
    world: World,
) -> None:
    world.to_armed()
    world.pen.reboot()
    world.advance_ms(2000)
    world.submit(act.Connect(), after_ms=500)
    assert world.device is Device.IDLE
    says(world, arm="acknowledge LINK_LOST first", acknowledge=True)
    world.submit(act.Acknowledge(), after_ms=100)
    says(world, arm=True, acknowledge=NOTHING_TO_ACKNOWLEDGE)


def test_s3_settings_changed_after_the_pen_confirmed_them_are_applied_again_before_start(
    world: World,
) -> None:
    world.to_armed()
    says(world, start=True)
    world.submit(act.Adjust(depth_um=500))
    says(
        world,
        start="the settings changed since the pen confirmed them; apply them again (S3)",
        arm=True,
    )


def test_s8_a_cartridge_pulled_after_arming_is_named_at_arm_and_start(world: World) -> None:
    world.to_armed()
    world.pen.pull_cartridge()
    world.advance_ms(300)
    says(
        world,
        arm="the cartridge was removed: fit and check a new one (S8)",
        start="no checked cartridge; fit and check a new one (S8)",
    )


def _second_session(world: World) -> None:
    """A whole session on the pen's cartridge, then the next patient's consent."""
    world.to_armed()
    world.start()
    world.submit(act.Pause(), after_ms=200)
    world.submit(act.CompleteArea(), after_ms=50)
    world.submit(act.FinishTreatment(), after_ms=50)
    world.submit(act.Aftercare(sheet_id="AC-1", sheet_version="2"), after_ms=100)
    world.intake(patient="P-0002")
    world.submit(act.Consent(form_id="CF-1", form_version="3"))


def test_s8_checking_the_cartridge_names_one_used_before_missing_or_locked_out(
    world: World,
) -> None:
    _second_session(world)
    serial = world.pen.firmware.cartridge.serial
    says(
        world,
        check_cartridge=f"cartridge {serial} was used in an earlier session; fit a new one (S8)",
    )
    world.pen.pull_cartridge()
    world.advance_ms(300)
    says(world, check_cartridge="fit a new cartridge from a sealed pack: the pen reports none")
    world.pen.seat_cartridge()  # the same one again: the pen locks it out
    world.advance_ms(300)
    says(
        world,
        check_cartridge="the pen reports the cartridge locked out; fit a new one from a sealed "
        "pack (S8)",
    )
    world.pen.pull_cartridge()
    world.pen.seat_cartridge(world.pen.fresh_cartridge())
    world.advance_ms(300)
    says(world, check_cartridge=True)
    world.pen.unplug()  # what the pen last reported may no longer be the cartridge fitted
    world.advance_ms(2000)
    says(
        world,
        check_cartridge="the link to the pen is down, so what it last reported may not be the "
        "cartridge fitted now (S8): reconnect, then check the cartridge",
    )


def test_s7_a_journal_that_cannot_be_written_refuses_arm_start_and_the_next_session(
    world: World,
) -> None:
    world.to_armed()
    real_fd = world.journal._fd  # the one way to fill the disk mid-session
    assert real_fd is not None
    world.journal._fd = os.open("/dev/full", os.O_WRONLY)
    try:
        world.submit(act.Adjust(depth_um=500), after_ms=300)
        world.submit(act.Acknowledge(), after_ms=300)
        assert world.journal.fault is not None
        unrecorded = (
            "the journal cannot be written: no treatment without a record (S7); abort the "
            "session, fix the storage and restart penctl"
        )
        says(world, start=unrecorded)
        world.submit(act.Acknowledge(), after_ms=300)
        assert world.device is Device.IDLE
        says(world, arm=unrecorded, start=unrecorded)
        world.submit(act.Abort(reason="disk full"), after_ms=300)
        says(world, intake="the journal cannot be written: no session without a record (S7)")
    finally:
        os.close(real_fd)


def test_start_is_refused_once_the_profiles_passes_on_the_area_are_done(world: World) -> None:
    world.to_armed()
    current = world.ctl.progress.current
    assert current is not None
    for _ in range(current.max_passes):
        says(world, start=True)
        world.start()
        world.submit(act.Pause(), after_ms=200)
    says(world, start=f"{current.max_passes} passes done on cheek_left: the profile's maximum")


def test_the_numbing_cream_comes_off_exactly_when_the_policys_dwell_has_passed(
    world: World,
) -> None:
    world.connect()
    world.intake()
    world.submit(act.Consent(form_id="CF-1", form_version="3"))
    world.submit(act.Cleanse())
    world.submit(act.ApplyNumbing(agent="lidocaine 5%"))
    world.advance(DWELL_S * NS_PER_S - 1)
    says(
        world,
        remove_numbing="the numbing cream has been on 2 s; the policy asks 3 s: wait 1 s more",
    )
    world.advance(1)
    says(world, remove_numbing=True)


def test_while_the_needle_stops_completing_or_finishing_waits_for_it(world: World) -> None:
    world.to_armed()
    world.start()
    world.submit(act.Stop())
    assert world.device is Device.STOPPING
    says(
        world,
        complete_area="the pen is stopping; stop the needle first",
        finish_treatment="the pen is stopping; stop the needle first",
    )


@pytest.mark.parametrize("ending", ["refused", "aborted"])
def test_after_a_refused_or_aborted_session_the_next_intake_is_open(
    world: World, ending: str
) -> None:
    world.connect()
    answers = dict.fromkeys(world.library.policy.contraindications, "no")
    if ending == "refused":
        answers[next(iter(answers))] = "yes"
        world.submit(
            act.Intake(
                patient="P-0001",
                profile="acne-scars",
                areas=("cheek_left",),
                skin_type=3,
                answers=answers,  # type: ignore[arg-type]
            ),
            after_ms=50,
        )
    else:
        world.intake()
        world.submit(act.Abort(reason="the patient left"), after_ms=50)
    assert world.step is Step(ending)
    says(world, intake=True, abort=NO_SESSION)


# ---- guards behind the workflow ------------------------------------------------------------------
# START's checks repeat what the workflow already ensures by the time the pen is armed (a confirmed
# set, a complete checklist, a live lease). No sequence of actions reaches these states today, so
# these tests put the controller in each one directly: the guard must still hold if the workflow
# that protects it ever changes.


def test_s3_an_armed_pen_without_a_confirmed_set_is_not_started(world: World) -> None:
    world.to_armed()
    world.ctl.progress.confirmed = None
    says(world, start="the pen has not confirmed the settings; apply them (arm) first (S3)")


def test_s1_an_incomplete_checklist_refuses_start_even_when_armed(world: World) -> None:
    world.to_armed()
    world.ctl.progress.cleanses = 1
    says(world, start="the preparation checklist is not complete (S1)")


def test_s1_numbing_off_before_the_policys_dwell_refuses_start_even_when_armed(
    world: World,
) -> None:
    world.to_armed()
    progress = world.ctl.progress
    assert progress.numbing_applied_ns is not None
    progress.numbing_removed_ns = progress.numbing_applied_ns + (DWELL_S * NS_PER_S - 1)
    says(world, start="the preparation checklist is not complete (S1)")
    progress.numbing_removed_ns += 1
    says(world, start=True)


def test_start_is_refused_once_the_profiles_time_on_the_area_is_used_exactly(
    world: World,
) -> None:
    world.to_armed()
    current = world.ctl.progress.current
    assert current is not None
    current.time_ns = current.max_time_ns - 1
    says(world, start=True)
    current.time_ns = current.max_time_ns
    says(world, start="the profile's time on cheek_left is used; complete the area")


def test_s5_start_waits_for_the_pen_to_report_a_live_lease(world: World) -> None:
    world.to_armed()
    telemetry = world.ctl.facts.telemetry
    assert telemetry is not None
    no_lease = "the pen reports no live lease yet; wait a moment and try again (S5)"
    world.ctl.facts.telemetry = telemetry.replace(lease_remaining_ms=0)
    says(world, start=no_lease)
    world.ctl.facts.telemetry = telemetry.replace(lease_remaining_ms=1)
    says(world, start=True)
    world.ctl.facts.telemetry = None
    says(world, start=no_lease)


def test_s6_every_latched_alarm_is_named_before_arming_again(world: World) -> None:
    world.to_armed()
    world.pen.reboot()
    world.advance_ms(2000)
    world.submit(act.Connect(), after_ms=500)
    world.ctl.raise_alarm("PEN_REBOOTED", {})
    says(world, arm="acknowledge LINK_LOST, PEN_REBOOTED first")
