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

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict

from profiles.models import AreaCatalogue, ClinicPolicy, DeviceLimits, Profile
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
    layer: Layer
    side: Side
    value: int
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

    where = f"for the {spec.label}"
    in_profile = f"in profile {profile.name} {where}"
    mm, sps = Quantity.DEPTH, Quantity.SPEED
    depth: list[_Figure] = [
        _hard(mm, Layer.DEVICE, "min", device.depth_min_um, "is the pen's shallowest setting"),
        _hard(mm, Layer.DEVICE, "max", device.depth_max_um, "is the pen's deepest setting"),
    ]
    if cartridge_max_um is not None:
        depth.append(
            _hard(
                mm,
                Layer.CARTRIDGE,
                "max",
                cartridge_max_um,
                "is this cartridge's maximum (its needle length)",
            )
        )
    depth += [
        _hard(mm, Layer.AREA, "max", spec.depth_max_um, f"is the hard ceiling {where}"),
        _soft(Layer.AREA, spec.depth_soft_max_um, where, spec.soft_reason),
        _soft(Layer.POLICY, policy.soft_depth_max_um, "by clinic policy", policy.soft_depth_reason),
    ]
    if policy.depth_max_um is not None:
        depth.append(
            _hard(mm, Layer.POLICY, "max", policy.depth_max_um, "is the clinic policy's cap")
        )
    level_cap = f"is the cap for a {practitioner.label} in the clinic policy"
    depth += [
        _hard(mm, Layer.LEVEL, "max", practitioner.depth_max_um, level_cap),
        _hard(
            mm, Layer.PROFILE, "min", settings.depth_min_um, f"is the minimum depth {in_profile}"
        ),
        _hard(
            mm, Layer.PROFILE, "max", settings.depth_max_um, f"is the maximum depth {in_profile}"
        ),
    ]
    if settings.depth_soft_max_um is not None and settings.depth_soft_reason is not None:
        depth.append(
            _soft(Layer.PROFILE, settings.depth_soft_max_um, in_profile, settings.depth_soft_reason)
        )

    speed: list[_Figure] = [
        _hard(sps, Layer.DEVICE, "min", device.speed_min_sps, "is the pen's slowest setting"),
        _hard(sps, Layer.DEVICE, "max", device.speed_max_sps, "is the pen's fastest setting"),
    ]
    if policy.speed_max_sps is not None:
        speed.append(
            _hard(sps, Layer.POLICY, "max", policy.speed_max_sps, "is the clinic policy's cap")
        )
    if practitioner.speed_max_sps is not None:
        speed.append(_hard(sps, Layer.LEVEL, "max", practitioner.speed_max_sps, level_cap))
    speed += [
        _hard(
            sps, Layer.PROFILE, "min", settings.speed_min_sps, f"is the minimum speed {in_profile}"
        ),
        _hard(
            sps, Layer.PROFILE, "max", settings.speed_max_sps, f"is the maximum speed {in_profile}"
        ),
    ]

    depth_range = _range(Quantity.DEPTH, depth, device.depth_min_um, device.depth_step_um)
    speed_range = _range(Quantity.SPEED, speed, device.speed_min_sps, device.speed_step_sps)
    conflicts = tuple(r for r in (depth_range, speed_range) if isinstance(r, Conflict))
    if conflicts:
        return refusal(conflicts=conflicts)
    assert not isinstance(depth_range, Conflict) and not isinstance(speed_range, Conflict)
    depth_min, depth_max = depth_range
    speed_min, speed_max = speed_range

    soft_figure = _tightest(depth, "soft_max")
    soft: Bound | None = None
    if soft_figure is not None and soft_figure.value < depth_max.value:
        soft = _bound(Quantity.DEPTH, soft_figure, soft_figure.value, device.depth_step_um)

    start_depth = min(max(settings.depth_default_um, depth_min.value), depth_max.value)
    start_depth = max(
        _grid_down(start_depth, device.depth_min_um, device.depth_step_um), depth_min.value
    )
    if soft is not None and start_depth > soft.value:
        below_soft = _grid_down(soft.value, device.depth_min_um, device.depth_step_um)
        start_depth = max(below_soft, depth_min.value)
    start_speed = min(max(settings.speed_default_sps, speed_min.value), speed_max.value)
    start_speed = max(
        _grid_down(start_speed, device.speed_min_sps, device.speed_step_sps), speed_min.value
    )

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
        start_depth_um=start_depth,
        start_speed_sps=start_speed,
        layers=tuple(layer for layer in Layer if any(f.layer is layer for f in depth + speed)),
    )


def _hard(quantity: Quantity, layer: Layer, side: Side, value: int, predicate: str) -> _Figure:
    return _Figure(layer, side, value, f"{_show(quantity, value)} {predicate}")


def _soft(layer: Layer, value: int, where: str, reason: str) -> _Figure:
    return _Figure(
        layer, "soft_max", value, f"above {format_mm(value)} needs a confirmation {where}", reason
    )


def _range(
    quantity: Quantity, figures: list[_Figure], origin: int, step: int
) -> tuple[Bound, Bound] | Conflict:
    low_figure = _tightest(figures, "min")
    high_figure = _tightest(figures, "max")
    assert low_figure is not None and high_figure is not None  # the device states both
    low_value = _grid_up(max(low_figure.value, origin), origin, step)
    high_value = _grid_down(high_figure.value, origin, step)
    low = _bound(quantity, low_figure, low_value, step)
    high = _bound(quantity, high_figure, high_value, step)
    if low_figure.value > high_figure.value:
        return _conflict(quantity, low, high, off_grid=False)
    if low_value > high_value:
        return _conflict(quantity, low, high, off_grid=True)
    return low, high


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
    findings = [
        finding
        for finding in (
            _check_one(
                Quantity.DEPTH, depth_um, limits.depth_min, limits.depth_max, limits.depth_step_um
            ),
            _check_one(
                Quantity.SPEED,
                speed_sps,
                limits.speed_min,
                limits.speed_max,
                limits.speed_step_sps,
            ),
        )
        if finding is not None
    ]
    soft = limits.soft_depth_max
    if not findings and soft is not None and depth_um > soft.value:
        findings.append(
            LimitFinding(
                quantity=Quantity.DEPTH,
                verdict=RequestVerdict.NEEDS_CONFIRMATION,
                requested=depth_um,
                bound=soft,
                message=f"{format_mm(depth_um)} needs a confirmation with a reason: {soft.reason} "
                f"({soft.sentence}). Nothing was sent to the pen yet; confirm with a reason, "
                f"or choose {soft.shown} or less.",
            )
        )
    if not findings:
        verdict = RequestVerdict.ACCEPTED
        message = (
            f"{format_mm(depth_um)} at {format_sps(speed_sps)} is within every limit "
            f"of profile {limits.profile} for {limits.area.value}."
        )
    else:
        verdict = (
            RequestVerdict.REFUSED
            if any(f.verdict is RequestVerdict.REFUSED for f in findings)
            else RequestVerdict.NEEDS_CONFIRMATION
        )
        message = " ".join(f.message for f in findings)
    return RequestCheck(
        verdict=verdict,
        depth_um=depth_um,
        speed_sps=speed_sps,
        findings=tuple(findings),
        message=message,
    )
