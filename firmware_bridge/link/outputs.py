"""What the link core hands up: typed outcomes of commands, pen reports and state changes.

Every command the core accepts ends in exactly one of `Confirmed`, `Refused` or `Failed`, so none
is ever silently lost. `EchoMismatch` is the S3 outcome of a SET_PARAMS whose echo differs from
what was asked: the core has already written STOP(HOST_FAULT) when it is reported.
"""

from __future__ import annotations

from dataclasses import dataclass

from firmware_bridge.link.states import LinkState, LinkTrigger
from firmware_bridge.protocol import Ack, Cartridge, Event, Identify, Message, Nak, Telemetry


@dataclass(frozen=True, slots=True)
class Confirmed:
    """The pen acknowledged the command; `ack` echoes the set in force after it."""

    command_id: int
    message: Message
    ack: Ack
    at_ns: int
    round_trip_ns: int | None  # None when the command was retransmitted (Karn's rule)


@dataclass(frozen=True, slots=True)
class Refused:
    """The pen refused the command (NAK) and changed nothing."""

    command_id: int
    message: Message
    nak: Nak
    at_ns: int


@dataclass(frozen=True, slots=True)
class Failed:
    """The command has no answer and never will: `why` says what happened, in words."""

    command_id: int
    message: Message
    why: str
    at_ns: int


@dataclass(frozen=True, slots=True)
class EchoMismatch:
    """S3: the pen's echo of a parameter set differs from what was asked; the needle was stopped."""

    command_id: int
    asked: Message
    ack: Ack
    fields: tuple[str, ...]  # the echoed fields that differ, params_crc included
    at_ns: int


@dataclass(frozen=True, slots=True)
class Identified:
    identify: Identify
    at_ns: int


@dataclass(frozen=True, slots=True)
class TelemetryReceived:
    telemetry: Telemetry
    missed: int  # TELEMETRY frames lost just before this one (counter gap)
    at_ns: int
    # How long the oldest STOP or ESTOP still unanswered when this frame came had waited (None:
    # none was). The pen handles frames in order, so a needle this frame shows turning may be
    # one the pen has not yet been told to stop.
    stop_waited_ns: int | None = None


@dataclass(frozen=True, slots=True)
class PenEventReceived:
    event: Event
    missed: int  # EVENT frames lost just before this one (event_counter gap)
    at_ns: int


@dataclass(frozen=True, slots=True)
class CartridgeReported:
    cartridge: Cartridge
    at_ns: int


@dataclass(frozen=True, slots=True)
class LinkStateChanged:
    old: LinkState
    new: LinkState
    trigger: LinkTrigger
    why: str
    at_ns: int


CommandOutcome = Confirmed | Refused | Failed | EchoMismatch
LinkOutput = (
    CommandOutcome
    | Identified
    | TelemetryReceived
    | PenEventReceived
    | CartridgeReported
    | LinkStateChanged
)
