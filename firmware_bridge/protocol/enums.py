"""The protocol's code tables. Values are wire values: never renumber, only append."""

from __future__ import annotations

from enum import IntEnum


class MessageType(IntEnum):
    # host -> pen
    HELLO = 0x01
    SET_PARAMS = 0x02
    START = 0x03
    STOP = 0x04
    ESTOP = 0x05
    CLEAR_FAULT = 0x06
    LEASE = 0x07
    GET_STATUS = 0x08
    # pen -> host
    IDENTIFY = 0x41
    CARTRIDGE = 0x42
    TELEMETRY = 0x43
    EVENT = 0x44
    ACK = 0x45
    NAK = 0x46

    @property
    def from_host(self) -> bool:
        """Host-to-pen types are 0x01-0x3F, pen-to-host 0x40-0x7F (protocol.md §4)."""
        return self < 0x40


# The commands a host sends, in table order: the simulator's state table, its scenario triggers
# and the host's link all take this one list.
HOST_COMMANDS: tuple[MessageType, ...] = tuple(t for t in MessageType if t.from_host)


class PenState(IntEnum):
    BOOTING = 0
    IDLE = 1  # no parameter set applied
    READY = 2  # a parameter set is applied; motor stopped
    RUNNING = 3  # motor commanded on (ramping or at speed)
    FAULTED = 4  # a latched fault; motor stopped
    ESTOPPED = 5  # e-stop latched; motor stopped


class MotorState(IntEnum):
    STOPPED = 0
    RAMPING_UP = 1
    AT_SPEED = 2
    RAMPING_DOWN = 3


class CartridgeState(IntEnum):
    ABSENT = 0
    FRESH = 1  # identified, unused, in date
    IN_USE = 2  # has run in this session and is still seated
    LOCKED_OUT = 3  # detached after use and re-attached: refused for good (S8)
    EXPIRED = 4
    UNREADABLE = 5


class FaultCode(IntEnum):
    NONE = 0
    LEASE_EXPIRED = 1
    OVER_CURRENT = 2
    OVER_TEMPERATURE = 3
    BATTERY_CRITICAL = 4
    DEPTH_SENSOR_DISAGREE = 5
    CARTRIDGE_REMOVED = 6
    MOTOR_STALL = 7
    ESTOP = 8  # the e-stop latch, cleared like any fault
    INTERNAL = 0xFF


class EventCode(IntEnum):
    BOOT = 1
    BUTTON_STOP = 2
    CARTRIDGE_INSERTED = 3
    CARTRIDGE_REMOVED = 4
    CARTRIDGE_REATTACHED = 5
    FAULT_RAISED = 6  # detail: FaultCode
    FAULT_CLEARED = 7  # detail: FaultCode
    LEASE_EXPIRED = 8
    MOTOR_STARTED = 9
    MOTOR_STOPPED = 10  # detail: StopReason
    ESTOP_ENGAGED = 11  # detail: StopReason


class StopReason(IntEnum):
    UNSPECIFIED = 0  # a STOP or ESTOP whose reason could not be read is still executed (S4)
    OPERATOR = 1
    AREA_COMPLETE = 2
    SESSION_END = 3
    HOST_FAULT = 4
    LINK_LOSS = 5
    LEASE_EXPIRED = 6
    BUTTON = 7
    FAULT = 8
    CARTRIDGE_REMOVED = 9
    ESTOP = 10
    TIME_LIMIT = 11
    HOST_RESET = 12  # a HELLO arrived while running: the host restarted

    @property
    def label(self) -> str:
        """The reason's name in journals and the simulator's events file: `link_loss`."""
        return self.name.lower()


class NakReason(IntEnum):
    BAD_STATE = 1  # command not accepted in the pen's current state
    DEPTH_OUT_OF_RANGE = 2  # detail: the pen's limit that was exceeded, µm
    SPEED_OUT_OF_RANGE = 3  # detail: the limit, strokes/s
    OFF_STEP = 4  # detail: the step, µm or strokes/s
    EXCEEDS_CARTRIDGE = 5  # detail: the cartridge's needle length, µm
    NO_PARAMS = 6
    PARAM_VERSION_MISMATCH = 7  # detail: low 16 bits of the applied version
    NO_CARTRIDGE = 8
    CARTRIDGE_LOCKED_OUT = 9
    CARTRIDGE_EXPIRED = 10
    NO_LEASE = 11
    FAULT_ACTIVE = 12  # detail: the active FaultCode
    ESTOPPED = 13
    WRONG_FAULT = 14  # detail: the active FaultCode
    FAULT_CAUSE_PRESENT = 15  # detail: the FaultCode whose cause persists
    LEASE_OUT_OF_RANGE = 16  # detail: the limit that was exceeded, ms
    VERSION_MISMATCH = 17  # detail: the pen's protocol version
    UNKNOWN_TYPE = 18
    BAD_PAYLOAD = 19
    NOT_IDENTIFIED = 20  # HELLO first
