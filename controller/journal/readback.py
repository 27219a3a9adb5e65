"""Reading a journal back from disk, checked and never changed: what opening it starts from.

Every function here reads only regular files (never a FIFO, socket or device, which could block
the controller) and raises JournalCorrupt, naming the file, record and byte offset, for damage.
The writer's recovery (recovery.py) decides what to do with what they find.
"""

from __future__ import annotations

import os
from pathlib import Path

from controller.journal.errors import JournalCorrupt
from controller.journal.format import (
    HEAD_FILE,
    KEPT_ASIDE_FILE,
    SESSION_FILE,
    FramingError,
    HeadCheckpoint,
    Record,
    SchemaError,
    check_schema,
    parse_line,
    record_hash,
    session_file_name,
    sha256_hex,
)
from controller.journal.records import KeptAside
from controller.journal.regular import NotRegularFile, read_regular
from controller.journal.scan import Line, SplitFile, split_file


def session_numbers(directory: Path) -> list[int]:
    """The numbers of the session files in `directory`, in order."""
    return sorted(int(m.group(1)) for m in map(SESSION_FILE.match, os.listdir(directory)) if m)


def read_journal_file(path: Path) -> bytes:
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


def read_chain(path: Path, split: SplitFile) -> list[Record]:
    """The records before the torn tail, each checked for framing, schema, hash and order."""
    records: list[Record] = []
    for line in split.lines:
        record = _checked(path, line)
        if records and (record.seq != records[-1].seq + 1 or record.prev != records[-1].hash):
            raise JournalCorrupt(
                path, record.seq, line.offset, f"does not follow record {records[-1].seq}"
            )
        records.append(record)
    return records


def last_record(path: Path) -> Record:
    """The last record of a complete session file (one a crash cannot have left torn)."""
    data = read_journal_file(path)
    split = split_file(data)
    if split.torn_offset is not None or not split.lines:
        raise JournalCorrupt(path, None, split.good_end(), "ends without a complete record")
    return _checked(path, split.lines[-1])


def _checked(path: Path, line: Line) -> Record:
    """One line's record: framing, schema and its own hash."""
    try:
        fields = parse_line(line.raw)
        record = check_schema(fields)
    except (FramingError, SchemaError) as exc:
        raise JournalCorrupt(path, None, line.offset, f"is unreadable ({exc})") from exc
    if record_hash(fields) != record.hash:
        raise JournalCorrupt(path, record.seq, line.offset, "does not match its hash")
    return record


def kept_aside_files(directory: Path, session_file: str) -> list[KeptAside]:
    found: list[KeptAside] = []
    for name in sorted(os.listdir(directory)):
        match = KEPT_ASIDE_FILE.match(name)
        if match is None or match.group(1) != session_file:
            continue
        content = read_journal_file(directory / name)
        found.append(
            KeptAside(
                file=name,
                offset=int(match.group(2)),
                bytes=len(content),
                sha256=sha256_hex(content),
            )
        )
    return sorted(found, key=lambda item: item.offset)


def ranges(numbers: list[int]) -> str:
    if not numbers:
        return "none"
    if len(numbers) <= 6:
        return ", ".join(str(n) for n in numbers)
    return f"{numbers[0]}..{numbers[-1]}"


def find_checkpoint(directory: Path, vouched: HeadCheckpoint) -> Record:
    """The checkpoint head.json names in an earlier session file, found by seq and hash."""
    path = directory / session_file_name(vouched.session)
    split = split_file(read_journal_file(path))
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
