"""The verifier: checks a journal dimension by dimension and names the first failing record.

The core (`verify_journal`) is I/O-free and takes `now` as an argument, so the same input gives a
byte-identical report. `verify_path` reads a directory or one session file and calls it. Dimensions
are judged independently: a tampered record fails `chain` without hiding a gap in `sequence`.
Every finding names its dimension, file, sequence number (the one expected at that position, so a
record whose own `seq` was altered is still named correctly) and byte offset.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from controller.journal.audit.anchors import (
    Problem,
    WitnessHead,
    check_pinned,
    check_witnesses,
)
from controller.journal.errors import JournalUnreadable
from controller.journal.format import (
    GENESIS_HASH,
    HEAD_FILE,
    KEPT_ASIDE_FILE,
    SESSION_FILE,
    FramingError,
    Head,
    Record,
    SchemaError,
    check_schema,
    parse_head,
    parse_line,
    record_hash,
    session_file_name,
    sha256_hex,
)
from controller.journal.keychain import KeyChain
from controller.journal.records import AFTER_CLOSE, Checkpoint
from controller.journal.regular import NotRegularFile, read_regular
from controller.journal.scan import Line, SplitFile, split_file
from controller.journal.signing import key_id, verify_checkpoint, verify_head

REPORT_VERSION = "1"
Severity = Literal["fail", "incomplete", "unprotected", "warning"]
Verdict = Literal["PASS", "FAIL", "INCOMPLETE", "UNPROTECTED"]
EXIT_CODES: dict[str, int] = {"PASS": 0, "FAIL": 1, "INCOMPLETE": 3, "UNPROTECTED": 4}

# Order matters: it is the order of the report, and breaks ties between findings at one offset.
DIMENSIONS: dict[str, str] = {
    "framing": "framing: one complete, canonical JSON object a line",
    "schema": "schema: fields, record types and their order in a session",
    "sequence": "sequence: numbers consecutive, no gaps, duplicates or reordering",
    "chain": "chain: each record's hash and its link to the record before",
    "links": "cross-session links: sessions chain into each other, none missing",
    "checkpoints": "checkpoints: signatures valid, key changes handed over, head.json consistent",
    "termination": "termination: every session closed and signed, no crash recovery",
    "key": "key: every signature by a key the auditor trusts (pinned)",
    "witness": "witness: not behind or forked from a head seen outside the journal",
}
_MAX_LISTED = 50
SIGNED = frozenset({"CHECKPOINT", "KEY_HANDOVER"})  # the records a key signs


@dataclass(frozen=True)
class Finding:
    dimension: str
    severity: Severity
    message: str
    file: str | None = None
    seq: int | None = None
    offset: int | None = None
    order: tuple[float, int] = (math.inf, 0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "dimension": self.dimension,
            "severity": self.severity,
            "file": self.file,
            "seq": self.seq,
            "offset": self.offset,
            "message": self.message,
        }

    def where(self) -> str:
        parts = []
        if self.seq is not None:
            parts.append(f"record {self.seq}")
        if self.file is not None:
            parts.append(self.file if self.offset is None else f"{self.file} byte {self.offset}")
        return ", ".join(parts)


@dataclass(frozen=True)
class Located:
    """A readable record and where it sits, for the timeline and the reports."""

    record: Record
    file: str
    offset: int


@dataclass
class DimensionResult:
    name: str
    checked: int = 0
    skipped: str | None = None
    findings: list[Finding] = field(default_factory=list)

    @property
    def status(self) -> str:
        severities = {f.severity for f in self.findings}
        if "fail" in severities:
            return "fail"
        if "incomplete" in severities:
            return "incomplete"
        if "unprotected" in severities:
            return "unprotected"
        return "skipped" if self.skipped else "pass"

    def to_dict(self) -> dict[str, Any]:
        problems = [f for f in self.findings if f.severity != "warning"]
        return {
            "status": self.status,
            "title": DIMENSIONS[self.name],
            "checked": self.checked,
            "skipped_because": self.skipped,
            "first_failure": problems[0].to_dict() if problems else None,
            "findings": [f.to_dict() for f in self.findings[:_MAX_LISTED]],
            "findings_total": len(self.findings),
        }


@dataclass
class SessionVerdict:
    """What the verifier learned about one session; the renderers use it too."""

    number: int
    file: str
    records: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    outcome: str | None = None
    terminated: bool = False
    recovered: bool = False
    torn_bytes: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "session": self.number,
            "file": self.file,
            "records": self.records,
            "first_seq": self.first_seq,
            "last_seq": self.last_seq,
            "outcome": self.outcome,
            "terminated": self.terminated,
            "recovered": self.recovered,
            "torn_tail_bytes": self.torn_bytes,
        }


@dataclass
class VerificationReport:
    path: str
    kind: Literal["directory", "file"]
    verified_at: str
    files: list[dict[str, Any]]
    dimensions: dict[str, DimensionResult]
    sessions: list[SessionVerdict]
    records: list[Record]
    located: list[Located]
    key_ids: list[str]
    pinned_key_id: str | None
    kept_aside: list[str]
    head_fingerprint: str | None = None

    @property
    def findings(self) -> list[Finding]:
        everything = [f for result in self.dimensions.values() for f in result.findings]
        rank = {name: index for index, name in enumerate(DIMENSIONS)}
        return sorted(everything, key=lambda f: (f.order, rank[f.dimension]))

    @property
    def first_failure(self) -> Finding | None:
        return next((f for f in self.findings if f.severity == "fail"), None)

    @property
    def first_problem(self) -> Finding | None:
        for severity in ("fail", "incomplete", "unprotected"):
            found = next((f for f in self.findings if f.severity == severity), None)
            if found is not None:
                return found
        return None

    @property
    def verdict(self) -> Verdict:
        statuses = {result.status for result in self.dimensions.values()}
        for status, verdict in (
            ("fail", "FAIL"),
            ("incomplete", "INCOMPLETE"),
            ("unprotected", "UNPROTECTED"),
        ):
            if status in statuses:
                return verdict  # type: ignore[return-value]
        return "PASS"

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.verdict]

    def to_dict(self) -> dict[str, Any]:
        seqs = [r.seq for r in self.records]
        first = self.first_problem
        return {
            "report_version": REPORT_VERSION,
            "verifier": {"name": "penctl audit verify", "version": _version()},
            "input": {"path": self.path, "kind": self.kind, "files": self.files},
            "verified_at": self.verified_at,
            "verdict": self.verdict,
            "first_failure": first.to_dict() if first else None,
            "records": {
                "total": len(self.records),
                "first_seq": min(seqs, default=None),
                "last_seq": max(seqs, default=None),
            },
            "dimensions": {name: result.to_dict() for name, result in self.dimensions.items()},
            "sessions": [s.to_dict() for s in self.sessions],
            "signing_keys": self.key_ids,
            "pinned_key": self.pinned_key_id,
            "head_fingerprint": self.head_fingerprint,
            "kept_aside_files": self.kept_aside,
            "warnings": [f.to_dict() for f in self.findings if f.severity == "warning"],
        }


class AuditInputError(ValueError):
    """PATH is not something the verifier can read; the message says what to give instead."""


def verify_path(
    path: str | os.PathLike[str],
    *,
    now: datetime | None = None,
    pinned_public_key: str | None = None,
    trusted_keys: Sequence[str] = (),
    witnesses: Sequence[WitnessHead] = (),
) -> VerificationReport:
    """Reads a journal directory (or one session file) and verifies it."""
    target = Path(path)
    files = _read_target(target)
    return verify_journal(
        files.sessions,
        head=files.head,
        kept_aside=files.kept,
        kind=files.kind,
        path=str(target),
        now=now or datetime.now(UTC),
        pinned_public_key=pinned_public_key,
        trusted_keys=trusted_keys,
        witnesses=witnesses,
        not_regular=files.not_regular,
    )


@dataclass
class _JournalFiles:
    """What `verify_path` read: the bytes of each journal file, by name."""

    kind: Literal["directory", "file"]
    sessions: dict[str, bytes] = field(default_factory=dict)
    kept: dict[str, bytes] = field(default_factory=dict)
    head: bytes | None = None
    not_regular: dict[str, str] = field(default_factory=dict)  # name: what it is instead


def _read_target(target: Path) -> _JournalFiles:
    """PATH's journal files. A PATH that is no journal is an AuditInputError saying what to give
    instead; a failed read is a JournalUnreadable naming the file."""
    if not target.exists():
        raise AuditInputError(
            f"{target} does not exist; give a journal directory or one session-NNNNNN.jsonl file"
        )
    try:
        if target.is_dir():
            return _read_directory(target)
        if target.is_file():
            return _read_session_file(target)
        raise AuditInputError(
            f"{target} is not a regular file or a directory; give a journal directory or "
            "one session-NNNNNN.jsonl file"
        )
    except IsADirectoryError as exc:
        raise AuditInputError(f"{exc.filename} is a directory, not a session file") from exc
    except OSError as exc:
        raise JournalUnreadable(
            Path(exc.filename) if exc.filename else target, exc, "nothing was verified or changed"
        ) from exc


def _read_directory(target: Path) -> _JournalFiles:
    """Session files, kept-aside files and head.json; a journal file that is not a regular file
    is listed, never opened (a FIFO would block the verifier)."""
    files = _JournalFiles("directory")
    for name in sorted(os.listdir(target)):
        if not (SESSION_FILE.match(name) or KEPT_ASIDE_FILE.match(name) or name == HEAD_FILE):
            continue
        try:
            data = read_regular(target / name)
        except NotRegularFile as exc:
            files.not_regular[name] = exc.what
            continue
        if name == HEAD_FILE:
            files.head = data
        elif SESSION_FILE.match(name):
            files.sessions[name] = data
        else:
            files.kept[name] = data
    if not files.sessions and files.head is None and not files.not_regular:
        raise AuditInputError(
            f"{target} holds no journal (no session-NNNNNN.jsonl files and no "
            f"{HEAD_FILE}); give the journal directory, e.g. the one in PENCTL_JOURNAL_DIR"
        )
    return files


def _read_session_file(target: Path) -> _JournalFiles:
    """One session file, named as penctl wrote it: its name holds the session's number."""
    if target.name == HEAD_FILE or KEPT_ASIDE_FILE.match(target.name):
        raise AuditInputError(
            f"{target} is not a session file ({target.name} is part of a journal "
            "directory); give the directory, or one session-NNNNNN.jsonl file"
        )
    if not SESSION_FILE.match(target.name):
        raise AuditInputError(
            f"{target} is not a session file: penctl expects a journal directory or one "
            "session-NNNNNN.jsonl file, named as penctl wrote it; give one of those "
            "(a session file received under another name: copy it to that name first)"
        )
    return _JournalFiles("file", sessions={target.name: target.read_bytes()})


def verify_journal(
    sessions: Mapping[str, bytes],
    *,
    head: bytes | None,
    kept_aside: Mapping[str, bytes],
    kind: Literal["directory", "file"],
    path: str,
    now: datetime,
    pinned_public_key: str | None = None,
    not_regular: Mapping[str, str] | None = None,
    trusted_keys: Sequence[str] = (),
    witnesses: Sequence[WitnessHead] = (),
) -> VerificationReport:
    """The I/O-free core: file names to bytes in, a report out.

    `pinned_public_key` (64 hex digits, from --public-key) or else `trusted_keys` (the trust
    store's) is compared in full with each signature's public key; `witnesses` are heads (or
    fingerprints) seen outside the journal.
    `not_regular` names journal files that were not read because they are not regular files
    (name to what they are, e.g. "a FIFO"); each is a framing failure.
    """
    pinned = (
        {pinned_public_key.lower(): "--public-key"}
        if pinned_public_key is not None
        else {key.lower(): "trust store" for key in trusted_keys}
    )
    verifier = _Verifier(sessions, head, kept_aside, kind, path, now, pinned)
    verifier.not_regular = dict(not_regular or {})
    verifier.witnesses = list(witnesses)
    return verifier.run()


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("penctl")
    except PackageNotFoundError:
        return "unknown"


@dataclass
class _Walk:
    """Where the walk through one session file stands: what its next line should carry."""

    number: int
    name: str
    expected_seq: int | None  # None while unknown, e.g. at the start of a lone session file
    prev_hash: str | None  # None while unknown: at such a start, or after an unreadable line
    last_mono_ns: int | None = None
    last_utc: str | None = None
    good: list[tuple[Record, int]] = field(default_factory=list)  # readable records, offsets
    types: list[tuple[str, int, int]] = field(default_factory=list)  # (type, seq, offset)


def _here(walk: _Walk, index: int) -> dict[str, Any]:
    """Where the `index`th readable record of the walk is: named by the number due at its
    position, as every dimension names it (§7)."""
    _, seq, offset = walk.types[index]
    return {"file": walk.name, "seq": seq, "offset": offset, "order": (walk.number, offset)}


def _sequence_break(found: int, due: int) -> str:
    if found > due:
        gap = (
            f"record {due} is missing"
            if found == due + 1
            else f"records {due}–{found - 1} are missing"
        )
        return f"sequence gap: found {found} where {due} was due; {gap}"
    return (
        f"sequence goes back: found {found} where {due} was due "
        "(a duplicated, reordered or inserted record)"
    )


class _Verifier:
    def __init__(
        self,
        sessions: Mapping[str, bytes],
        head: bytes | None,
        kept_aside: Mapping[str, bytes],
        kind: Literal["directory", "file"],
        path: str,
        now: datetime,
        pinned: dict[str, str],
    ):
        self.sessions = sessions
        self.head_bytes = head
        self.kept = kept_aside
        self.kind = kind
        self.path = path
        self.now = now
        self.pinned = pinned
        self.pinned_id: str | None = None  # the trusted key that signed the journal
        self.chain = KeyChain()  # the key in force, record by record (keychain.py)
        self.witnesses: list[WitnessHead] = []
        self.dims = {name: DimensionResult(name) for name in DIMENSIONS}
        self.records: list[Record] = []
        self.located: list[Located] = []
        self.by_seq: dict[int, tuple[Record, str, int]] = {}
        self.verdicts: list[SessionVerdict] = []
        self.key_ids: list[str] = []
        self.noted_kept: set[str] = set()
        self.head: Head | None = None
        self.not_regular: dict[str, str] = {}

    def add(
        self,
        dimension: str,
        severity: Severity,
        message: str,
        *,
        file: str | None = None,
        seq: int | None = None,
        offset: int | None = None,
        order: tuple[float, int] = (math.inf, 0),
    ) -> None:
        self.dims[dimension].findings.append(
            Finding(dimension, severity, message, file, seq, offset, order)
        )

    # -- the run ---------------------------------------------------------------------------------

    def run(self) -> VerificationReport:
        for name, what in self.not_regular.items():
            if not SESSION_FILE.match(name):
                self._refuse_not_regular(name, what, order=(math.inf, 0))
        files = self._ordered_files()
        if self.kind == "directory":
            self._read_head()
        self._sessions(files)
        if self.kind == "directory":
            self._head(files)
            self._kept_aside_files(files)
        self.dims["key"].checked += 1
        self._problems("key", check_pinned(self.chain.reached_from(self.pinned), self.head))
        if self.kind == "directory":
            self._witness(files)
        else:
            self._skip_directory_checks()
        return self._report()

    def _sessions(self, files: list[tuple[int, str]]) -> None:
        """The session files in order, each record due to follow the last of the file before;
        in a directory, a session file missing before one is a `links` failure."""
        expected_seq: int | None = 1 if self.kind == "directory" else None
        prev_hash: str | None = GENESIS_HASH if self.kind == "directory" else None
        previous_number: int | None = None
        for index, (number, name) in enumerate(files):
            if self.kind == "directory" and previous_number is not None:
                self._missing_between(previous_number, number, expected_seq)
            elif self.kind == "directory" and number != 1:
                self._missing_first(number)
                expected_seq, prev_hash = None, None
            previous_number = number
            last = index == len(files) - 1
            expected_seq, prev_hash = self._session(number, name, last, expected_seq, prev_hash)

    def _missing_between(self, previous: int, number: int, expected_seq: int | None) -> None:
        """Session files missing between two present ones; the next record due names them."""
        for missing in range(previous + 1, number):
            self.add(
                "links",
                "fail",
                f"session file {session_file_name(missing)} is missing (deleted?): "
                f"session {missing} is gone and session {number} does not follow "
                f"session {previous}",
                file=session_file_name(missing),
                seq=expected_seq,
                order=(missing, -1),
            )

    def _missing_first(self, number: int) -> None:
        """Session files missing before the first present one: no record is due at a known
        number after them."""
        for missing in range(1, number):
            self.add(
                "links",
                "fail",
                f"session file {session_file_name(missing)} is missing (deleted?)",
                file=session_file_name(missing),
                order=(missing, -1),
            )

    def _skip_directory_checks(self) -> None:
        """One session file says nothing of the sessions around it or of the witness."""
        single = "a single session file was given; verify the journal directory"
        self.dims["witness"].skipped = f"{single} against a witness"
        self.dims["links"].skipped = f"{single} to check how sessions link and that none is missing"

    def _report(self) -> VerificationReport:
        return VerificationReport(
            path=self.path,
            kind=self.kind,
            verified_at=self.now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            files=self._file_list(),
            dimensions=self.dims,
            sessions=self.verdicts,
            records=self.records,
            located=self.located,
            key_ids=self.key_ids,
            pinned_key_id=self.pinned_id,
            head_fingerprint=self.head.fingerprint if self.head is not None else None,
            kept_aside=sorted(self.kept),
        )

    def _witness(self, files: list[tuple[int, str]]) -> None:
        """The journal against the heads its witnesses saw (audit/anchors.py)."""
        self.dims["witness"].checked += len(self.witnesses)
        last_seq = max((r.seq for r in self.records), default=0)
        last_session = files[-1][0] if files else 0
        found = check_witnesses(
            self.witnesses, self.by_seq, last_seq, last_session, self.chain.keys
        )
        self._problems("witness", found)

    def _problems(self, dimension: str, problems: list[Problem]) -> None:
        for severity, message, file, seq in problems:
            self.add(dimension, severity, message, file=file, seq=seq)  # type: ignore[arg-type]

    def _refuse_not_regular(
        self, name: str, what: str, *, seq: int | None = None, order: tuple[float, int]
    ) -> None:
        self.dims["framing"].checked += 1
        self.add(
            "framing",
            "fail",
            f"{name} is {what}, not a regular file; it was not opened. A journal holds only "
            "regular files: find out what replaced this one, and verify a copy of the journal "
            "taken from a backup",
            file=name,
            seq=seq,
            order=order,
        )

    def _ordered_files(self) -> list[tuple[int, str]]:
        ordered: list[tuple[int, str]] = []
        names = [*self.sessions, *(n for n in self.not_regular if SESSION_FILE.match(n))]
        for name in names:
            match = SESSION_FILE.match(name)
            ordered.append((int(match.group(1)) if match else 0, name))
        return sorted(ordered)

    def _file_list(self) -> list[dict[str, Any]]:
        listed = [
            {"name": name, "bytes": len(data), "sha256": sha256_hex(data)}
            for name, data in sorted(self.sessions.items())
        ]
        if self.head_bytes is not None:
            listed.append(
                {
                    "name": HEAD_FILE,
                    "bytes": len(self.head_bytes),
                    "sha256": sha256_hex(self.head_bytes),
                }
            )
        return listed

    # -- one session file ------------------------------------------------------------------------

    def _session(
        self,
        number: int,
        name: str,
        last: bool,
        expected_seq: int | None,
        prev_hash: str | None,
    ) -> tuple[int | None, str | None]:
        """One session file, line by line; returns the seq and hash the next file should follow."""
        verdict = SessionVerdict(number=number, file=name)
        self.verdicts.append(verdict)
        if name in self.not_regular:
            self._refuse_not_regular(
                name, self.not_regular[name], seq=expected_seq, order=(number, -1)
            )
            return None, None
        split = split_file(self.sessions[name])
        walk = _Walk(number, name, expected_seq, prev_hash)
        for position, line in enumerate(split.lines):
            self._line(walk, position, line)
        good = walk.good
        verdict.records = len(good)
        if good:
            verdict.first_seq, verdict.last_seq = good[0][0].seq, good[-1][0].seq
            if self.kind == "file":
                verdict.number = good[0][0].session
        self._structure(walk)
        self._checkpoints(walk)
        next_seq = good[-1][0].seq + 1 if good else expected_seq
        self._termination(walk, last, split, verdict, next_seq)
        return walk.expected_seq, walk.prev_hash

    def _line(self, walk: _Walk, position: int, line: Line) -> None:
        """One line in every dimension; a record that passes the schema joins the readable ones."""
        here: dict[str, Any] = {
            "file": walk.name,
            "offset": line.offset,
            "order": (walk.number, line.offset),
        }
        fields = self._framing(walk, line, here)
        if fields is None:
            return
        stored_seq = fields.get("seq")
        if not isinstance(stored_seq, int) or isinstance(stored_seq, bool):
            stored_seq = None
        # the number due here names the record, so one whose own `seq` was altered is still found
        name_seq = walk.expected_seq if walk.expected_seq is not None else stored_seq
        record = self._schema(fields, name_seq, here)
        self._sequence(walk, fields, stored_seq, name_seq, here)
        self._chain(walk, position, fields, name_seq, here)
        walk.expected_seq = (
            stored_seq + 1
            if stored_seq is not None
            else (None if walk.expected_seq is None else walk.expected_seq + 1)
        )
        if record is None:
            return
        walk.good.append((record, line.offset))
        walk.types.append((record.type, name_seq or record.seq, line.offset))
        self.records.append(record)
        self.located.append(Located(record, walk.name, line.offset))
        self.by_seq.setdefault(record.seq, (record, walk.name, line.offset))
        self._clocks(walk, record, name_seq, here)

    def _framing(self, walk: _Walk, line: Line, here: dict[str, Any]) -> dict[str, Any] | None:
        """The line's fields, or None when it is not one canonical JSON object (then the next
        line's seq is counted on and its link cannot be checked)."""
        self.dims["framing"].checked += 1
        try:
            return parse_line(line.raw)
        except FramingError as exc:
            self.add("framing", "fail", f"unreadable line: {exc}", seq=walk.expected_seq, **here)
            walk.expected_seq = None if walk.expected_seq is None else walk.expected_seq + 1
            walk.prev_hash = None
            return None

    def _schema(
        self, fields: dict[str, Any], name_seq: int | None, here: dict[str, Any]
    ) -> Record | None:
        self.dims["schema"].checked += 1
        try:
            return check_schema(fields)
        except SchemaError as exc:
            self.add("schema", "fail", f"schema: {exc}", seq=name_seq, **here)
            return None

    def _sequence(
        self,
        walk: _Walk,
        fields: dict[str, Any],
        stored_seq: int | None,
        name_seq: int | None,
        here: dict[str, Any],
    ) -> None:
        """The number due at this position, in the file of the record's own session."""
        self.dims["sequence"].checked += 1
        due = walk.expected_seq
        if stored_seq is None:
            self.add("sequence", "fail", "no usable sequence number", seq=name_seq, **here)
        elif due is not None and stored_seq != due:
            self.add("sequence", "fail", _sequence_break(stored_seq, due), seq=due, **here)
        record_session = fields.get("session")
        if self.kind == "directory" and record_session != walk.number:
            self.add(
                "sequence",
                "fail",
                f"record says session {record_session!r} but sits in the file of session "
                f"{walk.number} (moved between files?)",
                seq=name_seq,
                **here,
            )

    def _chain(
        self,
        walk: _Walk,
        position: int,
        fields: dict[str, Any],
        name_seq: int | None,
        here: dict[str, Any],
    ) -> None:
        """The record's own hash, and its link to the record before; a directory's first record
        of a session links to the session before, which is the `links` dimension's to judge."""
        self.dims["chain"].checked += 1
        stored_hash = fields.get("hash")
        if not isinstance(stored_hash, str) or record_hash(fields) != stored_hash:
            self.add(
                "chain",
                "fail",
                "content does not match its hash: the record was changed after it was written",
                seq=name_seq,
                **here,
            )
        opens_file = position == 0 and self.kind == "directory"
        if walk.prev_hash is not None and fields.get("prev") != walk.prev_hash:
            if opens_file:
                self.dims["links"].checked += 1
                what = (
                    "the genesis value (all zeros)"
                    if walk.prev_hash == GENESIS_HASH
                    else "the last record of the session before"
                )
                self.add(
                    "links",
                    "fail",
                    f"first record of session {walk.number} does not link to {what}: a session "
                    "was deleted, or records before it were cut or changed",
                    seq=name_seq,
                    **here,
                )
            else:
                self.add(
                    "chain",
                    "fail",
                    "does not link to the record before it (prev differs): a record was "
                    "inserted, deleted or reordered here",
                    seq=name_seq,
                    **here,
                )
        elif opens_file:
            self.dims["links"].checked += 1
        walk.prev_hash = stored_hash if isinstance(stored_hash, str) else None

    def _clocks(
        self, walk: _Walk, record: Record, name_seq: int | None, here: dict[str, Any]
    ) -> None:
        """Warnings only: a wall clock may be set back, and the monotonic one restarts with the
        process, which only happens across a recovery."""
        if record.type in ("RECOVERY", "KEY_HANDOVER"):  # each starts a run of its own
            walk.last_mono_ns = None
        if walk.last_mono_ns is not None and record.mono_ns < walk.last_mono_ns:
            self.add(
                "sequence",
                "warning",
                "monotonic time went backwards within the session",
                seq=name_seq,
                **here,
            )
        if walk.last_utc is not None and record.utc < walk.last_utc:
            self.add(
                "sequence",
                "warning",
                f"wall-clock time went backwards ({walk.last_utc} → {record.utc}): the clock "
                "was changed",
                seq=name_seq,
                **here,
            )
        walk.last_mono_ns, walk.last_utc = record.mono_ns, record.utc

    def _structure(self, walk: _Walk) -> None:
        """§11.10(f): the order of steps a session may take."""
        closed_at: int | None = None
        for index, (kind, seq, _) in enumerate(walk.types):
            here = _here(walk, index)
            if index == 0 and kind not in ("SESSION_OPEN", "RECOVERY"):
                self.add("schema", "fail", f"session starts with {kind}, not SESSION_OPEN", **here)
            elif index > 0 and kind == "SESSION_OPEN":
                self.add("schema", "fail", "a second SESSION_OPEN inside one session", **here)
            if closed_at is None and kind == "KEY_HANDOVER":
                self.add(
                    "schema",
                    "fail",
                    "a key hand-over inside an open session: a key is handed over only after a "
                    "session's close",
                    **here,
                )
            if closed_at is not None and kind not in AFTER_CLOSE:
                self.add(
                    "schema",
                    "fail",
                    f"{kind} after the session was closed (record {closed_at})",
                    **here,
                )
            if kind == "SESSION_CLOSE":
                if closed_at is not None:
                    self.add("schema", "fail", "the session is closed twice", **here)
                closed_at = seq

    def _checkpoints(self, walk: _Walk) -> None:
        """Each signed record, named by the number due at its position (`walk.types`), as the
        other dimensions name it."""
        result = self.dims["checkpoints"]
        good = walk.good
        for index, (record, _) in enumerate(good):
            if record.type not in SIGNED:
                continue
            result.checked += 1
            here = _here(walk, index)
            before = good[index - 1][0] if index > 0 else None
            problem = self.chain.follow(record, before)
            if problem is not None:
                self.add("checkpoints", "fail", problem, **here)
            if record.type == "KEY_HANDOVER":
                self._pin(record.data["old_public_key"], record.data["old_key_id"], here)
                continue
            try:
                checkpoint = Checkpoint.model_validate(record.data)
            except ValidationError:
                continue  # already a schema failure
            if before is None or (
                before.seq != checkpoint.covers_seq or before.hash != checkpoint.covers_hash
            ):
                self.add(
                    "checkpoints",
                    "fail",
                    f"checkpoint covers record {checkpoint.covers_seq}, which is not the record "
                    "right before it (replayed or moved signature)",
                    **here,
                )
            problem = verify_checkpoint(checkpoint)
            if problem is not None:
                self.add("checkpoints", "fail", problem, **here)
            self._pin(checkpoint.public_key, checkpoint.key_id, here)
            if checkpoint.key_id not in self.key_ids:
                self.key_ids.append(checkpoint.key_id)

    def _pin(self, public_key: str, signer_id: str, here: dict[str, Any]) -> None:
        """The whole public key against the trusted ones (a 64-bit key_id can be matched), or
        a key a valid hand-over chain reached from one of them."""
        if not self.pinned:
            return
        self.dims["key"].checked += 1
        if public_key in self.pinned:
            self.pinned_id = self.pinned_id or signer_id
            return
        if public_key in self.chain.reached_from(self.pinned):
            return
        ids = {key_id(bytes.fromhex(k)): source for k, source in self.pinned.items()}
        same_id = " (the same key_id, but a different public key)" if signer_id in ids else ""
        self.add(
            "key",
            "fail",
            f"signed by key {signer_id}, not by the pinned key {', '.join(sorted(ids))}"
            f"{same_id} nor a key it handed over to: the journal was re-signed, or its key "
            "changed without a hand-over",
            **here,
        )

    def _termination(
        self,
        walk: _Walk,
        last: bool,
        split: SplitFile,
        verdict: SessionVerdict,
        next_seq: int | None,
    ) -> None:
        """Unterminated sessions and torn tails are a crash's marks: allowed only at the end of
        the newest session, beyond the last checkpoint head.json vouches for. The words name the
        session of the verdict: for a lone file, the one its records name (§7)."""
        self.dims["termination"].checked += 1
        number, name = walk.number, walk.name
        records = [r for r, _ in walk.good]
        close = next((r for r in records if r.type == "SESSION_CLOSE"), None)
        verdict.outcome = close.data.get("outcome") if close is not None else None
        verdict.terminated = (
            close is not None and bool(records) and records[-1].type == "CHECKPOINT"
        )
        vouched = self.head.checkpoint.seq if self.head and self.head.checkpoint else 0
        cut = next_seq is not None and vouched >= next_seq
        # a torn tail can follow a closing checkpoint: a key hand-over is written after one
        crash_end = self.kind == "file" or (last and not cut)
        pending = not verdict.terminated and crash_end
        why = f"{HEAD_FILE} vouches for record {vouched}" if cut else "a later session exists"
        if split.torn_offset is not None:
            verdict.torn_bytes = split.size - split.torn_offset
            self._torn_tail(number, name, split, next_seq, pending=crash_end, why=why)
        self._recoveries(walk, verdict)
        if not verdict.terminated:
            self._unclosed(walk, verdict.number, split, next_seq, pending=pending, why=why)

    def _torn_tail(
        self,
        number: int,
        name: str,
        split: SplitFile,
        next_seq: int | None,
        *,
        pending: bool,
        why: str,
    ) -> None:
        """Bytes after the last record: a crash's, if still `pending`, else corruption (`why`)."""
        assert split.torn_offset is not None
        torn_bytes = split.size - split.torn_offset
        here = {"file": name, "offset": split.torn_offset, "order": (number, split.torn_offset)}
        if pending:
            self.add(
                "framing",
                "incomplete",
                f"torn tail: the last {torn_bytes} bytes are an unfinished record "
                "(a crash during a write, never acknowledged); the next start of penctl "
                "keeps it aside, cuts it off and notes it",
                seq=next_seq,
                **here,
            )
        else:
            self.add(
                "framing",
                "fail",
                f"{torn_bytes} bytes at the end are not a complete record, and "
                f"{why}: corruption, not a crash",
                seq=next_seq,
                **here,
            )

    def _unclosed(
        self,
        walk: _Walk,
        session: int,
        split: SplitFile,
        next_seq: int | None,
        *,
        pending: bool,
        why: str,
    ) -> None:
        """No closing checkpoint: a session still running or crashed, if still `pending`, else a
        cut tail (`why`)."""
        number, name = walk.number, walk.name
        end = split.good_end()
        last_seq = walk.good[-1][0].seq if walk.good else "-"
        if pending:
            self.add(
                "termination",
                "incomplete",
                f"session {session} is not closed (no SESSION_CLOSE and checkpoint at its end): "
                "it is still running, or penctl stopped during it and has not started since",
                file=name,
                seq=next_seq,
                offset=end,
                order=(number, end),
            )
        else:
            self.add(
                "termination",
                "fail",
                f"session {session} ends at record {last_seq} without a closing checkpoint, "
                f"but {why}: its tail was cut",
                file=name,
                seq=next_seq,
                offset=end,
                order=(number, end),
            )

    def _recoveries(self, walk: _Walk, verdict: SessionVerdict) -> None:
        """Each RECOVERY, named as `_checkpoints` names a signed record; its kept-aside files
        against their notes, in a directory."""
        for index, (record, _) in enumerate(walk.good):
            if record.type != "RECOVERY":
                continue
            verdict.recovered = True
            here = _here(walk, index)
            torn_bytes = sum(item["bytes"] for item in record.data["kept_aside"])
            kept = f"; {torn_bytes} bytes of an unfinished record were kept aside"
            self.add(
                "termination",
                "incomplete",
                f"session {verdict.number} was recovered after penctl stopped during it"
                + (kept if torn_bytes else ""),
                **here,
            )
            for item in record.data["kept_aside"]:
                self.noted_kept.add(item["file"])
                if self.kind != "directory":
                    continue
                content = self.kept.get(item["file"])
                if content is None:
                    self.add(
                        "termination",
                        "fail",
                        f"kept-aside file {item['file']} noted here is missing: the evidence of "
                        "a torn write was deleted",
                        **here,
                    )
                elif len(content) != item["bytes"] or sha256_hex(content) != item["sha256"]:
                    self.add(
                        "termination",
                        "fail",
                        f"kept-aside file {item['file']} does not match its size and SHA-256 "
                        "noted here: it was changed",
                        **here,
                    )

    # -- the directory as a whole ------------------------------------------------------------------

    def _read_head(self) -> None:
        if self.head_bytes is None:
            return
        self.dims["framing"].checked += 1
        try:
            self.head = parse_head(self.head_bytes)
        except (FramingError, SchemaError) as exc:
            self.add(
                "framing",
                "fail",
                f"{HEAD_FILE} is unreadable: {exc}",
                file=HEAD_FILE,
                order=(math.inf, 0),
            )

    def _head(self, files: list[tuple[int, str]]) -> None:
        """head.json against the session files: the last session and checkpoint it names."""
        if self.head_bytes is None:
            if HEAD_FILE in self.not_regular:
                return
            self.add(
                "links",
                "fail",
                f"{HEAD_FILE} is missing: it names the last session and checkpoint, so without "
                "it a deleted newest session cannot be ruled out",
                file=HEAD_FILE,
                order=(math.inf, 0),
            )
            return
        if self.head is None:
            return  # unreadable: a framing failure already
        self._head_signature(self.head)
        self._head_session(self.head, files[-1][0] if files else 0)
        self._head_checkpoint(self.head)

    def _head_signature(self, head: Head) -> None:
        """head.json signed by the journal's own key (the trusted key is the `key` dimension's)."""
        self.dims["checkpoints"].checked += 1
        problem = verify_head(head)
        if problem is None and self.chain.keys and head.public_key not in self.chain.keys:
            in_force = ", ".join(key_id(bytes.fromhex(k)) for k in self.chain.keys)
            problem = (
                f"it is signed by key {key_id(bytes.fromhex(head.public_key))}, the checkpoints "
                f"by {in_force}"
            )
        if problem is not None:
            self.add(
                "checkpoints",
                "fail",
                f"{HEAD_FILE} is not signed by the journal's key: {problem}",
                file=HEAD_FILE,
                order=(math.inf, 0),
            )

    def _head_session(self, head: Head, last: int) -> None:
        """The last session head.json names is the last file, or the one before while the
        newest is being opened."""
        self.dims["links"].checked += 1
        order = (math.inf, 0)
        if head.last_session > last:
            self.add(
                "links",
                "fail",
                f"{HEAD_FILE} says session {head.last_session} was opened, but the last session "
                f"file is {last}: newer session files were deleted",
                file=HEAD_FILE,
                order=order,
            )
        elif head.last_session < last - 1:
            self.add(
                "links",
                "fail",
                f"{HEAD_FILE} names session {head.last_session}, but sessions up to {last} exist: "
                f"{HEAD_FILE} was replaced by an older copy",
                file=HEAD_FILE,
                order=order,
            )
        elif head.last_session == last - 1:
            self.add(
                "links",
                "warning",
                f"{HEAD_FILE} was not yet updated for session {last} (penctl stopped while "
                "opening it); the next start updates it",
                file=HEAD_FILE,
                order=order,
            )

    def _head_checkpoint(self, head: Head) -> None:
        """The checkpoint head.json names is in the journal, unchanged: the last one, or the one
        before while penctl has yet to rewrite head.json."""
        order = (math.inf, 0)
        wanted = head.checkpoint
        if wanted is None:
            if self.key_ids:
                self.add(
                    "checkpoints",
                    "warning",
                    f"{HEAD_FILE} names no checkpoint although the journal has some",
                    file=HEAD_FILE,
                    order=order,
                )
            return
        self.dims["checkpoints"].checked += 1
        found = self.by_seq.get(wanted.seq)
        if found is None or not (
            found[0].type == "CHECKPOINT"
            and found[0].hash == wanted.hash
            and found[0].session == wanted.session
            and found[0].data.get("key_id") == wanted.key_id
        ):
            self.add(
                "checkpoints",
                "fail",
                f"{HEAD_FILE} names checkpoint record {wanted.seq} of session {wanted.session} "
                f"(hash {wanted.hash[:12]}…), which is not in {session_file_name(wanted.session)}"
                f": records were cut or changed, or {HEAD_FILE} was",
                file=HEAD_FILE,
                seq=wanted.seq,
                order=order,
            )
            return
        later = [r for r in self.records if r.type == "CHECKPOINT" and r.seq > wanted.seq]
        if later:
            self.add(
                "checkpoints",
                "warning",
                f"{HEAD_FILE} names checkpoint {wanted.seq}; record {later[-1].seq} is newer "
                "(penctl stopped before updating it; the next start does)",
                file=HEAD_FILE,
                order=order,
            )

    def _kept_aside_files(self, files: list[tuple[int, str]]) -> None:
        last_file = files[-1][1] if files else None
        for name in sorted(self.kept):
            if name in self.noted_kept:
                continue
            match = KEPT_ASIDE_FILE.match(name)
            owner = match.group(1) if match else None
            pending = owner == last_file and not (self.verdicts and self.verdicts[-1].terminated)
            self.add(
                "termination",
                "incomplete" if pending else "warning",
                f"kept-aside file {name} is not noted by any RECOVERY record"
                + ("; the next start of penctl notes it" if pending else ""),
                file=name,
            )
