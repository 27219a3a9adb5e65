"""`penctl audit report`: a self-contained HTML page an auditor can read, plus CSV and JSON."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import struct
from pathlib import Path

import pytest

from controller.cli import main
from tests.browser import needs_chromium, screenshot
from tests.controller.journal.helpers import write_public_key, write_sample_journal


@pytest.fixture(scope="module")
def journal(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("report") / "journal"
    write_sample_journal(directory, sessions=2)
    write_public_key(directory.parent / "key.pub.pem")
    shutil.copy(directory / "head.json", directory.parent / "witness-head.json")
    return directory


def _report(journal: Path, out: Path, fmt: str, *extra: str) -> str:
    """Pinned to the fixed key, with a witness's copy of the head: as an auditor should."""
    key = journal.parent / "key.pub.pem"
    anchors = (
        ["--public-key", str(key), "--witness", str(journal.parent / "witness-head.json")]
        if key.exists()
        else []
    )
    argv = ["audit", "report", str(journal), "--format", fmt, "-o", str(out), *anchors, *extra]
    assert main(argv) == 0
    return out.read_text(encoding="utf-8")


def test_html_report_is_one_self_contained_file(journal: Path, tmp_path: Path) -> None:
    page = _report(journal, tmp_path / "r.html", "html")
    assert page.startswith("<!doctype html>")
    assert "<script" not in page and "<link" not in page and "<img" not in page
    assert re.findall(r"""(?:src|href)\s*=""", page) == []
    assert re.findall(r"https?://|url\(", page) == []
    assert page.count("<style>") == 1 and page.count("<svg") == 2
    assert page.count("<table") == page.count("</table>")


def test_html_report_holds_what_an_auditor_checks(journal: Path, tmp_path: Path) -> None:
    page = _report(journal, tmp_path / "r.html", "html", "--session", "1")
    text = re.sub(r"<[^>]+>", " ", page)
    text = re.sub(r"\s+", " ", text)
    assert "Session 1 report" in text and "PASS every record is present" in text
    head = json.loads((journal / "head.json").read_bytes())["checkpoint"]
    assert f"Head fingerprint {head['seq']}:{head['hash'][:16]}" in text  # a witness on paper
    for facts in ("op:alice", "P-0042", "PEN-SN-00042", "firmware 1.4.2", "LOT-2602-A"):
        assert facts in text
    assert "forehead 0.50 mm 110 strokes/s 1 min 30 s 2" in text
    assert "cheek left 1.00 mm 120 strokes/s 2 min 00 s 2" in text
    assert "all areas 4 min 20 s 5" in text
    assert "alarm A-17" in text and "0a0143ff00 0a0143ff01" in text
    assert "acknowledged by op:alice at 10:04:57Z" in text
    assert "fault F-3" in text and "cleared by op:alice" in text
    assert "aftercare sheet AC-MN v2 given (printed)" in text
    assert "follow-up booked for 2026-04-01" in text
    assert "correction of record 36" in text
    assert "Session 2" not in text
    svg = page[page.index("<svg") : page.index("</svg>")]
    assert "depth (mm)" in svg and "speed (strokes/s)" in svg
    assert svg.count("fill='#dff3e6'") >= 2 * 5  # five needle runs, in both panels


def test_html_report_of_a_tampered_journal_says_fail_and_flags_the_record(
    journal: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "j"
    shutil.copytree(journal, copy)
    path = copy / "session-000001.jsonl"
    path.write_bytes(path.read_bytes().replace(b'"depth_um":1000', b'"depth_um":1500', 1))
    page = _report(copy, tmp_path / "r.html", "html", "--session", "1")
    assert "<strong>FAIL</strong>" in page
    assert "this record failed verification" in page
    assert "Findings in this session" in page


def test_csv_report_is_the_timeline_one_row_per_record(journal: Path, tmp_path: Path) -> None:
    rows = list(csv.DictReader(io.StringIO(_report(journal, tmp_path / "r.csv", "csv"))))
    assert len(rows) == 86
    applied = next(r for r in rows if r["type"] == "PARAMS_APPLIED")
    assert (applied["area"], applied["depth_mm"], applied["speed_sps"]) == (
        "forehead",
        "0.50",
        "110",
    )
    assert applied["event"].startswith("parameters v1 confirmed by the pen")
    assert {r["finding"] for r in rows} == {""}


def test_json_report_has_the_verification_and_session_summaries(
    journal: Path, tmp_path: Path
) -> None:
    document = json.loads(_report(journal, tmp_path / "r.json", "json"))
    assert document["verification"]["verdict"] == "PASS"
    first = document["sessions"][0]
    assert first["outcome"] == "completed" and first["opening"]["patient_pseudonym"] == "P-0042"
    assert [(a["area"], a["passes"]) for a in first["areas"]] == [
        ("forehead", 2),
        ("cheek_left", 2),
        ("cheek_right", 1),
    ]
    assert [a["ident"] for a in first["alarms"]] == ["A-17", "F-3"]


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", data[16:24])


@pytest.mark.chromium
@needs_chromium
def test_html_report_renders_in_headless_chromium(journal: Path, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    _report(journal, page, "html", "--session", "1")
    shot = tmp_path / "report.png"
    done = screenshot(page, shot)
    assert shot.exists(), done.stderr[-2000:]
    assert _png_size(shot) == (1280, 1600)
    # A blank or error page compresses to a few kilobytes; the report is text, tables and a chart.
    assert shot.stat().st_size > 60_000


def test_s9_hostile_strings_are_inert_in_the_html_and_csv_reports(tmp_path: Path) -> None:
    """HTML is escaped; a CSV cell a spreadsheet would run as a formula (=, +, -, @) is quoted."""
    from controller.journal import JournalWriter, OperatorAck, ParamsApplied
    from tests.controller.journal.helpers import OPERATOR, fixed_signer, session_open

    opening = session_open().model_copy(update={"operator_id": "<script>alert(1)</script>"})
    with JournalWriter.open(tmp_path / "j", signer=fixed_signer()) as writer:
        writer.open_session(opening, OPERATOR)
        writer.append(
            ParamsApplied(
                param_version=1,
                area='=HYPERLINK("http://x.test","fix")',
                depth_um=500,
                speed_sps=110,
                matches_request=True,
            ),
            "pen",
        )
        writer.append(
            OperatorAck(subject="@SUM(1+1)", action="acknowledged", note="<img src=x onerror=1>"),
            OPERATOR,
        )
        writer.close_session("completed", "done", OPERATOR)
    page = _report(tmp_path / "j", tmp_path / "r.html", "html")
    assert "<script" not in page and "<img" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    rows = list(csv.DictReader(io.StringIO(_report(tmp_path / "j", tmp_path / "r.csv", "csv"))))
    cells = [value for row in rows for value in row.values()]
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@")]
    applied = next(r for r in rows if r["type"] == "PARAMS_APPLIED")
    assert applied["area"] == '\'=HYPERLINK("http://x.test","fix")'
