"""A stop is always a stop (S4): never answered from the duplicate memory, executed even when its
reason byte or its version cannot be read, and the e-stop latch outlives a reboot. A restarted
host must grant its own lease (S5)."""

from __future__ import annotations

import struct

from firmware_bridge.protocol import (
    Ack,
    EStop,
    FaultCode,
    Hello,
    Lease,
    MessageType,
    Nak,
    NakReason,
    PenState,
    SetParams,
    Start,
    Stop,
    StopReason,
)
from firmware_bridge.protocol.framing import HEADER, cobs_encode, crc16
from tests.simulator.testbench import make_bench


def _raw(version: int, kind: int, seq: int, payload: bytes) -> bytes:
    body = HEADER.pack(version, kind, 0, seq, len(payload)) + payload
    return cobs_encode(body + struct.pack("<H", crc16(body))) + b"\x00"


def test_s4_an_estop_reusing_an_old_seq_is_executed_not_answered_from_memory() -> None:
    """A host that restarted at seq 0 must never get host A's old ACK instead of an e-stop."""
    b = make_bench().running()
    seqs = {b.host.send(Stop(StopReason.OPERATOR), seq=0), b.host.send(EStop(StopReason.ESTOP))}
    assert seqs == {0, b.host.seq - 1}
    b.advance_ms(10)
    b.host.send(EStop(StopReason.ESTOP), seq=1)
    replies = [m for m in b.host.poll() if isinstance(m, Ack) and m.ack_seq == 1]
    assert replies and replies[-1].ack_type is MessageType.ESTOP
    assert b.fw.state is PenState.ESTOPPED
    assert not b.fw.motor_running


def test_s4_an_estop_with_an_unknown_reason_still_stops_the_motor() -> None:
    b = make_bench().running()
    b.host.port.write(_raw(1, MessageType.ESTOP, 900, bytes([99])))
    b.advance_ms(10)
    reply = b.host.reply(900)
    assert isinstance(reply, Ack) and reply.ack_type is MessageType.ESTOP
    assert b.fw.state is PenState.ESTOPPED
    assert b.fw.active_fault is FaultCode.ESTOP
    assert not b.fw.motor_running


def test_s4_a_stop_of_another_protocol_version_still_stops_the_motor() -> None:
    b = make_bench().running()
    b.host.port.write(_raw(2, MessageType.STOP, 901, bytes([1, 0, 0])))
    b.advance_ms(10)
    reply = b.host.reply(901)
    assert isinstance(reply, Ack) and reply.ack_type is MessageType.STOP
    assert b.fw.state is PenState.READY
    assert not b.fw.motor_running


def test_s4_the_estop_latch_outlives_a_reboot() -> None:
    b = make_bench().running()
    assert isinstance(b.host.request(EStop(StopReason.ESTOP)), Ack)
    b.pen.reboot()
    b.advance_ms(b.pen.config.boot_ms + 10)
    assert b.fw.state is PenState.ESTOPPED
    assert b.fw.active_fault is FaultCode.ESTOP


def test_s5_a_hello_takes_away_the_previous_hosts_lease() -> None:
    """A restarted host cannot START on the lease its predecessor granted."""
    b = make_bench().running(lease_ms=1000)
    assert isinstance(b.host.request(Hello(1)), Ack)
    assert b.fw.lease_remaining_ms == 0
    b.host.request(SetParams(2, 1000, 120))
    refusal = b.host.request(Start(2))
    assert isinstance(refusal, Nak) and refusal.reason is NakReason.NO_LEASE
    b.host.request(Lease(300))
    assert isinstance(b.host.request(Start(2)), Ack)
