"""The identify handshake (docs/protocol.md §3, §5.1): HELLO, then ACK, IDENTIFY and CARTRIDGE.

A blocking, self-contained exchange for tools that only need to know which pen is there
(`penctl identify`, `make run` until the console exists). It follows the spec's retransmission
rule: 100 ms per try, 3 retransmissions with the RETRANSMIT flag, then the link counts as lost.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from firmware_bridge.clock import NS_PER_MS, RealClock, TimeSource
from firmware_bridge.protocol import (
    PROTOCOL_VERSION,
    Ack,
    Cartridge,
    Decoder,
    Frame,
    Hello,
    Identify,
    Nak,
    NakReason,
    PenState,
    encode,
)
from firmware_bridge.protocol.framing import FLAG_RETRANSMIT

REPLY_TIMEOUT_NS = 100 * NS_PER_MS
RETRANSMISSIONS = 3
BOOT_WAIT_NS = 3_000 * NS_PER_MS  # how long a pen that answers BAD_STATE(BOOTING) may take to start


class BytePort(Protocol):
    """What the handshake needs of a pyserial port."""

    def write(self, data: bytes, /) -> int | None: ...

    def read(self, size: int = 1, /) -> bytes: ...


class HandshakeError(Exception):
    """The pen did not identify itself; the message says why and what to check."""


@dataclass(frozen=True)
class PenIdentity:
    identify: Identify
    cartridge: Cartridge | None
    link_errors: dict[str, int] = field(default_factory=dict)


def identify(
    port: BytePort,
    *,
    seq: int = 0,
    clock: TimeSource | None = None,
) -> PenIdentity:
    monotonic_ns = (clock or RealClock()).monotonic_ns
    decoder = Decoder()
    hello = Hello(PROTOCOL_VERSION)
    ack: Ack | None = None
    found: Identify | None = None
    cartridge: Cartridge | None = None
    boot_deadline = monotonic_ns() + BOOT_WAIT_NS
    tries = 0
    while tries <= RETRANSMISSIONS:
        # A leading delimiter ends whatever half-frame the pen may be holding.
        port.write(b"\x00" + encode(hello, seq, FLAG_RETRANSMIT if tries else 0))
        tries += 1
        deadline = monotonic_ns() + REPLY_TIMEOUT_NS
        booting = False
        while monotonic_ns() < deadline and cartridge is None:
            for result in decoder.feed(port.read(256)):
                if not isinstance(result, Frame):
                    continue
                message = result.message
                if isinstance(message, Nak) and message.nak_seq == seq:
                    booting = _booting(message)
                    if not booting:
                        raise HandshakeError(_nak_text(message))
                elif isinstance(message, Ack) and message.ack_seq == seq:
                    ack = message
                elif isinstance(message, Identify):
                    found = message
                elif isinstance(message, Cartridge):
                    cartridge = message
        if ack is not None and found is not None:
            return PenIdentity(found, cartridge, _errors(decoder))
        if booting and monotonic_ns() < boot_deadline:
            # Still starting up: not a lost link, so the retransmission budget is not spent.
            tries = 0
    raise HandshakeError(
        f"the pen did not answer HELLO after {RETRANSMISSIONS + 1} tries "
        f"({(RETRANSMISSIONS + 1) * REPLY_TIMEOUT_NS // NS_PER_MS} ms); the link counts as lost. "
        f"Received {decoder.stats['frames']} good and {decoder.errors} bad frames. "
        "Check the cable, the port path and the baud rate (115200), and that the pen is on."
    )


def _booting(nak: Nak) -> bool:
    return nak.reason is NakReason.BAD_STATE and nak.detail == PenState.BOOTING


def _errors(decoder: Decoder) -> dict[str, int]:
    return {k: v for k, v in decoder.stats.items() if k not in ("bytes", "frames") and v}


def _nak_text(nak: Nak) -> str:
    if nak.reason is NakReason.VERSION_MISMATCH:
        return (
            f"the pen speaks protocol version {nak.detail} and penctl speaks {PROTOCOL_VERSION}; "
            "nothing was changed on the pen. Update penctl or the pen's firmware so they match."
        )
    return f"the pen refused HELLO ({nak.reason.name}, detail {nak.detail}); nothing was changed."
