"""The append-only journal writer: a record is acknowledged only once it is on disk.

Theory of operation. One file per session, one line per record, each line written with one
`write` and made durable with one `fsync` before `append` returns; the directory is fsynced when a
file is created. `head.json` (rewritten atomically after a session opens and after each checkpoint)
names the last session and the last checkpoint, so deleting the newest session file or cutting a
closed session's tail is detectable. The first write or fsync error latches the writer: every later
call raises JournalFault and nothing is retried. Opening a journal recovers it: a torn last record
is copied aside, cut off and noted in a RECOVERY record, and a session left open by a crash is
closed as faulted with a signed checkpoint. Damage anywhere else is corruption: reported, never cut.

The writer is not thread-safe; the controller's one owner thread calls it (ARCHITECTURE §2).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from pydantic import ValidationError

from controller.journal.durable import fsync_dir, make_dirs, write_all, write_file_atomic
from controller.journal.errors import (
    JournalBusy,
    JournalCorrupt,
    JournalError,
    JournalFault,
    JournalKeyMismatch,
    JournalStateError,
    JournalUnreadable,
)
from controller.journal.format import (
    GENESIS_HASH,
    HEAD_FILE,
    KEPT_ASIDE_FILE,
    LOCK_FILE,
    SESSION_FILE,
    FramingError,
    Head,
    HeadCheckpoint,
    Record,
    SchemaError,
    build_record,
    check_schema,
    kept_aside_name,
    parse_head,
    parse_line,
    record_hash,
    session_file_name,
    sha256_hex,
)
from controller.journal.keychain import KeyChain, short
from controller.journal.paths import resolve_key_dir
from controller.journal.records import (
    ACTOR_PATTERN,
    KeptAside,
    Outcome,
    RecordData,
    Recovery,
    SessionClose,
    SessionOpen,
)
from controller.journal.regular import NotRegularFile, read_regular
from controller.journal.scan import SplitFile, split_file
from controller.journal.signing import CheckpointSigner, verify_head
from controller.journal.witness import CheckpointPolicy, Witness
from firmware_bridge.clock import RealClock, TimeSource

_RESERVED = {
    "SESSION_OPEN": "open_session()",
    "SESSION_CLOSE": "close_session()",
    "CHECKPOINT": "checkpoint()",
    "RECOVERY": "the writer's own recovery",
    "KEY_HANDOVER": "rotate_key()",
}


@dataclass(frozen=True)
class RecoveryReport:
    """What opening the journal found and did after a crash; `message` is for the operator."""

    session: int
    kept_aside: list[KeptAside] = field(default_factory=list)
    closed_as_faulted: bool = False

    @property
    def message(self) -> str:
        torn_bytes = sum(item.bytes for item in self.kept_aside)
        kept = (
            f" {torn_bytes} bytes of an unfinished record were kept aside in "
            + ", ".join(item.file for item in self.kept_aside)
            + " and cut from the session file."
            if self.kept_aside
            else ""
        )
        if not self.closed_as_faulted:
            return (
                f"penctl stopped while finishing session {self.session}, after it was closed "
                f"(crash or power loss).{kept} The session's records were completed with a "
                "signed checkpoint; every acknowledged record is intact."
            )
        return (
            f"Session {self.session} was not closed: penctl stopped during it (crash or power "
            f"loss).{kept} The session was closed as faulted with a signed checkpoint; every "
            "acknowledged record is intact. Review it with `penctl audit show` before the next "
            "treatment."
        )


class JournalWriter:
    """Open with `JournalWriter.open(directory)`; see the module docstring for the guarantees."""

    def __init__(
        self,
        directory: Path,
        signer: CheckpointSigner,
        clock: TimeSource,
        lock: int,
        policy: CheckpointPolicy | None = None,
        witness: Witness | None = None,
    ):
        self._dir = directory
        self._policy = policy or CheckpointPolicy()
        self._witness = witness
        self._signed_seq = 0  # the last record a checkpoint covers
        self._signed_at_ns = 0  # the monotonic clock's reading at that checkpoint
        self._signer = signer
        self._clock = clock
        self._lock_fd: int | None = lock
        self._fd: int | None = None
        self._path: Path | None = None
        self._session: int | None = None
        self._last_session = 0
        self._closing = False
        self._origin_ns = 0  # the monotonic clock's reading at the session's first record this run
        self._seq = 0
        self._hash = GENESIS_HASH
        self._head: Head | None = None
        self._fault: JournalFault | None = None
        self.recovery: RecoveryReport | None = None

    # -- opening -------------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        directory: str | os.PathLike[str],
        *,
        signer: CheckpointSigner | None = None,
        key_dir: str | os.PathLike[str] | None = None,
        clock: TimeSource | None = None,
        checkpoints: CheckpointPolicy | None = None,
        witness: str | os.PathLike[str] | None = None,
    ) -> JournalWriter:
        """Opens (creating if needed) and recovers a journal directory; holds it until `close()`.

        The signing key comes from `signer`, else from `key_dir` (default: PENCTL_KEY_DIR or the
        user's data directory), created on first use. `checkpoints` says how often a session is
        signed while it runs; `witness` is a directory outside the journal (another disk, a
        removable medium) that receives a copy of each signed head.
        """
        path = Path(directory)
        signer = signer or CheckpointSigner.load_or_create(resolve_key_dir(key_dir))
        try:
            make_dirs(path)
            lock = os.open(path / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise JournalError(
                f"cannot open journal directory {path}: {exc.strerror}; nothing was written. "
                "Make it writable or choose another one (--journal-dir or PENCTL_JOURNAL_DIR)"
            ) from exc
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(lock)
            raise JournalBusy(path) from None
        writer = cls(
            path,
            signer,
            clock or RealClock(),
            lock,
            checkpoints,
            Witness(Path(witness)) if witness is not None else None,
        )
        try:
            writer._recover()
            writer._check_witness()
        except OSError as exc:
            writer.close()
            raise JournalUnreadable(
                Path(exc.filename) if exc.filename else path,
                exc,
                "the journal was not opened and no session can start",
            ) from exc
        except BaseException:
            writer.close()
            raise
        return writer

    # -- state ---------------------------------------------------------------------------------

    @property
    def directory(self) -> Path:
        return self._dir

    @property
    def session(self) -> int | None:
        """The open session's number, or None between sessions."""
        return self._session

    @property
    def last_seq(self) -> int:
        return self._seq

    @property
    def last_hash(self) -> str:
        return self._hash

    @property
    def fault(self) -> JournalFault | None:
        """The latched write failure, if any; once set, every write raises."""
        return self._fault

    @property
    def key_id(self) -> str:
        return self._signer.key_id

    @property
    def public_key(self) -> str:
        """The signing key's public half (64 hex digits), as an auditor pins it."""
        return self._signer.public_key_hex

    @property
    def head_fingerprint(self) -> str:
        """The latest signed head's short fingerprint (`SEQ:HASH16`), for a summary or a report
        that goes out on paper or by e-mail and so witnesses the journal too."""
        return self._head.fingerprint if self._head is not None else "none"

    @property
    def witness_error(self) -> str | None:
        """Why the last copy to the witness failed, if it did (the journal itself is unharmed)."""
        return self._witness.error if self._witness is not None else None

    # -- writing -------------------------------------------------------------------------------

    def open_session(self, opening: SessionOpen, actor: str) -> Record:
        """Creates the next session file and makes SESSION_OPEN durable before returning."""
        self._check_writable()
        if self._session is not None:
            raise JournalStateError(
                f"session {self._session} is still open; close it before opening another"
            )
        if re.fullmatch(ACTOR_PATTERN, actor) is None:
            raise JournalStateError(f"actor {actor!r} is not a valid actor id; nothing was written")
        number = self._last_session + 1
        self._origin_ns = self._signed_at_ns = self._clock.monotonic_ns()
        self._signed_seq = self._seq  # the session before closed with a checkpoint
        record, line = self._build(opening, actor, number)
        path = self._dir / session_file_name(number)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        except OSError as exc:
            raise self._latch(path, self._seq + 1, exc) from exc
        self._fd, self._path, self._session, self._closing = fd, path, number, False
        try:
            fsync_dir(self._dir)
        except OSError as exc:
            raise self._latch(path, self._seq + 1, exc) from exc
        self._commit(record, line)
        self._last_session = number
        self._write_head()
        return record

    def append(self, data: RecordData, actor: str) -> Record:
        """Appends one record to the open session; returns once it is durable (write + fsync)."""
        return self.append_many([(data, actor)])[0]

    def append_many(self, items: Sequence[tuple[RecordData, str]]) -> list[Record]:
        """Group commit: records that arrived together, written with one write and one fsync;
        each is acknowledged (returned) only after that fsync. All are built and validated
        first, so a refused one leaves nothing written."""
        self._check_writable()
        if self._session is None:
            raise JournalStateError("no session is open; call open_session() first")
        if self._closing:
            raise JournalStateError(f"session {self._session} is closed; open a new session")
        built: list[tuple[Record, bytes]] = []
        for data, actor in items:
            reserved = _RESERVED.get(data.record_type)
            if reserved is not None:
                raise JournalStateError(f"{data.record_type} records are written by {reserved}")
            after = built[-1][0] if built else None
            built.append(self._build(data, actor, self._session, after))
        if not built:
            return []
        if len(built) == 1:
            self._commit(*built[0])
        else:
            self._commit_group(built)
        if self._policy.due(
            self._seq - self._signed_seq, self._clock.monotonic_ns() - self._signed_at_ns
        ):
            self.checkpoint("system")
        return [record for record, _ in built]

    def checkpoint(self, actor: str = "controller") -> Record:
        """Signs the hash of the last record and records the signature; head.json follows it."""
        self._check_writable()
        if self._session is None:
            raise JournalStateError("no session is open; checkpoints are written inside sessions")
        record = self._write(self._signer.sign(self._seq, self._hash), actor)
        self._write_head(record)
        return record

    def _signed(self) -> None:
        self._signed_seq, self._signed_at_ns = self._seq, self._clock.monotonic_ns()

    def close_session(self, outcome: Outcome, reason: str, actor: str) -> Record:
        """SESSION_CLOSE, then a signed CHECKPOINT; returns the checkpoint record."""
        self._check_writable()
        if self._session is None:
            raise JournalStateError("no session is open")
        if not self._closing:
            self._write(SessionClose(outcome=outcome, reason=reason), actor)
            self._closing = True
        record = self.checkpoint(actor)
        self._end_session()
        return record

    def close(self) -> None:
        """Releases the files and the lock; an open session stays open (recovered on next open)."""
        self._end_session()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def __enter__(self) -> JournalWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def rotate_key(self, new: CheckpointSigner, reason: str, actor: str) -> Record:
        """Hands the journal over to `new` between sessions: KEY_HANDOVER, signed by the key in
        force and covering the last record, then a CHECKPOINT by the new key covering it, both
        appended to the newest (closed) session file with one write and one fsync; head.json
        follows, signed by the new key. From then on this writer signs with `new`. Returns the
        KEY_HANDOVER record (docs/journal.md §4)."""
        self._check_writable()
        if self._session is not None:
            raise JournalStateError(
                f"session {self._session} is open; hand the key over between sessions"
            )
        if self._last_session == 0:
            raise JournalStateError(
                "the journal holds no session yet, so no key has signed anything: there is "
                "nothing to hand over; start the journal with the new key instead"
            )
        if new.public_key_hex == self._signer.public_key_hex:
            raise JournalStateError(f"key {new.key_id} is already the journal's key in force")
        if not 1 <= len(reason) <= 2000:
            raise JournalStateError("the reason for a key hand-over takes 1 to 2000 characters")
        number = self._last_session
        path = self._dir / session_file_name(number)
        self._origin_ns = self._clock.monotonic_ns()  # a run of its own: its clock starts afresh
        handover, line = self._build(
            self._signer.hand_over(new.public_key_hex, self._seq, self._hash, reason),
            actor,
            number,
        )
        checkpoint = self._build(new.sign(handover.seq, handover.hash), actor, number, handover)
        try:
            self._fd = os.open(path, os.O_WRONLY | os.O_APPEND)
        except OSError as exc:
            raise self._latch(path, handover.seq, exc) from exc
        self._path, self._session, self._closing = path, number, True
        self._commit_group([(handover, line), checkpoint])
        self._signer = new
        self._write_head(checkpoint[0])
        self._end_session()
        return handover

    # -- internals -----------------------------------------------------------------------------

    def _check_writable(self) -> None:
        if self._fault is not None:
            raise JournalFault(self._fault.path, self._seq + 1, None, latched_before=True)
        if self._lock_fd is None:
            raise JournalStateError("the journal is closed; open it again")

    def _latch(self, path: Path, seq: int, exc: OSError) -> JournalFault:
        self._fault = JournalFault(path, seq, exc, latched_before=False)
        return self._fault

    def _write(self, data: RecordData, actor: str) -> Record:
        assert self._session is not None
        record, line = self._build(data, actor, self._session)
        self._commit(record, line)
        return record

    def _build(
        self, data: RecordData, actor: str, session: int, after: Record | None = None
    ) -> tuple[Record, bytes]:
        """The record after `after` (default: the last one written) and its line, validated;
        nothing is touched on disk. Monotonic readings are stored counted from the session's
        origin (docs/journal.md §2)."""
        try:
            if data.clock_fields:
                data = self._rebase(data)
            return build_record(
                seq=(after.seq if after else self._seq) + 1,
                session=session,
                wall_ns=self._clock.wall_ns(),
                mono_ns=self._clock.monotonic_ns() - self._origin_ns,
                data=data,
                actor=actor,
                prev=after.hash if after else self._hash,
            )
        except (SchemaError, ValidationError) as exc:
            raise JournalStateError(f"record not written, nothing changed: {exc}") from exc

    def _rebase(self, data: RecordData) -> RecordData:
        """Clock readings in `data` counted from the session's origin, as `mono_ns` is."""
        rebased = {name: getattr(data, name) - self._origin_ns for name in data.clock_fields}
        for name, value in rebased.items():
            if value < 0:
                raise JournalStateError(
                    f"record not written, nothing changed: data.{name} reads "
                    f"{getattr(data, name)} ns, before the session opened (at {self._origin_ns} "
                    "ns on the same clock)"
                )
        return type(data).model_validate({**dict(data), **rebased})

    def _commit(self, record: Record, line: bytes) -> None:
        """One write and one fsync for one record."""
        assert self._fd is not None and self._path is not None
        try:
            write_all(self._fd, line)
            os.fsync(self._fd)
        except OSError as exc:
            raise self._latch(self._path, record.seq, exc) from exc
        self._seq, self._hash = record.seq, record.hash

    def _commit_group(self, built: list[tuple[Record, bytes]]) -> None:
        """One write and one fsync for several records (group commit)."""
        assert self._fd is not None and self._path is not None
        try:
            write_all(self._fd, b"".join(line for _, line in built))
            os.fsync(self._fd)
        except OSError as exc:
            raise self._latch(self._path, built[0][0].seq, exc) from exc
        self._seq, self._hash = built[-1][0].seq, built[-1][0].hash

    def _end_session(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
        self._fd, self._path, self._session, self._closing = None, None, None, False

    def _write_head(self, checkpoint: Record | None = None) -> None:
        """head.json, signed, then a copy to the witness; a checkpoint restarts the count of
        records and time until the next one is due."""
        previous = self._head.checkpoint if self._head is not None else None
        head = self._signer.sign_head(
            self._last_session,
            _head_checkpoint(checkpoint) if checkpoint is not None else previous,
        )
        data = head.to_bytes()
        try:
            write_file_atomic(self._dir / HEAD_FILE, data)
        except OSError as exc:
            raise self._latch(self._dir / HEAD_FILE, self._seq, exc) from exc
        self._head = head
        if checkpoint is not None:
            self._signed()
        if self._witness is not None:
            self._witness.hand_over(data)

    # -- recovery ------------------------------------------------------------------------------

    def _recover(self) -> None:
        sessions = sorted(
            int(m.group(1)) for m in map(SESSION_FILE.match, os.listdir(self._dir)) if m
        )
        head_path = self._dir / HEAD_FILE
        if not head_path.exists():
            if sessions:
                raise JournalCorrupt(head_path, None, 0, "is missing while session files exist")
            self._write_head()
            return
        try:
            self._head = parse_head(_read_journal_file(head_path))
        except (FramingError, SchemaError) as exc:
            raise JournalCorrupt(head_path, None, 0, f"is unreadable ({exc})") from exc
        problem = verify_head(self._head)
        if problem is not None:
            raise JournalCorrupt(head_path, None, 0, f"is not signed by its key: {problem}")
        last = sessions[-1] if sessions else 0
        named = self._head.last_session
        if last not in (named, named + 1) or sessions != list(range(1, last + 1)):
            raise JournalCorrupt(
                head_path,
                None,
                0,
                f"names session {named} but the session files are {_ranges(sessions)}",
            )
        self._last_session = last
        if last == 0:
            self._check_in_force(self._head.public_key)
            return
        self._recover_session(last)

    def _recover_session(self, number: int) -> None:
        """The newest session: checked, its torn tail kept aside, closed as faulted if a crash
        left it open, and named with its last checkpoint in head.json."""
        path = self._dir / session_file_name(number)
        data = _read_journal_file(path)
        split = split_file(data)
        records = _read_chain(path, split)
        self._follow_keys(number, path, split, records)
        self._check_vouched_checkpoint(number, path, split, records)
        closed = any(rec.type == "SESSION_CLOSE" for rec in records)
        terminated = closed and records[-1].type == "CHECKPOINT"
        if split.torn_offset is not None:
            # after a closing checkpoint only a key hand-over (one write) can have been torn
            self._keep_aside(path, data, split.torn_offset)
        self._resume_chain(number, records)
        latest_checkpoint = next((r for r in reversed(records) if r.type == "CHECKPOINT"), None)
        if not terminated or split.torn_offset is not None:
            latest_checkpoint = self._close_interrupted(number, path, records, closed)
        self._refresh_head(number, latest_checkpoint)

    def _follow_keys(
        self, number: int, path: Path, split: SplitFile, records: list[Record]
    ) -> None:
        """The key in force at the end of the newest session (from the checkpoint head.json
        names if it is in an earlier session, through this session's checkpoints and key
        hand-overs) is ours, and head.json is signed by a key that has been in force."""
        assert self._head is not None
        chain = KeyChain()
        vouched = self._head.checkpoint
        if vouched is not None and vouched.session != number:
            self._vouched(vouched)
        if number > 1:  # the key in force as the session opened: the last one's closing key
            chain.follow(_last_record(self._dir / session_file_name(number - 1)), None)
        for index, record in enumerate(records):
            problem = chain.follow(record, records[index - 1] if index else None)
            if problem is not None:
                raise JournalCorrupt(path, record.seq, split.lines[index].offset, problem)
        if chain.keys and self._head.public_key not in chain.keys:
            raise JournalCorrupt(
                self._dir / HEAD_FILE,
                None,
                0,
                f"is signed by key {short(self._head.public_key)}, which never signed the "
                "journal's checkpoints",
            )
        self._check_in_force(chain.in_force or self._head.public_key)

    def _check_in_force(self, in_force: str) -> None:
        """The whole public key, not the key_id: 64 bits can be matched by trying enough keys."""
        if in_force != self._signer.public_key_hex:
            raise JournalKeyMismatch(
                self._dir,
                f"{short(in_force)} (public key {in_force})",
                f"{self.key_id} (public key {self._signer.public_key_hex})",
            )

    def _check_vouched_checkpoint(
        self, number: int, path: Path, split: SplitFile, records: list[Record]
    ) -> None:
        """head.json is written only after its checkpoint is durable, so a crash cannot lose the
        checkpoint it names: if that one is missing from this session, its tail was cut."""
        vouched = self._head.checkpoint if self._head is not None else None
        if vouched is None or vouched.session != number:
            return
        if any(r.seq == vouched.seq and r.hash == vouched.hash for r in records):
            return
        raise JournalCorrupt(
            path,
            vouched.seq,
            split.good_end(),
            f"is missing or changed, though {HEAD_FILE} names it as the last signed "
            "checkpoint: the session's tail was cut",
        )

    def _resume_chain(self, number: int, records: list[Record]) -> None:
        """The next record follows this session's last one, or, if the crash left the session
        file empty, the last one of the session before."""
        if records:
            self._seq, self._hash = records[-1].seq, records[-1].hash
        elif number > 1:
            last = _last_record(self._dir / session_file_name(number - 1))
            self._seq, self._hash = last.seq, last.hash

    def _close_interrupted(
        self, number: int, path: Path, records: list[Record], closed: bool
    ) -> Record:
        """RECOVERY (noting the kept-aside tails no earlier RECOVERY noted), then SESSION_CLOSE
        as faulted unless the crash came after it, then a signed CHECKPOINT, which it returns."""
        noted = {
            item["file"]
            for rec in records
            if rec.type == "RECOVERY"
            for item in rec.data["kept_aside"]
        }
        kept = [item for item in _kept_aside_files(self._dir, path.name) if item.file not in noted]
        try:
            self._fd = os.open(path, os.O_WRONLY | os.O_APPEND)
        except OSError as exc:
            raise self._latch(path, self._seq + 1, exc) from exc
        self._path, self._session, self._closing = path, number, closed
        self._origin_ns = self._clock.monotonic_ns()  # a new run: its clock starts afresh
        self._write(
            Recovery(
                last_good_seq=self._seq,
                kept_aside=kept,
                note="penctl stopped during this session (crash or power loss); "
                "recovered on the next start",
            ),
            "system",
        )
        if not closed:
            self._write(
                SessionClose(
                    outcome="faulted",
                    reason="interrupted: penctl stopped before the session was closed; "
                    "closed on recovery",
                ),
                "system",
            )
        checkpoint = self._write(self._signer.sign(self._seq, self._hash), "system")
        self._end_session()
        self.recovery = RecoveryReport(number, kept, closed_as_faulted=not closed)
        return checkpoint

    def _refresh_head(self, number: int, latest_checkpoint: Record | None) -> None:
        """head.json is rewritten if it does not name this session and its last checkpoint yet:
        penctl stopped before rewriting it, or recovery has just signed a checkpoint."""
        assert self._head is not None
        if self._head.last_session != number or (
            latest_checkpoint is not None
            and self._head.checkpoint != _head_checkpoint(latest_checkpoint)
        ):
            self._write_head(latest_checkpoint)

    def _check_witness(self) -> None:
        """A journal behind or forked from what its witness saw was rolled back or restored from
        an older copy: writing on would bury the loss, so it is corruption (docs/journal.md §4)."""
        if self._witness is None:
            return
        seen = self._witness.last_seen()
        if seen is None or seen.checkpoint is None:
            return
        head, copy = self._dir / HEAD_FILE, self._witness.directory / HEAD_FILE
        foreign = JournalCorrupt(
            head, None, None, f"has a witness copy ({copy}) not signed by this journal's key"
        )
        if verify_head(seen) is not None:
            raise foreign
        vouched = seen.checkpoint
        if seen.last_session > self._last_session or vouched.seq > self._seq:
            raise JournalCorrupt(
                head,
                None,
                None,
                f"is behind its witness: the witness copy ({copy}) names checkpoint record "
                f"{vouched.seq} of session {seen.last_session}, the journal ends at record "
                f"{self._seq} of session {self._last_session} (rolled back, or restored from an "
                "older copy)",
            )
        try:
            record = self._vouched(vouched)
        except JournalCorrupt as exc:
            if seen.public_key != self._signer.public_key_hex:
                raise foreign from exc
            raise JournalCorrupt(
                head,
                None,
                None,
                f"has forked from its witness: the witness copy ({copy}) names checkpoint record "
                f"{vouched.seq}, the journal holds another record there (restored from an older "
                "copy and written on?)",
            ) from exc
        if record.data["public_key"] != seen.public_key:  # a head from before a key hand-over
            raise foreign

    def _vouched(self, vouched: HeadCheckpoint) -> Record:
        """The checkpoint head.json names in an earlier session file, found by seq and hash."""
        path = self._dir / session_file_name(vouched.session)
        split = split_file(_read_journal_file(path))
        for line in split.lines:
            try:
                fields = parse_line(line.raw)
                record = check_schema(fields)
            except (FramingError, SchemaError):
                continue
            if (
                (record.seq, record.hash) == (vouched.seq, vouched.hash)
                and record.type == "CHECKPOINT"
                and record_hash(fields) == record.hash
            ):
                return record
        raise JournalCorrupt(
            path,
            vouched.seq,
            split.good_end(),
            f"is missing or changed, though {HEAD_FILE} names it as the last signed checkpoint",
        )

    def _keep_aside(self, path: Path, data: bytes, offset: int) -> None:
        """Copies the torn tail to its own file (durably), then cuts the session file back."""
        tail = data[offset:]
        target = self._dir / kept_aside_name(path.name, offset, sha256_hex(tail))
        try:
            if not target.exists():
                write_file_atomic(target, tail)
            fd = os.open(path, os.O_WRONLY)
            try:
                os.ftruncate(fd, offset)
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            raise self._latch(path, self._seq + 1, exc) from exc


def _read_journal_file(path: Path) -> bytes:
    """Never opens a FIFO, socket, device or directory: it could block recovery for ever."""
    try:
        return read_regular(path)
    except NotRegularFile as exc:
        raise JournalCorrupt(
            path,
            None,
            None,
            f"is {exc.what}, not a regular file; it was not opened. A journal holds only regular "
            "files: find out what replaced this one",
        ) from None


def _head_checkpoint(record: Record) -> HeadCheckpoint:
    return HeadCheckpoint(
        session=record.session, seq=record.seq, hash=record.hash, key_id=record.data["key_id"]
    )


def _read_chain(path: Path, split: SplitFile) -> list[Record]:
    """The records before the torn tail, each checked for framing, schema, hash and order."""
    records: list[Record] = []
    for line in split.lines:
        try:
            fields = parse_line(line.raw)
            record = check_schema(fields)
        except (FramingError, SchemaError) as exc:
            raise JournalCorrupt(path, None, line.offset, f"is unreadable ({exc})") from exc
        if record_hash(fields) != record.hash:
            raise JournalCorrupt(path, record.seq, line.offset, "does not match its hash")
        if records and (record.seq != records[-1].seq + 1 or record.prev != records[-1].hash):
            raise JournalCorrupt(
                path, record.seq, line.offset, f"does not follow record {records[-1].seq}"
            )
        records.append(record)
    return records


def _last_record(path: Path) -> Record:
    data = _read_journal_file(path)
    split = split_file(data)
    if split.torn_offset is not None or not split.lines:
        raise JournalCorrupt(path, None, split.good_end(), "ends without a complete record")
    line = split.lines[-1]
    try:
        fields = parse_line(line.raw)
        record = check_schema(fields)
    except (FramingError, SchemaError) as exc:
        raise JournalCorrupt(path, None, line.offset, f"is unreadable ({exc})") from exc
    if record_hash(fields) != record.hash:
        raise JournalCorrupt(path, record.seq, line.offset, "does not match its hash")
    return record


def _kept_aside_files(directory: Path, session_file: str) -> list[KeptAside]:
    found: list[KeptAside] = []
    for name in sorted(os.listdir(directory)):
        match = KEPT_ASIDE_FILE.match(name)
        if match is None or match.group(1) != session_file:
            continue
        content = _read_journal_file(directory / name)
        found.append(
            KeptAside(
                file=name,
                offset=int(match.group(2)),
                bytes=len(content),
                sha256=sha256_hex(content),
            )
        )
    return sorted(found, key=lambda item: item.offset)


def _ranges(numbers: list[int]) -> str:
    if not numbers:
        return "none"
    if len(numbers) <= 6:
        return ", ".join(str(n) for n in numbers)
    return f"{numbers[0]}..{numbers[-1]}"
