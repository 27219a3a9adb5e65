"""What an auditor reads in each finding: its dimension, severity, file, record, byte offset and
words, in the report's order. Each journal here is the compact one changed in one way (a cut
tail, a FIFO in a session file's place, a lone session file), verified in this process."""

from __future__ import annotations

import errno
import os
import time
from collections.abc import Callable, Sequence
from importlib.metadata import PackageNotFoundError
from pathlib import Path
from typing import Any, Literal

import pytest

from controller.journal import JournalUnreadable, JournalWriter
from controller.journal.audit import (
    AuditInputError,
    VerificationReport,
    verify_journal,
    verify_path,
)
from controller.journal.audit.anchors import WitnessHead
from controller.journal.format import record_hash
from tests.controller.journal.helpers import (
    OPERATOR,
    START_WALL_NS,
    ManualClock,
    anchored,
    fixed_signer,
    session_open,
    write_compact_journal,
)
from tests.controller.journal.test_anchors import _recovered
from tests.controller.journal.test_verifier import (
    GENUINE_KEY,
    HEAD,
    NOW,
    S1,
    S2,
    _encode,
    _records,
    _verify,
    _witness,
    compact,
)

__all__ = ["compact"]  # the module-scoped journal fixture, shared with test_verifier

Found = tuple[str, str, str | None, int | None, int | None, str]


def _found(report: VerificationReport, *dimensions: str) -> list[Found]:
    """The findings as the report orders them, in `dimensions` (all when none are given)."""
    return [
        (f.dimension, f.severity, f.file, f.seq, f.offset, f.message)
        for f in report.findings
        if not dimensions or f.dimension in dimensions
    ]


def _core(
    sessions: dict[str, bytes],
    *,
    head: bytes | None,
    kept_aside: dict[str, bytes] | None = None,
    kind: Literal["directory", "file"] = "directory",
    witnesses: Sequence[WitnessHead] = (),
    **keys: Any,
) -> VerificationReport:
    """Verified by the I/O-free core, given the files' names and bytes directly."""
    return verify_journal(
        sessions,
        head=head,
        kept_aside=kept_aside or {},
        kind=kind,
        path="journal",
        now=NOW,
        witnesses=witnesses,
        **keys,
    )


def _with_not_regular(
    sessions: dict[str, bytes],
    not_regular: dict[str, str],
    *,
    head: bytes | None,
    witnesses: Sequence[WitnessHead] = (),
) -> VerificationReport:
    """Verified as verify_path does when `not_regular` (name: what it is) were no regular files."""
    return verify_journal(
        sessions,
        head=head,
        kept_aside={},
        kind="directory",
        path="journal",
        now=NOW,
        pinned_public_key=GENUINE_KEY,
        not_regular=not_regular,
        witnesses=witnesses,
    )


def test_a_session_cut_before_its_close_with_a_later_session_is_a_fail_naming_its_last_record(
    compact: dict[str, bytes],
) -> None:
    records = _records(compact[S1])
    cut = _encode(records[:-2])  # SESSION_CLOSE and its CHECKPOINT gone
    report = _verify({**compact, S1: cut}, witnesses=[_witness(compact)])
    assert report.verdict == "FAIL"
    assert _found(report, "termination", "sequence", "links") == [
        (
            "termination",
            "fail",
            S1,
            9,
            len(cut),
            "session 1 ends at record 8 without a closing checkpoint, but head.json vouches for "
            "record 13: its tail was cut",
        ),
        (
            "sequence",
            "fail",
            S2,
            9,
            0,
            "sequence gap: found 11 where 9 was due; records 9–10 are missing",
        ),
        (
            "links",
            "fail",
            S2,
            9,
            0,
            "first record of session 2 does not link to the last record of the session before: "
            "a session was deleted, or records before it were cut or changed",
        ),
    ]
    assert report.sessions[0].terminated is False
    # each session's first record was checked for its link, whether it holds or not; and head.json
    assert report.dimensions["links"].checked == 3


def test_an_emptied_session_file_before_a_later_session_is_a_fail_with_no_record_to_name(
    compact: dict[str, bytes],
) -> None:
    report = _verify({**compact, S1: b""}, witnesses=[_witness(compact)])
    assert report.verdict == "FAIL"
    assert report.first_failure is not None
    assert _found(report, "termination", "links")[:2] == [
        (
            "termination",
            "fail",
            S1,
            1,
            0,
            "session 1 ends at record - without a closing checkpoint, but head.json vouches for "
            "record 13: its tail was cut",
        ),
        (
            "links",
            "fail",
            S2,
            1,
            0,
            "first record of session 2 does not link to the genesis value (all zeros): a session "
            "was deleted, or records before it were cut or changed",
        ),
    ]


def test_a_fifo_in_place_of_the_first_session_is_the_first_failure_before_later_changes(
    compact: dict[str, bytes],
) -> None:
    """Findings are ordered by where they are in the journal: session 1's file comes first,
    even though it could not be opened."""
    changed = compact[S2].replace(b'"aborted"', b'"completed"')
    report = _with_not_regular(
        {S2: changed}, {S1: "a FIFO"}, head=compact[HEAD], witnesses=[_witness(compact)]
    )
    offset = changed.index(b"\n") + 1
    assert _found(report) == [
        (
            "framing",
            "fail",
            S1,
            1,
            None,
            f"{S1} is a FIFO, not a regular file; it was not opened. A journal holds only regular "
            "files: find out what replaced this one, and verify a copy of the journal taken from "
            "a backup",
        ),
        (
            "chain",
            "fail",
            S2,
            12,
            offset,
            "content does not match its hash: the record was changed after it was written",
        ),
    ]
    assert report.first_failure is not None and report.first_failure.file == S1


@pytest.fixture
def journal(tmp_path: Path) -> Path:
    directory = tmp_path / "journal"
    write_compact_journal(directory)
    return directory


def test_a_lone_session_file_is_read_and_its_records_counted(journal: Path) -> None:
    report = verify_path(journal / S2, pinned_public_key=GENUINE_KEY, now=NOW)
    assert (report.kind, report.verdict) == ("file", "PASS")
    summary = report.to_dict()
    assert summary["input"]["kind"] == "file"
    assert [f["name"] for f in summary["input"]["files"]] == [S2]
    assert summary["records"] == {"total": 3, "first_seq": 11, "last_seq": 13}
    assert summary["sessions"] == [
        {
            "session": 2,
            "file": S2,
            "records": 3,
            "first_seq": 11,
            "last_seq": 13,
            "outcome": "aborted",
            "terminated": True,
            "recovered": False,
            "torn_tail_bytes": 0,
        }
    ]
    checked = {name: result["checked"] for name, result in summary["dimensions"].items()}
    assert checked == {
        "framing": 3,
        "schema": 3,
        "sequence": 3,
        "chain": 3,
        "links": 0,
        "checkpoints": 1,
        "termination": 1,
        "key": 2,
        "witness": 0,
    }
    skipped = {name: result["skipped_because"] for name, result in summary["dimensions"].items()}
    assert skipped == {
        **{name: None for name in skipped},
        "links": "a single session file was given; verify the journal directory to check how "
        "sessions link and that none is missing",
        "witness": "a single session file was given; verify the journal directory against a "
        "witness",
    }


def test_a_changed_record_in_a_lone_session_file_is_a_fail(journal: Path) -> None:
    path = journal / S2
    path.write_bytes(path.read_bytes().replace(b'"aborted"', b'"completed"'))
    report = verify_path(path, pinned_public_key=GENUINE_KEY, now=NOW)
    assert report.verdict == "FAIL"
    assert report.first_failure is not None
    assert (report.first_failure.dimension, report.first_failure.seq) == ("chain", 12)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            HEAD,
            "is not a session file (head.json is part of a journal directory); give the "
            "directory, or one session-NNNNNN.jsonl file",
        ),
        (
            f"{S1}.torn-3224-0123456789ab",
            f"is not a session file ({S1}.torn-3224-0123456789ab is part of a journal "
            "directory); give the directory, or one session-NNNNNN.jsonl file",
        ),
        (
            "session-1.jsonl",
            "is not a session file: penctl expects a journal directory or one "
            "session-NNNNNN.jsonl file, named as penctl wrote it; give one of those (a session "
            "file received under another name: copy it to that name first)",
        ),
    ],
)
def test_a_path_that_is_not_a_session_file_is_refused_saying_what_to_give(
    journal: Path, name: str, message: str
) -> None:
    path = journal / name
    if not path.exists():
        path.write_bytes((journal / S1).read_bytes())
    with pytest.raises(AuditInputError) as refused:
        verify_path(path, now=NOW)
    assert str(refused.value) == f"{path} {message}"


def test_a_crash_while_opening_a_session_is_incomplete_naming_the_open_session_first(
    journal: Path,
) -> None:
    """penctl stopped after writing session 3's first record, before rewriting head.json: the
    open session is what an auditor must see first; head.json's lag is only a warning."""
    head = (journal / HEAD).read_bytes()
    later = ManualClock(wall=START_WALL_NS + 86_400 * 10**9)
    with JournalWriter.open(journal, signer=fixed_signer(), clock=later) as writer:
        writer.open_session(session_open("P-0044"), OPERATOR)
    (journal / HEAD).write_bytes(head)
    s3 = "session-000003.jsonl"
    report = anchored(journal, now=NOW)
    assert report.verdict == "INCOMPLETE"
    assert _found(report) == [
        (
            "termination",
            "incomplete",
            s3,
            15,
            (journal / s3).stat().st_size,
            "session 3 is not closed (no SESSION_CLOSE and checkpoint at its end): it is still "
            "running, or penctl stopped during it and has not started since",
        ),
        (
            "links",
            "warning",
            HEAD,
            None,
            None,
            "head.json was not yet updated for session 3 (penctl stopped while opening it); the "
            "next start updates it",
        ),
    ]


def test_a_dimensions_first_failure_skips_its_warnings(compact: dict[str, bytes]) -> None:
    """A wall clock set back is a warning; the sequence dimension's first failure is still the
    missing record after it, and the warning is listed with the findings."""
    records = _records(compact[S1])
    records[2]["utc"] = records[0]["utc"]  # record 3 written "before" record 2
    report = _verify({**compact, S1: _encode(records[:5] + records[6:])})
    sequence = report.to_dict()["dimensions"]["sequence"]
    warning = {
        "dimension": "sequence",
        "severity": "warning",
        "file": S1,
        "seq": 3,
        "offset": len(_encode(records[:2])),
        "message": "wall-clock time went backwards (2026-03-02T10:00:10.000000Z → "
        "2026-03-02T10:00:00.000000Z): the clock was changed",
    }
    gap = {
        "dimension": "sequence",
        "severity": "fail",
        "file": S1,
        "seq": 6,
        "offset": len(_encode(records[:5])),
        "message": "sequence gap: found 7 where 6 was due; record 6 is missing",
    }
    assert (sequence["status"], sequence["first_failure"]) == ("fail", gap)
    assert (sequence["findings"], sequence["findings_total"]) == ([warning, gap], 2)
    assert report.to_dict()["warnings"] == [warning]


def test_a_fifo_in_place_of_the_first_session_file_still_lets_the_later_ones_be_read(
    journal: Path,
) -> None:
    (journal / S1).unlink()
    os.mkfifo(journal / S1)
    report = verify_path(journal, now=NOW)
    assert report.path == str(journal)
    assert [f["name"] for f in report.files] == [S2, HEAD]
    assert [(s.file, s.records) for s in report.sessions] == [(S1, 0), (S2, 3)]
    assert report.first_failure is not None
    assert (report.first_failure.dimension, report.first_failure.file) == ("framing", S1)


def test_a_journal_directory_without_head_json_is_verified_not_refused(journal: Path) -> None:
    """Its session files are read and checked; the missing head.json is a finding
    (test_verifier_head.py has its words), not a usage error."""
    (journal / HEAD).unlink()
    report = verify_path(journal, now=NOW)
    assert report.to_dict()["input"]["path"] == str(journal)
    assert [s.records for s in report.sessions] == [10, 3]
    assert report.first_failure is not None
    assert (report.first_failure.dimension, report.first_failure.file) == ("links", HEAD)


def test_a_journal_directory_holding_only_head_json_reports_no_records(journal: Path) -> None:
    """Every session file deleted: FAIL, and the JSON report still says what was found."""
    for name in (S1, S2):
        (journal / name).unlink()
    summary = verify_path(journal, now=NOW).to_dict()
    assert summary["verdict"] == "FAIL"
    assert summary["records"] == {"total": 0, "first_seq": None, "last_seq": None}
    assert summary["sessions"] == []
    assert summary["first_failure"]["message"] == (
        "head.json says session 2 was opened, but the last session file is 0: newer session "
        "files were deleted"
    )


def test_a_verifier_without_installed_metadata_reports_its_version_as_unknown(
    compact: dict[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    def not_installed(name: str) -> str:
        raise PackageNotFoundError(name)

    monkeypatch.setattr("importlib.metadata.version", not_installed)
    verifier = _verify(compact).to_dict()["verifier"]
    assert verifier == {"name": "penctl audit verify", "version": "unknown"}


def _open_third_session(journal: Path) -> str:
    """Session 3 opened and never closed: penctl still running, or stopped during it."""
    later = ManualClock(wall=START_WALL_NS + 86_400 * 10**9)
    with JournalWriter.open(journal, signer=fixed_signer(), clock=later) as writer:
        writer.open_session(session_open("P-0044"), OPERATOR)
    return "session-000003.jsonl"


def test_an_unnoted_kept_aside_file_is_incomplete_for_the_open_session_else_a_warning(
    journal: Path,
) -> None:
    """A torn tail kept aside but not yet noted by a RECOVERY record: the next start of penctl
    notes it if its session is the newest and still open; for a closed session it is a warning."""
    s3 = _open_third_session(journal)
    older, newest = f"{S2}.torn-7-0123456789ab", f"{s3}.torn-9-0123456789ab"
    for name in (older, newest):
        (journal / name).write_bytes(b'{"seq":')
    report = anchored(journal, now=NOW)
    assert report.verdict == "INCOMPLETE"
    assert report.kept_aside == [older, newest]
    assert [f for f in _found(report, "termination") if f[2] != s3] == [
        (
            "termination",
            "warning",
            older,
            None,
            None,
            f"kept-aside file {older} is not noted by any RECOVERY record",
        ),
        (
            "termination",
            "incomplete",
            newest,
            None,
            None,
            f"kept-aside file {newest} is not noted by any RECOVERY record; the next start of "
            "penctl notes it",
        ),
    ]


def test_a_kept_aside_file_no_recovery_notes_is_named_beside_the_one_it_does(
    tmp_path: Path,
) -> None:
    """A recovered session: its torn tail kept aside and noted; a second kept-aside file, which
    nothing notes, is named (a warning: the session was closed by the recovery)."""
    journal, clock = tmp_path / "j", ManualClock()
    with JournalWriter.open(journal, signer=fixed_signer(), clock=clock) as writer:
        writer.open_session(session_open(), OPERATOR)
    path = journal / S1
    path.write_bytes(path.read_bytes() + b'{"actor":"op:alice","da')
    with JournalWriter.open(journal, signer=fixed_signer(), clock=clock) as writer:
        assert writer.recovery is not None
        (noted,) = writer.recovery.kept_aside
    stray = f"{S1}.torn-999-ffffffffffff"  # sorts after the noted one
    (journal / stray).write_bytes(b"x")
    report = verify_path(journal, now=NOW)
    assert report.verdict == "INCOMPLETE"
    assert report.kept_aside == [noted.file, stray]
    assert _found(report, "termination") == [
        (
            "termination",
            "incomplete",
            S1,
            2,
            noted.offset,
            "session 1 was recovered after penctl stopped during it; 23 bytes of an unfinished "
            "record were kept aside",
        ),
        (
            "termination",
            "warning",
            stray,
            None,
            None,
            f"kept-aside file {stray} is not noted by any RECOVERY record",
        ),
    ]


def test_a_path_that_is_a_fifo_is_refused_without_being_opened(journal: Path) -> None:
    fifo = journal.parent / S1
    os.mkfifo(fifo)
    with pytest.raises(AuditInputError) as refused:
        verify_path(fifo, now=NOW)
    assert str(refused.value) == (
        f"{fifo} is not a regular file or a directory; give a journal directory or one "
        "session-NNNNNN.jsonl file"
    )


def test_a_session_file_swapped_for_a_directory_while_read_is_refused_naming_it(
    journal: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = journal / S1

    def swapped(self: Path) -> bytes:
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(self))

    monkeypatch.setattr(Path, "read_bytes", swapped)
    with pytest.raises(AuditInputError) as refused:
        verify_path(path, now=NOW)
    assert str(refused.value) == f"{path} is a directory, not a session file"


@pytest.mark.parametrize("names_the_file", [True, False], ids=["file-named", "unnamed"])
def test_s10_a_journal_file_that_cannot_be_read_is_an_error_naming_it_and_nothing_changed(
    journal: Path, monkeypatch: pytest.MonkeyPatch, names_the_file: bool
) -> None:
    """An OSError that names a file (a session file's read) names that file; one that names
    none (the directory's listing) names the path given."""
    failing = journal / HEAD if names_the_file else journal  # head.json is read first

    def read_fails(path: Path) -> bytes:
        raise OSError(errno.EIO, os.strerror(errno.EIO), *([str(path)] if names_the_file else []))

    monkeypatch.setattr("controller.journal.audit.verifier.read_regular", read_fails)
    with pytest.raises(JournalUnreadable) as unreadable:
        verify_path(journal, now=NOW)
    assert unreadable.value.path == failing
    assert str(unreadable.value).startswith(
        f"cannot read the journal at {unreadable.value.path}: Input/output error; nothing was "
        "verified or changed. "
    )


def test_deleting_the_journals_first_record_is_a_gap_named_as_record_1(
    compact: dict[str, bytes],
) -> None:
    report = _verify({**compact, S1: _encode(_records(compact[S1])[1:])})
    assert _found(report, "schema", "sequence", "links") == [
        ("schema", "fail", S1, 1, 0, "session starts with CHECKLIST, not SESSION_OPEN"),
        (
            "sequence",
            "fail",
            S1,
            1,
            0,
            "sequence gap: found 2 where 1 was due; record 1 is missing",
        ),
        (
            "links",
            "fail",
            S1,
            1,
            0,
            "first record of session 1 does not link to the genesis value (all zeros): a session "
            "was deleted, or records before it were cut or changed",
        ),
    ]


def test_a_deleted_first_session_file_is_named_before_a_change_in_the_next(
    compact: dict[str, bytes],
) -> None:
    changed = compact[S2].replace(b'"aborted"', b'"completed"')
    report = _verify({S2: changed, HEAD: compact[HEAD]}, witnesses=[_witness(compact)])
    assert _found(report) == [
        ("links", "fail", S1, None, None, f"session file {S1} is missing (deleted?)"),
        (
            "chain",
            "fail",
            S2,
            12,
            changed.index(b"\n") + 1,
            "content does not match its hash: the record was changed after it was written",
        ),
    ]


def test_a_deleted_middle_session_file_is_named_with_the_sessions_either_side(
    journal: Path,
) -> None:
    s3 = _open_third_session(journal)
    (journal / S2).unlink()
    report = anchored(journal, now=NOW)
    assert _found(report)[0] == (
        "links",
        "fail",
        S2,
        11,
        None,
        f"session file {S2} is missing (deleted?): session 2 is gone and session 3 does not "
        "follow session 1",
    )
    assert _found(report)[1][2] == s3


def test_a_fifo_in_place_of_head_json_fails_framing_and_is_not_called_missing(
    compact: dict[str, bytes],
) -> None:
    report = _with_not_regular({S1: compact[S1], S2: compact[S2]}, {HEAD: "a FIFO"}, head=None)
    assert report.dimensions["framing"].checked == 14  # head.json and the 13 lines
    assert [f[:5] for f in _found(report)] == [
        ("framing", "fail", HEAD, None, None),
        ("witness", "unprotected", None, None, None),
    ]
    assert _found(report)[0][5] == (
        "head.json is a FIFO, not a regular file; it was not opened. A journal holds only regular "
        "files: find out what replaced this one, and verify a copy of the journal taken from a "
        "backup"
    )


def test_without_a_pinned_key_the_report_names_no_pinned_key(compact: dict[str, bytes]) -> None:
    report = _verify(compact, pinned=None, witnesses=[_witness(compact)]).to_dict()
    assert (report["verdict"], report["pinned_key"]) == ("UNPROTECTED", None)


def test_a_fifo_in_place_of_a_kept_aside_file_is_counted_with_head_json_and_every_line(
    compact: dict[str, bytes],
) -> None:
    fifo = f"{S2}.torn-7-0123456789ab"
    report = _with_not_regular(
        {S1: compact[S1], S2: compact[S2]},
        {fifo: "a FIFO"},
        head=compact[HEAD],
        witnesses=[_witness(compact)],
    )
    framing = report.dimensions["framing"]
    assert framing.checked == 15  # the refused file, head.json and the 13 lines
    assert [(f.severity, f.file) for f in framing.findings] == [("fail", fifo)]


def test_an_unreadable_line_mid_session_is_one_fail_and_the_records_after_keep_their_numbers(
    compact: dict[str, bytes],
) -> None:
    """The line is named as the record due there (4); the count goes on past it, so record 5 is
    no gap, and record 5's link to the unreadable line cannot be checked, so it is no failure."""
    lines = compact[S1].splitlines(keepends=True)
    lines[3] = b"{not json\n"
    report = _verify({**compact, S1: b"".join(lines)}, witnesses=[_witness(compact)])
    assert _found(report) == [
        (
            "framing",
            "fail",
            S1,
            4,
            len(b"".join(lines[:3])),
            "unreadable line: not JSON (Expecting property name enclosed in double quotes at "
            "column 2)",
        )
    ]
    assert report.sessions[0].records == 9


def test_verified_at_is_utc_whatever_the_machines_time_zone(
    compact: dict[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The report's `Z` means UTC: an auditor in New York gets the same time as one in UTC."""
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        assert _verify(compact).to_dict()["verified_at"] == "2026-03-05T10:00:00Z"
    finally:
        monkeypatch.undo()
        time.tzset()


def test_a_record_deleted_right_after_an_unreadable_line_is_still_named_missing(
    compact: dict[str, bytes],
) -> None:
    """The unreadable line stands for record 3, so record 4 is due after it: record 5 there is a
    gap, the only sign of the deletion (the link past an unreadable line cannot be checked)."""
    lines = compact[S1].splitlines(keepends=True)
    lines[2] = b"{not json\n"
    del lines[3]
    report = _verify({**compact, S1: b"".join(lines)}, witnesses=[_witness(compact)])
    assert _found(report, "framing", "sequence", "chain") == [
        (
            "framing",
            "fail",
            S1,
            3,
            len(b"".join(lines[:2])),
            "unreadable line: not JSON (Expecting property name enclosed in double quotes at "
            "column 2)",
        ),
        (
            "sequence",
            "fail",
            S1,
            4,
            len(b"".join(lines[:3])),
            "sequence gap: found 5 where 4 was due; record 4 is missing",
        ),
    ]


def test_a_record_whose_seq_is_not_a_number_fails_schema_and_sequence_and_the_count_goes_on(
    compact: dict[str, bytes],
) -> None:
    """S9: record 5's `seq` made a string (and its hash made to match) is named as record 5 in
    both dimensions, not a crash; record 6 is due after it, so deleting record 6 is a gap."""
    records = _records(compact[S1])
    records[4]["seq"] = "5"
    records[4]["hash"] = record_hash(records[4])
    changed = _encode(records[:5] + records[6:])
    report = _verify({**compact, S1: changed}, witnesses=[_witness(compact)])
    at_5, at_7 = len(_encode(records[:4])), len(_encode(records[:5]))
    assert report.verdict == "FAIL"
    assert _found(report, "schema", "sequence", "chain") == [
        ("schema", "fail", S1, 5, at_5, "schema: seq: Input should be a valid integer"),
        ("sequence", "fail", S1, 5, at_5, "no usable sequence number"),
        (
            "sequence",
            "fail",
            S1,
            6,
            at_7,
            "sequence gap: found 7 where 6 was due; record 6 is missing",
        ),
        (
            "chain",
            "fail",
            S1,
            6,
            at_7,
            "does not link to the record before it (prev differs): a record was inserted, "
            "deleted or reordered here",
        ),
    ]


@pytest.mark.parametrize("seq", ["11", True, None])
def test_a_lone_session_files_first_record_without_a_usable_seq_is_named_by_offset_alone(
    journal: Path, seq: object
) -> None:
    """S9: with no file before it, nothing says which number was due, so the findings name
    the byte offset and no record; the records after it are read and counted."""
    records = _records((journal / S2).read_bytes())
    records[0]["seq"] = seq
    (journal / S2).write_bytes(_encode(records))
    report = verify_path(journal / S2, pinned_public_key=GENUINE_KEY, now=NOW)
    assert report.verdict == "FAIL"
    assert _found(report) == [
        ("schema", "fail", S2, None, 0, "schema: seq: Input should be a valid integer"),
        ("sequence", "fail", S2, None, 0, "no usable sequence number"),
        (
            "chain",
            "fail",
            S2,
            None,
            0,
            "content does not match its hash: the record was changed after it was written",
        ),
        (
            "schema",
            "fail",
            S2,
            12,
            len(_encode(records[:1])),
            "session starts with SESSION_CLOSE, not SESSION_OPEN",
        ),
    ]
    assert (report.sessions[0].records, report.sessions[0].first_seq) == (2, 12)


def test_a_changed_first_record_of_a_lone_session_file_is_named_by_its_own_number(
    journal: Path,
) -> None:
    path = journal / S2
    path.write_bytes(path.read_bytes().replace(b'"P-0043"', b'"P-0099"', 1))
    report = verify_path(path, pinned_public_key=GENUINE_KEY, now=NOW)
    assert report.verdict == "FAIL"
    assert _found(report, "chain") == [
        (
            "chain",
            "fail",
            S2,
            11,
            0,
            "content does not match its hash: the record was changed after it was written",
        )
    ]


def test_a_lone_session_file_reports_the_session_its_records_name(journal: Path) -> None:
    """A copy named after another number still reports the session its records say."""
    renamed = journal / "session-000007.jsonl"
    renamed.write_bytes((journal / S2).read_bytes())
    report = verify_path(renamed, pinned_public_key=GENUINE_KEY, now=NOW)
    assert [(s.number, s.file, s.records) for s in report.sessions] == [
        (2, "session-000007.jsonl", 3)
    ]


def test_a_lone_session_file_holding_only_its_open_is_incomplete(journal: Path) -> None:
    """A session file as penctl leaves it when stopped right after opening the session."""
    first = (journal / S2).read_bytes().splitlines(keepends=True)[0]
    (journal / S2).write_bytes(first)
    report = verify_path(journal / S2, pinned_public_key=GENUINE_KEY, now=NOW)
    assert report.verdict == "INCOMPLETE"
    assert [(s.number, s.records, s.first_seq, s.last_seq) for s in report.sessions] == [
        (2, 1, 11, 11)
    ]
    assert _found(report) == [
        (
            "termination",
            "incomplete",
            S2,
            12,
            len(first),
            "session 2 is not closed (no SESSION_CLOSE and checkpoint at its end): it is still "
            "running, or penctl stopped during it and has not started since",
        ),
    ]


def test_a_kept_aside_file_given_to_the_core_under_any_name_is_listed_as_unnoted(
    compact: dict[str, bytes],
) -> None:
    """verify_journal takes file names to bytes; a kept-aside name that names no session file
    belongs to no open session, so it is a warning."""
    report = _core(
        {S1: compact[S1], S2: compact[S2]},
        head=compact[HEAD],
        kept_aside={"notes.txt": b"x"},
        pinned_public_key=GENUINE_KEY,
        witnesses=[_witness(compact)],
    )
    assert report.verdict == "PASS"
    assert _found(report) == [
        (
            "termination",
            "warning",
            "notes.txt",
            None,
            None,
            "kept-aside file notes.txt is not noted by any RECOVERY record",
        )
    ]


def test_a_record_whose_hash_is_not_text_is_named_once_and_the_next_link_is_not_judged(
    compact: dict[str, bytes],
) -> None:
    """Record 4's `hash` made a number: a schema and a chain failure there. Nothing says what
    record 5 should link to, so record 5 is not blamed for it."""
    records = _records(compact[S1])
    records[3]["hash"] = 4
    report = _verify({**compact, S1: _encode(records)}, witnesses=[_witness(compact)])
    at_4 = len(_encode(records[:3]))
    assert [f[:5] for f in _found(report, "schema", "chain")] == [
        ("schema", "fail", S1, 4, at_4),
        ("chain", "fail", S1, 4, at_4),
    ]
    assert _found(report, "chain")[0][5] == (
        "content does not match its hash: the record was changed after it was written"
    )


def test_an_unreadable_first_line_of_a_lone_session_file_is_named_by_offset_and_reading_goes_on(
    journal: Path,
) -> None:
    """S9: nothing before it says which record was due, so the finding names byte 0 and no
    record; the records after it are read, and the session is seen not to start with its
    SESSION_OPEN."""
    lines = (journal / S2).read_bytes().splitlines(keepends=True)
    lines[0] = b"{not json\n"
    (journal / S2).write_bytes(b"".join(lines))
    report = verify_path(journal / S2, pinned_public_key=GENUINE_KEY, now=NOW)
    assert report.verdict == "FAIL"
    assert _found(report) == [
        (
            "framing",
            "fail",
            S2,
            None,
            0,
            "unreadable line: not JSON (Expecting property name enclosed in double quotes at "
            "column 2)",
        ),
        ("schema", "fail", S2, 12, 10, "session starts with SESSION_CLOSE, not SESSION_OPEN"),
    ]
    assert [(s.records, s.first_seq, s.last_seq) for s in report.sessions] == [(2, 12, 13)]


@pytest.mark.parametrize(
    ("tamper", "words"),
    [
        (Path.unlink, "noted here is missing: the evidence of a torn write was deleted"),
        (
            lambda kept: kept.write_bytes(kept.read_bytes().replace(b"da", b"DA")),
            "does not match its size and SHA-256 noted here: it was changed",
        ),
        (
            lambda kept: kept.write_bytes(kept.read_bytes() + b"\n"),
            "does not match its size and SHA-256 noted here: it was changed",
        ),
    ],
    ids=["deleted", "same size changed", "grown"],
)
def test_a_kept_aside_file_deleted_or_changed_is_a_fail_at_the_recovery_that_noted_it(
    tmp_path: Path, tamper: Callable[[Path], object], words: str
) -> None:
    """S7: the torn write's evidence, listed with its size and SHA-256 by the RECOVERY record,
    must stay as it was; the finding names that record and the file."""
    journal, kept = _recovered(tmp_path)
    tamper(kept)
    report = verify_path(journal, now=NOW)
    assert report.verdict == "FAIL"
    recovery = report.dimensions["termination"].findings[0]
    assert _found(report, "termination")[1:] == [
        (
            "termination",
            "fail",
            S1,
            2,
            recovery.offset,
            f"kept-aside file {kept.name} {words}",
        )
    ]


def test_in_a_directory_a_session_file_counts_only_under_its_own_name(
    compact: dict[str, bytes],
) -> None:
    """Given to the core under another name, session 1's file does not stand for session 1:
    session 1 is named missing, and its records are named as sitting in another file."""
    report = _core(
        {"received.jsonl": compact[S1], S2: compact[S2]},
        head=compact[HEAD],
        pinned_public_key=GENUINE_KEY,
        witnesses=[_witness(compact)],
    )
    assert report.verdict == "FAIL"
    assert [(s.number, s.file) for s in report.sessions] == [(0, "received.jsonl"), (2, S2)]
    assert _found(report, "links") == [
        (
            "links",
            "fail",
            S1,
            11,
            None,
            f"session file {S1} is missing (deleted?): session 1 is gone and session 2 does not "
            "follow session 0",
        )
    ]
    moved = _found(report, "sequence")
    assert len(moved) == 10 and moved[0] == (
        "sequence",
        "fail",
        "received.jsonl",
        1,
        0,
        "record says session 1 but sits in the file of session 0 (moved between files?)",
    )
