"""Duplicate suppression and bad frames at the pen (docs/protocol.md §5.2, §5.4; S9)."""

from __future__ import annotations

import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_bridge.protocol import (
    Ack,
    EStop,
    Hello,
    Lease,
    Message,
    MessageType,
    Nak,
    NakReason,
    SetParams,
    StopReason,
    Telemetry,
    encode,
)
from firmware_bridge.protocol.framing import HEADER, cobs_encode, crc16
from simulator.frames import ACK, EVENT, NAK, TELEMETRY
from tests.simulator.testbench import make_bench


def raw_frame(version: int, kind: int, seq: int, payload: bytes, flags: int = 0) -> bytes:
    body = HEADER.pack(version, kind, flags, seq, len(payload)) + payload
    return cobs_encode(body + struct.pack("<H", crc16(body))) + b"\x00"


def test_a_repeated_seq_gets_the_remembered_reply_and_is_not_executed_again() -> None:
    b = make_bench().identified()
    first = b.host.request(SetParams(2, 1000, 120))
    b.host.poll()
    b.host.send(SetParams(2, 1000, 120), seq=first.ack_seq, flags=1)
    again = b.host.poll()
    assert again == [first]
    assert len(b.named("params_applied")) == 1
    # A different frame under a remembered seq is a new command (a restarted host), executed.
    b.host.send(SetParams(3, 2000, 150), seq=first.ack_seq)
    (reply,) = [m for m in b.host.poll() if isinstance(m, Ack)]
    assert (reply.param_version, reply.depth_um) == (3, 2000)
    assert b.fw.applied.version == 3


def test_duplicate_suppression_across_the_sequence_wrap() -> None:
    b = make_bench().identified()
    replies = {}
    for seq in (65533, 65534, 65535, 0, 1, 2):
        b.host.send(Lease(200 + seq % 7), seq=seq)
        replies[seq] = b.host.reply(seq)
    b.host.poll()
    for seq in (65535, 0, 1):
        b.host.send(Lease(200 + seq % 7), seq=seq, flags=1)  # a retransmission: same frame
        assert b.host.poll() == [replies[seq]]
    assert b.fw.lease_remaining_ms == 200 + 2 % 7


def test_the_memory_holds_the_last_32_frames() -> None:
    b = make_bench().identified()
    for seq in range(100, 133):
        b.host.send(Lease(300), seq=seq)
    b.host.poll()
    b.host.send(SetParams(1, 1000, 120), seq=100)  # forgotten: 33 frames ago
    assert isinstance(b.host.poll()[0], Ack)
    assert b.fw.applied is not None
    b.host.send(Lease(300), seq=102, flags=1)  # remembered (101 made room for 100)
    reply = b.host.poll()[0]
    assert isinstance(reply, Ack) and reply.ack_type is MessageType.LEASE
    assert reply.param_version == 0  # the reply from before SET_PARAMS: not executed again


def test_hello_is_never_a_duplicate_and_clears_the_memory() -> None:
    b = make_bench().booted()
    b.host.send(Hello(1), seq=0)
    b.host.send(SetParams(1, 1000, 120), seq=1)
    b.host.poll()
    b.host.send(Hello(1), seq=0)
    kinds = [type(m).__name__ for m in b.host.poll()]
    assert kinds == ["Ack", "Identify", "Cartridge"]  # executed again
    b.host.send(SetParams(1, 1000, 120), seq=1)
    assert isinstance(b.host.poll()[0], Ack)
    assert len(b.named("params_applied")) == 2  # seq 1 was forgotten by the HELLO


def test_s9_a_corrupt_frame_is_dropped_counted_and_costs_nothing_else() -> None:
    b = make_bench().identified()
    b.host.poll()
    frame = bytearray(encode(EStop(StopReason.OPERATOR), 9))
    frame[4] ^= 0x10
    b.port.write(bytes(frame))
    assert b.host.poll() == []  # no reply: the seq cannot be trusted
    assert b.fw.stats["rx_bad_crc"] == 1
    dropped = b.named("frame_dropped")[-1]
    assert dropped.data["direction"] == "to_pen" and dropped.data["cause"] == "bad_crc"
    assert isinstance(b.host.request(Lease(300)), Ack)  # the next frame is fine


def test_s9_unknown_type_wrong_version_and_bad_payload_are_naked() -> None:
    b = make_bench().identified()
    b.port.write(raw_frame(1, 0x30, 40, b""))
    nak = b.host.reply(40)
    assert isinstance(nak, Nak)
    assert (nak.nak_type, nak.reason, nak.detail) == (0x30, NakReason.UNKNOWN_TYPE, 0)
    b.port.write(raw_frame(2, MessageType.LEASE, 41, b"\x2c\x01"))
    nak = b.host.reply(41)
    assert (nak.nak_type, nak.reason, nak.detail) == (7, NakReason.VERSION_MISMATCH, 1)
    b.port.write(raw_frame(1, MessageType.LEASE, 42, b"\x2c\x01\x00"))
    nak = b.host.reply(42)
    assert (nak.reason, nak.detail) == (NakReason.BAD_PAYLOAD, 0)
    b.port.write(raw_frame(1, MessageType.STOP, 43, b"\x63"))  # StopReason 99 is not listed
    stop = b.host.reply(43)  # S4: a stop is executed whatever its reason byte holds
    assert isinstance(stop, Ack) and stop.ack_type is MessageType.STOP
    assert b.fw.stats["rx_unknown_type"] == 1 and b.fw.stats["rx_bad_field"] == 2


def test_s9_a_pen_type_frame_at_the_pen_is_naked_unknown_type() -> None:
    b = make_bench().identified()
    telemetry = Telemetry(0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    b.port.write(encode(telemetry, 50))
    nak = b.host.reply(50)
    assert (nak.nak_type, nak.reason) == (MessageType.TELEMETRY, NakReason.UNKNOWN_TYPE)
    assert b.fw.stats["rx_unknown_type"] == 1
    assert b.named("frame_dropped")[-1].data["cause"] == "unknown_type"


def test_s9_garbage_and_truncated_frames_get_no_answer() -> None:
    b = make_bench().identified()
    b.host.poll()
    b.port.write(b"\x01\x00" + b"\x55" * 300 + b"\x00" + b"\x05\x01\x02")
    assert b.host.poll() == []
    assert b.fw.stats["rx_truncated"] == 1 and b.fw.stats["rx_oversize"] == 1
    b.port.write(b"\x00")  # ends the half frame: truncated, still no answer
    assert b.host.poll() == []
    assert b.fw.stats["rx_truncated"] == 2
    assert isinstance(b.host.request(Lease(300)), Ack)


def test_frames_split_across_writes_are_reassembled() -> None:
    b = make_bench().identified()
    frame = encode(SetParams(1, 1000, 120), 77)
    for i in range(len(frame)):
        b.port.write(frame[i : i + 1])
    assert isinstance(b.host.reply(77), Ack)


_FIELD_VALUES = {
    "B": st.integers(0, 0xFF),
    "H": st.integers(0, 0xFFFF),
    "h": st.integers(-0x8000, 0x7FFF),
    "I": st.integers(0, 0xFFFFFFFF),
}


def _message_values(cls: type[Message]) -> st.SearchStrategy[tuple[int, ...]]:
    return st.tuples(
        *(
            st.sampled_from(list(enum)) if enum is not None else _FIELD_VALUES[fmt]
            for _, fmt, enum in cls.FIELDS
        )
    )


@settings(max_examples=60, deadline=None)
@given(data=st.data(), seq=st.integers(0, 0xFFFF))
def test_the_pens_fast_packers_give_the_codecs_bytes(data: st.DataObject, seq: int) -> None:
    """The pen packs TELEMETRY, ACK, NAK and EVENT straight from its values (frames.py); the
    bytes must be exactly what `encode` makes of the same message."""
    for packer in (TELEMETRY, ACK, NAK, EVENT):
        values = data.draw(_message_values(packer.message_class))
        assert packer.pack(seq, values) == encode(packer.message(values), seq)
