"""Build profile models in code units; every value still passes through the file aliases (mm)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from profiles import (
    AreaCatalogue,
    AreaSettings,
    ClinicPolicy,
    Concern,
    DeviceLimits,
    Profile,
)
from profiles.vocabulary import Area

SKINPEN_LIKE = DeviceLimits(
    depth_min_um=0,
    depth_max_um=2500,
    depth_step_um=250,
    speed_min_sps=117,
    speed_max_sps=117,
    speed_step_sps=1,
)
"""The reference pen (domain.md §1): 0–2.5 mm in 0.25 mm steps, one fixed rate of 7,000 RPM
≈ 117 strokes/s."""


def mm(um: int) -> Decimal:
    """Exact millimetres for a micrometre figure."""
    return Decimal(um) / 1000


def settings_data(
    depth: tuple[int, int, int] = (250, 500, 1000),
    speed: tuple[int, int, int] = (90, 90, 110),
    soft_um: int | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """(min, default, max) in µm and strokes/s."""
    data: dict[str, Any] = {
        "depth_min_mm": mm(depth[0]),
        "depth_default_mm": mm(depth[1]),
        "depth_max_mm": mm(depth[2]),
        "speed_min_sps": speed[0],
        "speed_default_sps": speed[1],
        "speed_max_sps": speed[2],
        "max_passes": 3,
        "max_time_minutes": 3,
        "notes": "Stretch the skin.",
    }
    if soft_um is not None:
        data["depth_soft_max_mm"] = mm(soft_um)
        data["depth_soft_reason"] = "test soft ceiling"
    data.update(extra)
    return data


def settings(**kwargs: Any) -> AreaSettings:
    return AreaSettings.model_validate(settings_data(**kwargs))


def profile(areas: dict[Area, dict[str, Any]], name: str = "test-profile") -> Profile:
    return Profile.model_validate(
        {
            "name": name,
            "title": "Test profile",
            "concern": "acne_scars",
            "description": "A profile built by the tests.",
            "areas": {area.value: data for area, data in areas.items()},
        }
    )


def catalogue(hard_um: int = 2000, soft_um: int = 1000) -> AreaCatalogue:
    """Every area with the same ceilings."""
    return AreaCatalogue.model_validate(
        {
            "areas": {
                area.value: {
                    "label": area.value.replace("_", " "),
                    "region": "face",
                    "depth_max_mm": mm(hard_um),
                    "depth_soft_max_mm": mm(soft_um),
                    "soft_reason": "test area soft ceiling",
                    "source": "tests",
                }
                for area in Area
            }
        }
    )


def policy(
    soft_um: int = 1500,
    depth_cap_um: int | None = None,
    speed_cap_sps: int | None = None,
    levels: dict[str, tuple[int, int | None]] | None = None,
) -> ClinicPolicy:
    """`levels` maps a name to (depth cap µm, speed cap strokes/s or None)."""
    levels = levels if levels is not None else {"therapist": (1000, None), "doctor": (3000, None)}
    data: dict[str, Any] = {
        "name": "test policy",
        "soft_depth_max_mm": mm(soft_um),
        "soft_depth_reason": "not evaluated above this depth",
        "min_interval_days": {concern.value: 28 for concern in Concern},
        "numbing": {
            "min_dwell_minutes": 15,
            "max_dwell_minutes": 60,
            "remove_before_needling": True,
            "source": "tests",
        },
        "levels": {
            name: {"label": name, "depth_max_mm": mm(depth), "source": "tests"}
            | ({} if speed is None else {"speed_max_sps": speed})
            for name, (depth, speed) in levels.items()
        },
        "default_level": next(iter(levels)),
        "contraindications": {
            "pregnancy": {"kind": "blocking", "text": "Pregnant", "source": "tests"}
        },
    }
    if depth_cap_um is not None:
        data["depth_max_mm"] = mm(depth_cap_um)
    if speed_cap_sps is not None:
        data["speed_max_sps"] = speed_cap_sps
    return ClinicPolicy.model_validate(data)
