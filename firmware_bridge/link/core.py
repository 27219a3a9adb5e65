"""The host's half of the pen link, sans-IO: bytes and time in; bytes, outcomes and a deadline out.

Rules (docs/protocol.md §3 and §5; docs/link.md says the same with the reasons):

- One command unanswered at a time (HELLO, SET_PARAMS, START, CLEAR_FAULT, GET_STATUS); the rest
  wait in order. Each try waits 100 ms; 3 retransmissions with the RETRANSMIT flag and the same
  seq, then the link is LOST and every waiting command fails.
- STOP and ESTOP are written at once, overtaking the queue and the command outstanding (which is
  still tracked to its end, but a START is never sent again), and repeated every 100 ms until
  acknowledged, whatever the link's state: a stop is never given up (S4). A START accepted while
  a stop is unanswered fails at once: the stop's repeat would reach the pen after it.
- LEASE is written at once and never retransmitted: the next renewal supersedes it. One that gets
  no answer within a try's 100 ms is reported failed.
- A SET_PARAMS echo is compared field by field with what was asked, `params_crc` included; any
  difference writes STOP(HOST_FAULT) at once, fails every command queued behind it unsent, and is
  reported as `EchoMismatch` (S3).
- TELEMETRY and EVENT counter gaps are counted; no TELEMETRY for 3 periods is link loss; an EVENT
  BOOT outside the handshake means the pen lost its state.

Theory of operation: nothing here reads a clock, a port or a thread. The driver tells the core the
time with every call (`now_ns`), writes what `data_to_send()` returns, hands every output of
`take_outputs()` upward, and wakes the core with `advance(now_ns)` at `next_deadline_ns()`. So one
core runs under a real-time I/O thread and under a virtual clock alike, and a test can drive it
byte by byte. The core is not thread-safe; the real-time driver holds one lock around it.
"""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass

from firmware_bridge.clock import NS_PER_MS
from firmware_bridge.link.outputs import (
    CartridgeReported,
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
from firmware_bridge.link.states import LinkState, LinkTrigger, next_state
from firmware_bridge.link.stats import Direction, FrameRecord, LinkStats
from firmware_bridge.protocol import (
    PROTOCOL_VERSION,
    Ack,
    Cartridge,
    DecodeError,
    Decoder,
    Event,
    EventCode,
    Frame,
    Hello,
    Identify,
    Message,
    MessageType,
    Nak,
    NakReason,
    PenState,
    SetParams,
    Start,
    Stop,
    StopReason,
    Telemetry,
    encode,
    params_crc,
)
from firmware_bridge.protocol.framing import FLAG_RETRANSMIT

TRY_NS = 100 * NS_PER_MS  # how long each send waits for its ACK or NAK (§5.1)
RETRANSMISSIONS = 3  # then the link is lost: 4 sends, 400 ms
STOP_REPEAT_NS = 100 * NS_PER_MS
SILENT_PERIODS = 3  # TELEMETRY periods without a frame that make the link lost (§5.5)
SILENCE_MIN_NS = 150 * NS_PER_MS  # but never less: a fast pen's 30 ms is within host jitter
BOOT_WAIT_NS = 3_000 * NS_PER_MS  # how long a pen answering BAD_STATE(BOOTING) may take to start
DEFAULT_TELEMETRY_PERIOD_MS = 50


@dataclass(slots=True)
class _Command:
    command_id: int
    message: Message
    seq: int = -1
    sends: int = 0  # HELLO's is re-armed while the pen boots, so it is not a count of sends
    retransmitted: bool = False  # then it has no round trip (Karn's rule)
    after_stop: bool = False  # a START overtaken by a stop: never sent again
    first_sent_ns: int = 0
    deadline_ns: int = 0


class LinkCore:
    """One pen link's state. See the module docstring for the rules it keeps."""

    def __init__(self, *, first_seq: int = 0, tracing: bool = False) -> None:
        self.state = LinkState.CLOSED
        self.identify: Identify | None = None
        self.cartridge: Cartridge | None = None
        self.last_telemetry: Telemetry | None = None
        self.last_ack: Ack | None = None  # the newest echo of the set in force
        self.stats = LinkStats()
        self._seq = first_seq & 0xFFFF
        self.commands_accepted = 0  # command ids run 1..commands_accepted, each with one outcome
        self._ids = itertools.count(1)
        self._decoder = Decoder()
        self._out = bytearray()
        self._outputs: list[LinkOutput] = []
        self._queue: deque[_Command] = deque()
        self._outstanding: _Command | None = None
        self._stops: dict[int, _Command] = {}
        self._leases: dict[int, _Command] = {}
        self._hello_acked = False
        self._boot_deadline_ns = 0
        self._telemetry_period_ns = DEFAULT_TELEMETRY_PERIOD_MS * NS_PER_MS
        self._silence_deadline_ns: int | None = None
        self._telemetry_next: int | None = None
        self._event_next: int | None = None
        self._traced: list[FrameRecord] | None = [] if tracing else None

    # ---- what the driver calls -----------------------------------------------------------------

    def open(self, now_ns: int) -> int:
        """Send HELLO (first or again): fails what was waiting; returns HELLO's command id.

        A new port may hold a half frame, so the HELLO goes after a lone delimiter (§2).
        """
        self._fail_waiting(now_ns, "the link was opened again; send it again once identified")
        self._decoder = Decoder()
        self.identify = None
        self.last_telemetry = None
        self.last_ack = None
        self._hello_acked = False
        self._boot_deadline_ns = now_ns + BOOT_WAIT_NS
        self._silence_deadline_ns = None
        self._telemetry_next = None
        self._event_next = None
        self._change(LinkTrigger.OPEN, "HELLO sent", now_ns)
        self._out += b"\x00"
        command = self._new(Hello(PROTOCOL_VERSION))
        self._outstanding = command
        self._transmit(command, now_ns)
        return command.command_id

    def send(self, message: Message, now_ns: int) -> int:
        """Accept a command; returns its id, which exactly one outcome will name."""
        if not message.TYPE.from_host:
            raise ValueError(f"{message.TYPE.name} is sent by the pen, not the host")
        if isinstance(message, Hello):
            raise ValueError("HELLO is sent by open(), which resets the link")
        command = self._new(message)
        if message.TYPE in (MessageType.STOP, MessageType.ESTOP):
            self._supersede_stops(message.TYPE, now_ns)
            self._stops_send(command, now_ns)
            self._fail_queued(now_ns, f"a {message.TYPE.name} was sent before it went out")
        elif self.state not in (LinkState.UP, LinkState.HANDSHAKE):
            self._fail(command, self._not_up_why(), now_ns)
        elif message.TYPE is MessageType.START and self._stops:
            why = "a stop is still unanswered and its repeat would stop the needle: start again"
            self._fail(command, f"{why} once the pen acknowledges it", now_ns)
        elif message.TYPE is MessageType.LEASE:
            self._transmit(command, now_ns)
            self._leases[command.seq] = command
        else:
            self._queue.append(command)
            self._send_next(now_ns)
        return command.command_id

    def close(self, now_ns: int) -> None:
        """The host closes the link: whatever is waiting fails, stops included."""
        self._fail_waiting(now_ns, "the link was closed")
        for command in list(self._stops.values()):
            self._fail(command, "the link was closed before the pen acknowledged the stop", now_ns)
        self._stops.clear()
        self._change(LinkTrigger.CLOSE, "closed by the host", now_ns)

    def port_failed(self, why: str, now_ns: int) -> None:
        """The driver's port failed (unplugged, EIO, EOF): the link is lost."""
        self._lose(LinkTrigger.PORT_FAILED, why, now_ns)

    def receive(self, data: bytes, now_ns: int) -> None:
        """Bytes from the pen, with the time they arrived."""
        self.stats.bytes_in += len(data)
        for item in self._decoder.feed(data):
            self._record(FrameRecord(now_ns, Direction.TO_HOST, item))
            if isinstance(item, DecodeError):
                self.stats.receive_errors[item.kind.value] += 1
            else:
                self.stats.frames_in += 1
                self._on_frame(item, now_ns)

    def advance(self, now_ns: int) -> None:
        """The time is now `now_ns`: retransmit, repeat stops, and detect silence as due."""
        command = self._outstanding
        if command is not None and now_ns >= command.deadline_ns:
            self._retry(command, now_ns)
        for stop in list(self._stops.values()):
            if now_ns >= stop.deadline_ns:
                self._retransmit(stop, now_ns, STOP_REPEAT_NS)
        for seq, lease in list(self._leases.items()):
            if now_ns >= lease.deadline_ns:
                del self._leases[seq]
                self.stats.unanswered_leases += 1
                why = "the pen did not answer this LEASE; the next renewal supersedes it"
                self._fail(lease, why, now_ns)
        silence = self._silence_deadline_ns
        if self.state is LinkState.UP and silence is not None and now_ns >= silence:
            periods = self.silence_ns // NS_PER_MS
            self._lose(LinkTrigger.SILENCE, f"no TELEMETRY from the pen for {periods} ms", now_ns)

    def next_deadline_ns(self) -> int | None:
        """When `advance` must next be called, or None when nothing is timed."""
        deadlines = [c.deadline_ns for c in self._stops.values()]
        deadlines += [c.deadline_ns for c in self._leases.values()]
        if self._outstanding is not None:
            deadlines.append(self._outstanding.deadline_ns)
        if self.state is LinkState.UP and self._silence_deadline_ns is not None:
            deadlines.append(self._silence_deadline_ns)
        return min(deadlines) if deadlines else None

    def data_to_send(self) -> bytes:
        """Bytes to write to the port, in order; each call takes them."""
        data = bytes(self._out)
        self._out.clear()
        return data

    def take_traced(self) -> list[FrameRecord]:
        """Frames both ways since the last call, for a trace file (empty unless `tracing`).

        Kept apart from `data_to_send` so a driver writes a stop first and the trace after.
        """
        if not self._traced:
            return []
        traced, self._traced = self._traced, []
        return traced

    def take_outputs(self) -> list[LinkOutput]:
        """Outcomes, reports and state changes since the last call, in the order they happened."""
        outputs, self._outputs = self._outputs, []
        return outputs

    @property
    def busy(self) -> bool:
        """True while a command or a stop waits for the pen."""
        return bool(self._outstanding or self._queue or self._stops or self._leases)

    @property
    def stops_unanswered(self) -> int:
        """STOPs and ESTOPs written and not yet acknowledged (they are being repeated)."""
        return len(self._stops)

    @property
    def telemetry_period_ns(self) -> int:
        return self._telemetry_period_ns

    @property
    def silence_ns(self) -> int:
        """How long without TELEMETRY is link loss: 3 periods, at least 150 ms (§5.5)."""
        return max(SILENT_PERIODS * self._telemetry_period_ns, SILENCE_MIN_NS)

    # ---- sending -------------------------------------------------------------------------------

    def _new(self, message: Message) -> _Command:
        self.commands_accepted += 1
        return _Command(next(self._ids), message)

    def _send_next(self, now_ns: int) -> None:
        if self._outstanding is None and self._queue and self.state is LinkState.UP:
            command = self._queue.popleft()
            self._outstanding = command
            self._transmit(command, now_ns)

    def _supersede_stops(self, kind: MessageType, now_ns: int) -> None:
        """A new ESTOP replaces every stop still repeating, a new STOP the other STOPs (never an
        ESTOP): pressing STOP ten times with no pen must not make ten frames every 100 ms."""
        for seq, older in list(self._stops.items()):
            if kind is MessageType.ESTOP or older.message.TYPE is MessageType.STOP:
                del self._stops[seq]
                why = f"a newer {kind.name} replaced it before the pen acknowledged it"
                self._fail(older, why, now_ns)

    def _stops_send(self, command: _Command, now_ns: int) -> None:
        self._transmit(command, now_ns, STOP_REPEAT_NS)
        self._stops[command.seq] = command
        start = self._outstanding
        if start is not None and isinstance(start.message, Start):
            # S1, S4: a START still unanswered is never sent again after a stop. Had its first
            # send been lost, the retransmission would start the needle after the stop. Its
            # answer may still come (the first send was only slow): it is awaited as before.
            start.after_stop = True

    def _transmit(self, command: _Command, now_ns: int, wait_ns: int = TRY_NS) -> None:
        command.seq = self._seq
        self._seq = (self._seq + 1) & 0xFFFF
        command.sends = 1
        command.first_sent_ns = now_ns
        command.deadline_ns = now_ns + wait_ns
        self._write(command, 0, now_ns)

    def _retransmit(self, command: _Command, now_ns: int, wait_ns: int = TRY_NS) -> None:
        command.sends += 1
        command.retransmitted = True
        command.deadline_ns = now_ns + wait_ns
        self.stats.retransmits += 1
        self._write(command, FLAG_RETRANSMIT, now_ns)

    def _write(self, command: _Command, flags: int, now_ns: int) -> None:
        self._out += encode(command.message, command.seq, flags)
        self.stats.frames_out += 1
        self._record(
            FrameRecord(now_ns, Direction.TO_PEN, Frame(command.seq, command.message, flags))
        )

    def _record(self, record: FrameRecord) -> None:
        self.stats.ring.append(record)
        if self._traced is not None:
            self._traced.append(record)

    def _retry(self, command: _Command, now_ns: int) -> None:
        if command.after_stop:
            self._outstanding = None
            why = "the pen did not answer this START, and a stop was sent since: not sent again"
            self._fail(command, why, now_ns)
            self._send_next(now_ns)
        elif command.sends <= RETRANSMISSIONS:
            self._retransmit(command, now_ns)
        else:
            tries = command.sends
            why = f"the pen did not answer {command.message.TYPE.name} after {tries} tries"
            self._lose(LinkTrigger.NO_ANSWER, f"{why} ({tries * TRY_NS // NS_PER_MS} ms)", now_ns)

    def _write_stop(self, reason: StopReason, now_ns: int) -> None:
        self._stops_send(self._new(Stop(reason)), now_ns)

    # ---- receiving -----------------------------------------------------------------------------

    def _on_frame(self, frame: Frame, now_ns: int) -> None:
        message = frame.message
        if isinstance(message, Telemetry):
            self._on_telemetry(message, now_ns)
        elif isinstance(message, Ack):
            self._on_reply(message.ack_seq, int(message.ack_type), message, now_ns)
        elif isinstance(message, Nak):
            self._on_reply(message.nak_seq, message.nak_type, message, now_ns)
        elif isinstance(message, Event):
            self._on_event(message, now_ns)
        elif isinstance(message, Identify):
            self._on_identify(message, now_ns)
        elif isinstance(message, Cartridge):
            self.cartridge = message
            self._outputs.append(CartridgeReported(message, now_ns))
        else:  # a host's message echoed back at us: count it, never act on it
            self.stats.receive_errors["host_type_from_pen"] += 1

    def _on_reply(self, seq: int, msg_type: int, reply: Ack | Nak, now_ns: int) -> None:
        command = self._stops.get(seq) or self._leases.get(seq)
        if command is None and self._outstanding is not None and self._outstanding.seq == seq:
            command = self._outstanding
        if command is None or int(command.message.TYPE) != msg_type:
            self.stats.stale_replies += 1
            return
        if isinstance(reply, Ack):
            self.last_ack = reply  # only a reply taken as an answer says what is in force
        self._stops.pop(seq, None)
        self._leases.pop(seq, None)
        if isinstance(command.message, Hello):
            self._on_hello_reply(command, reply, now_ns)
            return
        if command is self._outstanding:
            self._outstanding = None
        self._settle(command, reply, now_ns)
        self._send_next(now_ns)

    def _settle(self, command: _Command, reply: Ack | Nak, now_ns: int) -> None:
        if isinstance(reply, Nak):
            self._outputs.append(Refused(command.command_id, command.message, reply, now_ns))
            return
        if isinstance(command.message, SetParams):
            differs = echo_differences(command.message, reply)
            if differs:
                self.stats.echo_mismatches += 1
                self._write_stop(StopReason.HOST_FAULT, now_ns)
                mismatch = EchoMismatch(command.command_id, command.message, reply, differs, now_ns)
                self._outputs.append(mismatch)
                # Nothing queued behind the set may follow the stop: a START naming its version
                # would run the set the pen really applied, not the one asked for (S3).
                for waiting in self._queue:
                    why = "the pen's echo of SET_PARAMS differed, so the needle was stopped (S3)"
                    self._fail(waiting, f"{why}; this was not sent", now_ns)
                self._queue.clear()
                return
        rtt = None if command.retransmitted else now_ns - command.first_sent_ns
        if rtt is not None:
            self.stats.round_trips_ns.append(rtt)
        self._outputs.append(Confirmed(command.command_id, command.message, reply, now_ns, rtt))

    def _on_hello_reply(self, hello: _Command, reply: Ack | Nak, now_ns: int) -> None:
        if isinstance(reply, Ack):
            self._hello_acked = True
            self._telemetry_next = 0  # TELEMETRY's counter starts at 0 after HELLO (§4)
            self._maybe_identified(now_ns)
        elif reply.reason is NakReason.BAD_STATE and reply.detail == PenState.BOOTING:
            # Still starting up: not a lost link, so the retransmission budget is not spent.
            if now_ns < self._boot_deadline_ns:
                hello.sends = 0
        else:
            self._outstanding = None
            self._outputs.append(Refused(hello.command_id, hello.message, reply, now_ns))
            self._change(LinkTrigger.HELLO_REFUSED, hello_refusal(reply), now_ns)
            self._fail_waiting(now_ns, hello_refusal(reply))

    def _on_identify(self, message: Identify, now_ns: int) -> None:
        self.identify = message
        if message.telemetry_period_ms:
            self._telemetry_period_ns = message.telemetry_period_ms * NS_PER_MS
        self._maybe_identified(now_ns)

    def _maybe_identified(self, now_ns: int) -> None:
        hello = self._outstanding
        if (
            self.state is not LinkState.HANDSHAKE
            or hello is None
            or not isinstance(hello.message, Hello)
        ):
            return
        if not (self._hello_acked and self.identify is not None):
            return
        self._outstanding = None
        self._silence_deadline_ns = now_ns + self.silence_ns
        assert self.last_ack is not None
        rtt = None if hello.retransmitted else now_ns - hello.first_sent_ns
        self._outputs.append(Confirmed(hello.command_id, hello.message, self.last_ack, now_ns, rtt))
        self._outputs.append(Identified(self.identify, now_ns))
        model = self.identify.model
        self._change(LinkTrigger.IDENTIFIED, f"{model} {self.identify.serial_number}", now_ns)
        self._send_next(now_ns)

    def _on_telemetry(self, message: Telemetry, now_ns: int) -> None:
        missed = _gap(self._telemetry_next, message.counter, 32)
        self._telemetry_next = (message.counter + 1) & 0xFFFFFFFF
        self.stats.telemetry_gaps += missed
        self.last_telemetry = message
        self._silence_deadline_ns = now_ns + self.silence_ns
        waited = max((now_ns - stop.first_sent_ns for stop in self._stops.values()), default=None)
        self._outputs.append(TelemetryReceived(message, missed, now_ns, waited))

    def _on_event(self, message: Event, now_ns: int) -> None:
        if message.event is EventCode.BOOT:
            self._event_next = None  # the pen's event counter starts again at boot
        missed = _gap(self._event_next, message.event_counter, 16)
        self._event_next = (message.event_counter + 1) & 0xFFFF
        self.stats.event_gaps += missed
        self._outputs.append(PenEventReceived(message, missed, now_ns))
        if message.event is EventCode.BOOT and self.state is LinkState.UP:
            why = "the pen restarted (EVENT BOOT): it has no parameters and no lease"
            self._fail_waiting(now_ns, why)
            self._change(LinkTrigger.UNEXPECTED_BOOT, why, now_ns)

    # ---- failing -------------------------------------------------------------------------------

    def _lose(self, trigger: LinkTrigger, why: str, now_ns: int) -> None:
        if next_state(self.state, trigger) is None:
            return
        self._change(trigger, why, now_ns)
        self._fail_waiting(now_ns, f"the link to the pen is lost: {why}")

    def _fail_waiting(self, now_ns: int, why: str) -> None:
        waiting = [self._outstanding] if self._outstanding is not None else []
        waiting += list(self._queue) + list(self._leases.values())
        self._outstanding = None
        self._queue.clear()
        self._leases.clear()
        for command in waiting:
            self._fail(command, why, now_ns)

    def _fail_queued(self, now_ns: int, why: str) -> None:
        """S4: nothing queued before a stop is written after it (a START must not follow it)."""
        queued = list(self._queue)
        self._queue.clear()
        for command in queued:
            self._fail(command, f"{why}; send it again if it is still wanted", now_ns)

    def _fail(self, command: _Command, why: str, now_ns: int) -> None:
        self._outputs.append(Failed(command.command_id, command.message, why, now_ns))

    def _change(self, trigger: LinkTrigger, why: str, now_ns: int) -> None:
        new = next_state(self.state, trigger)
        if new is None:
            return
        old, self.state = self.state, new
        self._outputs.append(LinkStateChanged(old, new, trigger, why, now_ns))

    def _not_up_why(self) -> str:
        return {
            LinkState.CLOSED: "the link is not open; open it first",
            LinkState.LOST: "the link to the pen is lost; reconnect and confirm everything again",
            LinkState.PEN_REBOOTED: "the pen restarted; reconnect and confirm everything again",
            LinkState.REFUSED: "the pen refused the link; see the HELLO refusal",
        }.get(self.state, f"the link is {self.state.value}")


def echo_differences(asked: SetParams, ack: Ack) -> tuple[str, ...]:
    """S3: the fields in which the pen's echo differs from the set asked for, crc included."""
    differs = [
        name
        for name, want, got in (
            ("param_version", asked.param_version, ack.param_version),
            ("depth_um", asked.depth_um, ack.depth_um),
            ("speed_sps", asked.speed_sps, ack.speed_sps),
        )
        if want != got
    ]
    if ack.params_crc != params_crc(asked.param_version, asked.depth_um, asked.speed_sps):
        differs.append("params_crc")
    return tuple(differs)


def hello_refusal(nak: Nak) -> str:
    if nak.reason is NakReason.VERSION_MISMATCH:
        return (
            f"the pen speaks protocol version {nak.detail} and penctl speaks {PROTOCOL_VERSION}; "
            "nothing was changed on the pen. Update penctl or the pen's firmware so they match"
        )
    return f"the pen refused HELLO ({nak.reason.name}, detail {nak.detail}); nothing was changed"


def _gap(expected: int | None, got: int, bits: int) -> int:
    """Frames lost between the one expected and the one that came (0 for a repeat or reorder)."""
    if expected is None:
        return 0
    distance = (got - expected) & ((1 << bits) - 1)
    return distance if distance < 1 << (bits - 1) else 0
