"""The journal's bytes: file names, the canonical serialisation, record hashes and the head file.

Everything here is pure (no I/O) so the writer, the verifier and the tests share one definition of
what a record looks like on disk. docs/journal.md states the same rules for people.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from controller.journal.records import (
    ACTOR_PATTERN,
    DATA_MODELS,
    SCHEMA_VERSION,
    RecordData,
    Sha256Hex,
    UtcText,
)

FORMAT_NAME = "penctl-journal"
GENESIS_HASH = "0" * 64
HEAD_FILE = "head.json"
LOCK_FILE = ".lock"
SESSION_FILE = re.compile(r"^session-(\d{6})\.jsonl$")
KEPT_ASIDE_FILE = re.compile(r"^(session-\d{6}\.jsonl)\.torn-(\d+)-([0-9a-f]{12})$")


def session_file_name(session: int) -> str:
    return f"session-{session:06d}.jsonl"


def kept_aside_name(session_file: str, offset: int, sha256_hex: str) -> str:
    """Named by offset and content, so keeping the same torn tail aside twice is harmless."""
    return f"{session_file}.torn-{offset}-{sha256_hex[:12]}"


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no whitespace, UTF-8; for our value space this is RFC 8785 (JCS)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


_WALL_NS_END = 253_402_300_800 * 1_000_000_000  # 10000-01-01T00:00:00Z


def utc_text(wall_ns: int) -> str:
    """Nanoseconds since the epoch as ISO 8601 UTC with microseconds and a `Z`."""
    seconds, subsecond_ns = divmod(wall_ns, 1_000_000_000)
    stamp = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{subsecond_ns // 1000:06d}Z"


@dataclass(frozen=True, slots=True)
class Record:
    """One journal record, as written: `hash` is SHA-256 of the canonical form without `hash`."""

    v: int
    seq: int
    session: int
    utc: str
    mono_ns: int
    type: str
    actor: str
    data: dict[str, Any]
    prev: str
    hash: str


def record_hash(fields: dict[str, Any]) -> str:
    """The record hash: SHA-256 over the canonical JSON of every field except `hash`."""
    return sha256_hex(canonical_json({k: v for k, v in fields.items() if k != "hash"}))


def build_record(
    *,
    seq: int,
    session: int,
    wall_ns: int,
    mono_ns: int,
    data: RecordData,
    actor: str,
    prev: str,
) -> tuple[Record, bytes]:
    """A new record and its line (canonical JSON plus `\\n`), ready for one write."""
    if not 0 <= wall_ns < _WALL_NS_END:
        raise SchemaError(
            f"the wall clock reads {wall_ns} ns since 1970-01-01, outside the years 1970 to 9999 "
            "a record's utc can hold; set the system clock (or the clock given to the journal)"
        )
    fields: dict[str, Any] = {
        "v": SCHEMA_VERSION,
        "seq": seq,
        "session": session,
        "utc": utc_text(wall_ns),
        "mono_ns": mono_ns,
        "type": data.record_type,
        "actor": actor,
        "data": data.model_dump(mode="json"),
        "prev": prev,
    }
    try:
        Envelope.model_validate({**fields, "hash": GENESIS_HASH})
        fields["hash"] = record_hash(fields)
        line = canonical_json(fields) + b"\n"
    except ValidationError as exc:
        raise SchemaError(_first_error(exc)) from exc
    except UnicodeEncodeError as exc:
        raise SchemaError("text holds a lone surrogate, which UTF-8 cannot store") from exc
    return Record(**fields), line


class FramingError(ValueError):
    """A line that is not one canonical JSON object."""


_TOO_BIG = "not a record: nested too deeply, or an integer too long to read (over 4300 digits)"


def parse_line(raw: bytes) -> dict[str, Any]:
    """Bytes of one line (without its newline) to a dict, insisting on the canonical form."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FramingError(f"not UTF-8 (byte {exc.start} of the line)") from exc
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FramingError(f"not JSON ({exc.msg} at column {exc.colno})") from exc
    except (ValueError, RecursionError) as exc:
        # Python's own limits: integers over 4300 digits, nesting deeper than the stack
        raise FramingError(_TOO_BIG) from exc
    if not isinstance(value, dict):
        raise FramingError("not a JSON object")
    try:
        canonical = canonical_json(value)
    except UnicodeEncodeError as exc:
        raise FramingError("holds a lone surrogate escape, which UTF-8 cannot store") from exc
    except (ValueError, RecursionError) as exc:
        raise FramingError(_TOO_BIG) from exc
    if canonical != raw:
        raise FramingError("not in canonical form (sorted keys, no spaces, UTF-8)")
    return value


class Envelope(BaseModel):
    """The fields around `data`; checked before `data` is checked against its type's model."""

    model_config = ConfigDict(strict=True, extra="forbid")
    v: Literal[1]
    seq: Annotated[int, Field(ge=1)]
    session: Annotated[int, Field(ge=1)]
    utc: UtcText
    mono_ns: Annotated[int, Field(ge=0)]
    type: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    actor: Annotated[str, StringConstraints(pattern=ACTOR_PATTERN)]
    data: dict[str, Any]
    prev: Sha256Hex
    hash: Sha256Hex


class SchemaError(ValueError):
    """A record whose fields or data do not match the schema; the message names the field."""


def _first_error(exc: ValidationError, prefix: str = "") -> str:
    err = exc.errors()[0]
    where = ".".join(str(part) for part in err["loc"])
    return f"{prefix}{where}: {err['msg']}" if where else f"{prefix.rstrip('.')}: {err['msg']}"


def check_schema(fields: dict[str, Any]) -> Record:
    """The envelope and the typed data; raises SchemaError naming the first bad field."""
    version = fields.get("v")
    if isinstance(version, int) and not isinstance(version, bool) and version != SCHEMA_VERSION:
        raise SchemaError(
            f"schema version {version} is not supported (this verifier reads {SCHEMA_VERSION})"
        )
    try:
        Envelope.model_validate(fields)
    except ValidationError as exc:
        raise SchemaError(_first_error(exc)) from exc
    model = DATA_MODELS.get(fields["type"])
    if model is None:
        raise SchemaError(f"type: unknown record type {fields['type']!r}")
    try:
        model.model_validate(fields["data"])
    except ValidationError as exc:
        raise SchemaError(_first_error(exc, "data.")) from exc
    return Record(**fields)


class HeadCheckpoint(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    session: Annotated[int, Field(ge=1)]
    seq: Annotated[int, Field(ge=1)]
    hash: Sha256Hex
    key_id: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{16}$")]


class Head(BaseModel):
    """head.json: the last session opened and the last checkpoint, rewritten atomically."""

    model_config = ConfigDict(strict=True, extra="forbid")
    format: Literal["penctl-journal"] = FORMAT_NAME
    v: Literal[1] = SCHEMA_VERSION
    last_session: Annotated[int, Field(ge=0)]
    checkpoint: HeadCheckpoint | None

    def to_bytes(self) -> bytes:
        return canonical_json(self.model_dump(mode="json")) + b"\n"


def parse_head(raw: bytes) -> Head:
    """head.json bytes to a Head; raises FramingError or SchemaError saying what is wrong."""
    if not raw.endswith(b"\n"):
        raise FramingError("head.json does not end with a newline")
    fields = parse_line(raw[:-1])
    try:
        return Head.model_validate(fields)
    except ValidationError as exc:
        raise SchemaError(_first_error(exc)) from exc
