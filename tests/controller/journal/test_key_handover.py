"""A journal's key changes only by a KEY_HANDOVER record signed by the key in force, so trust runs
from the pinned key forward (docs/journal.md §4): the hand-over verifies, every forgery of it
fails with a finding that says so, and witnesses and rollback detection work across it."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from controller.cli import main
from controller.journal import (
    CheckpointSigner,
    JournalCorrupt,
    JournalKeyMismatch,
    JournalStateError,
    JournalWriter,
)
from controller.journal.audit.anchors import WitnessHead, load_witness
from controller.journal.audit.verifier import VerificationReport, verify_path
from controller.journal.records import KeyHandover
from controller.journal.signing import KEY_FILE, PUBLIC_KEY_FILE, verify_handover
from tests.controller.journal.helpers import (
    OPERATOR,
    ManualClock,
    fixed_signer,
    session_open,
    write_treatment,
)

OLD, NEW, OTHER = fixed_signer(7), fixed_signer(8), fixed_signer(9)
REASON = "key rotation after the practice laptop was replaced"


def _verify(
    directory: Path, *witnesses: WitnessHead, key: str | None = OLD.public_key_hex
) -> VerificationReport:
    return verify_path(directory, pinned_public_key=key, witnesses=list(witnesses))


def _failures(report: VerificationReport, dimension: str) -> list[str]:
    return [f.message for f in report.dimensions[dimension].findings if f.severity == "fail"]


def _rotated(directory: Path, witness: Path | None = None) -> ManualClock:
    """Session 1 by OLD, a hand-over to NEW, session 2 by NEW."""
    clock = ManualClock()
    with JournalWriter.open(directory, signer=OLD, clock=clock, witness=witness) as writer:
        write_treatment(writer, clock)
        clock.advance(60)
        writer.rotate_key(NEW, REASON, OPERATOR)
    clock.advance(3600)
    with JournalWriter.open(directory, signer=NEW, clock=clock, witness=witness) as writer:
        write_treatment(writer, clock, patient="P-0043")
    return clock


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


class _Impostor(CheckpointSigner):
    """Signs a hand-over with its own key but names OLD as the signer."""

    def hand_over(self, new_public_key: str, covers_seq: int, covers_hash: str, reason: str):
        genuine = super().hand_over(new_public_key, covers_seq, covers_hash, reason)
        return genuine.model_copy(
            update={"old_public_key": OLD.public_key_hex, "old_key_id": OLD.key_id}
        )


def test_a_hand_over_signed_by_the_key_in_force_verifies_against_the_pinned_old_key(
    tmp_path: Path,
) -> None:
    directory, witness = tmp_path / "j", tmp_path / "witness"
    _rotated(directory, witness)
    report = _verify(directory, load_witness(str(witness)))
    assert report.verdict == "PASS", [f.message for f in report.findings]
    assert report.key_ids == [OLD.key_id, NEW.key_id]
    assert report.pinned_key_id == OLD.key_id
    # the new key alone does not vouch for what the old one signed before the hand-over
    only_new = _verify(directory, load_witness(str(witness)), key=NEW.public_key_hex)
    assert only_new.verdict == "FAIL"
    assert "not by the pinned key" in _failures(only_new, "key")[0]


def test_the_hand_over_record_names_both_keys_and_the_reason_and_covers_the_record_before(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "j"
    _rotated(directory)
    report = _verify(directory, key=None)
    records = report.records
    index = next(i for i, r in enumerate(records) if r.type == "KEY_HANDOVER")
    handover, before, after = records[index], records[index - 1], records[index + 1]
    data = KeyHandover.model_validate(handover.data)
    assert (data.old_public_key, data.new_public_key) == (OLD.public_key_hex, NEW.public_key_hex)
    assert (data.old_key_id, data.new_key_id, data.reason) == (OLD.key_id, NEW.key_id, REASON)
    assert (data.covers_seq, data.covers_hash) == (before.seq, before.hash)
    assert before.type == "CHECKPOINT" and before.data["public_key"] == OLD.public_key_hex
    assert after.type == "CHECKPOINT" and after.data["public_key"] == NEW.public_key_hex
    assert after.data["covers_hash"] == handover.hash and handover.session == 1
    assert handover.mono_ns == 0 and verify_handover(data) is None


def test_a_key_change_without_a_hand_over_fails(tmp_path: Path) -> None:
    directory, clock = tmp_path / "j", ManualClock()
    with JournalWriter.open(directory, signer=OLD, clock=clock) as writer:
        write_treatment(writer, clock)
        writer._signer = NEW  # a new key, and no hand-over record
        write_treatment(writer, clock, patient="P-0043")
    report = _verify(directory, key=None)
    assert report.verdict == "FAIL"
    message = _failures(report, "checkpoints")[0]
    assert f"signed by key {NEW.key_id}, but the key in force is {OLD.key_id}" in message
    assert "changes only with a KEY_HANDOVER record signed by the key in force" in message
    pinned = _verify(directory)
    assert "nor a key it handed over to" in _failures(pinned, "key")[0]


def test_a_hand_over_signed_by_a_key_not_in_force_fails(tmp_path: Path) -> None:
    directory, clock = tmp_path / "j", ManualClock()
    with JournalWriter.open(directory, signer=OLD, clock=clock) as writer:
        write_treatment(writer, clock)
        writer._signer = OTHER  # signs a hand-over it has no right to give
        writer.rotate_key(NEW, REASON, OPERATOR)
        write_treatment(writer, clock, patient="P-0043")
    report = _verify(directory)
    assert report.verdict == "FAIL"
    found = _failures(report, "checkpoints")
    assert (
        f"key hand-over signed by key {OTHER.key_id}, but the key in force is {OLD.key_id}"
        in (found[0])
    )
    # refused, so OLD stays in force and the new key's checkpoints fail too
    assert any(f"signed by key {NEW.key_id}, but the key in force is" in m for m in found[1:])


def test_a_hand_over_whose_signature_is_not_the_old_keys_fails(tmp_path: Path) -> None:
    directory, clock = tmp_path / "j", ManualClock()
    with JournalWriter.open(directory, signer=OLD, clock=clock) as writer:
        write_treatment(writer, clock)
        writer._signer = _Impostor(OTHER._key)
        writer.rotate_key(NEW, REASON, OPERATOR)
    report = _verify(directory)
    assert report.verdict == "FAIL"
    message = _failures(report, "checkpoints")[0]
    assert message == (
        "key hand-over is not genuine: the Ed25519 signature does not verify with the old key "
        f"{OLD.key_id}"
    )


def test_records_signed_by_a_third_key_after_a_hand_over_fail(tmp_path: Path) -> None:
    directory, clock = tmp_path / "j", ManualClock()
    with JournalWriter.open(directory, signer=OLD, clock=clock) as writer:
        write_treatment(writer, clock)
        writer.rotate_key(NEW, REASON, OPERATOR)
        writer._signer = OTHER
        write_treatment(writer, clock, patient="P-0043")
    report = _verify(directory)
    assert report.verdict == "FAIL"
    message = _failures(report, "checkpoints")[0]
    assert f"signed by key {OTHER.key_id}, but the key in force is {NEW.key_id}" in message
    with pytest.raises(JournalCorrupt, match="the key in force is"):
        JournalWriter.open(directory, signer=OTHER, clock=ManualClock())


def test_a_hand_over_inside_an_open_session_fails(tmp_path: Path) -> None:
    directory, clock = tmp_path / "j", ManualClock()
    with JournalWriter.open(directory, signer=OLD, clock=clock) as writer:
        writer.open_session(session_open(), OPERATOR)
        writer._write(
            OLD.hand_over(NEW.public_key_hex, writer.last_seq, writer.last_hash, REASON), OPERATOR
        )
        writer._signer = NEW
        writer.close_session("completed", "done", OPERATOR)
    report = _verify(directory, key=None)
    assert any("a key hand-over inside an open session" in m for m in _failures(report, "schema"))


def test_the_writer_hands_over_only_between_sessions_of_a_journal_that_has_one(
    tmp_path: Path,
) -> None:
    clock = ManualClock()
    with JournalWriter.open(tmp_path / "j", signer=OLD, clock=clock) as writer:
        with pytest.raises(JournalStateError) as empty:
            writer.rotate_key(NEW, REASON, OPERATOR)
        assert str(empty.value) == (
            "the journal holds no session yet, so no key has signed anything: there is nothing "
            "to hand over; start the journal with the new key instead"
        )
        writer.open_session(session_open(), OPERATOR)
        with pytest.raises(JournalStateError, match="between sessions"):
            writer.rotate_key(NEW, REASON, OPERATOR)
        writer.close_session("completed", "done", OPERATOR)
        with pytest.raises(JournalStateError, match="already the journal's key"):
            writer.rotate_key(OLD, REASON, OPERATOR)
        for reason in ("", "r" * 2001):
            with pytest.raises(JournalStateError) as long_or_empty:
                writer.rotate_key(NEW, reason, OPERATOR)
            assert str(long_or_empty.value) == (
                "the reason for a key hand-over takes 1 to 2000 characters"
            )
        with pytest.raises(JournalStateError, match="actor"):
            writer.rotate_key(NEW, REASON, "not an actor!")
        assert writer.key_id == OLD.key_id  # nothing was handed over
    with pytest.raises(JournalKeyMismatch, match="penctl journal rotate-key"):
        JournalWriter.open(tmp_path / "j", signer=NEW, clock=clock)


def test_a_witness_and_rollback_detection_work_across_a_hand_over(tmp_path: Path) -> None:
    directory, witness = tmp_path / "j", tmp_path / "witness"
    clock = ManualClock()
    with JournalWriter.open(directory, signer=OLD, clock=clock, witness=witness) as writer:
        write_treatment(writer, clock)
    before_handover = load_witness(str(witness))  # signed by OLD
    session_1, old_head = (
        (directory / "session-000001.jsonl").read_bytes(),
        (directory / "head.json").read_bytes(),
    )
    with JournalWriter.open(directory, signer=OLD, clock=clock, witness=witness) as writer:
        writer.rotate_key(NEW, REASON, OPERATOR)
    with JournalWriter.open(directory, signer=NEW, clock=clock, witness=witness) as writer:
        write_treatment(writer, clock, patient="P-0043")
    after = load_witness(str(witness))  # signed by NEW
    assert _verify(directory, before_handover, after).verdict == "PASS"
    # rolled back to before the hand-over: the old key's genuine head, the later records cut
    rolled = tmp_path / "rolled"
    shutil.copytree(directory, rolled)
    os.remove(rolled / "session-000002.jsonl")
    (rolled / "session-000001.jsonl").write_bytes(session_1)
    (rolled / "head.json").write_bytes(old_head)
    assert _verify(rolled, before_handover).verdict == "PASS"  # consistent in itself
    report = _verify(rolled, after)
    assert report.verdict == "FAIL" and _failures(report, "witness")
    with pytest.raises(JournalCorrupt, match="witness"):
        JournalWriter.open(rolled, signer=OLD, clock=ManualClock(), witness=witness)
    # a paper fingerprint taken after the hand-over catches it too
    assert _verify(rolled, load_witness(f"{after.seq}:{after.hash_prefix}")).verdict == "FAIL"


def test_a_witness_left_with_the_old_keys_head_still_lets_the_writer_open(tmp_path: Path) -> None:
    """Rotated without the witness attached: its head, signed by the old key, is an earlier
    point of the same chain, not a forgery."""
    directory, witness = tmp_path / "j", tmp_path / "witness"
    clock = ManualClock()
    with JournalWriter.open(directory, signer=OLD, clock=clock, witness=witness) as writer:
        write_treatment(writer, clock)
    with JournalWriter.open(directory, signer=OLD, clock=clock) as writer:
        writer.rotate_key(NEW, REASON, OPERATOR)
    with JournalWriter.open(directory, signer=NEW, clock=clock, witness=witness) as writer:
        assert writer.witness_error is None
        write_treatment(writer, clock, patient="P-0043")
    assert _verify(directory, load_witness(str(witness))).verdict == "PASS"


def test_a_crash_tearing_the_hand_over_is_recovered_with_the_old_key(tmp_path: Path) -> None:
    directory, clock = tmp_path / "j", ManualClock()
    with JournalWriter.open(directory, signer=OLD, clock=clock) as writer:
        write_treatment(writer, clock)
    session, head = directory / "session-000001.jsonl", (directory / "head.json").read_bytes()
    closed = session.read_bytes()
    with JournalWriter.open(directory, signer=OLD, clock=clock) as writer:
        writer.rotate_key(NEW, REASON, OPERATOR)
    written = session.read_bytes()
    session.write_bytes(written[: len(closed) + 300])  # the one write, torn
    (directory / "head.json").write_bytes(head)
    assert _verify(directory, key=None).verdict == "INCOMPLETE"  # a crash's mark, not a FAIL
    with pytest.raises(JournalKeyMismatch):
        JournalWriter.open(directory, signer=NEW, clock=clock)  # the hand-over did not happen
    with JournalWriter.open(directory, signer=OLD, clock=clock) as writer:
        assert writer.recovery is not None and len(writer.recovery.kept_aside) == 1
        assert "after it was closed" in writer.recovery.message
        writer.rotate_key(NEW, REASON, OPERATOR)
    report = _verify(directory, load_witness(str(directory / "head.json")))
    assert report.verdict == "INCOMPLETE"  # the recovery's mark stays; nothing failed
    assert not [f for f in report.findings if f.severity == "fail"]


@pytest.mark.parametrize("lost", ["head", "checkpoint"])
def test_a_crash_after_the_hand_over_record_leaves_the_new_key_in_force(
    tmp_path: Path, lost: str
) -> None:
    """Stopped before head.json was re-signed, or with the new key's checkpoint lost: the
    hand-over is durable, so the new key continues the journal and the old one may not."""
    directory, clock = tmp_path / "j", ManualClock()
    with JournalWriter.open(directory, signer=OLD, clock=clock) as writer:
        write_treatment(writer, clock)
    head = (directory / "head.json").read_bytes()
    with JournalWriter.open(directory, signer=OLD, clock=clock) as writer:
        writer.rotate_key(NEW, REASON, OPERATOR)
    session = directory / "session-000001.jsonl"
    if lost == "checkpoint":
        session.write_bytes(b"".join(_lines(session)[:-1]))
    (directory / "head.json").write_bytes(head)
    assert _verify(directory, key=None).verdict != "FAIL"
    with pytest.raises(JournalKeyMismatch, match=f"signed with key {NEW.key_id}"):
        JournalWriter.open(directory, signer=OLD, clock=clock)
    with JournalWriter.open(directory, signer=NEW, clock=clock) as writer:
        write_treatment(writer, clock, patient="P-0043")
    report = _verify(directory, load_witness(str(directory / "head.json")))
    assert report.verdict == ("PASS" if lost == "head" else "INCOMPLETE")
    assert not [f for f in report.findings if f.severity == "fail"]


def test_penctl_journal_rotate_key_hands_over_and_audit_trust_follows_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory, old_keys, new_keys = tmp_path / "j", tmp_path / "old-keys", tmp_path / "new-keys"
    clock = ManualClock()
    with JournalWriter.open(directory, key_dir=old_keys, clock=clock) as writer:
        write_treatment(writer, clock)
    argv = ["journal", "rotate-key", "--journal", str(directory), "--old-key", str(old_keys)]
    argv += ["--new-key", str(new_keys), "--reason", REASON, "--operator", OPERATOR]
    assert main([*argv, "--witness", str(tmp_path / "witness")]) == 0
    out = capsys.readouterr().out
    new = CheckpointSigner.load_or_create(new_keys)
    old = CheckpointSigner.from_path(old_keys / KEY_FILE)
    assert f"from key {old.key_id} to key {new.key_id}" in out and "head fingerprint" in out
    assert (new_keys / PUBLIC_KEY_FILE).exists()
    assert main(argv) == 0  # again: already done, nothing written
    assert "already signed with key" in capsys.readouterr().out
    with JournalWriter.open(directory, key_dir=new_keys, clock=clock) as writer:
        write_treatment(writer, clock, patient="P-0043")
    trust = tmp_path / "trust"
    assert main(["audit", "trust", str(old_keys / PUBLIC_KEY_FILE), "--trust-dir", str(trust)]) == 0
    verify = ["audit", "verify", str(directory), "--trust-dir", str(trust)]
    assert main([*verify, "--witness", str(directory / "head.json")]) == 0
    assert main([*verify[:3], "--public-key", str(old_keys / PUBLIC_KEY_FILE)]) == 4  # no witness
    capsys.readouterr()


def test_penctl_journal_rotate_key_takes_each_key_as_its_pem_file_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--old-key and --new-key name a key directory or the private key file itself (its --help
    and docs/journal.md §4): an existing new key given as its file is used, not replaced."""
    directory, old_keys, new_keys = tmp_path / "j", tmp_path / "old-keys", tmp_path / "new-keys"
    clock = ManualClock()
    with JournalWriter.open(directory, key_dir=old_keys, clock=clock) as writer:
        write_treatment(writer, clock)
    old, new = (CheckpointSigner.load_or_create(keys) for keys in (old_keys, new_keys))
    argv = ["journal", "rotate-key", "--journal", str(directory)]
    argv += ["--old-key", str(old_keys / KEY_FILE), "--new-key", str(new_keys / KEY_FILE)]
    assert main([*argv, "--reason", REASON, "--operator", OPERATOR]) == 0
    assert f"from key {old.key_id} to key {new.key_id}" in capsys.readouterr().out
    assert CheckpointSigner.load_or_create(new_keys).key_id == new.key_id
    assert _verify(directory, key=old.public_key_hex).key_ids == [old.key_id, new.key_id]


def test_penctl_journal_rotate_key_with_a_wrong_old_key_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory, clock = tmp_path / "j", ManualClock()
    with JournalWriter.open(directory, signer=OLD, clock=clock) as writer:
        write_treatment(writer, clock)
    before = {p.name: p.read_bytes() for p in directory.iterdir()}
    stranger = tmp_path / "stranger"
    CheckpointSigner.load_or_create(stranger)
    argv = ["journal", "rotate-key", "--journal", str(directory), "--old-key", str(stranger)]
    argv += ["--new-key", str(tmp_path / "new"), "--reason", REASON, "--operator", OPERATOR]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "is signed with key" in err and "Traceback" not in err
    assert main([*argv[:5], str(tmp_path / "missing.pem"), *argv[6:]]) == 1
    missing = f"cannot read the journal signing key {tmp_path / 'missing.pem'}: No such file"
    assert missing in capsys.readouterr().err  # the file given, not a key inside it
    assert {p.name: p.read_bytes() for p in directory.iterdir()} == before
    assert not (tmp_path / "new").exists()  # no new key made for a hand-over that failed
    assert main([*argv[:3], str(tmp_path / "nowhere"), *argv[4:]]) == 1
    assert "holds no journal (head.json is missing)" in capsys.readouterr().err
    assert not (tmp_path / "nowhere").exists()


def test_the_timeline_shows_the_hand_over_and_the_session_ends_at_its_close(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The hand-over is the journal's, not the treatment's: an hour later, it does not stretch
    the session's span in `penctl audit show`."""
    directory, clock = tmp_path / "j", ManualClock()
    with JournalWriter.open(directory, signer=OLD, clock=clock) as writer:
        write_treatment(writer, clock)
    main(["audit", "show", str(directory)])
    before = capsys.readouterr().out
    clock.advance(3600)
    with JournalWriter.open(directory, signer=OLD, clock=clock) as writer:
        writer.rotate_key(NEW, REASON, OPERATOR)
    main(["audit", "show", str(directory)])
    after = capsys.readouterr().out
    header = next(line for line in before.splitlines() if line.startswith("Session 1 "))
    assert header in after.splitlines()
    assert (
        f"signing key handed over from {OLD.key_id} to {NEW.key_id} (signed by {OLD.key_id}): "
        f"{REASON}" in after
    )


def test_a_history_forked_with_a_stolen_old_key_is_caught_only_by_a_later_witness(
    tmp_path: Path,
) -> None:
    """A hand-over cannot revoke: the old key, stolen, signs its own hand-over from the point
    it vouched for. Against the pinned key alone that history is consistent (UNPROTECTED, never
    PASS); a witness that saw the real hand-over's head fails it as a fork (docs/journal.md §4)."""
    genuine, witness = tmp_path / "genuine", tmp_path / "witness"
    _rotated(genuine, witness)
    forged, clock = tmp_path / "forged", ManualClock()
    with JournalWriter.open(forged, signer=OLD, clock=clock) as writer:
        write_treatment(writer, clock)
        writer.rotate_key(OTHER, "the thief's key", OPERATOR)
    clock.advance(3600)
    with JournalWriter.open(forged, signer=OTHER, clock=clock) as writer:
        write_treatment(writer, clock, patient="P-0666")
    assert (forged / "session-000001.jsonl").read_bytes()[:200] == (
        genuine / "session-000001.jsonl"
    ).read_bytes()[:200]
    assert _verify(forged).verdict == "UNPROTECTED"
    report = _verify(forged, load_witness(str(witness)))
    assert report.verdict == "FAIL" and _failures(report, "witness")


def test_a_hand_over_reason_of_1_or_of_2000_characters_is_recorded_whole(tmp_path: Path) -> None:
    directory, witness = tmp_path / "j", tmp_path / "witness"
    clock = ManualClock()
    with JournalWriter.open(directory, signer=OLD, clock=clock, witness=witness) as writer:
        writer.open_session(session_open(), OPERATOR)
        writer.close_session("completed", "done", OPERATOR)
        short = writer.rotate_key(NEW, "r", OPERATOR)
        long = writer.rotate_key(OTHER, "r" * 2000, OPERATOR)
    assert (short.data["reason"], long.data["reason"]) == ("r", "r" * 2000)
    report = _verify(directory, load_witness(str(witness)))
    assert report.verdict == "PASS", [f.message for f in report.findings]


def test_a_hand_over_is_signed_over_the_documented_bytes_with_the_reason_as_its_utf8_sha256(
    tmp_path: Path,
) -> None:
    """An auditor checking by hand (docs/journal.md §4) rebuilds the signed bytes from the record
    alone, the reason, whatever characters it holds, entering as the SHA-256 of its UTF-8: the old
    key's signature must verify over exactly those bytes, and over no others."""
    reason = "clé volée — lost with the laptop"
    clock = ManualClock()
    with JournalWriter.open(tmp_path / "j", signer=OLD, clock=clock) as writer:
        writer.open_session(session_open(), OPERATOR)
        writer.close_session("completed", "done", OPERATOR)
        data = KeyHandover.model_validate(writer.rotate_key(NEW, reason, OPERATOR).data)
    documented = (
        f"penctl-journal key-handover v1\nseq {data.covers_seq}\nhash {data.covers_hash}\n"
        f"old {data.old_public_key}\nnew {data.new_public_key}\n"
        f"reason {hashlib.sha256(reason.encode('utf-8')).hexdigest()}\n"
    ).encode("ascii")
    old_key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(OLD.public_key_hex))
    old_key.verify(bytes.fromhex(data.signature), documented)  # raises if not these bytes
    with pytest.raises(InvalidSignature):
        old_key.verify(bytes.fromhex(data.signature), documented.replace(b"seq ", b"seq 1"))
