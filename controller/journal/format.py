"""The journal's bytes: file names, the canonical serialisation, record hashes and the head file.

Everything here is pure (no I/O) so the writer, the verifier and the tests share one definition of
what a record looks like on disk. docs/journal.md states the same rules for people.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from json.encoder import c_make_encoder, encode_basestring
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from controller.journal.records import (
    ACTOR_PATTERN,
    DATA_MODELS,
    MAX_SAFE_INTEGER,
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


class NotCanonicalValue(ValueError):
    """A value RFC 8785 (as the journal uses it) cannot give one spelling: a float, an integer
    beyond ±(2^53 - 1), a non-string key or a type JSON does not have."""


def canonical_json(value: Any) -> bytes:
    """RFC 8785 (JCS) for the journal's values: object keys sorted by UTF-16 code units, no
    whitespace, strings escaped as ECMAScript's JSON.stringify escapes them, UTF-8. Numbers are
    integers within ±(2^53 - 1) only: a record holds no floats, and a larger integer is what jq,
    JavaScript and RFC 8785 libraries round or refuse.

    json.dumps with ensure_ascii=False escapes strings exactly as RFC 8785 does (\\" \\\\ \\b
    \\f \\n \\r \\t, other controls as lowercase \\u00xx, everything else as itself) and sorts
    keys by code point, which is UTF-16 order unless a key holds a character beyond U+FFFF: only
    then is the slower encoder below needed."""
    return _dumps(value, _check(value))


# The encoder behind json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False),
# made once: JSONEncoder.encode makes a new one on every call. CPython's C encoder where there is
# one (json.encoder.c_make_encoder), without circular-reference markers: every value is checked
# first (_check), and holds no cycle; elsewhere the same settings in Python, which spell the same
# text (tests/controller/journal/test_rfc8785.py compares them).
_PY_ENCODER = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, check_circular=False
)
_PY_ENCODE = lambda value, _level: _PY_ENCODER.iterencode(value)  # noqa: E731
_ENCODE = (
    c_make_encoder(
        None, json.JSONEncoder().default, encode_basestring, None, ":", ",", True, False, False
    )
    if c_make_encoder is not None
    else _PY_ENCODE
)


def _dumps(value: Any, astral: bool) -> bytes:
    return _text(value, astral).encode("utf-8")


def _text(value: Any, astral: bool) -> str:
    if astral:
        parts: list[str] = []
        _encode(value, parts)
        return "".join(parts)
    return "".join(_ENCODE(value, 0))


def _check(value: Any) -> bool:
    """Refuses what RFC 8785 cannot spell once for us; True when a key needs UTF-16 sorting.
    Iterative and by exact type first: it runs on every record the writer appends."""
    astral = False
    pending = [value]
    while pending:
        item = pending.pop()
        kind = type(item)
        if kind is str or kind is bool or item is None:
            continue
        if kind is int and -MAX_SAFE_INTEGER <= item <= MAX_SAFE_INTEGER:
            continue
        if kind is dict:
            for key, inner in item.items():
                if type(key) is not str:
                    raise NotCanonicalValue("an object key is not a string")
                if not key.isascii() and max(key) > "\uffff":
                    astral = True
                if type(inner) is not str:
                    pending.append(inner)
        elif kind is list or kind is tuple:
            pending.extend(item)
        else:
            _check_scalar(item)
    return astral


def _check_scalar(value: Any) -> None:
    if isinstance(value, int) and not isinstance(value, bool):
        if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            raise NotCanonicalValue(f"integer {value} is beyond ±(2^53 - 1)")
    elif isinstance(value, float):
        raise NotCanonicalValue(
            f"{value!r} is a number with a fraction or exponent; records hold integers only"
        )
    elif not isinstance(value, str | bool):
        raise NotCanonicalValue(f"{type(value).__name__} is not a JSON value")


def _encode(value: Any, out: list[str]) -> None:
    """The general encoder (values already checked): keys sorted by UTF-16 code units."""
    if isinstance(value, dict):
        out.append("{")
        keys = sorted(value, key=lambda key: key.encode("utf-16-be", "surrogatepass"))
        for index, key in enumerate(keys):
            out.append("," if index else "")
            out.append(json.dumps(key, ensure_ascii=False))
            out.append(":")
            _encode(value[key], out)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for index, item in enumerate(value):
            out.append("," if index else "")
            _encode(item, out)
        out.append("]")
    else:
        out.append(json.dumps(value, ensure_ascii=False))


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


_ACTOR = re.compile(ACTOR_PATTERN)
_ACTORS_SEEN: set[str] = set()  # a session has a handful of actors: each is checked once
_HEX_DIGITS = "0123456789abcdef"
_WALL_NS_END = 253_402_300_800 * 1_000_000_000  # 10000-01-01T00:00:00Z


def utc_text(wall_ns: int) -> str:
    """Nanoseconds since the epoch as ISO 8601 UTC with microseconds and a `Z`."""
    seconds, subsecond_ns = divmod(wall_ns, 1_000_000_000)
    return f"{_utc_second(seconds)}.{subsecond_ns // 1000:06d}Z"


@functools.lru_cache(maxsize=4)
def _utc_second(seconds: int) -> str:
    """Cached: consecutive records mostly fall in the same second."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")


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
    """A new record and its line (canonical JSON plus `\\n`), ready for one write.

    The envelope is checked field by field (the full Envelope model, with its calendar check of
    `utc`, would be the hot path's largest cost) and spelled from a template: its keys are fixed
    and ASCII, and each value checked here is one RFC 8785 writes as itself (an integer, or a
    string with nothing to escape), so only `data` goes through the encoder."""
    _check_envelope(seq, session, wall_ns, mono_ns, data, actor, prev)
    utc = utc_text(wall_ns)
    try:
        fields, astral = _data_fields(data)
        head = f'{{"actor":"{actor}","data":{_text(fields, astral)}'.encode()
    except NotCanonicalValue as exc:
        raise SchemaError(str(exc)) from exc
    except UnicodeEncodeError as exc:
        raise SchemaError("text holds a lone surrogate, which UTF-8 cannot store") from exc
    tail = (
        f',"mono_ns":{mono_ns},"prev":"{prev}","seq":{seq},"session":{session},'
        f'"type":"{data.record_type}","utc":"{utc}","v":{SCHEMA_VERSION}}}'
    ).encode()
    digest = hashlib.sha256(head + tail).hexdigest()
    line = b"".join((head, b',"hash":"', digest.encode(), b'"', tail, b"\n"))
    record = Record(
        SCHEMA_VERSION, seq, session, utc, mono_ns, data.record_type, actor, fields, prev, digest
    )
    return record, line


def _data_fields(data: RecordData) -> tuple[dict[str, Any], bool]:
    """`data` as model_dump(mode="json") gives it, checked (`_check`). Most records hold only
    strings, integers, bools, nulls and lists of strings, already JSON values: those are taken
    from the model as they are, sparing pydantic's serialiser, whose code is the costliest to
    bring back into the CPU caches after an fsync (docs/journal.md §5)."""
    fields = {name: list(v) if type(v) is list else v for name, v in data.__dict__.items()}
    try:
        return fields, _check(fields)
    except NotCanonicalValue:  # a nested model (RECOVERY's kept_aside), or a value out of range
        fields = data.__pydantic_serializer__.to_python(data, mode="json")
        return fields, _check(fields)


def _check_envelope(
    seq: int, session: int, wall_ns: int, mono_ns: int, data: RecordData, actor: str, prev: str
) -> None:
    """Each envelope field in its range and of a form the template may write as it is: a bool
    is an int to Python, but `True` is not a JSON number."""
    if not 0 <= wall_ns < _WALL_NS_END:
        raise SchemaError(
            f"the wall clock reads {wall_ns} ns since 1970-01-01, outside the years 1970 to 9999 "
            "a record's utc can hold; set the system clock (or the clock given to the journal)"
        )
    if type(mono_ns) is not int or not 0 <= mono_ns <= MAX_SAFE_INTEGER:
        raise SchemaError(f"mono_ns: {mono_ns!r} is not an integer from 0 to 2^53 - 1")
    if actor not in _ACTORS_SEEN:
        if _ACTOR.fullmatch(actor) is None:
            raise SchemaError(f"actor: {actor!r} does not match {ACTOR_PATTERN}")
        if len(_ACTORS_SEEN) < 256:
            _ACTORS_SEEN.add(actor)
    if not (
        type(seq) is int
        and 1 <= seq <= MAX_SAFE_INTEGER
        and type(session) is int
        and 1 <= session <= MAX_SAFE_INTEGER
        and len(prev) == 64
        and not prev.strip(_HEX_DIGITS)
    ):
        raise SchemaError(f"seq {seq}, session {session} or prev {prev!r} is out of range")
    if DATA_MODELS.get(data.record_type) is not type(data):
        raise SchemaError(f"type: {data.record_type!r} is not one of the journal's record types")


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
        canonical = canonical_json(value) if isinstance(value, dict) else None
    except json.JSONDecodeError as exc:
        raise FramingError(f"not JSON ({exc.msg} at column {exc.colno})") from exc
    except NotCanonicalValue as exc:
        raise FramingError(f"not a record: {exc}") from exc
    except UnicodeEncodeError as exc:
        raise FramingError("holds a lone surrogate escape, which UTF-8 cannot store") from exc
    except (ValueError, RecursionError) as exc:
        # Python's own limits, met reading or re-spelling the line: integers over 4300 digits,
        # nesting deeper than the stack (which of the two meets it first depends on the Python)
        raise FramingError(_TOO_BIG) from exc
    if canonical is None:
        raise FramingError("not a JSON object")
    if canonical != raw:
        raise FramingError("not in canonical form (sorted keys, no spaces, UTF-8)")
    return value


class Envelope(BaseModel):
    """The fields around `data`; checked before `data` is checked against its type's model."""

    model_config = ConfigDict(strict=True, extra="forbid")
    v: Literal[2]
    seq: Annotated[int, Field(ge=1)]
    session: Annotated[int, Field(ge=1)]
    utc: UtcText
    mono_ns: Annotated[int, Field(ge=0, le=MAX_SAFE_INTEGER)]
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
    session: Annotated[int, Field(ge=1, le=MAX_SAFE_INTEGER)]
    seq: Annotated[int, Field(ge=1, le=MAX_SAFE_INTEGER)]
    hash: Sha256Hex
    key_id: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{16}$")]


def head_checkpoint(record: Record) -> HeadCheckpoint:
    """What head.json says of a CHECKPOINT record."""
    return HeadCheckpoint(
        session=record.session, seq=record.seq, hash=record.hash, key_id=record.data["key_id"]
    )


HEAD_VERSION = 2  # 2: signed, so a head can be handed to a witness (docs/journal.md §4)
HEAD_MESSAGE_PREFIX = b"penctl-journal head v2\n"


class Head(BaseModel):
    """head.json (and a witness's copy of it): the last session opened and the last checkpoint,
    signed with the journal's key; rewritten atomically."""

    model_config = ConfigDict(strict=True, extra="forbid")
    format: Literal["penctl-journal"] = FORMAT_NAME
    v: Literal[2] = HEAD_VERSION
    last_session: Annotated[int, Field(ge=0, le=MAX_SAFE_INTEGER)]
    checkpoint: HeadCheckpoint | None
    public_key: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
    signature: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{128}$")]

    def to_bytes(self) -> bytes:
        return canonical_json(self.model_dump(mode="json")) + b"\n"

    def message(self) -> bytes:
        return head_message(self.last_session, self.checkpoint)

    @property
    def fingerprint(self) -> str:
        """What a person can copy onto paper as a witness: `SEQ:HASH16` of the checkpoint."""
        if self.checkpoint is None:
            return "none"
        return head_fingerprint(self.checkpoint.seq, self.checkpoint.hash)


def head_message(last_session: int, checkpoint: HeadCheckpoint | None) -> bytes:
    """The exact bytes a head's signature covers (ASCII, each line ending in `\\n`)."""
    vouched = (
        "none" if checkpoint is None else f"{checkpoint.session} {checkpoint.seq} {checkpoint.hash}"
    )
    return HEAD_MESSAGE_PREFIX + f"last_session {last_session}\ncheckpoint {vouched}\n".encode(
        "ascii"
    )


def head_fingerprint(seq: int, record_hash_hex: str) -> str:
    """A checkpoint's short fingerprint: its sequence number and the first 16 hex digits of its
    hash, e.g. `86:2d44a1c09b3e4dce` (64 bits: enough that no one can make a record to match)."""
    return f"{seq}:{record_hash_hex[:16]}"


FINGERPRINT = re.compile(r"^([1-9][0-9]{0,15}):([0-9a-f]{16})$")


def parse_head(raw: bytes) -> Head:
    """head.json bytes to a Head; raises FramingError or SchemaError saying what is wrong. The
    signature is the verifier's and the writer's to check (signing.verify_head)."""
    if not raw.endswith(b"\n"):
        raise FramingError("head.json does not end with a newline")
    if raw.count(b"\n") != 1:
        raise FramingError("head.json holds more than one line")
    fields = parse_line(raw[:-1])
    version = fields.get("v")
    if isinstance(version, int) and not isinstance(version, bool) and version != HEAD_VERSION:
        raise SchemaError(
            f"head.json version {version} is not supported (this verifier reads {HEAD_VERSION})"
        )
    try:
        return Head.model_validate(fields)
    except ValidationError as exc:
        raise SchemaError(_first_error(exc)) from exc
