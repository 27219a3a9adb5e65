"""Inside one session: the order of its steps, its two clocks, its checkpoints and the keys that
signed them. Each journal here is consistent in itself and signed by the genuine key (what a
faulty writer, or someone holding the key, would leave), so the finding under test is the only
one; each is checked as the auditor reads it: verdict, dimension, severity, file, record, byte
offset and words."""

from __future__ import annotations

from typing import Any

from controller.journal.audit import VerificationReport
from controller.journal.format import GENESIS_HASH, HeadCheckpoint, parse_head, record_hash
from controller.journal.signing import CheckpointSigner
from tests.controller.journal.helpers import fixed_signer
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
from tests.controller.journal.test_verifier_findings import _found

__all__ = ["compact"]  # the module-scoped journal fixture, shared with test_verifier

GENUINE = fixed_signer()
SIGNERS = {signer.public_key_hex: signer for signer in (GENUINE, fixed_signer(8))}


def _genuine(*sessions: list[dict[str, Any]]) -> dict[str, bytes]:
    """The sessions' records as the key's holder would write them: numbered from 1 across the
    files, chained from genesis, each CHECKPOINT and KEY_HANDOVER signed anew over the record
    before it (a hand-over by the key in force, to the key its data names), and head.json
    naming the last checkpoint."""
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
                record["data"] = signer.sign(before["seq"], before["hash"]).model_dump()
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
    again = {**records[0], "mono_ns": records[1]["mono_ns"], "utc": records[1]["utc"]}
    files = _genuine([*records[:2], again, *records[2:]], _records(compact[S2]))
    report = _anchored(files)
    assert (report.verdict, report.exit_code) == ("FAIL", 1)
    assert _found(report) == [
        ("schema", "fail", S1, 3, _offset(files, S1, 2), "a second SESSION_OPEN inside one session")
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
    assert [(f.dimension, f.severity, f.seq) for f in report.findings] == [
        ("termination", "incomplete", 11)
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
