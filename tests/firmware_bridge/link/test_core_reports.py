"""What the link core reports: each outcome says what happened, in words, and when.

The console shows these sentences to the practitioner and the journal records them with their
times, so a wrong word or a wrong instant is a wrong record. Helpers and the hand-played pen come
from test_core_rules.
"""

from __future__ import annotations

import pytest

from firmware_bridge.link.core import LinkCore
from firmware_bridge.link.outputs import (
    Confirmed,
    EchoMismatch,
    Failed,
    Identified,
    LinkStateChanged,
    PenEventReceived,
    Refused,
    TelemetryReceived,
)
from firmware_bridge.link.states import LinkState, LinkTrigger
from firmware_bridge.link.stats import Direction
from firmware_bridge.protocol import (
    PROTOCOL_VERSION,
    Ack,
    EStop,
    Event,
    EventCode,
    Hello,
    Lease,
    MessageType,
    Nak,
    NakReason,
    PenState,
    SetParams,
    Start,
    Stop,
    StopReason,
    encode,
)
from firmware_bridge.protocol.framing import FLAG_RETRANSMIT
from tests.firmware_bridge.link.test_core_rules import (
    T0,
    TRY,
    FakePen,
    ms,
    only,
    run_until,
    telemetry,
    up,
)


def _failed(outputs: list[object]) -> dict[int, tuple[str, int]]:
    return {o.command_id: (o.why, o.at_ns) for o in outputs if isinstance(o, Failed)}


def _change(outputs: list[object]) -> tuple[LinkTrigger, str, int]:
    """The last change of the link's state: its trigger, its words and its time."""
    change = only(outputs, LinkStateChanged)[-1]  # type: ignore[arg-type]
    return change.trigger, change.why, change.at_ns


def test_closing_fails_each_waiting_command_and_stop_saying_so_at_the_close() -> None:
    core, pen, now = up()
    set_id = core.send(SetParams(1, 500, 100), now)
    stop_id = core.send(Stop(StopReason.SESSION_END), now)
    pen.read()
    closed_at = now + ms(7)
    core.close(closed_at)
    outputs = core.take_outputs()
    assert _failed(outputs) == {
        set_id: ("the link was closed", closed_at),
        stop_id: ("the link was closed before the pen acknowledged the stop", closed_at),
    }
    assert _change(outputs) == (LinkTrigger.CLOSE, "closed by the host", closed_at)


def test_a_failed_port_is_reported_at_the_moment_it_failed() -> None:
    core, _, now = up()
    core.port_failed("EIO on /dev/ttyUSB0", now + ms(5))
    assert _change(core.take_outputs()) == (
        LinkTrigger.PORT_FAILED,
        "EIO on /dev/ttyUSB0",
        now + ms(5),
    )


def test_a_stop_replaced_by_a_newer_one_is_failed_when_the_newer_one_goes() -> None:
    core, pen, now = up()
    first = core.send(Stop(StopReason.OPERATOR), now)
    core.send(EStop(StopReason.ESTOP), now + ms(3))
    pen.read()
    why = "a newer ESTOP replaced it before the pen acknowledged it"
    assert _failed(core.take_outputs()) == {first: (why, now + ms(3))}


def test_s1_a_start_not_sent_again_after_a_stop_is_failed_in_words_and_the_queue_moves_on() -> None:
    core, pen, now = up()
    start_id = core.send(Start(1), now)
    core.send(Stop(StopReason.OPERATOR), now + ms(10))
    after = core.send(SetParams(2, 500, 100), now + ms(20))  # waits behind the START
    pen.read()
    core.advance(now + TRY)
    why = "the pen did not answer this START, and a stop was sent since: not sent again"
    assert _failed(core.take_outputs()) == {start_id: (why, now + TRY)}
    # The command waiting behind the START is written at that instant and waits its 100 ms
    # (the stop, unanswered, repeats meanwhile).
    assert _set_params(pen) == [SetParams(2, 500, 100)]
    run_until(core, now + 2 * TRY - 1)
    assert _set_params(pen) == []
    core.advance(now + 2 * TRY)
    assert _set_params(pen) == [SetParams(2, 500, 100)]  # its retransmission
    assert after not in _failed(core.take_outputs())


def _set_params(pen: FakePen) -> list[object]:
    return [f.message for f in pen.read() if isinstance(f.message, SetParams)]


def test_no_answer_after_four_tries_names_the_command_the_tries_and_the_time() -> None:
    core, pen, now = up()
    set_id = core.send(SetParams(1, 500, 100), now)
    run_until(core, now + 4 * TRY)
    outputs = core.take_outputs()
    lost = "the pen did not answer SET_PARAMS after 4 tries (400 ms)"
    assert _change(outputs) == (LinkTrigger.NO_ANSWER, lost, now + 4 * TRY)
    assert _failed(outputs) == {set_id: (f"the link to the pen is lost: {lost}", now + 4 * TRY)}
    assert len(pen.read()) == 4


def test_telemetry_and_events_are_handed_up_with_their_arrival_time() -> None:
    core, pen, now = up()
    pen.telemetry(0, now + ms(11))
    pen.event(0, EventCode.MOTOR_STARTED, now + ms(12))
    outputs = core.take_outputs()
    [received] = only(outputs, TelemetryReceived)
    assert (received.telemetry, received.at_ns) == (telemetry(0), now + ms(11))
    assert core.last_telemetry == telemetry(0)
    [event] = only(outputs, PenEventReceived)
    assert event.at_ns == now + ms(12)


def test_an_unexpected_boot_is_said_in_words_when_it_came() -> None:
    core, pen, now = up()
    set_id = core.send(SetParams(1, 500, 100), now)
    pen.read()
    pen.event(0, EventCode.BOOT, now + ms(10))
    outputs = core.take_outputs()
    why = "the pen restarted (EVENT BOOT): it has no parameters and no lease"
    assert _change(outputs) == (LinkTrigger.UNEXPECTED_BOOT, why, now + ms(10))
    assert _failed(outputs) == {set_id: (why, now + ms(10))}


def test_commands_queued_before_a_stop_fail_saying_to_send_them_again() -> None:
    core, pen, now = up()
    core.send(SetParams(1, 500, 100), now)
    queued = core.send(Start(1), now)
    core.send(Stop(StopReason.OPERATOR), now + ms(2))
    pen.read()
    why, at = _failed(core.take_outputs())[queued]
    assert why.endswith("; send it again if it is still wanted") and at == now + ms(2)


def _refused_by_the_pen() -> LinkCore:
    core = LinkCore()
    pen = FakePen(core)
    core.open(T0)
    [hello] = pen.read()
    pen.say(Nak(hello.seq, hello.message.TYPE, NakReason.VERSION_MISMATCH, 9), T0 + ms(5))
    return core


def test_a_hello_refused_for_the_version_names_both_versions_and_what_to_do() -> None:
    core = _refused_by_the_pen()
    _, why, _ = _change(core.take_outputs())
    assert core.state is LinkState.REFUSED
    assert why == (
        f"the pen speaks protocol version 9 and penctl speaks {PROTOCOL_VERSION}; nothing was "
        "changed on the pen. Update penctl or the pen's firmware so they match"
    )


def _lost() -> LinkCore:
    core, _, now = up()
    core.port_failed("EOF", now)
    return core


def _rebooted() -> LinkCore:
    core, pen, now = up()
    pen.event(0, EventCode.BOOT, now + ms(1))
    return core


@pytest.mark.parametrize(
    ("make", "why"),
    [
        (LinkCore, "the link is not open; open it first"),
        (_lost, "the link to the pen is lost; reconnect and confirm everything again"),
        (_rebooted, "the pen restarted; reconnect and confirm everything again"),
        (_refused_by_the_pen, "the pen refused the link; see the HELLO refusal"),
    ],
)
def test_a_command_sent_while_the_link_is_not_up_fails_saying_why(make, why: str) -> None:
    core = make()
    core.take_outputs()
    command = core.send(Lease(300), T0 + ms(500))
    assert _failed(core.take_outputs()) == {command: (why, T0 + ms(500))}


@pytest.mark.parametrize(("jump", "missed"), [(20_000, 19_999), (32_768, 32_767), (32_769, 0)])
def test_an_event_counter_jump_of_up_to_half_the_16_bit_range_counts_as_lost_events(
    jump: int, missed: int
) -> None:
    """Beyond half the range the jump reads as a repeat or a reorder, not as lost events."""
    core, pen, now = up()
    pen.event(5, EventCode.MOTOR_STARTED, now + ms(1))
    pen.event((5 + jump) & 0xFFFF, EventCode.MOTOR_STARTED, now + ms(2))
    events = only(core.take_outputs(), PenEventReceived)
    assert [e.missed for e in events] == [0, missed]


def test_hello_cannot_be_sent_as_a_command_and_the_error_says_where_it_comes_from() -> None:
    core, _, now = up()
    with pytest.raises(ValueError, match=r"^HELLO is sent by open\(\), which resets the link$"):
        core.send(Hello(PROTOCOL_VERSION), now)


def test_a_refusal_names_the_command_the_nak_and_when() -> None:
    core, pen, now = up()
    command = core.send(Start(1), now)
    [frame] = pen.read()
    pen.nak(frame, NakReason.NO_LEASE, now + ms(4))
    [refused] = core.take_outputs()
    assert isinstance(refused, Refused)
    assert (refused.command_id, refused.message, refused.at_ns) == (command, Start(1), now + ms(4))
    assert refused.nak.reason is NakReason.NO_LEASE


def test_s3_each_echo_mismatch_is_counted_and_fails_what_waited_in_words() -> None:
    core, pen, now = up()
    for version in (1, 2):
        set_id = core.send(SetParams(version, 500, 100), now)
        [frame] = pen.read()
        waiting = core.send(Start(version), now + ms(1))
        pen.say(pen.echo(frame.seq, MessageType.SET_PARAMS, version, 550, 100), now + ms(3))
        [host_fault_stop] = pen.read()
        mismatch, failed = core.take_outputs()
        assert isinstance(mismatch, EchoMismatch)
        assert (mismatch.command_id, mismatch.ack.depth_um, mismatch.at_ns) == (
            set_id,
            550,
            now + ms(3),
        )
        assert isinstance(failed, Failed) and failed.message == Start(version)
        why = "the pen's echo of SET_PARAMS differed, so the needle was stopped (S3)"
        assert (failed.command_id, failed.why, failed.at_ns) == (
            waiting,
            f"{why}; this was not sent",
            now + ms(3),
        )
        pen.ack(host_fault_stop, now + ms(4))  # else the next START would race its repeat
        core.take_outputs()
        now += ms(500)
    assert core.stats.echo_mismatches == 2


def test_the_round_trip_counts_from_the_first_send_and_not_after_a_retransmission() -> None:
    core, pen, now = up()
    answered = core.send(SetParams(1, 500, 100), now)
    [frame] = pen.read()
    pen.ack(frame, now + ms(9))
    [confirmed] = core.take_outputs()
    assert isinstance(confirmed, Confirmed)
    assert (confirmed.command_id, confirmed.message) == (answered, SetParams(1, 500, 100))
    assert (confirmed.at_ns, confirmed.round_trip_ns) == (now + ms(9), ms(9))
    assert list(core.stats.round_trips_ns) == [ms(9)]
    core.send(SetParams(2, 500, 100), now + ms(20))
    pen.read()
    core.advance(now + ms(20) + TRY)
    [again] = pen.read()
    pen.ack(again, now + ms(20) + TRY + ms(5))
    [late] = core.take_outputs()
    assert isinstance(late, Confirmed) and late.round_trip_ns is None  # Karn's rule
    assert list(core.stats.round_trips_ns) == [ms(9)]


def test_the_trace_holds_each_retransmission_at_its_own_time_and_then_starts_afresh() -> None:
    core = LinkCore(tracing=True)
    pen = FakePen(core)
    core.open(T0)
    pen.read()
    core.advance(T0 + TRY)  # no answer: HELLO again, flagged
    first = core.take_traced()
    assert [(r.t_ns, r.frame.flags) for r in first] == [(T0, 0), (T0 + TRY, FLAG_RETRANSMIT)]
    assert core.take_traced() == []


def test_the_handshake_reports_the_hello_round_trip_the_pen_and_the_time_it_came_up() -> None:
    core = LinkCore()
    pen = FakePen(core)
    hello_id = core.open(T0)
    [hello] = pen.read()
    core.take_outputs()  # CLOSED to HANDSHAKE
    pen.identify(T0 + ms(4))  # IDENTIFY may come first; the ACK completes the handshake
    pen.ack(hello, T0 + ms(6))
    confirmed, identified, change = core.take_outputs()
    assert isinstance(confirmed, Confirmed)
    assert (confirmed.command_id, confirmed.message) == (hello_id, Hello(PROTOCOL_VERSION))
    assert (confirmed.at_ns, confirmed.round_trip_ns) == (T0 + ms(6), ms(6))
    assert confirmed.ack == core.last_ack
    assert isinstance(identified, Identified) and identified.at_ns == T0 + ms(6)
    assert isinstance(change, LinkStateChanged)
    assert (change.trigger, change.why, change.at_ns) == (
        LinkTrigger.IDENTIFIED,
        "TESTPEN PEN-0001",
        T0 + ms(6),
    )


@pytest.mark.parametrize("reason", [NakReason.VERSION_MISMATCH, NakReason.BAD_STATE])
def test_a_hello_refused_for_anything_but_booting_is_a_refusal_at_once(reason: NakReason) -> None:
    """Only BAD_STATE with detail BOOTING means "wait": a VERSION_MISMATCH whose detail happens to
    be 0 (BOOTING's number), or BAD_STATE of another state, refuses the link."""
    core = LinkCore()
    pen = FakePen(core)
    hello_id = core.open(T0)
    [hello] = pen.read()
    detail = 0 if reason is NakReason.VERSION_MISMATCH else int(PenState.IDLE)
    pen.nak(hello, reason, T0 + ms(5), detail=detail)
    outputs = core.take_outputs()
    [refused] = only(outputs, Refused)
    assert (refused.command_id, refused.message, refused.at_ns) == (
        hello_id,
        Hello(PROTOCOL_VERSION),
        T0 + ms(5),
    )
    assert refused.nak.reason is reason
    trigger, why, at = _change(outputs)
    assert (trigger, at) == (LinkTrigger.HELLO_REFUSED, T0 + ms(5))
    assert core.state is LinkState.REFUSED and why.startswith(
        "the pen speaks protocol version 0" if detail == 0 else "the pen refused HELLO (BAD_STATE"
    )


def test_a_booting_nak_at_exactly_three_seconds_no_longer_rearms_the_hello_budget() -> None:
    """The boot wait is open + 3 s, that instant excluded (BOOT_WAIT_NS)."""
    core = LinkCore()
    pen = FakePen(core)
    core.open(T0)
    [hello] = pen.read()
    now = T0
    while core.state is LinkState.HANDSHAKE:
        pen.nak(hello, NakReason.BAD_STATE, now, detail=PenState.BOOTING)  # at the send's instant
        now = core.next_deadline_ns()
        core.advance(now)
        hello = (pen.read() or [hello])[0]
    assert now == T0 + ms(3_400)


def test_counters_of_what_was_received_add_up() -> None:
    core, _, now = up()
    before = core.stats.bytes_in
    stale = Ack(999, MessageType.START, PenState.IDLE, 0, 0, 0, 0, 0)
    chunks = [encode(Start(1), 40), encode(stale, 41)] * 2  # a host's message; a stale reply
    for n, chunk in enumerate(chunks):
        core.receive(chunk, now + ms(n))
    assert core.stats.bytes_in == before + sum(len(chunk) for chunk in chunks)
    assert core.stats.receive_errors["host_type_from_pen"] == 2
    assert core.stats.stale_replies == 2


def test_unanswered_leases_are_counted_and_each_fails_saying_the_next_supersedes_it() -> None:
    core, pen, now = up()
    ids = [core.send(Lease(300), now + ms(n * 50)) for n in range(2)]
    pen.read()
    run_until(core, now + ms(50) + TRY)
    why = "the pen did not answer this LEASE; the next renewal supersedes it"
    assert _failed(core.take_outputs()) == {
        ids[0]: (why, now + TRY),
        ids[1]: (why, now + ms(50) + TRY),
    }
    assert core.stats.unanswered_leases == 2


def test_silence_is_reported_with_how_long_the_pen_was_silent() -> None:
    core, _, now = up(period_ms=50)
    run_until(core, now + ms(150))
    trigger, why, at = _change(core.take_outputs())
    assert (trigger, why, at) == (
        LinkTrigger.SILENCE,
        "no TELEMETRY from the pen for 150 ms",
        now + ms(150),
    )


def test_the_trace_records_incoming_frames_with_their_arrival_time() -> None:
    core = LinkCore(tracing=True)
    pen = FakePen(core)
    core.open(T0)
    [hello] = pen.read()
    pen.ack(hello, T0 + ms(5))
    records = core.take_traced()
    incoming = [r for r in records if r.direction is Direction.TO_HOST]
    assert [(r.t_ns, r.frame.message.TYPE) for r in incoming] == [(T0 + ms(5), MessageType.ACK)]


def test_command_ids_start_at_one_and_count_every_command_accepted() -> None:
    core = LinkCore()
    assert core.commands_accepted == 0
    assert core.open(T0) == 1
    assert [core.send(Lease(300), T0) for _ in range(2)] == [2, 3]
    assert core.commands_accepted == 3


def test_frames_arriving_before_the_link_is_opened_are_read_and_counted() -> None:
    core = LinkCore()
    core.receive(encode(telemetry(0), 1), T0)
    assert core.stats.frames_in == 1
    assert core.last_telemetry == telemetry(0)


def test_opening_again_forgets_the_last_pen_and_says_so() -> None:
    core, pen, now = up()
    pen.telemetry(0, now + ms(1))
    core.send(SetParams(1, 500, 100), now + ms(2))
    [frame] = pen.read()
    pen.ack(frame, now + ms(3))
    waiting = core.send(SetParams(2, 500, 100), now + ms(4))
    core.take_outputs()
    assert core.last_ack is not None
    core.open(now + ms(10))
    outputs = core.take_outputs()
    assert _failed(outputs) == {
        waiting: ("the link was opened again; send it again once identified", now + ms(10))
    }
    assert _change(outputs) == (LinkTrigger.OPEN, "HELLO sent", now + ms(10))
    assert (core.identify, core.last_telemetry, core.last_ack) == (None, None, None)


def test_after_opening_again_an_identify_without_the_hello_ack_does_not_bring_the_link_up() -> None:
    core, pen, now = up()
    core.open(now + ms(10))
    pen.read()
    pen.identify(now + ms(12))
    assert core.state is LinkState.HANDSHAKE


def test_telemetry_still_streaming_during_a_new_handshake_is_handed_up_without_a_gap() -> None:
    core, pen, now = up()
    core.open(now + ms(10))
    pen.telemetry(57, now + ms(11))  # the pen still streams for the previous host
    [received] = only(core.take_outputs(), TelemetryReceived)
    assert (received.telemetry.counter, received.missed) == (57, 0)


def test_a_new_core_knows_no_pen_and_traces_nothing_unless_asked() -> None:
    core = LinkCore()
    assert (core.identify, core.cartridge, core.last_telemetry, core.last_ack) == (None,) * 4
    assert core.telemetry_period_ns == ms(50)  # until IDENTIFY says otherwise
    core.open(T0)
    core.receive(encode(telemetry(0), 1), T0 + ms(1))
    assert core.take_traced() == []


def test_an_event_arriving_before_the_link_is_opened_is_handed_up() -> None:
    core = LinkCore()
    core.receive(encode(Event(3, EventCode.MOTOR_STARTED, 0), 1), T0)
    [event] = only(core.take_outputs(), PenEventReceived)
    assert (event.event.event_counter, event.missed, event.at_ns) == (3, 0, T0)


def test_the_frame_counters_and_the_ring_count_each_frame_once() -> None:
    core, pen, now = up()
    before_in, before_out = core.stats.frames_in, core.stats.frames_out
    core.send(Lease(300), now)
    core.send(Lease(300), now + ms(1))
    pen.read()
    pen.telemetry(0, now + ms(2))
    pen.telemetry(1, now + ms(3))
    corrupt = bytearray(encode(telemetry(2), 9))
    corrupt[3] ^= 0x40
    core.receive(bytes(corrupt) * 2, now + ms(4))
    assert (core.stats.frames_in, core.stats.frames_out) == (before_in + 2, before_out + 2)
    assert sum(core.stats.receive_errors.values()) == 2
    last = list(core.stats.ring)[-4:]
    assert [(r.direction, r.t_ns) for r in last] == [
        (Direction.TO_HOST, now + ms(2)),
        (Direction.TO_HOST, now + ms(3)),
        (Direction.TO_HOST, now + ms(4)),
        (Direction.TO_HOST, now + ms(4)),
    ]
    sent = [r for r in core.stats.ring if r.direction is Direction.TO_PEN][-2:]
    assert [(r.frame.seq, r.frame.message) for r in sent] == [
        (pen.heard[-2].seq, Lease(300)),
        (pen.heard[-1].seq, Lease(300)),
    ]


def test_an_answer_naming_another_seq_is_stale_even_with_the_right_type() -> None:
    core, pen, now = up()
    core.send(SetParams(1, 500, 100), now)
    [frame] = pen.read()
    pen.say(pen.echo((frame.seq + 7) & 0xFFFF, MessageType.SET_PARAMS, 1, 500, 100), now + ms(3))
    assert only(core.take_outputs(), Confirmed) == []
    assert core.stats.stale_replies == 1


def test_a_refused_hello_fails_what_waited_for_the_link_with_the_refusal() -> None:
    core = LinkCore()
    pen = FakePen(core)
    core.open(T0)
    [hello] = pen.read()
    waiting = core.send(SetParams(1, 500, 100), T0 + ms(1))
    pen.say(Nak(hello.seq, hello.message.TYPE, NakReason.VERSION_MISMATCH, 9), T0 + ms(5))
    why, at = _failed(core.take_outputs())[waiting]
    assert why.startswith("the pen speaks protocol version 9") and at == T0 + ms(5)
