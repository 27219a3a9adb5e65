"""Every protocol message as a typed, immutable value, with its payload layout declared once.

Each message class lists its wire fields in order through `wire()`; the struct format, the range
checks and the registry by type code are all derived from that declaration, so the layout in
docs/protocol.md, the encoder and the decoder cannot disagree.
"""

from __future__ import annotations

import dataclasses
import struct
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, ClassVar

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
from firmware_bridge.protocol.framing import crc16

_RANGES = {
    "B": (0, 0xFF),
    "H": (0, 0xFFFF),
    "h": (-0x8000, 0x7FFF),
    "I": (0, 0xFFFFFFFF),
}


def wire(fmt: str, enum: type[IntEnum] | None = None, unit: str = "") -> Any:
    """Declare a payload field: struct code (B, H, h, I or Ns for N-byte ASCII), enum, unit."""
    return field(metadata={"fmt": fmt, "enum": enum, "unit": unit})


class FieldValueError(ValueError):
    """A field's value does not fit its wire type: names the message, the field and the value."""


@dataclass(frozen=True, slots=True)
class Message:
    TYPE: ClassVar[MessageType]
    STRUCT: ClassVar[struct.Struct]
    FIELDS: ClassVar[tuple[tuple[str, str, type[IntEnum] | None], ...]]

    def __post_init__(self) -> None:
        for name, fmt, enum in self.FIELDS:
            value = getattr(self, name)
            if fmt.endswith("s"):
                _check_text(self, name, value, int(fmt[:-1]))
                continue
            if isinstance(value, bool) or not isinstance(value, int):
                raise FieldValueError(f"{type(self).__name__}.{name}: {value!r} is not an integer")
            low, high = _RANGES[fmt]
            if not low <= value <= high:
                raise FieldValueError(
                    f"{type(self).__name__}.{name}: {value} is outside {low}..{high}"
                )
            if enum is not None and not isinstance(value, enum):
                try:
                    object.__setattr__(self, name, enum(value))
                except ValueError:
                    raise FieldValueError(
                        f"{type(self).__name__}.{name}: {value} is not a {enum.__name__}"
                    ) from None

    def pack(self) -> bytes:
        values = [getattr(self, name) for name, _, _ in self.FIELDS]
        for i, (_, fmt, _) in enumerate(self.FIELDS):
            if fmt.endswith("s"):
                values[i] = values[i].encode("ascii")
        return self.STRUCT.pack(*values)

    def fields(self) -> dict[str, Any]:
        """The message as plain JSON-friendly values (enums by name), e.g. for vectors and logs."""
        out: dict[str, Any] = {}
        for name, _, enum in self.FIELDS:
            value = getattr(self, name)
            out[name] = value.name if enum is not None else value
        return out


def _check_text(message: Message, name: str, value: object, size: int) -> None:
    if not isinstance(value, str):
        raise FieldValueError(f"{type(message).__name__}.{name}: {value!r} is not text")
    if len(value) > size or not all(0x20 <= ord(c) < 0x7F for c in value):
        raise FieldValueError(
            f"{type(message).__name__}.{name}: {value!r} must be at most {size} printable "
            "ASCII characters"
        )


MESSAGES: dict[int, type[Message]] = {}


def _register(cls: type[Message]) -> type[Message]:
    specs = []
    for f in dataclasses.fields(cls):
        specs.append((f.name, f.metadata["fmt"], f.metadata["enum"]))
    cls.FIELDS = tuple(specs)
    cls.STRUCT = struct.Struct("<" + "".join(fmt for _, fmt, _ in specs))
    MESSAGES[int(cls.TYPE)] = cls
    return cls


# ---- host -> pen -------------------------------------------------------------------------------


@_register
@dataclass(frozen=True, slots=True)
class Hello(Message):
    """Opens (or re-opens) the link; answered by ACK, IDENTIFY and CARTRIDGE."""

    TYPE = MessageType.HELLO
    protocol_version: int = wire("B")


@_register
@dataclass(frozen=True, slots=True)
class SetParams(Message):
    """Proposes a new versioned parameter set; the ACK echoes what the pen actually applied."""

    TYPE = MessageType.SET_PARAMS
    param_version: int = wire("I")
    depth_um: int = wire("H", unit="µm")
    speed_sps: int = wire("H", unit="strokes/s")


@_register
@dataclass(frozen=True, slots=True)
class Start(Message):
    """Runs the motor with the applied set, named by version so a stale START cannot run."""

    TYPE = MessageType.START
    param_version: int = wire("I")


@_register
@dataclass(frozen=True, slots=True)
class Stop(Message):
    TYPE = MessageType.STOP
    reason: StopReason = wire("B", StopReason)


@_register
@dataclass(frozen=True, slots=True)
class EStop(Message):
    TYPE = MessageType.ESTOP
    reason: StopReason = wire("B", StopReason)


@_register
@dataclass(frozen=True, slots=True)
class ClearFault(Message):
    """Acknowledges one named fault; the pen refuses if another is active or the cause persists."""

    TYPE = MessageType.CLEAR_FAULT
    fault: FaultCode = wire("H", FaultCode)


@_register
@dataclass(frozen=True, slots=True)
class Lease(Message):
    """Grants the pen permission to run for `lease_ms` from receipt; renewed by the host loop."""

    TYPE = MessageType.LEASE
    lease_ms: int = wire("H", unit="ms")


@_register
@dataclass(frozen=True, slots=True)
class GetStatus(Message):
    """Answered by ACK, then TELEMETRY and CARTRIDGE out of schedule."""

    TYPE = MessageType.GET_STATUS


# ---- pen -> host -------------------------------------------------------------------------------


@_register
@dataclass(frozen=True, slots=True)
class Identify(Message):
    TYPE = MessageType.IDENTIFY
    protocol_version: int = wire("B")
    firmware_major: int = wire("B")
    firmware_minor: int = wire("B")
    firmware_patch: int = wire("B")
    serial_number: str = wire("16s")
    model: str = wire("16s")
    depth_min_um: int = wire("H", unit="µm")
    depth_max_um: int = wire("H", unit="µm")
    depth_step_um: int = wire("H", unit="µm")
    speed_min_sps: int = wire("H", unit="strokes/s")
    speed_max_sps: int = wire("H", unit="strokes/s")
    speed_step_sps: int = wire("H", unit="strokes/s")
    lease_min_ms: int = wire("H", unit="ms")
    lease_max_ms: int = wire("H", unit="ms")
    telemetry_period_ms: int = wire("H", unit="ms")
    cartridge_state: CartridgeState = wire("B", CartridgeState)

    @property
    def firmware_version(self) -> str:
        return f"{self.firmware_major}.{self.firmware_minor}.{self.firmware_patch}"


@_register
@dataclass(frozen=True, slots=True)
class Cartridge(Message):
    """The seated cartridge's identity; all-empty with state ABSENT when none is fitted."""

    TYPE = MessageType.CARTRIDGE
    state: CartridgeState = wire("B", CartridgeState)
    serial: str = wire("16s")
    lot: str = wire("12s")
    needle_count: int = wire("B")
    needle_length_um: int = wire("H", unit="µm")
    expiry_yyyymmdd: int = wire("I")


@_register
@dataclass(frozen=True, slots=True)
class Telemetry(Message):
    TYPE = MessageType.TELEMETRY
    counter: int = wire("I")
    pen_state: PenState = wire("B", PenState)
    motor_state: MotorState = wire("B", MotorState)
    depth_um: int = wire("H", unit="µm")
    speed_sps: int = wire("H", unit="strokes/s")
    motor_current_ma: int = wire("H", unit="mA")
    temperature_cdeg: int = wire("h", unit="0.01 °C")
    battery_mv: int = wire("H", unit="mV")
    battery_pct: int = wire("B", unit="%")
    cartridge_state: CartridgeState = wire("B", CartridgeState)
    active_fault: FaultCode = wire("H", FaultCode)
    lease_remaining_ms: int = wire("H", unit="ms")
    param_version: int = wire("I")


@_register
@dataclass(frozen=True, slots=True)
class Event(Message):
    TYPE = MessageType.EVENT
    event_counter: int = wire("H")
    event: EventCode = wire("B", EventCode)
    detail: int = wire("H")


@_register
@dataclass(frozen=True, slots=True)
class Ack(Message):
    """Acknowledges one host frame and echoes the parameter set the pen has applied (S3)."""

    TYPE = MessageType.ACK
    ack_seq: int = wire("H")
    ack_type: MessageType = wire("B", MessageType)
    pen_state: PenState = wire("B", PenState)
    param_version: int = wire("I")
    depth_um: int = wire("H", unit="µm")
    speed_sps: int = wire("H", unit="strokes/s")
    params_crc: int = wire("H")
    lease_remaining_ms: int = wire("H", unit="ms")


@_register
@dataclass(frozen=True, slots=True)
class Nak(Message):
    """Refuses one host frame; `nak_type` is raw because the refused type may be unknown."""

    TYPE = MessageType.NAK
    nak_seq: int = wire("H")
    nak_type: int = wire("B")
    reason: NakReason = wire("B", NakReason)
    detail: int = wire("H")


HOST_TO_PEN = frozenset(t for t in MessageType if t < 0x40)
PEN_TO_HOST = frozenset(t for t in MessageType if t >= 0x40)

_PARAMS = struct.Struct("<IHH")


def params_crc(param_version: int, depth_um: int, speed_sps: int) -> int:
    """Checksum of an applied parameter set, as echoed in every ACK: CRC-16 over <IHH."""
    return crc16(_PARAMS.pack(param_version, depth_um, speed_sps))
