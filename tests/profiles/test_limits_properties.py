"""Properties of the effective-limits function under Hypothesis (S2).

Figures are drawn from the plausible range of a file (0.2–3.0 mm, 60–300 strokes/s: below that a
file is refused as a unit slip). An independent oracle restates each layer's figures straight from
the inputs and checks, over every step of the pen, that the computed range is exactly the set of
depths and speeds every layer allows: never wider than any layer, never narrower than the
intersection, and an empty intersection comes back as a refusal value, never as an exception.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from profiles import (
    Area,
    AreaCatalogue,
    ClinicPolicy,
    DeviceLimits,
    EffectiveLimits,
    Layer,
    LimitsRefusal,
    Profile,
    RequestVerdict,
    check_request,
    effective_limits,
)
from tests.profiles.factories import catalogue, policy, profile, settings_data

AREA = Area.NECK


@dataclass(frozen=True)
class Case:
    device: DeviceLimits
    cartridge_um: int | None
    areas: AreaCatalogue
    profile: Profile
    policy: ClinicPolicy
    level: str


@st.composite
def cases(draw: st.DrawFn) -> Case:
    depth_step = draw(st.sampled_from([10, 50, 100, 250]))
    depth_min = draw(st.integers(0, 1000))
    depth_max = depth_min + draw(st.integers(0, 2500 // depth_step)) * depth_step
    depth_max += draw(st.sampled_from([0, 0, depth_step // 2]))  # sometimes off the grid
    depth_max = max(depth_max, depth_step)  # a pen reaches some depth
    speed_step = draw(st.sampled_from([1, 5, 10, 20]))
    speed_min = draw(st.integers(0, 150))
    speed_max = speed_min + draw(st.integers(0, 100 // speed_step)) * speed_step
    speed_max = max(speed_max, speed_step)
    device = DeviceLimits(
        depth_min_um=depth_min,
        depth_max_um=depth_max,
        depth_step_um=depth_step,
        speed_min_sps=speed_min,
        speed_max_sps=speed_max,
        speed_step_sps=speed_step,
    )
    cartridge = draw(st.none() | st.integers(0, 3500))
    hard = draw(st.integers(200, 3000))
    areas = catalogue(hard_um=hard, soft_um=draw(st.integers(200, hard)))
    d_min, d_default, d_max = sorted(draw(st.lists(st.integers(200, 3000), min_size=3, max_size=3)))
    soft = draw(st.none() | st.integers(d_default, d_max))
    s_min, s_default, s_max = sorted(draw(st.lists(st.integers(60, 300), min_size=3, max_size=3)))
    the_profile = profile(
        {
            AREA: settings_data(
                depth=(d_min, d_default, d_max), speed=(s_min, s_default, s_max), soft_um=soft
            )
        }
    )
    levels = {
        "therapist": (draw(st.integers(200, 3000)), draw(st.none() | st.integers(60, 300))),
        "doctor": (3000, None),
    }
    the_policy = policy(
        soft_um=draw(st.integers(200, 3000)),
        depth_cap_um=draw(st.none() | st.integers(200, 3000)),
        speed_cap_sps=draw(st.none() | st.integers(60, 300)),
        levels=levels,
    )
    level = draw(st.sampled_from(["therapist", "doctor"]))
    return Case(device, cartridge, areas, the_profile, the_policy, level)


def compute(case: Case) -> EffectiveLimits | LimitsRefusal:
    return effective_limits(
        device=case.device,
        cartridge_max_um=case.cartridge_um,
        area=AREA,
        areas=case.areas,
        profile=case.profile,
        policy=case.policy,
        level=case.level,
    )


class Oracle:
    """Each layer's figures, restated from the inputs without the code under test."""

    def __init__(self, case: Case) -> None:
        area = case.profile.areas[AREA]
        spec = case.areas.areas[AREA]
        level = case.policy.levels[case.level]
        self.device = case.device
        self.depth_lows = {Layer.DEVICE: case.device.depth_min_um, Layer.PROFILE: area.depth_min_um}
        self.depth_highs = {
            Layer.DEVICE: [case.device.depth_max_um],
            Layer.CARTRIDGE: [] if case.cartridge_um is None else [case.cartridge_um],
            Layer.AREA: [spec.depth_max_um],
            Layer.POLICY: [] if case.policy.depth_max_um is None else [case.policy.depth_max_um],
            Layer.LEVEL: [level.depth_max_um],
            Layer.PROFILE: [area.depth_max_um],
        }
        self.softs = [spec.depth_soft_max_um, case.policy.soft_depth_max_um]
        if area.depth_soft_max_um is not None:
            self.softs.append(area.depth_soft_max_um)
        self.speed_lows = {
            Layer.DEVICE: case.device.speed_min_sps,
            Layer.PROFILE: area.speed_min_sps,
        }
        self.speed_highs = {
            Layer.DEVICE: [case.device.speed_max_sps],
            Layer.POLICY: [] if case.policy.speed_max_sps is None else [case.policy.speed_max_sps],
            Layer.LEVEL: [] if level.speed_max_sps is None else [level.speed_max_sps],
            Layer.PROFILE: [area.speed_max_sps],
        }

    def soft(self, depth_min_um: int) -> int:
        """The soft ceiling in force: the lowest one, raised to the minimum depth if below it."""
        return max(min(self.softs), depth_min_um)

    def depth_ok(self, um: int) -> bool:
        on_grid = (um - self.device.depth_min_um) % self.device.depth_step_um == 0
        return (
            on_grid
            and all(um >= low for low in self.depth_lows.values())
            and all(um <= high for highs in self.depth_highs.values() for high in highs)
        )

    def speed_ok(self, sps: int) -> bool:
        on_grid = (sps - self.device.speed_min_sps) % self.device.speed_step_sps == 0
        return (
            on_grid
            and all(sps >= low for low in self.speed_lows.values())
            and all(sps <= high for highs in self.speed_highs.values() for high in highs)
        )

    def depths(self) -> list[int]:
        return [d for d in range(0, 3600) if self.depth_ok(d)]

    def speeds(self) -> list[int]:
        return [s for s in range(0, 400) if self.speed_ok(s)]


@settings(max_examples=300)
@given(cases())
def test_s2_range_is_exactly_the_intersection_of_every_layer(case: Case) -> None:
    result = compute(case)
    oracle = Oracle(case)
    depths, speeds = oracle.depths(), oracle.speeds()
    if not depths or not speeds:
        assert isinstance(result, LimitsRefusal)
        assert {c.quantity.value for c in result.conflicts} == {
            name for name, values in (("depth", depths), ("speed", speeds)) if not values
        }
        assert "nothing was sent to the pen" in result.message
        return
    assert isinstance(result, EffectiveLimits)
    assert list(result.depth_values()) == depths
    assert list(result.speed_values()) == speeds


@settings(max_examples=300)
@given(cases())
def test_s2_never_wider_than_any_layer_and_the_named_layer_set_the_bound(case: Case) -> None:
    result = compute(case)
    if isinstance(result, LimitsRefusal):
        return
    oracle = Oracle(case)
    for layer, high in oracle.depth_highs.items():
        assert all(result.depth_max.value <= value for value in high), layer
    for layer, high in oracle.speed_highs.items():
        assert all(result.speed_max.value <= value for value in high), layer
    assert all(result.depth_min.value >= low for low in oracle.depth_lows.values())
    assert all(result.speed_min.value >= low for low in oracle.speed_lows.values())
    assert result.depth_max.layer_value in oracle.depth_highs[result.depth_max.layer]
    assert result.speed_max.layer_value in oracle.speed_highs[result.speed_max.layer]
    assert result.depth_max.layer_value == min(v for vs in oracle.depth_highs.values() for v in vs)
    assert result.depth_min.layer_value == max(oracle.depth_lows.values())
    assert result.depth_min.layer_value == oracle.depth_lows[result.depth_min.layer]
    assert result.speed_max.layer_value == min(v for vs in oracle.speed_highs.values() for v in vs)
    assert result.speed_min.layer_value == oracle.speed_lows[result.speed_min.layer]
    soft = oracle.soft(result.depth_min.value)
    if result.soft_depth_max is None:
        assert soft >= result.depth_max.value
    else:
        assert result.soft_depth_max.value == soft < result.depth_max.value
        assert result.soft_depth_max.reason
    assert (soft > min(oracle.softs)) == any("raised to" in note for note in result.notes)
    assert result.depth_min.value <= result.start_depth_um <= result.depth_max.value
    assert not result.needs_confirmation(result.start_depth_um)
    plan = case.profile.areas[AREA]
    assert (result.start_depth_note is None) == (result.start_depth_um == plan.depth_default_um)
    assert (result.start_speed_note is None) == (result.start_speed_sps == plan.speed_default_sps)
    assert result.start_depth_um in result.depth_values()
    assert result.start_speed_sps in result.speed_values()
    for bound in result.bounds():
        assert (
            bound.sentence.strip() and bound.shown in bound.sentence
        ) or "rounded" in bound.sentence


@given(cases())
def test_the_result_is_deterministic(case: Case) -> None:
    assert compute(case) == compute(case)


@settings(max_examples=300)
@given(cases(), st.integers(-100, 3600), st.integers(-10, 400))
def test_s2_check_request_agrees_with_every_layer(case: Case, depth: int, speed: int) -> None:
    result = compute(case)
    check = check_request(result, depth, speed)
    if isinstance(result, LimitsRefusal):
        assert check.verdict is RequestVerdict.REFUSED
        return
    oracle = Oracle(case)
    allowed = oracle.depth_ok(depth) and oracle.speed_ok(speed)
    if not allowed:
        assert check.verdict is RequestVerdict.REFUSED
        refusal = check.stopped_by
        assert refusal is not None and "Nothing was sent to the pen" in refusal.message
        if refusal.bound is not None:
            limit = refusal.bound.value
            assert (
                (refusal.requested > limit)
                if refusal.bound.side == "max"
                else (refusal.requested < limit)
            )
    elif depth > oracle.soft(result.depth_min.value):
        assert check.verdict is RequestVerdict.NEEDS_CONFIRMATION
        assert check.findings[0].bound == result.soft_depth_max
    else:
        assert check.verdict is RequestVerdict.ACCEPTED and check.findings == ()
