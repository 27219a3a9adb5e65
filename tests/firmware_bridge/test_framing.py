"""Framing primitives checked against independent implementations (the `cobs` library and the
CRC catalogue in `crccheck`), so the spec's choices are verifiable by anyone."""

from __future__ import annotations

from cobs import cobs as reference_cobs
from crccheck.crc import Crc16CcittFalse
from hypothesis import given
from hypothesis import strategies as st

from firmware_bridge.protocol.framing import (
    CRC_CHECK,
    MAX_ENCODED,
    MAX_FRAME,
    cobs_decode,
    cobs_encode,
    crc16,
    seq_distance,
    seq_next,
)


def test_crc_matches_catalogue_check_value() -> None:
    assert crc16(b"123456789") == CRC_CHECK == 0x29B1
    assert Crc16CcittFalse.calc(b"123456789") == CRC_CHECK


@given(st.binary(max_size=600))
def test_crc_matches_catalogue_implementation(data: bytes) -> None:
    assert crc16(data) == Crc16CcittFalse.calc(data)


@given(st.binary(max_size=1200))
def test_cobs_encoding_is_canonical_and_matches_reference(data: bytes) -> None:
    encoded = cobs_encode(data)
    assert b"\x00" not in encoded
    assert encoded == reference_cobs.encode(data)
    assert cobs_decode(encoded) == data


@given(st.binary(min_size=MAX_FRAME, max_size=MAX_FRAME))
def test_largest_frame_fits_encoded_limit(data: bytes) -> None:
    assert len(cobs_encode(data)) <= MAX_ENCODED


def test_cobs_decode_reports_truncation_instead_of_raising() -> None:
    assert cobs_decode(b"\x05ab") is None
    assert cobs_decode(b"\x00") is None


def test_sequence_numbers_wrap() -> None:
    assert seq_next(0xFFFF) == 0
    assert seq_distance(0xFFFE, 0x0001) == 3
