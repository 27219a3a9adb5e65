"""The append-only journal writer: a record is acknowledged only once it is on disk.

Theory of operation. One file per session, one line per record, each line written with one
`write` and made durable with one `fsync` before `append` returns; the directory is fsynced when a
file is created. `head.json` (rewritten atomically after a session opens and after each checkpoint)
names the last session and the last checkpoint, so deleting the newest session file or cutting a
closed session's tail is detectable. The first write or fsync error latches the writer: every later
call raises JournalFault and nothing is retried. Opening a journal recovers it (recovery.py, which
reads it back through readback.py): a torn last record is copied aside, cut off and noted in a
RECOVERY record, and a session left open by a crash is closed as faulted with a signed checkpoint.
Damage anywhere else is corruption: reported, never cut.

The writer is not thread-safe; the controller's one owner thread calls it (ARCHITECTURE §2). It
runs one chore of its own on a second thread: the head.json rewrite after a periodic checkpoint
(background.py), at most once every `CheckpointPolicy.head_ms`, so an append waits for its own
fsync and nothing more. That rewrite is waited for before head.json is written again and on
close; its failure latches the writer at the next call, or at `poll()`, which the controller's
tick calls (docs/journal.md §5).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import NamedTuple

from pydantic import ValidationError

from controller.journal.background import Chore
from controller.journal.durable import fsync_dir, make_dirs, write_all, write_file_atomic
from controller.journal.errors import (
    JournalBusy,
    JournalError,
    JournalFault,
    JournalStateError,
    JournalUnreadable,
)
from controller.journal.format import (
    GENESIS_HASH,
    HEAD_FILE,
    LOCK_FILE,
    Head,
    Record,
    SchemaError,
    build_record,
    head_checkpoint,
    head_fingerprint,
    session_file_name,
)
from controller.journal.paths import resolve_key_dir
from controller.journal.records import (
    ACTOR_PATTERN,
    Outcome,
    RecordData,
    SessionClose,
    SessionOpen,
)
from controller.journal.recovery import Recovering, RecoveryReport
from controller.journal.signing import CheckpointSigner
from controller.journal.witness import CheckpointPolicy, Witness
from firmware_bridge.clock import RealClock, TimeSource

_RESERVED = {
    "SESSION_OPEN": "open_session()",
    "SESSION_CLOSE": "close_session()",
    "CHECKPOINT": "checkpoint()",
    "RECOVERY": "the writer's own recovery",
    "KEY_HANDOVER": "rotate_key()",
}


class JournalWriter(Recovering):
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
        self._pending_head: _PendingHead | None = None
        self._head_owed: Record | None = None  # a periodic checkpoint head.json does not name yet
        self._head_at_ns = 0  # the monotonic clock's reading at the last head.json rewrite
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
    def last_session(self) -> int | None:
        """The newest session's number, open or closed (None before the first): what a summary
        shown after closing names."""
        return self._last_session or None

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
        that goes out on paper or by e-mail and so witnesses the journal too. A head still being
        written in the background, or not yet begun (`CheckpointPolicy.head_ms`), counts: the
        checkpoint it names is already durable."""
        if self._head_owed is not None:
            return head_fingerprint(self._head_owed.seq, self._head_owed.hash)
        head = self._pending_head.head if self._pending_head is not None else self._head
        return head.fingerprint if head is not None else "none"

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
        session = self._appendable(data)
        built = self._build(data, actor, session)
        self._seal([built])
        return built[0]

    def append_many(self, items: Sequence[tuple[RecordData, str]]) -> list[Record]:
        """Group commit: records that arrived together, written with one write and one fsync;
        each is acknowledged (returned) only after that fsync. All are built and validated
        first, so a refused one leaves nothing written."""
        session = self._appendable(*(data for data, _ in items))
        built: list[tuple[Record, bytes]] = []
        for data, actor in items:
            built.append(self._build(data, actor, session, built[-1][0] if built else None))
        if built:
            self._seal(built)
        return [record for record, _ in built]

    def _appendable(self, *data: RecordData) -> int:
        """The open session's number, if records of these types may be appended to it now."""
        self._check_writable()
        if self._session is None:
            raise JournalStateError("no session is open; call open_session() first")
        if self._closing:
            raise JournalStateError(f"session {self._session} is closed; open a new session")
        for one in data:
            reserved = _RESERVED.get(one.record_type)
            if reserved is not None:
                raise JournalStateError(f"{one.record_type} records are written by {reserved}")
        return self._session

    def _seal(self, built: list[tuple[Record, bytes]]) -> None:
        """Makes records built together durable with one write and one fsync. A periodic
        checkpoint that falls due rides in the same write (it is signed before it is written);
        head.json follows it on a thread, now or once `head_ms` has passed (`_pay_head`)."""
        last = built[-1][0]
        if self._policy.due(
            last.seq - self._signed_seq, last.mono_ns + self._origin_ns - self._signed_at_ns
        ):
            checkpoint = self._build(
                self._signer.sign(last.seq, last.hash), "system", last.session, last
            )
            self._commit_group([*built, checkpoint])
            self._signed()
            self._head_owed = checkpoint[0]
        else:
            self._commit_group(built)
        self._pay_head()

    def checkpoint(self, actor: str = "controller") -> Record:
        """Signs the hash of the last record and records the signature; head.json follows it."""
        self._check_writable()
        if self._session is None:
            raise JournalStateError("no session is open; checkpoints are written inside sessions")
        record = self._write(self._signer.sign(self._seq, self._hash), actor)
        self._write_head(record)
        self._signed()
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

    def poll(self) -> None:
        """Raises JournalFault if the background head.json rewrite failed (latching the writer),
        and starts one owed once its time has come; never waits. The controller's tick calls it,
        so a failure that no append follows still stops the needle within a tick (S7), and
        head.json follows the last checkpoint of a burst of records within a tick of `head_ms`."""
        self._settle_head(wait=False)
        if self._fault is None:
            self._pay_head()

    def close(self) -> None:
        """Releases the files and the lock; an open session stays open (recovered on next open).
        A head.json rewrite in flight is waited for first, and one owed is made; a failure is
        raised after the release, so a head that never reached the disk is not passed over in
        silence."""
        try:
            self._settle_head()
            if self._head_owed is not None and self._fault is None:
                self._write_head(self._head_owed)
        finally:
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

    # -- internals -----------------------------------------------------------------------------

    def _check_writable(self) -> None:
        self._settle_head(wait=False)
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

    def _pay_head(self) -> None:
        """Starts the owed head.json rewrite on a thread of its own (a Chore) once `head_ms` has
        passed since the last rewrite began and none is in flight; never waits. The checkpoint
        it names is already durable in the session file; the head becomes the writer's own once
        the chore is settled."""
        owed = self._head_owed
        if owed is None or self._pending_head is not None:
            return
        if not self._policy.head_due(self._clock.monotonic_ns() - self._head_at_ns):
            return
        head = self._signed_head(owed)
        data = head.to_bytes()
        try:
            chore = Chore(lambda: self._store_head(data), "journal-head")
        except RuntimeError:  # no thread to be had (the process at its limit): write it here
            self._write_head(owed)
            return
        self._pending_head = _PendingHead(chore, head, owed.seq)
        self._head_owed, self._head_at_ns = None, self._clock.monotonic_ns()

    def _write_head(self, checkpoint: Record | None = None) -> None:
        """head.json, signed, then a copy to the witness, in the caller's path. A checkpoint given
        is the newest (none is owed after it); without one, head.json names the checkpoint it
        named. A failure names the checkpoint the head was to vouch for."""
        self._settle_head()
        head = self._signed_head(checkpoint)
        self._head_owed, self._head_at_ns = None, self._clock.monotonic_ns()
        try:
            self._store_head(head.to_bytes())
        except OSError as exc:
            seq = self._seq if checkpoint is None else checkpoint.seq
            raise self._latch(self._dir / HEAD_FILE, seq, exc) from exc
        self._head = head

    def _signed_head(self, checkpoint: Record | None) -> Head:
        previous = self._head.checkpoint if self._head is not None else None
        vouched = head_checkpoint(checkpoint) if checkpoint is not None else previous
        return self._signer.sign_head(self._last_session, vouched)

    def _store_head(self, data: bytes) -> None:
        write_file_atomic(self._dir / HEAD_FILE, data)
        if self._witness is not None:
            self._witness.hand_over(data)

    def _settle_head(self, *, wait: bool = True) -> None:
        """Ends the background head.json rewrite, if one is in flight (with `wait=False`, only
        if it is done): its head becomes the writer's, or its failure latches the writer, naming
        head.json and the checkpoint it was to vouch for. A failure after the writer has latched
        on another is not raised again: the first fault is the one reported."""
        pending = self._pending_head
        if pending is None or not (wait or pending.chore.done):
            return
        self._pending_head = None
        error = pending.chore.wait()
        if error is None:
            self._head = pending.head
        elif not isinstance(error, OSError):
            raise error
        elif self._fault is None:
            raise self._latch(self._dir / HEAD_FILE, pending.seq, error) from error


class _PendingHead(NamedTuple):
    chore: Chore
    head: Head
    seq: int  # the checkpoint's, which the head vouches for
