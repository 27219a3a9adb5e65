"""A clinic policy that loosens a bundled safety figure is journaled in every session it governs.

The figure, the bundled and the clinic value, the reason and who decided are written as an
OVERRIDE record at intake, so an auditor reading one session sees which safety figures were
changed and by whom, without the clinic directory at hand.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from controller.cli import main

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "examples" / "sessions" / "face-acne-scars.toml"


@pytest.fixture(autouse=True)
def _key_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PENCTL_KEY_DIR", str(tmp_path / "keys"))


def _records(journal: Path) -> list[dict[str, Any]]:
    return [
        json.loads(line)
        for path in sorted(journal.glob("session-*.jsonl"))
        for line in path.read_text().splitlines()
        if line
    ]


def test_a_loosened_soft_ceiling_is_journaled_with_reason_and_who(tmp_path: Path) -> None:
    clinic = tmp_path / "clinic"
    clinic.mkdir()
    policy = (ROOT / "profiles" / "library" / "policy.toml").read_text("utf-8")
    (clinic / "policy.toml").write_text(
        policy.replace("soft_depth_max_mm = 1.5", "soft_depth_max_mm = 2.0", 1)
        + '\n[loosened."soft_depth_max_mm"]\n'
        'reason = "boxcar scars need 2.0 mm; test patch first"\n'
        'by = "Dr. A. Smith, medical director"\n',
        "utf-8",
    )
    journal = tmp_path / "j"
    argv = ["session", "run", "--script", str(SCRIPT), "--journal", str(journal), "--fast"]
    assert main([*argv, "--clinic-dir", str(clinic)]) == 0
    (loosened,) = [
        r["data"]
        for r in _records(journal)
        if r["type"] == "OVERRIDE" and r["data"]["rule"] == "clinic_policy_loosened"
    ]
    assert loosened["reason"] == "boxcar scars need 2.0 mm; test patch first"
    assert loosened["detail"] == (
        "soft_depth_max_mm: 2.0 mm (bundled: 1.5 mm), decided by Dr. A. Smith, medical director"
    )
    assert main(["audit", "verify", str(journal)]) == 0
