"""What the clinic's library says reaches the session: loosened safety figures and profiles off.

A clinic policy that loosens a bundled safety figure is journaled in every session it governs. The
figure, the bundled and the clinic value, the reason and who decided are written as an
OVERRIDE record at intake, so an auditor reading one session sees which safety figures were
changed and by whom, without the clinic directory at hand. The session runs in virtual time on the
simulated pen (tests/controller/session.py), under a real clinic directory loaded by the library.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import tests.controller.session as session_rig
from controller.journal.audit.timeline import describe
from controller.journal.format import SESSION_FILE, check_schema, parse_line
from profiles import load_library

ROOT = Path(__file__).resolve().parents[2]
REASON = "boxcar scars need 2.0 mm; test patch first"
WHO = "Dr. A. Smith, medical director"


def _clinic(tmp_path: Path) -> Path:
    clinic = tmp_path / "clinic"
    clinic.mkdir()
    policy = (ROOT / "profiles" / "library" / "policy.toml").read_text("utf-8")
    (clinic / "policy.toml").write_text(
        policy.replace("soft_depth_max_mm = 1.5", "soft_depth_max_mm = 2.0", 1)
        + f'\n[loosened."soft_depth_max_mm"]\nreason = "{REASON}"\nby = "{WHO}"\n',
        "utf-8",
    )
    return clinic


def test_a_loosened_soft_ceiling_is_journaled_with_reason_and_who(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    library = load_library(_clinic(tmp_path), environ={})
    assert [figure.figure for figure in library.loosened] == ["soft_depth_max_mm"]
    monkeypatch.setattr(session_rig, "load_library", lambda environ: library)
    directory = tmp_path / "journal"
    with session_rig.run_session(directory) as rig:
        rig.connect()
        rig.intake()
    (path,) = [p for p in directory.iterdir() if SESSION_FILE.match(p.name)]
    records = [check_schema(parse_line(line)) for line in path.read_bytes().splitlines()]
    (loosened,) = [
        r for r in records if r.type == "OVERRIDE" and r.data["rule"] == "clinic_policy_loosened"
    ]
    assert loosened.data["reason"] == REASON
    assert loosened.data["detail"] == (
        f"soft_depth_max_mm: 2.0 mm (bundled: 1.5 mm), decided by {WHO}"
    )
    assert REASON in describe(loosened)


def test_intake_of_a_profile_that_is_off_says_why_and_how_to_enable_it(tmp_path: Path) -> None:
    with session_rig.run_session(tmp_path / "journal") as rig:
        rig.connect()
        rig.submit(rig.intake_action(profile="puffiness", areas=("periorbital_left",)))
        refusal = rig.ctl.last_refusal
    assert refusal is not None
    assert refusal.startswith("intake: profile puffiness is off: No clinical evidence")
    assert "set enabled = true" in refusal
