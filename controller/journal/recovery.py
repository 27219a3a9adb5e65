"""Opening a journal: reading it back and recovering what a crash left, before the first write.

A torn last record is copied aside, cut off and noted in a RECOVERY record; a session left open by
a crash is closed as faulted with a signed checkpoint; head.json is brought up to date. The key
in force (keychain.py) must be the writer's, and a journal behind or forked from its witness is
refused. Damage anywhere else is corruption: reported (JournalCorrupt), never cut
(docs/journal.md §6). `Recovering` is JournalWriter's base: it shares the writer's state and
writes through the writer's own record path.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from controller.journal.durable import write_file_atomic
from controller.journal.errors import JournalCorrupt, JournalFault, JournalKeyMismatch
from controller.journal.format import (
    HEAD_FILE,
    FramingError,
    Head,
    Record,
    SchemaError,
    head_checkpoint,
    kept_aside_name,
    parse_head,
    session_file_name,
    sha256_hex,
)
from controller.journal.keychain import KeyChain, short
from controller.journal.readback import (
    find_checkpoint,
    kept_aside_files,
    last_record,
    ranges,
    read_chain,
    read_journal_file,
    session_numbers,
)
from controller.journal.records import KeptAside, RecordData, Recovery, SessionClose
from controller.journal.scan import SplitFile, split_file
from controller.journal.signing import CheckpointSigner, verify_head
from controller.journal.witness import Witness
from firmware_bridge.clock import TimeSource


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


class Recovering:
    """The recovery half of JournalWriter: the state it shares with the writer, and the steps
    `JournalWriter.open` runs (`_recover`, which checks the witness before it writes anything)."""

    _dir: Path
    _signer: CheckpointSigner
    _clock: TimeSource
    _witness: Witness | None
    _fd: int | None
    _path: Path | None
    _session: int | None
    _last_session: int
    _closing: bool
    _origin_ns: int
    _seq: int
    _hash: str
    _head: Head | None
    recovery: RecoveryReport | None

    if TYPE_CHECKING:  # the writer's own record path (writer.py)

        def _write(self, data: RecordData, actor: str) -> Record: ...
        def _write_head(self, checkpoint: Record | None = None) -> None: ...
        def _latch(self, path: Path, seq: int, exc: OSError) -> JournalFault: ...
        def _end_session(self) -> None: ...

        @property
        def key_id(self) -> str: ...

    def _recover(self) -> None:
        sessions = session_numbers(self._dir)
        head_path = self._dir / HEAD_FILE
        if not head_path.exists():
            if sessions:
                raise JournalCorrupt(head_path, None, 0, "is missing while session files exist")
            self._check_witness()  # an emptied journal directory is behind what it saw
            self._write_head()
            return
        try:
            self._head = parse_head(read_journal_file(head_path))
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
                f"names session {named} but the session files are {ranges(sessions)}",
            )
        self._last_session = last
        if last == 0:
            self._check_in_force(self._head.public_key)
            self._check_witness()
            return
        self._recover_session(last)

    def _recover_session(self, number: int) -> None:
        """The newest session: checked, its torn tail kept aside, closed as faulted if a crash
        left it open, and named with its last checkpoint in head.json."""
        path = self._dir / session_file_name(number)
        data = read_journal_file(path)
        split = split_file(data)
        records = read_chain(path, split)
        self._follow_keys(number, path, split, records)
        self._check_vouched_checkpoint(number, path, split, records)
        closed = any(rec.type == "SESSION_CLOSE" for rec in records)
        terminated = closed and records[-1].type == "CHECKPOINT"
        # before anything can fail, so that a JournalFault names the record that comes next
        self._resume_chain(number, records)
        # before anything is written: recovery's new head would reach the witness and overwrite
        # the evidence that this journal is behind it
        self._check_witness()
        if split.torn_offset is not None:
            # after a closing checkpoint only a key hand-over (one write) can have been torn
            self._keep_aside(path, data, split.torn_offset)
        latest_checkpoint = next((r for r in reversed(records) if r.type == "CHECKPOINT"), None)
        if not terminated or split.torn_offset is not None:
            latest_checkpoint = self._close_interrupted(number, path, records, closed)
        self._refresh_head(number, latest_checkpoint)

    def _follow_keys(
        self, number: int, path: Path, split: SplitFile, records: list[Record]
    ) -> None:
        """The key in force at the end of the newest session (the previous session's closing
        key, followed through this session's checkpoints and key hand-overs) is ours, and
        head.json is signed by a key that has been in force."""
        assert self._head is not None
        chain = KeyChain()
        vouched = self._head.checkpoint
        if vouched is not None and vouched.session != number:
            find_checkpoint(self._dir, vouched)  # present and unchanged, else JournalCorrupt
        if number > 1:  # the key in force as the session opened: the last one's closing key
            chain.follow(last_record(self._dir / session_file_name(number - 1)), None)
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
            last = last_record(self._dir / session_file_name(number - 1))
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
        kept = [item for item in kept_aside_files(self._dir, path.name) if item.file not in noted]
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
            and self._head.checkpoint != head_checkpoint(latest_checkpoint)
        ):
            self._write_head(latest_checkpoint)

    def _check_witness(self) -> None:
        """A journal behind or forked from what its witness saw was rolled back or restored from
        an older copy: writing on would bury the loss, so it is corruption (docs/journal.md §4)."""
        if self._witness is None:
            return
        seen = self._witness.last_seen(self._dir)
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
            record = find_checkpoint(self._dir, vouched)
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
