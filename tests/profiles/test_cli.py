"""`penctl profiles ...` as a person uses it: exit codes, messages on the right stream, no
tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from controller.cli import main
from profiles import CLINIC_DIR_ENV
from profiles.loader import bundled_dir

BUNDLED = Path(str(bundled_dir()))
BROKEN = Path(__file__).parent / "broken"
PENCTL = Path(sys.executable).parent / "penctl"


@pytest.fixture(autouse=True)
def _no_clinic_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CLINIC_DIR_ENV, raising=False)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["profiles", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_list_shows_every_profile_and_the_policy(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "list")
    assert code == 0
    assert out.splitlines()[0].split() == ["NAME", "CONCERN", "AREAS", "ORIGIN", "HASH"]
    for name in ("acne-scars", "hair-growth", "stretch-marks", "dark-circles"):
        assert name in out
    assert "policy: penctl default clinic policy (bundled" in out


def test_list_reports_clinic_overrides(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "acne.toml").write_text((BUNDLED / "acne-scars.toml").read_text("utf-8"), "utf-8")
    monkeypatch.setenv(CLINIC_DIR_ENV, str(tmp_path))
    code, out, _ = run(capsys, "list")
    assert code == 0
    assert f"clinic directory: {tmp_path}" in out
    assert f"override: clinic profile acne-scars ({tmp_path / 'acne.toml'}) overrides" in out
    code, out, _ = run(capsys, "list", "--json")
    document = json.loads(out)
    assert len(document["overrides"]) == 1
    assert {p["name"]: p["origin"] for p in document["profiles"]}["acne-scars"] == "clinic"


def test_a_broken_clinic_dir_stops_every_command_with_its_issues(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "bad.toml").write_text("name = 3\n", "utf-8")
    code, out, err = run(capsys, "list", "--clinic-dir", str(tmp_path))
    assert code == 1 and out == ""
    assert f"{tmp_path / 'bad.toml'}:1: name: 3: expected text in quotes" in err
    assert "no profiles were loaded" in err


def test_show_prints_every_area_with_ranges_and_notes(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "show", "hair-growth")
    assert code == 0
    assert "hair-growth: Hair growth (scalp)" in out
    assert "depth   0.5 mm – 1.5 mm, starts at 0.6 mm" in out
    assert "deeper than 1.2 mm needs a confirmation" in out
    assert "at most 3 passes and 20 min on the area" in out
    code, out, _ = run(capsys, "show", "hair-growth", "--json")
    assert json.loads(out)["profile"]["areas"]["scalp"]["depth_default_um"] == 600


def test_show_unknown_profile_says_where_to_look(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "show", "acne")
    assert code == 2 and out == ""
    assert "no profile named 'acne'; `penctl profiles list` shows the 11 available" in err


def test_policy_and_areas_are_shown(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "policy")
    assert code == 0
    assert "therapist (default): at most 1.0 mm" in out
    assert "hair growth (scalp): 7" in out
    assert "blocking contraindications:" in out and "caution contraindications:" in out
    code, out, _ = run(capsys, "areas")
    assert code == 0
    assert "periorbital_left     0.3 mm   0.3 mm" in out
    assert "neck (past 1.5 mm: medical levels only)" in out


def test_validate_accepts_the_bundled_library(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "validate", str(BUNDLED))
    assert code == 0 and err == ""
    assert out.count(": ok (") == 14


def test_s9_validate_prints_every_problem_in_every_file(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        capsys, "validate", str(BROKEN / "many-problems.toml"), str(BROKEN / "empty.toml")
    )
    assert code == 1
    lines = out.splitlines()
    assert len(lines) == 6
    assert lines[0].startswith(f'{BROKEN / "many-problems.toml"}:3: concern: "acne": ')
    assert lines[-1].startswith(f"{BROKEN / 'empty.toml'}:1: (file): (empty): the file is empty")
    assert "6 problems in 2 of 2 files; nothing was loaded" in err


def test_validate_with_a_forced_kind_and_a_missing_path(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "validate", "--kind", "policy", str(BUNDLED / "acne-scars.toml"))
    assert code == 1 and "name: " not in out and "unknown key" in out
    code, out, _ = run(capsys, "validate", "no/such/file.toml")
    assert code == 1 and out.startswith("no/such/file.toml: (file): ")


def test_schema_is_json_schema_with_file_units(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "schema")
    schema = json.loads(out)
    assert code == 0 and schema["$schema"].endswith("2020-12/schema")
    area = schema["$defs"]["AreaSettings"]
    assert area["additionalProperties"] is False
    assert area["properties"]["depth_max_mm"]["type"] == "number"
    assert "depth_max_um" not in area["properties"]
    assert schema["properties"]["areas"]["propertyNames"] == {"$ref": "#/$defs/Area"}
    code, out, _ = run(capsys, "schema", "--kind", "policy")
    assert "min_interval_days" in json.loads(out)["properties"]


def test_limits_names_the_layer_behind_each_bound(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "limits", "--profile", "acne-scars", "--area", "cheek_left",
        "--cartridge-max-mm", "0.75", "--level", "doctor",
    )  # fmt: skip
    assert code == 0
    assert "depth  0.5 mm – 0.75 mm, starts at 0.75 mm" in out
    assert "max   0.75 mm        cartridge  0.75 mm is this cartridge's maximum" in out
    assert (
        "min   0.5 mm         profile    0.5 mm is the minimum depth in profile acne-scars" in out
    )
    assert "soft  none" in out


def test_limits_shows_the_soft_ceiling_and_its_reason(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "limits", "--profile", "stretch-marks", "--area", "abdomen", "--level", "doctor"
    )
    assert code == 0
    assert "soft  1.5 mm         policy     above 1.5 mm needs a confirmation" in out
    assert "was not evaluated above 1.5 mm" in out


def test_on_a_tie_of_soft_ceilings_the_more_specific_reason_is_shown(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Thighs: the area's 1.5 mm and the policy's 1.5 mm; the thigh's own reason is the one a
    practitioner needs."""
    code, out, _ = run(
        capsys, "limits", "--profile", "stretch-marks", "--area", "thighs", "--level", "doctor"
    )
    assert code == 0
    assert "soft  1.5 mm         area       above 1.5 mm needs a confirmation" in out
    assert "reason shown: inner-thigh skin is thin" in out


def test_s2_limits_refusal_exits_1_naming_both_layers(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "limits", "--profile", "stretch-marks", "--area", "thighs",
        "--cartridge-max-mm", "0.5",
    )  # fmt: skip
    assert code == 1
    assert "REFUSED: No depth satisfies every limit" in out
    assert "fit a cartridge with longer needles" in " ".join(out.split())


@pytest.mark.parametrize(
    ("request_", "code", "fragment"),
    [
        (("0.75", "100"), 0, "check accepted: 0.75 mm at 100 strokes/s is within every limit"),
        (("1.25", "100"), 1, "check refused: 1.25 mm refused: 1.0 mm is this cartridge's"),
        (("0.73", "100"), 1, "the pen moves in 0.05 mm steps"),
    ],
)
def test_limits_check_exit_codes(
    capsys: pytest.CaptureFixture[str], request_: tuple[str, str], code: int, fragment: str
) -> None:
    result, out, _ = run(
        capsys, "limits", "--profile", "acne-scars", "--area", "cheek_right",
        "--cartridge-max-mm", "1.0", "--check", *request_,
    )  # fmt: skip
    assert result == code
    assert fragment in " ".join(out.split())


def test_limits_check_needing_confirmation_exits_3(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "limits", "--profile", "loss-of-firmness", "--area", "neck",
        "--level", "doctor", "--check", "2.0", "100",
    )  # fmt: skip
    assert code == 3
    assert "check needs_confirmation: 2.0 mm needs a confirmation with a reason" in out


def test_limits_json_carries_hashes_and_code_units(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "limits", "--profile", "fine-lines-wrinkles", "--area", "forehead",
        "--json", "--check", "0.75", "90",
    )  # fmt: skip
    document = json.loads(out)
    assert code == 3
    assert document["profile_hash"].startswith("sha256:")
    assert document["policy_hash"].startswith("sha256:")
    assert document["result"]["depth_min"] == {
        "quantity": "depth",
        "side": "min",
        "value": 250,
        "layer": "device",
        "layer_value": 250,
        "sentence": "0.25 mm is the pen's shallowest setting",
        "reason": None,
    }
    assert document["check"]["verdict"] == "needs_confirmation"


def test_limits_on_a_coarser_pen_rounds_inwards(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "limits", "--profile", "hair-growth", "--area", "scalp", "--level", "doctor",
        "--pen-depth-mm", "0.25", "2.5", "0.25", "--pen-speed-sps", "80", "160", "20",
    )  # fmt: skip
    assert code == 0
    assert "depth  0.5 mm – 1.5 mm, starts at 0.5 mm" in out  # default 0.6 mm is off the grid
    assert "speed  100 strokes/s – 120 strokes/s" in out
    text = " ".join(out.split())
    assert (
        "90 strokes/s is the minimum speed in profile hair-growth for the scalp; rounded up to "
        "100 strokes/s, the nearest step of the pen (20 strokes/s steps)" in text
    )
    assert (
        "note: starts at 0.5 mm, not the profile's default 0.6 mm: 0.6 mm is not a step of the "
        "pen (0.25 mm steps from 0.25 mm), so the next step down is used" in text
    )
    assert "note: starts at 100 strokes/s, not the profile's default 90 strokes/s: 90" in text


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--profile", "nope", "--area", "scalp"], "no profile named 'nope'"),
        (["--profile", "hair-growth", "--area", "scalp", "--level", "intern"], "no practitioner"),
        (
            ["--profile", "hair-growth", "--area", "scalp", "--pen-depth-mm", "2", "1", "0.05"],
            "maximum depth below its minimum",
        ),
        (["--profile", "hair-growth", "--area", "scalp", "--check", "1 mm", "90"], "--check"),
    ],
)
def test_limits_usage_errors_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], fragment: str
) -> None:
    code, out, err = run(capsys, "limits", *argv)
    assert code == 2 and out == ""
    assert fragment in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["show", "nope"], "no profile named 'nope'"),
        (["limits", "--profile", "nope", "--area", "scalp"], "no profile named 'nope'"),
        (["limits", "--profile", "hair-growth", "--area", "elbow"], "No area named 'elbow'"),
        (["limits", "--profile", "hair-growth", "--area", "scalp", "--level", "x"], "level 'x'"),
        (["validate", "x", "--kind", "nope"], "invalid choice: 'nope'"),
        (["schema", "--kind", "nope"], "invalid choice: 'nope'"),
    ],
)
def test_every_wrong_name_exits_2_as_docs_profiles_md_says(
    capsys: pytest.CaptureFixture[str], argv: list[str], fragment: str
) -> None:
    try:
        code = main(["profiles", *argv])
    except SystemExit as stop:  # argparse's own refusal of a choice
        code = int(stop.code or 0)
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert fragment in err and "Traceback" not in err


def test_limits_accepts_names_typed_with_the_other_separator(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Areas are written with underscores and profiles with hyphens; either spelling is the name."""
    expected = run(
        capsys, "limits", "--profile", "acne-scars", "--area", "cheek_left", "--json"
    )  # fmt: skip
    typed = run(
        capsys, "limits", "--profile", "acne_scars", "--area", "cheek-left", "--json"
    )  # fmt: skip
    assert typed == expected and expected[0] == 0
    assert json.loads(typed[1])["profile"] == "acne-scars"
    code, out, _ = run(capsys, "limits", "--profile", "acne_scars", "--area", "cheek-left")
    assert code == 0 and "profile acne-scars" in out and "(cheek_left)" in out


def test_show_accepts_a_profile_name_typed_with_underscores(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run(capsys, "show", "acne_scars") == run(capsys, "show", "acne-scars")


def test_an_unknown_name_suggests_the_closest_known_one(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run(capsys, "limits", "--profile", "hair-growth", "--area", "cheeck-left")
    assert code == 2
    assert "No area named 'cheeck-left'" in err and "Did you mean 'cheek_left'?" in err
    code, out, err = run(capsys, "limits", "--profile", "acne-scras", "--area", "cheek_left")
    assert code == 2 and out == ""
    assert "no profile named 'acne-scras'" in err and "did you mean 'acne-scars'?" in err
    code, out, err = run(capsys, "show", "stretch_mark")
    assert code == 2 and "did you mean 'stretch-marks'?" in err
    code, _, err = run(capsys, "limits", "--profile", "hair-growth", "--area", "elbow")
    assert code == 2 and "did you mean" not in err.lower()


def test_a_millimetre_argument_that_is_not_a_number_is_an_argparse_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["profiles", "limits", "--profile", "a", "--area", "b", "--cartridge-max-mm", "1mm"])
    assert caught.value.code == 2
    expected = "'1mm' is not a number of millimetres; give millimetres as digits, e.g. 1.0"
    assert expected in capsys.readouterr().err


def test_s9_validate_the_corpus_through_the_installed_command() -> None:
    """A real process over every broken file: exit 1, one line per problem, no traceback."""
    done = subprocess.run(
        [str(PENCTL), "profiles", "validate", str(BROKEN)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr + done.stdout
    named = {line.split(":", 1)[0] for line in done.stdout.splitlines()}
    assert named == {str(path) for path in BROKEN.glob("*.toml")}
    assert "nothing was loaded" in done.stderr


def test_a_profile_that_is_off_is_listed_and_refused_by_name(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, _ = run(capsys, "list")
    assert code == 0 and "off: puffiness (bundled, not usable): No clinical evidence" in out
    code, out, err = run(capsys, "limits", "--profile", "puffiness", "--area", "periorbital_left")
    assert code == 2 and out == ""
    assert "profile puffiness is off: No clinical evidence" in err
    assert "into the clinic directory and set enabled = true" in err
    text = (BUNDLED / "puffiness.toml").read_text("utf-8")
    (tmp_path / "puffiness.toml").write_text(
        text.replace("enabled = false", "enabled = true"), "utf-8"
    )
    code, out, _ = run(
        capsys, "limits", "--profile", "puffiness", "--area", "periorbital_left",
        "--clinic-dir", str(tmp_path),
    )  # fmt: skip
    assert code == 0 and "profile puffiness (clinic" in out


def test_validate_prints_warnings_and_loosened_figures_but_passes(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    policy = (BUNDLED / "policy.toml").read_text("utf-8")
    policy = policy.replace("min_dwell_minutes = 15", "min_dwell_minutes = 1").replace(
        "soft_depth_max_mm = 1.5", "soft_depth_max_mm = 2.0"
    )
    policy += '\n[loosened."soft_depth_max_mm"]\nreason = "boxcar scars"\nby = "Dr. A, director"\n'
    (tmp_path / "policy.toml").write_text(policy, "utf-8")
    code, out, err = run(capsys, "validate", str(tmp_path))
    assert code == 0 and err == ""
    text = " ".join(out.split())
    assert f"warning: {tmp_path / 'policy.toml'}:" in text
    assert "numbing.min_dwell_minutes: 1 min: under 5 minutes: hours, not minutes?" in text
    assert (
        f"LOOSENED SAFETY FIGURE: {tmp_path / 'policy.toml'}: soft_depth_max_mm: 2.0 mm "
        "(bundled: 1.5 mm), loosened by Dr. A, director: boxcar scars" in text
    )
    code, out, _ = run(capsys, "policy", "--clinic-dir", str(tmp_path))
    assert code == 0 and "LOOSENED SAFETY FIGURE: soft_depth_max_mm: 2.0 mm" in out
    code, out, _ = run(capsys, "list", "--clinic-dir", str(tmp_path), "--json")
    document = json.loads(out)
    assert document["loosened"] == [
        {
            "figure": "soft_depth_max_mm",
            "bundled": "1.5 mm",
            "clinic": "2.0 mm",
            "reason": "boxcar scars",
            "by": "Dr. A, director",
        }
    ]


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--cartridge-max-mm", "0"], "a needle length must be above 0 mm"),
        (["--cartridge-max-mm", "-1"], "a needle length must be above 0 mm"),
        (["--cartridge-max-mm", "1,5"], "use a dot as the decimal separator, e.g. 1.5"),
        (["--cartridge-max-mm", "1e999999999"], "far beyond any figure in millimetres"),
        (["--cartridge-max-mm", "9" * 5000], "'999999999999999999999...'"),
        (["--cartridge-max-mm", "\uff11.5"], "fullwidth digit one (U+FF11)"),
        (["--pen-depth-mm", "0", "1e99999", "0.1"], "far beyond any figure in millimetres"),
        (["--pen-speed-sps", "60", "9" * 5000, "10"], "is not a whole number of strokes"),
        (["--check", "1e999999999", "120"], "--check: '1e999999999': a number with"),
        (["--check", "0,5", "120"], "--check: '0,5': use a dot as the decimal separator"),
        (["--check", "0.5", "sNaN"], "--check: 'sNaN' is not a whole number of strokes"),
    ],
)
def test_s9_a_hostile_number_on_the_command_line_is_refused_without_a_traceback(
    capsys: pytest.CaptureFixture[str], argv: list[str], fragment: str
) -> None:
    try:
        code = main(["profiles", "limits", "--profile", "acne-scars", "--area", "chin", *argv])
    except SystemExit as stop:  # argparse's refusal of an option's value
        code = int(stop.code or 0)
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert fragment in err and "Traceback" not in err and len(err) < 2000
