"""The auditor's tools on a journal the controller wrote: a real session in virtual time.

Two sessions for one patient. The first is the whole worked example (docs/controller.md §1) with
a refused START on the way; its cartridge is named only by the CARTRIDGE record, since a session
opens at intake. The second comes back the same day, inside the policy's interval, with an
override reason, and is aborted before any cartridge is fitted. `penctl audit show` and
`penctl audit report` must say all of it in words: the intake, the override, the plan, the
cartridge and the refusal, and the session header must name the cartridge the CARTRIDGE record
names (and say "no cartridge fitted" only when there was none).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from controller import actions as act
from controller.cli import main
from controller.journal.audit.summary import FittedCartridge, cartridge_text, fitted_cartridges
from controller.journal.audit.timeline import describe
from controller.journal.format import SESSION_FILE, Record, check_schema, parse_line
from tests.browser import needs_chromium, screenshot
from tests.controller.session import PATIENT, run_session

OVERRIDE_REASON = "patient travels abroad for three months; the doctor agreed"


@pytest.fixture(scope="module")
def journal(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("audit") / "journal"
    with run_session(directory) as rig:
        rig.connect()
        rig.intake()
        rig.consent()
        rig.prepare()
        rig.begin()
        rig.submit(act.Start())  # refused: nothing is armed yet
        rig.arm()
        rig.start()
        rig.pause()
        rig.finish()
        # The same patient again, the same day: too soon without a reason, so one is given.
        rig.submit(rig.intake_action())
        assert rig.ctl.last_refusal is not None and "too soon" in rig.ctl.last_refusal
        rig.submit(rig.intake_action(interval_override=OVERRIDE_REASON))
        rig.consent()
        rig.submit(act.Abort(reason="the patient felt unwell"))
    return directory


def _records(directory: Path, session: int) -> list[Record]:
    path = next(
        p for p in directory.iterdir() if (m := SESSION_FILE.match(p.name)) and int(m[1]) == session
    )
    return [check_schema(parse_line(line)) for line in path.read_bytes().splitlines()]


def _one(records: list[Record], record_type: str) -> dict:
    (data,) = [r.data for r in records if r.type == record_type]
    return data


def _show(journal: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> str:
    assert main(["audit", "show", str(journal), *extra]) == 0
    return capsys.readouterr().out


def _session_block(text: str, number: int) -> str:
    start = text.index(f"Session {number} ·")
    end = text.find("\nSession ", start + 1)
    return text[start : end if end != -1 else len(text)]


def test_the_journal_verifies(
    journal: Path,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PENCTL_TRUST_DIR", str(tmp_path / "no-keys-enrolled"))
    # intact in itself; without a pinned key and a witness never PASS (docs/journal.md §7)
    assert main(["audit", "verify", str(journal), "--witness", str(journal / "head.json")]) == 4
    out = capsys.readouterr().out
    assert (
        "UNPROTECTED: intact and consistent in itself, but checked with the key not pinned" in out
    )
    assert "FAIL" not in out and "INCOMPLETE" not in out


def test_every_record_reads_as_a_sentence(journal: Path) -> None:
    seen: set[str] = set()
    for session in (1, 2):
        for record in _records(journal, session):
            assert describe(record) != record.type, record.type
            seen.add(record.type)
    assert {"INTAKE", "OVERRIDE", "PLAN", "CARTRIDGE", "ACTION_REFUSED"} <= seen


def test_show_says_the_new_records_in_words(
    journal: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = _show(journal, capsys)
    first, second = _session_block(text, 1), _session_block(text, 2)

    assert (
        "intake: acne-scars on cheek left, forehead; skin type III; therapist; "
        "no earlier treatment of these areas on record" in first
    )
    assert (
        "intake: acne-scars on cheek left, forehead; skin type III; therapist; "
        "last treated 2026-01-01, earliest 2026-01-29" in second
    )
    assert f"override: min interval set aside: {OVERRIDE_REASON} (too soon: patient {PATIENT}" in (
        second
    )
    assert "plan: 3 sessions, 28 days apart; explained: Redness like a sunburn" in first

    cartridge = _one(_records(journal, 1), "CARTRIDGE")
    depth_mm = f"{cartridge['needle_length_um'] / 1000:.2f} mm"
    assert (
        f"cartridge {cartridge['serial']} lot {cartridge['lot']} fitted: "
        f"{cartridge['needle_count']} needles, {depth_mm} long, expires {cartridge['expiry']}, "
        "fresh" in first
    )
    refused = _one(_records(journal, 1), "ACTION_REFUSED")
    assert refused["action"] == "start"
    assert f"start refused: {refused['reason']}" in first
    assert "apply the settings (arm) first" in refused["reason"]


def test_the_header_takes_the_cartridge_from_its_record(
    journal: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    opening = _one(_records(journal, 1), "SESSION_OPEN")
    assert opening.get("cartridge_serial") is None  # the session opened at intake
    cartridge = _one(_records(journal, 1), "CARTRIDGE")
    text = _show(journal, capsys)
    header_1 = _session_block(text, 1).splitlines()[2]
    header_2 = _session_block(text, 2).splitlines()[2]
    assert header_1.startswith(f"  cartridge {cartridge['serial']} lot {cartridge['lot']} · ")
    assert header_2.startswith("  no cartridge fitted · ")
    assert "not yet fitted" not in text


def test_html_report_names_the_cartridge_and_the_new_records(journal: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    assert main(["audit", "report", str(journal), "--format", "html", "-o", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))
    cartridge = _one(_records(journal, 1), "CARTRIDGE")
    assert f"cartridge {cartridge['serial']} lot {cartridge['lot']} profile" in text
    assert "cartridge no cartridge fitted" in text  # session 2's facts
    assert "None" not in text
    before = text[text.index("Before treatment") : text.index("After treatment")]
    after = text[text.index("After treatment") : text.index("Corrections")]
    for words in ("intake: acne-scars", "plan: 3 sessions", f"cartridge {cartridge['serial']}"):
        assert words in before
    assert "Immediate effect observed: redness?: yes" in after
    assert "Immediate effect observed" not in before
    assert "start refused: the pen is" in text  # an operator action
    assert "override: min interval set aside" in text


def test_json_report_lists_the_cartridges(journal: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    assert main(["audit", "report", str(journal), "--format", "json", "-o", str(out)]) == 0
    first, second = json.loads(out.read_text(encoding="utf-8"))["sessions"]
    cartridge = _one(_records(journal, 1), "CARTRIDGE")
    assert [(c["serial"], c["lot"]) for c in first["cartridges"]] == [
        (cartridge["serial"], cartridge["lot"])
    ]
    assert second["cartridges"] == []


def _record(seq: int, record_type: str, data: dict) -> Record:
    return Record(1, seq, 1, "2026-01-01T00:00:00.000000Z", 0, record_type, "pen", data, "", "")


def test_cartridges_from_the_opening_and_from_records_in_order_once_each() -> None:
    opening = _record(1, "SESSION_OPEN", {"cartridge_serial": "CT-1", "cartridge_lot": "L-1"})
    again = _record(5, "CARTRIDGE", {"serial": "CT-1", "lot": "L-1"})
    other = _record(9, "CARTRIDGE", {"serial": "CT-2", "lot": "L-2"})
    found = fitted_cartridges([opening, again, other])
    assert found == [FittedCartridge("CT-1", "L-1", 1), FittedCartridge("CT-2", "L-2", 9)]
    assert cartridge_text(found) == "CT-1 lot L-1, then CT-2 lot L-2"
    assert cartridge_text([]) == "no cartridge fitted"
    none_at_open = _record(1, "SESSION_OPEN", {"cartridge_serial": None, "cartridge_lot": None})
    assert fitted_cartridges([none_at_open]) == []


@pytest.mark.chromium
@needs_chromium
def test_the_report_of_a_real_session_renders_in_headless_chromium(
    journal: Path, tmp_path: Path
) -> None:
    page = tmp_path / "report.html"
    assert main(["audit", "report", str(journal), "--format", "html", "-o", str(page)]) == 0
    shot = tmp_path / "report.png"
    done = screenshot(page, shot)
    assert done.returncode == 0, done.stderr[-2000:]
    assert shot.exists() and shot.stat().st_size > 10_000
