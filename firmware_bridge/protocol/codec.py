"""Sans-IO codec: `encode(message, seq)` for bytes out, `Decoder.feed(data)` for frames in.

No threads, clocks or sockets. The decoder never raises on input: every malformed frame becomes a
typed `DecodeError`, is counted in `Decoder.stats`, and decoding resumes at the next delimiter.
Memory is bounded by MAX_ENCODED however much garbage arrives without a delimiter.
"""

from __future__ import annotations

import struct
from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum

from firmware_bridge.protocol.framing import (
    CRC_SIZE,
    FLAGS_DEFINED,
    HEADER,
    HEADER_SIZE,
    MAX_ENCODED,
    MAX_PAYLOAD,
    PROTOCOL_VERSION,
    cobs_decode,
    cobs_encode,
    crc16,
)
from firmware_bridge.protocol.messages import MESSAGES, FieldValueError, Message

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


@dataclass(frozen=True, slots=True)
class Frame:
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
    raw = encoded[:_RAW_KEEP]
    if len(encoded) > MAX_ENCODED:
        return DecodeError(ErrorKind.OVERSIZE, f"{len(encoded)} bytes > {MAX_ENCODED}", raw)
    body = cobs_decode(encoded)
    if body is None:
        return DecodeError(ErrorKind.TRUNCATED, "a COBS code runs past the end of the frame", raw)
    size = len(body)
    if size < _MIN_FRAME:
        return DecodeError(ErrorKind.TRUNCATED, f"{size} bytes < {_MIN_FRAME}", raw)
    length = body[5]
    expected = HEADER_SIZE + length + CRC_SIZE
    if size < expected:
        return DecodeError(ErrorKind.TRUNCATED, f"{size} bytes, header says {expected}", raw)
    if size > expected:
        return DecodeError(ErrorKind.BAD_LENGTH, f"{size} bytes, header says {expected}", raw)
    (received,) = _CRC.unpack_from(body, size - CRC_SIZE)
    computed = crc16(body[: size - CRC_SIZE])
    if received != computed:
        return DecodeError(
            ErrorKind.BAD_CRC, f"CRC 0x{received:04X} received, 0x{computed:04X} computed", raw
        )
    version, msg_type, flags, seq, _ = HEADER.unpack_from(body)
    if version != PROTOCOL_VERSION:
        return DecodeError(
            ErrorKind.WRONG_VERSION,
            f"protocol version {version}, expected {PROTOCOL_VERSION}",
            raw,
            seq,
            msg_type,
        )
    cls = MESSAGES.get(msg_type)
    if cls is None:
        return DecodeError(
            ErrorKind.UNKNOWN_TYPE, f"message type 0x{msg_type:02X}", raw, seq, msg_type
        )
    if flags & ~FLAGS_DEFINED:
        return DecodeError(
            ErrorKind.BAD_FIELD, f"reserved flag bits set: 0x{flags:02X}", raw, seq, msg_type
        )
    if length != cls.STRUCT.size:
        return DecodeError(
            ErrorKind.BAD_FIELD,
            f"{cls.__name__} payload is {length} bytes, expected {cls.STRUCT.size}",
            raw,
            seq,
            msg_type,
        )
    values = list(cls.STRUCT.unpack_from(body, HEADER_SIZE))
    try:
        for i, (_, fmt, _) in enumerate(cls.FIELDS):
            if fmt[-1] == "s":
                values[i] = _text(values[i])
        message = cls(*values)
    except (FieldValueError, UnicodeDecodeError) as exc:
        return DecodeError(ErrorKind.BAD_FIELD, str(exc), raw, seq, msg_type)
    return Frame(seq, message, flags)


def _text(value: bytes) -> str:
    """Fixed-width ASCII: NUL padding at the end only."""
    text = value.rstrip(b"\x00")
    if b"\x00" in text:
        raise FieldValueError(f"text field {value!r} has a NUL before its padding")
    return text.decode("ascii")


@dataclass
class Decoder:
    """Streaming decoder. Feed it any chunks; it returns what completed in each."""

    stats: Counter[str] = field(default_factory=Counter)
    _buffer: bytearray = field(default_factory=bytearray)
    _discarding: bool = False

    def feed(self, data: bytes) -> list[Frame | DecodeError]:
        out: list[Frame | DecodeError] = []
        self.stats["bytes"] += len(data)
        start = 0
        while True:
            end = data.find(0, start)
            if end < 0:
                self._hold(data[start:], out)
                return out
            chunk = data[start:end]
            start = end + 1
            if self._discarding:
                self._discarding = False
                self._buffer.clear()
                continue
            if self._buffer:
                self._buffer += chunk
                chunk = bytes(self._buffer)
                self._buffer.clear()
            if not chunk:
                continue
            result = decode_frame(chunk)
            self.stats["frames" if isinstance(result, Frame) else result.kind.value] += 1
            out.append(result)

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
