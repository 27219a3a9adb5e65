"""Byte-level framing: COBS, the frame check sequence and the size limits.

Everything here is pure: bytes in, bytes out. See docs/protocol.md §2 for the layout.
"""

from __future__ import annotations

import binascii
import struct

PROTOCOL_VERSION = 1
DELIMITER = 0x00

HEADER = struct.Struct("<BBBHB")  # version, type, flags, seq, payload length
HEADER_SIZE = HEADER.size  # 6
CRC_SIZE = 2
MAX_PAYLOAD = 240
MAX_FRAME = HEADER_SIZE + MAX_PAYLOAD + CRC_SIZE  # 248 bytes before COBS
MAX_ENCODED = MAX_FRAME + 1  # COBS adds one byte per 254, so 249 bytes before the delimiter
SEQ_MODULUS = 1 << 16

FLAG_RETRANSMIT = 0x01
FLAGS_DEFINED = FLAG_RETRANSMIT

CRC_NAME = "CRC-16/IBM-3740"
CRC_POLY = 0x1021
CRC_INIT = 0xFFFF
CRC_CHECK = 0x29B1  # CRC of b"123456789"


def crc16(data: bytes, crc: int = CRC_INIT) -> int:
    """CRC-16/IBM-3740 (poly 0x1021, init 0xFFFF, no reflection, xorout 0), in C via binascii."""
    return binascii.crc_hqx(data, crc)


_CODES = [bytes((length + 1,)) for length in range(254)]


def cobs_encode(data: bytes) -> bytes:
    """Canonical COBS (Cheshire & Baker 1999): the result holds no 0x00 byte."""
    if len(data) < 254:  # every frame of ours: no run can reach 254 bytes, so no 0xFF codes
        return b"".join([_CODES[len(block)] + block for block in data.split(b"\x00")])
    out = bytearray()
    blocks = data.split(b"\x00")
    last = len(blocks) - 1
    for index, block in enumerate(blocks):
        while len(block) >= 254:
            out.append(0xFF)
            out += block[:254]
            block = block[254:]
            if not block and index == last:
                return bytes(out)
        out.append(len(block) + 1)
        out += block
    return bytes(out)


def cobs_decode(encoded: bytes) -> bytes | None:
    """Inverse of cobs_encode; None when a code byte runs past the end (a truncated frame).

    Not the decoder's hot path: `codec._decode` undoes COBS inline for frames of our size.
    """
    out = bytearray()
    i = 0
    n = len(encoded)
    while i < n:
        code = encoded[i]
        end = i + code
        if code == 0 or end > n:
            return None
        out += encoded[i + 1 : end]
        i = end
        if code != 0xFF and i < n:
            out.append(0)
    return bytes(out)


def seq_next(seq: int) -> int:
    return (seq + 1) % SEQ_MODULUS


def seq_distance(older: int, newer: int) -> int:
    """How many steps `newer` is ahead of `older`, modulo 2**16 (serial-number arithmetic)."""
    return (newer - older) % SEQ_MODULUS
