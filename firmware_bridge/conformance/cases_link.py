"""Cases for the link itself: handshake, telemetry, bad frames and the duplicate memory."""

from __future__ import annotations

import itertools

from firmware_bridge.conformance.context import Context, expect
from firmware_bridge.conformance.model import Case
from firmware_bridge.conformance.probe import elapsed_ms, raw_frame
from firmware_bridge.protocol import (
    Ack,
    Cartridge,
    CartridgeState,
    EventCode,
    FaultCode,
    GetStatus,
    Hello,
    Identify,
    Lease,
    MessageType,
    MotorState,
    Nak,
    NakReason,
    PenState,
    Start,
    Stop,
    StopReason,
    Telemetry,
    encode,
)
from firmware_bridge.protocol.framing import MAX_ENCODED, cobs_decode

BOOT_TRIES, BOOT_RETRY_MS = 100, 50  # HELLO retried for 5 s while the pen boots


def handshake(ctx: Context) -> None:
    probe = ctx.probe
    ctx.probe.keep_lease(None)
    for _ in range(BOOT_TRIES):
        since = probe.mark()
        sent = probe.now_ns()
        seq = probe.send(Hello(1))
        ack = probe.await_reply(seq, MessageType.HELLO, since, "§5.1", ctx.reply_ms)
        if not (isinstance(ack, Nak) and ack.reason is NakReason.BAD_STATE and ack.detail == 0):
            break
        probe.wait_ms(BOOT_RETRY_MS)  # §7.9: still booting; a host retries HELLO
    expect(isinstance(ack, Ack), "§4 HELLO", f"HELLO(1) was refused: {ack!r}")
    took = elapsed_ms(sent, probe.reply(seq, MessageType.HELLO, since).at_ns)  # type: ignore[union-attr]
    expect(took <= ctx.reply_ms, "§5.1", f"the ACK to HELLO took {took:.1f} ms (20 ms allowed)")
    probe.until(lambda: bool(probe.of_type(Cartridge, since)), ctx.reply_ms)
    order = [type(r.message).__name__ for r in probe.received[since:]]
    order = [name for name in order if name in ("Ack", "Identify", "Cartridge")]
    expect(
        order[:3] == ["Ack", "Identify", "Cartridge"],
        "§4 HELLO",
        f"HELLO is answered by ACK, IDENTIFY, CARTRIDGE in that order; got {order[:3]}",
    )
    identify = probe.of_type(Identify, since)[0]
    ctx.identify, ctx.cartridge = identify, probe.of_type(Cartridge, since)[0]
    expect(identify.protocol_version == 1, "§4 IDENTIFY", "IDENTIFY's protocol_version is not 1")
    for low, high, step in (
        (identify.depth_min_um, identify.depth_max_um, identify.depth_step_um),
        (identify.speed_min_sps, identify.speed_max_sps, identify.speed_step_sps),
        (identify.lease_min_ms, identify.lease_max_ms, 1),
    ):
        expect(0 < low <= high and step > 0, "§4 IDENTIFY", f"limits {low}..{high} step {step}")


def hello_version(ctx: Context) -> None:
    ctx.reset()
    ctx.nak(Hello(2), "§4 HELLO", NakReason.VERSION_MISMATCH, 1)
    ack = ctx.ack(GetStatus(), "§4 HELLO", "a refused HELLO changes nothing")
    expect(ack.pen_state is PenState.IDLE, "§4 HELLO", f"pen_state {ack.pen_state.name}")


def telemetry(ctx: Context) -> None:
    probe = ctx.probe
    probe.keep_lease(None)
    ack = ctx.hello()
    # Only what the pen sent after answering the HELLO: frames sent before it may still arrive.
    since = next(i for i, r in enumerate(probe.received) if r.message is ack) + 1
    period = ctx.pen.telemetry_period_ms
    samples = 10
    probe.until(lambda: len(probe.of_type(Telemetry, since)) > samples, (samples + 2) * period * 2)
    got = [r for r in probe.received[since:] if isinstance(r.message, Telemetry)]
    expect(
        len(got) > samples,
        "§5.5",
        f"{len(got)} TELEMETRY frames in {(samples + 2) * period * 2} ms",
    )
    counters = [r.message.counter for r in got]  # type: ignore[attr-defined]
    expect(counters[0] == 0, "§4 TELEMETRY", f"the counter after HELLO starts at {counters[0]}")
    expect(
        all(b == a + 1 for a, b in itertools.pairwise(counters)),
        "§4 TELEMETRY",
        f"counter does not rise by one per frame: {counters}",
    )
    mean = elapsed_ms(got[0].at_ns, got[samples].at_ns) / samples
    slack = period * 0.05 + ctx.settings.tolerance_ms / samples
    expect(
        abs(mean - period) <= slack,
        "§5.5",
        f"TELEMETRY every {mean:.1f} ms on average; IDENTIFY says {period} ms",
    )
    sample = got[0].message
    assert isinstance(sample, Telemetry)
    expect(sample.lease_remaining_ms == 0, "§7.8", "a HELLO discards the lease; TELEMETRY says not")


def get_status(ctx: Context) -> None:
    ctx.reset()
    since = ctx.probe.mark()
    ctx.ack(GetStatus(), "§4 GET_STATUS")
    ctx.probe.until(lambda: bool(ctx.probe.of_type(Cartridge, since)), ctx.reply_ms)
    kinds = [type(r.message).__name__ for r in ctx.probe.received[since:]]
    expect(
        "Cartridge" in kinds and "Telemetry" in kinds[: kinds.index("Cartridge")],
        "§4 GET_STATUS",
        f"GET_STATUS is answered by ACK, TELEMETRY, CARTRIDGE; got {kinds}",
    )


def _silent(ctx: Context, name: str, frame: bytes, section: str) -> None:
    """`frame` gets no answer at all, and the next good frame is answered (§2.1)."""
    probe = ctx.probe
    since = probe.mark()
    probe.write(frame)
    probe.wait_ms(ctx.reply_ms)
    answers = [m for m in probe.of_type(Ack, since) if m.ack_seq == 0x7777]
    answers += [m for m in probe.of_type(Nak, since) if m.nak_seq == 0x7777]
    expect(not answers, section, f"{name} was answered ({answers[:1]!r}); it must be dropped")
    reply = ctx.command(GetStatus(), "§2.1")
    expect(isinstance(reply, Ack), "§2.1", f"the good frame after {name} got {reply!r}")


def bad_frames_dropped(ctx: Context) -> None:
    ctx.reset()
    good = encode(Stop(StopReason.OPERATOR), 0x7777)
    body = good[:-1]
    ctx.probe.write(b"\x00\x00\x00")  # empty frames between delimiters: ignored (§2)
    cases = [
        ("a frame with a wrong CRC", raw_frame(0x04, b"\x01", 0x7777, crc_xor=0x0100), "§2.1"),
        ("a frame cut short", body[:-2] + b"\x00", "§2.1"),
        ("a frame shorter than a header", b"\x04\x01\x01\x77\x00", "§2.1"),
        ("a length byte saying more", raw_frame(0x04, b"\x01", 0x7777, length=2), "§2.1"),
        ("a length byte saying less", raw_frame(0x04, b"\x01\x01", 0x7777, length=1), "§2.1"),
        ("250 bytes without a delimiter", b"\x01" * (MAX_ENCODED + 1) + b"\x00", "§2.1"),
        ("a lone 01", b"\x01\x00", "§2"),
    ]
    for name, frame, section in cases:
        _silent(ctx, name, frame, section)


def bad_frames_answered(ctx: Context) -> None:
    ctx.reset()
    probe = ctx.probe
    checks: list[tuple[str, bytes, int, NakReason, int]] = [
        (
            "HELLO of version 2",
            raw_frame(0x01, b"\x01", 0, version=2),
            0x01,
            NakReason.VERSION_MISMATCH,
            1,
        ),
        ("unknown type 0x00", raw_frame(0x00, b"", 0), 0x00, NakReason.UNKNOWN_TYPE, 0),
        ("unknown type 0x3f", raw_frame(0x3F, b"", 0), 0x3F, NakReason.UNKNOWN_TYPE, 0),
        ("unknown type 0x80", raw_frame(0x80, b"", 0), 0x80, NakReason.UNKNOWN_TYPE, 0),
        ("unknown type 0xff", raw_frame(0xFF, b"\x01" * 240, 0), 0xFF, NakReason.UNKNOWN_TYPE, 0),
        (
            "wrong version and unknown type",
            raw_frame(0x80, b"", 0, version=3),
            0x80,
            NakReason.VERSION_MISMATCH,
            1,
        ),
        ("a well-formed LEASE of the pen's own kind", b"", 0x43, NakReason.UNKNOWN_TYPE, 0),
        (
            "a malformed IDENTIFY (3 bytes)",
            raw_frame(0x41, b"\x01\x02\x03", 0),
            0x41,
            NakReason.BAD_PAYLOAD,
            0,
        ),
        (
            "a reserved flag bit",
            raw_frame(0x08, b"", 0, flags=0x02),
            0x08,
            NakReason.BAD_PAYLOAD,
            0,
        ),
        (
            "START with 3 payload bytes",
            raw_frame(0x03, b"\x01\x00\x00", 0),
            0x03,
            NakReason.BAD_PAYLOAD,
            0,
        ),
        ("CLEAR_FAULT of fault 9", raw_frame(0x06, b"\x09\x00", 0), 0x06, NakReason.BAD_PAYLOAD, 0),
    ]
    for name, frame, kind, reason, detail in checks:
        seq = probe.next_seq()
        # An empty frame stands for a well-formed message of the pen's own kind.
        frame = _reseq(frame, seq) if frame else encode(_telemetry_sample(), seq)
        since = probe.mark()
        probe.write(frame)
        reply = probe.await_reply(seq, kind, since, "§5.4", ctx.reply_ms)
        expect(
            isinstance(reply, Nak) and reply.reason is reason and reply.detail == detail,
            "§5.4",
            f"{name}: expected NAK {reason.name} detail {detail}, got {reply!r}",
        )
    for name, frame in (
        ("STOP with reason 99", raw_frame(0x04, b"\x63", 0)),
        ("STOP of version 2", raw_frame(0x04, b"\x01", 0, version=2)),
        ("STOP with 2 payload bytes", raw_frame(0x04, b"\x01\x01", 0)),
    ):
        seq = probe.next_seq()
        since = probe.mark()
        probe.write(_reseq(frame, seq))
        reply = probe.await_reply(seq, 0x04, since, "§5.4", ctx.reply_ms)
        expect(isinstance(reply, Ack), "§5.4", f"{name} must be executed and ACKed; got {reply!r}")


def _reseq(frame: bytes, seq: int) -> bytes:
    body = cobs_decode(frame[:-1])
    assert body is not None
    version, kind, flags, length = body[0], body[1], body[2], body[5]
    return raw_frame(kind, body[6:-2], seq, version=version, flags=flags, length=length)


def _telemetry_sample() -> Telemetry:
    return Telemetry(
        0,
        PenState.IDLE,
        MotorState.STOPPED,
        0,
        0,
        0,
        2400,
        3900,
        80,
        CartridgeState.FRESH,
        FaultCode.NONE,
        0,
        0,
    )


def duplicates(ctx: Context) -> None:
    """§5.2: a re-sent frame gets the remembered reply, without executing it again."""
    ctx.reset()
    probe = ctx.probe
    first = probe.mark()
    seq = probe.send(GetStatus())
    original = probe.await_reply(seq, MessageType.GET_STATUS, first, "§5.1", ctx.reply_ms)
    probe.until(lambda: bool(probe.of_type(Cartridge, first)), ctx.reply_ms)
    again = probe.mark()
    probe.send(GetStatus(), seq, flags=0x01)
    reply = probe.await_reply(seq, MessageType.GET_STATUS, again, "§5.2", ctx.reply_ms)
    probe.wait_ms(ctx.reply_ms)
    expect(reply == original, "§5.2", f"re-sent frame got {reply!r}, first reply {original!r}")
    expect(
        not probe.of_type(Cartridge, again),
        "§5.2",
        "a re-sent GET_STATUS was executed again (a CARTRIDGE followed)",
    )
    resent = probe.reply(seq, MessageType.GET_STATUS, again)
    assert resent is not None
    expect(resent.flags == 0, "§7.12", "a re-sent reply carries no RETRANSMIT flag")
    first_reply = probe.reply(seq, MessageType.GET_STATUS, first)
    assert first_reply is not None
    expect(resent.seq != first_reply.seq, "§7.12", "a re-sent reply takes a new pen seq")
    changed = ctx.command(Lease(ctx.pen.lease_min_ms), seq=seq)
    expect(
        isinstance(changed, Ack) and changed.ack_type is MessageType.LEASE,
        "§5.2",
        f"a reused seq with another type is a new command; got {changed!r}",
    )


def duplicate_stop(ctx: Context) -> None:
    """§5.2: STOP is never answered from the memory; a re-sent STOP stops a running motor."""
    ctx.reset()
    applied = ctx.run_motor()
    stop_seq = ctx.probe.next_seq()
    ctx.command(Stop(StopReason.OPERATOR), seq=stop_seq)
    ctx.settle_motor("§7.4")
    ctx.ack(Start(applied.param_version), "§7.3")
    since = ctx.probe.mark()
    ctx.probe.send(Stop(StopReason.OPERATOR), stop_seq, flags=0x01)
    ctx.probe.await_reply(stop_seq, MessageType.STOP, since, "§5.2", ctx.reply_ms)
    ctx.probe.await_event(EventCode.MOTOR_STOPPED, since, "§5.2", ctx.reply_ms)
    ctx.settle_motor("§5.2")
    ctx.probe.keep_lease(None)


def duplicate_memory(ctx: Context) -> None:
    """§5.2 and §10: 32 answered frames are remembered; HELLO, STOP and ESTOP take no place."""
    ctx.reset()
    probe = ctx.probe
    seq = probe.next_seq()
    ctx.command(GetStatus(), seq=seq)
    for _ in range(31):
        ctx.command(Lease(ctx.pen.lease_min_ms))
    for _ in range(4):
        ctx.command(Stop(StopReason.OPERATOR))
    since = probe.mark()
    ctx.command(GetStatus(), seq=seq)
    probe.wait_ms(ctx.reply_ms)
    expect(
        not probe.of_type(Cartridge, since),
        "§5.2",
        "the 32nd most recent answered frame was forgotten (STOPs must not take its place)",
    )
    ctx.command(Lease(ctx.pen.lease_min_ms))
    since = probe.mark()
    ctx.command(GetStatus(), seq=seq)
    probe.until(lambda: bool(probe.of_type(Cartridge, since)), ctx.reply_ms)
    expect(
        bool(probe.of_type(Cartridge, since)),
        "§5.2",
        "a frame 33 answered frames back was still answered from the memory",
    )
    ctx.hello()
    since = probe.mark()
    ctx.command(GetStatus(), seq=seq)
    probe.until(lambda: bool(probe.of_type(Cartridge, since)), ctx.reply_ms)
    expect(bool(probe.of_type(Cartridge, since)), "§5.2", "HELLO did not clear the memory")


CASES = [
    Case("handshake", "§3", "HELLO: ACK, IDENTIFY, CARTRIDGE, zero echo, reply time", handshake),
    Case("hello-version", "§4 HELLO", "HELLO of another version is refused", hello_version),
    Case("telemetry", "§5.5", "TELEMETRY period and counter", telemetry),
    Case("get-status", "§4 GET_STATUS", "GET_STATUS: ACK, TELEMETRY, CARTRIDGE", get_status),
    Case(
        "bad-frames-dropped",
        "§2.1",
        "frames the CRC cannot vouch for get no answer",
        bad_frames_dropped,
    ),
    Case(
        "bad-frames-answered",
        "§5.4",
        "NAKs for version, type and field errors; stops executed",
        bad_frames_answered,
    ),
    Case("duplicates", "§5.2", "a re-sent frame gets the remembered reply", duplicates),
    Case("duplicate-stop", "§5.2", "a re-sent STOP is executed again", duplicate_stop),
    Case("duplicate-memory", "§5.2", "32 frames remembered; HELLO clears them", duplicate_memory),
]
