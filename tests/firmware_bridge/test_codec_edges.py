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
    cobs_decode,
    cobs_encode,
    crc16,
)

UNKNOWN_TYPE = 0x7F
_OVERLONG = bytes(range(1, 256)) * 2  # no 0x00, and each position tells where it came from


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
    too_long = _OVERLONG[: MAX_ENCODED + 1]
    error = _error(decode_frame(too_long))
    assert (error.kind, error.detail) == (ErrorKind.OVERSIZE, f"{MAX_ENCODED + 1} bytes > 249")
    assert error.raw == too_long[:64]


def test_the_stream_decoder_reports_oversize_as_soon_as_a_frame_passes_the_limit() -> None:
    """No delimiter within MAX_ENCODED bytes: reported at once, not when a delimiter comes."""
    decoder = Decoder()
    assert decoder.feed(b"\x01" * MAX_ENCODED) == []
    results = decoder.feed(b"\x01")
    assert [_error(r).kind for r in results] == [ErrorKind.OVERSIZE]
    assert results[0].detail == "no delimiter within 249 bytes"
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
        assert (error.seq, error.msg_type) == (7, int(Cartridge.TYPE))
        assert error.raw == _frame(Cartridge.TYPE, _cartridge_payload(serial))[:64]


@pytest.mark.parametrize("extra", [1, -1])
def test_a_payload_longer_or_shorter_than_its_types_layout_is_refused(extra: int) -> None:
    """The header and CRC agree, but a STOP payload must be exactly its layout's size."""
    payload = Stop(StopReason.OPERATOR).pack()
    payload = payload + b"\x00" * extra if extra > 0 else payload[:extra]
    encoded = _frame(Stop.TYPE, payload)
    error = _error(decode_frame(encoded))
    assert error.kind is ErrorKind.BAD_FIELD
    assert (error.seq, error.msg_type, error.raw) == (7, int(Stop.TYPE), encoded)
    assert f"payload is {len(payload)} bytes, expected {Stop.STRUCT.size}" in error.detail


@pytest.mark.parametrize(
    ("encoded", "detail"),
    [(b"", "an empty frame"), (b"\x02\x01\x00\x03", "a 0x00 inside the frame")],
)
def test_a_frame_handed_over_empty_or_with_a_delimiter_inside_is_truncated(
    encoded: bytes, detail: str
) -> None:
    error = _error(decode_frame(encoded))
    assert (error.kind, error.detail, error.raw) == (ErrorKind.TRUNCATED, detail, encoded)


def test_the_stream_decoder_counts_every_byte_it_was_fed() -> None:
    decoder = Decoder()
    good = encode(Stop(StopReason.OPERATOR), 8) + b"\x00"
    decoder.feed(good[:3])
    decoder.feed(good[3:] + b"\x05")
    assert decoder.stats["bytes"] == len(good) + 1
    assert decoder.stats["frames"] == 1


def test_after_an_overlong_frame_ends_the_next_chunks_frames_decode() -> None:
    """The delimiter that ends an overlong frame ends the discarding, whatever the chunking."""
    decoder = Decoder()
    decoder.feed(b"\x01" * (MAX_ENCODED + 5))
    assert decoder.feed(b"\x01\x01\x00") == []
    good = encode(Stop(StopReason.OPERATOR), 8)
    [frame] = decoder.feed(good + b"\x00")
    assert isinstance(frame, Frame) and frame.seq == 8


def test_the_stream_decoder_counts_each_frame_of_a_chunk() -> None:
    decoder = Decoder()
    frames = b"".join(encode(Stop(StopReason.OPERATOR), seq) + b"\x00" for seq in (1, 2, 3))
    assert len(decoder.feed(frames)) == 3
    assert decoder.stats["frames"] == 3


@pytest.mark.parametrize("first_chunk", [0, 10, MAX_ENCODED])
def test_an_overlong_frame_is_reported_with_its_first_64_bytes(first_chunk: int) -> None:
    """The fault dump starts where the runaway frame began, however it was chunked, and keeps at
    most 64 bytes (of those held when the limit was passed: 10 when the first chunk was 10)."""
    decoder = Decoder()
    results = decoder.feed(_OVERLONG[:first_chunk])
    results += decoder.feed(_OVERLONG[first_chunk:])
    [error] = results
    assert _error(error).kind is ErrorKind.OVERSIZE
    assert 0 < len(error.raw) <= 64
    assert error.raw == _OVERLONG[: len(error.raw)]


def _crc_swapped(frame: bytes) -> bytes:
    """The same frame with its two CRC bytes swapped (COBS undone and redone)."""
    body = bytearray(cobs_decode(frame) or b"")
    body[-2], body[-1] = body[-1], body[-2]
    return cobs_encode(bytes(body))


_STOP = Stop(StopReason.OPERATOR).pack()


def _header_only_after_crc(version: int, kind: int, flags: int) -> bytes:
    body = HEADER.pack(version, kind, flags, 300, len(_STOP)) + _STOP
    return cobs_encode(body + struct.pack("<H", crc16(body)))


# Each way a frame can be wrong, with what the error says: the kind a host acts on, the detail a
# person reads in the fault dump, and the seq and type only once the CRC vouched for the header.
_WRONG_FRAMES = [
    pytest.param(
        b"\x05\x01\x02",
        ErrorKind.TRUNCATED,
        "a COBS code runs past the end of the frame",
        None,
        id="cobs-past-end",
    ),
    pytest.param(b"\x06\x01\x02\x03\x04\x05", ErrorKind.TRUNCATED, "5 bytes < 8", None, id="short"),
    pytest.param(
        _frame(Stop.TYPE, _STOP, length=len(_STOP) + 2),
        ErrorKind.TRUNCATED,
        f"{len(_STOP) + 8} bytes, header says {len(_STOP) + 10}",
        None,
        id="shorter-than-its-length-byte",
    ),
    pytest.param(
        _frame(Stop.TYPE, _STOP, length=len(_STOP) - 1),
        ErrorKind.BAD_LENGTH,
        f"{len(_STOP) + 8} bytes, header says {len(_STOP) + 7}",
        None,
        id="longer-than-its-length-byte",
    ),
    pytest.param(
        _header_only_after_crc(2, Stop.TYPE, 0),
        ErrorKind.WRONG_VERSION,
        "protocol version 2, expected 1",
        (300, int(Stop.TYPE)),
        id="version",
    ),
    pytest.param(
        _header_only_after_crc(1, UNKNOWN_TYPE, 0),
        ErrorKind.UNKNOWN_TYPE,
        "message type 0x7F",
        (300, UNKNOWN_TYPE),
        id="type",
    ),
    pytest.param(
        _header_only_after_crc(1, Stop.TYPE, 0x02),
        ErrorKind.BAD_FIELD,
        "reserved flag bits set: 0x02",
        (300, int(Stop.TYPE)),
        id="flags",
    ),
]


@pytest.mark.parametrize(("encoded", "kind", "detail", "header"), _WRONG_FRAMES)
def test_each_wrong_frame_is_named_in_the_error(
    encoded: bytes, kind: ErrorKind, detail: str, header: tuple[int, int] | None
) -> None:
    error = _error(decode_frame(encoded))
    assert (error.kind, error.detail, error.raw) == (kind, detail, encoded[:64])
    assert (error.seq, error.msg_type) == (header or (None, None))


def test_a_bad_crc_names_both_sums_and_trusts_nothing_in_the_header() -> None:
    good = _frame(Stop.TYPE, _STOP, seq=300)
    body = cobs_decode(good) or b""
    received = body[-2] | body[-1] << 8
    bad = _crc_swapped(good)
    error = _error(decode_frame(bad))
    assert error.raw == bad
    swapped = (received >> 8) | (received & 0xFF) << 8
    assert error.kind is ErrorKind.BAD_CRC
    assert error.detail == f"CRC 0x{swapped:04X} received, 0x{received:04X} computed"
    assert (error.seq, error.msg_type) == (None, None)
