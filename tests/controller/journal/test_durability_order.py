"""S7 at the system-call level: each step that must survive a power cut is fsynced, in order.

A power cut is not something a test can cause, so these tests watch the calls instead: the real
`os` functions run, and each call is recorded with the name of the file it touched.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from controller.journal import ChecklistAnswer, JournalCorrupt, JournalWriter
from controller.journal.format import canonical_json, record_hash
from tests.controller.journal.helpers import OPERATOR, ManualClock, fixed_signer, session_open

SESSION = "session-000001.jsonl"


def _name(fd: int) -> str:
    return os.path.basename(os.readlink(f"/proc/self/fd/{fd}"))


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """write, fsync, ftruncate and rename, as "call:file" in the order they ran."""
    seen: list[str] = []
    real_write, real_fsync = os.write, os.fsync
    real_ftruncate, real_replace = os.ftruncate, os.replace

    def write(fd: int, data: bytes | memoryview) -> int:
        seen.append(f"write:{_name(fd)}")
        return real_write(fd, data)

    def fsync(fd: int) -> None:
        seen.append(f"fsync:{_name(fd)}")
        real_fsync(fd)

    def ftruncate(fd: int, length: int) -> None:
        seen.append(f"ftruncate:{_name(fd)}")
        real_ftruncate(fd, length)

    def replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        seen.append(f"replace:{os.path.basename(dst)}")
        real_replace(src, dst)

    monkeypatch.setattr(os, "write", write)
    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "ftruncate", ftruncate)
    monkeypatch.setattr(os, "replace", replace)
    yield seen


def _open(directory: Path) -> JournalWriter:
    return JournalWriter.open(directory, signer=fixed_signer(), clock=ManualClock())


def test_s7_head_json_renamed_into_place_is_followed_by_a_directory_fsync(
    tmp_path: Path, calls: list[str]
) -> None:
    """Without the directory fsync a power cut can bring back the old head.json."""
    directory = tmp_path / "j"
    with _open(directory) as writer:
        writer.open_session(session_open(), OPERATOR)
        writer.close_session("completed", "done", OPERATOR)
    renames = [i for i, call in enumerate(calls) if call == "replace:head.json"]
    assert renames
    for index in renames:
        assert calls[index + 1 : index + 2] == [f"fsync:{directory.name}"]


def _torn_journal(directory: Path) -> None:
    with _open(directory) as writer:
        writer.open_session(session_open(), OPERATOR)
    path = directory / SESSION
    path.write_bytes(path.read_bytes() + b'{"torn":')


def test_s7_the_recovery_cut_of_a_torn_tail_is_fsynced_before_anything_follows(
    tmp_path: Path, calls: list[str]
) -> None:
    """The cut must be durable before the RECOVERY record is appended after it."""
    directory = tmp_path / "j"
    _torn_journal(directory)
    calls.clear()
    with _open(directory) as writer:
        assert writer.recovery is not None and writer.recovery.kept_aside
    cut = calls.index(f"ftruncate:{SESSION}")
    assert calls[cut + 1] == f"fsync:{SESSION}"
    assert f"write:{SESSION}" in calls[cut + 2 :]  # the RECOVERY record, after the cut


def test_s7_recovery_refuses_a_record_that_does_not_link_to_the_one_before(
    tmp_path: Path,
) -> None:
    """Its own hash is right and its number follows, but its `prev` names another record: the
    file was spliced, and recovery must not continue the chain from it."""
    directory = tmp_path / "j"
    with _open(directory) as writer:
        writer.open_session(session_open(), OPERATOR)
        writer.checkpoint(OPERATOR)
    path = directory / SESSION
    records = [json.loads(line) for line in path.read_bytes().splitlines()]
    last = records[-1]
    last["prev"] = "ab" * 32
    last["hash"] = record_hash(last)
    path.write_bytes(b"".join(canonical_json(r) + b"\n" for r in records))
    with pytest.raises(JournalCorrupt, match=f"does not follow record {records[-2]['seq']}"):
        _open(directory)


def test_s7_a_periodic_checkpoint_rides_in_the_write_of_the_record_it_covers(
    tmp_path: Path, calls: list[str]
) -> None:
    """64 appends cost 64 writes and 64 fsyncs of the session file: the checkpoint due after the
    64th unsigned record is signed first and written with it; only head.json's atomic rewrite
    follows, after the fsync that acknowledges both."""
    directory = tmp_path / "j"
    with _open(directory) as writer:
        writer.open_session(session_open(), OPERATOR)
        calls.clear()
        for _ in range(63):  # SESSION_OPEN is the first of the 64
            writer.append(ChecklistAnswer(item_id="x", question="q", answer="yes"), OPERATOR)
        records = (directory / SESSION).read_bytes().splitlines()
    assert [json.loads(line)["type"] for line in records[-2:]] == ["CHECKLIST", "CHECKPOINT"]
    on_session = [call for call in calls if call.endswith(SESSION)]
    assert on_session == [f"write:{SESSION}", f"fsync:{SESSION}"] * 63
    last_fsync = len(calls) - 1 - calls[::-1].index(f"fsync:{SESSION}")
    assert "replace:head.json" in calls[last_fsync:]


def test_s7_a_key_hand_over_and_the_new_keys_checkpoint_are_one_write_and_one_fsync(
    tmp_path: Path, calls: list[str]
) -> None:
    directory = tmp_path / "j"
    with _open(directory) as writer:
        writer.open_session(session_open(), OPERATOR)
        writer.close_session("completed", "done", OPERATOR)
        calls.clear()
        writer.rotate_key(fixed_signer(8), "rotation", OPERATOR)
    assert [call for call in calls if call.endswith(SESSION)] == [
        f"write:{SESSION}",
        f"fsync:{SESSION}",
    ]
    assert calls.index("replace:head.json") > calls.index(f"fsync:{SESSION}")
