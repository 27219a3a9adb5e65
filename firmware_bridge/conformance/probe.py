"""The kit's host: sends exactly the frames a case asks for and records what the pen sends back.

Not the pen link (firmware_bridge.link): the link retransmits, renews, numbers and checks frames
the way a well-behaved host must, while a conformance case must send a stale seq, a forged CRC or
a STOP twice on purpose. It uses the same codec (firmware_bridge.protocol) and the same ports
(firmware_bridge.transport), and reads the time from one `TimeSource`, so on a virtual clock over
the simulator's in-process port the whole kit runs in virtual time.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from firmware_bridge.clock import NS_PER_MS, TimeSource
from firmware_bridge.protocol import (
    Ack,
    DecodeError,
    Decoder,
    Event,
    EventCode,
    Frame,
    Lease,
    Message,
    MessageType,
    Nak,
    Telemetry,
    encode,
)
from firmware_bridge.protocol.framing import HEADER, cobs_encode, crc16

POLL_S = 0.005  # how long one read waits: the granularity of the kit's deadlines
RENEW_MS = 100  # lease renewal period while a case keeps the lease, as penctl does
M = TypeVar("M", bound=Message)


class Port(Protocol):
    """What the probe needs of a pyserial port."""

    timeout: float | None

    def read(self, size: int = 1) -> bytes: ...

    def write(self, data: bytes) -> int | None: ...

    @property
    def in_waiting(self) -> int: ...


class Nonconformance(AssertionError):
    """The pen broke a rule; `section` names it in docs/protocol.md."""

    def __init__(self, section: str, message: str) -> None:
        super().__init__(f"{section}: {message}")
        self.section = section
        self.message = message


class Skipped(Exception):
    """The case cannot run on this pen or without a person; the message says why."""


@dataclass(frozen=True, slots=True)
class Received:
    at_ns: int
    seq: int
    flags: int
    message: Message


class Probe:
    def __init__(self, port: Port, clock: TimeSource) -> None:
        self.port = port
        self.clock = clock
        self.decoder = Decoder()
        self.received: list[Received] = []
        self.errors: list[DecodeError] = []
        self.seq = 0
        self.lease_ms: int | None = None  # renewed every RENEW_MS while set
        self._renewed_ns = 0
        port.timeout = POLL_S

    def now_ns(self) -> int:
        return self.clock.monotonic_ns()

    def mark(self) -> int:
        """A point in what was received: pass it to the finders to look only after it."""
        return len(self.received)

    def next_seq(self) -> int:
        seq = self.seq
        self.seq = (seq + 1) & 0xFFFF
        return seq

    def send(self, message: Message, seq: int | None = None, flags: int = 0) -> int:
        seq = self.next_seq() if seq is None else seq
        self.write(encode(message, seq, flags))
        return seq

    def write(self, data: bytes) -> None:
        self.pump_once()
        self.port.write(data)

    def keep_lease(self, lease_ms: int | None) -> None:
        """Renew the lease every RENEW_MS from now while waiting (None: stop renewing)."""
        self.lease_ms = lease_ms
        if lease_ms is not None:
            self._renew()

    # ---- waiting -------------------------------------------------------------------------------

    def wait_ms(self, ms: float) -> None:
        self.until(lambda: False, ms)

    def until(self, done: Callable[[], bool], timeout_ms: float) -> bool:
        """Read until `done()` or `timeout_ms` has passed; whether `done()` came true."""
        deadline = self.now_ns() + round(timeout_ms * NS_PER_MS)
        while not done():
            if self.now_ns() >= deadline:
                return done()
            self.pump_once()
        return True

    def pump_once(self) -> None:
        if self.lease_ms is not None and self.now_ns() - self._renewed_ns >= RENEW_MS * NS_PER_MS:
            self._renew()
        data = self.port.read(max(1, self.port.in_waiting))
        if not data:
            return
        at = self.now_ns()
        for item in self.decoder.feed(data):
            if isinstance(item, Frame):
                self.received.append(Received(at, item.seq, item.flags, item.message))
            else:
                self.errors.append(item)

    def _renew(self) -> None:
        assert self.lease_ms is not None
        self._renewed_ns = self.now_ns()
        self.port.write(encode(Lease(self.lease_ms), self.next_seq()))

    # ---- finding what arrived ------------------------------------------------------------------

    def reply(self, seq: int, kind: int, since: int = 0) -> Received | None:
        for item in self.received[since:]:
            message = item.message
            if isinstance(message, Ack) and (message.ack_seq, message.ack_type) == (seq, kind):
                return item
            if isinstance(message, Nak) and (message.nak_seq, message.nak_type) == (seq, kind):
                return item
        return None

    def await_reply(self, seq: int, kind: int, since: int, section: str, timeout_ms: float) -> Any:
        """The ACK or NAK to (seq, kind) received after `since`, or Nonconformance."""
        if not self.until(lambda: self.reply(seq, kind, since) is not None, timeout_ms):
            raise Nonconformance(
                section,
                f"no ACK or NAK to {_type_name(kind)} seq {seq} within {timeout_ms:.0f} ms",
            )
        found = self.reply(seq, kind, since)
        assert found is not None
        return found.message

    def of_type(self, cls: type[M], since: int = 0) -> list[M]:
        return [r.message for r in self.received[since:] if isinstance(r.message, cls)]

    def events(self, since: int = 0, code: EventCode | None = None) -> list[Event]:
        return [e for e in self.of_type(Event, since) if code is None or e.event is code]

    def await_event(
        self,
        code: EventCode,
        since: int,
        section: str,
        timeout_ms: float,
        detail: int | None = None,
    ) -> Received:
        def found() -> Received | None:
            for item in self.received[since:]:
                event = item.message
                if (
                    isinstance(event, Event)
                    and event.event is code
                    and (detail is None or event.detail == detail)
                ):
                    return item
            return None

        if not self.until(lambda: found() is not None, timeout_ms):
            seen = [f"{e.event.name}({e.detail})" for e in self.events(since)]
            raise Nonconformance(
                section,
                f"no EVENT {code.name}{'' if detail is None else f'({detail})'} within "
                f"{timeout_ms:.0f} ms (events seen: {', '.join(seen) or 'none'})",
            )
        item = found()
        assert item is not None
        return item

    def await_telemetry(self, since: int, section: str, timeout_ms: float) -> Telemetry:
        if not self.until(lambda: bool(self.of_type(Telemetry, since)), timeout_ms):
            raise Nonconformance(section, f"no TELEMETRY within {timeout_ms:.0f} ms")
        return self.of_type(Telemetry, since)[0]


def raw_frame(
    msg_type: int,
    payload: bytes,
    seq: int,
    *,
    version: int = 1,
    flags: int = 0,
    length: int | None = None,
    crc_xor: int = 0,
) -> bytes:
    """A frame built by hand: any version, type, flags, length byte or a wrong CRC."""
    body = HEADER.pack(version, msg_type, flags, seq, len(payload) if length is None else length)
    body += payload
    return cobs_encode(body + struct.pack("<H", crc16(body) ^ crc_xor)) + b"\x00"


def _type_name(kind: int) -> str:
    try:
        return MessageType(kind).name
    except ValueError:
        return f"type 0x{kind:02x}"


def elapsed_ms(start_ns: int, end_ns: int) -> float:
    return (end_ns - start_ns) / NS_PER_MS
