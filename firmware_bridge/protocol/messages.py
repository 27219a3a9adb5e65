"""Every protocol message as a typed, immutable value, with its payload layout declared once.

Each message class lists its wire fields in order through `wire()`; the struct format, the range
checks and the registry by type code are all derived from that declaration, so the layout in
docs/protocol.md, the encoder and the decoder cannot disagree.
"""

from __future__ import annotations

import inspect
import struct
from enum import IntEnum
from functools import partial
from operator import itemgetter
from typing import Any, ClassVar, dataclass_transform

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


class _Wire:
    __slots__ = ("enum", "fmt", "unit")

    def __init__(self, fmt: str, enum: type[IntEnum] | None, unit: str) -> None:
        self.fmt = fmt
        self.enum = enum
        self.unit = unit


def wire(fmt: str, enum: type[IntEnum] | None = None, unit: str = "") -> Any:
    """Declare a payload field: struct code (B, H, h, I or Ns for N-byte ASCII), enum, unit."""
    return _Wire(fmt, enum, unit)


class FieldValueError(ValueError):
    """A field's value does not fit its wire type: names the message, the field and the value."""


@dataclass_transform(frozen_default=True, field_specifiers=(wire,))
class Message(tuple):  # type: ignore[type-arg]
    """Base of all messages: an immutable tuple of wire values with named, typed fields.

    A tuple rather than a dataclass because the pen and the host build tens of thousands a second:
    construction is compiled per type (`_compile_constructor`), and the decoder skips validation
    for values the struct and the enum tables already vouched for.
    Equality and hashing include the message type, so Hello(1) != Stop(1).
    """

    __slots__ = ()
    TYPE: ClassVar[MessageType]
    STRUCT: ClassVar[struct.Struct]
    FIELDS: ClassVar[tuple[tuple[str, str, type[IntEnum] | None], ...]]
    UNITS: ClassVar[dict[str, str]]
    HAS_TEXT: ClassVar[bool]
    __match_args__: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        specs = []
        for name in inspect.get_annotations(cls):
            spec = cls.__dict__.get(name)
            if isinstance(spec, _Wire):
                specs.append((name, spec.fmt, spec.enum, spec.unit))
        for index, (name, *_) in enumerate(specs):
            setattr(cls, name, property(itemgetter(index), doc=f"wire field {index}"))
        cls.FIELDS = tuple((name, fmt, enum) for name, fmt, enum, _ in specs)
        cls.UNITS = {name: unit for name, _, _, unit in specs if unit}
        cls.STRUCT = struct.Struct("<" + "".join(fmt for _, fmt, _ in cls.FIELDS))
        cls.__match_args__ = tuple(name for name, _, _ in cls.FIELDS)
        cls.HAS_TEXT = any(fmt.endswith("s") for _, fmt, _ in cls.FIELDS)
        cls.__new__ = staticmethod(_compile_constructor(cls))  # type: ignore[assignment]

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(f"{cls.__name__} is abstract: construct a concrete message type")

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and tuple.__eq__(self, other)  # type: ignore[arg-type]

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return hash((type(self).__name__, tuple(self)))

    def __repr__(self) -> str:
        inner = ", ".join(
            f"{name}={value!r}" for (name, _, _), value in zip(self.FIELDS, self, strict=True)
        )
        return f"{type(self).__name__}({inner})"

    def __getnewargs__(self) -> tuple[Any, ...]:
        return tuple(self)

    def replace(self, **changes: Any) -> Any:
        """A copy with some fields changed, validated like a new message."""
        return type(self)(**{**dict(zip(self.__match_args__, self, strict=True)), **changes})

    def pack(self) -> bytes:
        if self.HAS_TEXT:
            return self.STRUCT.pack(
                *(
                    value.encode("ascii") if fmt[-1] == "s" else value
                    for (_, fmt, _), value in zip(self.FIELDS, self, strict=True)
                )
            )
        return self.STRUCT.pack(*self)

    def fields(self) -> dict[str, Any]:
        """The message as plain JSON-friendly values (enums by name), e.g. for vectors and logs."""
        return {
            name: value.name if enum is not None else value
            for (name, _, enum), value in zip(self.FIELDS, self, strict=True)
        }


def _compile_constructor(cls: type[Message]) -> Any:
    """A `__new__` with the message's own signature that checks each field in one expression.

    The simulator and the host build a message per telemetry sample and per command, so the
    common case (an int in range, an enum member, short printable ASCII) is tested inline and only
    anything else goes to `_checked`, which converts it or raises FieldValueError with the name.
    """
    env: dict[str, Any] = {"new": tuple.__new__, "Any": Any}
    lines = []
    for index, (name, fmt, enum) in enumerate(cls.FIELDS):
        env[f"slow{index}"] = partial(_checked, cls, (name, fmt, enum))
        if enum is not None:
            env[f"t{index}"] = {int(member): member for member in enum}
            lines.append(
                f"    found = t{index}.get({name}) if type({name}) is not bool else None\n"
                f"    {name} = slow{index}({name}) if found is None else found"
            )
        elif fmt.endswith("s"):
            size = int(fmt[:-1])
            lines.append(
                f"    if not (type({name}) is str and len({name}) <= {size} and {name}.isascii()"
                f" and {name}.isprintable()): {name} = slow{index}({name})"
            )
        else:
            low, high = _RANGES[fmt]
            lines.append(
                f"    if not (type({name}) is int and {low} <= {name} <= {high}):"
                f" {name} = slow{index}({name})"
            )
    names = [name for name, _, _ in cls.FIELDS]
    params = "".join(f", {name}" for name in names)
    source = (
        f"def __new__(cls{params}):\n"
        + "".join(line + "\n" for line in lines)
        + f"    return new(cls, ({''.join(name + ', ' for name in names)}))\n"
    )
    exec(source, env)
    constructor = env["__new__"]
    constructor.__qualname__ = f"{cls.__name__}.__new__"
    return constructor


def _checked(cls: type[Message], spec: tuple[str, str, type[IntEnum] | None], value: Any) -> Any:
    name, fmt, enum = spec
    where = f"{cls.__name__}.{name}"
    if fmt.endswith("s"):
        size = int(fmt[:-1])
        if not isinstance(value, str):
            raise FieldValueError(f"{where}: {value!r} is not text")
        if len(value) > size or not all(0x20 <= ord(c) < 0x7F for c in value):
            raise FieldValueError(
                f"{where}: {value!r} must be at most {size} printable ASCII characters"
            )
        return value
    if isinstance(value, bool) or not isinstance(value, int):
        raise FieldValueError(f"{where}: {value!r} is not an integer")
    low, high = _RANGES[fmt]
    if not low <= value <= high:
        raise FieldValueError(f"{where}: {value} is outside {low}..{high}")
    if enum is None:
        return int(value)
    try:
        return enum(value)
    except ValueError:
        raise FieldValueError(f"{where}: {value} is not a {enum.__name__}") from None


MESSAGES: dict[int, type[Message]] = {}


def _register(cls: type[Message]) -> type[Message]:
    MESSAGES[int(cls.TYPE)] = cls
    return cls


# ---- host -> pen -------------------------------------------------------------------------------


@_register
class Hello(Message):
    """Opens (or re-opens) the link; answered by ACK, IDENTIFY and CARTRIDGE."""

    TYPE = MessageType.HELLO
    __slots__ = ()
    protocol_version: int = wire("B")


@_register
class SetParams(Message):
    """Proposes a new versioned parameter set; the ACK echoes what the pen actually applied."""

    TYPE = MessageType.SET_PARAMS
    __slots__ = ()
    param_version: int = wire("I")
    depth_um: int = wire("H", unit="µm")
    speed_sps: int = wire("H", unit="strokes/s")


@_register
class Start(Message):
    """Runs the motor with the applied set, named by version so a stale START cannot run."""

    TYPE = MessageType.START
    __slots__ = ()
    param_version: int = wire("I")


@_register
class Stop(Message):
    TYPE = MessageType.STOP
    __slots__ = ()
    reason: StopReason = wire("B", StopReason)


@_register
class EStop(Message):
    TYPE = MessageType.ESTOP
    __slots__ = ()
    reason: StopReason = wire("B", StopReason)


@_register
class ClearFault(Message):
    """Acknowledges one named fault; the pen refuses if another is active or the cause persists."""

    TYPE = MessageType.CLEAR_FAULT
    __slots__ = ()
    fault: FaultCode = wire("H", FaultCode)


@_register
class Lease(Message):
    """Grants the pen permission to run for `lease_ms` from receipt; renewed by the host loop."""

    TYPE = MessageType.LEASE
    __slots__ = ()
    lease_ms: int = wire("H", unit="ms")


@_register
class GetStatus(Message):
    """Answered by ACK, then TELEMETRY and CARTRIDGE out of schedule."""

    TYPE = MessageType.GET_STATUS
    __slots__ = ()


# ---- pen -> host -------------------------------------------------------------------------------


@_register
class Identify(Message):
    TYPE = MessageType.IDENTIFY
    __slots__ = ()
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
class Cartridge(Message):
    """The seated cartridge's identity; all-empty with state ABSENT when none is fitted."""

    TYPE = MessageType.CARTRIDGE
    __slots__ = ()
    state: CartridgeState = wire("B", CartridgeState)
    serial: str = wire("16s")
    lot: str = wire("12s")
    needle_count: int = wire("B")
    needle_length_um: int = wire("H", unit="µm")
    expiry_yyyymmdd: int = wire("I")


@_register
class Telemetry(Message):
    TYPE = MessageType.TELEMETRY
    __slots__ = ()
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
class Event(Message):
    TYPE = MessageType.EVENT
    __slots__ = ()
    event_counter: int = wire("H")
    event: EventCode = wire("B", EventCode)
    detail: int = wire("H")


@_register
class Ack(Message):
    """Acknowledges one host frame and echoes the parameter set the pen has applied (S3)."""

    TYPE = MessageType.ACK
    __slots__ = ()
    ack_seq: int = wire("H")
    ack_type: MessageType = wire("B", MessageType)
    pen_state: PenState = wire("B", PenState)
    param_version: int = wire("I")
    depth_um: int = wire("H", unit="µm")
    speed_sps: int = wire("H", unit="strokes/s")
    params_crc: int = wire("H")
    lease_remaining_ms: int = wire("H", unit="ms")


@_register
class Nak(Message):
    """Refuses one host frame; `nak_type` is raw because the refused type may be unknown."""

    TYPE = MessageType.NAK
    __slots__ = ()
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
