"""The verifier detects every change an attacker or a fault can make, and names where (§9 D)."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from controller.journal import JournalCorrupt, JournalWriter
from controller.journal.audit import VerificationReport, verify_journal, verify_path
from controller.journal.audit.anchors import WitnessHead
from controller.journal.format import HeadCheckpoint, canonical_json, parse_head, record_hash
from controller.journal.signing import CheckpointSigner
from tests.controller.journal.helpers import (
    fixed_signer,
    write_compact_journal,
    write_sample_journal,
)

NOW = datetime(2026, 3, 5, 10, 0, tzinfo=UTC)
S1, S2, HEAD = "session-000001.jsonl", "session-000002.jsonl", "head.json"


@pytest.fixture(scope="module")
def compact(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    directory = tmp_path_factory.mktemp("compact") / "j"
    write_compact_journal(directory)
    return {name: (directory / name).read_bytes() for name in (S1, S2, HEAD)}


GENUINE_KEY = fixed_signer().public_key_hex


def _verify(
    files: dict[str, bytes],
    pinned: str | None = GENUINE_KEY,
    witnesses: Sequence[WitnessHead] = (),
) -> VerificationReport:
    return verify_journal(
        {name: data for name, data in files.items() if name != HEAD},
        head=files.get(HEAD),
        kept_aside={},
        kind="directory",
        path="journal",
        now=NOW,
        pinned_public_key=pinned,
        witnesses=witnesses,
    )


def _witness(files: dict[str, bytes]) -> WitnessHead:
    """A witness that copied this head.json."""
    return WitnessHead.of_head("witness/head.json", parse_head(files[HEAD]))


def _records(data: bytes) -> list[dict]:
    return [json.loads(line) for line in data.splitlines()]


def _encode(records: list[dict]) -> bytes:
    return b"".join(canonical_json(r) + b"\n" for r in records)


def _rechain(records: list[dict], prev: str) -> list[dict]:
    """What an attacker without the key can do: renumber and rehash everything after a change."""
    out = []
    for index, record in enumerate(records):
        record = {**record, "prev": prev}
        if index > 0:
            record["seq"] = out[-1]["seq"] + 1
        record["hash"] = record_hash(record)
        prev = record["hash"]
        out.append(record)
    return out


def _line_spans(data: bytes) -> list[tuple[int, int, int]]:
    """(start, end including the newline, seq) of each line."""
    spans, start = [], 0
    for line in data.splitlines(keepends=True):
        spans.append((start, start + len(line), json.loads(line)["seq"]))
        start += len(line)
    return spans


def test_an_untouched_journal_passes_every_dimension(compact: dict[str, bytes]) -> None:
    report = _verify(compact, witnesses=[_witness(compact)])
    assert report.verdict == "PASS" and report.exit_code == 0
    assert {name: d.status for name, d in report.dimensions.items()} == {
        "framing": "pass",
        "schema": "pass",
        "sequence": "pass",
        "chain": "pass",
        "links": "pass",
        "checkpoints": "pass",
        "termination": "pass",
        "key": "pass",
        "witness": "pass",
    }
    assert report.first_failure is None


def test_every_single_byte_flip_is_detected_and_names_the_right_record(
    compact: dict[str, bytes],
) -> None:
    """§9 D.13: each byte of both session files and head.json, changed to another value."""
    mutations = detected = named = 0
    for name in (S1, S2):
        data = compact[name]
        for start, end, seq in _line_spans(data):
            for position in range(start, end):
                mutated = bytearray(data)
                mutated[position] ^= 1 << (position % 8)
                report = _verify({**compact, name: bytes(mutated)})
                mutations += 1
                detected += report.verdict == "FAIL"
                failure = report.first_failure
                assert failure is not None, f"{name} byte {position} undetected"
                assert (failure.file, failure.seq, failure.offset) == (name, seq, start), (
                    f"{name} byte {position}: named {failure.where()} ({failure.message})"
                )
                named += 1
    head = compact[HEAD]
    for position in range(len(head)):
        mutated = bytearray(head)
        mutated[position] ^= 1 << (position % 8)
        report = _verify({**compact, HEAD: bytes(mutated)})
        mutations += 1
        detected += report.verdict == "FAIL"
        assert report.first_failure is not None and report.first_failure.file == HEAD
        named += 1
    assert mutations == detected == named == len(compact[S1]) + len(compact[S2]) + len(head)


def test_deleting_a_record_is_a_gap_named_where_it_was(compact: dict[str, bytes]) -> None:
    records = _records(compact[S1])
    offset = sum(len(canonical_json(r)) + 1 for r in records[:4])
    report = _verify({**compact, S1: _encode(records[:4] + records[5:])})
    assert report.verdict == "FAIL"
    assert report.dimensions["sequence"].status == "fail"
    assert report.dimensions["chain"].status == "fail"
    first = report.first_failure
    assert first is not None and (first.seq, first.offset) == (5, offset)
    assert "record 5 is missing" in first.message


def _reorder(records: list[dict]) -> list[dict]:
    return [*records[:3], records[4], records[3], *records[5:]]


def _duplicate(records: list[dict]) -> list[dict]:
    return [*records[:4], records[3], *records[4:]]


def _insert(records: list[dict]) -> list[dict]:
    """A well-formed record with the right seq, prev and hash, slipped in after record 4."""
    forged = {**records[3], "data": {**records[3]["data"], "depth_um": 2500}, "seq": 5}
    return [*records[:4], _rechain([forged], records[3]["hash"])[0], *records[4:]]


@pytest.mark.parametrize("attack", [_reorder, _duplicate, _insert])
def test_reordered_duplicated_and_inserted_records_are_detected(
    compact: dict[str, bytes], attack
) -> None:
    report = _verify({**compact, S1: _encode(attack(_records(compact[S1])))})
    assert report.verdict == "FAIL"
    assert report.dimensions["sequence"].status == "fail"
    assert report.dimensions["chain"].status == "fail"
    assert report.first_failure is not None and report.first_failure.file == S1


def test_rewriting_the_chain_after_a_change_is_caught_by_the_signatures(
    compact: dict[str, bytes],
) -> None:
    """Without the key, a recomputed chain cannot carry a valid checkpoint."""
    records = _records(compact[S1])
    records[3]["data"]["depth_um"] = 2500
    forged = _rechain(records[3:], records[2]["hash"])
    report = _verify({**compact, S1: _encode(records[:3] + forged)})
    assert report.dimensions["chain"].status == "pass"
    assert report.dimensions["checkpoints"].status == "fail"
    assert report.dimensions["links"].status == "fail"
    assert report.verdict == "FAIL"


def test_a_deleted_session_file_is_detected(compact: dict[str, bytes]) -> None:
    middle = _verify({S2: compact[S2], HEAD: compact[HEAD]})
    assert middle.dimensions["links"].status == "fail"
    assert middle.first_failure is not None and middle.first_failure.file == S1
    newest = _verify({S1: compact[S1], HEAD: compact[HEAD]})
    assert newest.dimensions["links"].status == "fail"
    assert "newer session files were deleted" in newest.dimensions["links"].findings[0].message
    headless = _verify({S1: compact[S1], S2: compact[S2]})
    assert headless.verdict == "FAIL" and "head.json is missing" in headless.first_failure.message


def test_a_deleted_middle_session_among_three_names_the_missing_file(tmp_path: Path) -> None:
    write_sample_journal(tmp_path / "j", sessions=3)
    held = json.loads((tmp_path / "j" / S2).read_bytes().splitlines()[0])["seq"]
    os.remove(tmp_path / "j" / S2)
    report = verify_path(tmp_path / "j")
    assert report.verdict == "FAIL" and report.exit_code == 1
    first = report.first_failure
    assert first is not None and first.file == S2 and first.dimension == "links"
    assert first.seq == held  # the first record session 2 held


def test_cutting_a_sessions_tail_is_detected(compact: dict[str, bytes]) -> None:
    first = _records(compact[S1])
    older = _verify({**compact, S1: _encode(first[:-2])})
    assert older.dimensions["termination"].status == "fail"
    assert older.dimensions["links"].status == "fail"
    second = _records(compact[S2])
    newest = _verify({**compact, S2: _encode(second[:-1])})
    assert newest.verdict == "FAIL"
    failure = newest.first_failure
    assert failure is not None and (failure.file, failure.seq) == (S2, second[-1]["seq"])
    assert "tail was cut" in failure.message
    mid_record = _verify({**compact, S2: compact[S2][:-30]})
    assert mid_record.verdict == "FAIL"


def test_a_checkpoint_signature_replayed_onto_another_record_is_detected(
    compact: dict[str, bytes],
) -> None:
    """§11.70: a signature cannot be moved to another record."""
    first, second = _records(compact[S1]), _records(compact[S2])
    second[-1]["data"] = first[-1]["data"]
    second[-1]["hash"] = record_hash(second[-1])
    report = _verify({**compact, S2: _encode(second)})
    assert report.dimensions["checkpoints"].status == "fail"
    assert "not the record right before it" in report.dimensions["checkpoints"].findings[0].message


def _resign_all(files: dict[str, bytes], signer: CheckpointSigner) -> dict[str, bytes]:
    prev, out = "0" * 64, dict(files)
    for name in (S1, S2):
        records = _records(files[name])
        for index, record in enumerate(records):
            record["prev"] = prev
            if record["type"] == "CHECKPOINT":
                before = records[index - 1]
                record["data"] = signer.sign(before["seq"], before["hash"]).model_dump()
            record["hash"] = prev = record_hash(record)
        out[name] = _encode(records)
    head = json.loads(files[HEAD])
    head["checkpoint"]["hash"], head["checkpoint"]["key_id"] = prev, signer.key_id
    out[HEAD] = signer.sign_head(
        head["last_session"], HeadCheckpoint(**head["checkpoint"])
    ).to_bytes()
    return out


def test_a_journal_re_signed_with_another_key_fails_against_the_pinned_key(
    compact: dict[str, bytes],
) -> None:
    """The honest threshold: a whole journal re-signed with a new key is consistent in itself;
    pinning the controller's public key (`--public-key`) is what exposes it."""
    forged = _resign_all(compact, fixed_signer(seed=99))
    unpinned = _verify(forged, pinned=None)
    assert unpinned.verdict == "UNPROTECTED" and unpinned.exit_code == 4
    assert "key not pinned" in unpinned.dimensions["key"].findings[0].message
    report = _verify(forged)
    assert report.verdict == "FAIL"
    assert "not by the pinned key" in report.dimensions["key"].findings[0].message
    assert _verify(compact, witnesses=[_witness(compact)]).verdict == "PASS"
    # a witness that saw the genuine head exposes it without a pinned key too
    witnessed = _verify(forged, pinned=None, witnesses=[_witness(compact)])
    assert witnessed.verdict == "FAIL"
    assert "re-signed" in witnessed.dimensions["witness"].findings[0].message


def test_checkpoints_by_two_keys_in_one_journal_fail(compact: dict[str, bytes]) -> None:
    forged = _resign_all(compact, fixed_signer(seed=99))
    mixed = {**compact, S2: forged[S2]}
    second = _records(mixed[S2])
    second[0]["prev"] = _records(compact[S1])[-1]["hash"]
    mixed[S2] = _encode(_rechain(second[:-1], second[0]["prev"]))
    records = _records(mixed[S2])
    records.append(
        {
            **second[-1],
            "seq": records[-1]["seq"] + 1,
            "prev": records[-1]["hash"],
            "data": fixed_signer(seed=99)
            .sign(records[-1]["seq"], records[-1]["hash"])
            .model_dump(),
        }
    )
    records[-1]["hash"] = record_hash(records[-1])
    mixed[S2] = _encode(records)
    report = _verify(mixed)
    assert any("changes only with a KEY_HANDOVER record" in f.message for f in report.findings)


def test_an_open_session_is_incomplete_not_failed(tmp_path: Path) -> None:
    from controller.journal import JournalWriter
    from tests.controller.journal.helpers import OPERATOR, ManualClock, session_open

    write_sample_journal(tmp_path / "j", sessions=1)
    with JournalWriter.open(tmp_path / "j", signer=fixed_signer(), clock=ManualClock()) as writer:
        writer.open_session(session_open(), OPERATOR)
    report = verify_path(tmp_path / "j")
    assert report.verdict == "INCOMPLETE" and report.exit_code == 3
    assert report.dimensions["termination"].status == "incomplete"
    assert report.first_failure is None
    assert "not closed" in report.first_problem.message


def test_a_single_session_file_is_verified_on_its_own(tmp_path: Path) -> None:
    write_sample_journal(tmp_path / "j", sessions=2)
    report = verify_path(tmp_path / "j" / S2, pinned_public_key=GENUINE_KEY)
    assert report.kind == "file" and report.verdict == "PASS"
    assert report.dimensions["links"].status == "skipped"
    assert report.to_dict()["dimensions"]["links"]["skipped_because"]


def test_the_report_is_deterministic_for_the_same_input_and_time(
    compact: dict[str, bytes],
) -> None:
    """§9 D.17: same input and injected `now` give a byte-identical report."""
    first = json.dumps(_verify(compact).to_dict(), sort_keys=True)
    assert first == json.dumps(_verify(dict(compact)).to_dict(), sort_keys=True)
    assert json.loads(first)["verified_at"] == "2026-03-05T10:00:00Z"


@pytest.mark.parametrize(
    "hostile",
    [
        pytest.param(b"[" * 100_000 + b"]" * 100_000, id="nested-100000-deep"),
        pytest.param(b'{"seq":' + b"9" * 5000 + b"}", id="integer-of-5000-digits"),
    ],
)
def test_s9_a_line_python_json_cannot_decode_is_a_framing_failure_not_a_crash(
    compact: dict[str, bytes], tmp_path: Path, hostile: bytes
) -> None:
    """json.loads raises RecursionError or a plain ValueError on these, not JSONDecodeError."""
    offset = len(compact[S2])
    report = _verify({**compact, S2: compact[S2] + hostile + b"\n"})
    failure = report.first_failure
    assert report.verdict == "FAIL" and failure is not None
    assert (failure.dimension, failure.file, failure.offset) == ("framing", S2, offset)
    assert failure.seq == 14
    directory = tmp_path / "j"
    directory.mkdir()
    for name, data in compact.items():
        (directory / name).write_bytes(data)
    (directory / S2).write_bytes(compact[S2][: compact[S2].index(b"\n") + 1] + hostile + b"\n")
    with pytest.raises(JournalCorrupt, match="unreadable"):
        JournalWriter.open(directory, signer=fixed_signer())
