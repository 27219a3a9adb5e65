"""S9: every broken file in `broken/` is rejected naming file, line, field, value and reason.

Each row names the file and the issue a person must see for it. Other issues may be reported too
(a misspelt key also leaves the real key missing), but never none, and never a traceback.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from profiles import Issue, check_file

BROKEN = Path(__file__).parent / "broken"

# file, line, field, value, fragment of the reason
CASES: list[tuple[str, int, str, str, str]] = [
    ("empty.toml", 1, "(file)", "(empty)", "the file is empty"),
    ("only-comments.toml", 1, "(file)", "(empty)", "the file has only comments"),
    ("not-utf8.toml", 1, "(file)", "(binary)", "not UTF-8 text (byte 0xe9 at offset 11)"),
    ("yaml-not-toml.toml", 1, "(file)", '"name: acne-scars"', "not valid TOML: expected '='"),
    (
        "unclosed-string.toml",
        15,
        "areas.forehead.notes",
        '"notes = \\"Stretch the skin."',
        "not valid TOML",
    ),
    (
        "unit-after-number.toml",
        8,
        "areas.forehead.depth_max_mm",
        '"depth_max_mm = 0.75 mm"',
        "not valid TOML",
    ),
    ("duplicate-area.toml", 17, "areas.forehead", "(table)", "declared twice"),
    ("duplicate-key.toml", 9, "areas.forehead.depth_max_mm", "1.0", "set twice"),
    (
        "wrong-units-um-key.toml",
        8,
        "areas.forehead.depth_max_um",
        "750",
        "unknown key; depths are written in millimetres: write depth_max_mm = 0.75",
    ),
    (
        "wrong-units-um-value.toml",
        8,
        "areas.forehead.depth_max_mm",
        "750",
        "if you meant 750 µm, write 0.75",
    ),
    (
        "wrong-units-cm-key.toml",
        8,
        "areas.forehead.depth_max_cm",
        "0.075",
        "write depth_max_mm = 0.75",
    ),
    (
        "wrong-units-rpm.toml",
        11,
        "areas.forehead.speed_max_rpm",
        "7000",
        "write speed_max_sps = 117 (7000 RPM / 60)",
    ),
    ("wrong-units-hz.toml", 11, "areas.forehead.speed_max_hz", "110", "write speed_max_sps"),
    (
        "wrong-units-seconds.toml",
        14,
        "areas.forehead.max_time_s",
        "180",
        "times are written in minutes: write max_time_minutes",
    ),
    (
        "fractional-micrometre.toml",
        9,
        "areas.forehead.depth_default_mm",
        "0.2505",
        "not a whole number of micrometres",
    ),
    ("negative-depth.toml", 7, "areas.forehead.depth_min_mm", "-0.25", "must be above 0 mm"),
    (
        "depth-min-above-max.toml",
        8,
        "areas.forehead.depth_max_mm",
        "0.75",
        "the minimum is above the maximum",
    ),
    (
        "speed-min-above-max.toml",
        11,
        "areas.forehead.speed_max_sps",
        "100",
        "the minimum is above the maximum",
    ),
    ("default-below-min.toml", 9, "areas.forehead.depth_default_mm", "0.2", "below depth_min_mm"),
    (
        "speed-default-above-max.toml",
        12,
        "areas.forehead.speed_default_sps",
        "130",
        "above speed_max_sps (110 strokes/s)",
    ),
    (
        "soft-above-hard.toml",
        9,
        "areas.forehead.depth_soft_max_mm",
        "1.0",
        "soft ceiling above the hard maximum",
    ),
    (
        "soft-without-reason.toml",
        6,
        "areas.forehead.depth_soft_reason",
        "(missing)",
        "needs depth_soft_reason",
    ),
    (
        "default-above-soft.toml",
        11,
        "areas.forehead.depth_default_mm",
        "0.75",
        "above the soft ceiling depth_soft_max_mm (0.5 mm)",
    ),
    (
        "beyond-every-pen-depth.toml",
        8,
        "areas.forehead.depth_max_mm",
        "3.5",
        "beyond every pen in the reference: the deepest (Dermapen 4) reaches 3.0 mm",
    ),
    (
        "beyond-every-pen-speed.toml",
        11,
        "areas.forehead.speed_max_sps",
        "400",
        "beyond every pen in the reference: the fastest figure is 300 strokes/s",
    ),
    ("speed-zero.toml", 10, "areas.forehead.speed_min_sps", "0", "at least 1 stroke per second"),
    (
        "unknown-area.toml",
        6,
        "areas.foreheed",
        '"foreheed"',
        "unknown area; did you mean 'forehead'?",
    ),
    ("unknown-concern.toml", 3, "concern", '"wrinkles"', "unknown concern (known: "),
    ("misspelt-top-key.toml", 2, "titel", '"Broken example"', "did you mean 'title'?"),
    (
        "misspelt-limit-key.toml",
        8,
        "areas.forehead.depth_max_mn",
        "0.75",
        "unknown key; did you mean 'depth_max_mm'?",
    ),
    ("missing-name.toml", 1, "name", "(missing)", "required key is missing; add name ="),
    (
        "missing-area-field.toml",
        6,
        "areas.forehead.depth_max_mm",
        "(missing)",
        "required key is missing",
    ),
    ("no-areas.toml", 1, "areas", "(missing)", "add [areas.NAME] tables"),
    ("empty-areas.toml", 6, "areas", "(table)", "must not be empty"),
    (
        "text-for-speed.toml",
        11,
        "areas.forehead.speed_max_sps",
        '"fast"',
        "expected a number of strokes per second, got text",
    ),
    (
        "text-for-depth.toml",
        8,
        "areas.forehead.depth_max_mm",
        '"0.75"',
        "got text; write the number without quotes",
    ),
    ("bool-for-number.toml", 13, "areas.forehead.max_passes", "true", "got true"),
    (
        "fractional-speed.toml",
        12,
        "areas.forehead.speed_default_sps",
        "95.5",
        "not a whole number of strokes per second",
    ),
    ("zero-passes.toml", 13, "areas.forehead.max_passes", "0", "must be at least 1"),
    ("bad-name.toml", 1, "name", '"Acne Scars"', "use lower-case letters"),
    (
        "above-area-ceiling.toml",
        8,
        "areas.periorbital_left.depth_max_mm",
        "1.0",
        "above the hard ceiling for the left periorbital area",
    ),
    (
        "default-above-area-soft.toml",
        9,
        "areas.forehead.depth_default_mm",
        "0.75",
        "above the soft ceiling for the forehead, 0.5 mm (area catalogue)",
    ),
    ("notes-not-text.toml", 15, "areas.forehead.notes", "5", "expected text in quotes"),
    ("empty-notes.toml", 15, "areas.forehead.notes", '""', "must not be empty"),
    ("areas-not-a-table.toml", 6, "areas", '"forehead"', "expected a table"),
    ("nan-depth.toml", 8, "areas.forehead.depth_max_mm", "NaN", "finite number of millimetres"),
    (
        "array-for-number.toml",
        8,
        "areas.forehead.depth_max_mm",
        "[0.5, 0.75]",
        "expected a number of millimetres, got list",
    ),
    (
        "time-fraction.toml",
        14,
        "areas.forehead.max_time_minutes",
        "0.001",
        "not a whole number of seconds",
    ),
    ("many-problems.toml", 13, "areas.forehead.max_pases", "3", "did you mean 'max_passes'?"),
    (
        "missing-interval.policy.toml",
        11,
        "min_interval_days",
        "(table)",
        "missing concern(s) hair_growth",
    ),
    (
        "unknown-default-level.policy.toml",
        4,
        "default_level",
        '"nurse"',
        "not one of the levels defined here (therapist)",
    ),
    (
        "numbing-reversed.policy.toml",
        27,
        "numbing.max_dwell_minutes",
        "10",
        "below min_dwell_minutes",
    ),
    (
        "contraindication-kind.policy.toml",
        32,
        "contraindications.pregnancy.kind",
        '"maybe"',
        "unknown contraindication kind (known: blocking, caution)",
    ),
    (
        "interval-in-weeks.policy.toml",
        15,
        "min_interval_days.acne_scars",
        "4.5",
        "not a whole number of days",
    ),
    ("missing-areas.areas.toml", 1, "areas", "(table)", "missing area(s) glabella"),
]


def test_the_corpus_is_large_and_every_file_has_an_expectation() -> None:
    names = {path.name for path in BROKEN.glob("*.toml")}
    assert names == {case[0] for case in CASES}
    profiles = [name for name in names if name.count(".") == 1]
    assert len(profiles) >= 30


@pytest.mark.parametrize(
    ("name", "line", "field", "value", "reason"), CASES, ids=[c[0] for c in CASES]
)
def test_s9_broken_file_is_rejected_with_file_line_field_value_reason(
    name: str, line: int, field: str, value: str, reason: str
) -> None:
    checked = check_file(BROKEN / name)
    assert checked.model is None and not checked.ok
    matching = [
        issue
        for issue in checked.issues
        if (issue.line, issue.field, issue.value) == (line, field, value) and reason in issue.reason
    ]
    assert matching, "\n".join(str(issue) for issue in checked.issues)
    text = str(matching[0])
    assert text.startswith(f"{BROKEN / name}:{line}: {field}: {value}: ")


def test_every_problem_in_a_file_is_reported_not_only_the_first() -> None:
    issues: tuple[Issue, ...] = check_file(BROKEN / "many-problems.toml").issues
    assert [(issue.line, issue.field) for issue in issues] == [
        (3, "concern"),
        (6, "areas.forehead.max_passes"),
        (8, "areas.forehead.depth_max_mm"),
        (11, "areas.forehead.speed_max_sps"),
        (13, "areas.forehead.max_pases"),
    ]


def test_a_missing_file_is_an_issue_not_an_exception() -> None:
    checked = check_file(BROKEN / "does-not-exist.toml")
    (issue,) = checked.issues
    assert issue.line is None and "no such file" in issue.reason
    assert str(issue).startswith(f"{BROKEN / 'does-not-exist.toml'}: (file): ")
