"""Figures that are allowed but look like a unit slip: warned about, never refused.

A numbing dwell under 5 minutes is most likely hours written as minutes (`1` for an hour), but a
test rig or a training setup may shorten the dwell on purpose, so it is a warning that `validate`
and `list` print and the library keeps, not a refusal.
"""

from __future__ import annotations

from collections.abc import Mapping

from profiles.issues import Issue
from profiles.models import NUMBING_DWELL_S, ClinicPolicy
from profiles.tomlpos import Path, line_of
from profiles.units import S_PER_MINUTE, format_minutes


def policy_warnings(policy: ClinicPolicy, file: str, lines: Mapping[Path, int]) -> list[Issue]:
    shortest = NUMBING_DWELL_S[0]
    warnings: list[Issue] = []
    for key, seconds in (
        ("min_dwell_minutes", policy.numbing.min_dwell_s),
        ("max_dwell_minutes", policy.numbing.max_dwell_s),
    ):
        if seconds < shortest:
            path = ("numbing", key)
            warnings.append(
                Issue(
                    file,
                    line_of(dict(lines), path) or 1,
                    ".".join(path),
                    format_minutes(seconds),
                    f"under {shortest // S_PER_MINUTE} minutes: hours, not minutes? numbing cream "
                    "stays on 15–60 minutes (domain.md §3); write minutes, e.g. 60 for an hour",
                )
            )
    return warnings
