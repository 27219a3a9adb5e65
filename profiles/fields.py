"""Field types shared by the file models: each converts file units to code units exactly.

Every type names its unit in its errors, and the outer bounds are the widest figures any pen in
`domain.md` §1 reaches, so a value outside them is a typo or a unit slip, not a clinical choice.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, StringConstraints, WithJsonSchema
from pydantic_core import PydanticCustomError

from profiles.units import UnitError, format_mm, minutes_to_s, mm_to_um, whole_number

# Dermapen 4 reaches 3.0 mm, the deepest mechanical pen in domain.md §1 (smartskin-clinic.com).
DEPTH_CEILING_UM = 3000
# Dr. Pen A6S is advertised at up to 18,000 RPM = 300 strokes/s, the highest rate in domain.md §1
# (affiliate page, low reliability); every other pen listed is at or below 150 strokes/s.
SPEED_CEILING_SPS = 300
# The shallowest setting of any pen in domain.md §1 that states one: Dermapen 4, 0.2 mm (SkinPen's
# 0 is "retracted", and its first needling step is 0.25 mm). A figure below it is a unit slip.
DEPTH_FLOOR_UM = 200
# The slowest stroke rate stated for any pen in domain.md §1 is 90 Hz (Dermapen); the simulated pen
# starts at 60 strokes/s. Below that a figure is a Dr. Pen speed level (1–6) or a unit slip.
SPEED_FLOOR_SPS = 60
SPEED_LEVELS = 6


def _fail(kind: str, message: str) -> PydanticCustomError:
    return PydanticCustomError(kind, message.replace("{", "(").replace("}", ")"))


def _depth(value: Any) -> int:
    try:
        um = mm_to_um(value)
    except UnitError as exc:
        raise _fail("depth", str(exc)) from None
    if um <= 0:
        raise _fail("depth_range", "a depth must be above 0 mm; write millimetres, e.g. 0.25")
    if um < DEPTH_FLOOR_UM:
        raise _fail(
            "depth_range",
            f"below every pen's shallowest setting ({format_mm(DEPTH_FLOOR_UM)}, Dermapen 4); "
            f"depths in files are millimetres: centimetres? {format_mm(um)} would be "
            f"{format_mm(um * 10)} if it was meant in cm",
        )
    if um > DEPTH_CEILING_UM:
        hint = ""
        if um >= 100 * 1000:
            hint = f"; if you meant {um // 1000} µm, write {format_mm(um // 1000).split()[0]}"
        raise _fail(
            "depth_range",
            f"beyond every pen in the reference: the deepest (Dermapen 4) reaches "
            f"{format_mm(DEPTH_CEILING_UM)}; depths in files are millimetres{hint}",
        )
    return um


def _speed(value: Any) -> int:
    try:
        sps = whole_number(value, "strokes per second")
    except UnitError as exc:
        raise _fail("speed", str(exc)) from None
    if sps <= 0:
        raise _fail("speed_range", "a speed must be at least 1 stroke per second")
    if sps < SPEED_FLOOR_SPS:
        slip = (
            f"a speed level (1–{SPEED_LEVELS}), not strokes/s? levels only say slower or faster; "
            "write the pen's stroke rate, e.g. 90"
            if sps <= SPEED_LEVELS
            else "check the unit: speeds in files are strokes per second, e.g. 90"
        )
        raise _fail(
            "speed_range",
            f"below every pen's slowest rate (the slowest stated is 90 strokes/s, Dermapen; the "
            f"simulated pen starts at {SPEED_FLOOR_SPS}); {slip}",
        )
    if sps > SPEED_CEILING_SPS:
        hint = ""
        if sps >= 1000:
            hint = f"; if this is RPM, divide by 60 ({sps} RPM = {sps / 60:.0f} strokes/s)"
        raise _fail(
            "speed_range",
            f"beyond every pen in the reference: the fastest figure is {SPEED_CEILING_SPS} "
            f"strokes/s; speeds in files are strokes per second{hint}",
        )
    return sps


def _count(unit: str) -> Any:
    def convert(value: Any) -> int:
        try:
            number = whole_number(value, unit)
        except UnitError as exc:
            raise _fail("count", str(exc)) from None
        if number < 1:
            raise _fail("count_range", f"must be at least 1 ({unit})")
        return number

    return convert


def _duration(value: Any) -> int:
    try:
        seconds = minutes_to_s(value)
    except UnitError as exc:
        raise _fail("duration", str(exc)) from None
    if seconds <= 0:
        raise _fail("duration_range", "a time must be above 0 minutes")
    return seconds


DepthUm = Annotated[
    int,
    BeforeValidator(_depth),
    WithJsonSchema(
        {"type": "number", "minimum": DEPTH_FLOOR_UM / 1000, "maximum": DEPTH_CEILING_UM / 1000},
    ),
]
"""A depth: millimetres in files (whole micrometres), integer µm in code."""

SpeedSps = Annotated[
    int,
    BeforeValidator(_speed),
    WithJsonSchema({"type": "integer", "minimum": SPEED_FLOOR_SPS, "maximum": SPEED_CEILING_SPS}),
]
"""A needle speed: whole strokes per second in files and in code."""

Passes = Annotated[
    int, BeforeValidator(_count("passes")), WithJsonSchema({"type": "integer", "minimum": 1})
]
SHORTEST_INTERVAL_DAYS = 7
"""The shortest interval between sessions in any source: weekly, on the scalp (domain.md §3)."""


def _interval(value: Any) -> int:
    days = _count("days")(value)
    if days < SHORTEST_INTERVAL_DAYS:
        raise _fail(
            "interval_range",
            f"fewer than {SHORTEST_INTERVAL_DAYS} days, the shortest interval in any source "
            f"(weekly, scalp); weeks, not days? {days} week{'s' if days != 1 else ''} = "
            f"{days * 7} days",
        )
    return days


Days = Annotated[
    int,
    BeforeValidator(_interval),
    WithJsonSchema({"type": "integer", "minimum": SHORTEST_INTERVAL_DAYS}),
]
"""Days between sessions."""
DurationS = Annotated[
    int,
    BeforeValidator(_duration),
    WithJsonSchema({"type": "number", "exclusiveMinimum": 0}),
]
"""A duration: minutes in files (whole seconds), integer seconds in code."""


def _visible(text: str) -> str:
    if text and not text.strip():
        raise _fail(
            "blank_text", "only spaces; write the text, or remove the key if it is optional"
        )
    return text


Text = Annotated[str, StringConstraints(min_length=1), AfterValidator(_visible)]
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$", max_length=64)]
"""A name used on the command line and in journals: lower-case letters, digits, '-' and '_'."""
