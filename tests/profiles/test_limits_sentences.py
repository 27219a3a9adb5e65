"""S2 in words: the layer and the sentence a practitioner reads for each bound, note and refusal.

The console shows these sentences when a depth or speed is refused or moved; each names the layer
that decided and what to change. These tests fix the words for the layers and edges the other
limit tests leave implicit: the pen's own maximum, the clinic caps, ties, soft ceilings at the
minimum depth, a start at an off-grid soft ceiling, and the refusals of a profile that cannot be
used at all.
"""

from __future__ import annotations

from typing import Any

from profiles import (
    SIMULATED_PEN,
    Area,
    AreaCatalogue,
    DeviceLimits,
    EffectiveLimits,
    Layer,
    LimitsRefusal,
    effective_limits,
)
from tests.profiles.factories import catalogue, mm, policy, profile, settings_data

SMALL_PEN = DeviceLimits(
    depth_min_um=250,
    depth_max_um=1000,
    depth_step_um=50,
    speed_min_sps=60,
    speed_max_sps=100,
    speed_step_sps=10,
)


def _result(
    depth: tuple[int, int, int] = (250, 500, 2000),
    speed: tuple[int, int, int] = (90, 90, 110),
    profile_soft_um: int | None = None,
    *,
    device: DeviceLimits = SIMULATED_PEN,
    cartridge_um: int = 2500,
    areas: AreaCatalogue | None = None,
    policy_soft_um: int = 2400,
    **policy_caps: Any,
) -> EffectiveLimits | LimitsRefusal:
    """The hips of a one-area profile for a doctor; every other layer is deeper or faster."""
    return effective_limits(
        device=device,
        cartridge_max_um=cartridge_um,
        area=Area.HIPS,
        areas=areas or catalogue(hard_um=2500, soft_um=2400),
        profile=profile(
            {Area.HIPS: settings_data(depth=depth, speed=speed, soft_um=profile_soft_um)}
        ),
        policy=policy(soft_um=policy_soft_um, **policy_caps),
        level="doctor",
    )


def _limits(*args: Any, **kwargs: Any) -> EffectiveLimits:
    result = _result(*args, **kwargs)
    assert isinstance(result, EffectiveLimits), result
    return result


def test_s2_the_pens_own_maximum_depth_and_speed_bind_and_say_so() -> None:
    limits = _limits(speed=(60, 90, 150), device=SMALL_PEN)
    assert (limits.depth_max.layer, limits.depth_max.sentence) == (
        Layer.DEVICE,
        "1.0 mm is the pen's deepest setting",
    )
    assert (limits.speed_max.layer, limits.speed_max.sentence) == (
        Layer.DEVICE,
        "100 strokes/s is the pen's fastest setting",
    )


def test_s2_the_clinic_policys_caps_bind_and_say_so() -> None:
    limits = _limits(speed=(60, 90, 150), depth_cap_um=1200, speed_cap_sps=120)
    assert (limits.depth_max.layer, limits.depth_max.sentence) == (
        Layer.POLICY,
        "1.2 mm is the clinic policy's cap",
    )
    assert (limits.speed_max.layer, limits.speed_max.sentence) == (
        Layer.POLICY,
        "120 strokes/s is the clinic policy's cap",
    )


def test_s2_a_tie_at_the_minimum_names_the_pen_not_the_profile() -> None:
    limits = _limits(depth=(250, 500, 2000))
    assert (limits.depth_min.layer, limits.depth_min.sentence) == (
        Layer.DEVICE,
        "0.25 mm is the pen's shallowest setting",
    )


def test_s2_a_medical_only_ceiling_tied_with_the_policy_cap_names_the_area() -> None:
    """The area's 'medical only above' figure stands beside its own ceiling: on a tie with the
    clinic-wide cap the area is named, whose sentence says a doctor may go deeper."""
    areas = AreaCatalogue.model_validate(
        {
            "areas": {
                area.value: {
                    "label": area.value.replace("_", " "),
                    "region": "body",
                    "depth_max_mm": mm(2500),
                    "depth_soft_max_mm": mm(2400),
                    "soft_reason": "test area soft ceiling",
                    "source": "tests",
                    "medical_only_above_mm": mm(1200),
                }
                for area in Area
            }
        }
    )
    limits = _limits(areas=areas, depth_cap_um=1200)
    assert (limits.depth_max.layer, limits.depth_max.sentence) == (
        Layer.AREA,
        "1.2 mm is the deepest for the hips below a medical level (a doctor may go deeper)",
    )


def test_s2_a_rounded_maximum_says_the_layers_figure_and_the_rounding() -> None:
    limits = _limits(cartridge_um=780)
    assert limits.depth_max.sentence == (
        "0.78 mm is this cartridge's maximum (its needle length); rounded down to 0.75 mm, the "
        "nearest step of the pen (0.05 mm steps)"
    )


def test_the_speeds_offered_are_the_pens_steps() -> None:
    assert _limits(speed=(90, 90, 110)).speed_values() == (90, 100, 110)


def test_s2_the_policys_soft_ceiling_says_it_is_the_clinics() -> None:
    soft = _limits(policy_soft_um=1500).soft_depth_max
    assert soft is not None
    assert (soft.layer, soft.sentence) == (
        Layer.POLICY,
        "above 1.5 mm needs a confirmation by clinic policy",
    )


def test_s2_a_soft_ceiling_at_exactly_the_minimum_depth_stays_where_it_is() -> None:
    limits = _limits(depth=(1500, 1500, 2000), policy_soft_um=1500)
    assert limits.notes == ()
    assert limits.soft_depth_max is not None
    assert (limits.soft_depth_max.value, limits.soft_depth_max.sentence) == (
        1500,
        "above 1.5 mm needs a confirmation by clinic policy",
    )


def test_s2_a_soft_ceiling_below_the_minimum_depth_is_raised_and_says_so() -> None:
    limits = _limits(depth=(1600, 1600, 2000), policy_soft_um=1500)
    assert limits.soft_depth_max is not None
    assert limits.soft_depth_max.sentence == (
        "above 1.5 mm needs a confirmation by clinic policy; raised to 1.6 mm, the minimum depth"
    )


def test_s2_a_default_at_an_off_grid_soft_ceiling_starts_on_the_step_below_it() -> None:
    """1.02 mm is the profile's default and its soft ceiling; the pen has no 1.02 mm step."""
    limits = _limits(depth=(250, 1020, 2000), profile_soft_um=1020)
    assert limits.start_depth_um == 1000
    assert limits.start_depth_note == (
        "starts at 1.0 mm, not the profile's default 1.02 mm: 1.02 mm is not a step of the pen "
        "(0.05 mm steps from 0.25 mm), so the next step down is used"
    )


def test_s2_a_default_deeper_than_the_cartridge_starts_at_the_cartridge_and_names_it() -> None:
    limits = _limits(depth=(250, 1000, 2000), cartridge_um=800)
    assert limits.start_depth_um == 800
    assert limits.start_depth_note == (
        "starts at 0.8 mm, not the profile's default 1.0 mm: 0.8 mm is this cartridge's maximum "
        "(its needle length) (cartridge)"
    )


def test_s2_a_profile_range_with_no_step_of_the_pen_says_so_once() -> None:
    """0.77-0.78 mm holds no 0.05 mm step; both figures are the profile's, so its one remedy."""
    refused = _result(depth=(770, 770, 780))
    assert isinstance(refused, LimitsRefusal)
    assert refused.message == (
        "No depth satisfies every limit: no step of the pen lies between 0.77 mm and 0.78 mm "
        "(0.77 mm is the minimum depth in profile test-profile for the hips; 0.78 mm is the "
        "maximum depth in profile test-profile for the hips). To treat: choose another profile "
        "for this area. Treatment cannot start: nothing was sent to the pen."
    )


def test_a_single_step_range_with_no_step_of_the_pen_is_off_the_grid_not_a_conflict_of_layers() -> (
    None
):
    """Min and max the same off-grid figure: the refusal says no step lies there."""
    refused = _result(depth=(770, 770, 770))
    assert isinstance(refused, LimitsRefusal)
    assert "no step of the pen lies between 0.77 mm and 0.77 mm" in refused.message


def test_s9_a_profile_without_the_area_and_an_unknown_level_are_both_said() -> None:
    refused = effective_limits(
        device=SIMULATED_PEN,
        cartridge_max_um=None,
        area=Area.FOREHEAD,
        areas=catalogue(),
        profile=profile({Area.HIPS: settings_data(), Area.CHIN: settings_data()}),
        policy=policy(),
        level="nurse",
    )
    assert isinstance(refused, LimitsRefusal)
    assert refused.problems == (
        "Profile test-profile does not cover forehead (it covers: hips, chin); choose a profile "
        "for this area.",
        "Practitioner level 'nurse' is not in the clinic policy (known: doctor, therapist); sign "
        "in with a level the policy defines.",
    )
    assert refused.message == " ".join(refused.problems) + (
        " Treatment cannot start: nothing was sent to the pen."
    )


def test_s9_an_area_missing_from_the_catalogue_is_said() -> None:
    every = catalogue()
    areas = every.model_copy(
        update={"areas": {a: spec for a, spec in every.areas.items() if a is not Area.HIPS}}
    )
    refused = effective_limits(
        device=SIMULATED_PEN,
        cartridge_max_um=None,
        area=Area.HIPS,
        areas=areas,
        profile=profile({Area.HIPS: settings_data()}),
        policy=policy(),
        level="doctor",
    )
    assert isinstance(refused, LimitsRefusal)
    assert refused.message == (
        "The area catalogue has no entry for hips. Treatment cannot start: nothing was sent to "
        "the pen."
    )
