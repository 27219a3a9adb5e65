"""A clinic directory as people leave it: validate and loading read it by the same rules (S9).

Each case puts one troublesome entry beside a valid profile and asserts that `validate` reports it
with file, line, field and reason, and that loading refuses the directory with the very same issue,
so a directory that validates always loads. Editor and OS litter is skipped with a note and never
blocks a clinic.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from controller.cli import main
from profiles import CLINIC_DIR_ENV, LibraryError, load_library
from profiles.loader import bundled_dir, validate_paths
from tests.profiles.test_broken_corpus import CASES

BUNDLED = Path(str(bundled_dir()))


def _copy(source: str, target: Path, rename: str | None = None) -> None:
    text = (BUNDLED / source).read_text("utf-8")
    if rename is not None:
        text = text.replace(f'name = "{source.removesuffix(".toml")}"', f'name = "{rename}"')
    target.write_text(text, "utf-8")


def _profile(directory: Path, name: str = "ours.toml") -> None:
    _copy("acne-scars.toml", directory / name, rename="our-acne")


def _two_policies(directory: Path) -> None:
    _copy("policy.toml", directory / "a.policy.toml")
    _copy("policy.toml", directory / "b.policy.toml")


Setup = Callable[[Path], None]
SETUPS: dict[str, Setup] = {
    "upper-case-extension": lambda d: _copy("hair-growth.toml", d / "hair.TOML"),
    "extension-after-toml": lambda d: _copy("hair-growth.toml", d / "hair.toml.txt"),
    "directory-named-toml": lambda d: (d / "folder.toml").mkdir(),
    "fifo-named-toml": lambda d: os.mkfifo(d / "pipe.toml"),
    "dangling-symlink": lambda d: (d / "moved.toml").symlink_to(d / "nowhere.toml"),
    "symlink-loop": lambda d: (d / "loop.toml").symlink_to(d / "loop.toml"),
    "capitalised-policy": lambda d: _copy("policy.toml", d / "Policy.toml"),
    "hyphenated-policy": lambda d: _copy("policy.toml", d / "clinic-policy.toml"),
    "area-catalogue": lambda d: _copy("areas.toml", d / "areas.toml"),
    "capitalised-area-catalogue": lambda d: _copy("areas.toml", d / "Areas.toml"),
    "second-policy": lambda d: _two_policies(d),
    "duplicate-name": lambda d: _profile(d, "twin.toml"),
}

# setup, entry, line, field, reason fragment
DIRECTORY_CASES: list[tuple[str, str, int | None, str, str]] = [
    ("upper-case-extension", "hair.TOML", None, "(file)", "written .toml in lower case; rename"),
    ("extension-after-toml", "hair.toml.txt", None, "(file)", "rename it to hair.toml"),
    ("directory-named-toml", "folder.toml", None, "(file)", "a directory named like a profile"),
    ("fifo-named-toml", "pipe.toml", None, "(file)", "a named pipe (FIFO), not a file"),
    ("dangling-symlink", "moved.toml", None, "(file)", "nowhere.toml, which does not exist"),
    ("symlink-loop", "loop.toml", None, "(file)", "a symbolic link loop"),
    ("capitalised-policy", "Policy.toml", 1, "(file)", "rename it to policy.toml"),
    ("hyphenated-policy", "clinic-policy.toml", 1, "(file)", "rename it to clinic.policy.toml"),
    ("area-catalogue", "areas.toml", 1, "(file)", "cannot be replaced or loosened by a clinic"),
    ("capitalised-area-catalogue", "Areas.toml", 1, "(file)", "area ceilings ship with penctl"),
    ("second-policy", "b.policy.toml", 1, "(file)", "a second clinic policy (the first is"),
    ("duplicate-name", "twin.toml", 14, "name", "also the name of"),
]


def test_the_corpus_of_broken_files_and_directories_holds_at_least_120_cases() -> None:
    assert len(CASES) + len(DIRECTORY_CASES) >= 120


@pytest.mark.parametrize(
    ("setup", "entry", "line", "field", "reason"),
    DIRECTORY_CASES,
    ids=[case[0] for case in DIRECTORY_CASES],
)
def test_s9_validate_and_loading_refuse_the_entry_alike(
    tmp_path: Path, setup: str, entry: str, line: int | None, field: str, reason: str
) -> None:
    _profile(tmp_path)
    SETUPS[setup](tmp_path)
    checked = validate_paths([str(tmp_path)])
    matching = [
        issue
        for issue in checked.issues
        if (issue.file, issue.line, issue.field) == (str(tmp_path / entry), line, field)
        and reason in issue.reason
    ]
    assert matching, "\n".join(map(str, checked.issues))
    with pytest.raises(LibraryError) as caught:
        load_library(tmp_path, environ={})
    assert set(caught.value.issues) == set(checked.issues)


def test_an_unreadable_file_is_a_problem_not_a_skip(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads any file")
    _profile(tmp_path)
    locked = tmp_path / "locked.toml"
    _copy("hair-growth.toml", locked)
    locked.chmod(0)
    (issue,) = validate_paths([str(tmp_path)]).issues
    assert issue.file == str(locked) and "cannot be read" in issue.reason


LITTER = {
    "._ours.toml": "operating-system litter",
    ".DS_Store": "operating-system litter",
    "ours.toml~": "editor litter",
    ".ours.toml.swp": "editor litter",
    "#ours.toml#": "editor litter",
    "ours.toml.bak": "editor litter",
    "README.md": "not a .toml file",
}


def test_litter_is_skipped_with_a_note_and_never_blocks_the_clinic(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _profile(tmp_path)
    for name in LITTER:
        (tmp_path / name).write_bytes(b"\x00\xff not a profile")
    (tmp_path / "old").mkdir()
    library = load_library(tmp_path, environ={})
    assert "our-acne" in library.profiles
    skipped = {Path(s.path).name: s.reason for s in library.skipped}
    assert skipped.keys() == {*LITTER, "old"}
    for name, why in LITTER.items():
        assert why in skipped[name], name
    assert validate_paths([str(tmp_path)]).skipped == library.skipped
    assert main(["profiles", "validate", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"note: {tmp_path / '._ours.toml'}: skipped: operating-system litter" in out
    monkeypatch.setenv(CLINIC_DIR_ENV, str(tmp_path))
    assert main(["profiles", "list"]) == 0
    assert f"note: {tmp_path / 'README.md'}: skipped: not a .toml file" in capsys.readouterr().out


def test_a_profile_whose_name_merely_contains_policy_or_areas_is_read_as_a_profile(
    tmp_path: Path,
) -> None:
    _copy("acne-scars.toml", tmp_path / "body-areas.toml", rename="body-areas")
    _copy("hair-growth.toml", tmp_path / "nopolicyscars.toml", rename="nopolicy")
    library = load_library(tmp_path, environ={})
    assert {"body-areas", "nopolicy"} <= set(library.profiles)
