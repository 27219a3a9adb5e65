"""The codec as a firmware engineer and the pen link see it: golden vectors both ways, round trips,
arbitrary splits, garbage, bit errors and bounded memory. Corrupt input never crashes and never
passes silently (S9)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from firmware_bridge.protocol import (
    DecodeError,
    Decoder,
    ErrorKind,
    Frame,
    Hello,
    SetParams,
    Telemetry,
    decode_frame,
    encode,
)
from firmware_bridge.protocol.framing import FLAG_RETRANSMIT, MAX_ENCODED
from firmware_bridge.protocol.messages import MESSAGES, FieldValueError
from firmware_bridge.protocol.vectors import build
from tests.firmware_bridge.strategies import messages, seqs

VECTORS_PATH = Path(__file__).parents[2] / "docs" / "protocol-vectors.json"
VECTORS = json.loads(VECTORS_PATH.read_text())["vectors"]
VALID = [v for v in VECTORS if v["valid"]]
INVALID = [v for v in VECTORS if not v["valid"]]


def test_committed_vectors_match_the_code() -> None:
    assert json.loads(VECTORS_PATH.read_text()) == build(), (
        "docs/protocol-vectors.json is stale: regenerate it with "
        "`python -m firmware_bridge.protocol.vectors > docs/protocol-vectors.json`"
    )


def test_vectors_cover_every_message_type_and_every_error() -> None:
    assert {v["type_code"] for v in VALID} == set(MESSAGES)
    assert {v["error"] for v in INVALID} == {k.value for k in ErrorKind}
    assert any("hello" in v["name"] or "identify" in v["name"] for v in VALID)


@pytest.mark.parametrize("vector", VALID, ids=[v["name"] for v in VALID])
def test_valid_vector_decodes_to_its_fields(vector: dict) -> None:
    results = Decoder().feed(bytes.fromhex(vector["frame_hex"]))
    assert len(results) == 1
    frame = results[0]
    assert isinstance(frame, Frame)
    assert frame.seq == vector["seq"]
    assert frame.flags == vector["flags"]
    assert frame.message.TYPE.name == vector["type"]
    assert frame.message.fields() == vector["fields"]
    assert frame.message.pack().hex() == vector["payload_hex"]


@pytest.mark.parametrize("vector", VALID, ids=[v["name"] for v in VALID])
def test_valid_vector_encodes_to_its_exact_bytes(vector: dict) -> None:
    cls = MESSAGES[vector["type_code"]]
    message = cls(
        *(
            enum[vector["fields"][name]] if enum is not None else vector["fields"][name]
            for name, _, enum in cls.FIELDS
        )
    )
    assert encode(message, vector["seq"], vector["flags"]).hex() == vector["frame_hex"]


@pytest.mark.parametrize("vector", INVALID, ids=[v["name"] for v in INVALID])
def test_invalid_vector_reports_its_error(vector: dict) -> None:
    decoder = Decoder()
    results = decoder.feed(bytes.fromhex(vector["frame_hex"]))
    assert [r.kind.value for r in results if isinstance(r, DecodeError)] == [vector["error"]]
    assert not [r for r in results if isinstance(r, Frame)]
    assert decoder.stats[vector["error"]] == 1


def test_header_errors_after_the_crc_name_the_senders_seq() -> None:
    """The pen can only NAK what it can attribute: seq is known once the CRC passed."""
    by_name = {v["name"]: v for v in INVALID}
    unknown = decode_frame(bytes.fromhex(by_name["unknown type 0x3f"]["frame_hex"])[:-1])
    assert isinstance(unknown, DecodeError)
    assert (unknown.seq, unknown.msg_type) == (7, 0x3F)
    flipped = by_name["bad crc: one payload bit flipped"]
    bad_crc = decode_frame(bytes.fromhex(flipped["frame_hex"])[:-1])
    assert isinstance(bad_crc, DecodeError)
    assert bad_crc.seq is None


@given(messages, seqs, st.sampled_from([0, FLAG_RETRANSMIT]))
def test_decode_of_encode_is_identity(message, seq: int, flags: int) -> None:
    frame = encode(message, seq, flags)
    assert frame.endswith(b"\x00")
    assert b"\x00" not in frame[:-1]
    assert len(frame) <= MAX_ENCODED + 1
    assert Decoder().feed(frame) == [Frame(seq, message, flags)]


@given(st.lists(st.tuples(messages, seqs), min_size=1, max_size=8), st.data())
def test_stream_split_anywhere_decodes_the_same_as_whole(pairs, data) -> None:
    stream = b"".join(encode(m, s) for m, s in pairs)
    whole = Decoder().feed(stream)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=12)))
    decoder = Decoder()
    pieces: list = []
    start = 0
    for cut in [*cuts, len(stream)]:
        pieces += decoder.feed(stream[start:cut])
        start = cut
    assert pieces == whole == [Frame(s, m) for m, s in pairs]


@given(st.lists(st.tuples(messages, seqs, st.binary(max_size=400)), min_size=1, max_size=6))
def test_garbage_between_frames_never_costs_the_next_valid_frame(items) -> None:
    """Garbage, then a delimiter, then a frame: the frame always comes through (S9)."""
    stream = b"".join(garbage + b"\x00" + encode(m, s) for m, s, garbage in items)
    frames = [r for r in Decoder().feed(stream) if isinstance(r, Frame)]
    expected = [Frame(s, m) for m, s, _ in items]
    # Garbage may hold a valid frame by chance; the real frames must all be there, in order.
    it = iter(frames)
    assert all(any(f == e for f in it) for e in expected)


@pytest.mark.parametrize("vector", VALID, ids=[v["name"] for v in VALID])
def test_every_single_bit_error_is_detected(vector: dict) -> None:
    """Exhaustive over every bit of every valid golden frame (delimiter excluded): a flipped bit
    never yields a frame, whatever COBS makes of it."""
    frame = bytes.fromhex(vector["frame_hex"])
    for index in range(len(frame) - 1):
        for bit in range(8):
            corrupt = bytearray(frame)
            corrupt[index] ^= 1 << bit
            results = Decoder().feed(bytes(corrupt) + b"\x00")
            assert results, f"byte {index} bit {bit}: nothing reported"
            assert not any(isinstance(r, Frame) for r in results), f"byte {index} bit {bit}"


@given(st.binary(max_size=300))
def test_decode_frame_never_raises_on_any_bytes(data: bytes) -> None:
    """S9: whatever arrives, the answer is a frame or a typed error, never an exception."""
    assert isinstance(decode_frame(data), Frame | DecodeError)


def test_memory_is_bounded_on_garbage_without_delimiters() -> None:
    decoder = Decoder()
    rng = random.Random(7)
    oversize = 0
    for _ in range(2_000):
        chunk = bytes(rng.randrange(1, 256) for _ in range(rng.randrange(1, 600)))
        results = decoder.feed(chunk)
        oversize += sum(1 for r in results if r.kind is ErrorKind.OVERSIZE)
        assert len(decoder._buffer) <= MAX_ENCODED
    assert oversize == 1  # reported once, then discarded quietly up to the next delimiter
    frame = encode(Hello(1), 9)
    assert decoder.feed(b"\x00" + frame) == [Frame(9, Hello(1))]


def test_fuzz_never_raises_and_counts_every_frame() -> None:
    """A seconds-long fuzz in every `make test`; `make fuzz` runs 10^6 inputs."""
    from tests.fuzz_decoder import run

    report = run(inputs=20_000, seed=1)
    assert report["exceptions"] == 0
    assert report["chunks"] == report["frames"] + report["errors"]


def test_messages_refuse_values_their_wire_type_cannot_carry() -> None:
    with pytest.raises(FieldValueError, match=r"SetParams.depth_um: 70000 is outside 0..65535"):
        SetParams(1, 70_000, 100)
    with pytest.raises(FieldValueError, match="is not a PenState"):
        Telemetry(0, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)


@given(messages, seqs, st.data())
def test_every_burst_error_up_to_16_bits_is_detected(message, seq: int, data) -> None:
    """CRC-16 guarantees it for the frame body; the test holds the implementation to that."""
    from firmware_bridge.protocol.framing import cobs_decode, cobs_encode

    body = bytearray(cobs_decode(encode(message, seq)[:-1]) or b"")
    bits = len(body) * 8
    width = data.draw(st.integers(1, 16))
    start = data.draw(st.integers(0, bits - width))
    inner = data.draw(st.integers(0, (1 << max(width - 2, 0)) - 1))
    pattern = 1 if width == 1 else (1 << (width - 1)) | (inner << 1) | 1
    as_int = int.from_bytes(body, "big") ^ (pattern << (bits - start - width))
    corrupt = as_int.to_bytes(len(body), "big")
    result = decode_frame(cobs_encode(corrupt))
    assert isinstance(result, DecodeError)
