"""The bundled library and clinic directories: coverage, sources, overrides and their reports."""

from __future__ import annotations

from pathlib import Path

import pytest

from profiles import (
    CLINIC_DIR_ENV,
    SIMULATED_PEN,
    Area,
    Concern,
    EffectiveLimits,
    FileKind,
    LibraryError,
    check_paths,
    check_text,
    content_hash,
    load_library,
)
from profiles.loader import bundled_dir

BUNDLED = Path(str(bundled_dir()))
LIBRARY = load_library(environ={})


def test_every_bundled_file_validates() -> None:
    results = check_paths([str(BUNDLED)])
    assert len(results) == 14
    assert [str(issue) for result in results for issue in result.issues] == []
    assert {result.kind for result in results} == set(FileKind)


def test_the_library_covers_every_concern_and_every_area() -> None:
    profiles = [entry.profile for entry in (*LIBRARY.profiles.values(), *LIBRARY.disabled.values())]
    assert {p.concern for p in profiles} == set(Concern)
    assert {area for p in profiles for area in p.areas} == set(Area)
    assert set(LIBRARY.areas.areas) == set(Area)


def test_every_bundled_figure_names_its_source() -> None:
    for entry in LIBRARY.profiles.values():
        assert entry.profile.sources, entry.profile.name
        for area, settings in entry.profile.areas.items():
            assert "domain.md" in settings.source or "http" in settings.source, (entry.file, area)
    for spec in LIBRARY.areas.areas.values():
        assert "domain.md §2" in spec.source
    for item in LIBRARY.policy.contraindications.values():
        assert item.source
    for level in LIBRARY.policy.levels.values():
        assert level.source
    for path in BUNDLED.glob("*.toml"):
        assert "domain.md" in path.read_text("utf-8"), path.name


def test_bundled_policy_figures_match_the_reference() -> None:
    policy = LIBRARY.policy
    assert policy.soft_depth_max_um == 1500  # SkinPen De Novo: not evaluated above 1.5 mm
    assert policy.levels["therapist"].depth_max_um == 1000  # SAAHSP
    assert policy.interval_days(Concern.ACNE_SCARS) == 28
    assert policy.interval_days(Concern.HAIR_GROWTH) == 7
    assert (policy.numbing.min_dwell_s, policy.numbing.max_dwell_s) == (15 * 60, 60 * 60)
    assert policy.blocking() and policy.cautions()
    assert "pregnancy" in policy.blocking() and "anticoagulants" in policy.cautions()


def test_area_ceilings_match_the_reference() -> None:
    ceilings = {area: spec.depth_max_um for area, spec in LIBRARY.areas.areas.items()}
    assert ceilings[Area.PERIORBITAL_LEFT] == ceilings[Area.PERIORBITAL_RIGHT] == 300
    assert ceilings[Area.NOSE] == ceilings[Area.PERIORAL] == 750
    assert ceilings[Area.NECK] == ceilings[Area.SCALP] == 2500
    assert ceilings[Area.THIGHS] == 2000
    neck = LIBRARY.areas.spec(Area.NECK)
    assert neck.medical_only_above_um == 1500
    assert LIBRARY.areas.spec(Area.FOREHEAD).depth_soft_max_um == 500
    for spec in LIBRARY.areas.areas.values():
        assert spec.depth_soft_max_um <= spec.depth_max_um


@pytest.mark.parametrize("level", ["therapist", "doctor"])
def test_every_bundled_area_is_treatable_on_the_simulated_pen(level: str) -> None:
    for name, entry in LIBRARY.profiles.items():
        for area in entry.profile.areas:
            limits = LIBRARY.effective_limits(name, area, SIMULATED_PEN, None, level)
            assert isinstance(limits, EffectiveLimits), (name, area, limits)
            assert limits.start_depth_um in limits.depth_values()


def _copy(source: str, target: Path, replace: tuple[str, str] | None = None) -> Path:
    text = (BUNDLED / source).read_text("utf-8")
    if replace is not None:
        assert replace[0] in text
        text = text.replace(*replace)
    target.write_text(text, "utf-8")
    return target


def test_a_clinic_profile_overrides_the_bundled_one_and_the_override_is_reported(
    tmp_path: Path,
) -> None:
    clinic_file = _copy(
        "acne-scars.toml",
        tmp_path / "our-acne.toml",
        (
            "depth_max_mm = 2.0\ndepth_default_mm = 1.0",
            "depth_max_mm = 1.5\ndepth_default_mm = 1.0",
        ),
    )
    library = load_library(tmp_path, environ={})
    entry = library.profiles["acne-scars"]
    assert entry.origin == "clinic" and entry.file == str(clinic_file)
    assert entry.profile.areas[Area.CHEEK_LEFT].depth_max_um == 1500
    (override,) = library.overrides
    assert override.name == "acne-scars" and override.replaces.endswith("acne-scars.toml")
    assert str(override).startswith(f"clinic profile acne-scars ({clinic_file}) overrides")
    assert entry.content_hash != LIBRARY.profiles["acne-scars"].content_hash


def test_clinic_policy_replaces_the_bundled_policy(tmp_path: Path) -> None:
    _copy("policy.toml", tmp_path / "policy.toml", ("hair_growth = 7", "hair_growth = 14"))
    library = load_library(tmp_path, environ={})
    assert library.policy_origin == "clinic"
    assert library.policy.interval_days(Concern.HAIR_GROWTH) == 14
    assert library.policy_hash != LIBRARY.policy_hash
    assert [o.kind for o in library.overrides] == [FileKind.POLICY]


def test_a_new_clinic_profile_is_added(tmp_path: Path) -> None:
    _copy(
        "dark-circles.toml",
        tmp_path / "gentle.toml",
        ('name = "dark-circles"', 'name = "gentle-eyes"'),
    )
    library = load_library(tmp_path, environ={})
    assert library.profiles["gentle-eyes"].origin == "clinic"
    assert "dark-circles" in library.profiles and library.overrides == ()


def test_hash_ignores_comments_and_layout(tmp_path: Path) -> None:
    text = (BUNDLED / "hair-growth.toml").read_text("utf-8")
    (tmp_path / "hair.toml").write_text("# our copy\n\n" + text.replace(" = ", "="), "utf-8")
    library = load_library(tmp_path, environ={})
    assert library.profiles["hair-growth"].content_hash == (
        LIBRARY.profiles["hair-growth"].content_hash
    )
    assert content_hash(library.profiles["hair-growth"].profile) == (
        LIBRARY.profiles["hair-growth"].content_hash
    )


def test_the_environment_variable_names_the_clinic_dir_and_the_option_wins(
    tmp_path: Path,
) -> None:
    env_dir, option_dir = tmp_path / "env", tmp_path / "option"
    env_dir.mkdir()
    option_dir.mkdir()
    _copy(
        "redness-rosacea.toml",
        env_dir / "p.toml",
        ('name = "redness-rosacea"', 'name = "from-env"'),
    )
    _copy(
        "redness-rosacea.toml",
        option_dir / "p.toml",
        ('name = "redness-rosacea"', 'name = "from-option"'),
    )
    assert "from-env" in load_library(environ={CLINIC_DIR_ENV: str(env_dir)}).profiles
    both = load_library(option_dir, environ={CLINIC_DIR_ENV: str(env_dir)})
    assert "from-option" in both.profiles and "from-env" not in both.profiles


def test_s9_one_bad_clinic_file_stops_the_whole_load_with_every_issue(tmp_path: Path) -> None:
    """Falling back to the bundled profile the clinic meant to change would be silent."""
    _copy("acne-scars.toml", tmp_path / "a.toml", ("depth_max_mm = 2.0", "depth_max_mn = 2.0"))
    _copy("policy.toml", tmp_path / "policy.toml", ("hair_growth = 7", "hair_growth = 0"))
    (tmp_path / "areas.toml").write_text("", "utf-8")
    with pytest.raises(LibraryError) as caught:
        load_library(tmp_path, environ={})
    fields = {issue.field for issue in caught.value.issues}
    assert {"areas.cheek_left.depth_max_mn", "min_interval_days.hair_growth", "(file)"} <= fields
    message = str(caught.value)
    assert "no profiles were loaded" in message and "penctl profiles validate" in message
    assert "area ceilings ship with penctl" in message


def test_two_clinic_files_with_one_name_are_refused(tmp_path: Path) -> None:
    _copy("puffiness.toml", tmp_path / "one.toml")
    _copy("puffiness.toml", tmp_path / "two.toml")
    with pytest.raises(LibraryError) as caught:
        load_library(tmp_path, environ={})
    (issue,) = caught.value.issues
    assert issue.file == str(tmp_path / "two.toml") and issue.field == "name"
    assert issue.line == 14 and "also the name of" in issue.reason


def test_a_second_clinic_policy_is_refused_naming_the_first(tmp_path: Path) -> None:
    _copy("policy.toml", tmp_path / "a.policy.toml")
    _copy("policy.toml", tmp_path / "b.policy.toml")
    with pytest.raises(LibraryError) as caught:
        load_library(tmp_path, environ={})
    (issue,) = caught.value.issues
    assert (issue.file, issue.field, issue.value) == (
        str(tmp_path / "b.policy.toml"),
        "(file)",
        "(policy)",
    )
    assert (
        issue.reason
        == f"a second clinic policy (the first is {tmp_path / 'a.policy.toml'}); keep one"
    )


def test_a_missing_clinic_dir_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(LibraryError, match=r"is not a directory \(set by \$PENCTL_CLINIC_DIR\)"):
        load_library(environ={CLINIC_DIR_ENV: str(tmp_path / "nope")})


def test_the_documented_example_profile_validates() -> None:
    """docs/profiles.md shows a clinic profile; it must stay a valid one."""
    doc = (Path(__file__).parents[2] / "docs" / "profiles.md").read_text("utf-8")
    blocks = [block.split("```", 1)[0] for block in doc.split("```toml\n")[1:]]
    profiles = [block for block in blocks if "[areas." in block]
    assert profiles
    for block in profiles:
        checked = check_text(block, "docs/profiles.md", FileKind.PROFILE, LIBRARY.areas)
        assert checked.ok, [str(issue) for issue in checked.issues]


def test_the_documented_loosening_makes_a_valid_policy(tmp_path: Path) -> None:
    """The policy fragment in docs/profiles.md (its keys in place of the bundled soft ceiling, its
    tables at the end) is a policy that loads and declares its loosened figure."""
    doc = (Path(__file__).parents[2] / "docs" / "profiles.md").read_text("utf-8")
    blocks = [block.split("```", 1)[0] for block in doc.split("```toml\n")[1:]]
    (fragment,) = [block for block in blocks if "[loosened." in block]
    policy = (BUNDLED / "policy.toml").read_text("utf-8")
    keys, tables = fragment.split("\n[", 1)
    (tmp_path / "policy.toml").write_text(
        policy.replace("soft_depth_max_mm = 1.5", keys, 1) + "\n[" + tables, "utf-8"
    )
    (loosened,) = load_library(tmp_path, environ={}).loosened
    assert (loosened.figure, loosened.bundled, loosened.clinic) == (
        "soft_depth_max_mm",
        "1.5 mm",
        "2.0 mm",
    )


def test_documented_checklist_counts() -> None:
    assert (len(LIBRARY.policy.blocking()), len(LIBRARY.policy.cautions())) == (12, 7)
