"""head.json under audit: unreadable, missing, signed by a key the checkpoints are not, an older
copy put back, or left alone with every session file deleted. Each finding is checked as the
auditor reads it (dimension, severity, file, record, words) and in the report's order."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from controller.journal import JournalWriter
from controller.journal.audit import verify_path
from controller.journal.audit.anchors import load_witness
from controller.journal.format import HeadCheckpoint
from tests.controller.journal.helpers import (
    OPERATOR,
    START_WALL_NS,
    ManualClock,
    fixed_signer,
    session_open,
    write_compact_journal,
)
from tests.controller.journal.test_verifier import (
    GENUINE_KEY,
    HEAD,
    NOW,
    S1,
    S2,
    _records,
    _verify,
    _witness,
    compact,
)
from tests.controller.journal.test_verifier_findings import _found

__all__ = ["compact"]  # the module-scoped journal fixture, shared with test_verifier

NO_WITNESS = (
    "witness",
    "unprotected",
    None,
    None,
    None,
    "no witness: a rollback (an older head.json put back and the newer records or sessions cut) "
    "leaves a journal consistent in itself. Give --witness with the witness directory, a copy of "
    "head.json, or the fingerprint printed on a report",
)


def test_an_unreadable_head_json_is_a_framing_fail_named_before_the_later_dimensions(
    compact: dict[str, bytes],
) -> None:
    report = _verify({**compact, HEAD: b"not json\n"})
    assert report.verdict == "FAIL"
    assert _found(report) == [
        (
            "framing",
            "fail",
            HEAD,
            None,
            None,
            "head.json is unreadable: not JSON (Expecting value at column 1)",
        ),
        NO_WITNESS,
    ]


def test_a_missing_head_json_is_a_links_fail_named_before_the_later_dimensions(
    compact: dict[str, bytes],
) -> None:
    report = _verify({S1: compact[S1], S2: compact[S2]})
    assert _found(report) == [
        (
            "links",
            "fail",
            HEAD,
            None,
            None,
            "head.json is missing: it names the last session and checkpoint, so without it a "
            "deleted newest session cannot be ruled out",
        ),
        NO_WITNESS,
    ]


def test_a_head_json_signed_by_another_key_than_the_checkpoints_is_a_fail_naming_both(
    compact: dict[str, bytes],
) -> None:
    """The head's own signature is valid and names its signer's checkpoint key: only the key
    the journal's checkpoints were signed with can expose it."""
    other = fixed_signer(seed=99)
    head = json.loads(compact[HEAD])
    vouched = HeadCheckpoint(**{**head["checkpoint"], "key_id": other.key_id})
    forged = other.sign_head(head["last_session"], vouched).to_bytes()
    report = _verify({**compact, HEAD: forged})
    assert report.verdict == "FAIL"
    checkpoints = _found(report, "checkpoints")
    assert checkpoints[0] == (
        "checkpoints",
        "fail",
        HEAD,
        None,
        None,
        f"head.json is not signed by the journal's key: it is signed by key {other.key_id}, "
        f"the checkpoints by {fixed_signer().key_id}",
    )
    assert _found(report, "key") == [
        (
            "key",
            "fail",
            HEAD,
            None,
            None,
            f"head.json is signed by key {other.key_id}, which is not a trusted key "
            f"({fixed_signer().key_id})",
        )
    ]
    assert _found(report)[-1] == NO_WITNESS


def test_an_older_head_json_put_back_two_sessions_behind_is_a_fail_replaced_by_an_older_copy(
    tmp_path: Path,
) -> None:
    journal = tmp_path / "journal"
    write_compact_journal(journal)
    head = (journal / HEAD).read_bytes()  # names session 2 and checkpoint 13
    clock = ManualClock(wall=START_WALL_NS + 86_400 * 10**9)
    with JournalWriter.open(journal, signer=fixed_signer(), clock=clock) as writer:
        for patient in ("P-0044", "P-0045"):
            writer.open_session(session_open(patient), OPERATOR)
            clock.advance(5)
            writer.close_session("aborted", "patient asked to stop", OPERATOR)
            clock.advance(3600)
    (journal / HEAD).write_bytes(head)
    report = verify_path(journal, pinned_public_key=GENUINE_KEY, now=NOW)
    assert report.verdict == "FAIL"
    assert _found(report) == [
        (
            "links",
            "fail",
            HEAD,
            None,
            None,
            "head.json names session 2, but sessions up to 4 exist: head.json was replaced by an "
            "older copy",
        ),
        (
            "checkpoints",
            "warning",
            HEAD,
            None,
            None,
            "head.json names checkpoint 13; record 19 is newer (penctl stopped before updating "
            "it; the next start does)",
        ),
        NO_WITNESS,
    ]


def test_a_head_json_left_alone_is_behind_its_witnesses_with_no_session_or_record(
    compact: dict[str, bytes],
) -> None:
    """Every session file deleted, head.json kept: the witnesses say what was lost."""
    fingerprint = load_witness("13:" + json.loads(compact[HEAD])["checkpoint"]["hash"][:16])
    report = _verify({HEAD: compact[HEAD]}, witnesses=[_witness(compact), fingerprint])
    assert _found(report, "links", "witness") == [
        (
            "links",
            "fail",
            HEAD,
            None,
            None,
            "head.json says session 2 was opened, but the last session file is 0: newer session "
            "files were deleted",
        ),
        (
            "witness",
            "fail",
            S2,
            None,
            None,
            "the journal is behind its witness witness/head.json: the witness saw session 2 "
            "opened, the journal ends at session 0: whole sessions were removed (rolled back)",
        ),
        (
            "witness",
            "fail",
            None,
            13,
            None,
            f"the journal is behind its witness {fingerprint.source}: the witness saw checkpoint "
            "record 13, the journal ends at record 0: records were cut and head.json rolled back",
        ),
    ]


def _signed_head(compact: dict[str, bytes], checkpoint: dict[str, object] | None) -> bytes:
    """head.json naming `checkpoint`, signed with the journal's own key."""
    vouched = HeadCheckpoint(**checkpoint) if checkpoint is not None else None
    last_session = json.loads(compact[HEAD])["last_session"]
    return fixed_signer().sign_head(last_session, vouched).to_bytes()


def _close_record(compact: dict[str, bytes]) -> dict[str, object]:
    """The SESSION_CLOSE right before session 2's closing checkpoint, as a head would name it."""
    close = _records(compact[S2])[-2]
    key = fixed_signer().key_id
    return {"seq": close["seq"], "hash": close["hash"], "session": 2, "key_id": key}


def _vouched(compact: dict[str, bytes], **changes: object) -> dict[str, object]:
    return {**json.loads(compact[HEAD])["checkpoint"], **changes}


@pytest.mark.parametrize(
    "named",
    [
        pytest.param(_close_record, id="a-record-that-is-no-checkpoint"),
        pytest.param(lambda c: _vouched(c, hash="ab" * 32), id="another-hash"),
        pytest.param(lambda c: _vouched(c, session=1), id="another-session"),
        pytest.param(lambda c: _vouched(c, key_id="0123456789abcdef"), id="another-key-id"),
    ],
)
def test_a_head_json_naming_a_checkpoint_the_journal_does_not_hold_is_a_fail(
    compact: dict[str, bytes], named: Callable[[dict[str, bytes]], dict[str, Any]]
) -> None:
    """Each of the seq, hash, session and key_id head.json names must match the checkpoint."""
    vouched = named(compact)
    report = _verify({**compact, HEAD: _signed_head(compact, vouched)})
    assert report.verdict == "FAIL"
    session = vouched["session"]
    assert (
        "checkpoints",
        "fail",
        HEAD,
        vouched["seq"],
        None,
        f"head.json names checkpoint record {vouched['seq']} of session {session} "
        f"(hash {vouched['hash'][:12]}…), which is not in session-{session:06d}.jsonl: records "
        "were cut or changed, or head.json was",
    ) in _found(report, "checkpoints")


def test_a_head_json_naming_no_checkpoint_of_a_signed_journal_is_a_warning(
    compact: dict[str, bytes],
) -> None:
    report = _verify({**compact, HEAD: _signed_head(compact, None)})
    assert (
        "checkpoints",
        "warning",
        HEAD,
        None,
        None,
        "head.json names no checkpoint although the journal has some",
    ) in _found(report, "checkpoints")


def test_a_head_json_one_checkpoint_behind_is_a_warning_naming_the_newer_one(
    compact: dict[str, bytes],
) -> None:
    """penctl stopped after a checkpoint, before rewriting head.json: the next start does."""
    first = _records(compact[S1])[-1]
    vouched = {"seq": first["seq"], "hash": first["hash"], "session": 1}
    head = _signed_head(compact, {**vouched, "key_id": fixed_signer().key_id})
    report = _verify({**compact, HEAD: head})
    assert report.first_failure is None
    assert _found(report, "checkpoints") == [
        (
            "checkpoints",
            "warning",
            HEAD,
            None,
            None,
            "head.json names checkpoint 10; record 13 is newer (penctl stopped before updating "
            "it; the next start does)",
        )
    ]
