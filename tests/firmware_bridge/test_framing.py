"""Framing primitives checked against independent implementations (the `cobs` library and the
CRC catalogue in `crccheck`), so the spec's choices are verifiable by anyone."""

from __future__ import annotations

import pytest
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


# Runs of non-zero bytes at and around COBS's 254-byte block, where a 0xFF code is due; random
# data rarely holds such runs, so each edge is listed.
_LONG_RUNS = [
    pytest.param(b"\x01" * 253, id="253-run"),
    pytest.param(b"\x01" * 254, id="254-run"),
    pytest.param(b"\x01" * 255, id="255-run"),
    pytest.param(b"\x01" * 508, id="two-254-runs"),
    pytest.param(b"\x01" * 254 + b"\x00", id="254-run-then-zero"),
    pytest.param(b"\x01" * 254 + b"\x00" + b"\x02" * 3, id="254-run-zero-more"),
    pytest.param(b"\x00" + b"\x01" * 300 + b"\x00" * 2 + b"\x03" * 260, id="mixed"),
    pytest.param(bytes(range(1, 256)) * 2, id="every-non-zero-byte-twice"),
]


@pytest.mark.parametrize("data", _LONG_RUNS)
def test_cobs_round_trips_long_runs_exactly_as_the_reference_does(data: bytes) -> None:
    encoded = cobs_encode(data)
    assert encoded == reference_cobs.encode(data)
    assert cobs_decode(encoded) == data


def test_cobs_decode_adds_no_zero_after_a_full_254_byte_block() -> None:
    """A 0xFF code means 254 data bytes and no zero after them (the run simply continues)."""
    assert cobs_decode(b"\xff" + b"\x01" * 254 + b"\x02\x07") == b"\x01" * 254 + b"\x07"
