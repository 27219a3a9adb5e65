"""Cases for the pen's own duties: parameter sets, START, the lease, stops, faults (§5.3, §7)."""

from __future__ import annotations

from firmware_bridge.conformance.context import Context, expect
from firmware_bridge.conformance.model import Case
from firmware_bridge.conformance.probe import elapsed_ms
from firmware_bridge.protocol import (
    ClearFault,
    EStop,
    EventCode,
    FaultCode,
    Hello,
    Lease,
    MotorState,
    NakReason,
    PenState,
    SetParams,
    Start,
    Stop,
    StopReason,
    params_crc,
)

ZERO_SET_CRC = 0x313E  # params_crc of version 0, depth 0, speed 0 (§7.12)


def echo(ctx: Context) -> None:
    """§5.3: the ACK echoes the applied set and its params_crc exactly, the empty set too."""
    ctx.reset()
    empty = ctx.ack(Lease(ctx.pen.lease_min_ms), "§5.3")
    expect(
        (empty.param_version, empty.depth_um, empty.speed_sps, empty.params_crc)
        == (0, 0, 0, ZERO_SET_CRC),
        "§5.3",
        f"with no set applied an ACK echoes zeros and params_crc 0x313E; got {empty!r}",
    )
    pen = ctx.pen
    depth = (
        pen.depth_min_um
        + (pen.depth_max_um - pen.depth_min_um) // pen.depth_step_um // 2 * pen.depth_step_um
    )
    depth = min(
        depth,
        ctx.cartridge.needle_length_um
        if ctx.cartridge and ctx.cartridge.needle_length_um
        else depth,
    )
    depth -= (depth - pen.depth_min_um) % pen.depth_step_um
    speed = pen.speed_max_sps - (pen.speed_max_sps - pen.speed_min_sps) % pen.speed_step_sps
    version = ctx.next_version()
    ack = ctx.ack(SetParams(version, depth, speed), "§5.3")
    asked = (version, depth, speed)
    got = (ack.param_version, ack.depth_um, ack.speed_sps)
    expect(got == asked, "§5.3", f"asked for {asked} (version, µm, strokes/s); echoed {got}")
    expect(
        ack.params_crc == params_crc(*asked),
        "§5.3",
        f"params_crc 0x{ack.params_crc:04X}; the CRC of the set is 0x{params_crc(*asked):04X}",
    )
    expect(ack.pen_state is PenState.READY, "§5.3", f"pen_state {ack.pen_state.name} after a set")
    sample = ctx.telemetry("§4 TELEMETRY")
    expect(sample.param_version == version, "§4 TELEMETRY", "TELEMETRY names another version")


def versions(ctx: Context) -> None:
    """§4 SET_PARAMS: versions rise; version 0 is never applied (§10)."""
    ctx.reset()
    depth, speed = ctx.safe_set()
    ctx.nak(SetParams(0, depth, speed), "§10", NakReason.PARAM_VERSION_MISMATCH, 0)
    applied = ctx.apply()
    floor = applied.param_version
    for stale in (floor, floor - 1):
        ctx.nak(
            SetParams(stale, depth, speed),
            "§4 SET_PARAMS",
            NakReason.PARAM_VERSION_MISMATCH,
            floor & 0xFFFF,
        )


def clamps(ctx: Context) -> None:
    """§7.1: the limits are accepted; a step beyond or off the step is refused, changing nothing."""
    ctx.reset()
    pen = ctx.pen
    needle = ctx.cartridge.needle_length_um if ctx.cartridge else 0
    depth_top = pen.depth_max_um if not needle else min(pen.depth_max_um, needle)
    depth_top -= (depth_top - pen.depth_min_um) % pen.depth_step_um
    for depth, speed in ((pen.depth_min_um, pen.speed_min_sps), (depth_top, pen.speed_max_sps)):
        ctx.ack(SetParams(ctx.next_version(), depth, speed), "§7.1", "a set at the pen's limits")
    kept = ctx.apply()
    refusals = [
        (
            pen.depth_max_um + pen.depth_step_um,
            pen.speed_min_sps,
            NakReason.DEPTH_OUT_OF_RANGE,
            pen.depth_max_um,
        ),
        (
            pen.depth_min_um - pen.depth_step_um,
            pen.speed_min_sps,
            NakReason.DEPTH_OUT_OF_RANGE,
            pen.depth_min_um,
        ),
        (pen.depth_min_um + 1, pen.speed_min_sps, NakReason.OFF_STEP, pen.depth_step_um),
        (
            pen.depth_min_um,
            pen.speed_max_sps + pen.speed_step_sps,
            NakReason.SPEED_OUT_OF_RANGE,
            pen.speed_max_sps,
        ),
        (
            pen.depth_min_um,
            pen.speed_min_sps - pen.speed_step_sps,
            NakReason.SPEED_OUT_OF_RANGE,
            pen.speed_min_sps,
        ),
        (pen.depth_min_um, pen.speed_min_sps + 1, NakReason.OFF_STEP, pen.speed_step_sps),
    ]
    if needle and needle < pen.depth_max_um:
        over = needle + pen.depth_step_um - (needle - pen.depth_min_um) % pen.depth_step_um
        refusals.append((over, pen.speed_min_sps, NakReason.EXCEEDS_CARTRIDGE, needle))
    for depth, speed, reason, detail in refusals:
        if not (0 <= depth <= 0xFFFF and 0 <= speed <= 0xFFFF):
            continue
        ctx.nak(SetParams(ctx.next_version(), depth, speed), "§7.1", reason, detail)
    status = ctx.ack(Lease(ctx.pen.lease_min_ms), "§7.1")
    expect(
        (status.param_version, status.depth_um, status.speed_sps)
        == (kept.param_version, kept.depth_um, kept.speed_sps),
        "§7.1",
        f"a refused set changed the applied one: {kept!r} became {status!r}",
    )


def nak_order(ctx: Context) -> None:
    """§10: when several checks fail, the first in the stated order names the NAK."""
    ctx.reset()
    pen = ctx.pen
    high_depth = pen.depth_max_um + pen.depth_step_um
    high_speed = pen.speed_max_sps + pen.speed_step_sps
    applied = ctx.apply()
    v = applied.param_version
    ctx.nak(
        SetParams(v, high_depth, high_speed), "§10", NakReason.DEPTH_OUT_OF_RANGE, pen.depth_max_um
    )
    ctx.nak(
        SetParams(v, pen.depth_min_um + 1, high_speed), "§10", NakReason.OFF_STEP, pen.depth_step_um
    )
    ctx.nak(
        SetParams(v, pen.depth_min_um, high_speed),
        "§10",
        NakReason.SPEED_OUT_OF_RANGE,
        pen.speed_max_sps,
    )
    ctx.nak(Start(v + 7), "§10", NakReason.PARAM_VERSION_MISMATCH, v & 0xFFFF)
    ctx.ack(EStop(StopReason.OPERATOR), "§7.4")
    ctx.nak(SetParams(ctx.next_version(), high_depth, 0), "§10", NakReason.ESTOPPED, 0)
    ctx.nak(
        ClearFault(FaultCode.LEASE_EXPIRED), "§7.10", NakReason.WRONG_FAULT, int(FaultCode.ESTOP)
    )
    ctx.ack(ClearFault(FaultCode.ESTOP), "§7.4")


def start_preconditions(ctx: Context) -> None:
    """§7.3: START only with a set named by version, a live lease, no latch, a usable cartridge."""
    ctx.reset()
    ctx.runnable()
    ctx.nak(Start(1), "§7.3", NakReason.NO_PARAMS, 0)
    applied = ctx.apply()
    v = applied.param_version
    ctx.nak(Start(v + 1), "§7.3", NakReason.PARAM_VERSION_MISMATCH, v & 0xFFFF)
    ctx.nak(Start(v), "§7.3", NakReason.NO_LEASE, 0)
    ctx.ack(EStop(StopReason.OPERATOR), "§7.4")
    ctx.nak(Start(v), "§7.3", NakReason.ESTOPPED, 0)
    ctx.ack(ClearFault(FaultCode.ESTOP), "§7.4")


def start_running(ctx: Context) -> None:
    """§10: START while running with the applied version is ACKed and changes nothing."""
    ctx.reset()
    applied = ctx.run_motor()
    since = ctx.probe.mark()
    ack = ctx.ack(Start(applied.param_version), "§10")
    ctx.probe.wait_ms(ctx.reply_ms)
    expect(ack.pen_state is PenState.RUNNING, "§10", f"pen_state {ack.pen_state.name}")
    expect(not ctx.probe.events(since, EventCode.MOTOR_STARTED), "§10", "a second MOTOR_STARTED")
    changed = ctx.ack(SetParams(ctx.next_version(), *ctx.safe_set()), "§10")
    expect(
        changed.pen_state is PenState.RUNNING, "§10", "SET_PARAMS while running stopped the motor"
    )
    ctx.ack(Stop(StopReason.OPERATOR), "§7.4")
    ctx.settle_motor("§7.4")
    ctx.probe.keep_lease(None)


def lease_watchdog(ctx: Context) -> None:
    """§7.2 (S5): a lapse while running stops the motor at once, latches LEASE_EXPIRED."""
    ctx.reset()
    ctx.run_motor()
    lease_ms = ctx.lease_ms
    sent = ctx.lease(lease_ms)
    since = ctx.probe.mark()
    wait = lease_ms + ctx.reply_ms + 2 * ctx.pen.telemetry_period_ms
    lapse = ctx.probe.await_event(EventCode.LEASE_EXPIRED, since, "§7.2", wait)
    took = elapsed_ms(sent, lapse.at_ns)
    expect(
        lease_ms - 1 <= took <= lease_ms + ctx.reply_ms,
        "§7.2",
        f"the lease of {lease_ms} ms lapsed {took:.1f} ms after it was sent",
    )
    ctx.probe.await_event(
        EventCode.MOTOR_STOPPED, since, "§7.2", ctx.reply_ms, int(StopReason.LEASE_EXPIRED)
    )
    codes = [e.event for e in ctx.probe.events(since)]
    expect(
        codes[:3] == [EventCode.LEASE_EXPIRED, EventCode.FAULT_RAISED, EventCode.MOTOR_STOPPED],
        "§7.2",
        f"events {[c.name for c in codes]}; expected LEASE_EXPIRED, FAULT_RAISED, MOTOR_STOPPED",
    )
    sample = ctx.telemetry("§7.2")
    expect(
        sample.motor_state is MotorState.STOPPED and sample.speed_sps == 0,
        "§7.2",
        f"not stopped at once: {sample.motor_state.name} at {sample.speed_sps} strokes/s",
    )
    expect(
        sample.active_fault is FaultCode.LEASE_EXPIRED, "§7.2", f"fault {sample.active_fault.name}"
    )
    ack = ctx.ack(ClearFault(FaultCode.LEASE_EXPIRED), "§7.5")
    expect(ack.pen_state is PenState.IDLE, "§7.5", f"after CLEAR_FAULT: {ack.pen_state.name}")


def lease_idle(ctx: Context) -> None:
    """§7.2 and §10: a lapse while stopped, or while coasting after STOP, is not a fault."""
    ctx.reset()
    pen = ctx.pen
    ctx.apply()
    ctx.lease(pen.lease_min_ms)
    ctx.probe.wait_ms(pen.lease_min_ms + ctx.reply_ms)
    ctx.run_motor()
    ctx.lease(pen.lease_min_ms)
    since = ctx.probe.mark()
    ctx.ack(Stop(StopReason.OPERATOR), "§7.4")
    ctx.probe.wait_ms(pen.lease_min_ms + 2 * pen.telemetry_period_ms + ctx.reply_ms)
    sample = ctx.telemetry("§10")
    raised = ctx.probe.events(since, EventCode.FAULT_RAISED) + ctx.probe.events(
        since, EventCode.LEASE_EXPIRED
    )
    expect(
        not raised and sample.active_fault is FaultCode.NONE,
        "§10",
        f"a lease lapsing after STOP latched {sample.active_fault.name} ({raised!r})",
    )
    low, high = pen.lease_min_ms, pen.lease_max_ms
    ctx.nak(Lease(low - 1), "§4 LEASE", NakReason.LEASE_OUT_OF_RANGE, low)
    if high < 0xFFFF:
        ctx.nak(Lease(high + 1), "§4 LEASE", NakReason.LEASE_OUT_OF_RANGE, high)


def stop_every_state(ctx: Context) -> None:
    """§7.4 (S4): STOP is ACKed in every state; a running motor coasts to a stop."""
    ctx.reset()
    ctx.ack(Stop(StopReason.OPERATOR), "§7.4")
    applied = ctx.apply()
    since = ctx.probe.mark()
    ack = ctx.ack(Stop(StopReason.SESSION_END), "§7.4")
    expect(ack.param_version == applied.param_version, "§10", "STOP in READY discarded the set")
    ctx.run_motor()
    since = ctx.probe.mark()
    ack = ctx.ack(Stop(StopReason.AREA_COMPLETE), "§7.4")
    expect(ack.pen_state is PenState.READY, "§7.4", f"STOP's ACK says {ack.pen_state.name}")
    ctx.probe.await_event(
        EventCode.MOTOR_STOPPED, since, "§7.4", ctx.reply_ms, int(StopReason.AREA_COMPLETE)
    )
    ctx.settle_motor("§7.4")
    ctx.probe.keep_lease(None)
    ctx.ack(EStop(StopReason.OPERATOR), "§7.4")
    ack = ctx.ack(Stop(StopReason.OPERATOR), "§7.4")
    expect(ack.pen_state is PenState.ESTOPPED, "§7.4", "a STOP released the e-stop")
    ctx.ack(ClearFault(FaultCode.ESTOP), "§7.4")


def estop_every_state(ctx: Context) -> None:
    """§7.4 (S4): ESTOP brakes at once, discards the set, latches; release goes to IDLE."""
    ctx.reset()
    for prepare in ("idle", "ready", "running", "estopped"):
        since = ctx.probe.mark()
        if prepare == "ready":
            ctx.apply()
        elif prepare == "running":
            ctx.run_motor()
        elif prepare == "estopped":
            ctx.ack(EStop(StopReason.OPERATOR), "§7.4")
        mark = ctx.probe.mark()
        ack = ctx.ack(EStop(StopReason.ESTOP), "§7.4")
        expect(
            (ack.pen_state, ack.param_version) == (PenState.ESTOPPED, 0),
            "§7.4",
            f"ESTOP in {prepare}: ACK says {ack.pen_state.name}, version {ack.param_version}",
        )
        ctx.probe.await_event(EventCode.ESTOP_ENGAGED, since, "§7.4", ctx.reply_ms)
        ctx.probe.wait_ms(ctx.reply_ms)
        engaged = ctx.probe.events(since, EventCode.ESTOP_ENGAGED)
        expect(len(engaged) == 1, "§10", f"ESTOP in {prepare}: {len(engaged)} ESTOP_ENGAGED events")
        if prepare == "running":
            ctx.probe.await_event(
                EventCode.MOTOR_STOPPED, mark, "§7.4", ctx.reply_ms, int(StopReason.ESTOP)
            )
            sample = ctx.telemetry("§7.4")
            expect(
                sample.speed_sps == 0, "§7.4", f"ESTOP did not brake: {sample.speed_sps} strokes/s"
            )
            ctx.probe.keep_lease(None)
        release = ctx.ack(ClearFault(FaultCode.ESTOP), "§7.4")
        expect(
            release.pen_state is PenState.IDLE, "§7.4", f"released into {release.pen_state.name}"
        )


def stacked_faults(ctx: Context) -> None:
    """§7.10: the e-stop shows on top of a fault; each is cleared, newest first, then IDLE."""
    ctx.reset()
    ctx.run_motor()
    ctx.probe.keep_lease(None)
    since = ctx.probe.mark()
    ctx.probe.await_event(
        EventCode.FAULT_RAISED, since, "§7.2", ctx.lease_ms + 2 * ctx.reply_ms + 100
    )
    ctx.nak(
        SetParams(ctx.next_version(), *ctx.safe_set()),
        "§7.5",
        NakReason.FAULT_ACTIVE,
        int(FaultCode.LEASE_EXPIRED),
    )
    stopped = ctx.ack(Stop(StopReason.OPERATOR), "§7.4")
    expect(
        stopped.pen_state is PenState.FAULTED,
        "§7.4",
        f"STOP while faulted: {stopped.pen_state.name}",
    )
    ctx.ack(EStop(StopReason.OPERATOR), "§7.4")
    sample = ctx.telemetry("§7.10")
    expect(
        sample.active_fault is FaultCode.ESTOP, "§7.10", f"active fault {sample.active_fault.name}"
    )
    ctx.nak(
        ClearFault(FaultCode.LEASE_EXPIRED), "§7.10", NakReason.WRONG_FAULT, int(FaultCode.ESTOP)
    )
    ack = ctx.ack(ClearFault(FaultCode.ESTOP), "§7.10")
    expect(
        ack.pen_state is PenState.FAULTED,
        "§7.10",
        f"e-stop released into {ack.pen_state.name} with a fault still latched",
    )
    ack = ctx.ack(ClearFault(FaultCode.LEASE_EXPIRED), "§7.10")
    expect(ack.pen_state is PenState.IDLE, "§7.10", f"last fault cleared into {ack.pen_state.name}")
    ctx.nak(ClearFault(FaultCode.NONE), "§10", NakReason.BAD_STATE, int(PenState.IDLE))


def hello_while_running(ctx: Context) -> None:
    """§7.8: HELLO stops the motor (HOST_RESET) and discards the set and the lease."""
    ctx.reset()
    ctx.run_motor()
    ctx.probe.keep_lease(None)
    since = ctx.probe.mark()
    ack = ctx.ack(Hello(1), "§7.8")
    expect(
        (ack.pen_state, ack.param_version, ack.lease_remaining_ms) == (PenState.IDLE, 0, 0),
        "§7.8",
        f"after HELLO: {ack.pen_state.name}, version {ack.param_version}, "
        f"lease {ack.lease_remaining_ms} ms",
    )
    ctx.probe.await_event(
        EventCode.MOTOR_STOPPED, since, "§7.8", ctx.reply_ms, int(StopReason.HOST_RESET)
    )
    ctx.settle_motor("§7.8")


CASES = [
    Case("params-echo", "§5.3", "SET_PARAMS is echoed exactly, with params_crc", echo),
    Case("params-versions", "§4 SET_PARAMS", "versions rise; version 0 is refused", versions),
    Case("params-clamps", "§7.1", "limits, steps and the needle length", clamps),
    Case("nak-order", "§10", "the first failing check names the NAK", nak_order),
    Case(
        "start-preconditions",
        "§7.3",
        "START refused without set, version, lease",
        start_preconditions,
    ),
    Case("start-while-running", "§10", "START and SET_PARAMS while running", start_running),
    Case(
        "lease-watchdog",
        "§7.2",
        "a lapse while running stops and latches (measured)",
        lease_watchdog,
    ),
    Case(
        "lease-idle",
        "§7.2",
        "a lapse while stopped or coasting is no fault; lease range",
        lease_idle,
    ),
    Case("stop", "§7.4", "STOP in every state; the motor stops", stop_every_state),
    Case(
        "estop", "§7.4", "ESTOP in every state brakes, latches, releases to IDLE", estop_every_state
    ),
    Case("stacked-faults", "§7.10", "e-stop over a fault; cleared newest first", stacked_faults),
    Case(
        "hello-while-running",
        "§7.8",
        "HELLO stops the motor and drops set and lease",
        hello_while_running,
    ),
]
