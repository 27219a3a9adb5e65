"""Safety figures a clinic policy loosens, allowed only when the policy says so with a reason.

The bundled policy's safety figures (the 1.5 mm soft ceiling, each level's depth and speed cap)
come from published sources. A clinic may set its own, but a looser figure must be declared in a
`[loosened."FIGURE"]` table with `reason` and `by`: a silent loosening is refused, a declared one
is shown loudly by `validate`, `list` and `policy`, and the loaded library exposes it so every
session records which figures were changed and by whom. A new level (a name the bundled policy does
not have) has no bundled figure to loosen; a removed speed cap loosens it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from profiles.issues import Issue, show_value
from profiles.models import ClinicPolicy
from profiles.tomlpos import Path, line_of
from profiles.units import format_mm, format_sps


@dataclass(frozen=True, slots=True)
class LoosenedFigure:
    """One safety figure a clinic policy sets looser than the bundled policy, and who decided."""

    figure: str
    """As written in the policy file, e.g. `levels.therapist.depth_max_mm`."""
    bundled: str
    clinic: str
    reason: str
    by: str

    def __str__(self) -> str:
        return (
            f"{self.figure}: {self.clinic} (bundled: {self.bundled}), loosened by {self.by}: "
            f"{self.reason}"
        )


@dataclass(frozen=True, slots=True)
class _Difference:
    figure: str
    path: Path
    bundled: str
    clinic: str


def _differences(policy: ClinicPolicy, bundled: ClinicPolicy) -> list[_Difference]:
    """Every safety figure of `policy` looser than the bundled one."""
    found: list[_Difference] = []
    if policy.soft_depth_max_um > bundled.soft_depth_max_um:
        found.append(
            _Difference(
                "soft_depth_max_mm",
                ("soft_depth_max_mm",),
                format_mm(bundled.soft_depth_max_um),
                format_mm(policy.soft_depth_max_um),
            )
        )
    for name, level in policy.levels.items():
        base = bundled.levels.get(name)
        if base is None:
            continue
        if level.depth_max_um > base.depth_max_um:
            figure = f"levels.{name}.depth_max_mm"
            path = ("levels", name, "depth_max_mm")
            found.append(
                _Difference(
                    figure, path, format_mm(base.depth_max_um), format_mm(level.depth_max_um)
                )
            )
        if base.speed_max_sps is not None and (
            level.speed_max_sps is None or level.speed_max_sps > base.speed_max_sps
        ):
            clinic = "no cap" if level.speed_max_sps is None else format_sps(level.speed_max_sps)
            found.append(
                _Difference(
                    f"levels.{name}.speed_max_sps",
                    ("levels", name, "speed_max_sps"),
                    format_sps(base.speed_max_sps),
                    clinic,
                )
            )
    return found


def loosened_figures(policy: ClinicPolicy, bundled: ClinicPolicy) -> tuple[LoosenedFigure, ...]:
    """The declared loosenings in force (a valid policy declares every one it makes)."""
    return tuple(
        LoosenedFigure(d.figure, d.bundled, d.clinic, note.reason, note.by)
        for d in _differences(policy, bundled)
        if (note := policy.loosened.get(d.figure)) is not None
    )


def _written(data: Mapping[str, Any], path: Path) -> Any:
    value: Any = data
    for part in path:
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def loosening_issues(
    policy: ClinicPolicy,
    bundled: ClinicPolicy,
    file: str,
    data: Mapping[str, Any],
    lines: Mapping[Path, int],
) -> list[Issue]:
    """A loosening without a declaration, and a declaration of a figure that is not looser."""
    differences = _differences(policy, bundled)
    issues: list[Issue] = []
    for difference in differences:
        if difference.figure in policy.loosened:
            continue
        issues.append(
            Issue(
                file,
                line_of(dict(lines), difference.path) or 1,
                difference.figure,
                show_value(_written(data, difference.path)),
                f"loosens a bundled safety figure ({difference.bundled}); a clinic may do so "
                f'only knowingly: add a [loosened."{difference.figure}"] table with reason = '
                '"…" and by = "name, role", or keep the bundled figure',
            )
        )
    looser = {difference.figure for difference in differences}
    for figure in policy.loosened:
        if figure not in looser:
            issues.append(
                Issue(
                    file,
                    line_of(dict(lines), ("loosened", figure)) or 1,
                    f"loosened.{figure}",
                    show_value(figure),
                    "declared loosened, but this policy does not set that figure looser than the "
                    "bundled one (a safety figure: soft_depth_max_mm, levels.NAME.depth_max_mm "
                    "or levels.NAME.speed_max_sps); remove the table",
                )
            )
    return sorted(issues, key=lambda issue: issue.line or 0)
