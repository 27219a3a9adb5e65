"""The writer: durable before acknowledged, latched on failure, recovering torn tails (S7)."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import signal
import stat
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from controller.journal import (
    CheckpointSigner,
    JournalBusy,
    JournalCorrupt,
    JournalError,
    JournalFault,
    JournalKeyMismatch,
    JournalStateError,
    JournalUnreadable,
    JournalWriter,
    NeedleStop,
    ParamsApplied,
    SessionClose,
    SigningKeyError,
    resolve_journal_dir,
    resolve_key_dir,
    signing,
)
from controller.journal.audit import verify_path
from controller.journal.signing import KEY_FILE, PUBLIC_KEY_FILE
from tests.controller.journal.helpers import (
    OPERATOR,
    START_WALL_NS,
    ManualClock,
    anchored,
    fixed_signer,
    session_open,
    write_compact_journal,
    write_sample_journal,
)

APPLIED = ParamsApplied(
    param_version=1, area="forehead", depth_um=500, speed_sps=110, matches_request=True
)


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_bytes().splitlines()]


def _fd_of(path: Path) -> int:
    """The descriptor this process holds on `path`, found the way `lsof` would."""
    target = str(path.resolve())
    for name in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{name}") == target:
                return int(name)
        except OSError:
            continue
    raise AssertionError(f"no open descriptor on {path}")


def _open(directory: Path, clock: ManualClock | None = None) -> JournalWriter:
    return JournalWriter.open(directory, signer=fixed_signer(), clock=(clock or ManualClock()))


def test_s7_each_append_is_one_write_and_one_fsync_before_it_returns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = _open(tmp_path / "j")
    writer.open_session(session_open(), OPERATOR)
    session_fd = _fd_of(tmp_path / "j" / "session-000001.jsonl")
    calls: list[str] = []
    real_write, real_fsync = os.write, os.fsync

    def write(fd: int, data: bytes) -> int:
        if fd == session_fd:
            calls.append("write")
        return real_write(fd, data)

    def fsync(fd: int) -> None:
        if fd == session_fd:
            calls.append("fsync")
        real_fsync(fd)

    monkeypatch.setattr(os, "write", write)
    monkeypatch.setattr(os, "fsync", fsync)
    for _ in range(5):
        record = writer.append(APPLIED, "pen")
        assert calls[-2:] == ["write", "fsync"]
        on_disk = _lines(tmp_path / "j" / "session-000001.jsonl")[-1]
        assert on_disk["seq"] == record.seq and on_disk["hash"] == record.hash
    assert calls == ["write", "fsync"] * 5
    calls.clear()
    group = writer.append_many([(APPLIED, "pen"), (APPLIED, "pen"), (APPLIED, "controller")])
    assert calls == ["write", "fsync"]  # group commit: one of each for the three
    on_disk = _lines(tmp_path / "j" / "session-000001.jsonl")[-3:]
    assert [(r["seq"], r["hash"]) for r in on_disk] == [(r.seq, r.hash) for r in group]
    assert on_disk[1]["prev"] == on_disk[0]["hash"] and on_disk[2]["prev"] == on_disk[1]["hash"]
    with pytest.raises(JournalStateError, match="written by"):
        writer.append_many([(APPLIED, "pen"), (SessionClose(outcome="completed", reason="x"), "x")])
    assert calls == ["write", "fsync"] and writer.last_seq == group[-1].seq  # nothing written
    writer.close()


def test_creating_a_session_file_fsyncs_the_directory_before_acknowledging(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = _open(tmp_path / "j")
    synced: list[str] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        kind = "dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file"
        synced.append(f"{kind}:{os.path.basename(os.readlink(f'/proc/self/fd/{fd}'))}")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    writer.open_session(session_open(), OPERATOR)
    assert synced.index("dir:j") < synced.index("file:session-000001.jsonl")
    writer.close()


def test_a_real_write_failure_latches_the_journal(tmp_path: Path) -> None:
    """ENOSPC from the kernel: the session file's descriptor is pointed at /dev/full."""
    directory = tmp_path / "j"
    writer = _open(directory)
    writer.open_session(session_open(), OPERATOR)
    acknowledged = writer.append(APPLIED, "pen")
    full = os.open("/dev/full", os.O_WRONLY)
    os.dup2(full, _fd_of(directory / "session-000001.jsonl"))
    os.close(full)

    with pytest.raises(JournalFault) as first:
        writer.append(APPLIED, "pen")
    assert isinstance(first.value.cause, OSError) and first.value.cause.errno == errno.ENOSPC
    assert "latched" in str(first.value) and "stop the treatment" in str(first.value)
    session_file = directory / "session-000001.jsonl"
    assert (first.value.path, first.value.seq) == (session_file, acknowledged.seq + 1)
    assert f"record {acknowledged.seq + 1} on {session_file}: " in str(first.value)
    assert writer.fault is first.value
    with pytest.raises(JournalFault, match="latched after an earlier write failure") as later:
        writer.append(APPLIED, "pen")
    assert f"failure on {session_file}." in str(later.value)
    assert (later.value.path, later.value.seq) == (session_file, acknowledged.seq + 1)
    with pytest.raises(JournalFault):
        writer.close_session("faulted", "journal failed", OPERATOR)
    writer.close()

    records = _lines(directory / "session-000001.jsonl")
    assert records[-1]["hash"] == acknowledged.hash
    with _open(directory) as reopened:
        assert reopened.recovery is not None and reopened.recovery.closed_as_faulted
    report = verify_path(directory)
    assert report.verdict == "INCOMPLETE"
    assert acknowledged.hash in {r.hash for r in report.records}


def test_a_real_fsync_failure_latches_the_journal(tmp_path: Path) -> None:
    """EINVAL from the kernel: the descriptor is pointed at a pipe, which cannot be fsynced."""
    directory = tmp_path / "j"
    writer = _open(directory)
    writer.open_session(session_open(), OPERATOR)
    read_end, write_end = os.pipe()
    os.dup2(write_end, _fd_of(directory / "session-000001.jsonl"))
    os.close(write_end)
    with pytest.raises(JournalFault) as caught:
        writer.append(APPLIED, "pen")
    assert caught.value.cause is not None and caught.value.cause.errno == errno.EINVAL
    with pytest.raises(JournalFault, match="latched"):
        writer.append(APPLIED, "pen")
    writer.close()
    os.close(read_end)


def test_fsync_is_never_retried_after_an_eio(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """fsyncgate: a retried fsync can "succeed" after the kernel dropped the pages."""
    writer = _open(tmp_path / "j")
    writer.open_session(session_open(), OPERATOR)
    attempts: list[int] = []

    def failing_fsync(fd: int) -> None:
        attempts.append(fd)
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(JournalFault, match="Input/output error"):
        writer.append(APPLIED, "pen")
    for _ in range(3):
        with pytest.raises(JournalFault, match="latched"):
            writer.append(APPLIED, "pen")
    assert len(attempts) == 1
    monkeypatch.undo()
    writer.close()


def test_sessions_chain_into_each_other(tmp_path: Path) -> None:
    write_sample_journal(tmp_path / "j", sessions=2)
    first = _lines(tmp_path / "j" / "session-000001.jsonl")
    second = _lines(tmp_path / "j" / "session-000002.jsonl")
    assert first[0]["prev"] == "0" * 64
    assert second[0]["prev"] == first[-1]["hash"]
    assert second[0]["seq"] == first[-1]["seq"] + 1
    assert [r["type"] for r in first[-2:]] == ["SESSION_CLOSE", "CHECKPOINT"]
    head = json.loads((tmp_path / "j" / "head.json").read_bytes())
    assert head["last_session"] == 2
    assert head["checkpoint"]["hash"] == second[-1]["hash"]


def test_timestamps_come_from_the_injected_clock(tmp_path: Path) -> None:
    clock = ManualClock()
    with _open(tmp_path / "j", clock) as writer:
        writer.open_session(session_open(), OPERATOR)
        clock.advance(90.5)
        record = writer.append(APPLIED, "pen")
    assert record.utc == "2026-03-02T10:01:30.500000Z"
    assert record.mono_ns == 90_500_000_000  # counted from the session's origin (journal.md §2)


def test_the_signing_key_is_created_once_with_mode_0600(tmp_path: Path) -> None:
    key_dir = tmp_path / "keys"
    signer = CheckpointSigner.load_or_create(key_dir)
    assert stat.S_IMODE((key_dir / KEY_FILE).stat().st_mode) == 0o600
    assert stat.S_IMODE(key_dir.stat().st_mode) == 0o700
    assert (key_dir / PUBLIC_KEY_FILE).read_bytes().startswith(b"-----BEGIN PUBLIC KEY-----")
    assert CheckpointSigner.load_or_create(key_dir).key_id == signer.key_id
    with JournalWriter.open(tmp_path / "j", key_dir=key_dir) as writer:
        writer.open_session(session_open(), OPERATOR)
        checkpoint = writer.close_session("completed", "done", OPERATOR)
    assert checkpoint.data["public_key"] == signer.public_key_hex
    assert checkpoint.data["key_id"] == signer.key_id


def test_a_signing_key_readable_by_others_is_refused(tmp_path: Path) -> None:
    key_dir = tmp_path / "keys"
    CheckpointSigner.load_or_create(key_dir)
    os.chmod(key_dir / KEY_FILE, 0o644)
    with pytest.raises(SigningKeyError, match="chmod 600"):
        CheckpointSigner.load_or_create(key_dir)


def test_a_journal_signed_by_another_key_is_not_continued(tmp_path: Path) -> None:
    write_sample_journal(tmp_path / "j", sessions=1)
    with pytest.raises(JournalKeyMismatch, match="penctl journal rotate-key"):
        JournalWriter.open(tmp_path / "j", signer=fixed_signer(seed=99))


@pytest.mark.parametrize("newest", ["closed", "opened-then-crashed"])
def test_a_journal_signed_by_another_key_with_the_same_key_id_is_not_continued(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, newest: str
) -> None:
    """key_id is 64 bits of SHA-256, short enough to collide on purpose: the writer compares the
    whole public key of the journal's checkpoints (and of the one head.json names) with its own."""
    monkeypatch.setattr(signing, "key_id", lambda raw: "c0111de5c0111de5")
    directory = tmp_path / "j"
    write_sample_journal(directory, sessions=1)
    if newest == "opened-then-crashed":
        with _open(directory) as writer:
            writer.open_session(session_open(), OPERATOR)
    before = {p.name: p.read_bytes() for p in directory.iterdir()}
    other = fixed_signer(seed=99)
    assert other.key_id == fixed_signer().key_id
    with pytest.raises(JournalKeyMismatch, match="penctl journal rotate-key") as caught:
        JournalWriter.open(directory, signer=other, clock=ManualClock())
    assert other.public_key_hex in str(caught.value)
    assert fixed_signer().public_key_hex in str(caught.value)
    assert {p.name: p.read_bytes() for p in directory.iterdir()} == before


def test_one_writer_per_journal_directory(tmp_path: Path) -> None:
    with _open(tmp_path / "j"), pytest.raises(JournalBusy, match="another penctl process") as busy:
        _open(tmp_path / "j")
    assert busy.value.directory == tmp_path / "j"
    assert str(busy.value).startswith(f"journal {tmp_path / 'j'} is in use")


def test_a_journal_directory_that_cannot_be_made_is_refused_saying_what_to_do(
    tmp_path: Path,
) -> None:
    """A plain file where the directory should be: the error names it, its cause, and the
    remedy; nothing is written."""
    path = tmp_path / "j"
    path.write_bytes(b"not a directory")
    with pytest.raises(JournalError) as caught:
        _open(path)
    assert str(caught.value) == (
        f"cannot open journal directory {path}: {os.strerror(errno.ENOTDIR)}; nothing was "
        "written. Make it writable or choose another one (--journal-dir or PENCTL_JOURNAL_DIR)"
    )
    assert path.read_bytes() == b"not a directory"


def test_s10_a_journal_that_cannot_be_read_is_a_journal_error_naming_path_and_cause(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Opening must not surface a raw OSError: the controller handles JournalError (S10)."""
    write_sample_journal(tmp_path / "j", sessions=1)
    newest = tmp_path / "j" / "session-000001.jsonl"
    real_read = os.read

    def read_fails(fd: int, size: int) -> bytes:
        if os.readlink(f"/proc/self/fd/{fd}") == str(newest):
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        return real_read(fd, size)

    monkeypatch.setattr("controller.journal.regular.os.read", read_fails)
    with pytest.raises(JournalUnreadable) as unread:
        _open(tmp_path / "j")
    monkeypatch.undo()
    message = str(unread.value)
    assert str(newest) in message and "Input/output error" in message
    assert "no session can start" in message and "check" in message.lower()

    def listdir_fails(path: object) -> list[str]:
        raise OSError(errno.EIO, os.strerror(errno.EIO), str(path))

    monkeypatch.setattr("controller.journal.readback.os.listdir", listdir_fails)
    with pytest.raises(JournalUnreadable, match=r"Input/output error") as unlisted:
        _open(tmp_path / "k")
    assert str(tmp_path / "k") in str(unlisted.value)
    monkeypatch.undo()
    with _open(tmp_path / "k") as writer:
        assert writer.session is None


def test_s10_a_storage_error_naming_no_file_while_opening_names_the_journal_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An OSError that carries no file name (the kernel gives none with fsync's) names the
    directory being opened, in full words, and says what was not done."""
    write_sample_journal(tmp_path / "j", sessions=1)

    def listdir_fails(path: object) -> list[str]:
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr("controller.journal.readback.os.listdir", listdir_fails)
    with pytest.raises(JournalUnreadable) as unread:
        _open(tmp_path / "j")
    assert unread.value.path == tmp_path / "j"
    assert str(unread.value) == (
        f"cannot read the journal at {tmp_path / 'j'}: Input/output error; the journal was not "
        "opened and no session can start. Check that it exists, that this user may read it "
        "(`ls -l`) and that its disk is mounted and healthy, then try again"
    )


@contextlib.contextmanager
def _hang_guard(seconds: int = 10) -> Iterator[None]:
    """Turns a call blocked on a FIFO into a test failure instead of a hung suite."""

    def expire(signum: int, frame: object) -> None:
        raise AssertionError(f"still blocked after {seconds} s: a FIFO was opened")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize(
    ("name", "make", "what"),
    [
        ("session-000001.jsonl", os.mkfifo, "a FIFO"),
        ("head.json", os.mkfifo, "a FIFO"),
        ("session-000001.jsonl", os.mkdir, "a directory"),
        ("session-000001.jsonl.torn-40-0123456789ab", os.mkfifo, "a FIFO"),
    ],
)
def test_s10_a_fifo_or_directory_in_place_of_a_journal_file_is_refused_not_opened(
    tmp_path: Path, name: str, make: Callable[[Path], None], what: str
) -> None:
    """Opening a FIFO for reading blocks until a writer appears: recovery must refuse it, as the
    verifier does, with a journal error naming the file, what it is and what to do."""
    directory = tmp_path / "j"
    _open_session_with_records(directory, 2)
    path = directory / name
    path.unlink(missing_ok=True)
    make(path)
    before = sorted(p.name for p in directory.iterdir())
    with _hang_guard(), pytest.raises(JournalCorrupt) as caught:
        _open(directory)
    message = str(caught.value)
    assert str(path) in message and f"is {what}, not a regular file" in message
    assert "no session can start" in message and "penctl audit verify" in message
    assert "byte" not in message
    assert sorted(p.name for p in directory.iterdir()) == before
    with _hang_guard():
        assert verify_path(directory).verdict == "FAIL"


def test_misuse_is_refused_without_writing(tmp_path: Path) -> None:
    with _open(tmp_path / "j") as writer:
        with pytest.raises(JournalStateError, match="no session is open"):
            writer.append(APPLIED, "pen")
        with pytest.raises(JournalStateError, match="not a valid actor"):
            writer.open_session(session_open(), "op alice")
        assert not (tmp_path / "j" / "session-000001.jsonl").exists()
        writer.open_session(session_open(), OPERATOR)
        with pytest.raises(JournalStateError, match="close_session"):
            writer.append(SessionClose(outcome="completed", reason="x"), OPERATOR)
        with pytest.raises(JournalStateError, match="still open"):
            writer.open_session(session_open(), OPERATOR)
        with pytest.raises(JournalStateError, match="not written"):
            writer.append(APPLIED, "")
        with pytest.raises(JournalStateError, match="before the session opened"):
            writer.append(NeedleStop(reason="estop", sent_mono_ns=1), OPERATOR)


def test_a_session_open_record_that_cannot_be_built_leaves_no_file_and_no_open_session(
    tmp_path: Path,
) -> None:
    """The record is built and validated before its file is created: a refused SESSION_OPEN
    must not leave an empty session file, nor a writer that believes a session is open."""
    clock = ManualClock(wall=-1)
    with JournalWriter.open(tmp_path / "j", signer=fixed_signer(), clock=clock) as writer:
        with pytest.raises(JournalStateError, match="wall clock"):
            writer.open_session(session_open(), OPERATOR)
        assert not (tmp_path / "j" / "session-000001.jsonl").exists()
        assert writer.session is None
        clock.wall = START_WALL_NS
        opened = writer.open_session(session_open(), OPERATOR)
        assert (opened.session, opened.seq) == (1, 1)
        writer.close_session("completed", "done", OPERATOR)
    assert anchored(tmp_path / "j").verdict == "PASS"


@pytest.mark.parametrize(
    "wall_ns",
    [
        pytest.param(253_402_300_800 * 1_000_000_000, id="year-10000"),
        pytest.param(10**30, id="beyond-time_t"),
        pytest.param(-1, id="just-before-1970"),
        pytest.param(-(10**30), id="far-negative"),
    ],
)
def test_s10_a_wall_clock_outside_1970_to_9999_is_refused_and_nothing_is_written(
    tmp_path: Path, wall_ns: int
) -> None:
    """A broken clock must surface as a journal error, not a raw ValueError or OverflowError."""
    clock = ManualClock()
    directory = tmp_path / "j"
    with _open(directory, clock) as writer:
        clock.wall = wall_ns
        with pytest.raises(JournalStateError, match="wall clock") as caught:
            writer.open_session(session_open(), OPERATOR)
        assert "nothing changed" in str(caught.value) and "system clock" in str(caught.value)
        assert writer.session is None and not (directory / "session-000001.jsonl").exists()
        clock.wall = START_WALL_NS
        writer.open_session(session_open(), OPERATOR)
        before = (directory / "session-000001.jsonl").read_bytes()
        clock.wall = wall_ns
        with pytest.raises(JournalStateError, match="wall clock"):
            writer.append(APPLIED, "pen")
        assert (directory / "session-000001.jsonl").read_bytes() == before
        clock.wall = START_WALL_NS
        writer.append(APPLIED, "pen")
        writer.close_session("completed", "done", OPERATOR)
    assert anchored(directory).verdict == "PASS"


def test_journal_and_key_directories_default_to_the_users_data_directory() -> None:
    env = {"HOME": "/home/ana"}
    assert resolve_journal_dir(env=env) == Path("/home/ana/.local/share/penctl/journal")
    assert resolve_key_dir(env=env) == Path("/home/ana/.local/share/penctl/keys")
    env["XDG_DATA_HOME"] = "relative/ignored"
    assert resolve_journal_dir(env=env) == Path("/home/ana/.local/share/penctl/journal")
    env["XDG_DATA_HOME"] = "/data"
    assert resolve_journal_dir(env=env) == Path("/data/penctl/journal")
    env["PENCTL_JOURNAL_DIR"] = "/srv/journal"
    assert resolve_journal_dir(env=env) == Path("/srv/journal")
    assert resolve_journal_dir("/mnt/usb/j", env=env) == Path("/mnt/usb/j")


def _open_session_with_records(directory: Path, count: int) -> None:
    writer = _open(directory)
    writer.open_session(session_open(), OPERATOR)
    for _ in range(count):
        writer.append(APPLIED, "pen")
    writer.close()  # the session stays open, as after a crash


def test_every_torn_length_of_the_last_record_is_kept_aside_cut_and_noted(
    page_cache_dir: Path,
) -> None:
    """§9 C.11: every byte offset of the final record recovers exactly the valid prefix."""
    tmp_path = page_cache_dir
    pristine = tmp_path / "pristine"
    _open_session_with_records(pristine, 3)
    data = (pristine / "session-000001.jsonl").read_bytes()
    last_start = data.rindex(b"\n", 0, len(data) - 1) + 1
    kept_prefix = _lines(pristine / "session-000001.jsonl")[:-1]
    for cut in range(last_start + 1, len(data)):
        directory = tmp_path / f"cut-{cut}"
        shutil.copytree(pristine, directory)
        (directory / "session-000001.jsonl").write_bytes(data[:cut])
        assert verify_path(directory).verdict == "INCOMPLETE"
        with _open(directory) as writer:
            report = writer.recovery
        assert report is not None and len(report.kept_aside) == 1
        kept = report.kept_aside[0]
        assert (directory / kept.file).read_bytes() == data[last_start:cut]
        assert kept.offset == last_start and kept.bytes == cut - last_start
        records = _lines(directory / "session-000001.jsonl")
        assert records[: len(kept_prefix)] == kept_prefix
        assert [r["type"] for r in records[len(kept_prefix) :]] == [
            "RECOVERY",
            "SESSION_CLOSE",
            "CHECKPOINT",
        ]
        assert records[len(kept_prefix)]["data"]["kept_aside"][0]["file"] == kept.file
        result = verify_path(directory)
        assert result.verdict == "INCOMPLETE" and result.first_failure is None
        shutil.rmtree(directory)


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda data: data + b"\x00" * 4096, id="zero-filled-block-appended"),
        pytest.param(
            lambda data: (
                data[: data.rindex(b"\n", 0, len(data) - 1) + 1] + b"\x00" * 40 + b'"seq":4}\n'
            ),
            id="last-line-zeroed-but-newline-landed",
        ),
    ],
)
def test_power_loss_zero_fill_is_recovered_as_a_torn_tail(tmp_path: Path, damage) -> None:
    directory = tmp_path / "j"
    _open_session_with_records(directory, 3)
    path = directory / "session-000001.jsonl"
    path.write_bytes(damage(path.read_bytes()))
    with _open(directory) as writer:
        assert writer.recovery is not None and writer.recovery.kept_aside
    assert verify_path(directory).first_failure is None


def test_damage_before_the_tail_is_reported_and_never_cut(tmp_path: Path) -> None:
    directory = tmp_path / "j"
    _open_session_with_records(directory, 3)
    path = directory / "session-000001.jsonl"
    data = bytearray(path.read_bytes())
    data[data.index(b'"depth_um":500') + 11] = ord("7")
    path.write_bytes(bytes(data))
    before = {p.name: p.read_bytes() for p in directory.iterdir()}
    with pytest.raises(JournalCorrupt, match="does not match its hash") as caught:
        _open(directory)
    assert caught.value.seq == 2 and "penctl audit verify" in str(caught.value)
    assert {p.name: p.read_bytes() for p in directory.iterdir()} == before


def test_a_crash_while_opening_a_session_is_recovered(tmp_path: Path) -> None:
    """Session 2's file holds half a SESSION_OPEN and head.json still names session 1."""
    directory = tmp_path / "j"
    write_sample_journal(directory, sessions=1)
    head = (directory / "head.json").read_bytes()
    with _open(directory) as writer:
        writer.open_session(session_open(), OPERATOR)
    second = directory / "session-000002.jsonl"
    second.write_bytes(second.read_bytes()[:100])
    (directory / "head.json").write_bytes(head)
    assert verify_path(directory).verdict == "INCOMPLETE"
    with _open(directory) as writer:
        assert writer.recovery is not None and writer.recovery.session == 2
        assert "closed as faulted" in writer.recovery.message
        writer.open_session(session_open(), OPERATOR)
        writer.close_session("completed", "done", OPERATOR)
    types = [r["type"] for r in _lines(second)]
    assert types == ["RECOVERY", "SESSION_CLOSE", "CHECKPOINT"]
    report = verify_path(directory)
    assert report.verdict == "INCOMPLETE" and report.first_failure is None
    assert [s.outcome for s in report.sessions] == ["completed", "faulted", "completed"]


@pytest.mark.parametrize("cut_at", ["record-boundary", "mid-record"])
def test_s7_a_cut_tail_that_head_json_vouches_for_is_corruption_not_recovered(
    tmp_path: Path, cut_at: str
) -> None:
    """Recovery must not paper over lost acknowledged records: head.json names the closing
    checkpoint of session 2, so a session file ending before it was cut, not torn by a crash."""
    directory = tmp_path / "j"
    write_compact_journal(directory)
    second = directory / "session-000002.jsonl"
    data = second.read_bytes()
    first_end = data.index(b"\n") + 1
    second.write_bytes(data[:first_end] if cut_at == "record-boundary" else data[: first_end + 50])
    assert verify_path(directory).verdict == "FAIL"
    before = {p.name: p.read_bytes() for p in directory.iterdir()}
    with pytest.raises(JournalCorrupt, match=r"head\.json") as caught:
        _open(directory)
    assert caught.value.seq == 13
    assert {p.name: p.read_bytes() for p in directory.iterdir()} == before
    assert verify_path(directory).verdict == "FAIL"


def test_the_public_key_file_is_fsynced_before_it_is_renamed_into_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Auditors pin verification to this file; after a power cut it must not be empty."""
    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append(f"fsync:{os.path.basename(os.readlink(f'/proc/self/fd/{fd}'))}")
        real_fsync(fd)

    def replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        events.append(f"replace:{os.path.basename(src)}->{os.path.basename(dst)}")
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    CheckpointSigner.load_or_create(tmp_path / "keys")
    renamed = next(i for i, e in enumerate(events) if e.endswith(f"->{PUBLIC_KEY_FILE}"))
    source = events[renamed].split(":", 1)[1].split("->")[0]
    assert f"fsync:{source}" in events[:renamed]
    assert events[renamed + 1 :] and events[renamed + 1] == "fsync:keys"


def test_a_stop_sent_at_the_session_origin_is_recorded_at_0_and_one_before_is_refused(
    tmp_path: Path,
) -> None:
    clock = ManualClock()
    with _open(tmp_path / "j", clock) as writer:
        opened_at = clock.mono
        writer.open_session(session_open(), OPERATOR)
        with pytest.raises(JournalStateError) as caught:
            writer.append(NeedleStop(reason="estop", sent_mono_ns=opened_at - 1), OPERATOR)
        assert str(caught.value) == (
            f"record not written, nothing changed: data.sent_mono_ns reads {opened_at - 1} ns, "
            f"before the session opened (at {opened_at} ns on the same clock)"
        )
        stop = writer.append(NeedleStop(reason="estop", sent_mono_ns=opened_at), OPERATOR)
        assert stop.data["sent_mono_ns"] == 0


def test_a_key_hand_over_that_cannot_open_the_session_file_latches_the_journal(
    tmp_path: Path,
) -> None:
    """The newest session file has become a directory: the hand-over's write cannot happen."""
    directory = tmp_path / "j"
    with _open(directory) as writer:
        writer.open_session(session_open(), OPERATOR)
        closing = writer.close_session("completed", "done", OPERATOR)
        path = directory / "session-000001.jsonl"
        path.rename(tmp_path / "aside.jsonl")
        path.mkdir()
        with pytest.raises(JournalFault) as caught:
            writer.rotate_key(fixed_signer(8), "rotation", OPERATOR)
        assert (caught.value.path, caught.value.seq) == (path, closing.seq + 1)
        assert caught.value.cause is not None and caught.value.cause.errno == errno.EISDIR
        with pytest.raises(JournalFault, match=f"latched after an earlier write failure on {path}"):
            writer.rotate_key(fixed_signer(8), "rotation", OPERATOR)


def test_misuse_messages_say_what_to_do(tmp_path: Path) -> None:
    writer = _open(tmp_path / "j")
    for call, message in (
        (lambda: writer.append(APPLIED, "pen"), "no session is open; call open_session() first"),
        (writer.checkpoint, "no session is open; checkpoints are written inside sessions"),
        (lambda: writer.close_session("completed", "x", OPERATOR), "no session is open"),
    ):
        with pytest.raises(JournalStateError) as caught:
            call()
        assert str(caught.value) == message
    writer.open_session(session_open(), OPERATOR)
    assert writer.checkpoint().actor == "controller"
    writer.close()
    with pytest.raises(JournalStateError) as closed:
        writer.append(APPLIED, "pen")
    assert str(closed.value) == "the journal is closed; open it again"


def test_the_periodic_checkpoint_is_the_systems_and_head_json_names_it(tmp_path: Path) -> None:
    directory = tmp_path / "j"
    with _open(directory) as writer:
        writer.open_session(session_open(), OPERATOR)
        for _ in range(63):
            writer.append(APPLIED, "pen")
        last = _lines(directory / "session-000001.jsonl")[-1]
        assert writer.head_fingerprint == f"{last['seq']}:{last['hash'][:16]}"
    head = json.loads((directory / "head.json").read_bytes())
    assert (last["type"], last["actor"]) == ("CHECKPOINT", "system")
    assert (head["checkpoint"]["seq"], head["checkpoint"]["hash"]) == (last["seq"], last["hash"])


def _head_writes_held(monkeypatch: pytest.MonkeyPatch) -> tuple[threading.Event, threading.Event]:
    """head.json's rewrites wait for `release`; `started` is set when one begins."""
    from controller.journal import writer as writer_module

    started, release = threading.Event(), threading.Event()
    real = writer_module.write_file_atomic

    def held(path: Path, data: bytes) -> None:
        started.set()
        assert release.wait(timeout=10), "the test never let head.json be written"
        real(path, data)

    monkeypatch.setattr(writer_module, "write_file_atomic", held)
    return started, release


def test_s7_the_periodic_head_json_rewrite_does_not_hold_up_appends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An append waits for its own write and fsync only: the head.json rewrite after a periodic
    checkpoint runs beside the appends that follow (journal.md §5), and close waits for it."""
    directory = tmp_path / "j"
    writer, _ = _session_a_second_old(directory)
    started, release = _head_writes_held(monkeypatch)
    _to_the_first_checkpoint(writer)  # the 63rd makes the checkpoint due
    assert started.wait(timeout=10)
    for _ in range(5):
        writer.append(APPLIED, "pen")  # acknowledged while head.json is still being written
    checkpoint = [r for r in _lines(directory / "session-000001.jsonl") if r["seq"] == 65]
    assert [(r["type"], r["actor"]) for r in checkpoint] == [("CHECKPOINT", "system")]
    assert json.loads((directory / "head.json").read_bytes())["checkpoint"] is None
    release.set()
    writer.close()
    head = json.loads((directory / "head.json").read_bytes())
    assert (head["checkpoint"]["seq"], head["checkpoint"]["hash"]) == (65, checkpoint[0]["hash"])


def _head_writes_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    from controller.journal import writer as writer_module

    def failing(*args: object, **kwargs: object) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(writer_module, "write_file_atomic", failing)


def _to_the_first_checkpoint(writer: JournalWriter) -> None:
    """63 records after SESSION_OPEN: the last makes the periodic checkpoint (seq 65) due."""
    for _ in range(63):
        writer.append(APPLIED, "pen")


def _session_a_second_old(directory: Path) -> tuple[JournalWriter, ManualClock]:
    """A session opened a second ago: head.json (rewritten at the opening) may follow the next
    periodic checkpoint at once (`CheckpointPolicy.head_ms`)."""
    clock = ManualClock()
    writer = _open(directory, clock)
    writer.open_session(session_open(), OPERATOR)
    clock.advance(1.0)
    return writer, clock


def _head_chores_done() -> None:
    for thread in threading.enumerate():
        if thread.name == "journal-head":
            thread.join()


def test_s7_a_periodic_head_json_rewrite_that_fails_latches_the_writer_at_its_next_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The append that made the checkpoint due is acknowledged (its records and the checkpoint
    are durable); the next call raises the fault, naming head.json, the checkpoint it was to
    vouch for and the kernel's error, and nothing more is written."""
    directory = tmp_path / "j"
    writer, _ = _session_a_second_old(directory)
    _head_writes_fail(monkeypatch)
    _to_the_first_checkpoint(writer)
    _head_chores_done()
    assert writer.fault is None  # not yet heard of: the writer's own thread hears it
    with pytest.raises(JournalFault) as caught:
        writer.append(APPLIED, "pen")
    assert (caught.value.path, caught.value.seq) == (directory / "head.json", 65)
    assert "record 65 on " in str(caught.value) and "Input/output error" in str(caught.value)
    assert writer.fault is caught.value
    records = _lines(directory / "session-000001.jsonl")
    assert (records[-1]["seq"], records[-1]["type"]) == (65, "CHECKPOINT")
    with pytest.raises(JournalFault, match="latched after an earlier write failure"):
        writer.append(APPLIED, "pen")
    writer.close()


def test_s7_poll_raises_a_failed_head_json_rewrite_and_never_waits_for_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The controller's tick calls poll(): a rewrite still running is no fault and is not
    waited for; one that failed latches the writer there, with no record needed after it."""
    directory = tmp_path / "j"
    writer, clock = _session_a_second_old(directory)
    started, release = _head_writes_held(monkeypatch)
    _to_the_first_checkpoint(writer)
    assert started.wait(timeout=10)
    writer.poll()  # returns at once, the rewrite still held
    monkeypatch.undo()
    _head_writes_fail(monkeypatch)
    release.set()
    writer.poll()
    clock.advance(1.0)
    for _ in range(64):  # the next checkpoint's rewrite fails
        writer.append(APPLIED, "pen")
    _head_chores_done()
    with pytest.raises(JournalFault) as caught:
        writer.poll()
    assert (caught.value.path, caught.value.seq, writer.fault) == (
        directory / "head.json",
        130,
        caught.value,
    )
    writer.close()


def test_s7_closing_waits_for_the_head_json_rewrite_and_raises_its_failure_after_releasing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A head that never reached the disk is said, not passed over; the lock is released all
    the same, and opening the journal again brings head.json up to date (recovery)."""
    directory = tmp_path / "j"
    writer = _open(directory)
    writer.open_session(session_open(), OPERATOR)
    _head_writes_fail(monkeypatch)
    _to_the_first_checkpoint(writer)
    with pytest.raises(JournalFault, match=r"head\.json"):
        writer.close()
    monkeypatch.undo()
    with _open(directory) as again:
        assert again.last_session == 1
    head = json.loads((directory / "head.json").read_bytes())
    assert head["checkpoint"]["seq"] > 65


def test_opening_a_session_names_it_in_head_json_and_keeps_vouching_for_the_last_checkpoint(
    tmp_path: Path,
) -> None:
    """Between SESSION_OPEN and the session's first checkpoint, head.json names the new session
    and still vouches for the previous session's closing checkpoint, so a cut of session 1
    stays detectable while session 2 runs."""
    directory = tmp_path / "j"
    with _open(directory) as writer:
        writer.open_session(session_open(), OPERATOR)
        writer.append(APPLIED, "pen")
        writer.close_session("completed", "done", OPERATOR)
        closing = _lines(directory / "session-000001.jsonl")[-1]
        writer.open_session(session_open(), OPERATOR)
        head = json.loads((directory / "head.json").read_bytes())
    assert closing["type"] == "CHECKPOINT"
    assert head["last_session"] == 2
    assert (head["checkpoint"]["seq"], head["checkpoint"]["hash"]) == (
        closing["seq"],
        closing["hash"],
    )


def _fail_on_session_2(monkeypatch: pytest.MonkeyPatch, where: str) -> None:
    """EIO at one step of opening session 2; every other call goes through."""
    from controller.journal import writer as writer_module

    def failing(*args: object, **kwargs: object) -> None:
        raise OSError(errno.EIO, "Input/output error")

    if where == "create":
        real_open = os.open

        def open_(path: object, *args: object, **kwargs: object) -> int:
            if str(path).endswith("session-000002.jsonl"):
                failing()
            return real_open(path, *args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(writer_module.os, "open", open_)
    else:
        name = {"dir fsync": "fsync_dir", "write": "write_all", "head": "write_file_atomic"}
        monkeypatch.setattr(writer_module, name[where], failing)


@pytest.mark.parametrize(
    ("where", "file"),
    [
        ("create", "session-000002.jsonl"),
        ("dir fsync", "session-000002.jsonl"),
        ("write", "session-000002.jsonl"),
        ("head", "head.json"),
    ],
)
def test_s7_a_storage_failure_opening_a_session_names_the_file_and_the_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str, file: str
) -> None:
    """Creating the session file, fsyncing its directory, writing SESSION_OPEN, rewriting
    head.json: whichever fails, the fault names that file, the session's first record (not yet
    durable, or for head.json durable but not yet vouched for) and the kernel's error, and the
    journal latches."""
    directory = tmp_path / "j"
    writer = _open(directory)
    writer.open_session(session_open(), OPERATOR)
    writer.close_session("completed", "done", OPERATOR)
    last = _lines(directory / "session-000001.jsonl")[-1]["seq"]
    _fail_on_session_2(monkeypatch, where)
    with pytest.raises(JournalFault) as caught:
        writer.open_session(session_open(), OPERATOR)
    monkeypatch.undo()
    seq = last + 1
    assert (caught.value.path, caught.value.seq) == (directory / file, seq)
    assert isinstance(caught.value.cause, OSError) and caught.value.cause.errno == errno.EIO
    assert f"record {seq} on {directory / file}: Input/output error" in str(caught.value)
    assert writer.fault is caught.value
    with pytest.raises(JournalFault, match="latched after an earlier write failure"):
        writer.append(APPLIED, "pen")
    writer.close()


def test_the_journal_s_files_are_readable_by_their_owner_only(tmp_path: Path) -> None:
    """Session files and the lock hold patients' pseudonyms and treatment: mode 0600."""
    directory = tmp_path / "j"
    with _open(directory) as writer:
        writer.open_session(session_open(), OPERATOR)
    for name in ("session-000001.jsonl", ".lock"):
        assert stat.S_IMODE((directory / name).stat().st_mode) == 0o600, name


def test_s7_opening_a_session_never_writes_over_a_file_already_under_its_name(
    tmp_path: Path,
) -> None:
    """A session file that appeared behind the writer's back (a copy put back, another tool) is
    evidence: open_session refuses it, latching, and leaves every byte of it as it was."""
    directory = tmp_path / "j"
    writer = _open(directory)
    writer.open_session(session_open(), OPERATOR)
    writer.close_session("completed", "done", OPERATOR)
    stranger = directory / "session-000002.jsonl"
    stranger.write_bytes(b"not ours\n")
    with pytest.raises(JournalFault) as caught:
        writer.open_session(session_open(), OPERATOR)
    assert caught.value.path == stranger and isinstance(caught.value.cause, FileExistsError)
    assert stranger.read_bytes() == b"not ours\n"
    writer.close()


def test_a_close_whose_checkpoint_could_not_be_signed_can_be_tried_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SESSION_CLOSE is durable but the signing failed (not a storage fault, so nothing
    latched): the session takes no more records, saying so, and a second close_session writes
    only the checkpoint, never a second SESSION_CLOSE."""
    directory = tmp_path / "j"
    signer = fixed_signer()
    writer = JournalWriter.open(directory, signer=signer, clock=ManualClock())
    writer.open_session(session_open(), OPERATOR)
    real_sign = signer.sign

    def sign_fails_once(seq: int, record_hash: str) -> object:
        monkeypatch.setattr(signer, "sign", real_sign)
        raise RuntimeError("the key store did not answer")

    monkeypatch.setattr(signer, "sign", sign_fails_once)
    with pytest.raises(RuntimeError):
        writer.close_session("completed", "done", OPERATOR)
    with pytest.raises(JournalStateError) as refused:
        writer.append(APPLIED, "pen")
    assert str(refused.value) == "session 1 is closed; open a new session"
    writer.close_session("completed", "done", OPERATOR)
    types = [r["type"] for r in _lines(directory / "session-000001.jsonl")]
    assert types == ["SESSION_OPEN", "SESSION_CLOSE", "CHECKPOINT"]
    writer.close()


def test_a_session_file_whose_close_fails_still_lets_the_journal_close_and_open_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every record is fsynced before close(2), so an error there (EIO on some network file
    systems) loses nothing: the session ends, the lock is released, the journal reopens."""
    from controller.journal import writer as writer_module

    directory = tmp_path / "j"
    writer = _open(directory)
    writer.open_session(session_open(), OPERATOR)
    session_fd = _fd_of(directory / "session-000001.jsonl")
    real_close = os.close

    def close(fd: int) -> None:
        real_close(fd)
        if fd == session_fd:
            raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(writer_module.os, "close", close)
    writer.close_session("completed", "done", OPERATOR)
    writer.close()
    monkeypatch.undo()
    with _open(directory) as again:
        assert (again.last_session, again.session) == (1, None)


def test_a_host_up_for_days_is_signed_every_64_records_not_after_every_record(
    tmp_path: Path,
) -> None:
    """The 60 s rule counts from the last checkpoint on the monotonic clock, whatever that
    clock read when the host booted."""
    directory = tmp_path / "j"
    clock = ManualClock(mono=3 * 24 * 3600 * 1_000_000_000)
    with JournalWriter.open(directory, signer=fixed_signer(), clock=clock) as writer:
        writer.open_session(session_open(), OPERATOR)
        for _ in range(10):
            writer.append(APPLIED, "pen")
    types = [r["type"] for r in _lines(directory / "session-000001.jsonl")]
    assert types == ["SESSION_OPEN"] + ["PARAMS_APPLIED"] * 10


def test_the_head_json_chore_is_a_named_thread_and_its_head_stays_the_writers_after_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`journal-head` is what a thread dump (py-spy, a debugger) shows while head.json is being
    rewritten; once done, the head it wrote is the one the writer names and builds on."""
    directory = tmp_path / "j"
    writer, _ = _session_a_second_old(directory)
    started, release = _head_writes_held(monkeypatch)
    _to_the_first_checkpoint(writer)
    assert started.wait(timeout=10)
    assert "journal-head" in [thread.name for thread in threading.enumerate()]
    release.set()
    _head_chores_done()
    writer.append(APPLIED, "pen")
    checkpoint = _lines(directory / "session-000001.jsonl")[64]
    assert writer.head_fingerprint == f"65:{checkpoint['hash'][:16]}"
    writer.close()


def _head(directory: Path) -> tuple[int, str]:
    checkpoint = json.loads((directory / "head.json").read_bytes())["checkpoint"]
    return checkpoint["seq"], checkpoint["hash"]


def _checkpoints(directory: Path) -> dict[int, str]:
    return {
        r["seq"]: r["hash"]
        for r in _lines(directory / "session-000001.jsonl")
        if r["type"] == "CHECKPOINT"
    }


def test_s7_head_json_follows_a_burst_of_checkpoints_at_most_once_a_second_and_catches_up(
    tmp_path: Path,
) -> None:
    """Records arriving fast are signed every 64 all the same; head.json and the witness's copy
    follow at most once a second (`head_ms`), so their fsyncs do not crowd the appends'. The
    newest checkpoint's rewrite is owed, not lost: the first append or tick (poll) a second
    after the last rewrite makes it, and the fingerprint a summary prints names it meanwhile."""
    directory = tmp_path / "j"
    witness = tmp_path / "witness"
    clock = ManualClock()
    writer = JournalWriter.open(directory, signer=fixed_signer(), clock=clock, witness=witness)
    writer.open_session(session_open(), OPERATOR)
    clock.advance(1.0)
    for _ in range(63 + 64 + 64):
        writer.append(APPLIED, "pen")
    _head_chores_done()
    signed = _checkpoints(directory)
    assert sorted(signed) == [65, 130, 195]
    assert _head(directory) == (65, signed[65])
    assert writer.head_fingerprint == f"195:{signed[195][:16]}"
    clock.advance(0.999)
    writer.poll()
    _head_chores_done()
    assert _head(directory) == (65, signed[65])
    clock.advance(0.001)
    writer.poll()
    _head_chores_done()
    assert _head(directory) == (195, signed[195])
    assert (witness / "head.json").read_bytes() == (directory / "head.json").read_bytes()
    writer.close()


def test_s7_closing_the_writer_writes_the_head_json_it_owes(tmp_path: Path) -> None:
    """A checkpoint head.json had yet to follow (less than a second after the last rewrite) is
    named in head.json once the writer is closed, the session left open as after a crash."""
    directory = tmp_path / "j"
    writer = _open(directory)
    writer.open_session(session_open(), OPERATOR)
    _to_the_first_checkpoint(writer)
    assert json.loads((directory / "head.json").read_bytes())["checkpoint"] is None
    writer.close()
    assert _head(directory) == (65, _checkpoints(directory)[65])


def test_s7_while_a_head_json_rewrite_is_held_the_appends_owing_the_next_go_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At most one rewrite is in flight, and nothing waits for it: a checkpoint that falls due
    a second later, while the first rewrite is still held, is owed, and its rewrite follows at
    the first tick (poll) once the first is done."""
    directory = tmp_path / "j"
    writer, clock = _session_a_second_old(directory)
    started, release = _head_writes_held(monkeypatch)
    _to_the_first_checkpoint(writer)
    assert started.wait(timeout=10)
    started.clear()
    clock.advance(1.0)
    for _ in range(64):
        writer.append(APPLIED, "pen")  # checkpoint 130 falls due: owed, not waited for
    writer.poll()
    assert not started.is_set()
    release.set()
    _head_chores_done()
    writer.poll()
    _head_chores_done()
    assert _head(directory) == (130, _checkpoints(directory)[130])
    writer.close()


def test_s7_a_late_head_json_rewrite_that_fails_names_the_checkpoint_it_was_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The owed rewrite of checkpoint 130 begins a second later, after more records; its
    failure names record 130, the checkpoint head.json was to vouch for, not the last record."""
    directory = tmp_path / "j"
    writer, clock = _session_a_second_old(directory)
    _to_the_first_checkpoint(writer)
    _head_chores_done()
    for _ in range(64 + 5):
        writer.append(APPLIED, "pen")
    assert writer.last_seq == 135
    _head_writes_fail(monkeypatch)
    clock.advance(1.0)
    writer.poll()
    _head_chores_done()
    with pytest.raises(JournalFault) as caught:
        writer.poll()
    assert (caught.value.path, caught.value.seq) == (directory / "head.json", 130)
    writer.close()


def test_s7_any_append_a_second_on_starts_the_owed_head_json_rewrite(tmp_path: Path) -> None:
    """Not only a tick (poll) or an append that makes a checkpoint: any append once a second
    has passed since the last rewrite began, so a writer that is never polled still follows."""
    directory = tmp_path / "j"
    writer, clock = _session_a_second_old(directory)
    for _ in range(63 + 64):
        writer.append(APPLIED, "pen")
    _head_chores_done()
    assert _head(directory)[0] == 65  # 130 owed
    clock.advance(1.0)
    writer.append(APPLIED, "pen")  # no checkpoint due with this one
    _head_chores_done()
    assert _head(directory) == (130, _checkpoints(directory)[130])
    writer.close()


def test_s7_a_failed_head_json_at_close_names_the_checkpoint_it_owed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = tmp_path / "j"
    writer = _open(directory)
    writer.open_session(session_open(), OPERATOR)
    for _ in range(63 + 3):
        writer.append(APPLIED, "pen")
    _head_writes_fail(monkeypatch)
    with pytest.raises(JournalFault) as caught:
        writer.close()
    assert (caught.value.path, caught.value.seq) == (directory / "head.json", 65)


def test_s7_with_no_thread_to_be_had_the_owed_head_json_is_written_in_the_appends_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process at its thread limit: the rewrite is not lost, nor is the append failed after
    its records were durable; head.json is written before the append returns."""
    from controller.journal import writer as writer_module

    def no_thread(*args: object, **kwargs: object) -> None:
        raise RuntimeError("can't start new thread")

    directory = tmp_path / "j"
    writer, _ = _session_a_second_old(directory)
    monkeypatch.setattr(writer_module, "Chore", no_thread)
    _to_the_first_checkpoint(writer)
    assert _head(directory) == (65, _checkpoints(directory)[65])
    assert writer.fault is None
    writer.close()
