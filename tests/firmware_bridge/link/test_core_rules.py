"""LinkCore rule by rule, from docs/protocol.md (§2, §3, §5, §7) and the core's module docstring.

The test plays the pen by hand: `FakePen` decodes what the core wrote and answers with frames made
here, at instants written in each test. No thread, no simulator, no clock: the same inputs give the
same bytes and outputs every run. Times start at T0, not 0, so no test passes because time began at
zero. S3, S4 and S5 name the safety invariants a test guards.
"""

from __future__ import annotations

import struct
from binascii import crc_hqx
from typing import Any

import pytest
from cobs import cobs  # an independent COBS implementation: the corrupt frames are built per §2

from firmware_bridge.clock import NS_PER_MS
from firmware_bridge.link.core import LinkCore
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
from firmware_bridge.link.states import LinkState, LinkTrigger
from firmware_bridge.protocol import (
    PROTOCOL_VERSION,
    Ack,
    Cartridge,
    CartridgeState,
    ClearFault,
    Decoder,
    EStop,
    Event,
    EventCode,
    FaultCode,
    Frame,
    GetStatus,
    Hello,
    Identify,
    Lease,
    Message,
    MessageType,
    MotorState,
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

T0 = 5_000 * NS_PER_MS
TRY = 100 * NS_PER_MS  # §5.1: the host waits 100 ms for each answer
SLOW_TELEMETRY_MS = 1_000  # keeps silence (3 periods, §5.5) out of tests about other rules


def ms(value: int) -> int:
    return value * NS_PER_MS


def identify_message(period_ms: int) -> Identify:
    return Identify(
        PROTOCOL_VERSION, 1, 2, 3, "PEN-0001", "TESTPEN", 250, 2500, 50, 50, 150, 10, 100, 1000,
        period_ms, CartridgeState.FRESH,
    )  # fmt: skip


def telemetry(counter: int) -> Telemetry:
    return Telemetry(
        counter, PenState.IDLE, MotorState.STOPPED, 0, 0, 0, 2500, 3900, 80, CartridgeState.FRESH,
        FaultCode.NONE, 0, 0,
    )  # fmt: skip


class FakePen:
    """The pen's end of the wire, played by the test: it reads frames and says what it is told."""

    def __init__(self, core: LinkCore) -> None:
        self.core = core
        self.decoder = Decoder()
        self.heard: list[Frame] = []  # every frame the core ever wrote, in order
        self.seq = 0  # the pen numbers its own frames (§1)
        self.applied = (0, 0, 0)  # version, depth, speed in force (§4 ACK echo)

    def read(self) -> list[Frame]:
        """The frames written since the last read; the core never writes anything undecodable."""
        items = self.decoder.feed(self.core.data_to_send())
        assert all(isinstance(item, Frame) for item in items), items
        self.heard += items
        return items

    def say(self, message: Message, now_ns: int) -> None:
        self.core.receive(encode(message, self.seq), now_ns)
        self.seq = (self.seq + 1) & 0xFFFF

    def ack(self, frame: Frame, now_ns: int) -> None:
        """An honest ACK: a SET_PARAMS is applied as asked and the echo says so (§5.3)."""
        if isinstance(frame.message, SetParams):
            asked = frame.message
            self.applied = (asked.param_version, asked.depth_um, asked.speed_sps)
        self.say(self.echo(frame.seq, frame.message.TYPE, *self.applied), now_ns)

    @staticmethod
    def echo(seq: int, of: MessageType, version: int, depth: int, speed: int, crc: int = -1) -> Ack:
        crc = params_crc(version, depth, speed) if crc < 0 else crc
        return Ack(seq, of, PenState.READY, version, depth, speed, crc, 0)

    def nak(self, frame: Frame, reason: NakReason, now_ns: int, detail: int = 0) -> None:
        self.say(Nak(frame.seq, frame.message.TYPE, reason, detail), now_ns)

    def identify(self, now_ns: int, period_ms: int = SLOW_TELEMETRY_MS) -> Identify:
        message = identify_message(period_ms)
        self.say(message, now_ns)
        return message

    def telemetry(self, counter: int, now_ns: int) -> None:
        self.say(telemetry(counter), now_ns)

    def event(self, counter: int, code: EventCode, now_ns: int) -> None:
        self.say(Event(counter, code, 0), now_ns)


def up(first_seq: int = 0, period_ms: int = SLOW_TELEMETRY_MS) -> tuple[LinkCore, FakePen, int]:
    """A link through its handshake (§3), outputs taken; returns the core, the pen and the time."""
    core = LinkCore(first_seq=first_seq)
    pen = FakePen(core)
    core.open(T0)
    [hello] = pen.read()
    pen.ack(hello, T0 + ms(5))
    pen.identify(T0 + ms(6), period_ms)
    assert core.state is LinkState.UP
    core.take_outputs()
    return core, pen, T0 + ms(6)


def run_until(core: LinkCore, end_ns: int) -> None:
    """What a driver does: wake the core at each of its deadlines up to `end_ns`."""
    while (deadline := core.next_deadline_ns()) is not None and deadline <= end_ns:
        core.advance(deadline)


def only(outputs: list[LinkOutput], kind: type) -> list[Any]:
    return [output for output in outputs if isinstance(output, kind)]


def outcome_ids(outputs: list[LinkOutput]) -> list[tuple[str, int]]:
    """Each command outcome as (kind, command id), in the order reported."""
    kinds = (Confirmed, Refused, Failed, EchoMismatch)
    return [(type(o).__name__, o.command_id) for o in outputs if isinstance(o, kinds)]


def changes(outputs: list[LinkOutput]) -> list[tuple[LinkState, LinkState, LinkTrigger]]:
    return [(c.old, c.new, c.trigger) for c in only(outputs, LinkStateChanged)]


# ---- handshake (§3, §7.9) ----------------------------------------------------------------------


def test_open_writes_a_lone_delimiter_then_hello() -> None:
    """§2: a sender may flush a half-received frame with an extra 0x00; HELLO follows it."""
    core = LinkCore()
    core.open(T0)
    assert core.data_to_send() == b"\x00" + encode(Hello(PROTOCOL_VERSION), 0)
    assert core.state is LinkState.HANDSHAKE
    assert changes(core.take_outputs()) == [
        (LinkState.CLOSED, LinkState.HANDSHAKE, LinkTrigger.OPEN)
    ]


def test_ack_and_identify_bring_the_link_up_and_confirm_the_hello() -> None:
    core = LinkCore()
    pen = FakePen(core)
    hello_id = core.open(T0)
    [hello] = pen.read()
    waiting = core.send(SetParams(1, 500, 100), T0 + ms(1))  # waits for the handshake
    core.take_outputs()
    assert pen.read() == []

    pen.ack(hello, T0 + ms(5))
    assert core.state is LinkState.HANDSHAKE  # an ACK alone is not enough: IDENTIFY says who
    assert core.take_outputs() == []

    identify = pen.identify(T0 + ms(6))
    outputs = core.take_outputs()
    assert [type(o) for o in outputs] == [Confirmed, Identified, LinkStateChanged]
    assert (outputs[0].command_id, outputs[0].message) == (hello_id, Hello(PROTOCOL_VERSION))
    assert outputs[1].identify == identify
    assert changes(outputs) == [(LinkState.HANDSHAKE, LinkState.UP, LinkTrigger.IDENTIFIED)]
    assert core.state is LinkState.UP and core.identify == identify
    [sent] = pen.read()  # the command that waited goes out as soon as the link is up
    assert sent.message == SetParams(1, 500, 100) and sent.seq == 1

    cartridge = Cartridge(CartridgeState.FRESH, "CART-0001", "LOT-7", 12, 2500, 20301231)
    pen.say(cartridge, T0 + ms(7))
    pen.ack(sent, T0 + ms(8))
    reported, confirmed = core.take_outputs()
    assert reported == CartridgeReported(cartridge, T0 + ms(7)) and core.cartridge == cartridge
    assert isinstance(confirmed, Confirmed) and confirmed.command_id == waiting


def test_a_booting_pen_gets_hello_every_100ms_without_spending_the_budget() -> None:
    """§7.9: NAK BAD_STATE(BOOTING) is an answer, not silence; the host retries until it boots.

    25 tries (2.5 s) is far past the 3 retransmissions that would make a silent pen link loss.
    """
    core = LinkCore()
    pen = FakePen(core)
    core.open(T0)
    [hello] = pen.read()
    sent_at = T0
    for _ in range(25):
        pen.nak(hello, NakReason.BAD_STATE, sent_at + ms(2), detail=PenState.BOOTING)
        core.advance(sent_at + TRY - 1)
        assert pen.read() == []
        sent_at += TRY
        assert core.next_deadline_ns() == sent_at
        core.advance(sent_at)
        [again] = pen.read()
        assert (again.seq, again.message, again.flags) == (0, Hello(1), FLAG_RETRANSMIT)
        assert core.state is LinkState.HANDSHAKE
    pen.ack(again, sent_at + ms(3))
    pen.identify(sent_at + ms(4))
    outputs = core.take_outputs()
    assert core.state is LinkState.UP
    assert not only(outputs, Failed) and not only(outputs, Refused)
    assert changes(outputs) == [
        (LinkState.CLOSED, LinkState.HANDSHAKE, LinkTrigger.OPEN),
        (LinkState.HANDSHAKE, LinkState.UP, LinkTrigger.IDENTIFIED),
    ]


def test_hello_retried_through_the_boot_reports_no_round_trip() -> None:
    """Karn's rule (outputs.Confirmed): a command that was retransmitted has no round trip.

    BUG found by this suite (fixed in a later commit): the boot wait re-armed HELLO's budget
    by zeroing its send count, so a HELLO sent 4 times looked sent once and its Confirmed carried
    the time since the FIRST send (300 ms here) as a round trip.
    """
    core = LinkCore()
    pen = FakePen(core)
    core.open(T0)
    [hello] = pen.read()
    for k in range(1, 4):
        pen.nak(hello, NakReason.BAD_STATE, T0 + k * TRY - ms(90), detail=PenState.BOOTING)
        core.advance(T0 + k * TRY)
        [hello] = pen.read()
    pen.ack(hello, T0 + 3 * TRY + ms(4))
    pen.identify(T0 + 3 * TRY + ms(5))
    [confirmed] = only(core.take_outputs(), Confirmed)
    assert confirmed.round_trip_ns is None


def test_a_pen_still_booting_after_3_s_is_link_loss() -> None:
    """The core's own bound on the boot wait (BOOT_WAIT_NS, 3 s; the spec sets none).

    Boundary found: a BOOTING NAK re-arms the budget only while now < open + 3 s. The HELLO sent
    at +3.0 s is NAKed too late, so its 3 retransmissions (+3.1, +3.2, +3.3 s) run out and the link
    is lost at +3.4 s, with trigger NO_ANSWER.
    """
    core = LinkCore()
    pen = FakePen(core)
    core.open(T0)
    [hello] = pen.read()
    now = T0
    while core.state is LinkState.HANDSHAKE:
        assert now < T0 + ms(10_000), "the boot wait never ends"
        pen.nak(hello, NakReason.BAD_STATE, now + ms(1), detail=PenState.BOOTING)
        now = core.next_deadline_ns()
        core.advance(now)
        hello = (pen.read() or [hello])[0]
    assert core.state is LinkState.LOST
    assert now == T0 + ms(3_400)
    assert changes(core.take_outputs())[-1] == (
        LinkState.HANDSHAKE, LinkState.LOST, LinkTrigger.NO_ANSWER
    )  # fmt: skip


def test_version_mismatch_refuses_the_link_naming_both_versions() -> None:
    core = LinkCore()
    pen = FakePen(core)
    hello_id = core.open(T0)
    [hello] = pen.read()
    waiting = core.send(SetParams(1, 500, 100), T0 + ms(1))
    core.take_outputs()

    pen.nak(hello, NakReason.VERSION_MISMATCH, T0 + ms(4), detail=2)
    outputs = core.take_outputs()
    assert core.state is LinkState.REFUSED
    assert outcome_ids(outputs) == [("Refused", hello_id), ("Failed", waiting)]
    [change] = only(outputs, LinkStateChanged)
    assert change.trigger is LinkTrigger.HELLO_REFUSED
    assert "protocol version 2" in change.why and f"penctl speaks {PROTOCOL_VERSION}" in change.why
    core.advance(T0 + ms(2_000))
    assert pen.read() == [] and core.next_deadline_ns() is None  # no HELLO after a refusal


def test_a_reply_in_another_protocol_version_is_counted_and_never_acted_on() -> None:
    """§5.4 has the pen answer a wrong_version frame 'in the pen's version'; the host cannot read
    such a frame (§2.1 check 7), so it counts it as wrong_version and neither refuses nor raises
    the link on it. (Spec gap, see the report: a newer pen's refusal shows up as no answer.)"""
    core = LinkCore()
    pen = FakePen(core)
    core.open(T0)
    [hello] = pen.read()
    nak = Nak(hello.seq, MessageType.HELLO, NakReason.VERSION_MISMATCH, 2)
    core.receive(raw_frame(MessageType.NAK, nak.pack(), version=2), T0 + ms(3))
    assert core.stats.receive_errors == {"wrong_version": 1}
    assert core.state is LinkState.HANDSHAKE
    assert only(core.take_outputs(), Refused) == []


# ---- one command at a time, retransmission, link loss (§5.1) -----------------------------------


def test_one_command_outstanding_the_rest_wait_in_order() -> None:
    core, pen, now = up()
    messages = [SetParams(1, 500, 100), Start(1), GetStatus(), ClearFault(FaultCode.ESTOP)]
    ids = [core.send(message, now) for message in messages]
    for k, message in enumerate(messages):
        [frame] = pen.read()  # exactly one on the wire at a time
        assert (frame.message, frame.seq, frame.flags) == (message, k + 1, 0)
        pen.ack(frame, now + ms(k + 1))
    assert pen.read() == []
    assert outcome_ids(core.take_outputs()) == [("Confirmed", i) for i in ids]


def test_three_retransmissions_same_seq_then_lost_and_every_waiting_command_fails() -> None:
    """§5.1: 4 sends, 100 ms each, then link loss; no command is silently lost (outputs.py)."""
    core, pen, now = up()
    ids = [core.send(m, now) for m in (SetParams(1, 500, 100), Start(1), GetStatus())]
    [first] = pen.read()
    assert first.flags == 0
    for k in (1, 2, 3):
        core.advance(now + k * TRY - 1)
        assert pen.read() == []
        core.advance(now + k * TRY)
        [again] = pen.read()
        assert (again.seq, again.message, again.flags) == (
            first.seq,
            first.message,
            FLAG_RETRANSMIT,
        )
    lease = core.send(Lease(300), now + 3 * TRY + ms(50))  # unanswered when the link is lost
    pen.read()
    core.take_outputs()
    core.advance(now + 4 * TRY - 1)
    assert core.state is LinkState.UP and core.take_outputs() == []

    core.advance(now + 4 * TRY)
    outputs = core.take_outputs()
    assert core.state is LinkState.LOST
    assert changes(outputs) == [(LinkState.UP, LinkState.LOST, LinkTrigger.NO_ANSWER)]
    assert outcome_ids(outputs) == [("Failed", i) for i in (*ids, lease)]
    assert all("lost" in failed.why for failed in only(outputs, Failed))
    assert core.stats.retransmits == 3
    assert pen.read() == [] and core.next_deadline_ns() is None


def test_sequence_numbers_wrap_from_65535_to_0() -> None:
    """§2: seq rises by one per frame and wraps to 0; a retransmission keeps its seq."""
    core, pen, now = up(first_seq=65534)
    assert pen.heard[0].seq == 65534  # HELLO
    ids = [core.send(m, now) for m in (SetParams(1, 500, 100), Start(1), GetStatus())]
    [a] = pen.read()
    core.advance(now + TRY)
    [a_again] = pen.read()
    pen.ack(a_again, now + TRY + ms(1))
    [b] = pen.read()
    pen.ack(b, now + TRY + ms(2))
    [c] = pen.read()
    pen.ack(c, now + TRY + ms(3))
    assert [a.seq, a_again.seq, b.seq, c.seq] == [65535, 65535, 0, 1]
    assert outcome_ids(core.take_outputs()) == [("Confirmed", i) for i in ids]


# ---- STOP and ESTOP (§5.1, §5.2, S4) -----------------------------------------------------------

STOPS = [Stop(StopReason.OPERATOR), EStop(StopReason.ESTOP)]


@pytest.mark.parametrize("stop", STOPS, ids=["STOP", "ESTOP"])
def test_stop_overtakes_the_queue_and_the_outstanding_command_S4(stop: Message) -> None:
    """Written in the same call, ahead of the queue; the outstanding SET_PARAMS is still tracked."""
    core, pen, now = up()
    set_id = core.send(SetParams(1, 500, 100), now)
    [set_frame] = pen.read()
    start_id = core.send(Start(1), now)
    assert pen.read() == []  # START waits behind SET_PARAMS

    stop_id = core.send(stop, now + ms(1))
    [stop_frame] = pen.read()
    assert (stop_frame.message, stop_frame.seq, stop_frame.flags) == (stop, set_frame.seq + 1, 0)

    pen.ack(set_frame, now + ms(3))  # the command the stop overtook still gets its outcome
    pen.ack(stop_frame, now + ms(4))
    assert outcome_ids(core.take_outputs()) == [
        ("Failed", start_id),  # the stop cancelled what was queued behind (see below)
        ("Confirmed", set_id),
        ("Confirmed", stop_id),
    ]
    assert pen.read() == []


@pytest.mark.parametrize("stop", STOPS, ids=["STOP", "ESTOP"])
def test_a_stop_is_repeated_every_100ms_until_acknowledged_without_limit_S4(stop: Message) -> None:
    core, pen, now = up()
    stop_id = core.send(stop, now)
    [first] = pen.read()
    for k in range(1, 21):
        core.advance(now + k * TRY - 1)
        assert pen.read() == []
        core.advance(now + k * TRY)
        [again] = pen.read()
        assert (again.seq, again.message, again.flags) == (first.seq, stop, FLAG_RETRANSMIT)
    assert core.take_outputs() == [] and core.state is LinkState.UP

    pen.ack(again, now + 20 * TRY + ms(2))
    [confirmed] = core.take_outputs()
    assert confirmed.command_id == stop_id and isinstance(confirmed, Confirmed)
    assert confirmed.round_trip_ns is None  # it was repeated
    core.advance(now + 25 * TRY)
    assert pen.read() == []


@pytest.mark.parametrize("stop", STOPS, ids=["STOP", "ESTOP"])
def test_a_stop_outlives_the_link_and_is_written_when_lost_S4(stop: Message) -> None:
    """A stop is never given up: it repeats after the link is lost, and is sent while lost; a
    newer one of the same kind replaces it (one frame every 100 ms, not one per press)."""
    core, pen, now = up()
    before = core.send(stop, now)
    [pending] = pen.read()
    core.port_failed("EIO", now + ms(10))
    assert core.state is LinkState.LOST
    after = core.send(stop, now + ms(20))
    [written] = pen.read()
    assert written.message == stop and written.seq == pending.seq + 1
    [replaced] = only(core.take_outputs(), Failed)
    assert replaced.command_id == before and "replaced" in replaced.why
    for k in range(1, 21):
        core.advance(now + k * TRY + ms(20))
        assert [f.seq for f in pen.read()] == [written.seq]
    pen.ack(written, now + ms(2_101))
    assert outcome_ids(core.take_outputs()) == [("Confirmed", after)]


def test_s4_an_estop_replaces_a_repeating_stop_but_a_stop_never_replaces_an_estop() -> None:
    core, pen, now = up()
    estop_id = core.send(EStop(StopReason.ESTOP), now)
    pen.read()
    stop_id = core.send(Stop(StopReason.OPERATOR), now + ms(1))
    pen.read()
    assert only(core.take_outputs(), Failed) == []  # both keep repeating
    core.advance(now + TRY + ms(1))
    assert sorted(f.message.TYPE.name for f in pen.read()) == ["ESTOP", "STOP"]
    core.send(EStop(StopReason.ESTOP), now + ms(150))
    failed = {f.command_id for f in only(core.take_outputs(), Failed)}
    assert failed == {estop_id, stop_id}


def test_s4_a_stop_cancels_what_was_queued_before_it() -> None:
    """S4: a START waiting behind SET_PARAMS when the operator stops is never written after the
    STOP; it fails with a reason, and SET_PARAMS, already on the wire, is tracked to its end."""
    core, pen, now = up()
    set_id = core.send(SetParams(1, 500, 100), now)
    [set_frame] = pen.read()
    start_id = core.send(Start(1), now)
    core.send(Stop(StopReason.OPERATOR), now + ms(1))
    [stop_frame] = pen.read()
    pen.ack(set_frame, now + ms(3))
    pen.ack(stop_frame, now + ms(4))
    assert pen.read() == []
    outcomes = {o.command_id: o for o in core.take_outputs() if hasattr(o, "command_id")}
    assert isinstance(outcomes[start_id], Failed)
    assert "STOP was sent before it went out" in outcomes[start_id].why
    assert isinstance(outcomes[set_id], Confirmed)


def test_s1_a_start_unanswered_when_a_stop_goes_is_never_sent_again() -> None:
    """S1: had START's first send been lost, its retransmission would reach the pen after the
    operator's STOP and start the needle just stopped. It gets its one try's wait, then fails."""
    core, pen, now = up()
    start_id = core.send(Start(1), now)
    [_lost] = pen.read()  # START, lost on the wire: the pen never hears it
    core.send(Stop(StopReason.OPERATOR), now + ms(10))
    [stop_frame] = pen.read()
    pen.ack(stop_frame, now + ms(12))
    run_until(core, now + 5 * TRY)
    assert pen.read() == []  # no START again
    outcomes = {o.command_id: o for o in core.take_outputs() if hasattr(o, "command_id")}
    assert isinstance(outcomes[start_id], Failed)
    assert "not sent again" in outcomes[start_id].why
    assert core.state is LinkState.UP


@pytest.mark.parametrize("stop", STOPS, ids=["STOP", "ESTOP"])
def test_s1_a_start_while_a_stop_is_unanswered_fails_at_once_and_is_never_written(
    stop: Message,
) -> None:
    """S1: the pen executes a repeated stop again (§5.2), so a START written while a stop is
    still repeating would be stopped by the stop's next repeat: the needle would run for up to
    100 ms and stop for a reason the operator gave before starting it. Once the pen acknowledges
    the stop, START goes."""
    core, pen, now = up()
    core.send(stop, now)
    [_unacknowledged] = pen.read()  # its ACK is lost on the way back
    start_id = core.send(Start(1), now + ms(50))
    assert pen.read() == []
    [failed] = only(core.take_outputs(), Failed)
    assert (failed.command_id, failed.at_ns) == (start_id, now + ms(50))
    assert failed.why == (
        "a stop is still unanswered and its repeat would stop the needle: start again once the "
        "pen acknowledges it"
    )

    core.advance(now + TRY)
    [again] = pen.read()
    pen.ack(again, now + TRY + ms(2))
    core.take_outputs()
    later = core.send(Start(1), now + TRY + ms(10))
    [start_frame] = pen.read()
    assert start_frame.message == Start(1)
    pen.ack(start_frame, now + TRY + ms(12))
    assert outcome_ids(core.take_outputs()) == [("Confirmed", later)]


def test_a_start_overtaken_by_a_stop_is_still_confirmed_if_its_answer_comes() -> None:
    """Its first send was only slow: the pen started then stopped, and both are confirmed."""
    core, pen, now = up()
    start_id = core.send(Start(1), now)
    [start_frame] = pen.read()
    stop_id = core.send(Stop(StopReason.OPERATOR), now + ms(10))
    [stop_frame] = pen.read()
    pen.ack(start_frame, now + ms(20))
    pen.ack(stop_frame, now + ms(21))
    assert outcome_ids(core.take_outputs()) == [("Confirmed", start_id), ("Confirmed", stop_id)]
    run_until(core, now + 5 * TRY)
    assert pen.read() == []


# ---- LEASE (§5.1) ------------------------------------------------------------------------------


def test_lease_is_written_at_once_and_never_retransmitted() -> None:
    """The next renewal supersedes a lost LEASE; its missing answer is reported after 100 ms."""
    core, pen, now = up()
    core.send(SetParams(1, 500, 100), now)
    [set_frame] = pen.read()
    lease_id = core.send(Lease(300), now + ms(1))
    [lease_frame] = pen.read()  # not queued behind the outstanding SET_PARAMS
    assert (lease_frame.message, lease_frame.flags) == (Lease(300), 0)
    pen.ack(set_frame, now + ms(2))
    core.take_outputs()

    core.advance(now + ms(1) + TRY - 1)
    assert core.take_outputs() == []
    for step in range(100):  # a second of driver wake-ups, far past 100 ms
        core.advance(now + ms(1) + TRY + ms(10) * step)
    assert [f for f in pen.heard if f.message.TYPE is MessageType.LEASE] == [lease_frame]
    [failed] = core.take_outputs()
    assert isinstance(failed, Failed) and failed.command_id == lease_id
    assert failed.at_ns == now + ms(1) + TRY
    assert core.stats.unanswered_leases == 1
    assert core.state is LinkState.UP  # an unanswered LEASE is not link loss


def test_an_answered_lease_is_confirmed() -> None:
    core, pen, now = up()
    lease_id = core.send(Lease(300), now)
    [lease_frame] = pen.read()
    pen.ack(lease_frame, now + ms(3))
    assert outcome_ids(core.take_outputs()) == [("Confirmed", lease_id)]
    core.advance(now + ms(500))
    assert core.take_outputs() == [] and core.stats.unanswered_leases == 0


# ---- SET_PARAMS echo (§5.3, S3) ----------------------------------------------------------------

ASKED = SetParams(7, 500, 100)
MISMATCHES = {
    # an honest pen that applied something else: the field and the crc both differ
    "depth": ((7, 550, 100, -1), ("depth_um", "params_crc")),
    "speed": ((7, 500, 120, -1), ("speed_sps", "params_crc")),
    "version": ((6, 500, 100, -1), ("param_version", "params_crc")),
    # a pen that echoes the fields but not their checksum
    "params_crc alone": ((7, 500, 100, params_crc(7, 500, 100) ^ 0x0001), ("params_crc",)),
    # a pen whose crc covers the set asked for but whose depth field says otherwise
    "depth alone": ((7, 550, 100, params_crc(7, 500, 100)), ("depth_um",)),
}


@pytest.mark.parametrize(("echo", "differs"), MISMATCHES.values(), ids=MISMATCHES.keys())
def test_an_echo_mismatch_stops_the_needle_in_the_same_call_S3(
    echo: tuple[int, int, int, int], differs: tuple[str, ...]
) -> None:
    core, pen, now = up()
    set_id = core.send(ASKED, now)
    [set_frame] = pen.read()
    pen.say(pen.echo(set_frame.seq, MessageType.SET_PARAMS, *echo), now + ms(3))
    [stop] = pen.read()  # written by the very receive() that saw the echo
    assert (stop.message, stop.flags) == (Stop(StopReason.HOST_FAULT), 0)
    [outcome] = core.take_outputs()
    assert isinstance(outcome, EchoMismatch)
    assert (outcome.command_id, outcome.asked, outcome.fields) == (set_id, ASKED, differs)
    assert core.stats.echo_mismatches == 1
    core.advance(now + ms(3) + TRY)
    [repeated] = pen.read()  # the HOST_FAULT stop is a stop like any other (S4)
    assert (repeated.seq, repeated.flags) == (stop.seq, FLAG_RETRANSMIT)


def test_an_echo_mismatch_sends_nothing_that_was_waiting_S3() -> None:
    """§5.3: 'START names the version, so the motor only ever runs a set the host has seen echoed'.

    BUG found by this suite (fixed in a later commit): a START(7) queued behind SET_PARAMS(7) was
    written in the same call as STOP(HOST_FAULT), right after it; the pen, holding version 7 at
    the wrong depth, would execute the STOP and then run the wrong set.
    """
    core, pen, now = up()
    core.send(ASKED, now)
    [set_frame] = pen.read()
    start_id = core.send(Start(7), now + ms(1))
    pen.say(pen.echo(set_frame.seq, MessageType.SET_PARAMS, 7, 550, 100), now + ms(3))
    assert [f.message for f in pen.read()] == [Stop(StopReason.HOST_FAULT)]
    mismatch, failed = core.take_outputs()
    assert isinstance(mismatch, EchoMismatch)
    assert isinstance(failed, Failed) and failed.command_id == start_id


def test_a_matching_echo_is_confirmed_and_stops_nothing_S3() -> None:
    core, pen, now = up()
    set_id = core.send(ASKED, now)
    [set_frame] = pen.read()
    pen.ack(set_frame, now + ms(3))
    [outcome] = core.take_outputs()
    assert isinstance(outcome, Confirmed) and outcome.command_id == set_id
    assert outcome.ack.params_crc == params_crc(7, 500, 100)
    assert outcome.round_trip_ns == ms(3)
    assert pen.read() == [] and core.stats.echo_mismatches == 0


# ---- counters (§4 TELEMETRY and EVENT, §5.5) ---------------------------------------------------


def test_telemetry_counter_gaps_are_counted() -> None:
    core, pen, now = up()
    for k, counter in enumerate([0, 1, 2, 5, 6, 10]):
        pen.telemetry(counter, now + ms(k))
    missed = [o.missed for o in only(core.take_outputs(), TelemetryReceived)]
    assert missed == [0, 0, 0, 2, 0, 3]
    assert core.stats.telemetry_gaps == 5


def test_s1_telemetry_says_how_long_our_oldest_unanswered_stop_has_waited() -> None:
    """A frame the pen sent before it saw our stop may show the needle turning: the controller
    needs to know a stop was on its way when the frame came, and for how long (S1)."""
    core, pen, now = up()
    pen.telemetry(0, now + ms(1))
    core.send(Stop(StopReason.HOST_FAULT), now + ms(2))
    assert [frame.message for frame in pen.read()] == [Stop(StopReason.HOST_FAULT)]
    pen.telemetry(1, now + ms(5))
    core.send(EStop(StopReason.ESTOP), now + ms(6))  # replaces the STOP: it waits from now on
    [estop] = pen.read()
    pen.telemetry(2, now + ms(9))
    pen.ack(estop, now + ms(10))
    pen.telemetry(3, now + ms(12))
    waited = [o.stop_waited_ns for o in only(core.take_outputs(), TelemetryReceived)]
    assert waited == [None, ms(3), ms(3), None]


def test_telemetry_lost_right_after_hello_is_counted() -> None:
    """§4: 'counter starts at 0 after HELLO ... so the host counts gaps exactly'.

    BUG found by this suite (fixed in a later commit): the host took the first counter it saw
    as the start, so TELEMETRY 0 and 1 lost right after the handshake were never counted.
    """
    core, pen, now = up()
    pen.telemetry(2, now + ms(100))
    [received] = only(core.take_outputs(), TelemetryReceived)
    assert received.missed == 2 and core.stats.telemetry_gaps == 2


def test_the_32_bit_telemetry_counter_wrap_is_not_a_gap() -> None:
    core, pen, now = up()
    counters = [0xFFFFFFFE, 0xFFFFFFFF, 0, 1, 4]
    for k, counter in enumerate(counters):
        pen.telemetry(counter, now + ms(k))
    missed = [o.missed for o in only(core.take_outputs(), TelemetryReceived)]
    assert missed == [0, 0, 0, 0, 2]


def test_event_counter_gaps_are_counted_and_the_16_bit_wrap_is_not_one() -> None:
    core, pen, now = up()
    counters = [65533, 65534, 65535, 0, 1, 4, 65534, 1]
    for k, counter in enumerate(counters):
        pen.event(counter, EventCode.CARTRIDGE_INSERTED, now + ms(k))
    events = only(core.take_outputs(), PenEventReceived)
    # the first sets the count (events run from 0 at boot, not at HELLO); 65535 -> 0 is no gap;
    # 1 -> 4 misses 2; 4 -> 65534 is behind (no gap); 65534 -> 1 misses 65535 and 0
    assert [e.missed for e in events] == [0, 0, 0, 0, 0, 2, 0, 2]
    assert core.stats.event_gaps == 4


# ---- silence (§5.5) ----------------------------------------------------------------------------


@pytest.mark.parametrize("period_ms", [10, 20, 50, 200])
def test_three_telemetry_periods_of_silence_is_link_loss(period_ms: int) -> None:
    """LOST exactly 3 periods after the last TELEMETRY, never less than 150 ms (link.md §2: a
    10 ms pen's 30 ms is within host jitter), and not one ns before: the instant the 3rd missing
    frame is due."""
    core, pen, now = up(period_ms=period_ms)
    last = now + ms(period_ms)
    pen.telemetry(0, last)
    silence_ms = max(3 * period_ms, 150)
    silent_at = last + ms(silence_ms)
    assert core.next_deadline_ns() == silent_at
    pen.event(0, EventCode.CARTRIDGE_INSERTED, last + ms(period_ms))  # not TELEMETRY: no help
    set_id = core.send(SetParams(1, 500, 100), silent_at - ms(10))
    pen.read()
    core.take_outputs()
    core.advance(silent_at - 1)
    assert core.state is LinkState.UP and core.take_outputs() == []

    core.advance(silent_at)
    outputs = core.take_outputs()
    assert core.state is LinkState.LOST
    [change] = only(outputs, LinkStateChanged)
    assert change.trigger is LinkTrigger.SILENCE
    assert f"{silence_ms} ms" in change.why
    assert outcome_ids(outputs) == [("Failed", set_id)]


def test_silence_is_counted_from_identification_when_no_telemetry_comes() -> None:
    core, _, now = up(period_ms=50)
    assert core.next_deadline_ns() == now + ms(150)
    core.advance(now + ms(149))
    assert core.state is LinkState.UP
    core.advance(now + ms(150))
    assert core.state is LinkState.LOST


def test_telemetry_on_time_keeps_the_link_up() -> None:
    core, pen, now = up(period_ms=50)
    for counter in range(40):  # two seconds
        at = now + ms(50) * (counter + 1)
        core.advance(at)
        pen.telemetry(counter, at)
    assert core.state is LinkState.UP and core.stats.telemetry_gaps == 0


# ---- the pen's reboot (§7.9) -------------------------------------------------------------------


def test_an_unexpected_boot_while_up_means_the_pen_rebooted_and_waiting_commands_fail() -> None:
    core, pen, now = up()
    ids = [core.send(m, now) for m in (SetParams(1, 500, 100), Start(1), Lease(300))]
    stop_id = core.send(Stop(StopReason.OPERATOR), now)
    pen.read()
    pen.event(0, EventCode.BOOT, now + ms(10))
    outputs = core.take_outputs()
    assert core.state is LinkState.PEN_REBOOTED
    assert changes(outputs) == [(LinkState.UP, LinkState.PEN_REBOOTED, LinkTrigger.UNEXPECTED_BOOT)]
    assert sorted(outcome_ids(outputs)) == [("Failed", i) for i in ids]  # the stop failed START
    assert only(outputs, PenEventReceived)[0].event.event is EventCode.BOOT
    later = core.send(Start(1), now + ms(20))
    [failed] = core.take_outputs()
    assert failed.command_id == later and "reconnect" in failed.why
    core.advance(now + TRY)
    [stop] = pen.read()  # the stop is not one of the failed: it keeps going (S4)
    assert stop.message == Stop(StopReason.OPERATOR)
    pen.ack(stop, now + TRY + ms(2))
    assert outcome_ids(core.take_outputs()) == [("Confirmed", stop_id)]


def test_boot_during_the_handshake_is_expected() -> None:
    core = LinkCore()
    pen = FakePen(core)
    core.open(T0)
    [hello] = pen.read()
    pen.event(0, EventCode.BOOT, T0 + ms(1))
    pen.nak(hello, NakReason.BAD_STATE, T0 + ms(2), detail=PenState.BOOTING)
    core.advance(T0 + TRY)
    [hello] = pen.read()
    pen.ack(hello, T0 + TRY + ms(1))
    pen.identify(T0 + TRY + ms(2))
    outputs = core.take_outputs()
    assert core.state is LinkState.UP
    assert not only(outputs, Failed)
    assert LinkTrigger.UNEXPECTED_BOOT not in [c[2] for c in changes(outputs)]


# ---- replies that are not the answer (§5.1, §5.2) ----------------------------------------------


def test_a_command_answered_twice_has_one_outcome_and_a_stale_reply() -> None:
    """The pen answers a retransmission from memory (§5.2): the second ACK is counted, not used."""
    core, pen, now = up()
    set_id = core.send(SetParams(1, 500, 100), now)
    start_id = core.send(Start(1), now)
    [set_frame] = pen.read()
    core.advance(now + TRY)
    [set_again] = pen.read()
    pen.ack(set_frame, now + TRY + ms(2))  # the first send's answer, late
    [start_frame] = pen.read()
    pen.ack(set_again, now + TRY + ms(3))  # the retransmission's answer
    outputs = core.take_outputs()
    assert outcome_ids(outputs) == [("Confirmed", set_id)]
    assert outputs[0].round_trip_ns is None  # Karn's rule: it was retransmitted
    assert core.stats.stale_replies == 1
    pen.ack(start_frame, now + TRY + ms(4))  # START still gets its own answer
    assert outcome_ids(core.take_outputs()) == [("Confirmed", start_id)]


@pytest.mark.parametrize("reply", ["ack", "nak"])
def test_a_reply_naming_another_type_is_not_the_answer(reply: str) -> None:
    core, pen, now = up()
    set_id = core.send(SetParams(1, 500, 100), now)
    [set_frame] = pen.read()
    if reply == "ack":
        pen.say(pen.echo(set_frame.seq, MessageType.START, 1, 500, 100), now + ms(2))
    else:
        pen.say(Nak(set_frame.seq, MessageType.START, NakReason.NO_PARAMS, 0), now + ms(2))
    assert core.take_outputs() == [] and core.stats.stale_replies == 1
    core.advance(now + TRY)
    [again] = pen.read()  # still waiting for its own answer
    assert (again.seq, again.flags) == (set_frame.seq, FLAG_RETRANSMIT)
    pen.ack(again, now + TRY + ms(2))
    assert outcome_ids(core.take_outputs()) == [("Confirmed", set_id)]


def test_a_nak_is_the_refusal_of_its_command() -> None:
    core, pen, now = up()
    set_id = core.send(SetParams(1, 5000, 100), now)
    start_id = core.send(Start(1), now)
    [set_frame] = pen.read()
    pen.nak(set_frame, NakReason.DEPTH_OUT_OF_RANGE, now + ms(2), detail=2500)
    [refused] = core.take_outputs()
    assert isinstance(refused, Refused) and refused.command_id == set_id
    assert refused.nak.reason is NakReason.DEPTH_OUT_OF_RANGE
    [start_frame] = pen.read()  # the queue moves on; the pen, not the link, refuses the START
    pen.nak(start_frame, NakReason.NO_PARAMS, now + ms(3))
    assert outcome_ids(core.take_outputs()) == [("Refused", start_id)]
    assert pen.read() == [] and core.stats.echo_mismatches == 0  # a NAK stops nothing


# ---- timers ------------------------------------------------------------------------------------


def test_next_deadline_is_always_the_earliest_pending_timer() -> None:
    core = LinkCore()
    pen = FakePen(core)
    assert core.next_deadline_ns() is None  # closed: nothing is timed
    core.open(T0)
    [hello] = pen.read()
    assert core.next_deadline_ns() == T0 + TRY  # HELLO's try
    pen.ack(hello, T0 + ms(5))
    pen.identify(T0 + ms(6), period_ms=50)
    silence = T0 + ms(6 + 150)
    assert core.next_deadline_ns() == silence

    core.send(SetParams(1, 500, 100), T0 + ms(10))  # try ends at +110
    core.send(Lease(300), T0 + ms(20))  # no answer by +120
    core.send(Stop(StopReason.OPERATOR), T0 + ms(30))  # repeat at +130
    set_frame, _, stop_frame = pen.read()
    assert core.next_deadline_ns() == T0 + ms(110)
    pen.ack(set_frame, T0 + ms(40))
    assert core.next_deadline_ns() == T0 + ms(120)
    core.advance(T0 + ms(120))  # the LEASE is reported unanswered
    assert core.next_deadline_ns() == T0 + ms(130)
    core.advance(T0 + ms(130))  # the STOP is repeated; next repeat at +230
    [repeat] = pen.read()
    assert repeat.seq == stop_frame.seq
    assert core.next_deadline_ns() == silence
    pen.telemetry(0, T0 + ms(140))  # silence moves to +290
    assert core.next_deadline_ns() == T0 + ms(230)
    pen.ack(stop_frame, T0 + ms(150))
    assert core.next_deadline_ns() == T0 + ms(290)
    core.advance(T0 + ms(289))
    assert pen.read() == [] and core.state is LinkState.UP
    core.port_failed("unplugged", T0 + ms(289))
    assert core.next_deadline_ns() is None  # lost, nothing outstanding: nothing to wake for


# ---- the port, and after the link is lost (§5.5, S5) -------------------------------------------


def test_port_failure_is_link_loss_and_later_commands_fail_at_once() -> None:
    core, pen, now = up()
    set_id = core.send(SetParams(1, 500, 100), now)
    pen.read()
    core.port_failed("EIO on /dev/ttyUSB0", now + ms(5))
    outputs = core.take_outputs()
    assert core.state is LinkState.LOST
    [change] = only(outputs, LinkStateChanged)
    assert change.trigger is LinkTrigger.PORT_FAILED and "EIO on /dev/ttyUSB0" in change.why
    assert outcome_ids(outputs) == [("Failed", set_id)]

    later = core.send(Start(1), now + ms(6))
    [failed] = core.take_outputs()
    assert isinstance(failed, Failed) and failed.command_id == later
    assert "reconnect" in failed.why and failed.at_ns == now + ms(6)
    assert pen.read() == []
    core.send(EStop(StopReason.ESTOP), now + ms(7))
    assert [f.message for f in pen.read()] == [EStop(StopReason.ESTOP)]  # S4


def test_nothing_resumes_by_itself_after_a_reconnect_S5() -> None:
    """Opening again sends HELLO and only HELLO: what was waiting failed and is not re-sent."""
    core, pen, now = up()
    ids = [core.send(m, now) for m in (SetParams(1, 500, 100), Start(1))]
    run_until(core, now + 4 * TRY)
    assert core.state is LinkState.LOST
    assert outcome_ids(core.take_outputs()) == [("Failed", i) for i in ids]
    assert len(pen.read()) == 4  # SET_PARAMS, 4 times
    core.open(now + ms(1_000))
    assert [f.message for f in pen.read()] == [Hello(PROTOCOL_VERSION)]
    assert core.state is LinkState.HANDSHAKE


def test_opening_again_fails_what_was_waiting() -> None:
    core, pen, now = up()
    set_id = core.send(SetParams(1, 500, 100), now)
    pen.read()
    core.open(now + ms(10))
    outputs = core.take_outputs()
    assert outcome_ids(outputs) == [("Failed", set_id)]
    assert changes(outputs) == [(LinkState.UP, LinkState.HANDSHAKE, LinkTrigger.OPEN)]


def test_close_ends_everything_stops_included() -> None:
    core, pen, now = up()
    ids = [core.send(SetParams(1, 500, 100), now), core.send(Stop(StopReason.SESSION_END), now)]
    pen.read()
    core.close(now + ms(1))
    outputs = core.take_outputs()
    assert sorted(outcome_ids(outputs)) == [("Failed", i) for i in ids]
    assert core.state is LinkState.CLOSED and core.next_deadline_ns() is None


def test_pen_messages_and_hello_cannot_be_sent() -> None:
    core, _, now = up()
    with pytest.raises(ValueError, match="sent by the pen"):
        core.send(Ack(0, MessageType.HELLO, PenState.IDLE, 0, 0, 0, 0, 0), now)
    with pytest.raises(ValueError, match="open"):
        core.send(Hello(1), now)


# ---- bad bytes from the pen (§2.1) -------------------------------------------------------------


def raw_frame(
    msg_type: int, payload: bytes, *, version: int = 1, length: int = -1, crc_xor: int = 0
) -> bytes:
    """A frame built from §2 alone (struct, binascii CRC, the cobs package), errors on request."""
    header = struct.pack("<BBBHB", version, msg_type, 0, 9, len(payload) if length < 0 else length)
    crc = crc_hqx(header + payload, 0xFFFF) ^ crc_xor
    return cobs.encode(header + payload + struct.pack("<H", crc)) + b"\x00"


EVENT_PAYLOAD = Event(3, EventCode.BUTTON_STOP, 0).pack()
BAD_FRAMES = {
    "truncated": b"\x01\x00",  # §2: '01 00 is truncated'
    "oversize": b"\x07" * 300 + b"\x00",
    "bad_length": raw_frame(MessageType.EVENT, EVENT_PAYLOAD, length=2),
    "bad_crc": raw_frame(MessageType.EVENT, EVENT_PAYLOAD, crc_xor=0x0100),
    "wrong_version": raw_frame(MessageType.EVENT, EVENT_PAYLOAD, version=2),
    "unknown_type": raw_frame(0x7E, b""),
    "bad_field": raw_frame(MessageType.EVENT, struct.pack("<HBH", 3, 0, 0)),  # event code 0
    "host_type_from_pen": encode(Stop(StopReason.OPERATOR), 9),  # see the report
}


def test_corrupt_frames_are_counted_by_name_and_never_cost_the_next_frame() -> None:
    core, pen, now = up()
    for k, bad in enumerate(BAD_FRAMES.values()):
        good = encode(telemetry(k), 100 + k)
        core.receive(bad + good, now + ms(k))  # the good frame right behind, in the same chunk
    received = only(core.take_outputs(), TelemetryReceived)
    assert [r.telemetry.counter for r in received] == list(range(len(BAD_FRAMES)))
    assert core.stats.receive_errors == {name: 1 for name in BAD_FRAMES}
    assert core.state is LinkState.UP
    assert pen.read() == []  # the host answers nothing to bad frames


def test_a_frame_split_byte_by_byte_is_one_frame() -> None:
    core, _, now = up()
    for k, byte in enumerate(encode(telemetry(0), 1)):
        core.receive(bytes([byte]), now + k)
    [received] = only(core.take_outputs(), TelemetryReceived)
    assert received.telemetry.counter == 0 and not core.stats.receive_errors
