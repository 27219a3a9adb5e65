"""The pen link (docs/link.md): a sans-IO core, its two drivers, and what they report."""

from firmware_bridge.link.core import LinkCore, echo_differences
from firmware_bridge.link.errors import (
    CommandFailed,
    CommandTimeout,
    EchoMismatchError,
    NotIdentified,
    PenLinkError,
    PenRefused,
    WrongPen,
    nak_words,
)
from firmware_bridge.link.outputs import (
    CartridgeReported,
    CommandOutcome,
    Confirmed,
    EchoMismatch,
    Failed,
    Identified,
    LinkOutput,
    LinkStateChanged,
    PenEventReceived,
    Refused,
    TelemetryReceived,
)
from firmware_bridge.link.states import LinkState, LinkTrigger

__all__ = [
    "CartridgeReported",
    "CommandFailed",
    "CommandOutcome",
    "CommandTimeout",
    "Confirmed",
    "EchoMismatch",
    "EchoMismatchError",
    "Failed",
    "Identified",
    "LinkCore",
    "LinkOutput",
    "LinkState",
    "LinkStateChanged",
    "LinkTrigger",
    "NotIdentified",
    "PenEventReceived",
    "PenLinkError",
    "PenRefused",
    "Refused",
    "TelemetryReceived",
    "WrongPen",
    "echo_differences",
    "nak_words",
]
