"""The pen's outgoing frames, packed once, straight from the pen's own values.

`encode(message, seq)` (the codec) builds a validated message object, packs its payload, then its
header, then joins them: right for a host, whose values come from people and files. The pen sends
a TELEMETRY every 50 ms and an ACK per command from values it computed itself, so for those types
a `FramePacker` packs header and payload in one `struct` call from the values, then adds the CRC
and COBS with the codec's own framing functions. The bytes are identical to `encode`'s
(tests/simulator/test_frames.py checks it for every type packed here); struct still refuses a value
that does not fit its field.
"""

from __future__ import annotations

import struct
from binascii import crc_hqx

from firmware_bridge.protocol import Ack, Event, Message, Nak, Telemetry
from firmware_bridge.protocol.framing import CRC_INIT, HEADER, PROTOCOL_VERSION, cobs_encode

_CRC = struct.Struct("<H")
_COBS_BLOCK = 254
_CODES = [bytes((length + 1,)) for length in range(_COBS_BLOCK)]


class FramePacker:
    """Packs frames of one message type from a tuple of its wire values (in field order)."""

    __slots__ = ("_length", "_struct", "message_class", "message_type")

    def __init__(self, cls: type[Message]) -> None:
        if cls.HAS_TEXT:
            raise ValueError(f"{cls.__name__} has text fields: encode it with the codec")
        self.message_class = cls
        self.message_type = cls.TYPE
        self._length = cls.STRUCT.size
        self._struct = struct.Struct(HEADER.format + cls.STRUCT.format.lstrip("<"))

    def pack(self, seq: int, values: tuple[int, ...], flags: int = 0) -> bytes:
        body = self._struct.pack(
            PROTOCOL_VERSION, self.message_type, flags, seq, self._length, *values
        )
        framed = body + _CRC.pack(crc_hqx(body, CRC_INIT))
        if len(framed) < _COBS_BLOCK:  # every frame packed here: COBS without 0xFF codes
            return b"".join([_CODES[len(b)] + b for b in framed.split(b"\x00")]) + b"\x00"
        return cobs_encode(framed) + b"\x00"

    def message(self, values: tuple[int, ...]) -> Message:
        """The same values as a message object (for tests and tools, not the hot path)."""
        return self.message_class(*values)


TELEMETRY = FramePacker(Telemetry)
ACK = FramePacker(Ack)
NAK = FramePacker(Nak)
EVENT = FramePacker(Event)

# A frame the pen will send: its packer and its wire values.
Outgoing = tuple[FramePacker, tuple[int, ...]]

__all__ = ["ACK", "EVENT", "NAK", "TELEMETRY", "FramePacker", "Outgoing"]
