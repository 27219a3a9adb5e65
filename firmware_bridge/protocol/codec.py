"""Sans-IO codec: `encode(message, seq)` for bytes out, `Decoder.feed(data)` for frames in.

No threads, clocks or sockets. The decoder never raises on input: every malformed frame becomes a
typed `DecodeError`, is counted in `Decoder.stats`, and decoding resumes at the next delimiter.
Memory is bounded by MAX_ENCODED however much garbage arrives without a delimiter.
"""

from __future__ import annotations

import struct
from binascii import crc_hqx
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import Any, NamedTuple

from firmware_bridge.protocol.framing import (
    CRC_INIT,
    CRC_SIZE,
    FLAGS_DEFINED,
    HEADER,
    HEADER_SIZE,
    MAX_ENCODED,
    MAX_PAYLOAD,
    PROTOCOL_VERSION,
    cobs_encode,
    crc16,
)
from firmware_bridge.protocol.messages import MESSAGES, Message

_CRC = struct.Struct("<H")
_MIN_FRAME = HEADER_SIZE + CRC_SIZE
_RAW_KEEP = 64  # bytes of a bad frame kept for the fault dump


class ErrorKind(StrEnum):
    TRUNCATED = "truncated"  # shorter than its COBS codes or its length byte say
    OVERSIZE = "oversize"  # more than MAX_ENCODED bytes before a delimiter
    BAD_LENGTH = "bad_length"  # longer than its length byte says
    BAD_CRC = "bad_crc"
    WRONG_VERSION = "wrong_version"
    UNKNOWN_TYPE = "unknown_type"
    BAD_FIELD = "bad_field"  # payload size or a field value is wrong for its type


class Frame(NamedTuple):
    """A decoded frame. A NamedTuple because the decoder makes one per telemetry sample."""

    seq: int
    message: Message
    flags: int = 0


@dataclass(frozen=True, slots=True)
class DecodeError:
    """A dropped frame. `seq` and `msg_type` are set only when the CRC vouched for the header."""

    kind: ErrorKind
    detail: str
    raw: bytes = b""
    seq: int | None = None
    msg_type: int | None = None


def encode(message: Message, seq: int, flags: int = 0) -> bytes:
    """One complete frame: COBS(header + payload + CRC) followed by the 0x00 delimiter."""
    payload = message.pack()
    body = HEADER.pack(PROTOCOL_VERSION, message.TYPE, flags, seq, len(payload)) + payload
    return cobs_encode(body + _CRC.pack(crc16(body))) + b"\x00"


def decode_frame(encoded: bytes) -> Frame | DecodeError:
    """Decode one frame without its delimiter. Checks run in the order docs/protocol.md gives."""
    if not encoded or b"\x00" in encoded:
        detail = "a 0x00 inside the frame" if encoded else "an empty frame"
        return DecodeError(ErrorKind.TRUNCATED, detail, encoded[:_RAW_KEEP])
    return _decode(encoded)


def _decode(encoded: bytes) -> Frame | DecodeError:
    """decode_frame for bytes without 0x00 (the decoder splits on it).

    This is the hot path (every telemetry frame), so COBS is undone inline: in a frame of at most
    MAX_ENCODED bytes a 0xFF code can only run past the end, so "drop the first code and turn each
    later code into 0x00" is the whole of COBS decoding here.
    """
    n = len(encoded)
    if n > MAX_ENCODED:
        return DecodeError(ErrorKind.OVERSIZE, f"{n} bytes > {MAX_ENCODED}", encoded[:_RAW_KEEP])
    body = bytearray(encoded)
    i = 0
    while i < n:
        code = body[i]
        body[i] = 0
        i += code
    if i != n:
        return DecodeError(
            ErrorKind.TRUNCATED, "a COBS code runs past the end of the frame", encoded[:_RAW_KEEP]
        )
    del body[0]
    size = n - 1
    if size < _MIN_FRAME:
        return DecodeError(ErrorKind.TRUNCATED, f"{size} bytes < {_MIN_FRAME}", encoded[:_RAW_KEEP])
    expected = body[5] + _MIN_FRAME
    if size != expected:
        kind = ErrorKind.TRUNCATED if size < expected else ErrorKind.BAD_LENGTH
        return DecodeError(kind, f"{size} bytes, header says {expected}", encoded[:_RAW_KEEP])
    received = body[-2] | body[-1] << 8
    del body[-2:]
    computed = crc_hqx(body, CRC_INIT)
    if received != computed:
        return DecodeError(
            ErrorKind.BAD_CRC,
            f"CRC 0x{received:04X} received, 0x{computed:04X} computed",
            encoded[:_RAW_KEEP],
        )
    version, msg_type, flags, seq, length = HEADER.unpack_from(body)
    raw = encoded[:_RAW_KEEP]
    if version != PROTOCOL_VERSION:
        return DecodeError(
            ErrorKind.WRONG_VERSION,
            f"protocol version {version}, expected {PROTOCOL_VERSION}",
            raw,
            seq,
            msg_type,
        )
    plan = _PLANS.get(msg_type)
    if plan is None:
        return DecodeError(
            ErrorKind.UNKNOWN_TYPE, f"message type 0x{msg_type:02X}", raw, seq, msg_type
        )
    cls, layout, conversions, build = plan
    if flags & ~FLAGS_DEFINED:
        return DecodeError(
            ErrorKind.BAD_FIELD, f"reserved flag bits set: 0x{flags:02X}", raw, seq, msg_type
        )
    if length != layout.size:
        return DecodeError(
            ErrorKind.BAD_FIELD,
            f"{cls.__name__} payload is {length} bytes, expected {layout.size}",
            raw,
            seq,
            msg_type,
        )
    values = layout.unpack_from(body, HEADER_SIZE)
    try:
        return Frame(seq, build(values), flags)
    except (KeyError, ValueError):
        pass
    bad = next(
        f"{cls.__name__}.{name}: {values[index]!r} is not a valid value"
        for index, table, name in conversions
        if (_text(values[index]) if table is None else table.get(values[index])) is None
    )
    return DecodeError(ErrorKind.BAD_FIELD, bad, raw, seq, msg_type)


_Conversion = tuple[int, dict[int, IntEnum] | None, str]
_Plan = tuple[
    type[Message], struct.Struct, tuple[_Conversion, ...], Callable[[tuple[Any, ...]], Message]
]


def _plan(cls: type[Message]) -> _Plan:
    """What decoding a type needs, computed once.

    `build` turns the unpacked tuple into the message in one expression: enum fields are dict hits
    (KeyError for a value the table lacks), text fields are checked (ValueError), and nothing is
    validated twice. It is compiled from the field list, as namedtuple and dataclasses do.
    """
    conversions: list[_Conversion] = []
    terms = []
    env: dict[str, Any] = {"new": tuple.__new__, "cls": cls, "text": _text_or_raise}
    for index, (name, fmt, enum) in enumerate(cls.FIELDS):
        if enum is not None:
            table = {int(member): member for member in enum}
            conversions.append((index, table, name))
            env[f"t{index}"] = table
            terms.append(f"t{index}[v[{index}]]")
        elif fmt.endswith("s"):
            conversions.append((index, None, name))
            terms.append(f"text(v[{index}])")
        else:
            terms.append(f"v[{index}]")
    source = f"def build(v):\n    return new(cls, ({''.join(t + ', ' for t in terms)}))\n"
    exec(source, env)
    return cls, cls.STRUCT, tuple(conversions), env["build"]


def _text_or_raise(value: bytes) -> str:
    text = _text(value)
    if text is None:
        raise ValueError(value)
    return text


def _text(value: bytes) -> str | None:
    """Fixed-width printable ASCII with NUL padding at the end only; None when it is not."""
    text = value.rstrip(b"\x00")
    if not all(0x20 <= byte < 0x7F for byte in text):
        return None
    return text.decode("ascii")


_PLANS = {code: _plan(cls) for code, cls in MESSAGES.items()}


@dataclass
class Decoder:
    """Streaming decoder. Feed it any chunks; it returns what completed in each."""

    stats: Counter[str] = field(default_factory=Counter)
    _buffer: bytearray = field(default_factory=bytearray)
    _discarding: bool = False

    def feed(self, data: bytes) -> list[Frame | DecodeError]:
        self.stats["bytes"] += len(data)
        chunks = data.split(b"\x00")
        tail = chunks.pop()
        out: list[Frame | DecodeError] = []
        if chunks:
            first = chunks[0]
            if self._discarding:
                self._discarding = False
                chunks[0] = b""
            elif self._buffer:
                self._buffer += first
                chunks[0] = bytes(self._buffer)
                self._buffer.clear()
            frames = 0
            for chunk in chunks:
                if not chunk:
                    continue
                result = _decode(chunk)
                if type(result) is Frame:
                    frames += 1
                else:
                    self.stats[result.kind.value] += 1  # type: ignore[union-attr]
                out.append(result)
            self.stats["frames"] += frames
        self._hold(tail, out)
        return out

    def _hold(self, rest: bytes, out: list[Frame | DecodeError]) -> None:
        if self._discarding or not rest:
            return
        if len(self._buffer) + len(rest) > MAX_ENCODED:
            raw = bytes(self._buffer[:64]) if self._buffer else rest[:64]
            out.append(
                DecodeError(ErrorKind.OVERSIZE, f"no delimiter within {MAX_ENCODED} bytes", raw)
            )
            self.stats[ErrorKind.OVERSIZE.value] += 1
            self._buffer.clear()
            self._discarding = True
            return
        self._buffer += rest

    @property
    def errors(self) -> int:
        return sum(self.stats[k.value] for k in ErrorKind)


__all__ = ["MAX_PAYLOAD", "DecodeError", "Decoder", "ErrorKind", "Frame", "decode_frame", "encode"]
