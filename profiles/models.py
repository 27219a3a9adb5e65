"""The file models: area catalogue, treatment profiles and clinic policy, plus the pen's limits.

Field names in code carry code units (`depth_max_um`); each has an alias with the file unit
(`depth_max_mm`), which is also what errors and the JSON Schema show. Models validate by alias
only, so nobody can hand micrometres to a millimetre field by accident. Cross-field rules are field
validators that read the fields declared before them, so they report the exact key and still run
when an unrelated key in the same table is broken.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from profiles.fields import Days, DepthUm, DurationS, Passes, Slug, SpeedSps, Text
from profiles.units import format_mm, format_sps
from profiles.vocabulary import CONCERN_LABELS, Area, Concern, Region


class FileModel(BaseModel):
    """Strict and immutable: an unknown key is an error, never a silently dropped limit."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_by_name=False)


def _relation(message: str) -> PydanticCustomError:
    return PydanticCustomError("relation", message.replace("{", "(").replace("}", ")"))


def _earlier(info: ValidationInfo, name: str) -> Any:
    """A field validated before this one, or None if it was missing or invalid."""
    return info.data.get(name)


# ---- areas --------------------------------------------------------------------------------------


class AreaSpec(FileModel):
    """What the library knows about one area: its hard and soft depth ceilings, with sources."""

    label: Text = Field(description="how the area is named to people, e.g. 'left cheek'")
    region: Region
    depth_max_um: DepthUm = Field(
        alias="depth_max_mm", description="hard depth ceiling for this area, millimetres"
    )
    depth_soft_max_um: DepthUm = Field(
        alias="depth_soft_max_mm",
        description="soft ceiling, millimetres: deeper needs a confirmation with a reason",
    )
    soft_reason: Text = Field(description="why deeper than the soft ceiling needs confirmation")
    medical_only_above_um: DepthUm | None = Field(
        default=None,
        alias="medical_only_above_mm",
        description="optional, mm: deeper only for a practitioner level marked medical = true",
    )
    source: Text = Field(description="where the figures come from")

    @field_validator("depth_soft_max_um")
    @classmethod
    def _soft_within_hard(cls, soft_um: int, info: ValidationInfo) -> int:
        hard_um = _earlier(info, "depth_max_um")
        if hard_um is not None and soft_um > hard_um:
            raise _relation(
                f"soft ceiling above the hard ceiling depth_max_mm ({format_mm(hard_um)}); "
                "make it at most the hard ceiling"
            )
        return soft_um


class AreaCatalogue(FileModel):
    """`areas.toml`: every area in the vocabulary, exactly once."""

    areas: dict[Area, AreaSpec]

    @field_validator("areas")
    @classmethod
    def _complete(cls, areas: dict[Area, AreaSpec]) -> dict[Area, AreaSpec]:
        missing = [area.value for area in Area if area not in areas]
        if missing:
            raise _relation(f"missing area(s) {', '.join(missing)}; every area needs its ceilings")
        return areas

    def spec(self, area: Area) -> AreaSpec:
        return self.areas[area]


# ---- profiles -----------------------------------------------------------------------------------


MAX_PASSES = 10
"""Passes over one area: "multiple passes" in practice (domain.md §3), 2–3 in the bundled files;
ten is generous, more is a slip."""
MAX_AREA_TIME_S = 60 * 60
"""A whole session takes 15–30 minutes, about 30 for the full face (domain.md §3): an hour on one
area is beyond it."""
NUMBING_DWELL_S = (5 * 60, 2 * 60 * 60)
"""Numbing cream stays on 15 minutes to 45–60 under occlusion (domain.md §3). Over 2 hours is
refused (a unit slip or a toxicity risk); under 5 minutes is a warning (hours for minutes?), since
a test rig may shorten the dwell on purpose."""


class AreaSettings(FileModel):
    """One area of a treatment profile: ranges, defaults, soft ceiling, passes, time and notes."""

    depth_min_um: DepthUm = Field(alias="depth_min_mm", description="shallowest depth, mm")
    depth_max_um: DepthUm = Field(alias="depth_max_mm", description="deepest depth (hard), mm")
    depth_soft_max_um: DepthUm | None = Field(
        default=None,
        alias="depth_soft_max_mm",
        description="optional soft ceiling, mm: deeper needs a confirmation with a reason",
    )
    depth_soft_reason: Text | None = Field(
        default=None,
        validate_default=True,
        description="why deeper than depth_soft_max_mm needs confirmation (required with it)",
    )
    depth_default_um: DepthUm = Field(
        alias="depth_default_mm", description="starting depth, mm (at most the soft ceiling)"
    )
    speed_min_sps: SpeedSps = Field(description="slowest needle speed, strokes per second")
    speed_max_sps: SpeedSps = Field(description="fastest needle speed, strokes per second")
    speed_default_sps: SpeedSps = Field(description="starting speed, strokes per second")
    max_passes: Passes = Field(description="maximum passes over the area in one session")
    max_time_s: DurationS = Field(
        alias="max_time_minutes", description="maximum needling time on the area, minutes"
    )
    notes: Text = Field(description="technique notes shown to the practitioner")
    source: str = Field(default="", description="where the figures come from")

    @field_validator("max_passes")
    @classmethod
    def _passes_in_practice(cls, passes: int) -> int:
        if passes > MAX_PASSES:
            raise _relation(
                f'far beyond practice: sources say "multiple passes" and the bundled '
                f"profiles use 2–3; at most {MAX_PASSES}. A count of strokes, not passes?"
            )
        return passes

    @field_validator("max_time_s")
    @classmethod
    def _time_in_practice(cls, seconds: int) -> int:
        if seconds > MAX_AREA_TIME_S:
            raise _relation(
                f"far beyond practice: a whole session takes 15–30 minutes (about 30 for the full "
                f"face); at most {MAX_AREA_TIME_S // 60} minutes on one area. Seconds, not minutes?"
            )
        return seconds

    @field_validator("depth_max_um")
    @classmethod
    def _max_not_below_min(cls, depth_max_um: int, info: ValidationInfo) -> int:
        depth_min_um = _earlier(info, "depth_min_um")
        if depth_min_um is not None and depth_max_um < depth_min_um:
            raise _relation(
                f"below depth_min_mm ({format_mm(depth_min_um)}): the minimum is above the "
                "maximum; make depth_max_mm at least depth_min_mm"
            )
        return depth_max_um

    @field_validator("depth_soft_max_um")
    @classmethod
    def _soft_inside_hard(cls, soft_um: int | None, info: ValidationInfo) -> int | None:
        if soft_um is None:
            return soft_um
        hard_um = _earlier(info, "depth_max_um")
        depth_min_um = _earlier(info, "depth_min_um")
        if hard_um is not None and soft_um > hard_um:
            raise _relation(
                f"soft ceiling above the hard maximum depth_max_mm ({format_mm(hard_um)}); "
                "make it at most depth_max_mm, or drop it"
            )
        if depth_min_um is not None and soft_um < depth_min_um:
            raise _relation(
                f"soft ceiling below depth_min_mm ({format_mm(depth_min_um)}), so every depth "
                "would need a confirmation; raise it or lower depth_min_mm"
            )
        return soft_um

    @field_validator("depth_soft_reason")
    @classmethod
    def _reason_with_soft(cls, reason: str | None, info: ValidationInfo) -> str | None:
        has_soft = "depth_soft_max_um" in info.data and info.data["depth_soft_max_um"] is not None
        if has_soft and reason is None:
            raise _relation(
                "missing: a soft ceiling (depth_soft_max_mm) needs depth_soft_reason, the "
                "sentence shown when the practitioner is asked to confirm"
            )
        if reason is not None and "depth_soft_max_um" in info.data and not has_soft:
            raise _relation("a reason without a soft ceiling; add depth_soft_max_mm or remove it")
        return reason

    @field_validator("depth_default_um")
    @classmethod
    def _default_inside(cls, default_um: int, info: ValidationInfo) -> int:
        depth_min_um = _earlier(info, "depth_min_um")
        depth_max_um = _earlier(info, "depth_max_um")
        soft_um = _earlier(info, "depth_soft_max_um")
        if depth_min_um is not None and default_um < depth_min_um:
            raise _relation(f"below depth_min_mm ({format_mm(depth_min_um)})")
        if depth_max_um is not None and default_um > depth_max_um:
            raise _relation(f"above depth_max_mm ({format_mm(depth_max_um)})")
        if soft_um is not None and default_um > soft_um:
            raise _relation(
                f"above the soft ceiling depth_soft_max_mm ({format_mm(soft_um)}); a default "
                "must not need a confirmation"
            )
        return default_um

    @field_validator("speed_max_sps")
    @classmethod
    def _speed_max_not_below_min(cls, speed_max_sps: int, info: ValidationInfo) -> int:
        speed_min_sps = _earlier(info, "speed_min_sps")
        if speed_min_sps is not None and speed_max_sps < speed_min_sps:
            raise _relation(
                f"below speed_min_sps ({format_sps(speed_min_sps)}): the minimum is above the "
                "maximum; make speed_max_sps at least speed_min_sps"
            )
        return speed_max_sps

    @field_validator("speed_default_sps")
    @classmethod
    def _speed_default_inside(cls, default_sps: int, info: ValidationInfo) -> int:
        speed_min_sps = _earlier(info, "speed_min_sps")
        speed_max_sps = _earlier(info, "speed_max_sps")
        if speed_min_sps is not None and default_sps < speed_min_sps:
            raise _relation(f"below speed_min_sps ({format_sps(speed_min_sps)})")
        if speed_max_sps is not None and default_sps > speed_max_sps:
            raise _relation(f"above speed_max_sps ({format_sps(speed_max_sps)})")
        return default_sps


class Profile(FileModel):
    """A named treatment plan for one concern: the areas it covers and how each is treated."""

    name: Slug = Field(description="unique name, used on the command line and in the journal")
    title: Text = Field(description="what people see, e.g. 'Atrophic acne scars'")
    concern: Concern
    description: Text = Field(description="the plan in a few sentences: course, endpoint")
    areas: dict[Area, AreaSettings] = Field(min_length=1)
    sources: list[Text] = Field(default_factory=list, description="references for the whole plan")
    enabled: StrictBool = Field(
        default=True,
        description="false: listed but not usable (e.g. no clinical evidence) until a clinic "
        "copies the file into its directory with enabled = true",
    )
    evidence: Text | None = Field(
        default=None, description="a warning on weak or absent evidence, shown with the profile"
    )

    @property
    def concern_label(self) -> str:
        return CONCERN_LABELS[self.concern]


# ---- clinic policy ------------------------------------------------------------------------------


class ContraindicationKind(StrEnum):
    BLOCKING = "blocking"
    CAUTION = "caution"


class Contraindication(FileModel):
    kind: ContraindicationKind = Field(
        description="blocking: no treatment; caution: treatment needs a recorded acknowledgement"
    )
    text: Text = Field(description="the checklist question as the practitioner reads it")
    source: Text


class PractitionerLevel(FileModel):
    """Caps for one level of practice (e.g. therapists may not go deeper than 1 mm)."""

    label: Text
    depth_max_um: DepthUm = Field(alias="depth_max_mm", description="deepest depth, mm")
    speed_max_sps: SpeedSps | None = Field(default=None, description="fastest speed, strokes/s")
    medical: StrictBool = Field(
        default=False,
        description="a medical practitioner (a doctor): may go past an area's "
        "medical_only_above_mm",
    )
    source: Text


class NumbingPolicy(FileModel):
    min_dwell_s: DurationS = Field(
        alias="min_dwell_minutes", description="shortest time the numbing cream stays on"
    )
    max_dwell_s: DurationS = Field(
        alias="max_dwell_minutes", description="longest time the numbing cream may stay on"
    )
    remove_before_needling: StrictBool = Field(
        description="the cream must be removed fully and the skin re-cleansed before needling"
    )
    source: Text

    @field_validator("min_dwell_s", "max_dwell_s")
    @classmethod
    def _dwell_in_practice(cls, seconds: int) -> int:
        longest = NUMBING_DWELL_S[1]
        if seconds > longest:
            raise _relation(
                f"over {longest // 60} minutes: sources give at most 45–60 minutes under "
                "occlusion, and anaesthetic toxicity grows with time; seconds, not minutes?"
            )
        return seconds

    @field_validator("max_dwell_s")
    @classmethod
    def _max_not_below_min(cls, longest_s: int, info: ValidationInfo) -> int:
        shortest_s = _earlier(info, "min_dwell_s")
        if shortest_s is not None and longest_s < shortest_s:
            raise _relation("below min_dwell_minutes; make the longest dwell at least the shortest")
        return longest_s


class Loosening(FileModel):
    """A clinic's declaration that it sets one bundled safety figure looser, knowingly."""

    reason: Text = Field(description="why the clinic sets this safety figure looser")
    by: Text = Field(description="who decided it (name and role); recorded in every session")


class ClinicPolicy(FileModel):
    """`policy.toml`: the clinic's own rules, applied on top of every profile."""

    name: Text
    soft_depth_max_um: DepthUm = Field(
        alias="soft_depth_max_mm",
        description="clinic-wide soft ceiling, mm: deeper needs a confirmation with a reason",
    )
    soft_depth_reason: Text = Field(description="the sentence shown when confirming")
    depth_max_um: DepthUm | None = Field(
        default=None, alias="depth_max_mm", description="optional clinic-wide hard cap, mm"
    )
    speed_max_sps: SpeedSps | None = Field(
        default=None, description="optional clinic-wide speed cap, strokes per second"
    )
    min_interval_days: dict[Concern, Days] = Field(
        description="minimum days between sessions, for every concern"
    )
    numbing: NumbingPolicy
    levels: dict[Slug, PractitionerLevel] = Field(min_length=1)
    default_level: Slug = Field(description="the level assumed when none is given")
    contraindications: dict[Slug, Contraindication] = Field(min_length=1)
    loosened: dict[str, Loosening] = Field(
        default_factory=dict,
        description="bundled safety figures this policy sets looser, keyed by the figure "
        '(e.g. [loosened."soft_depth_max_mm"]), each with reason and by',
    )
    source: str = ""

    @field_validator("min_interval_days")
    @classmethod
    def _every_concern(cls, days: dict[Concern, int]) -> dict[Concern, int]:
        missing = [concern.value for concern in Concern if concern not in days]
        if missing:
            raise _relation(
                f"missing concern(s) {', '.join(missing)}; every concern needs a minimum interval"
            )
        return days

    @field_validator("default_level")
    @classmethod
    def _known_level(cls, level: str, info: ValidationInfo) -> str:
        levels = _earlier(info, "levels")
        if levels is not None and level not in levels:
            raise _relation(f"not one of the levels defined here ({', '.join(sorted(levels))})")
        return level

    def interval_days(self, concern: Concern) -> int:
        return self.min_interval_days[concern]

    def blocking(self) -> dict[str, Contraindication]:
        return {
            key: item
            for key, item in self.contraindications.items()
            if item.kind is ContraindicationKind.BLOCKING
        }

    def cautions(self) -> dict[str, Contraindication]:
        return {
            key: item
            for key, item in self.contraindications.items()
            if item.kind is ContraindicationKind.CAUTION
        }


# ---- the pen ------------------------------------------------------------------------------------


class DeviceLimits(BaseModel):
    """The pen's capabilities as IDENTIFY reports them (same field names, µm and strokes/s)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    depth_min_um: int = Field(
        ge=0, description="0 for a pen that retracts fully (SkinPen: 0–2.5 mm)"
    )
    depth_max_um: int = Field(gt=0)
    depth_step_um: int = Field(gt=0, description="the pen's grid runs from depth_min_um")
    speed_min_sps: int = Field(ge=0)
    speed_max_sps: int = Field(gt=0)
    speed_step_sps: int = Field(gt=0)

    @field_validator("depth_max_um")
    @classmethod
    def _depth_order(cls, depth_max_um: int, info: ValidationInfo) -> int:
        depth_min_um = _earlier(info, "depth_min_um")
        if depth_min_um is not None and depth_max_um < depth_min_um:
            raise _relation("the pen reports a maximum depth below its minimum")
        return depth_max_um

    @field_validator("speed_max_sps")
    @classmethod
    def _speed_order(cls, speed_max_sps: int, info: ValidationInfo) -> int:
        speed_min_sps = _earlier(info, "speed_min_sps")
        if speed_min_sps is not None and speed_max_sps < speed_min_sps:
            raise _relation("the pen reports a maximum speed below its minimum")
        return speed_max_sps


SIMULATED_PEN = DeviceLimits(
    depth_min_um=250,
    depth_max_um=2500,
    depth_step_um=50,
    speed_min_sps=60,
    speed_max_sps=150,
    speed_step_sps=10,
)
"""The bundled simulator's defaults: 0.25–2.5 mm in 0.05 mm steps, 60–150 strokes/s in 10s."""
