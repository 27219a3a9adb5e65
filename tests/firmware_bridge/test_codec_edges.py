"""The decoder at the exact edges of docs/protocol.md §2: sizes, text bytes and payload lengths.

Each test builds its frame byte by byte (header, payload, CRC, COBS) so the frame can be wrong in
exactly one way, and asserts the error kind a host or pen would act on (S9).
"""

from __future__ import annotations

import struct

import pytest

from firmware_bridge.protocol import (
    Cartridge,
    CartridgeState,
    DecodeError,
    Decoder,
    ErrorKind,
    Frame,
    Stop,
    StopReason,
    decode_frame,
    encode,
)
from firmware_bridge.protocol.framing import (
    HEADER,
    MAX_ENCODED,
    MAX_PAYLOAD,
    PROTOCOL_VERSION,
    cobs_encode,
    crc16,
)

UNKNOWN_TYPE = 0x7F


def _frame(kind: int, payload: bytes, *, length: int | None = None, seq: int = 7) -> bytes:
    """One encoded frame without its delimiter; `length` overrides the header's length byte."""
    size = len(payload) if length is None else length
    body = HEADER.pack(PROTOCOL_VERSION, kind, 0, seq, size) + payload
    return cobs_encode(body + struct.pack("<H", crc16(body)))


def _error(result: Frame | DecodeError) -> DecodeError:
    assert isinstance(result, DecodeError), f"expected an error, decoded {result}"
    return result


def test_the_largest_frame_is_not_oversize_and_one_byte_more_is() -> None:
    largest = _frame(UNKNOWN_TYPE, b"\x01" * MAX_PAYLOAD)
    assert len(largest) == MAX_ENCODED
    assert _error(decode_frame(largest)).kind is ErrorKind.UNKNOWN_TYPE
    too_long = b"\x01" * (MAX_ENCODED + 1)
    assert _error(decode_frame(too_long)).kind is ErrorKind.OVERSIZE


def test_the_stream_decoder_reports_oversize_as_soon_as_a_frame_passes_the_limit() -> None:
    """No delimiter within MAX_ENCODED bytes: reported at once, not when a delimiter comes."""
    decoder = Decoder()
    assert decoder.feed(b"\x01" * MAX_ENCODED) == []
    results = decoder.feed(b"\x01")
    assert [_error(r).kind for r in results] == [ErrorKind.OVERSIZE]
    # The rest of the overlong frame is dropped; the next frame decodes.
    good = encode(Stop(StopReason.OPERATOR), 8)
    results = decoder.feed(b"\x01" * 10 + b"\x00" + good + b"\x00")
    assert [type(r) for r in results] == [Frame]


def _cartridge_payload(serial: bytes) -> bytes:
    fields = Cartridge.STRUCT.unpack(
        Cartridge(CartridgeState.FRESH, "CART-1", "LOT-1", 12, 2500, 20281231).pack()
    )
    return Cartridge.STRUCT.pack(fields[0], serial, *fields[2:])


@pytest.mark.parametrize(
    ("serial", "kind"),
    [
        (b"CART-~\x00", None),  # 0x7E, the last printable byte: accepted
        (b"CART-\x7f\x00", ErrorKind.BAD_FIELD),  # DEL
        (b"CART-\x1f\x00", ErrorKind.BAD_FIELD),  # a control byte
        (b"CART\x00-1\x00", ErrorKind.BAD_FIELD),  # NUL padding in the middle
    ],
)
def test_a_text_field_holds_printable_ascii_only(serial: bytes, kind: ErrorKind | None) -> None:
    result = decode_frame(_frame(Cartridge.TYPE, _cartridge_payload(serial)))
    if kind is None:
        assert (
            isinstance(result, Frame) and result.message.serial == serial.rstrip(b"\x00").decode()
        )
    else:
        error = _error(result)
        assert error.kind is kind
        assert "Cartridge.serial" in error.detail


@pytest.mark.parametrize("extra", [1, -1])
def test_a_payload_longer_or_shorter_than_its_types_layout_is_refused(extra: int) -> None:
    """The header and CRC agree, but a STOP payload must be exactly its layout's size."""
    payload = Stop(StopReason.OPERATOR).pack()
    payload = payload + b"\x00" * extra if extra > 0 else payload[:extra]
    error = _error(decode_frame(_frame(Stop.TYPE, payload)))
    assert error.kind is ErrorKind.BAD_FIELD
    assert f"payload is {len(payload)} bytes, expected {Stop.STRUCT.size}" in error.detail
