"""The file models: strict keys, exact units, and cross-field rules reported on the right key."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from profiles import (
    SIMULATED_PEN,
    AreaSettings,
    ClinicPolicy,
    Concern,
    DeviceLimits,
    Profile,
    content_hash,
)
from profiles.vocabulary import Area
from tests.profiles.factories import mm, policy, profile, settings, settings_data


def _errors(data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        AreaSettings.model_validate(data)
    return {".".join(map(str, e["loc"])): e["msg"] for e in caught.value.errors()}


def test_area_settings_hold_code_units() -> None:
    area = settings(depth=(250, 500, 1250), speed=(90, 100, 110), soft_um=1000)
    assert (area.depth_min_um, area.depth_default_um, area.depth_max_um) == (250, 500, 1250)
    assert area.depth_soft_max_um == 1000
    assert area.max_time_s == 180
    assert area.model_dump()["depth_max_um"] == 1250


def test_micrometre_names_are_not_accepted_in_place_of_millimetres() -> None:
    """A µm figure given under the code name must not be read as millimetres (or at all)."""
    data = settings_data()
    data["depth_max_um"] = 1000
    assert _errors(data)["depth_max_um"] == "Extra inputs are not permitted"


def test_min_above_max_is_reported_on_the_maximum() -> None:
    errors = _errors(settings_data(depth=(1000, 1000, 500), speed=(120, 120, 100)))
    assert "below depth_min_mm (1.0 mm)" in errors["depth_max_mm"]
    assert "below speed_min_sps (120 strokes/s)" in errors["speed_max_sps"]


def test_s2_soft_ceiling_above_hard_is_refused() -> None:
    errors = _errors(settings_data(depth=(250, 500, 1000), soft_um=1500))
    assert (
        "soft ceiling above the hard maximum depth_max_mm (1.0 mm)" in errors["depth_soft_max_mm"]
    )


def test_soft_ceiling_needs_its_reason_and_a_default_below_it() -> None:
    data = settings_data(depth=(250, 900, 1000), soft_um=750)
    del data["depth_soft_reason"]
    errors = _errors(data)
    assert "needs depth_soft_reason" in errors["depth_soft_reason"]
    assert "above the soft ceiling" in errors["depth_default_mm"]


def test_cross_field_rules_still_run_when_an_unrelated_key_is_broken() -> None:
    errors = _errors(settings_data(depth=(1000, 1000, 500), notes=5))
    assert set(errors) == {"depth_max_mm", "notes"}


@pytest.mark.parametrize(
    ("key", "value", "fragment"),
    [
        ("depth_max_mm", mm(3500), "beyond every pen"),
        ("depth_max_mm", 1500, "if you meant 1500 µm, write 1.5"),
        ("speed_max_sps", 7000, "7000 RPM = 117 strokes/s"),
        ("depth_min_mm", mm(0), "above 0 mm"),
        ("max_passes", 0, "at least 1"),
        ("speed_default_sps", "fast", "got text"),
    ],
)
def test_values_outside_every_pen_are_refused_with_a_hint(
    key: str, value: object, fragment: str
) -> None:
    data = settings_data()
    data[key] = value
    assert fragment in _errors(data)[key]


def test_profile_rejects_unknown_areas_and_empty_area_tables() -> None:
    with pytest.raises(ValidationError) as caught:
        Profile.model_validate(
            {
                "name": "x",
                "title": "X",
                "concern": "acne_scars",
                "description": "d",
                "areas": {"foreheed": settings_data()},
            }
        )
    assert caught.value.errors()[0]["loc"] == ("areas", "foreheed", "[key]")
    with pytest.raises(ValidationError, match="at least 1 item"):
        profile({})


def test_policy_requires_every_concern_and_a_known_default_level() -> None:
    good = policy()
    data = good.model_dump(mode="python")
    assert good.interval_days(Concern.HAIR_GROWTH) == 28
    raw: dict[str, Any] = {
        "name": "p",
        "soft_depth_max_mm": mm(1500),
        "soft_depth_reason": "r",
        "min_interval_days": {"acne_scars": 28},
        "numbing": {
            "min_dwell_minutes": 60,
            "max_dwell_minutes": 15,
            "remove_before_needling": True,
            "source": "s",
        },
        "levels": {"therapist": {"label": "t", "depth_max_mm": 1, "source": "s"}},
        "default_level": "nurse",
        "contraindications": {"x": {"kind": "maybe", "text": "t", "source": "s"}},
    }
    with pytest.raises(ValidationError) as caught:
        ClinicPolicy.model_validate(raw)
    errors = {".".join(map(str, e["loc"])): e["msg"] for e in caught.value.errors()}
    assert "missing concern(s) fine_lines_wrinkles" in errors["min_interval_days"]
    assert "below min_dwell_minutes" in errors["numbing.max_dwell_minutes"]
    assert "not one of the levels defined here (therapist)" in errors["default_level"]
    assert "contraindications.x.kind" in errors
    assert data["soft_depth_max_um"] == 1500


def test_device_limits_take_identify_fields_verbatim() -> None:
    identify = {
        "depth_min_um": 250,
        "depth_max_um": 2500,
        "depth_step_um": 50,
        "speed_min_sps": 60,
        "speed_max_sps": 150,
        "speed_step_sps": 10,
    }
    assert DeviceLimits(**identify) == SIMULATED_PEN
    with pytest.raises(ValidationError, match="maximum depth below its minimum"):
        DeviceLimits(**identify | {"depth_max_um": 200})


def test_content_hash_is_stable_and_sensitive() -> None:
    base = profile({Area.FOREHEAD: settings_data()})
    again = profile({Area.FOREHEAD: settings_data()})
    changed = profile({Area.FOREHEAD: settings_data(depth=(250, 500, 750))})
    assert content_hash(base) == content_hash(again)
    assert content_hash(base).startswith("sha256:") and len(content_hash(base)) == 71
    assert content_hash(base) != content_hash(changed)
    assert content_hash(policy()) != content_hash(policy(soft_um=1000))
