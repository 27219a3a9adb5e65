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

# ---- input that once crashed the reader: never a traceback, always file:line: field (item 1) ----
HOSTILE: list[tuple[str, int, str, str, str]] = [
    (
        "huge-int-depth.toml",
        8,
        "areas.forehead.depth_max_mm",
        "(a number with 5000 digits)",
        "a number with 5000 digits; no figure in a profile needs more than a few",
    ),
    (
        "long-int-passes.toml",
        13,
        "areas.forehead.max_passes",
        "(a number with 200 digits)",
        "a number with 200 digits",
    ),
    (
        "huge-exponent.toml",
        8,
        "areas.forehead.depth_max_mm",
        "1E+999999999",
        "far beyond any figure in millimetres",
    ),
    (
        "tiny-exponent.toml",
        7,
        "areas.forehead.depth_min_mm",
        "1E-999999999",
        "is not a figure in millimetres",
    ),
    (
        "huge-negative-exponent.toml",
        7,
        "areas.forehead.depth_min_mm",
        "-1E+999999",
        "far beyond any figure in millimetres",
    ),
    (
        "huge-speed-exponent.toml",
        11,
        "areas.forehead.speed_max_sps",
        "1E+30",
        "far beyond any figure in strokes per second",
    ),
    (
        "long-decimal.toml",
        9,
        "areas.forehead.depth_default_mm",
        "0.25000000000000000000000000000000001",
        "is not a whole number of micrometres",
    ),
    (
        "deep-nesting-array.toml",
        15,
        "areas.forehead.notes",
        "(nested)",
        "lists or tables nested more than 16 deep",
    ),
    (
        "deep-nesting-thousands.toml",
        15,
        "areas.forehead.notes",
        "(nested)",
        "lists or tables nested more than 16 deep",
    ),
    (
        "deep-nesting-inline-table.toml",
        16,
        "areas.forehead.extra",
        "(nested)",
        "lists or tables nested more than 16 deep",
    ),
    (
        "cr-line-endings.toml",
        1,
        "(file)",
        "(CR line endings)",
        "the lines end with a carriage return alone (CR, old Mac style)",
    ),
    (
        "comment-first-cr-only.toml",
        1,
        "(file)",
        "(CR line endings)",
        "save the file with LF (Unix) or CRLF (Windows) line endings",
    ),
    (
        "stray-carriage-return.toml",
        8,
        "(file)",
        "(CR line endings)",
        "a carriage return (CR) without a newline after it",
    ),
    (
        "decimal-comma.toml",
        8,
        "areas.forehead.depth_max_mm",
        '"depth_max_mm = 0,75"',
        "use a dot as the decimal separator: write 0.75, not 0,75",
    ),
    (
        "decimal-comma-time.toml",
        14,
        "areas.forehead.max_time_minutes",
        '"max_time_minutes = 2,5"',
        "use a dot as the decimal separator: write 2.5",
    ),
    (
        "nbsp-before-equals.toml",
        8,
        "areas.forehead.depth_max_mm",
        '"depth_max_mm\u00a0= 0.75"',
        "it contains no-break space (U+00A0) at column 13, which looks like a space",
    ),
    (
        "nbsp-after-value.toml",
        8,
        "areas.forehead.depth_max_mm",
        '"depth_max_mm = 0.75"',
        "it contains no-break space (U+00A0) at column 20",
    ),
    (
        "narrow-nbsp-in-key.toml",
        13,
        "areas.forehead.max_passes",
        '"max_passes\u202f= 3"',
        "narrow no-break space (U+202F) at column 11",
    ),
    (
        "zero-width-space.toml",
        13,
        "(file)",
        '"max_\u200bpasses = 3"',
        "zero width space (U+200B) at column 5, which looks like nothing",
    ),
    (
        "bom-mid-file.toml",
        13,
        "(file)",
        '"\ufeffmax_passes = 3"',
        "zero width no-break space (U+FEFF) at column 1",
    ),
    (
        "cyrillic-key.toml",
        8,
        "(file)",
        '"d\u0435pth_max_mm = 0.75"',
        "cyrillic small letter ie (U+0435) at column 2, which looks like a Latin letter",
    ),
    (
        "cyrillic-quoted-key.toml",
        8,
        "areas.forehead.d\u0435pth_max_mm",
        "0.75",
        "unknown key; it contains cyrillic small letter ie (U+0435)",
    ),
    (
        "cyrillic-area.toml",
        6,
        "areas.for\u0435head",
        '"for\u0435head"',
        "unknown area; it contains cyrillic small letter ie (U+0435) at column 4",
    ),
    (
        "cyrillic-concern.toml",
        3,
        "concern",
        '"\u0430cne_scars"',
        "unknown concern; it contains cyrillic small letter a (U+0430) at column 1",
    ),
    (
        "greek-omicron-key.toml",
        15,
        "(file)",
        '"n\u03bftes = \\"Stretch the skin.\\""',
        "greek small letter omicron (U+03BF)",
    ),
    (
        "fullwidth-digit.toml",
        8,
        "areas.forehead.depth_max_mm",
        '"depth_max_mm = \uff10.75"',
        "fullwidth digit zero (U+FF10) at column 16, which looks like the digit '0'",
    ),
    ("utf16.toml", 1, "(file)", "(binary)", "not UTF-8 text (byte 0xff at offset 0)"),
    (
        "nul-byte.toml",
        2,
        "title",
        '"title = \\"Broken\x00 example\\""',
        "a control character (U+0000) at column 16",
    ),
    (
        "nan-speed.toml",
        11,
        "areas.forehead.speed_max_sps",
        "NaN",
        "expected a finite number of strokes per second",
    ),
    (
        "inf-depth.toml",
        8,
        "areas.forehead.depth_max_mm",
        "Infinity",
        "expected a finite number of millimetres",
    ),
    (
        "negative-speed.toml",
        10,
        "areas.forehead.speed_min_sps",
        "-90",
        "a speed must be at least 1 stroke per second",
    ),
    (
        "date-for-depth.toml",
        8,
        "areas.forehead.depth_max_mm",
        "2024-01-01",
        "expected a number of millimetres, got date",
    ),
    (
        "table-for-depth.toml",
        8,
        "areas.forehead.depth_max_mm",
        "(table)",
        "expected a number of millimetres, got a table",
    ),
    (
        "single-quoted-number.toml",
        8,
        "areas.forehead.depth_max_mm",
        '"0.75"',
        "got text; write the number without quotes or units",
    ),
    (
        "python-true.toml",
        13,
        "areas.forehead.max_passes",
        '"max_passes = True"',
        "not valid TOML: invalid value at column 14",
    ),
    (
        "semicolon-comment.toml",
        8,
        "areas.forehead.depth_max_mm",
        '"depth_max_mm = 0.75 ; deepest"',
        "not valid TOML",
    ),
    (
        "key-with-space.toml",
        13,
        "areas.forehead.max passes",
        '"max passes = 3"',
        "not valid TOML: expected '=' after a key",
    ),
]

HOSTILE += [
    (
        "micrometre-key-huge-number.toml",
        8,
        "areas.forehead.depth_max_um",
        "1E+999999999",
        "unknown key; depths are written in millimetres: write depth_max_mm",
    ),
    (
        "rpm-key-nan.toml",
        11,
        "areas.forehead.speed_max_rpm",
        "NaN",
        "unknown key; speeds are written in strokes per second: write speed_max_sps",
    ),
]

# ---- plausible-looking slips, refused with the slip named (item 3) ----------------------------
SLIPS: list[tuple[str, int, str, str, str]] = [
    (
        "speed-in-rpm.toml",
        11,
        "areas.forehead.speed_max_sps",
        "7000",
        "if this is RPM, divide by 60 (7000 RPM = 117 strokes/s)",
    ),
    (
        "depth-in-micrometres.toml",
        7,
        "areas.forehead.depth_min_mm",
        "250",
        "if you meant 250 µm, write 0.25",
    ),
    (
        "depth-in-centimetres.toml",
        8,
        "areas.forehead.depth_max_mm",
        "0.075",
        "below every pen's shallowest setting (0.2 mm, Dermapen 4); depths in files are "
        "millimetres: centimetres? 0.075 mm would be 0.75 mm",
    ),
    (
        "depth-below-every-pen.toml",
        7,
        "areas.forehead.depth_min_mm",
        "0.1",
        "below every pen's shallowest setting (0.2 mm, Dermapen 4)",
    ),
    (
        "speed-level-not-sps.toml",
        11,
        "areas.forehead.speed_max_sps",
        "3",
        "a speed level (1–6), not strokes/s?",
    ),
    (
        "speed-level-min.toml",
        10,
        "areas.forehead.speed_min_sps",
        "1",
        "a speed level (1–6), not strokes/s?",
    ),
    (
        "speed-below-every-pen.toml",
        10,
        "areas.forehead.speed_min_sps",
        "30",
        "below every pen's slowest rate (the slowest stated is 90 strokes/s, Dermapen",
    ),
    (
        "passes-far-beyond.toml",
        13,
        "areas.forehead.max_passes",
        "30",
        'far beyond practice: sources say "multiple passes"',
    ),
    (
        "time-in-seconds.toml",
        14,
        "areas.forehead.max_time_minutes",
        "180",
        "at most 60 minutes on one area. Seconds, not minutes?",
    ),
    ("notes-only-spaces.toml", 15, "areas.forehead.notes", '"   "', "only spaces"),
    ("title-only-spaces.toml", 2, "title", '" "', "only spaces"),
    ("description-only-tab.toml", 4, "description", '"\t"', "only spaces"),
    ("evidence-empty.toml", 5, "evidence", '""', "must not be empty"),
    ("enabled-not-bool.toml", 5, "enabled", '"no"', "expected true or false (without quotes)"),
    (
        "interval-weeks-as-days.policy.toml",
        15,
        "min_interval_days.acne_scars",
        "4",
        "weeks, not days? 4 weeks = 28 days",
    ),
    (
        "interval-one-day.policy.toml",
        21,
        "min_interval_days.hair_growth",
        "1",
        "fewer than 7 days, the shortest interval in any source (weekly, scalp)",
    ),
    (
        "numbing-five-hours.policy.toml",
        27,
        "numbing.max_dwell_minutes",
        "300",
        "over 120 minutes: sources give at most 45–60 minutes under occlusion",
    ),
    (
        "contraindication-blank-text.policy.toml",
        33,
        "contraindications.pregnancy.text",
        '"  "',
        "only spaces",
    ),
    (
        "level-medical-not-bool.policy.toml",
        9,
        "levels.therapist.medical",
        '"yes"',
        "expected true or false",
    ),
    (
        "loosened-soft-undeclared.policy.toml",
        2,
        "soft_depth_max_mm",
        "2.0",
        "loosens a bundled safety figure (1.5 mm); a clinic may do so only knowingly: add a "
        '[loosened."soft_depth_max_mm"] table',
    ),
    (
        "loosened-level-undeclared.policy.toml",
        8,
        "levels.therapist.depth_max_mm",
        "1.5",
        "loosens a bundled safety figure (1.0 mm)",
    ),
    (
        "loosened-not-looser.policy.toml",
        36,
        "loosened.soft_depth_max_mm",
        '"soft_depth_max_mm"',
        "declared loosened, but this policy does not set that figure looser",
    ),
    (
        "loosened-without-by.policy.toml",
        36,
        "loosened.soft_depth_max_mm.by",
        "(missing)",
        "required key is missing; add by = …",
    ),
    (
        "loosened-blank-reason.policy.toml",
        37,
        "loosened.soft_depth_max_mm.reason",
        '"  "',
        "only spaces",
    ),
]

# ---- figures the bundled catalogue holds against a clinic's file (item 4) -------------------
FIGURES: list[tuple[str, int, str, str, str]] = [
    (
        "eyelid-area.toml",
        6,
        "areas.eyelid",
        '"eyelid"',
        "not an area: the eyelid itself is never treated",
    ),
    (
        "upper-eyelid-area.toml",
        6,
        "areas.upper_eyelid_left",
        '"upper_eyelid_left"',
        "the eyelid itself is never treated",
    ),
    (
        "periorbital-half-millimetre.toml",
        8,
        "areas.periorbital_left.depth_max_mm",
        "0.5",
        "above the hard ceiling for the left periorbital area (under and around the eye), 0.3 mm",
    ),
    (
        "thighs-beyond-chart.toml",
        8,
        "areas.thighs.depth_max_mm",
        "2.5",
        "above the hard ceiling for the thighs, 2.0 mm (area catalogue)",
    ),
]

CASES += HOSTILE + SLIPS + FIGURES


def test_the_corpus_is_large_and_every_file_has_an_expectation() -> None:
    names = {path.name for path in BROKEN.glob("*.toml")}
    assert names == {case[0] for case in CASES}
    profiles = [name for name in names if name.count(".") == 1]
    assert len(profiles) >= 30 and len(CASES) >= 120


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
