"""Builds docs/protocol-vectors.json: the golden vectors any implementation can be checked against.

Run `python -m firmware_bridge.protocol.vectors > docs/protocol-vectors.json` after a deliberate
protocol change; a test fails while the committed file and this code disagree.
"""

from __future__ import annotations

import json
import struct
import sys
from typing import Any

from firmware_bridge.protocol.codec import ErrorKind, encode
from firmware_bridge.protocol.enums import (
    CartridgeState,
    EventCode,
    FaultCode,
    MessageType,
    MotorState,
    NakReason,
    PenState,
    StopReason,
)
from firmware_bridge.protocol.framing import (
    CRC_CHECK,
    CRC_INIT,
    CRC_NAME,
    CRC_POLY,
    FLAG_RETRANSMIT,
    HEADER,
    MAX_PAYLOAD,
    PROTOCOL_VERSION,
    cobs_encode,
    crc16,
)
from firmware_bridge.protocol.messages import (
    Ack,
    Cartridge,
    ClearFault,
    EStop,
    Event,
    GetStatus,
    Hello,
    Identify,
    Lease,
    Message,
    Nak,
    SetParams,
    Start,
    Stop,
    Telemetry,
    params_crc,
)

IDENTIFY = Identify(
    protocol_version=1,
    firmware_major=1,
    firmware_minor=0,
    firmware_patch=0,
    serial_number="SIM-000001",
    model="PENSIM-1",
    depth_min_um=250,
    depth_max_um=2500,
    depth_step_um=50,
    speed_min_sps=60,
    speed_max_sps=150,
    speed_step_sps=10,
    lease_min_ms=50,
    lease_max_ms=1000,
    telemetry_period_ms=50,
    cartridge_state=CartridgeState.FRESH,
)

TELEMETRY_RUNNING = Telemetry(
    counter=1234,
    pen_state=PenState.RUNNING,
    motor_state=MotorState.AT_SPEED,
    depth_um=498,
    speed_sps=100,
    motor_current_ma=410,
    temperature_cdeg=3150,
    battery_mv=3920,
    battery_pct=87,
    cartridge_state=CartridgeState.IN_USE,
    active_fault=FaultCode.NONE,
    lease_remaining_ms=240,
    param_version=1,
)

VALID: list[tuple[str, Message, int, int]] = [
    ("hello (identify request)", Hello(PROTOCOL_VERSION), 0, 0),
    ("identify: simulated pen, fresh cartridge", IDENTIFY, 0, 0),
    (
        "identify: text fields at full width",
        Identify(
            **{
                **IDENTIFY.fields(),
                "serial_number": "SN-0123456789ABC",
                "model": "X" * 16,
                "cartridge_state": CartridgeState.ABSENT,
            }
        ),
        1,
        0,
    ),
    (
        "cartridge: fresh 12-needle, 2.5 mm",
        Cartridge(CartridgeState.FRESH, "CART-0001", "LOT-2026-11", 12, 2500, 20281231),
        1,
        0,
    ),
    (
        "cartridge: absent (payload of 0x00 bytes)",
        Cartridge(CartridgeState.ABSENT, "", "", 0, 0, 0),
        2,
        0,
    ),
    ("set_params: 0.5 mm at 100 strokes/s", SetParams(1, 500, 100), 2, 0),
    ("set_params: zero bytes in payload (version 256, 1.0 mm)", SetParams(256, 1024, 60), 3, 0),
    ("start", Start(1), 3, 0),
    ("stop: operator", Stop(StopReason.OPERATOR), 4, 0),
    ("estop: e-stop button", EStop(StopReason.ESTOP), 5, 0),
    ("clear_fault: e-stop latch", ClearFault(FaultCode.ESTOP), 6, 0),
    ("lease: 300 ms", Lease(300), 7, 0),
    ("get_status (empty payload)", GetStatus(), 8, 0),
    (
        "telemetry: running at 0.5 mm, 100 strokes/s",
        TELEMETRY_RUNNING,
        40,
        0,
    ),
    (
        "telemetry: negative temperature (i16)",
        Telemetry(
            0,
            PenState.IDLE,
            MotorState.STOPPED,
            0,
            0,
            0,
            -500,
            3700,
            50,
            CartridgeState.ABSENT,
            FaultCode.NONE,
            0,
            0,
        ),
        41,
        0,
    ),
    ("event: motor started", Event(3, EventCode.MOTOR_STARTED, 1), 42, 0),
    ("event: lease expired", Event(4, EventCode.LEASE_EXPIRED, 0), 43, 0),
    (
        "ack: set_params applied, with params_crc",
        Ack(2, MessageType.SET_PARAMS, PenState.READY, 1, 500, 100, params_crc(1, 500, 100), 280),
        44,
        0,
    ),
    (
        "nak: depth beyond the pen's maximum",
        Nak(9, MessageType.SET_PARAMS, NakReason.DEPTH_OUT_OF_RANGE, 2500),
        45,
        0,
    ),
    ("nak: unknown type 0x3f", Nak(10, 0x3F, NakReason.UNKNOWN_TYPE, 0), 46, 0),
    ("sequence wrap: seq 65535", Lease(300), 0xFFFF, 0),
    ("sequence wrap: seq 0 after 65535", Lease(300), 0, 0),
    ("retransmit flag set", SetParams(1, 500, 100), 2, FLAG_RETRANSMIT),
]


def _raw(
    body_fields: tuple[int, int, int, int],
    payload: bytes,
    length: int | None = None,
    crc: int | None = None,
) -> bytes:
    version, msg_type, flags, seq = body_fields
    header = HEADER.pack(version, msg_type, flags, seq, len(payload) if length is None else length)
    body = header + payload
    check = crc16(body) if crc is None else crc
    return cobs_encode(body + struct.pack("<H", check)) + b"\x00"


def _invalid() -> list[tuple[str, bytes, ErrorKind]]:
    good = encode(SetParams(1, 500, 100), 2)
    good_crc = crc16(HEADER.pack(1, 0x02, 0, 2, 8) + SetParams(1, 500, 100).pack())
    flipped = SetParams(1, 500 ^ 0x04, 100).pack()
    return [
        (
            "bad crc: one payload bit flipped",
            _raw((1, 0x02, 0, 2), flipped, crc=good_crc),
            ErrorKind.BAD_CRC,
        ),
        (
            "bad crc: crc bytes swapped",
            _raw(
                (1, 0x02, 0, 2),
                SetParams(1, 500, 100).pack(),
                crc=int.from_bytes(good_crc.to_bytes(2, "little"), "big"),
            ),
            ErrorKind.BAD_CRC,
        ),
        ("truncated: last two bytes lost", good[:-3] + b"\x00", ErrorKind.TRUNCATED),
        (
            "truncated: shorter than a header",
            bytes.fromhex("04010203") + b"\x00",
            ErrorKind.TRUNCATED,
        ),
        (
            "truncated: length byte says more than arrived",
            _raw((1, 0x02, 0, 2), SetParams(1, 500, 100).pack(), length=10),
            ErrorKind.TRUNCATED,
        ),
        (
            "bad length: length byte says less than arrived",
            _raw((1, 0x02, 0, 2), SetParams(1, 500, 100).pack(), length=6),
            ErrorKind.BAD_LENGTH,
        ),
        ("oversize: 300 bytes without a delimiter", b"\x01" * 300 + b"\x00", ErrorKind.OVERSIZE),
        ("unknown type 0x3f", _raw((1, 0x3F, 0, 7), b""), ErrorKind.UNKNOWN_TYPE),
        (
            "unknown type 0x7f with the largest payload (240 bytes)",
            _raw((1, 0x7F, 0, 8), bytes(range(1, 241))),
            ErrorKind.UNKNOWN_TYPE,
        ),
        ("wrong version 2", _raw((2, 0x01, 0, 0), b"\x02"), ErrorKind.WRONG_VERSION),
        (
            "bad field: START payload 3 bytes",
            _raw((1, 0x03, 0, 3), b"\x01\x00\x00"),
            ErrorKind.BAD_FIELD,
        ),
        (
            "bad field: STOP reason 99 not a StopReason",
            _raw((1, 0x04, 0, 4), b"\x63"),
            ErrorKind.BAD_FIELD,
        ),
        ("bad field: reserved flag bit 7 set", _raw((1, 0x08, 0x80, 5), b""), ErrorKind.BAD_FIELD),
        (
            "bad field: text with a NUL before its padding",
            _raw(
                (1, 0x42, 0, 6),
                Cartridge(CartridgeState.FRESH, "AB", "L", 1, 500, 20280101)
                .pack()
                .replace(b"AB", b"A\x00B", 1)[:36],
            ),
            ErrorKind.BAD_FIELD,
        ),
    ]


def _patched(message: Message, offset: int, value: bytes) -> bytes:
    """`message`'s payload with `value` written at `offset`: a field no encoder would produce."""
    payload = bytearray(message.pack())
    payload[offset : offset + len(value)] = value
    return bytes(payload)


def _wire_flip(message: Message, seq: int, position: int) -> bytes:
    """`message`'s frame with bit 0 of the wire byte at `position` (a COBS code byte) flipped."""
    frame = bytearray(encode(message, seq))
    frame[position] ^= 0x01
    return bytes(frame)


def _errata() -> list[tuple[str, bytes, ErrorKind]]:
    """The vectors protocol.md §10 names (E2, E8, E18-E21)."""
    set_params = SetParams(256, 1024, 60)
    ack = Ack(2, MessageType.SET_PARAMS, PenState.READY, 1, 500, 100, params_crc(1, 500, 100), 280)
    cartridge = Cartridge(CartridgeState.FRESH, "CART-0001", "LOT-2026-11", 12, 2500, 20281231)
    event = Event(3, EventCode.MOTOR_STARTED, 1)
    nak = Nak(9, MessageType.SET_PARAMS, NakReason.DEPTH_OUT_OF_RANGE, 2500)
    bad = ErrorKind.BAD_FIELD
    return [
        (
            "wire bit flip in a COBS code byte: bad crc",
            _wire_flip(set_params, 3, 0),
            ErrorKind.BAD_CRC,
        ),
        (
            "wire bit flip in a COBS code byte: bad length",
            _wire_flip(set_params, 3, 3),
            ErrorKind.BAD_LENGTH,
        ),
        (
            "several errors: wrong crc and wrong version",
            _raw((2, 0x01, 0, 0), b"\x01", crc=0x1234),
            ErrorKind.BAD_CRC,
        ),
        (
            "several errors: wrong version and unknown type",
            _raw((2, 0x80, 0, 1), b""),
            ErrorKind.WRONG_VERSION,
        ),
        (
            "several errors: unknown type and a reserved flag",
            _raw((1, 0x09, 0x02, 2), b""),
            ErrorKind.UNKNOWN_TYPE,
        ),
        (
            "several errors: short length byte and wrong crc",
            _raw((1, 0x07, 0, 3), b"\x2c\x01", length=1, crc=0x1234),
            ErrorKind.BAD_LENGTH,
        ),
        (
            "several errors: long length byte and wrong version",
            _raw((2, 0x07, 0, 4), b"\x2c\x01", length=3),
            ErrorKind.TRUNCATED,
        ),
        (
            "bad field: DEL in IDENTIFY's model",
            _raw((1, 0x41, 0, 5), _patched(IDENTIFY, 23, b"\x7f")),
            bad,
        ),
        (
            "bad field: a control byte in CARTRIDGE's lot",
            _raw((1, 0x42, 0, 6), _patched(cartridge, 20, b"\x1f")),
            bad,
        ),
        (
            "bad field: byte 0xE9 in IDENTIFY's serial",
            _raw((1, 0x41, 0, 7), _patched(IDENTIFY, 4, b"\xe9")),
            bad,
        ),
        (
            "bad field: TELEMETRY pen_state 6",
            _raw((1, 0x43, 0, 8), _patched(TELEMETRY_RUNNING, 4, b"\x06")),
            bad,
        ),
        ("bad field: EVENT code 0", _raw((1, 0x44, 0, 9), _patched(event, 2, b"\x00")), bad),
        ("bad field: ACK of type 0x09", _raw((1, 0x45, 0, 10), _patched(ack, 2, b"\x09")), bad),
        ("bad field: NAK reason 0", _raw((1, 0x46, 0, 11), _patched(nak, 3, b"\x00")), bad),
        (
            "bad field: CARTRIDGE state 6",
            _raw((1, 0x42, 0, 12), _patched(cartridge, 0, b"\x06")),
            bad,
        ),
        (
            "bad field: TELEMETRY active_fault 9",
            _raw((1, 0x43, 0, 13), _patched(TELEMETRY_RUNNING, 18, b"\x09\x00")),
            bad,
        ),
        ("unknown type 0x00", _raw((1, 0x00, 0, 14), b""), ErrorKind.UNKNOWN_TYPE),
        ("unknown type 0x80", _raw((1, 0x80, 0, 15), b"\x01"), ErrorKind.UNKNOWN_TYPE),
        ("unknown type 0xff", _raw((1, 0xFF, 0, 16), b""), ErrorKind.UNKNOWN_TYPE),
        (
            "oversize: 250 encoded bytes, one more than the largest frame",
            _raw((1, 0x7F, 0, 17), bytes(range(1, MAX_PAYLOAD + 2))),
            ErrorKind.OVERSIZE,
        ),
    ]


def build() -> dict[str, Any]:
    vectors: list[dict[str, Any]] = []
    for name, message, seq, flags in VALID:
        vectors.append(
            {
                "name": name,
                "valid": True,
                "seq": seq,
                "flags": flags,
                "type": message.TYPE.name,
                "type_code": int(message.TYPE),
                "fields": message.fields(),
                "payload_hex": message.pack().hex(),
                "frame_hex": encode(message, seq, flags).hex(),
            }
        )
    for name, frame, kind in [*_invalid(), *_errata()]:
        vectors.append(
            {"name": name, "valid": False, "frame_hex": frame.hex(), "error": kind.value}
        )
    return {
        "protocol_version": PROTOCOL_VERSION,
        "max_payload": MAX_PAYLOAD,
        "crc": {
            "name": CRC_NAME,
            "width": 16,
            "poly": f"0x{CRC_POLY:04X}",
            "init": f"0x{CRC_INIT:04X}",
            "refin": False,
            "refout": False,
            "xorout": "0x0000",
            "check": f"0x{CRC_CHECK:04X}",
        },
        "vectors": vectors,
    }


def main() -> None:
    json.dump(build(), sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
