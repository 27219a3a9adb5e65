"""Rollback, forks, re-signing, kept-aside evidence: caught against a witness or a pinned key,
and never a PASS without them (docs/journal.md §4, §7)."""

from __future__ import annotations

import errno
import json
import os
import shutil
from pathlib import Path

import pytest

from controller.cli import main
from controller.journal import ChecklistAnswer, JournalCorrupt, JournalWriter, WitnessUnreadable
from controller.journal.audit.anchors import WitnessHead, load_witness
from controller.journal.audit.verifier import VerificationReport, verify_path
from controller.journal.witness import CheckpointPolicy
from tests.controller.journal.helpers import (
    OPERATOR,
    ManualClock,
    fixed_signer,
    session_open,
    write_public_key,
    write_treatment,
)

GENUINE = fixed_signer().public_key_hex


def _writer(directory: Path, witness: Path, clock: ManualClock, **options) -> JournalWriter:
    return JournalWriter.open(
        directory, signer=fixed_signer(), clock=clock, witness=witness, **options
    )


def _verify(directory: Path, *witnesses: WitnessHead, key: str | None = GENUINE):
    return verify_path(directory, pinned_public_key=key, witnesses=list(witnesses))


def _failure(report: VerificationReport, dimension: str) -> str:
    assert report.verdict == "FAIL", report.verdict
    found = [f.message for f in report.dimensions[dimension].findings if f.severity == "fail"]
    assert found, {n: d.status for n, d in report.dimensions.items()}
    return found[0]


@pytest.fixture
def two_sessions(tmp_path: Path) -> tuple[Path, Path, bytes]:
    """Two sessions written with a witness; also head.json as it was after session 1."""
    directory, witness, clock = tmp_path / "j", tmp_path / "witness", ManualClock()
    with _writer(directory, witness, clock) as writer:
        write_treatment(writer, clock)
        old_head = (directory / "head.json").read_bytes()
        clock.advance(3600)
        write_treatment(writer, clock, patient="P-0043")
    assert (witness / "head.json").read_bytes() == (directory / "head.json").read_bytes()
    return directory, witness, old_head


def test_an_intact_journal_passes_only_with_a_pinned_key_and_a_witness(two_sessions) -> None:
    directory, witness, _ = two_sessions
    assert _verify(directory, load_witness(str(witness))).verdict == "PASS"
    unwitnessed = _verify(directory)
    assert unwitnessed.verdict == "UNPROTECTED" and unwitnessed.exit_code == 4
    assert unwitnessed.dimensions["witness"].status == "unprotected"
    unpinned = _verify(directory, load_witness(str(witness)), key=None)
    assert unpinned.verdict == "UNPROTECTED"
    assert "key not pinned" in unpinned.dimensions["key"].findings[0].message


def test_a_rollback_removing_whole_sessions_fails_against_the_witness(two_sessions) -> None:
    """An older, genuinely signed head.json put back and the newer session deleted: consistent in
    itself, so only the witness can tell."""
    directory, witness, old_head = two_sessions
    os.remove(directory / "session-000002.jsonl")
    (directory / "head.json").write_bytes(old_head)
    alone = _verify(directory)
    assert alone.verdict == "UNPROTECTED" and alone.first_failure is None
    message = _failure(_verify(directory, load_witness(str(witness))), "witness")
    assert "behind its witness" in message and "whole sessions were removed" in message


ROLLED_BACK_POLICY = CheckpointPolicy(records=5, seconds=3600)


def _rolled_back_within_a_session(tmp_path: Path) -> tuple[Path, Path]:
    """One session signed every 5 records (checkpoints 6, 12 and the closing 17), written with a
    witness; then the head after checkpoint 6 put back and everything after it cut."""
    directory, witness, clock = tmp_path / "j", tmp_path / "witness", ManualClock()
    with _writer(directory, witness, clock, checkpoints=ROLLED_BACK_POLICY) as writer:
        writer.open_session(session_open(), OPERATOR)
        for index in range(6):
            writer.append(ChecklistAnswer(item_id=f"q{index}", question="ok?", answer="yes"), "x")
        path = directory / "session-000001.jsonl"
        cut, old_head = len(path.read_bytes()), (directory / "head.json").read_bytes()
        for index in range(6, 12):
            writer.append(ChecklistAnswer(item_id=f"q{index}", question="ok?", answer="yes"), "x")
        writer.close_session("completed", "done", OPERATOR)
    records = [json.loads(line) for line in path.read_bytes().splitlines()]
    assert [r["seq"] for r in records if r["type"] == "CHECKPOINT"] == [6, 12, 17]
    path.write_bytes(path.read_bytes()[:cut])
    (directory / "head.json").write_bytes(old_head)
    return directory, witness


def test_a_rollback_within_a_session_fails_against_the_witness(tmp_path: Path) -> None:
    """Signed every 5 records: the head after a mid-session checkpoint put back and everything
    after that checkpoint cut reads as a session still running (INCOMPLETE) on its own."""
    directory, witness = _rolled_back_within_a_session(tmp_path)
    assert _verify(directory).verdict == "INCOMPLETE"
    message = _failure(_verify(directory, load_witness(str(witness))), "witness")
    assert "behind its witness" in message and "ends at record 8" in message


def test_a_fork_fails_against_the_witness(tmp_path: Path) -> None:
    """A copy restored from a backup after session 1 and written on differently."""
    origin, witness, clock = tmp_path / "j", tmp_path / "witness", ManualClock()
    with _writer(origin, witness, clock) as writer:
        write_treatment(writer, clock)
    fork = tmp_path / "fork"
    shutil.copytree(origin, fork)
    with _writer(origin, witness, ManualClock(wall=clock.wall, mono=clock.mono)) as writer:
        write_treatment(writer, clock, patient="P-0043")
    with JournalWriter.open(fork, signer=fixed_signer(), clock=clock) as writer:
        write_treatment(writer, clock, patient="P-9999")
    assert _verify(fork).verdict == "UNPROTECTED"
    message = _failure(_verify(fork, load_witness(str(witness))), "witness")
    assert "forked from its witness" in message
    fingerprint = load_witness(str(witness)).source
    paper = load_witness(_verify(origin).head_fingerprint or "")
    assert "forked" in _failure(_verify(fork, paper), "witness"), fingerprint
    assert _verify(origin, paper).verdict == "PASS"


def test_a_journal_re_signed_with_another_key_fails_against_the_trust_store(
    two_sessions, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    """`penctl audit trust` enrols the key once; verify then pins to it without --public-key."""
    directory, witness, _ = two_sessions
    monkeypatch.setenv("PENCTL_TRUST_DIR", str(tmp_path / "trust"))
    forged, clock = tmp_path / "forged", ManualClock()
    with JournalWriter.open(forged, signer=fixed_signer(seed=99), clock=clock) as writer:
        write_treatment(writer, clock)
        clock.advance(3600)
        write_treatment(writer, clock, patient="P-0043")
    assert main(["audit", "verify", str(forged)]) == 4
    assert "key not pinned" in capsys.readouterr().out
    key = write_public_key(tmp_path / "clinic.pub.pem")
    assert main(["audit", "trust", str(key)]) == 0
    assert fixed_signer().key_id in capsys.readouterr().out
    assert main(["audit", "verify", str(directory), "--witness", str(witness)]) == 0
    assert "PASS" in capsys.readouterr().out
    assert main(["audit", "verify", str(forged), "--json"]) == 1
    document = json.loads(capsys.readouterr().out)
    assert document["dimensions"]["key"]["status"] == "fail"
    assert "not by the pinned key" in document["first_failure"]["message"]
    assert main(["audit", "verify", str(forged), "--witness", str(witness)]) == 1
    assert "re-signed with another key" in capsys.readouterr().out


def test_a_head_json_edited_by_hand_fails_its_signature(two_sessions) -> None:
    directory, _, _ = two_sessions
    head = json.loads((directory / "head.json").read_bytes())
    head["last_session"] = 1
    (directory / "head.json").write_bytes(
        json.dumps(head, sort_keys=True, separators=(",", ":")).encode() + b"\n"
    )
    message = _failure(_verify(directory), "checkpoints")
    assert "head.json is not signed by the journal's key" in message


def _recovered(tmp_path: Path) -> tuple[Path, Path]:
    """A session torn by a crash and recovered: its torn tail kept aside and noted."""
    directory, clock = tmp_path / "j", ManualClock()
    with JournalWriter.open(directory, signer=fixed_signer(), clock=clock) as writer:
        writer.open_session(session_open(), OPERATOR)
    path = directory / "session-000001.jsonl"
    path.write_bytes(path.read_bytes() + b'{"actor":"op:alice","da')
    with JournalWriter.open(directory, signer=fixed_signer(), clock=clock) as writer:
        assert writer.recovery is not None
        (kept,) = writer.recovery.kept_aside
    assert _verify(directory).verdict == "INCOMPLETE"
    return directory, directory / kept.file


def test_a_deleted_kept_aside_file_fails(tmp_path: Path) -> None:
    directory, kept = _recovered(tmp_path)
    kept.unlink()
    for report in (_verify(directory), _verify(directory, key=None)):
        message = _failure(report, "termination")
        assert f"kept-aside file {kept.name} noted here is missing" in message


def test_an_altered_kept_aside_file_fails(tmp_path: Path) -> None:
    directory, kept = _recovered(tmp_path)
    kept.write_bytes(kept.read_bytes().replace(b"da", b"DA"))
    message = _failure(_verify(directory, key=None), "termination")
    assert "does not match its size and SHA-256" in message


def test_a_session_is_signed_every_n_records_and_every_m_seconds(tmp_path: Path) -> None:
    """The default policy: an open session's unsigned tail is at most 64 records or 60 s."""
    directory, clock = tmp_path / "j", ManualClock()
    with JournalWriter.open(directory, signer=fixed_signer(), clock=clock) as writer:
        writer.open_session(session_open(), OPERATOR)
        for index in range(130):
            writer.append(ChecklistAnswer(item_id=f"q{index}", question="ok?", answer="yes"), "x")
        clock.advance(61)
        writer.append(ChecklistAnswer(item_id="late", question="ok?", answer="yes"), "x")
        assert writer.head_fingerprint.startswith(f"{writer.last_seq}:")
    lines = (directory / "session-000001.jsonl").read_bytes().splitlines()
    records = [json.loads(line) for line in lines]
    signed = [r["seq"] for r in records if r["type"] == "CHECKPOINT"]
    # every 64 unsigned records (SESSION_OPEN and checkpoints count), then 61 s later
    assert signed == [65, 130, 135]
    assert all(r["actor"] == "system" for r in records if r["type"] == "CHECKPOINT")


def test_s7_a_session_is_signed_once_60_s_have_passed_since_the_last_checkpoint(
    tmp_path: Path,
) -> None:
    """The 60 s bound is inclusive: an append at exactly 60 s on the monotonic clock after the
    session's opening is followed by a checkpoint, one a millisecond sooner is not."""
    directory, clock = tmp_path / "j", ManualClock()
    with JournalWriter.open(directory, signer=fixed_signer(), clock=clock) as writer:
        writer.open_session(session_open(), OPERATOR)
        clock.advance(59.999)
        writer.append(ChecklistAnswer(item_id="a", question="ok?", answer="yes"), "x")
        clock.advance(0.001)
        writer.append(ChecklistAnswer(item_id="b", question="ok?", answer="yes"), "x")
    lines = (directory / "session-000001.jsonl").read_bytes().splitlines()
    assert [json.loads(line)["type"] for line in lines[1:]] == [
        "CHECKLIST",
        "CHECKLIST",
        "CHECKPOINT",
    ]


def test_a_witness_that_cannot_be_written_never_stops_the_journal(tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("a file where the witness directory should be")
    clock = ManualClock()
    with _writer(tmp_path / "j", blocked, clock) as writer:
        writer.open_session(session_open(), OPERATOR)
        assert writer.witness_error is not None and "reconnect" in writer.witness_error
        blocked.unlink()  # the medium is back: the next head reaches it, and the warning goes
        writer.close_session("completed", "done", OPERATOR)
        assert writer.fault is None and writer.witness_error is None
    assert (blocked / "head.json").read_bytes() == (tmp_path / "j" / "head.json").read_bytes()
    assert _verify(tmp_path / "j").first_failure is None


_SAYS = {
    "garbage": "not a penctl head",
    "truncated": "not a penctl head",
    "empty": "not a penctl head",
    "a directory": "is a directory, not a regular file",
    "an I/O error": "Input/output error",
}


@pytest.mark.parametrize("damage", list(_SAYS))
def test_s7_a_witness_copy_that_cannot_be_read_refuses_the_journal_and_is_kept(
    two_sessions, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, damage: str
) -> None:
    """A damaged or replaced witness copy (a symbolic link is followed, as everywhere in the
    journal) cannot show that the journal was not rolled back; were it passed over, the next
    head would overwrite it and the evidence with it. So the journal is not opened: the error
    names the copy and what to do, and neither it nor the journal is touched."""
    directory, witness, _ = two_sessions
    copy = witness / "head.json"
    genuine = copy.read_bytes()
    if damage == "garbage":
        copy.write_bytes(b"\x00\xff not a head\n")
    elif damage == "truncated":
        copy.write_bytes(genuine[: len(genuine) // 2])
    elif damage == "empty":
        copy.write_bytes(b"")
    elif damage == "a directory":
        copy.unlink()
        copy.mkdir()
    else:  # a USB stick pulled while mounted, a share gone
        from controller.journal import witness as witness_module

        def failing(path: Path) -> bytes:
            raise OSError(errno.EIO, os.strerror(errno.EIO), str(path))

        monkeypatch.setattr(witness_module, "read_regular", failing)
    before = copy.read_bytes() if copy.is_file() else None
    journal = {p.name: p.read_bytes() for p in directory.iterdir() if p.is_file()}
    with pytest.raises(WitnessUnreadable) as refused:
        _writer(directory, witness, ManualClock())
    words = str(refused.value)
    assert words.startswith(f"the witness copy {copy} cannot be read (")
    assert "nothing was written and no session can start" in words
    assert f"cannot show that the journal {directory} was not rolled back" in words
    assert "Reconnect or check the witness medium" in words
    assert _SAYS[damage] in words
    assert (copy.read_bytes() if copy.is_file() else None) == before
    assert {p.name: p.read_bytes() for p in directory.iterdir() if p.is_file()} == journal


def test_a_witness_medium_not_plugged_in_is_no_error_and_receives_the_next_head(
    two_sessions, tmp_path: Path
) -> None:
    directory, _, _ = two_sessions
    absent = tmp_path / "unplugged"
    clock = ManualClock()
    with _writer(directory, absent, clock) as writer:
        assert writer.witness_error is None
        write_treatment(writer, clock, patient="P-0044")
    assert (absent / "head.json").read_bytes() == (directory / "head.json").read_bytes()


def test_bad_witness_input_is_a_usage_error(two_sessions, capsys) -> None:
    directory, _, _ = two_sessions
    for given, says in (
        ("/nowhere/head.json", "does not exist"),
        (str(directory / "session-000001.jsonl"), "is not a penctl head"),
    ):
        assert main(["audit", "verify", str(directory), "--witness", given]) == 2
        err = capsys.readouterr().err
        assert says in err and "Traceback" not in err


def test_the_writer_refuses_to_continue_a_journal_behind_or_forked_from_its_witness(
    two_sessions, tmp_path: Path
) -> None:
    """Restored from an older copy and started again: writing on would bury the loss."""
    directory, witness, old_head = two_sessions
    rolled_back = tmp_path / "rolled-back"
    shutil.copytree(directory, rolled_back)
    os.remove(rolled_back / "session-000002.jsonl")
    (rolled_back / "head.json").write_bytes(old_head)
    with pytest.raises(JournalCorrupt, match="behind its witness") as behind:
        _writer(rolled_back, witness, ManualClock())
    assert behind.value.problem.endswith("(rolled back, or restored from an older copy)")
    forked = tmp_path / "forked"
    shutil.copytree(rolled_back, forked)
    clock = ManualClock()
    with JournalWriter.open(forked, signer=fixed_signer(), clock=clock) as writer:
        write_treatment(writer, clock, patient="P-9999")
        write_treatment(writer, clock, patient="P-9998")  # past the witness's record number
    with pytest.raises(JournalCorrupt, match="forked from its witness") as fork:
        _writer(forked, witness, ManualClock())
    assert fork.value.problem.endswith("(restored from an older copy and written on?)")
    with _writer(directory, witness, ManualClock()) as writer:  # the genuine one continues
        assert writer.session is None and writer.witness_error is None


def test_s7_the_writer_refuses_a_journal_cut_back_within_its_last_session(tmp_path: Path) -> None:
    """Behind the witness on the record count alone (the same last session, fewer records), with
    the session left open so recovery must close it: the witness is checked before recovery
    writes, so it still holds what it saw and the journal is refused as behind it (recovery's
    new head used to overwrite the witness's copy, and the rolled-back journal opened)."""
    directory, witness = _rolled_back_within_a_session(tmp_path)
    seen = (witness / "head.json").read_bytes()
    for _ in range(2):  # and again: the refusal changed nothing
        with pytest.raises(JournalCorrupt, match="behind its witness") as behind:
            _writer(directory, witness, ManualClock(), checkpoints=ROLLED_BACK_POLICY)
        assert "checkpoint record 17 of session 1" in behind.value.problem
        assert (witness / "head.json").read_bytes() == seen


def test_s7_the_writer_refuses_an_emptied_journal_directory_its_witness_has_seen(
    two_sessions,
) -> None:
    """Every file of the journal deleted, then penctl started again: a fresh journal would hand
    its empty head to the witness and erase what the witness saw. It is refused instead, and
    the witness keeps its copy."""
    directory, witness, _ = two_sessions
    seen = (witness / "head.json").read_bytes()
    for path in directory.iterdir():
        path.unlink()
    with pytest.raises(JournalCorrupt, match="behind its witness"):
        _writer(directory, witness, ManualClock())
    assert (witness / "head.json").read_bytes() == seen
