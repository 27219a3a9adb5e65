"""Effective limits at their edges (S2): rounding onto the pen's grid and the soft ceiling.

What a practitioner sees at the console: a refusal that names the layer and the rounding, and a
start depth that never needs a confirmation.
"""

from __future__ import annotations

from profiles import (
    SIMULATED_PEN,
    Area,
    EffectiveLimits,
    Layer,
    RequestVerdict,
    check_request,
    effective_limits,
)
from tests.profiles.factories import catalogue, policy, profile, settings_data


def _limits(
    depth: tuple[int, int, int], cartridge_um: int = 2500, policy_soft_um: int = 1500
) -> EffectiveLimits:
    result = effective_limits(
        device=SIMULATED_PEN,
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
