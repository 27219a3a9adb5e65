"""Random TOML and random bytes never escape `validate` or the loader as an exception (S9).

Three feeds: raw bytes, arbitrary text, and a valid profile or policy with one line turned into
something hostile (a huge or odd number, deep brackets, an invisible character, a stray CR). Every
outcome is either a model or issues naming a file; loading a clinic directory holding the input
either succeeds or raises `LibraryError`, and does so exactly when `validate` reports a problem.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from profiles import FileKind, LibraryError, check_text, load_library
from profiles.loader import bundled_dir, validate_paths

BUNDLED = Path(str(bundled_dir()))
SOURCES = {
    FileKind.PROFILE: (BUNDLED / "acne-scars.toml").read_text("utf-8").splitlines(),
    FileKind.POLICY: (BUNDLED / "policy.toml").read_text("utf-8").splitlines(),
}
FILE_NAMES = {FileKind.PROFILE: "fuzz.toml", FileKind.POLICY: "policy.toml"}

HOSTILE_VALUES = st.one_of(
    st.integers().map(str),
    st.integers(90, 6000).map(lambda n: "9" * n),
    st.sampled_from(
        [
            "1e999999999",
            "-1e999999",
            "1e-999999999",
            "nan",
            "inf",
            "-0.0",
            "0x1F",
            "1_000",
            "1,5",
            "0.2505",
            "true",
            "2024-01-01",
            "{ a = 1 }",
            "'1.5'",
            '"1.5 mm"',
            "[]",
        ]
    ),
    st.integers(1, 400).map(lambda n: "[" * n + "]" * n),
    st.integers(1, 60).map(lambda n: "{ a = " * n + "1" + " }" * n),
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
    st.text(max_size=20).map(lambda t: '"' + t.replace("\\", "").replace('"', "") + '"'),
)
UNIT_SUFFIXES = st.sampled_from(["_um", "_cm", "_rpm", "_hz", "_s", "_min", "_mm", "_sps"])
ODD_CHARACTERS = st.sampled_from(
    ["\u00a0", "\u200b", "\ufeff", "\u0435", "\uff10", "\r", "\x00", "\t", "#", "=", "[", '"']
)


@st.composite
def mutated(draw: st.DrawFn) -> tuple[FileKind, str]:
    """A bundled file with one line's value, or one character, replaced by something hostile."""
    kind = draw(st.sampled_from([FileKind.PROFILE, FileKind.POLICY]))
    lines = list(SOURCES[kind])
    index = draw(st.integers(0, len(lines) - 1))
    key, sep, _ = lines[index].partition("=")
    if sep and draw(st.booleans()):
        if draw(st.booleans()):  # the key in another unit, as people slip: depth_max_um, …_rpm
            key = key.strip().rpartition("_")[0] + draw(UNIT_SUFFIXES) + " "
        lines[index] = f"{key}= {draw(HOSTILE_VALUES)}"
    else:
        column = draw(st.integers(0, len(lines[index])))
        line = lines[index]
        lines[index] = line[:column] + draw(ODD_CHARACTERS) + line[column:]
    return kind, "\n".join(lines) + "\n"


def _checked_without_exception(content: bytes | str, kind: FileKind) -> None:
    result = check_text(content, "fuzz.toml", kind)
    assert (result.model is None) == bool(result.issues)
    for issue in result.issues:
        assert issue.file == "fuzz.toml" and issue.field and issue.reason
        assert str(issue).startswith("fuzz.toml")


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4000), st.sampled_from(list(FileKind)))
def test_s9_random_bytes_never_raise(content: bytes, kind: FileKind) -> None:
    _checked_without_exception(content, kind)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=2000), st.sampled_from(list(FileKind)))
def test_s9_random_text_never_raises(content: str, kind: FileKind) -> None:
    _checked_without_exception(content, kind)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_s9_a_hostile_line_never_raises_and_validate_agrees_with_loading(
    case: tuple[FileKind, str],
) -> None:
    kind, text = case
    _checked_without_exception(text, kind)
    with tempfile.TemporaryDirectory() as name:
        directory = Path(name)
        (directory / FILE_NAMES[kind]).write_text(text, "utf-8", newline="")
        issues = validate_paths([name]).issues
        try:
            load_library(directory, environ={})
        except LibraryError as refused:
            assert set(refused.issues) == set(issues) and issues
        else:
            assert not issues
