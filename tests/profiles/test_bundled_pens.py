"""Every bundled profile × area × level on the two pens that matter (S2).

The reference pen (SkinPen: 0–2.5 mm in 0.25 mm steps, one fixed rate of 7,000 RPM ≈ 117 strokes/s,
domain.md §1) and the simulator's pen. For each combination either the limits come out with a start
that needs no confirmation and lies on the pen's grid, or the refusal names the layers in conflict.
"""

from __future__ import annotations

import itertools

import pytest

from profiles import (
    SIMULATED_PEN,
    EffectiveLimits,
    Layer,
    LimitsRefusal,
    Quantity,
    load_library,
)
from tests.profiles.factories import SKINPEN_LIKE

FIXED_117 = SKINPEN_LIKE
PENS = {"fixed-117": FIXED_117, "simulator": SIMULATED_PEN}
LIBRARY = load_library(environ={})
COMBINATIONS = [
    (name, area.value, level, pen)
    for name, entry in LIBRARY.profiles.items()
    for area in entry.profile.areas
    for level, pen in itertools.product(LIBRARY.policy.levels, PENS)
]


@pytest.mark.parametrize(("profile", "area", "level", "pen"), COMBINATIONS)
def test_s2_limits_start_without_confirmation_or_the_refusal_names_the_layers(
    profile: str, area: str, level: str, pen: str
) -> None:
    device = PENS[pen]
    result = LIBRARY.effective_limits(profile, area, device, None, level)
    if isinstance(result, LimitsRefusal):
        assert result.conflicts, result.message
        for conflict in result.conflicts:
            assert {conflict.low.layer, conflict.high.layer} <= set(result.layers)
            assert conflict.low.sentence in conflict.message
            assert conflict.high.sentence in conflict.message
        assert result.layers
        return
    assert isinstance(result, EffectiveLimits)
    assert not result.needs_confirmation(result.start_depth_um)
    assert result.start_depth_um in result.depth_values()
    assert result.start_speed_sps in result.speed_values()
    for bound in result.bounds():
        allowed = result.depth_values() if bound.quantity is Quantity.DEPTH else None
        if allowed is not None and bound.side != "soft_max":
            assert bound.value in allowed


@pytest.mark.parametrize("level", list(LIBRARY.policy.levels))
def test_the_fixed_rate_reference_pen_is_never_refused_for_speed(level: str) -> None:
    """Every bundled speed range holds 117 strokes/s, so SkinPen can run every profile."""
    for name, entry in LIBRARY.profiles.items():
        for area in entry.profile.areas:
            result = LIBRARY.effective_limits(name, area.value, FIXED_117, None, level)
            if isinstance(result, LimitsRefusal):
                assert all(c.quantity is Quantity.DEPTH for c in result.conflicts), result.message
            else:
                assert result.speed_values() == (117,)


def test_the_reference_pen_treats_its_cleared_indication() -> None:
    """SkinPen's De Novo (DEN160029) is for acne scars on the face: every face area of the bundled
    acne-scars profile runs on it, for a therapist as for a doctor."""
    entry = LIBRARY.entry("acne-scars")
    assert entry is not None
    for area, level in itertools.product(entry.profile.areas, LIBRARY.policy.levels):
        result = LIBRARY.effective_limits("acne-scars", area.value, FIXED_117, None, level)
        assert isinstance(result, EffectiveLimits), result.message
        assert result.start_speed_note is not None and Layer.DEVICE.value in result.start_speed_note
