"""A test bench for the simulated pen: virtual clock, pen, pyserial port and a tiny host loop.

A test bench, not a benchmark: it measures no time (everything runs in virtual time), and the
simulator's tests build on it through the `bench` fixture. Timings live in bench/ (`make bench`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from firmware_bridge.clock import NS_PER_MS, VirtualClock
from firmware_bridge.protocol import (
    Ack,
    Cartridge,
    DecodeError,
    Decoder,
    Event,
    EventCode,
    Frame,
    Hello,
    Lease,
    Message,
    Nak,
    SetParams,
    Start,
    Telemetry,
    encode,
)
from simulator.config import PenConfig
from simulator.events import SimEvent
from simulator.pen import SimulatedPen
from simulator.scenario import Scenario, parse_scenario
from simulator.transport.inprocess import SimSerial, open_host_port

TODAY = 20260601


class Host:
    """The smallest host that speaks the protocol: numbers frames, reads and sorts replies."""

    def __init__(self, port: Any) -> None:
        self.port = port
        self.decoder = Decoder()
        self.seq = 0
        self.frames: list[Frame] = []
        self.errors: list[DecodeError] = []
        self._sent_at: dict[int, int] = {}

    def send(self, message: Message, seq: int | None = None, flags: int = 0) -> int:
        if seq is None:
            seq = self.seq
            self.seq = (self.seq + 1) % 65536
        self.poll()
        self._sent_at[seq] = len(self.frames)
        self.port.write(encode(message, seq, flags))
        return seq

    def poll(self) -> list[Message]:
        """Everything that arrived since the last poll."""
        new: list[Message] = []
        for item in self.decoder.feed(self.port.read(self.port.in_waiting)):
            if isinstance(item, Frame):
                self.frames.append(item)
                new.append(item.message)
            else:
                self.errors.append(item)
        return new

    def reply(self, seq: int) -> Ack | Nak:
        """The ACK or NAK naming host frame `seq` since it was last sent (exactly one)."""
        self.poll()
        found = [
            f.message
            for f in self.frames[self._sent_at.get(seq, 0) :]
            if (isinstance(f.message, Ack) and f.message.ack_seq == seq)
            or (isinstance(f.message, Nak) and f.message.nak_seq == seq)
        ]
        assert len(found) == 1, f"expected one reply to seq {seq}, got {found}"
        return found[0]

    def request(self, message: Message) -> Ack | Nak:
        return self.reply(self.send(message))

    def events(self) -> list[EventCode]:
        self.poll()
        return [f.message.event for f in self.frames if isinstance(f.message, Event)]

    def telemetry(self) -> list[Telemetry]:
        self.poll()
        return [f.message for f in self.frames if isinstance(f.message, Telemetry)]

    def cartridges(self) -> list[Cartridge]:
        self.poll()
        return [f.message for f in self.frames if isinstance(f.message, Cartridge)]


@dataclass
class Bench:
    clock: VirtualClock
    pen: SimulatedPen
    port: SimSerial
    host: Host
    marks: dict[str, int] = field(default_factory=dict)

    def advance_ms(self, ms: float) -> None:
        self.clock.advance(round(ms * NS_PER_MS))

    def keep_running_ms(self, ms: int, renew_every_ms: int = 100, lease_ms: int = 300) -> None:
        """Let time pass as a healthy host does: renewing the lease on schedule."""
        for _ in range(ms // renew_every_ms):
            self.advance_ms(renew_every_ms)
            self.host.send(Lease(lease_ms))

    @property
    def fw(self) -> Any:
        return self.pen.firmware

    def named(self, name: str) -> list[SimEvent]:
        return [e for e in self.pen.events if e.event == name]

    # ---- common preparations ---------------------------------------------------------------

    def booted(self) -> Bench:
        self.advance_ms(self.pen.config.boot_ms + 10)
        return self

    def identified(self) -> Bench:
        self.booted()
        assert isinstance(self.host.request(Hello(1)), Ack)
        return self

    def ready(self, depth_um: int = 1000, speed_sps: int = 120, version: int = 1) -> Bench:
        self.identified()
        assert isinstance(self.host.request(SetParams(version, depth_um, speed_sps)), Ack)
        return self

    def running(self, lease_ms: int = 300) -> Bench:
        self.ready()
        assert isinstance(self.host.request(Lease(lease_ms)), Ack)
        assert isinstance(self.host.request(Start(1)), Ack)
        return self


def make_bench(
    scenario: Scenario | None = None,
    *,
    seed: int = 1,
    config: PenConfig | None = None,
    **pen_kwargs: Any,
) -> Bench:
    clock = VirtualClock()
    pen = SimulatedPen(
        clock, scenario=scenario, seed=seed, config=config, today_yyyymmdd=TODAY, **pen_kwargs
    )
    port = open_host_port(pen, timeout=0)
    return Bench(clock, pen, port, Host(port))


def scenario_bench(text: str, *, seed: int = 1) -> Bench:
    return make_bench(parse_scenario(text, "test.toml"), seed=seed)
