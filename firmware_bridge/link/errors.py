"""What a `PenClient` call raises, each message saying what happened, what was done, what to check.

A refusal names the pen's NakReason in words (S10: never a bare code).
"""

from __future__ import annotations

from firmware_bridge.protocol import Ack, FaultCode, Message, Nak, NakReason, PenState

NAK_WORDS: dict[NakReason, str] = {
    NakReason.BAD_STATE: "the pen cannot do that in its current state ({state})",
    NakReason.DEPTH_OUT_OF_RANGE: "the depth is outside the pen's range (its limit is {um} µm)",
    NakReason.SPEED_OUT_OF_RANGE: "the speed is outside the pen's range (its limit is {n}/s)",
    NakReason.OFF_STEP: "the value is not on the pen's step of {n}",
    NakReason.EXCEEDS_CARTRIDGE: "the depth exceeds the cartridge's needle length ({um} µm)",
    NakReason.NO_PARAMS: "no parameter set is applied; set depth and speed first",
    NakReason.PARAM_VERSION_MISMATCH: "START named a parameter set the pen has not applied",
    NakReason.NO_CARTRIDGE: "no cartridge is seated",
    NakReason.CARTRIDGE_LOCKED_OUT: "the cartridge was used before and is locked out (S8)",
    NakReason.CARTRIDGE_EXPIRED: "the cartridge is past its expiry date",
    NakReason.NO_LEASE: "the host's lease has lapsed; renew it first",
    NakReason.FAULT_ACTIVE: "a fault is latched ({fault}); acknowledge it first",
    NakReason.ESTOPPED: "the e-stop is latched; acknowledge it first",
    NakReason.WRONG_FAULT: "that is not the active fault (the active one is {fault})",
    NakReason.FAULT_CAUSE_PRESENT: "the cause of {fault} is still present",
    NakReason.LEASE_OUT_OF_RANGE: "the lease is outside the pen's range (its limit is {n} ms)",
    NakReason.VERSION_MISMATCH: "the pen speaks protocol version {n}",
    NakReason.UNKNOWN_TYPE: "the pen does not know this command",
    NakReason.BAD_PAYLOAD: "the pen could not read the command's fields",
    NakReason.NOT_IDENTIFIED: "the pen has not been identified (HELLO first)",
}


def nak_words(nak: Nak) -> str:
    """The pen's refusal as a sentence, its detail decoded by the reason's table (§6)."""
    template = NAK_WORDS.get(nak.reason, "the pen refused it ({reason})")
    return template.format(
        state=_name(PenState, nak.detail),
        fault=_name(FaultCode, nak.detail),
        um=nak.detail,
        n=nak.detail,
        reason=nak.reason.name,
    )


def _name(enum: type[PenState] | type[FaultCode], value: int) -> str:
    try:
        return enum(value).name
    except ValueError:
        return str(value)


class PenLinkError(Exception):
    """Base of every error a PenClient call raises."""


class NotIdentified(PenLinkError):
    """A command before the pen was identified, or after the link was lost or the pen restarted."""


class PenRefused(PenLinkError):
    """The pen refused a command (NAK); it changed nothing."""

    def __init__(self, message: Message, nak: Nak) -> None:
        self.command = message
        self.nak = nak
        super().__init__(
            f"the pen refused {message.TYPE.name}: {nak_words(nak)} "
            f"(NAK {nak.reason.name}). Nothing was changed on the pen."
        )


class CommandFailed(PenLinkError):
    """A command got no answer and never will (the link was lost, closed or reopened)."""

    def __init__(self, message: Message, why: str) -> None:
        self.command = message
        self.why = why
        super().__init__(
            f"{message.TYPE.name} was not confirmed: {why}. The pen may or may not have acted on "
            "it; the needle is stopped by the pen's lease if the host goes quiet. Check the cable "
            "and the pen, then reconnect."
        )


class EchoMismatchError(PenLinkError):
    """S3: the pen's echo differs from the set asked for; the needle was stopped (STOP sent)."""

    def __init__(self, asked: Message, ack: Ack, fields: tuple[str, ...]) -> None:
        self.asked = asked
        self.ack = ack
        self.fields = fields
        super().__init__(
            f"the pen echoed a different parameter set than was asked (differs in "
            f"{', '.join(fields)}): asked {asked.fields()}, echoed version {ack.param_version}, "
            f"{ack.depth_um} µm, {ack.speed_sps}/s, crc {ack.params_crc:#06x}. The needle was "
            "stopped (STOP HOST_FAULT). Do not treat with this pen until it is checked."
        )


class CommandTimeout(PenLinkError):
    """A blocking call waited longer than its timeout; the link may still settle it later."""


class WrongPen(PenLinkError):
    """After a reconnect, another pen answered than the one identified before."""
