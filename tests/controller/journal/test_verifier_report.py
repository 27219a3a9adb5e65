"""What an auditor's tools read from `penctl audit verify --json`, and the words of the findings
about a journal's end: every field of the report of an intact journal, a torn tail after a closed
session (corruption) and after an open one (a crash), and an open session."""

from __future__ import annotations

import hashlib
from importlib.metadata import version
from pathlib import Path

import pytest

from controller.journal import JournalWriter
from controller.journal.audit import verify_path
from controller.journal.audit.verifier import DIMENSIONS, REPORT_VERSION
from tests.controller.journal.helpers import (
    OPERATOR,
    ManualClock,
    fixed_signer,
    session_open,
    write_sample_journal,
)
from tests.controller.journal.test_verifier import (
    HEAD,
    S1,
    S2,
    _encode,
    _records,
    _verify,
    _witness,
    compact,
)

__all__ = ["compact"]  # the module-scoped journal fixture, shared with test_verifier

KEY_ID = fixed_signer().key_id


def _file(name: str, data: bytes) -> dict[str, object]:
    return {"name": name, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def _session(number: int, records: int, first: int, outcome: str) -> dict[str, object]:
    return {
        "session": number,
        "file": f"session-{number:06d}.jsonl",
        "records": records,
        "first_seq": first,
        "last_seq": first + records - 1,
        "outcome": outcome,
        "terminated": True,
        "recovered": False,
        "torn_tail_bytes": 0,
    }


def test_the_json_report_of_an_intact_journal_holds_every_field(
    compact: dict[str, bytes],
) -> None:
    report = _verify(compact, witnesses=[_witness(compact)]).to_dict()
    checked = {
        "framing": 14,
        "schema": 13,
        "sequence": 13,
        "chain": 13,
        "links": 3,
        "checkpoints": 4,
        "termination": 2,
        "key": 3,
        "witness": 1,
    }
    assert report == {
        "report_version": REPORT_VERSION,
        "verifier": {"name": "penctl audit verify", "version": version("penctl")},
        "input": {
            "path": "journal",
            "kind": "directory",
            "files": [_file(S1, compact[S1]), _file(S2, compact[S2]), _file(HEAD, compact[HEAD])],
        },
        "verified_at": "2026-03-05T10:00:00Z",
        "verdict": "PASS",
        "first_failure": None,
        "records": {"total": 13, "first_seq": 1, "last_seq": 13},
        "dimensions": {
            name: {
                "status": "pass",
                "title": DIMENSIONS[name],
                "checked": checked[name],
                "skipped_because": None,
                "first_failure": None,
                "findings": [],
                "findings_total": 0,
            }
            for name in DIMENSIONS
        },
        "sessions": [_session(1, 10, 1, "completed"), _session(2, 3, 11, "aborted")],
        "signing_keys": [KEY_ID],
        "pinned_key": KEY_ID,
        "head_fingerprint": report["head_fingerprint"],
        "kept_aside_files": [],
        "warnings": [],
    }
    assert report["head_fingerprint"].startswith("13:")  # the head's checkpoint record


def test_bytes_after_a_session_head_json_vouches_beyond_are_corruption_a_fail_naming_where(
    compact: dict[str, bytes],
) -> None:
    files = {**compact, S1: compact[S1] + b'{"seq":99,"ty'}  # 13 bytes
    report = _verify(files, witnesses=[_witness(compact)]).to_dict()
    finding = {
        "dimension": "framing",
        "severity": "fail",
        "file": S1,
        "seq": 11,
        "offset": len(compact[S1]),
        "message": "13 bytes at the end are not a complete record, and head.json vouches for "
        "record 13: corruption, not a crash",
    }
    assert report["verdict"] == "FAIL"
    assert report["first_failure"] == finding
    framing = report["dimensions"]["framing"]
    assert (framing["status"], framing["first_failure"], framing["findings"]) == (
        "fail",
        finding,
        [finding],
    )
    assert framing["findings_total"] == 1


def test_a_torn_tail_after_the_newest_closing_checkpoint_is_incomplete_never_pass(
    compact: dict[str, bytes],
) -> None:
    """A key hand-over is written after the newest session's closing checkpoint (journal.md
    §4), so a crash can tear a record there: INCOMPLETE, with where, never PASS."""
    files = {**compact, S2: compact[S2] + b'{"seq":99,"ty'}  # 13 bytes
    report = _verify(files, witnesses=[_witness(compact)]).to_dict()
    assert report["verdict"] == "INCOMPLETE"
    framing = report["dimensions"]["framing"]
    [finding] = framing["findings"]
    assert (finding["severity"], finding["file"], finding["seq"], finding["offset"]) == (
        "incomplete",
        S2,
        14,
        len(compact[S2]),
    )
    assert finding["message"].startswith("torn tail: the last 13 bytes are an unfinished record")


def test_an_open_session_with_a_torn_tail_is_a_crash_incomplete_not_corruption(
    tmp_path: Path,
) -> None:
    journal = tmp_path / "j"
    write_sample_journal(journal, sessions=1)
    with JournalWriter.open(journal, signer=fixed_signer(), clock=ManualClock()) as writer:
        writer.open_session(session_open(), OPERATOR)
    size = (journal / S2).stat().st_size
    with (journal / S2).open("ab") as session:
        session.write(b'{"seq":')
    report = verify_path(journal)
    found = [
        (f.dimension, f.severity, f.file, f.seq, f.offset, f.message)
        for f in report.findings
        if f.dimension in ("framing", "termination")
    ]
    assert found == [
        (
            "framing",
            "incomplete",
            S2,
            45,
            size,
            "torn tail: the last 7 bytes are an unfinished record (a crash during a write, never "
            "acknowledged); the next start of penctl keeps it aside, cuts it off and notes it",
        ),
        (
            "termination",
            "incomplete",
            S2,
            45,
            size,
            "session 2 is not closed (no SESSION_CLOSE and checkpoint at its end): it is still "
            "running, or penctl stopped during it and has not started since",
        ),
    ]
    assert report.verdict == "INCOMPLETE"


@pytest.mark.parametrize(
    ("kept", "seq", "message"),
    [
        (
            [0, 1, 2, *range(4, 10)],
            4,
            "sequence gap: found 5 where 4 was due; record 4 is missing",
        ),
        (
            [0, 1, 2, *range(6, 10)],
            4,
            "sequence gap: found 7 where 4 was due; records 4–6 are missing",
        ),
        (
            [0, 1, 2, 3, 4, 4, *range(5, 10)],
            6,
            "sequence goes back: found 5 where 6 was due (a duplicated, reordered or inserted "
            "record)",
        ),
    ],
)
def test_a_missing_or_repeated_record_is_named_by_the_sequence_check(
    compact: dict[str, bytes], kept: list[int], seq: int, message: str
) -> None:
    records = _records(compact[S1])
    report = _verify({**compact, S1: _encode([records[i] for i in kept])})
    first = report.dimensions["sequence"].findings[0]
    assert (first.severity, first.file, first.seq, first.message) == ("fail", S1, seq, message)
