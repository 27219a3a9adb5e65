"""Effective limits at their edges (S2): rounding onto the pen's grid and the soft ceiling.

What a practitioner sees at the console: a refusal that names the layer and the rounding, and a
start depth that never needs a confirmation.
"""

from __future__ import annotations

from profiles import (
    SIMULATED_PEN,
    Area,
    DeviceLimits,
    EffectiveLimits,
    Layer,
    LimitsRefusal,
    RequestVerdict,
    check_request,
    effective_limits,
)
from tests.profiles.factories import catalogue, policy, profile, settings_data


def _limits(
    depth: tuple[int, int, int],
    cartridge_um: int = 2500,
    policy_soft_um: int = 1500,
    device: DeviceLimits = SIMULATED_PEN,
) -> EffectiveLimits:
    result = effective_limits(
        device=device,
        cartridge_max_um=cartridge_um,
        area=Area.HIPS,
        areas=catalogue(hard_um=2500, soft_um=2400),
        profile=profile({Area.HIPS: settings_data(depth=depth)}),
        policy=policy(soft_um=policy_soft_um),
        level="doctor",
    )
    assert isinstance(result, EffectiveLimits), result
    return result


def test_s2_a_depth_between_the_rounded_and_the_stated_maximum_is_refused_by_that_maximum() -> None:
    """A 0.78 mm cartridge allows 0.75 mm on a 0.05 mm grid; 0.77 mm is refused as too deep,
    naming the cartridge and the rounding, not as merely off the pen's steps."""
    limits = _limits(depth=(250, 500, 2000), cartridge_um=780)
    assert (limits.depth_max.value, limits.depth_max.layer_value) == (750, 780)
    check = check_request(limits, 770, 100)
    assert check.verdict is RequestVerdict.REFUSED
    [finding] = check.findings
    assert finding.bound == limits.depth_max
    assert finding.layer is Layer.CARTRIDGE
    assert "rounded down to 0.75 mm" in check.message
    assert "choose 0.75 mm or less" in check.message


def test_s2_the_rounded_maximum_itself_is_accepted() -> None:
    limits = _limits(depth=(250, 500, 2000), cartridge_um=780)
    assert check_request(limits, 750, 100).verdict is RequestVerdict.ACCEPTED


def test_s2_a_default_above_the_soft_ceiling_starts_at_the_soft_ceiling() -> None:
    """The profile's default 1.8 mm lies above the policy's 1.5 mm soft ceiling: the session
    starts at 1.5 mm, which needs no confirmation."""
    limits = _limits(depth=(250, 1800, 2000), policy_soft_um=1500)
    assert limits.soft_depth_max is not None and limits.soft_depth_max.value == 1500
    assert limits.start_depth_um == 1500
    assert not limits.needs_confirmation(limits.start_depth_um)
    start = check_request(limits, limits.start_depth_um, limits.start_speed_sps)
    assert start.verdict is RequestVerdict.ACCEPTED


def test_s2_one_step_above_the_soft_ceiling_needs_a_confirmation() -> None:
    limits = _limits(depth=(250, 1800, 2000), policy_soft_um=1500)
    assert check_request(limits, 1550, 100).verdict is RequestVerdict.NEEDS_CONFIRMATION
    assert check_request(limits, 1500, 100).verdict is RequestVerdict.ACCEPTED


def test_the_bounds_listed_are_the_four_hard_ones_and_the_soft_ceiling_when_there_is_one() -> None:
    with_soft = _limits(depth=(250, 500, 2000), policy_soft_um=1500)
    assert with_soft.soft_depth_max is not None
    assert with_soft.bounds() == (
        with_soft.depth_min,
        with_soft.depth_max,
        with_soft.speed_min,
        with_soft.speed_max,
        with_soft.soft_depth_max,
    )
    without = _limits(depth=(250, 500, 1000), policy_soft_um=1500)
    assert without.soft_depth_max is None
    assert len(without.bounds()) == 4


def test_a_pen_with_one_micrometre_steps_offers_no_depth_past_the_maximum() -> None:
    fine = SIMULATED_PEN.model_copy(update={"depth_step_um": 1})
    limits = _limits(depth=(250, 500, 1000), device=fine)
    assert limits.depth_values()[-1] == limits.depth_max.value == 1000
    assert limits.snap_depth_um(1001) == 1000


def test_the_step_check_counts_from_the_pens_own_grid() -> None:
    """A pen whose grid starts at 0.26 mm: 0.31 mm is on its 0.05 mm steps, 0.30 mm is not."""
    offset = SIMULATED_PEN.model_copy(update={"depth_min_um": 260})
    limits = _limits(depth=(250, 500, 1000), device=offset)
    assert check_request(limits, 310, 100).verdict is RequestVerdict.ACCEPTED
    off_grid = check_request(limits, 300, 100)
    assert off_grid.verdict is RequestVerdict.REFUSED
    assert "choose 0.26 mm or 0.31 mm" in off_grid.message


def test_a_request_breaking_two_limits_names_both_in_one_message() -> None:
    limits = _limits(depth=(250, 500, 1000))
    check = check_request(limits, 1500, 200)
    assert check.verdict is RequestVerdict.REFUSED
    depth, speed = check.findings
    assert check.message == f"{depth.message} {speed.message}"


def _refusal(**settings: object) -> str:
    result = effective_limits(
        device=SIMULATED_PEN,
        cartridge_max_um=2500,
        area=Area.HIPS,
        areas=catalogue(hard_um=2500, soft_um=2400),
        profile=profile({Area.HIPS: settings_data(**settings)}),  # type: ignore[arg-type]
        policy=policy(levels={"therapist": (1000, 100)}),
        level="therapist",
    )
    assert isinstance(result, LimitsRefusal), result
    return result.message


def test_a_depth_conflict_says_which_layers_disagree_and_what_to_do() -> None:
    message = _refusal(depth=(1250, 1500, 2000))
    assert message.startswith(
        "No depth satisfies every limit: 1.25 mm is the minimum depth in profile test-profile "
        "for the hips, but 1.0 mm is the cap for a therapist"
    ), message
    assert (
        "To treat: a practitioner of a higher level must treat this area or choose another "
        "profile for this area." in message
    )


def test_a_speed_conflict_is_named_as_a_speed_conflict() -> None:
    message = _refusal(depth=(250, 500, 1000), speed=(120, 120, 140))
    assert message.startswith("No speed satisfies every limit: 120 strokes/s is the minimum"), (
        message
    )
