"""The fixed vocabulary: treatment areas, concerns and regions.

Identifiers are part of the file format (TOML keys, JSON Schema enums), so they live in code, where
a typo in a profile becomes an "unknown area" error, not a new area. What is *known* about each
area (its depth ceilings and their sources) is data, in `library/areas.toml`.
"""

from __future__ import annotations

from enum import StrEnum


class Region(StrEnum):
    FACE = "face"
    NECK = "neck"
    CHEST = "chest"
    SCALP = "scalp"
    BODY = "body"


NEVER_TREATED = (
    "the eyelid itself is never treated: its skin is the thinnest of the body and no source in "
    "domain.md gives a depth for it; treat the periorbital area (at most 0.3 mm), away from the "
    "lash line"
)
"""Why a name such as `eyelid` is refused as an area, rather than offered a near spelling."""


def never_treated(name: str) -> str | None:
    """The reason an area name is never treatable (the eyelid), else None."""
    return NEVER_TREATED if "lid" in name.lower() else None


class Area(StrEnum):
    FOREHEAD = "forehead"
    GLABELLA = "glabella"
    PERIORBITAL_LEFT = "periorbital_left"
    PERIORBITAL_RIGHT = "periorbital_right"
    NOSE = "nose"
    CHEEK_LEFT = "cheek_left"
    CHEEK_RIGHT = "cheek_right"
    PERIORAL = "perioral"
    CHIN = "chin"
    JAWLINE = "jawline"
    NECK = "neck"
    DECOLLETE = "decollete"
    SCALP = "scalp"
    ABDOMEN = "abdomen"
    THIGHS = "thighs"
    HIPS = "hips"
    BUTTOCKS = "buttocks"
    UPPER_ARMS = "upper_arms"


class Concern(StrEnum):
    FINE_LINES_WRINKLES = "fine_lines_wrinkles"
    HYPERPIGMENTATION = "hyperpigmentation"
    STRETCH_MARKS = "stretch_marks"
    ACNE_SCARS = "acne_scars"
    SURGICAL_SCARS = "surgical_scars"
    ENLARGED_PORES = "enlarged_pores"
    LOSS_OF_FIRMNESS = "loss_of_firmness"
    PUFFINESS = "puffiness"
    REDNESS_ROSACEA = "redness_rosacea"
    HAIR_GROWTH = "hair_growth"
    DARK_CIRCLES = "dark_circles"
    AGEING_PREVENTION = "ageing_prevention"


CONCERN_LABELS: dict[Concern, str] = {
    Concern.FINE_LINES_WRINKLES: "fine lines and wrinkles",
    Concern.HYPERPIGMENTATION: "hyperpigmentation and sun spots",
    Concern.STRETCH_MARKS: "stretch marks",
    Concern.ACNE_SCARS: "acne scars",
    Concern.SURGICAL_SCARS: "surgical scars",
    Concern.ENLARGED_PORES: "enlarged pores",
    Concern.LOSS_OF_FIRMNESS: "loss of firmness",
    Concern.PUFFINESS: "puffiness (lymphatic drainage)",
    Concern.REDNESS_ROSACEA: "redness and rosacea",
    Concern.HAIR_GROWTH: "hair growth (scalp)",
    Concern.DARK_CIRCLES: "dark circles under the eyes",
    Concern.AGEING_PREVENTION: "prevention of ageing",
}
