"""Forgeries that keep the hash chain intact: only the checkpoint and session checks can see them.

Each journal here is consistent in every way but one, so the verdict rests on that one check
(docs/journal.md §9): an auditor must get FAIL, and the finding must say what was forged.
"""

from __future__ import annotations

import json

from controller.journal.format import Head, HeadCheckpoint, canonical_json, record_hash
from controller.journal.records import Checkpoint
from tests.controller.journal.helpers import fixed_signer
from tests.controller.journal.test_verifier import (
    HEAD,
    S2,
    _encode,
    _records,
    _resign_all,
    _verify,
    compact,
)

__all__ = ["compact"]  # the module-scoped journal fixture, shared with test_verifier


def _with_last_checkpoint(files: dict[str, bytes], **changes: str) -> dict[str, bytes]:
    """The newest checkpoint's data changed, its hash and head.json updated to match."""
    records = _records(files[S2])
    last = records[-1]
    assert last["type"] == "CHECKPOINT"
    last["data"] = {**last["data"], **changes}
    last["hash"] = record_hash(last)
    head = json.loads(files[HEAD])
    head["checkpoint"]["hash"] = last["hash"]
    head["checkpoint"]["key_id"] = last["data"]["key_id"]
    return {**files, S2: _encode(records), HEAD: canonical_json(head) + b"\n"}


def test_a_forged_checkpoint_signature_with_an_intact_chain_is_a_fail(
    compact: dict[str, bytes],
) -> None:
    signature = _records(compact[S2])[-1]["data"]["signature"]
    forged_signature = ("0" if signature[0] != "0" else "1") + signature[1:]
    report = _verify(_with_last_checkpoint(compact, signature=forged_signature))
    assert report.dimensions["chain"].status == "pass"
    assert report.verdict == "FAIL"
    forged = [
        (f.severity, f.file, f.seq, f.offset, f.message)
        for f in report.dimensions["checkpoints"].findings
        if f.file == S2
    ]
    assert forged == [
        (
            "fail",
            S2,
            _records(compact[S2])[-1]["seq"],
            len(b"".join(compact[S2].splitlines(keepends=True)[:2])),
            f"the Ed25519 signature does not verify with key {fixed_signer().key_id}",
        )
    ]


def test_a_checkpoint_whose_key_id_is_not_its_public_keys_is_a_fail(
    compact: dict[str, bytes],
) -> None:
    """The signature itself verifies (the key_id is not signed), so only the tie between the
    key_id and the public key recorded beside it exposes a relabelled key."""
    renamed = _resign_all(compact, _RelabellingSigner("0123456789abcdef"))  # type: ignore[arg-type]
    report = _verify(renamed)
    assert report.dimensions["chain"].status == "pass"
    assert report.verdict == "FAIL"
    messages = [f.message for f in report.dimensions["checkpoints"].findings]
    relabelled = [m for m in messages if "does not belong to the public key" in m]
    assert relabelled and all(
        "does not belong to the public key" in m or "head.json" in m for m in messages
    )


class _RelabellingSigner:
    """Signs with the genuine key, then writes another key_id beside the signature."""

    def __init__(self, key_id: str) -> None:
        self.key_id = key_id
        self._genuine = fixed_signer()

    def sign(self, covers_seq: int, covers_hash: str) -> Checkpoint:
        signed = self._genuine.sign(covers_seq, covers_hash)
        return signed.model_copy(update={"key_id": self.key_id})

    def sign_head(self, last_session: int, checkpoint: HeadCheckpoint | None) -> Head:
        return self._genuine.sign_head(last_session, checkpoint)


def test_a_record_of_one_session_in_another_sessions_file_is_a_fail(
    compact: dict[str, bytes],
) -> None:
    """Even re-signed with the genuine key (a writer bug, not an attacker), a record that says
    session 1 inside session 2's file is named as moved between files."""
    records = _records(compact[S2])
    records[1]["session"] = 1
    moved = _resign_all({**compact, S2: _encode(records)}, fixed_signer())
    report = _verify(moved)
    assert report.dimensions["chain"].status == "pass"
    assert report.dimensions["checkpoints"].status == "pass"
    assert report.verdict == "FAIL"
    [finding] = report.dimensions["sequence"].findings
    assert (finding.severity, finding.file, finding.seq, finding.offset, finding.message) == (
        "fail",
        S2,
        12,
        len(compact[S2].splitlines(keepends=True)[0]),
        "record says session 1 but sits in the file of session 2 (moved between files?)",
    )


def test_a_head_json_with_a_forged_signature_is_a_fail_naming_the_key_it_was_checked_with(
    compact: dict[str, bytes],
) -> None:
    """head.json says how far the journal reached; a signature that does not verify must be a
    FAIL that names the key the head claims, so the auditor knows which key to check it with."""
    head = json.loads(compact[HEAD])
    head["signature"] = ("0" if head["signature"][0] != "0" else "1") + head["signature"][1:]
    report = _verify({**compact, HEAD: canonical_json(head) + b"\n"})
    assert report.dimensions["chain"].status == "pass"
    assert report.verdict == "FAIL"
    assert [(f.file, f.message) for f in report.dimensions["checkpoints"].findings] == [
        (
            "head.json",
            "head.json is not signed by the journal's key: its Ed25519 signature does not verify "
            f"with key {fixed_signer().key_id}",
        )
    ]
