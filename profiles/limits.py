"""Effective limits: the intersection of every layer, with the layer that set each bound.

Theory of operation. Six layers can each bound depth and speed: the pen (`device`, from IDENTIFY),
the fitted `cartridge` (its needle length), the `area` (anatomy, from `areas.toml`), the `policy`
(clinic-wide caps), the practitioner's `level` and the `profile` (the plan for this area). The hard
range is the intersection of all of them, pulled inwards onto the pen's step grid (anchored at the
pen's minimum). The soft ceiling is the lowest soft figure (area, profile, policy); depths above it
need a confirmation with a reason. When two layers state the same figure, the more fundamental one
is named, in the order of `Layer`, because that is the one another choice of profile cannot change.

Nothing here raises for well-formed models: an empty intersection is a `LimitsRefusal` value that
names the layers in conflict and what to do next.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict

from profiles.models import (
    AreaCatalogue,
    AreaSettings,
    AreaSpec,
    ClinicPolicy,
    DeviceLimits,
    PractitionerLevel,
    Profile,
)
from profiles.units import format_mm, format_sps
from profiles.vocabulary import Area


class Layer(StrEnum):
    """The layers, most fundamental first (this order breaks ties)."""

    DEVICE = "device"
    CARTRIDGE = "cartridge"
    AREA = "area"
    POLICY = "policy"
    LEVEL = "level"
    PROFILE = "profile"


class Quantity(StrEnum):
    DEPTH = "depth"
    SPEED = "speed"


Side = Literal["min", "max", "soft_max"]

_REMEDY: dict[tuple[Layer, Side], str] = {
    (Layer.DEVICE, "min"): "use a pen whose range reaches it",
    (Layer.DEVICE, "max"): "use a pen whose range reaches it",
    (Layer.CARTRIDGE, "max"): "fit a cartridge with longer needles",
    (Layer.AREA, "max"): "choose a profile meant for this area",
    (Layer.POLICY, "max"): "the clinic policy must change (service role)",
    (Layer.LEVEL, "max"): "a practitioner of a higher level must treat this area",
    (Layer.PROFILE, "min"): "choose another profile for this area",
    (Layer.PROFILE, "max"): "choose another profile for this area",
}


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Bound(_Frozen):
    """One bound of the effective limits, the layer that set it, and why, in words."""

    quantity: Quantity
    side: Side
    value: int
    """µm or strokes/s; hard bounds are on the pen's step grid."""
    layer: Layer
    layer_value: int
    """The figure the layer states; differs from `value` only when pulled onto the step grid."""
    sentence: str
    """e.g. "1.0 mm is this cartridge's maximum (its needle length)"."""
    reason: str | None = None
    """For a soft ceiling: the sentence shown when asking for the confirmation."""

    @property
    def shown(self) -> str:
        return _show(self.quantity, self.value)


class Conflict(_Frozen):
    """An empty range: the binding lower bound lies above the binding upper bound."""

    quantity: Quantity
    low: Bound
    high: Bound
    message: str


class LimitsRefusal(_Frozen):
    """No treatment is possible with these layers; `message` says why and what to do next."""

    conflicts: tuple[Conflict, ...] = ()
    problems: tuple[str, ...] = ()
    message: str

    @property
    def layers(self) -> tuple[Layer, ...]:
        found: list[Layer] = []
        for conflict in self.conflicts:
            for layer in (conflict.low.layer, conflict.high.layer):
                if layer not in found:
                    found.append(layer)
        return tuple(found)


class EffectiveLimits(_Frozen):
    """The ranges a session on one area may use, each bound attributed to its layer."""

    profile: str
    area: Area
    level: str
    depth_min: Bound
    depth_max: Bound
    soft_depth_max: Bound | None
    """None when no allowed depth needs a confirmation."""
    speed_min: Bound
    speed_max: Bound
    depth_step_um: int
    speed_step_sps: int
    start_depth_um: int
    """The profile's default, pulled inside the range and onto the grid."""
    start_speed_sps: int
    start_depth_note: str | None = None
    """Why the start depth is not the profile's default (the layer that moved it), else None."""
    start_speed_note: str | None = None
    """Why the start speed is not the profile's default, else None."""
    notes: tuple[str, ...] = ()
    """What else a practitioner should know: a range collapsed to one value, a soft ceiling
    raised to the minimum."""
    layers: tuple[Layer, ...]
    """The layers that took part (no cartridge layer when its needle length was not given)."""

    def bounds(self) -> tuple[Bound, ...]:
        hard = (self.depth_min, self.depth_max, self.speed_min, self.speed_max)
        return hard if self.soft_depth_max is None else (*hard, self.soft_depth_max)

    def needs_confirmation(self, depth_um: int) -> bool:
        return self.soft_depth_max is not None and depth_um > self.soft_depth_max.value

    def depth_values(self) -> tuple[int, ...]:
        """Every depth the pen can be set to within the limits, shallowest first."""
        return tuple(range(self.depth_min.value, self.depth_max.value + 1, self.depth_step_um))

    def speed_values(self) -> tuple[int, ...]:
        return tuple(range(self.speed_min.value, self.speed_max.value + 1, self.speed_step_sps))

    def snap_depth_um(self, depth_um: int) -> int:
        """The nearest allowed depth (ties go shallower)."""
        return _nearest(depth_um, self.depth_values())

    def snap_speed_sps(self, speed_sps: int) -> int:
        """The nearest allowed speed (ties go slower)."""
        return _nearest(speed_sps, self.speed_values())


class RequestVerdict(StrEnum):
    """What may happen to one requested depth and speed (not the journal verifier's `Verdict`)."""

    ACCEPTED = "accepted"
    NEEDS_CONFIRMATION = "needs_confirmation"
    REFUSED = "refused"


class LimitFinding(_Frozen):
    """One limit that refuses a requested value or asks for a confirmation of it."""

    quantity: Quantity
    verdict: RequestVerdict
    requested: int
    bound: Bound | None = None
    """The bound that refused the value or asks for a confirmation."""
    message: str

    @property
    def layer(self) -> Layer | None:
        return None if self.bound is None else self.bound.layer


class RequestCheck(_Frozen):
    """The answer to "may the pen run at this depth and speed?", with the limit that says no."""

    verdict: RequestVerdict
    depth_um: int
    speed_sps: int
    findings: tuple[LimitFinding, ...]
    """Refusals and confirmations, depth first; empty when accepted."""
    message: str

    @property
    def stopped_by(self) -> LimitFinding | None:
        """The first finding that refused the request."""
        return next((f for f in self.findings if f.verdict is RequestVerdict.REFUSED), None)


# ---- computation --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Figure:
    """One figure a layer states, before the layers are intersected."""

    layer: Layer
    side: Side
    value: int
    """µm or strokes/s, as `Bound.value`."""
    sentence: str
    reason: str | None = None


def _show(quantity: Quantity, value: int) -> str:
    return format_mm(value) if quantity is Quantity.DEPTH else format_sps(value)


def _nearest(value: int, allowed: tuple[int, ...]) -> int:
    return min(allowed, key=lambda candidate: (abs(candidate - value), candidate))


def _grid_up(value: int, origin: int, step: int) -> int:
    return origin + -((origin - value) // step) * step


def _grid_down(value: int, origin: int, step: int) -> int:
    return origin + ((value - origin) // step) * step


def _tightest(figures: Iterable[_Figure], side: Side) -> _Figure | None:
    """The binding figure; on a tie the earliest layer (figures come in `Layer` order)."""
    best: _Figure | None = None
    for figure in figures:
        if figure.side != side:
            continue
        if (
            best is None
            or (side == "min" and figure.value > best.value)
            or (side != "min" and figure.value < best.value)
        ):
            best = figure
    return best


def _bound(quantity: Quantity, figure: _Figure, value: int, step: int) -> Bound:
    sentence = figure.sentence
    if value != figure.value:
        direction = "up" if figure.side == "min" else "down"
        sentence += (
            f"; rounded {direction} to {_show(quantity, value)}, the nearest step of the pen "
            f"({_show(quantity, step)} steps)"
        )
    return Bound(
        quantity=quantity,
        side=figure.side,
        value=value,
        layer=figure.layer,
        layer_value=figure.value,
        sentence=sentence,
        reason=figure.reason,
    )


def _remedy(layer: Layer, side: Side) -> str:
    return _REMEDY.get((layer, side), "choose another profile")


def _conflict(quantity: Quantity, low: Bound, high: Bound, off_grid: bool) -> Conflict:
    noun = "depth" if quantity is Quantity.DEPTH else "speed"
    if off_grid:
        why = (
            f"no step of the pen lies between {_show(quantity, low.layer_value)} and "
            f"{_show(quantity, high.layer_value)} ({low.sentence}; {high.sentence})"
        )
    else:
        why = f"{low.sentence}, but {high.sentence}"
    remedies = [_remedy(high.layer, "max")]
    if _remedy(low.layer, "min") not in remedies:
        remedies.append(_remedy(low.layer, "min"))
    return Conflict(
        quantity=quantity,
        low=low,
        high=high,
        message=f"No {noun} satisfies every limit: {why}. To treat: {' or '.join(remedies)}.",
    )


def refusal(conflicts: tuple[Conflict, ...] = (), problems: tuple[str, ...] = ()) -> LimitsRefusal:
    """Every refusal ends the same way, so the practitioner knows the pen was left alone."""
    lines = [*problems, *(c.message for c in conflicts)]
    message = " ".join(lines) + " Treatment cannot start: nothing was sent to the pen."
    return LimitsRefusal(conflicts=conflicts, problems=problems, message=message)


def effective_limits(
    *,
    device: DeviceLimits,
    cartridge_max_um: int | None,
    area: Area,
    areas: AreaCatalogue,
    profile: Profile,
    policy: ClinicPolicy,
    level: str,
) -> EffectiveLimits | LimitsRefusal:
    """Intersect every layer for one area of one profile. Pure; never raises on valid models."""
    entries = _layer_entries(device, cartridge_max_um, area, areas, profile, policy, level)
    if isinstance(entries, LimitsRefusal):
        return entries
    depth_figures, speed_figures = _depth_figures(entries), _speed_figures(entries)
    depth_range = _range(Quantity.DEPTH, depth_figures, device.depth_min_um, device.depth_step_um)
    speed_range = _range(Quantity.SPEED, speed_figures, device.speed_min_sps, device.speed_step_sps)
    if isinstance(depth_range, Conflict) or isinstance(speed_range, Conflict):
        return refusal(
            conflicts=tuple(r for r in (depth_range, speed_range) if isinstance(r, Conflict))
        )
    depth_min, depth_max = depth_range
    speed_min, speed_max = speed_range
    soft, soft_note = _soft_ceiling(depth_figures, depth_min, depth_max, device.depth_step_um)
    # A start value never needs a confirmation, so the soft ceiling caps the start depth.
    start_depth_um, start_depth_note = _start(
        Quantity.DEPTH,
        entries.settings.depth_default_um,
        depth_min,
        depth_max if soft is None else soft,
        device.depth_min_um,
        device.depth_step_um,
    )
    start_speed_sps, start_speed_note = _start(
        Quantity.SPEED,
        entries.settings.speed_default_sps,
        speed_min,
        speed_max,
        device.speed_min_sps,
        device.speed_step_sps,
    )
    notes = (soft_note, _collapsed(depth_min, depth_max), _collapsed(speed_min, speed_max))
    return EffectiveLimits(
        profile=profile.name,
        area=area,
        level=level,
        depth_min=depth_min,
        depth_max=depth_max,
        soft_depth_max=soft,
        speed_min=speed_min,
        speed_max=speed_max,
        depth_step_um=device.depth_step_um,
        speed_step_sps=device.speed_step_sps,
        start_depth_um=start_depth_um,
        start_speed_sps=start_speed_sps,
        start_depth_note=start_depth_note,
        start_speed_note=start_speed_note,
        notes=tuple(note for note in notes if note is not None),
        layers=tuple(
            layer for layer in Layer if any(f.layer is layer for f in depth_figures + speed_figures)
        ),
    )


@dataclass(frozen=True, slots=True)
class _LayerEntries:
    """What each layer says about one area, once every layer is known to have an entry."""

    device: DeviceLimits
    cartridge_max_um: int | None
    spec: AreaSpec
    policy: ClinicPolicy
    practitioner: PractitionerLevel
    profile_name: str
    settings: AreaSettings

    @property
    def where(self) -> str:
        return f"for the {self.spec.label}"

    @property
    def in_profile(self) -> str:
        return f"in profile {self.profile_name} {self.where}"

    @property
    def level_cap(self) -> str:
        return f"is the cap for a {self.practitioner.label} in the clinic policy"


def _layer_entries(
    device: DeviceLimits,
    cartridge_max_um: int | None,
    area: Area,
    areas: AreaCatalogue,
    profile: Profile,
    policy: ClinicPolicy,
    level: str,
) -> _LayerEntries | LimitsRefusal:
    """Each layer's entry for the area, or a refusal naming every layer that has none."""
    problems: list[str] = []
    settings = profile.areas.get(area)
    spec = areas.areas.get(area)
    practitioner = policy.levels.get(level)
    if spec is None:
        problems.append(f"The area catalogue has no entry for {area.value}.")
    if settings is None:
        covered = ", ".join(a.value for a in profile.areas)
        problems.append(
            f"Profile {profile.name} does not cover {area.value} (it covers: {covered}); "
            "choose a profile for this area."
        )
    if practitioner is None:
        known = ", ".join(sorted(policy.levels))
        problems.append(
            f"Practitioner level {level!r} is not in the clinic policy (known: {known}); "
            "sign in with a level the policy defines."
        )
    if spec is None or settings is None or practitioner is None:
        return refusal(problems=tuple(problems))
    return _LayerEntries(
        device=device,
        cartridge_max_um=cartridge_max_um,
        spec=spec,
        policy=policy,
        practitioner=practitioner,
        profile_name=profile.name,
        settings=settings,
    )


def _depth_figures(entries: _LayerEntries) -> list[_Figure]:
    """Every depth figure the layers state, in `Layer` order (so ties name the earliest)."""
    device, spec, policy, settings = entries.device, entries.spec, entries.policy, entries.settings
    in_profile = entries.in_profile
    needle = "is this cartridge's maximum (its needle length)"
    hard: list[_Statement] = [
        (Layer.DEVICE, "min", device.depth_min_um, "is the pen's shallowest setting"),
        (Layer.DEVICE, "max", device.depth_max_um, "is the pen's deepest setting"),
        (Layer.CARTRIDGE, "max", entries.cartridge_max_um, needle),
        (Layer.AREA, "max", spec.depth_max_um, f"is the hard ceiling {entries.where}"),
        (Layer.POLICY, "max", policy.depth_max_um, "is the clinic policy's cap"),
        (Layer.LEVEL, "max", entries.practitioner.depth_max_um, entries.level_cap),
        (Layer.PROFILE, "min", settings.depth_min_um, f"is the minimum depth {in_profile}"),
        (Layer.PROFILE, "max", settings.depth_max_um, f"is the maximum depth {in_profile}"),
    ]
    soft = [
        (Layer.AREA, spec.depth_soft_max_um, entries.where, spec.soft_reason),
        (Layer.POLICY, policy.soft_depth_max_um, "by clinic policy", policy.soft_depth_reason),
        (Layer.PROFILE, settings.depth_soft_max_um, in_profile, settings.depth_soft_reason),
    ]
    if spec.medical_only_above_um is not None and not entries.practitioner.medical:
        hard.insert(  # beside the area's own ceiling, so a tie names the area
            4,
            (
                Layer.AREA,
                "max",
                spec.medical_only_above_um,
                f"is the deepest {entries.where} below a medical level (a doctor may go deeper)",
            ),
        )
    return _stated(hard, format_mm) + [
        _soft_depth(layer, value_um, where, reason)
        for layer, value_um, where, reason in soft
        if value_um is not None and reason is not None
    ]


def _speed_figures(entries: _LayerEntries) -> list[_Figure]:
    """Every speed figure the layers state, in `Layer` order (so ties name the earliest)."""
    device, policy, settings = entries.device, entries.policy, entries.settings
    in_profile = entries.in_profile
    hard: list[_Statement] = [
        (Layer.DEVICE, "min", device.speed_min_sps, "is the pen's slowest setting"),
        (Layer.DEVICE, "max", device.speed_max_sps, "is the pen's fastest setting"),
        (Layer.POLICY, "max", policy.speed_max_sps, "is the clinic policy's cap"),
        (Layer.LEVEL, "max", entries.practitioner.speed_max_sps, entries.level_cap),
        (Layer.PROFILE, "min", settings.speed_min_sps, f"is the minimum speed {in_profile}"),
        (Layer.PROFILE, "max", settings.speed_max_sps, f"is the maximum speed {in_profile}"),
    ]
    return _stated(hard, format_sps)


_Statement = tuple[Layer, Side, int | None, str]
"""A hard figure as a layer states it: side, value (None: the layer sets none) and predicate."""


def _stated(statements: list[_Statement], show: Callable[[int], str]) -> list[_Figure]:
    return [
        _Figure(layer, side, value, f"{show(value)} {predicate}")
        for layer, side, value, predicate in statements
        if value is not None
    ]


def _soft_depth(layer: Layer, value_um: int, where: str, reason: str) -> _Figure:
    return _Figure(
        layer,
        "soft_max",
        value_um,
        f"above {format_mm(value_um)} needs a confirmation {where}",
        reason,
    )


_SOFT_TIES = (Layer.PROFILE, Layer.AREA, Layer.POLICY)
"""On a tie of soft ceilings the most specific reason is shown: the profile's own sentence says
more to a practitioner than the area's, and the area's more than the clinic-wide one."""


def _soft_ceiling(
    depth_figures: list[_Figure], depth_min: Bound, depth_max: Bound, step_um: int
) -> tuple[Bound | None, str | None]:
    """The lowest soft figure (None when no allowed depth lies above it), and a note when it
    had to be raised to the minimum depth so that the start needs no confirmation."""
    soft = [figure for figure in depth_figures if figure.side == "soft_max"]
    if not soft:
        return None, None
    figure = min(soft, key=lambda f: (f.value, _SOFT_TIES.index(f.layer)))
    note = None
    value = figure.value
    if value < depth_min.value:
        note = (
            f"the soft ceiling {format_mm(figure.value)} ({figure.layer.value}) lies below the "
            f"minimum depth {depth_min.shown} ({depth_min.sentence}); it is raised to "
            f"{depth_min.shown} so that starting never needs a confirmation"
        )
        value = depth_min.value
    if value >= depth_max.value:
        return None, note
    sentence = figure.sentence
    if note is not None:
        sentence += f"; raised to {depth_min.shown}, the minimum depth"
    bound = Bound(
        quantity=Quantity.DEPTH,
        side="soft_max",
        value=value,
        layer=figure.layer,
        layer_value=figure.value,
        sentence=sentence,
        reason=figure.reason,
    )
    return bound, note


def _start(
    quantity: Quantity, default: int, low: Bound, cap: Bound, origin: int, step: int
) -> tuple[int, str | None]:
    """The profile's default pulled inside low..cap, then down onto the pen's grid (never below
    `low`), with the sentence that says which layer moved it when it moved."""
    value = max(_grid_down(min(max(default, low.value), cap.value), origin, step), low.value)
    if value == default:
        return value, None
    shown = _show(quantity, default)
    if default > cap.value and cap.side == "soft_max":
        why = f"a start never needs a confirmation, and {cap.sentence}"
    elif default > cap.value:
        why = f"{cap.sentence} ({cap.layer.value})"
    elif default < low.value:
        why = f"{low.sentence} ({low.layer.value})"
    else:
        why = (
            f"{shown} is not a step of the pen ({_show(quantity, step)} steps from "
            f"{_show(quantity, origin)}), so the next step down is used"
        )
    return value, f"starts at {_show(quantity, value)}, not the profile's default {shown}: {why}"


def _collapsed(low: Bound, high: Bound) -> str | None:
    """A range of one value is said out loud: the practitioner cannot adjust it at all."""
    if low.value != high.value:
        return None
    noun = "depth" if low.quantity is Quantity.DEPTH else "speed"
    return (
        f"the {noun} range is a single value, {low.shown}: {high.sentence} ({high.layer.value}), "
        f"and {low.sentence} ({low.layer.value}); the {noun} cannot be adjusted"
    )


def _range(
    quantity: Quantity, figures: list[_Figure], origin: int, step: int
) -> tuple[Bound, Bound] | Conflict:
    low_figure = _tightest(figures, "min")
    high_figure = _tightest(figures, "max")
    assert low_figure is not None and high_figure is not None  # the device states both
    low_value = _grid_up(max(low_figure.value, origin), origin, step)
    high_value = _grid_down(high_figure.value, origin, step)
    if low_figure.value > high_figure.value or low_value > high_value:
        # Unrounded: a rounded figure here could be a value the pen does not have at all.
        low = _bound(quantity, low_figure, low_figure.value, step)
        high = _bound(quantity, high_figure, high_figure.value, step)
        return _conflict(quantity, low, high, off_grid=low_figure.value <= high_figure.value)
    return _bound(quantity, low_figure, low_value, step), _bound(
        quantity, high_figure, high_value, step
    )


# ---- checking one request -----------------------------------------------------------------------


def _check_one(
    quantity: Quantity, requested: int, low: Bound, high: Bound, step: int
) -> LimitFinding | None:
    shown = _show(quantity, requested)
    if requested > high.value:
        return LimitFinding(
            quantity=quantity,
            verdict=RequestVerdict.REFUSED,
            requested=requested,
            bound=high,
            message=f"{shown} refused: {high.sentence}. Nothing was sent to the pen; "
            f"choose {high.shown} or less.",
        )
    if requested < low.value:
        return LimitFinding(
            quantity=quantity,
            verdict=RequestVerdict.REFUSED,
            requested=requested,
            bound=low,
            message=f"{shown} refused: {low.sentence}. Nothing was sent to the pen; "
            f"choose {low.shown} or more.",
        )
    if (requested - low.value) % step:
        below = _grid_down(requested, low.value, step)
        return LimitFinding(
            quantity=quantity,
            verdict=RequestVerdict.REFUSED,
            requested=requested,
            message=f"{shown} refused: the pen moves in {_show(quantity, step)} steps. Nothing "
            f"was sent to the pen; choose {_show(quantity, below)} or "
            f"{_show(quantity, below + step)}.",
        )
    return None


def check_request(
    limits: EffectiveLimits | LimitsRefusal, depth_um: int, speed_sps: int
) -> RequestCheck:
    """Accepted, needs a confirmation (soft ceiling), or refused with the layer and a message."""
    if isinstance(limits, LimitsRefusal):
        return RequestCheck(
            verdict=RequestVerdict.REFUSED,
            depth_um=depth_um,
            speed_sps=speed_sps,
            findings=(),
            message=limits.message,
        )
    findings = _refusals(limits, depth_um, speed_sps) or _confirmation(limits, depth_um)
    if not findings:
        return RequestCheck(
            verdict=RequestVerdict.ACCEPTED,
            depth_um=depth_um,
            speed_sps=speed_sps,
            findings=(),
            message=f"{format_mm(depth_um)} at {format_sps(speed_sps)} is within every limit "
            f"of profile {limits.profile} for {limits.area.value}.",
        )
    refused = any(f.verdict is RequestVerdict.REFUSED for f in findings)
    return RequestCheck(
        verdict=RequestVerdict.REFUSED if refused else RequestVerdict.NEEDS_CONFIRMATION,
        depth_um=depth_um,
        speed_sps=speed_sps,
        findings=findings,
        message=" ".join(f.message for f in findings),
    )


def _refusals(limits: EffectiveLimits, depth_um: int, speed_sps: int) -> tuple[LimitFinding, ...]:
    """The hard limits the request breaks, depth first."""
    depth = _check_one(
        Quantity.DEPTH, depth_um, limits.depth_min, limits.depth_max, limits.depth_step_um
    )
    speed = _check_one(
        Quantity.SPEED, speed_sps, limits.speed_min, limits.speed_max, limits.speed_step_sps
    )
    return tuple(finding for finding in (depth, speed) if finding is not None)


def _confirmation(limits: EffectiveLimits, depth_um: int) -> tuple[LimitFinding, ...]:
    """The soft ceiling, when the depth is above it."""
    soft = limits.soft_depth_max
    if soft is None or depth_um <= soft.value:
        return ()
    return (
        LimitFinding(
            quantity=Quantity.DEPTH,
            verdict=RequestVerdict.NEEDS_CONFIRMATION,
            requested=depth_um,
            bound=soft,
            message=f"{format_mm(depth_um)} needs a confirmation with a reason: {soft.reason} "
            f"({soft.sentence}). Nothing was sent to the pen yet; confirm with a reason, "
            f"or choose {soft.shown} or less.",
        ),
    )
