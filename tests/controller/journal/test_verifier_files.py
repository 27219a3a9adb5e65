"""A session file that is not a regular file, verified in this process (test_cli.py does it through
a real `penctl` process): the verifier must refuse to open it, fail the journal, and say where."""

from __future__ import annotations

import os
from pathlib import Path

from tests.controller.journal.helpers import anchored, write_compact_journal

S2 = "session-000002.jsonl"


def test_a_fifo_in_place_of_a_session_file_fails_framing_naming_the_file_and_its_first_record(
    tmp_path: Path,
) -> None:
    journal = tmp_path / "journal"
    write_compact_journal(journal)
    (journal / S2).unlink()
    os.mkfifo(journal / S2)  # opening it to read would block the auditor for ever

    report = anchored(journal)

    assert report.verdict == "FAIL"
    framing = report.dimensions["framing"]
    assert framing.status == "fail"
    assert framing.checked == 12  # the 10 lines of session 1, the refused file, head.json
    [refused] = framing.findings
    assert (refused.severity, refused.file, refused.seq, refused.offset) == ("fail", S2, 11, None)
    assert refused.message == (
        f"{S2} is a FIFO, not a regular file; it was not opened. A journal holds only regular "
        "files: find out what replaced this one, and verify a copy of the journal taken from a "
        "backup"
    )
    assert refused.where() == f"record 11, {S2}"
