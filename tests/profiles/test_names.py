"""Names as people type them: either separator is the same name; an unknown one is a typed value
with the closest known names, never a sentence to parse."""

from __future__ import annotations

from pathlib import Path

import pytest

from profiles import (
    SIMULATED_PEN,
    Area,
    Concern,
    EffectiveLimits,
    LimitsRefusal,
    NameKind,
    UnknownName,
    load_library,
)
from profiles.loader import bundled_dir
from profiles.names import closest, find_name

LIBRARY = load_library(environ={})


@pytest.mark.parametrize("typed", ["acne-scars", "acne_scars"])
def test_a_profile_is_found_with_either_separator(typed: str) -> None:
    assert LIBRARY.find_profile(typed) == LIBRARY.profiles["acne-scars"]


@pytest.mark.parametrize("typed", ["cheek_left", "cheek-left", Area.CHEEK_LEFT])
def test_an_area_is_found_with_either_separator(typed: str) -> None:
    assert LIBRARY.find_area(typed) is Area.CHEEK_LEFT


@pytest.mark.parametrize("typed", ["acne_scars", "acne-scars"])
def test_a_concern_is_found_with_either_separator(typed: str) -> None:
    assert LIBRARY.find_concern(typed) is Concern.ACNE_SCARS


@pytest.mark.parametrize(
    ("kind", "typed", "closest_name", "known"),
    [
        (NameKind.PROFILE, "acne-scras", "acne-scars", 11),  # puffiness is off
        (NameKind.PROFILE, "stretch_mark", "stretch-marks", 11),
        (NameKind.AREA, "cheeck-left", "cheek_left", len(Area)),
        (NameKind.CONCERN, "acne-scar", "acne_scars", len(Concern)),
    ],
)
def test_an_unknown_name_carries_its_kind_as_typed_and_the_closest_names(
    kind: NameKind, typed: str, closest_name: str, known: int
) -> None:
    find = {
        NameKind.PROFILE: LIBRARY.find_profile,
        NameKind.AREA: LIBRARY.find_area,
        NameKind.CONCERN: LIBRARY.find_concern,
    }[kind]
    found = find(typed)
    assert isinstance(found, UnknownName)
    assert (found.kind, found.given, found.suggestions[0]) == (kind, typed, closest_name)
    assert len(found.known) == known


def test_a_name_like_nothing_has_no_suggestions() -> None:
    found = LIBRARY.find_area("elbow")
    assert isinstance(found, UnknownName) and found.suggestions == ()
    assert found.known == tuple(area.value for area in Area)


def test_an_exact_name_wins_over_the_respelt_one() -> None:
    """Profile names may contain '_' (a clinic's `my_plan`): typed exactly, it is that profile."""
    assert find_name(NameKind.PROFILE, "my_plan", ("my_plan", "my-plan")) == "my_plan"
    assert find_name(NameKind.PROFILE, "my_plan", ("my-plan",)) == "my-plan"


def test_suggestions_come_closest_first_and_only_when_close() -> None:
    assert closest("cheek", [a.value for a in Area]) == ("cheek_left", "cheek_right")
    assert closest("zzz", [a.value for a in Area]) == ()


def test_effective_limits_by_names_typed_with_the_other_separator() -> None:
    typed = LIBRARY.effective_limits("acne_scars", "cheek-left", SIMULATED_PEN, None)
    written = LIBRARY.effective_limits("acne-scars", "cheek_left", SIMULATED_PEN, None)
    assert isinstance(typed, EffectiveLimits) and typed == written


def test_effective_limits_refuses_an_unknown_name_with_the_closest_known_one() -> None:
    result = LIBRARY.effective_limits("acne-scras", "cheeck-left", SIMULATED_PEN, None)
    assert isinstance(result, LimitsRefusal)
    profile_problem, area_problem = result.problems
    assert profile_problem.startswith("No profile named 'acne-scras' (known: acne-scars, ")
    assert profile_problem.endswith("`penctl profiles list`. Did you mean 'acne-scars'?")
    assert area_problem.startswith("No area named 'cheeck-left' (known: forehead, ")
    assert area_problem.endswith(". Did you mean 'cheek_left'?")
    assert result.message == (
        f"{profile_problem} {area_problem} Treatment cannot start: nothing was sent to the pen."
    )


def test_a_clinic_profile_is_found_by_its_own_name(tmp_path: Path) -> None:
    text = (Path(str(bundled_dir())) / "dark-circles.toml").read_text("utf-8")
    (tmp_path / "eyes.toml").write_text(text.replace('"dark-circles"', '"our_eyes"'), "utf-8")
    library = load_library(tmp_path, environ={})
    assert library.find_profile("our_eyes") == library.profiles["our_eyes"]
    found = library.find_profile("our-eyes")
    assert isinstance(found, UnknownName) and found.suggestions[0] == "our_eyes"
