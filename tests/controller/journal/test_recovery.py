"""S7: opening a journal after a crash (controller/journal/recovery.py), as an auditor reads it.

What recovery writes (the RECOVERY note, the faulted SESSION_CLOSE, the checkpoint, all by
"system"), which kept-aside tails it notes, that it never writes on over damage it cannot explain,
and that a storage failure while recovering latches the journal naming the file and the record.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from controller.journal import JournalCorrupt, JournalFault, JournalWriter, ParamsApplied
from controller.journal.format import HEAD_FILE, canonical_json
from controller.journal.witness import CheckpointPolicy
from tests.controller.journal.helpers import (
    AT_CLOSE_ONLY,
    OPERATOR,
    ManualClock,
    fixed_signer,
    session_open,
    write_compact_journal,
)

SESSION_1 = "session-000001.jsonl"
APPLIED = ParamsApplied(
    param_version=1, area="forehead", depth_um=500, speed_sps=110, matches_request=True
)
RECOVERY_NOTE = (
    "penctl stopped during this session (crash or power loss); recovered on the next start"
)
CLOSE_REASON = "interrupted: penctl stopped before the session was closed; closed on recovery"


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_bytes().splitlines()]


def _open(directory: Path, checkpoints: CheckpointPolicy = AT_CLOSE_ONLY) -> JournalWriter:
    return JournalWriter.open(
        directory, signer=fixed_signer(), clock=ManualClock(), checkpoints=checkpoints
    )


def _crashed_session(directory: Path, records: int = 3) -> None:
    """A session left open, as after a crash: no SESSION_CLOSE, no closing checkpoint."""
    writer = _open(directory)
    writer.open_session(session_open(), OPERATOR)
    for _ in range(records):
        writer.append(APPLIED, "pen")
    writer.close()


def _tear(path: Path, keep: int) -> bytes:
    """Cut the file's last record `keep` bytes in, as a crash mid-write would; returns the tail."""
    data = path.read_bytes()
    last_start = data.rindex(b"\n", 0, len(data) - 1) + 1
    path.write_bytes(data[: last_start + keep])
    return data[last_start : last_start + keep]


def test_s7_an_interrupted_session_is_closed_as_faulted_by_system_in_these_words(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "j"
    _crashed_session(directory)
    before = _lines(directory / SESSION_1)
    with _open(directory) as writer:
        assert writer.recovery is not None and writer.recovery.closed_as_faulted
    after = _lines(directory / SESSION_1)[len(before) :]
    assert [(r["type"], r["actor"]) for r in after] == [
        ("RECOVERY", "system"),
        ("SESSION_CLOSE", "system"),
        ("CHECKPOINT", "system"),
    ]
    recovery, close, _ = after
    assert recovery["data"]["note"] == RECOVERY_NOTE
    assert recovery["data"]["last_good_seq"] == before[-1]["seq"]
    assert close["data"] == {"outcome": "faulted", "reason": CLOSE_REASON}


def test_s7_a_second_crash_during_recovery_notes_only_the_tail_no_recovery_noted_yet(
    tmp_path: Path,
) -> None:
    """Recovery kept tail A aside and noted it, then penctl died writing its checkpoint (tail B,
    head.json not yet rewritten): the next recovery notes B alone, and the session was closed."""
    directory = tmp_path / "j"
    _crashed_session(directory)
    _tear(directory / SESSION_1, keep=30)
    head = (directory / HEAD_FILE).read_bytes()
    with _open(directory) as writer:
        assert writer.recovery is not None
        [first_tail] = [item.file for item in writer.recovery.kept_aside]
    _tear(directory / SESSION_1, keep=40)  # the recovery's own checkpoint, torn
    (directory / HEAD_FILE).write_bytes(head)

    with _open(directory) as writer:
        report = writer.recovery
    assert report is not None and not report.closed_as_faulted
    [second_tail] = [item.file for item in report.kept_aside]
    assert second_tail != first_tail
    assert "after it was closed" in report.message
    recoveries = [r for r in _lines(directory / SESSION_1) if r["type"] == "RECOVERY"]
    noted = [[item["file"] for item in r["data"]["kept_aside"]] for r in recoveries]
    assert noted == [[first_tail], [second_tail]]
    closes = [r for r in _lines(directory / SESSION_1) if r["type"] == "SESSION_CLOSE"]
    assert len(closes) == 1


def test_s7_a_crash_that_left_the_first_session_file_empty_is_recovered(tmp_path: Path) -> None:
    directory = tmp_path / "j"
    with _open(directory):
        pass
    head = (directory / HEAD_FILE).read_bytes()
    _crashed_session(directory)
    (directory / SESSION_1).write_bytes(b"")
    (directory / HEAD_FILE).write_bytes(head)
    with _open(directory) as writer:
        assert writer.recovery is not None and writer.recovery.session == 1
    records = _lines(directory / SESSION_1)
    assert [r["type"] for r in records] == ["RECOVERY", "SESSION_CLOSE", "CHECKPOINT"]
    assert records[0]["seq"] == 1 and records[0]["data"]["last_good_seq"] == 0


def test_s7_head_json_left_at_an_earlier_checkpoint_is_brought_to_the_closing_one(
    tmp_path: Path,
) -> None:
    """penctl died after the session's closing checkpoint was durable, before head.json named it."""
    directory = tmp_path / "j"
    every_two = CheckpointPolicy(records=2, seconds=1_000_000)
    with _open(directory, every_two) as writer:
        writer.open_session(session_open(), OPERATOR)
        writer.append(APPLIED, "pen")
        writer.append(APPLIED, "pen")
        stale = (directory / HEAD_FILE).read_bytes()
        writer.close_session("completed", "done", OPERATOR)
    fresh = json.loads((directory / HEAD_FILE).read_bytes())
    assert json.loads(stale)["checkpoint"] != fresh["checkpoint"]
    (directory / HEAD_FILE).write_bytes(stale)

    with _open(directory, every_two) as writer:
        assert writer.recovery is None
    assert json.loads((directory / HEAD_FILE).read_bytes())["checkpoint"] == fresh["checkpoint"]


def test_s7_a_cut_tail_head_json_vouches_for_says_where_the_session_ends_and_why(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "j"
    write_compact_journal(directory)
    second = directory / "session-000002.jsonl"
    data = second.read_bytes()
    first_end = data.index(b"\n") + 1
    second.write_bytes(data[:first_end])
    with pytest.raises(JournalCorrupt) as caught:
        _open(directory)
    assert caught.value.offset == first_end and caught.value.path == second
    assert caught.value.problem == (
        "is missing or changed, though head.json names it as the last signed checkpoint: "
        "the session's tail was cut"
    )


def test_s7_a_session_file_swapped_for_another_history_of_the_same_length_is_corruption(
    tmp_path: Path,
) -> None:
    """Same key, same record numbers, other contents: head.json's checkpoint is not in it."""
    ours, other = tmp_path / "ours", tmp_path / "other"
    for directory, patient in ((ours, "P-0042"), (other, "P-0043")):
        with _open(directory) as writer:
            writer.open_session(session_open(patient), OPERATOR)
            writer.append(APPLIED, "pen")
            writer.close_session("completed", "done", OPERATOR)
    shutil.copy2(other / SESSION_1, ours / SESSION_1)
    before = {p.name: p.read_bytes() for p in ours.iterdir()}
    with pytest.raises(JournalCorrupt, match="the session's tail was cut"):
        _open(ours)
    assert {p.name: p.read_bytes() for p in ours.iterdir()} == before


def _failing(monkeypatch: pytest.MonkeyPatch, name: str, when: Callable[..., bool]) -> OSError:
    """os.`name` fails with EIO when `when(*args)` (the storage failing under recovery)."""
    real = getattr(os, name)
    error = OSError(errno.EIO, os.strerror(errno.EIO))

    def call(*args: Any, **kwargs: Any) -> Any:
        if when(*args):
            raise error
        return real(*args, **kwargs)

    monkeypatch.setattr(os, name, call)
    return error


def test_s7_storage_failing_as_recovery_cuts_a_torn_tail_latches_naming_file_and_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = tmp_path / "j"
    _crashed_session(directory)
    last_good = _lines(directory / SESSION_1)[-2]["seq"]
    _tear(directory / SESSION_1, keep=30)
    error = _failing(monkeypatch, "ftruncate", lambda fd, length: True)
    with pytest.raises(JournalFault) as caught:
        _open(directory)
    assert caught.value.path == directory / SESSION_1
    assert caught.value.seq == last_good + 1 and caught.value.cause is error


def test_s7_storage_failing_as_recovery_reopens_the_session_latches_naming_file_and_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = tmp_path / "j"
    _crashed_session(directory)
    last_good = _lines(directory / SESSION_1)[-1]["seq"]
    session = directory / SESSION_1
    error = _failing(
        monkeypatch,
        "open",
        lambda path, flags, *rest: Path(path) == session and bool(flags & os.O_APPEND),
    )
    with pytest.raises(JournalFault) as caught:
        _open(directory)
    assert caught.value.path == session
    assert caught.value.seq == last_good + 1 and caught.value.cause is error


# ---- what recovery reads back of the earlier sessions (readback.py) -----------------------------


def _closed_sessions(directory: Path, count: int) -> None:
    with _open(directory) as writer:
        for number in range(count):
            writer.open_session(session_open(f"P-{number:04d}"), OPERATOR)
            writer.close_session("completed", "done", OPERATOR)


def _second_session_crashed_while_opening(directory: Path) -> Path:
    """Session 1 closed and signed; session 2 open (a crash), head.json still naming session 1's
    closing checkpoint. Returns session 1's file."""
    _closed_sessions(directory, 1)
    head = (directory / HEAD_FILE).read_bytes()
    _crashed_session(directory, records=1)
    (directory / HEAD_FILE).write_bytes(head)
    return directory / SESSION_1


@pytest.mark.parametrize(
    ("sessions", "removed", "named"),
    [
        (2, [1, 2], "none"),
        (7, [4], "1, 2, 3, 5, 6, 7"),
        (8, [4], "1..8"),
    ],
)
def test_s7_session_files_missing_from_the_sequence_are_named_in_the_refusal(
    tmp_path: Path, sessions: int, removed: list[int], named: str
) -> None:
    directory = tmp_path / "j"
    _closed_sessions(directory, sessions)
    for number in removed:
        (directory / f"session-{number:06d}.jsonl").unlink()
    with pytest.raises(JournalCorrupt) as caught:
        _open(directory)
    assert caught.value.path == directory / HEAD_FILE
    assert caught.value.seq is None and caught.value.offset == 0
    assert caught.value.problem == f"names session {sessions} but the session files are {named}"


def test_s7_an_earlier_session_file_torn_at_its_end_is_corruption_naming_where(
    tmp_path: Path,
) -> None:
    """Only the newest session can have been torn by a crash: an earlier one cut short was cut."""
    directory = tmp_path / "j"
    first = _second_session_crashed_while_opening(directory)
    data = first.read_bytes()
    last_start = data.rindex(b"\n", 0, len(data) - 1) + 1
    head = json.loads((directory / HEAD_FILE).read_bytes())
    # head.json's checkpoint is intact; the tear comes after it (a later hand-over's torn write)
    first.write_bytes(data + data[last_start : last_start + 20])
    assert head["checkpoint"]["session"] == 1
    with pytest.raises(JournalCorrupt) as caught:
        _open(directory)
    assert caught.value.path == first and caught.value.offset == len(data)
    assert caught.value.problem == "ends without a complete record"


def test_s7_an_earlier_session_ending_in_an_unreadable_line_is_corruption_naming_it(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "j"
    first = _second_session_crashed_while_opening(directory)
    data = first.read_bytes()
    first.write_bytes(data + b"{not json}\n")
    with pytest.raises(JournalCorrupt) as caught:
        _open(directory)
    assert caught.value.path == first and caught.value.offset == len(data)
    assert caught.value.problem.startswith("is unreadable (")


def test_s7_a_changed_checkpoint_head_json_names_in_an_earlier_session_is_corruption(
    tmp_path: Path,
) -> None:
    """Its recorded hash kept, its signature altered: found by seq and hash, refused by content."""
    directory = tmp_path / "j"
    first = _second_session_crashed_while_opening(directory)
    data = first.read_bytes()
    at = data.rindex(b'"signature":"') + len(b'"signature":"')
    flipped = b"0" if data[at : at + 1] != b"0" else b"1"
    first.write_bytes(data[:at] + flipped + data[at + 1 :])
    vouched = json.loads((directory / HEAD_FILE).read_bytes())["checkpoint"]
    before = {p.name: p.read_bytes() for p in directory.iterdir()}
    with pytest.raises(JournalCorrupt) as caught:
        _open(directory)
    assert caught.value.path == first and caught.value.seq == vouched["seq"]
    assert caught.value.offset == len(data)
    assert caught.value.problem == (
        "is missing or changed, though head.json names it as the last signed checkpoint"
    )
    assert {p.name: p.read_bytes() for p in directory.iterdir()} == before


def test_the_checkpoint_head_json_names_is_found_past_an_unreadable_earlier_line(
    tmp_path: Path,
) -> None:
    """Opening looks only for that checkpoint in an earlier session (the whole file is the
    verifier's to judge, `penctl audit verify`): a damaged line before it does not hide it."""
    directory = tmp_path / "j"
    first = _second_session_crashed_while_opening(directory)
    data = first.read_bytes()
    first_end = data.index(b"\n") + 1
    first.write_bytes(b"{" + b"x" * (first_end - 2) + b"\n" + data[first_end:])
    with _open(directory) as writer:
        assert writer.recovery is not None and writer.recovery.session == 2


def test_s10_a_directory_in_place_of_the_session_file_is_refused_saying_what_to_do(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "j"
    _crashed_session(directory)
    (directory / SESSION_1).unlink()
    (directory / SESSION_1).mkdir()
    with pytest.raises(JournalCorrupt) as caught:
        _open(directory)
    assert caught.value.path == directory / SESSION_1 and caught.value.offset is None
    assert caught.value.problem == (
        "is a directory, not a regular file; it was not opened. A journal holds only regular "
        "files: find out what replaced this one"
    )


def test_s7_a_record_spliced_in_from_elsewhere_is_named_by_number_and_byte(
    tmp_path: Path,
) -> None:
    """Its own hash is right and its number follows, but `prev` names another record."""
    from controller.journal.format import canonical_json, record_hash

    directory = tmp_path / "j"
    _crashed_session(directory)
    path = directory / SESSION_1
    records = _lines(path)
    records[-1]["prev"] = "ab" * 32
    records[-1]["hash"] = record_hash(records[-1])
    lines = [canonical_json(r) + b"\n" for r in records]
    path.write_bytes(b"".join(lines))
    with pytest.raises(JournalCorrupt) as caught:
        _open(directory)
    assert caught.value.seq == records[-1]["seq"]
    assert caught.value.offset == sum(len(line) for line in lines[:-1])
    assert caught.value.problem == f"does not follow record {records[-2]['seq']}"


def test_s7_a_record_altered_before_the_tail_is_named_by_number_and_byte(tmp_path: Path) -> None:
    directory = tmp_path / "j"
    _crashed_session(directory)
    path = directory / SESSION_1
    data = path.read_bytes()
    second = data.index(b"\n") + 1
    at = data.index(b'"depth_um":500', second) + len(b'"depth_um":')
    path.write_bytes(data[:at] + b"7" + data[at + 1 :])
    with pytest.raises(JournalCorrupt) as caught:
        _open(directory)
    assert caught.value.seq == 2 and caught.value.offset == second
    assert caught.value.problem == "does not match its hash"


# ---- the key in force (recovery's _follow_keys, with keychain.py) -----------------------------

OTHER, NEW = fixed_signer(seed=9), fixed_signer(seed=8)


def _signed_once(directory: Path) -> tuple[Path, bytes]:
    """A session left open after one checkpoint; returns its file and its bytes."""
    writer = _open(directory)
    writer.open_session(session_open(), OPERATOR)
    writer.append(APPLIED, "pen")
    writer.checkpoint(OPERATOR)
    writer.close()
    path = directory / SESSION_1
    return path, path.read_bytes()


def _chained(last: dict[str, Any], make: Callable[[int, str], Any]) -> dict[str, Any]:
    """The record after `last`, with the data `make(last seq, last hash)` returns, chained and
    hashed as the writer would (a forgery that only the key checks can catch)."""
    from controller.journal.format import record_hash

    forged = dict(last, seq=last["seq"] + 1, prev=last["hash"])
    forged["data"] = make(last["seq"], last["hash"]).model_dump(mode="json")
    forged["type"] = type(make(last["seq"], last["hash"])).record_type
    forged["hash"] = record_hash(forged)
    return forged


def test_s7_a_checkpoint_by_another_key_in_the_newest_session_is_named_by_number_and_byte(
    tmp_path: Path,
) -> None:
    """No KEY_HANDOVER, yet the next checkpoint is another key's: the chain of keys breaks there."""
    from controller.journal.keychain import short

    directory = tmp_path / "j"
    path, data = _signed_once(directory)
    forged = _chained(_lines(path)[-1], OTHER.sign)
    path.write_bytes(data + canonical_json(forged) + b"\n")
    with pytest.raises(JournalCorrupt) as caught:
        _open(directory)
    assert caught.value.path == path
    assert caught.value.seq == forged["seq"] and caught.value.offset == len(data)
    assert caught.value.problem == (
        f"checkpoint signed by key {short(OTHER.public_key_hex)}, but the key in force is "
        f"{short(fixed_signer().public_key_hex)}: a journal's key changes only with a "
        "KEY_HANDOVER record signed by the key in force"
    )


def test_s7_another_key_sharing_the_key_id_is_named_as_another_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """key_id is 64 bits: two keys can share one (forced here), and the words must say so."""
    from controller.journal import keychain

    monkeypatch.setattr(keychain, "key_id", lambda raw: "c0111de5c0111de5")
    directory = tmp_path / "j"
    path, data = _signed_once(directory)
    path.write_bytes(data + canonical_json(_chained(_lines(path)[-1], OTHER.sign)) + b"\n")
    with pytest.raises(JournalCorrupt) as caught:
        _open(directory)
    assert caught.value.problem.startswith(
        "checkpoint signed by key c0111de5c0111de5 (the same key_id, another key), but the key "
        "in force is c0111de5c0111de5"
    )


def test_s7_a_key_hand_over_moved_off_the_record_it_covers_is_corruption(tmp_path: Path) -> None:
    """Genuinely signed by the key in force, but covering an earlier record than the one right
    before it: replayed or moved, so the new key is not taken."""
    directory = tmp_path / "j"
    path, data = _signed_once(directory)
    records = _lines(path)
    covered = records[-2]
    handover = _chained(
        records[-1],
        lambda seq, digest: fixed_signer().hand_over(
            NEW.public_key_hex, covered["seq"], covered["hash"], "moved"
        ),
    )
    new_checkpoint = _chained(handover, NEW.sign)
    path.write_bytes(
        data + canonical_json(handover) + b"\n" + canonical_json(new_checkpoint) + b"\n"
    )
    with pytest.raises(JournalCorrupt) as caught:
        JournalWriter.open(directory, signer=NEW, clock=ManualClock(), checkpoints=AT_CLOSE_ONLY)
    assert caught.value.seq == handover["seq"] and caught.value.offset == len(data)
    assert caught.value.problem == (
        f"key hand-over covers record {covered['seq']}, which is not the record right before it "
        "(replayed or moved)"
    )


def test_s7_a_head_json_signed_by_a_key_that_never_signed_the_journal_is_corruption(
    tmp_path: Path,
) -> None:
    from controller.journal.keychain import short

    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    _closed_sessions(ours, 1)
    other = OTHER
    with JournalWriter.open(
        theirs, signer=other, clock=ManualClock(), checkpoints=AT_CLOSE_ONLY
    ) as writer:
        writer.open_session(session_open(), OPERATOR)
        writer.close_session("completed", "done", OPERATOR)
    shutil.copy2(theirs / HEAD_FILE, ours / HEAD_FILE)
    with pytest.raises(JournalCorrupt) as caught:
        _open(ours)
    assert caught.value.path == ours / HEAD_FILE
    assert caught.value.seq is None and caught.value.offset == 0
    assert caught.value.problem == (
        f"is signed by key {short(other.public_key_hex)}, which never signed the journal's "
        "checkpoints"
    )


def test_s7_an_empty_journal_of_another_key_is_refused_naming_the_directory(
    tmp_path: Path,
) -> None:
    from controller.journal.errors import JournalKeyMismatch

    directory = tmp_path / "j"
    with _open(directory):
        pass
    other = fixed_signer(seed=9)
    with pytest.raises(JournalKeyMismatch) as caught:
        JournalWriter.open(directory, signer=other, clock=ManualClock())
    assert f"journal {directory} is signed with key" in str(caught.value)


# ---- head.json itself ---------------------------------------------------------------------------


def _head_refused(directory: Path) -> JournalCorrupt:
    with pytest.raises(JournalCorrupt) as caught:
        _open(directory)
    assert caught.value.path == directory / HEAD_FILE
    assert caught.value.seq is None and caught.value.offset == 0
    return caught.value


def test_s7_head_json_missing_beside_session_files_is_corruption(tmp_path: Path) -> None:
    directory = tmp_path / "j"
    _closed_sessions(directory, 1)
    (directory / HEAD_FILE).unlink()
    assert _head_refused(directory).problem == "is missing while session files exist"


def test_s7_an_unreadable_head_json_is_corruption_saying_why(tmp_path: Path) -> None:
    directory = tmp_path / "j"
    _closed_sessions(directory, 1)
    (directory / HEAD_FILE).write_bytes(b"{not json}\n")
    assert _head_refused(directory).problem.startswith("is unreadable (")


def test_s7_a_head_json_whose_signature_is_altered_is_corruption(tmp_path: Path) -> None:
    directory = tmp_path / "j"
    _closed_sessions(directory, 1)
    head = json.loads((directory / HEAD_FILE).read_bytes())
    signature = head["signature"]
    head["signature"] = ("0" if signature[0] != "0" else "1") + signature[1:]
    (directory / HEAD_FILE).write_bytes(canonical_json(head) + b"\n")
    assert _head_refused(directory).problem.startswith("is not signed by its key: ")


def test_s7_a_witness_copy_from_another_journals_key_is_refused_naming_it(tmp_path: Path) -> None:
    ours, theirs, witness = tmp_path / "ours", tmp_path / "theirs", tmp_path / "witness"
    for directory, signer, seen in ((ours, fixed_signer(), witness), (theirs, OTHER, None)):
        with JournalWriter.open(
            directory, signer=signer, clock=ManualClock(), checkpoints=AT_CLOSE_ONLY, witness=seen
        ) as writer:
            writer.open_session(session_open(), OPERATOR)
            writer.close_session("completed", "done", OPERATOR)
    shutil.copy2(theirs / HEAD_FILE, witness / HEAD_FILE)
    with pytest.raises(JournalCorrupt) as caught:
        JournalWriter.open(ours, signer=fixed_signer(), clock=ManualClock(), witness=witness)
    assert caught.value.path == ours / HEAD_FILE
    assert caught.value.problem == (
        f"has a witness copy ({witness / HEAD_FILE}) not signed by this journal's key"
    )


def test_opening_a_cleanly_closed_journal_writes_nothing(tmp_path: Path) -> None:
    """Nothing to recover, nothing written: head.json (and so the witness's copy) is left as
    it is, the same file, and no session file grows."""
    directory = tmp_path / "j"
    write_compact_journal(directory)
    head = directory / HEAD_FILE

    def state() -> tuple[int, bytes, list[bytes]]:
        sessions = sorted(directory.glob("session-*.jsonl"))
        return head.stat().st_ino, head.read_bytes(), [path.read_bytes() for path in sessions]

    before = state()
    with _open(directory) as writer:
        assert writer.recovery is None
    assert state() == before
