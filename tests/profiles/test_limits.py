"""Effective limits on the bundled library and on hand-built layers: which layer set each bound."""

from __future__ import annotations

import pytest

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
    load_library,
)
from tests.profiles.factories import SKINPEN_LIKE, catalogue, policy, profile, settings_data

LIBRARY = load_library(environ={})


def _limits(
    name: str, area: str, cartridge_um: int | None = None, level: str | None = None
) -> EffectiveLimits:
    result = LIBRARY.effective_limits(name, area, SIMULATED_PEN, cartridge_um, level)
    assert isinstance(result, EffectiveLimits), result
    return result


def test_s2_cartridge_sets_the_maximum_and_says_so() -> None:
    limits = _limits("acne-scars", "cheek_left", cartridge_um=750, level="doctor")
    assert limits.depth_max.value == 750
    assert limits.depth_max.layer is Layer.CARTRIDGE
    assert limits.depth_max.sentence == "0.75 mm is this cartridge's maximum (its needle length)"


def test_s2_therapist_cap_binds_without_a_cartridge() -> None:
    limits = _limits("acne-scars", "cheek_left", level="therapist")
    assert (limits.depth_max.value, limits.depth_max.layer) == (1000, Layer.LEVEL)
    assert "cap for a therapist" in limits.depth_max.sentence
    assert Layer.CARTRIDGE not in limits.layers


def test_a_tie_names_the_more_fundamental_layer() -> None:
    """Profile max 2.0 mm equals the cheek's hard ceiling: the area is named."""
    limits = _limits("acne-scars", "cheek_left", cartridge_um=2500, level="doctor")
    assert (limits.depth_max.value, limits.depth_max.layer) == (2000, Layer.AREA)
    assert limits.depth_max.sentence == "2.0 mm is the hard ceiling for the left cheek"


def test_device_minimum_binds_below_the_pen_range() -> None:
    """dark-circles allows 0.2 mm; the simulated pen starts at 0.25 mm."""
    limits = _limits("dark-circles", "periorbital_left")
    assert (limits.depth_min.value, limits.depth_min.layer) == (250, Layer.DEVICE)
    assert limits.depth_min.sentence == "0.25 mm is the pen's shallowest setting"


def test_s2_soft_ceiling_comes_from_policy_with_its_reason() -> None:
    limits = _limits("stretch-marks", "abdomen", cartridge_um=2500, level="doctor")
    soft = limits.soft_depth_max
    assert soft is not None and (soft.value, soft.layer) == (1500, Layer.POLICY)
    assert soft.reason is not None and "not evaluated above 1.5 mm" in soft.reason
    assert limits.needs_confirmation(1550) and not limits.needs_confirmation(1500)
    check = check_request(limits, 2000, 100)
    assert check.verdict is RequestVerdict.NEEDS_CONFIRMATION
    assert check.findings[0].layer is Layer.POLICY
    assert "confirm with a reason, or choose 1.5 mm or less" in check.message


def test_area_soft_ceiling_below_policy_wins() -> None:
    limits = _limits("fine-lines-wrinkles", "forehead", level="doctor")
    assert limits.soft_depth_max is not None
    assert (limits.soft_depth_max.value, limits.soft_depth_max.layer) == (500, Layer.AREA)


def test_no_soft_band_when_the_hard_maximum_is_below_it() -> None:
    assert _limits("acne-scars", "jawline").soft_depth_max is None


def test_s2_empty_intersection_is_a_refusal_naming_both_layers() -> None:
    result = LIBRARY.effective_limits("stretch-marks", "thighs", SIMULATED_PEN, 500, "doctor")
    assert isinstance(result, LimitsRefusal)
    (conflict,) = result.conflicts
    assert (conflict.low.layer, conflict.high.layer) == (Layer.PROFILE, Layer.CARTRIDGE)
    assert result.layers == (Layer.PROFILE, Layer.CARTRIDGE)
    assert "1.0 mm is the minimum depth in profile stretch-marks" in result.message
    assert "0.5 mm is this cartridge's maximum" in result.message
    assert "fit a cartridge with longer needles" in result.message
    assert "nothing was sent to the pen" in result.message


def test_level_and_profile_conflict_tells_who_may_treat() -> None:
    result = effective_limits(
        device=SIMULATED_PEN,
        cartridge_max_um=2500,
        area=Area.HIPS,
        areas=catalogue(hard_um=2500, soft_um=2000),
        profile=profile({Area.HIPS: settings_data(depth=(1250, 1500, 2000))}),
        policy=policy(),
        level="therapist",
    )
    assert isinstance(result, LimitsRefusal)
    assert result.layers == (Layer.PROFILE, Layer.LEVEL)
    assert "a practitioner of a higher level must treat this area" in result.message


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("nope", "forehead", None, None), "No profile named 'nope'"),
        (("acne-scars", "elbow", None, None), "No area named 'elbow'"),
        (("acne-scars", "scalp", None, None), "does not cover scalp"),
        (("acne-scars", "cheek_left", None, "intern"), "level 'intern' is not in the clinic"),
    ],
)
def test_unknown_names_are_refusals_not_exceptions(
    args: tuple[str, str, int | None, str | None], fragment: str
) -> None:
    name, area, cartridge, level = args
    result = LIBRARY.effective_limits(name, area, SIMULATED_PEN, cartridge, level)
    assert isinstance(result, LimitsRefusal)
    assert fragment in result.message
    assert check_request(result, 500, 100).verdict is RequestVerdict.REFUSED


COARSE_PEN = DeviceLimits(
    depth_min_um=250,
    depth_max_um=2500,
    depth_step_um=250,
    speed_min_sps=90,
    speed_max_sps=150,
    speed_step_sps=20,
)


def _one_area(**area: object) -> EffectiveLimits | LimitsRefusal:
    return effective_limits(
        device=COARSE_PEN,
        cartridge_max_um=None,
        area=Area.CHIN,
        areas=catalogue(hard_um=2000, soft_um=2000),
        profile=profile({Area.CHIN: settings_data(**area)}),  # type: ignore[arg-type]
        policy=policy(levels={"doctor": (3000, None)}),
        level="doctor",
    )


def test_bounds_are_pulled_inwards_onto_the_pen_grid() -> None:
    limits = _one_area(depth=(300, 300, 1400), speed=(95, 95, 145))
    assert isinstance(limits, EffectiveLimits)
    assert (limits.depth_min.value, limits.depth_max.value) == (500, 1250)
    assert limits.depth_min.layer_value == 300
    assert "rounded up to 0.5 mm, the nearest step of the pen (0.25 mm steps)" in (
        limits.depth_min.sentence
    )
    assert (limits.speed_min.value, limits.speed_max.value) == (110, 130)
    assert limits.start_depth_um == 500 and limits.start_speed_sps == 110
    assert limits.depth_values() == (500, 750, 1000, 1250)
    assert limits.snap_depth_um(880) == 1000 and limits.snap_depth_um(875) == 750
    assert limits.snap_speed_sps(500) == 130


def test_no_pen_step_inside_the_range_is_a_refusal() -> None:
    result = _one_area(depth=(300, 300, 450))
    assert isinstance(result, LimitsRefusal)
    assert "no step of the pen lies between 0.3 mm and 0.45 mm" in result.message


def test_start_values_stay_inside_the_limits_and_below_the_soft_ceiling() -> None:
    limits = _limits("loss-of-firmness", "neck", cartridge_um=750, level="doctor")
    assert limits.start_depth_um == 750  # profile default 1.0 mm, cartridge 0.75 mm
    soft_case = _limits("fine-lines-wrinkles", "neck", level="doctor")
    assert soft_case.start_depth_um == 1000 and soft_case.soft_depth_max is not None


class TestCheckRequest:
    """S2 at the console: each adjustment is accepted, needs a confirmation or is refused."""

    limits = _limits("acne-scars", "cheek_left", cartridge_um=1000, level="doctor")

    def test_accepted_inside_every_limit(self) -> None:
        check = check_request(self.limits, 750, 100)
        assert check.verdict is RequestVerdict.ACCEPTED and check.findings == ()
        assert check.message.startswith("0.75 mm at 100 strokes/s is within every limit")

    def test_refused_above_the_cartridge_names_it(self) -> None:
        check = check_request(self.limits, 1250, 100)
        assert check.verdict is RequestVerdict.REFUSED
        assert check.stopped_by is not None and check.stopped_by.layer is Layer.CARTRIDGE
        assert check.message == (
            "1.25 mm refused: 1.0 mm is this cartridge's maximum (its needle length). "
            "Nothing was sent to the pen; choose 1.0 mm or less."
        )

    def test_refused_below_the_profile_minimum(self) -> None:
        check = check_request(self.limits, 250, 100)
        assert check.stopped_by is not None and check.stopped_by.layer is Layer.PROFILE
        assert "choose 0.5 mm or more" in check.message

    def test_off_step_values_are_refused_with_neighbours(self) -> None:
        check = check_request(self.limits, 730, 100)
        assert check.verdict is RequestVerdict.REFUSED and check.stopped_by is not None
        assert check.stopped_by.layer is None
        assert "the pen moves in 0.05 mm steps" in check.message
        assert "choose 0.7 mm or 0.75 mm" in check.message

    def test_speed_and_depth_are_both_reported(self) -> None:
        check = check_request(self.limits, 1500, 140)
        assert [f.quantity.value for f in check.findings] == ["depth", "speed"]
        assert "120 strokes/s is the maximum speed in profile acne-scars" in check.message


def test_a_pen_that_retracts_to_zero_with_quarter_millimetre_steps() -> None:
    """SkinPen-like: 0–2.5 mm in 0.25 mm steps, one fixed speed (7,000 RPM ≈ 117 strokes/s)."""
    result = LIBRARY.effective_limits("dark-circles", "periorbital_left", SKINPEN_LIKE, None)
    assert isinstance(result, EffectiveLimits)  # the profile's 90–120 strokes/s holds 117
    assert result.start_speed_sps == 117
    assert result.start_speed_note == (
        "starts at 117 strokes/s, not the profile's default 90 strokes/s: 117 strokes/s is the "
        "pen's slowest setting (device)"
    )
    assert any("the speed range is a single value, 117 strokes/s" in n for n in result.notes)
    limits = LIBRARY.effective_limits("stretch-marks", "abdomen", SKINPEN_LIKE, None, "doctor")
    assert isinstance(limits, EffectiveLimits)  # 100–130 strokes/s includes 117
    assert limits.depth_values() == (1000, 1250, 1500, 1750, 2000, 2250, 2500)
    assert limits.speed_values() == (117,)
    custom = effective_limits(
        device=SKINPEN_LIKE,
        cartridge_max_um=None,
        area=Area.CHIN,
        areas=catalogue(),
        profile=profile({Area.CHIN: settings_data(depth=(200, 300, 700), speed=(100, 110, 120))}),
        policy=policy(),
        level="doctor",
    )
    assert isinstance(custom, EffectiveLimits)
    assert custom.depth_values() == (250, 500)
    assert custom.start_depth_um == 250
    assert (custom.speed_min.value, custom.speed_max.value) == (117, 117)


def _custom(
    device: DeviceLimits = SIMULATED_PEN,
    *,
    area_soft_um: int = 1000,
    depth: tuple[int, int, int] = (250, 500, 1000),
    speed: tuple[int, int, int] = (90, 90, 120),
    soft_um: int | None = None,
    level: str = "doctor",
) -> EffectiveLimits | LimitsRefusal:
    return effective_limits(
        device=device,
        cartridge_max_um=None,
        area=Area.CHIN,
        areas=catalogue(hard_um=2000, soft_um=area_soft_um),
        profile=profile({Area.CHIN: settings_data(depth=depth, speed=speed, soft_um=soft_um)}),
        policy=policy(),
        level=level,
    )


def test_s2_a_soft_ceiling_below_the_minimum_is_raised_so_the_start_needs_no_confirmation() -> None:
    limits = _custom(area_soft_um=500, depth=(1000, 1000, 1500))
    assert isinstance(limits, EffectiveLimits)
    assert limits.soft_depth_max is not None and limits.soft_depth_max.value == 1000
    assert limits.soft_depth_max.layer_value == 500
    assert not limits.needs_confirmation(limits.start_depth_um)
    assert limits.needs_confirmation(1050)
    (note,) = limits.notes
    assert note.startswith("the soft ceiling 0.5 mm (area) lies below the minimum depth 1.0 mm")
    assert note.endswith("it is raised to 1.0 mm so that starting never needs a confirmation")


def test_a_tie_of_soft_ceilings_shows_the_profile_s_own_reason() -> None:
    limits = _custom(area_soft_um=750, depth=(250, 500, 1500), soft_um=750)
    assert isinstance(limits, EffectiveLimits) and limits.soft_depth_max is not None
    assert limits.soft_depth_max.layer is Layer.PROFILE
    assert limits.soft_depth_max.reason == "test soft ceiling"


def test_the_start_note_names_the_layer_that_moved_the_start() -> None:
    limits = _custom(depth=(250, 900, 1500), level="therapist")
    assert isinstance(limits, EffectiveLimits)
    assert limits.start_depth_um == 900 and limits.start_depth_note is None
    capped = _custom(depth=(250, 900, 1500), area_soft_um=600)
    assert isinstance(capped, EffectiveLimits) and capped.start_depth_um == 600
    assert capped.start_depth_note == (
        "starts at 0.6 mm, not the profile's default 0.9 mm: a start never needs a "
        "confirmation, and above 0.6 mm needs a confirmation for the chin"
    )
    coarse = DeviceLimits(
        depth_min_um=250,
        depth_max_um=2500,
        depth_step_um=250,
        speed_min_sps=60,
        speed_max_sps=150,
        speed_step_sps=10,
    )
    gridded = _custom(coarse, depth=(250, 900, 1500))
    assert isinstance(gridded, EffectiveLimits) and gridded.start_depth_um == 750
    assert gridded.start_depth_note is not None
    assert (
        "0.9 mm is not a step of the pen (0.25 mm steps from 0.25 mm)" in gridded.start_depth_note
    )


def test_a_level_that_collapses_the_range_to_one_value_says_so() -> None:
    limits = _custom(depth=(1000, 1000, 1500), level="therapist")
    assert isinstance(limits, EffectiveLimits)
    assert limits.depth_values() == (1000,)
    assert any(
        note.startswith(
            "the depth range is a single value, 1.0 mm: 1.0 mm is the cap for a "
            "therapist in the clinic policy (level)"
        )
        for note in limits.notes
    )


def test_a_conflict_never_names_a_value_the_pen_does_not_have() -> None:
    """The pen runs 100–150 strokes/s; the profile stops at 90. Rounding 90 down onto the pen's
    grid would give a figure below the pen's slowest setting: the message quotes 90 itself."""
    fast = SIMULATED_PEN.model_copy(update={"speed_min_sps": 100})
    result = _custom(fast, speed=(60, 60, 90))
    assert isinstance(result, LimitsRefusal)
    (conflict,) = result.conflicts
    assert conflict.high.value == conflict.high.layer_value == 90
    assert "rounded" not in result.message
    assert (
        "90 strokes/s is the maximum speed in profile test-profile for the chin" in result.message
    )


def test_the_neck_goes_past_its_medical_figure_only_at_a_medical_level() -> None:
    nurse = LIBRARY.policy.model_copy(
        update={
            "levels": {
                **LIBRARY.policy.levels,
                "nurse": LIBRARY.policy.levels["doctor"].model_copy(update={"medical": False}),
            }
        }
    )
    entry = LIBRARY.entry("fine-lines-wrinkles")
    assert entry is not None
    result = effective_limits(
        device=SIMULATED_PEN,
        cartridge_max_um=None,
        area=Area.NECK,
        areas=LIBRARY.areas,
        profile=entry.profile,
        policy=nurse,
        level="nurse",
    )
    assert isinstance(result, EffectiveLimits)
    assert (result.depth_max.value, result.depth_max.layer) == (1500, Layer.AREA)
    assert "below a medical level (a doctor may go deeper)" in result.depth_max.sentence
    doctor = _limits("fine-lines-wrinkles", "neck", level="doctor")
    assert doctor.depth_max.value == 2500
