"""Inside one session: the order of its steps, its two clocks, its checkpoints and the keys that
signed them. Each journal here is consistent in itself and signed by the genuine key (what a
faulty writer, or someone holding the key, would leave), so the finding under test is the only
one; each is checked as the auditor reads it: verdict, dimension, severity, file, record, byte
offset and words."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from controller.journal import JournalWriter
from controller.journal.audit import VerificationReport, verify_path
from controller.journal.format import GENESIS_HASH, Head, HeadCheckpoint, parse_head, record_hash
from controller.journal.records import Checkpoint
from controller.journal.signing import CheckpointSigner
from tests.controller.journal.helpers import (
    OPERATOR,
    START_WALL_NS,
    ManualClock,
    anchored,
    fixed_signer,
    session_open,
)
from tests.controller.journal.test_verifier import (
    HEAD,
    NOW,
    S1,
    S2,
    _encode,
    _records,
    _resign_all,
    _verify,
    _witness,
    compact,
)
from tests.controller.journal.test_verifier_findings import _core, _found

__all__ = ["compact"]  # the module-scoped journal fixture, shared with test_verifier

GENUINE = fixed_signer()
SIGNERS = {signer.public_key_hex: signer for signer in (GENUINE, fixed_signer(8))}


def _genuine(*sessions: list[dict[str, Any]]) -> dict[str, bytes]:
    """The sessions' records as the key's holder would write them: numbered from 1 across the
    files, chained from genesis, each CHECKPOINT and KEY_HANDOVER signed anew over the record
    before it (a hand-over by the key in force, to the key its data names; a checkpoint by the
    key in force, or by the key its data names as `by`), and head.json naming the last
    checkpoint, signed by the key in force."""
    files: dict[str, bytes] = {}
    prev, seq, signer = GENESIS_HASH, 1, GENUINE
    last: dict[str, Any] | None = None
    for number, records in enumerate(sessions, start=1):
        written: list[dict[str, Any]] = []
        for original in records:
            record = {**original, "seq": seq, "session": number, "prev": prev}
            before = written[-1] if written else last
            if record["type"] in ("CHECKPOINT", "KEY_HANDOVER"):
                assert before is not None
            if record["type"] == "CHECKPOINT":
                by = SIGNERS.get(record["data"].get("by", ""), signer)
                record["data"] = by.sign(before["seq"], before["hash"]).model_dump()
            elif record["type"] == "KEY_HANDOVER":
                new = record["data"]["new_public_key"]
                reason = record["data"]["reason"]
                handover = signer.hand_over(new, before["seq"], before["hash"], reason)
                record["data"] = handover.model_dump()
                signer = SIGNERS[new]
            record["hash"] = prev = record_hash(record)
            written.append(record)
            last, seq = record, seq + 1
        files[f"session-{number:06d}.jsonl"] = _encode(written)
    checkpoints = [r for name in files for r in _records(files[name]) if r["type"] == "CHECKPOINT"]
    newest = checkpoints[-1]
    pointer = HeadCheckpoint(
        session=newest["session"],
        seq=newest["seq"],
        hash=newest["hash"],
        key_id=newest["data"]["key_id"],
    )
    files[HEAD] = signer.sign_head(len(sessions), pointer).to_bytes()
    return files


def _anchored(files: dict[str, bytes], pinned: str | None = GENUINE.public_key_hex) -> Any:
    """Verified with the genuine key pinned and a witness that saw this head.json."""
    return _verify(files, pinned=pinned, witnesses=[_witness(files)])


def _offset(files: dict[str, bytes], name: str, index: int) -> int:
    return len(_encode(_records(files[name])[:index]))


def _handover(like: dict[str, Any], to: CheckpointSigner) -> dict[str, Any]:
    """A KEY_HANDOVER record to `to` with `like`'s envelope, its signature made by _genuine."""
    data = {"new_public_key": to.public_key_hex, "reason": "a new laptop"}
    return {**like, "type": "KEY_HANDOVER", "data": data}


def _recovery(like: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A RECOVERY record with `like`'s envelope: penctl started again after record 10."""
    data = {"last_good_seq": 10, "kept_aside": [], "note": "restarted"}
    return {**like, "type": "RECOVERY", "data": data, **changes}


def _warnings(report: VerificationReport) -> list[tuple[str, str | None, int | None, str]]:
    return [
        (f.dimension, f.file, f.seq, f.message) for f in report.findings if f.severity == "warning"
    ]


# -- the order of a session's steps (the schema dimension, docs/journal.md §11.10(f)) ------------


def test_the_genuine_builder_reproduces_the_intact_journal(compact: dict[str, bytes]) -> None:
    rebuilt = _genuine(_records(compact[S1]), _records(compact[S2]))
    assert rebuilt == compact


def test_a_second_session_open_inside_a_session_is_a_schema_fail_naming_it(
    compact: dict[str, bytes],
) -> None:
    records = _records(compact[S1])
    files = _genuine([records[0], records[0], *records[1:]], _records(compact[S2]))
    report = _anchored(files)
    assert (report.verdict, report.exit_code) == ("FAIL", 1)
    assert _found(report) == [
        ("schema", "fail", S1, 2, _offset(files, S1, 1), "a second SESSION_OPEN inside one session")
    ]


def test_a_key_hand_over_inside_an_open_session_is_a_schema_fail(
    compact: dict[str, bytes],
) -> None:
    """A key is handed over only between sessions (docs/journal.md §4), even by the key in
    force."""
    second = _records(compact[S2])
    files = _genuine(
        _records(compact[S1]), [second[0], _handover(second[0], fixed_signer(8)), *second[1:]]
    )
    report = _anchored(files)
    assert report.verdict == "FAIL"
    assert _found(report) == [
        (
            "schema",
            "fail",
            S2,
            12,
            _offset(files, S2, 1),
            "a key hand-over inside an open session: a key is handed over only after a "
            "session's close",
        )
    ]


def test_a_record_after_the_session_close_is_a_schema_fail_naming_the_close(
    compact: dict[str, bytes],
) -> None:
    """The area pass journaled after SESSION_CLOSE (record 8): written after the session
    ended, it is a fail, and names the close."""
    records = _records(compact[S1])
    area_pass, close = records[7], records[8]
    files = _genuine([*records[:7], close, area_pass, records[9]], _records(compact[S2]))
    report = _anchored(files)
    assert report.verdict == "FAIL"
    assert _found(report) == [
        (
            "schema",
            "fail",
            S1,
            9,
            _offset(files, S1, 8),
            "AREA_PASS after the session was closed (record 8)",
        )
    ]
    assert (report.sessions[0].outcome, report.sessions[0].terminated) == ("completed", True)


def test_a_session_closed_twice_is_a_schema_fail_at_the_second_close(
    compact: dict[str, bytes],
) -> None:
    records = _records(compact[S1])
    second = {**records[8], "data": {"outcome": "aborted", "reason": "closed again"}}
    files = _genuine([*records[:9], second, records[9]], _records(compact[S2]))
    report = _anchored(files)
    assert report.verdict == "FAIL"
    offset = _offset(files, S1, 9)
    assert _found(report) == [
        ("schema", "fail", S1, 10, offset, "SESSION_CLOSE after the session was closed (record 9)"),
        ("schema", "fail", S1, 10, offset, "the session is closed twice"),
    ]
    # the outcome is the first close's
    assert report.sessions[0].outcome == "completed"


def test_checkpoints_and_a_recovery_after_the_close_are_allowed(
    compact: dict[str, bytes],
) -> None:
    """A checkpoint may follow the close, and so may a RECOVERY (penctl stopped after the close
    but before it rewrote head.json) and the checkpoint after it."""
    records = _records(compact[S1])
    recovery = _recovery(records[9])
    files = _genuine([*records, recovery, records[9]], _records(compact[S2]))
    report = _anchored(files)
    assert _found(report) == [
        (
            "termination",
            "incomplete",
            S1,
            11,
            len(compact[S1]),
            "session 1 was recovered after penctl stopped during it",
        )
    ]
    assert report.sessions[0].recovered is True


# -- the clocks: warnings only -------------------------------------------------------------------


def test_a_monotonic_clock_going_backwards_in_a_session_is_a_warning_not_a_failure(
    compact: dict[str, bytes],
) -> None:
    records = _records(compact[S1])
    records[4]["mono_ns"] = records[3]["mono_ns"] - 1
    files = _genuine(records, _records(compact[S2]))
    report = _anchored(files)
    assert report.verdict == "PASS"
    assert _found(report) == [
        (
            "sequence",
            "warning",
            S1,
            5,
            _offset(files, S1, 4),
            "monotonic time went backwards within the session",
        )
    ]
    assert report.dimensions["sequence"].status == "pass"


def test_a_clock_standing_still_and_a_new_session_restarting_it_are_no_warning(
    compact: dict[str, bytes],
) -> None:
    """Records 3 and 4 of the intact journal share their times, and session 2's monotonic
    clock starts again at 0 (a new process): nothing to warn of."""
    records = _records(compact[S1])
    assert (records[1]["mono_ns"], records[1]["utc"]) == (records[2]["mono_ns"], records[2]["utc"])
    assert _records(compact[S2])[0]["mono_ns"] < records[-1]["mono_ns"]
    assert _warnings(_anchored(compact)) == []


def test_a_recovery_or_a_key_hand_over_restarts_the_monotonic_clock_without_a_warning(
    compact: dict[str, bytes],
) -> None:
    """Each is written by a new process (the next start, or `penctl journal rotate-key`),
    whose monotonic clock has its own origin; the wall clock must still move on."""
    records = _records(compact[S1])
    later = "2026-03-02T10:30:00.000000Z"
    recovery = _recovery(records[9], mono_ns=7, utc=later)
    signed = {**records[9], "mono_ns": 7, "utc": later}
    handover = {**_handover(records[9], fixed_signer(8)), "mono_ns": 3, "utc": later}
    after = {**records[9], "mono_ns": 3, "utc": later}
    files = _genuine(
        [*records, recovery, signed, handover, after],
        [{**r, "utc": r["utc"].replace("T11", "T12")} for r in _records(compact[S2])],
    )
    report = _anchored(files)
    assert _warnings(report) == []
    assert report.sessions[0].recovered is True


def test_a_monotonic_clock_going_back_after_a_recovery_is_still_a_warning(
    compact: dict[str, bytes],
) -> None:
    records = _records(compact[S1])
    recovery = _recovery(records[9], mono_ns=7)
    files = _genuine([*records, recovery, {**records[9], "mono_ns": 6}], _records(compact[S2]))
    report = _anchored(files)
    assert _warnings(report) == [
        ("sequence", S1, 12, "monotonic time went backwards within the session")
    ]


# -- keys: a hand-over, and head.json ------------------------------------------------------------


def _handed_over(compact: dict[str, bytes]) -> dict[str, bytes]:
    """Session 1 by the genuine key, handed over after its close to key 8, which signs on."""
    records = _records(compact[S1])
    later = "2026-03-02T10:30:00.000000Z"
    handover = {**_handover(records[9], fixed_signer(8)), "mono_ns": 0, "utc": later}
    return _genuine(
        [*records, handover, {**records[9], "mono_ns": 0, "utc": later}], _records(compact[S2])
    )


def test_a_handed_over_journal_passes_and_lists_both_signing_keys(
    compact: dict[str, bytes],
) -> None:
    files = _handed_over(compact)
    report = _anchored(files)
    assert report.verdict == "PASS"
    assert report.key_ids == [GENUINE.key_id, fixed_signer(8).key_id]
    assert report.pinned_key_id == GENUINE.key_id
    # the pinned key, then each signature: two checkpoints and the hand-over by the genuine key
    # and two checkpoints by the key it handed over to
    assert report.dimensions["key"].checked == 5


def test_a_head_json_signed_by_neither_key_of_a_handed_over_journal_names_both(
    compact: dict[str, bytes],
) -> None:
    """head.json re-signed by a third key, consistent in itself (it names that key's id): the
    finding names the keys that signed the checkpoints, in the order they came into force."""
    files = _handed_over(compact)
    head = parse_head(files[HEAD])
    assert head.checkpoint is not None
    other = fixed_signer(9)
    pointer = head.checkpoint.model_copy(update={"key_id": other.key_id})
    report = _verify(
        {**files, HEAD: other.sign_head(head.last_session, pointer).to_bytes()},
        witnesses=[_witness(files)],
    )
    assert report.verdict == "FAIL"
    assert _found(report, "checkpoints")[0] == (
        "checkpoints",
        "fail",
        HEAD,
        None,
        None,
        f"head.json is not signed by the journal's key: it is signed by key {other.key_id}, "
        f"the checkpoints by {GENUINE.key_id}, {fixed_signer(8).key_id}",
    )


def test_pinning_only_the_key_handed_over_to_fails_what_the_old_key_signed(
    compact: dict[str, bytes],
) -> None:
    """Trust runs forward from the pinned key, never back: the closing checkpoint and the
    hand-over, both signed by the old key, are each a `key` fail naming the old key."""
    files = _handed_over(compact)
    new = fixed_signer(8)
    report = _verify(files, pinned=new.public_key_hex, witnesses=[_witness(files)])
    assert report.verdict == "FAIL"
    words = (
        f"signed by key {GENUINE.key_id}, not by the pinned key {new.key_id} nor a key it "
        "handed over to: the journal was re-signed, or its key changed without a hand-over"
    )
    assert _found(report) == [
        ("key", "fail", S1, 10, _offset(files, S1, 9), words),
        ("key", "fail", S1, 11, _offset(files, S1, 10), words),
    ]
    assert report.pinned_key_id == new.key_id


def test_a_checkpoint_right_after_the_sessions_first_record_verifies(
    compact: dict[str, bytes],
) -> None:
    """A policy may sign after any record, the first included."""
    records = _records(compact[S1])
    early = {**records[9], "mono_ns": records[0]["mono_ns"], "utc": records[0]["utc"]}
    files = _genuine([records[0], early, *records[1:]], _records(compact[S2]))
    report = _anchored(files)
    assert (report.verdict, _found(report)) == ("PASS", [])
    assert report.dimensions["checkpoints"].checked == 5


class _Impostor:
    """Signs with another key, and writes the genuine key's id beside each signature."""

    key_id = GENUINE.key_id

    def __init__(self) -> None:
        self._other = fixed_signer(99)

    def sign(self, covers_seq: int, covers_hash: str) -> Checkpoint:
        signed = self._other.sign(covers_seq, covers_hash)
        return signed.model_copy(update={"key_id": self.key_id})

    def sign_head(self, last_session: int, checkpoint: HeadCheckpoint | None) -> Head:
        return self._other.sign_head(last_session, checkpoint)


def test_a_journal_signed_by_another_key_under_the_pinned_keys_id_says_so(
    compact: dict[str, bytes],
) -> None:
    """A 64-bit key_id can be copied; the whole public key is what is compared."""
    forged = _resign_all(compact, _Impostor())  # type: ignore[arg-type]
    report = _verify(forged, witnesses=[_witness(compact)])
    assert report.verdict == "FAIL"
    words = (
        f"signed by key {GENUINE.key_id}, not by the pinned key {GENUINE.key_id} (the same "
        "key_id, but a different public key) nor a key it handed over to: the journal was "
        "re-signed, or its key changed without a hand-over"
    )
    assert _found(report, "key")[:2] == [
        ("key", "fail", S1, 10, _offset(forged, S1, 9), words),
        ("key", "fail", S2, 13, _offset(forged, S2, 2), words),
    ]


def test_a_journal_signed_by_none_of_several_trusted_keys_names_them_all(
    compact: dict[str, bytes],
) -> None:
    trusted = [fixed_signer(8), fixed_signer(9)]
    report = _core(
        {S1: compact[S1], S2: compact[S2]},
        head=compact[HEAD],
        trusted_keys=[signer.public_key_hex for signer in trusted],
        witnesses=[_witness(compact)],
    )
    assert report.verdict == "FAIL"
    names = ", ".join(sorted(signer.key_id for signer in trusted))
    words = (
        f"signed by key {GENUINE.key_id}, not by the pinned key {names} nor a key it handed "
        "over to: the journal was re-signed, or its key changed without a hand-over"
    )
    assert _found(report, "key")[:2] == [
        ("key", "fail", S1, 10, _offset(compact, S1, 9), words),
        ("key", "fail", S2, 13, _offset(compact, S2, 2), words),
    ]
    assert report.pinned_key_id is None


# -- the end of a session: closed, cut, torn or recovered -----------------------------------------

NOT_CLOSED = (
    "is not closed (no SESSION_CLOSE and checkpoint at its end): it is still running, or penctl "
    "stopped during it and has not started since"
)


def test_the_newest_session_cut_just_before_the_checkpoint_head_json_vouches_for_is_a_fail(
    compact: dict[str, bytes],
) -> None:
    """S7: head.json vouches for record 13, the closing checkpoint; a file ending at record 12
    had its tail cut, however much it looks like a session still running."""
    cut = _encode(_records(compact[S2])[:2])
    report = _verify({**compact, S2: cut}, witnesses=[_witness(compact)])
    assert report.verdict == "FAIL"
    assert _found(report, "termination") == [
        (
            "termination",
            "fail",
            S2,
            13,
            len(cut),
            "session 2 ends at record 12 without a closing checkpoint, but head.json vouches for "
            "record 13: its tail was cut",
        )
    ]


def test_a_torn_tail_in_an_earlier_session_is_corruption_because_a_later_session_exists(
    compact: dict[str, bytes],
) -> None:
    """head.json one checkpoint behind (it names record 10) vouches for nothing after session 1,
    but session 2 exists, so session 1's unfinished record was never a crash's."""
    first = _records(compact[S1])
    behind = HeadCheckpoint(session=1, seq=10, hash=first[9]["hash"], key_id=GENUINE.key_id)
    files = {
        **compact,
        S1: compact[S1] + b'{"seq":11',
        HEAD: GENUINE.sign_head(2, behind).to_bytes(),
    }
    report = _verify(files)
    assert report.verdict == "FAIL"
    assert _found(report, "framing") == [
        (
            "framing",
            "fail",
            S1,
            11,
            len(compact[S1]),
            "9 bytes at the end are not a complete record, and a later session exists: "
            "corruption, not a crash",
        )
    ]
    assert [s.torn_bytes for s in report.sessions] == [9, 0]


def test_an_open_session_ending_in_a_checkpoint_is_still_not_closed(
    compact: dict[str, bytes],
) -> None:
    """A policy signs during a session too; only SESSION_CLOSE and a checkpoint after it end
    one."""
    second = _records(compact[S2])
    files = _genuine(_records(compact[S1]), [second[0], second[2]])
    report = _anchored(files)
    assert report.verdict == "INCOMPLETE"
    assert [(s.terminated, s.outcome) for s in report.sessions] == [
        (True, "completed"),
        (False, None),
    ]
    assert _found(report) == [
        ("termination", "incomplete", S2, 13, len(files[S2]), f"session 2 {NOT_CLOSED}")
    ]


def test_an_empty_first_session_file_before_any_checkpoint_is_a_session_being_opened(
    tmp_path: Path,
) -> None:
    """penctl stopped right after creating session 1's file: head.json vouches for no record
    yet, so nothing was cut."""
    journal = tmp_path / "j"
    with JournalWriter.open(journal, signer=GENUINE, clock=ManualClock()):
        pass
    (journal / S1).write_bytes(b"")
    report = verify_path(journal, pinned_public_key=GENUINE.public_key_hex, now=NOW)
    assert report.verdict == "INCOMPLETE"
    assert _found(report, "termination") == [
        ("termination", "incomplete", S1, 1, 0, f"session 1 {NOT_CLOSED}")
    ]


def test_a_session_penctl_stopped_while_opening_starts_with_its_recovery(
    compact: dict[str, bytes], tmp_path: Path
) -> None:
    """Its file was created but SESSION_OPEN never written; the next start writes RECOVERY
    first, then closes the session as faulted. No schema finding: only the recovery's mark."""
    journal = tmp_path / "j"
    journal.mkdir()
    for name, data in compact.items():
        (journal / name).write_bytes(data)
    s3 = "session-000003.jsonl"
    (journal / s3).write_bytes(b"")
    later = ManualClock(wall=START_WALL_NS + 86_400 * 10**9)
    with JournalWriter.open(journal, signer=GENUINE, clock=later) as writer:
        assert writer.recovery is not None
    report = anchored(journal, now=NOW)
    assert report.verdict == "INCOMPLETE"
    assert _found(report) == [
        (
            "termination",
            "incomplete",
            s3,
            14,
            0,
            "session 3 was recovered after penctl stopped during it",
        )
    ]
    assert (report.sessions[2].recovered, report.sessions[2].outcome) == (True, "faulted")


def test_a_recovered_session_file_verified_alone_does_not_look_for_its_kept_aside_file(
    tmp_path: Path,
) -> None:
    """Only the directory holds kept-aside files: alone, the recovery is the session's mark and
    the file it noted is not called missing."""
    journal, clock = tmp_path / "j", ManualClock()
    with JournalWriter.open(journal, signer=GENUINE, clock=clock) as writer:
        writer.open_session(session_open(), OPERATOR)
    (journal / S1).write_bytes((journal / S1).read_bytes() + b'{"actor":"op:alice","da')
    with JournalWriter.open(journal, signer=GENUINE, clock=clock) as writer:
        assert writer.recovery is not None
        (kept,) = writer.recovery.kept_aside
    (journal / kept.file).unlink()
    report = verify_path(journal / S1, pinned_public_key=GENUINE.public_key_hex, now=NOW)
    assert report.verdict == "INCOMPLETE"
    assert _found(report, "termination") == [
        (
            "termination",
            "incomplete",
            S1,
            2,
            kept.offset,
            "session 1 was recovered after penctl stopped during it; 23 bytes of an unfinished "
            "record were kept aside",
        )
    ]


def test_a_checkpoint_by_another_key_without_a_hand_over_is_a_fail_naming_both_keys(
    compact: dict[str, bytes],
) -> None:
    second = _records(compact[S2])
    other = fixed_signer(8)
    closing = {**second[2], "data": {"by": other.public_key_hex}}
    files = _genuine(_records(compact[S1]), [*second[:2], closing])
    report = _anchored(files)
    assert report.verdict == "FAIL"
    assert [f for f in _found(report, "checkpoints") if f[2] == S2] == [
        (
            "checkpoints",
            "fail",
            S2,
            13,
            _offset(files, S2, 2),
            f"checkpoint signed by key {other.key_id}, but the key in force is {GENUINE.key_id}: "
            "a journal's key changes only with a KEY_HANDOVER record signed by the key in force",
        )
    ]


def test_a_closing_checkpoint_moved_to_the_start_of_its_session_covers_nothing_before_it(
    compact: dict[str, bytes],
) -> None:
    """The first record of a session file has no record before it in that file to cover, even
    when the record it names sits later in the same file. Every finding about the moved record
    names it 11, the number due at its place, not the 13 it carries (docs/journal.md §7)."""
    second = _records(compact[S2])
    files = {**compact, S2: _encode([second[2], second[0], second[1]])}
    report = _verify(files, witnesses=[_witness(compact)])
    assert report.verdict == "FAIL"
    assert [f for f in _found(report) if (f[2], f[4]) == (S2, 0)] == [
        ("schema", "fail", S2, 11, 0, "session starts with CHECKPOINT, not SESSION_OPEN"),
        (
            "sequence",
            "fail",
            S2,
            11,
            0,
            "sequence gap: found 13 where 11 was due; records 11–12 are missing",
        ),
        (
            "links",
            "fail",
            S2,
            11,
            0,
            "first record of session 2 does not link to the last record of the session before: "
            "a session was deleted, or records before it were cut or changed",
        ),
        (
            "checkpoints",
            "fail",
            S2,
            11,
            0,
            "checkpoint covers record 12, which is not the record right before it (replayed or "
            "moved signature)",
        ),
    ]


def _recovered_second(compact: dict[str, bytes]) -> dict[str, bytes]:
    """Session 2 as penctl leaves it after a restart, not yet closed: its SESSION_OPEN (record
    11), then the RECOVERY (record 12)."""
    second = _records(compact[S2])
    return _genuine(_records(compact[S1]), [second[0], _recovery(second[0])])


def test_a_renumbered_recovery_is_named_by_the_number_due_in_every_finding(
    compact: dict[str, bytes],
) -> None:
    """A RECOVERY whose `seq` was changed (its hash made anew) is record 12 both where the
    sequence breaks and where the recovery is reported; the count goes on from the 40 it
    carries (docs/journal.md §7)."""
    built = _recovered_second(compact)
    opening, recovery = _records(built[S2])
    renumbered = {**recovery, "seq": 40}
    renumbered["hash"] = record_hash(renumbered)
    files = {**built, S2: _encode([opening, renumbered])}
    report = _anchored(files)
    assert report.verdict == "FAIL"
    at = _offset(files, S2, 1)
    assert _found(report) == [
        (
            "sequence",
            "fail",
            S2,
            12,
            at,
            "sequence gap: found 40 where 12 was due; records 12–39 are missing",
        ),
        (
            "termination",
            "incomplete",
            S2,
            12,
            at,
            "session 2 was recovered after penctl stopped during it",
        ),
        ("termination", "incomplete", S2, 41, len(files[S2]), f"session 2 {NOT_CLOSED}"),
    ]


def test_a_lone_file_saved_under_another_number_names_its_records_session_in_every_finding(
    compact: dict[str, bytes],
) -> None:
    """Session 2's records in session-000007.jsonl: the verdict, the recovery and the unclosed
    end all say session 2, the session the records name (docs/journal.md §7)."""
    built = _recovered_second(compact)
    copy = "session-000007.jsonl"
    report = _core(
        {copy: built[S2]}, head=None, kind="file", pinned_public_key=GENUINE.public_key_hex
    )
    assert report.verdict == "INCOMPLETE"
    assert [(s.number, s.file, s.recovered, s.terminated) for s in report.sessions] == [
        (2, copy, True, False)
    ]
    assert _found(report) == [
        (
            "termination",
            "incomplete",
            copy,
            12,
            _offset(built, S2, 1),
            "session 2 was recovered after penctl stopped during it",
        ),
        ("termination", "incomplete", copy, 13, len(built[S2]), f"session 2 {NOT_CLOSED}"),
    ]


def test_session_files_given_without_their_directory_never_call_an_unclosed_session_cut(
    compact: dict[str, bytes],
) -> None:
    """Without head.json and the directory nothing says whether a session's end was cut or
    is a crash's, even with a later session beside it: INCOMPLETE, never a cut tail."""
    cut = _encode(_records(compact[S1])[:8])
    report = _core(
        {S1: cut, S2: compact[S2]}, head=None, kind="file", pinned_public_key=GENUINE.public_key_hex
    )
    assert _found(report, "termination") == [
        ("termination", "incomplete", S1, 9, len(cut), f"session 1 {NOT_CLOSED}")
    ]
