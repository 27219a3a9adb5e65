"""Cases that need a person's hands: the pen's button, the cartridge, a power cycle (§7.6-§7.9).

In this order: a power cycle makes a cartridge that has run read LOCKED_OUT (§7.11), so the
cases that run the motor come first and the cartridge case ends by seating a fresh one."""

from __future__ import annotations

from firmware_bridge.conformance.context import Context, expect
from firmware_bridge.conformance.model import Case
from firmware_bridge.conformance.probe import Received
from firmware_bridge.protocol import (
    Cartridge,
    CartridgeState,
    ClearFault,
    EStop,
    Event,
    EventCode,
    FaultCode,
    GetStatus,
    NakReason,
    PenState,
    Start,
    Stop,
    StopReason,
    Telemetry,
)

ACT_WAIT_MS = 6000  # an act asked for "within 5 s", and a boot


def _await_boot(ctx: Context, since: int) -> Received:
    return ctx.probe.await_event(EventCode.BOOT, since, "§7.9", ACT_WAIT_MS)


def boot(ctx: Context) -> None:
    """§7.9: after a power cycle, EVENT BOOT at pen seq 0; nothing but stops before HELLO."""
    ctx.reset()
    since = ctx.probe.mark()
    ctx.act("power-cycle")
    found = _await_boot(ctx, since)
    event = found.message
    assert isinstance(event, Event)
    expect(event.event_counter == 0, "§4 EVENT", f"BOOT's event_counter is {event.event_counter}")
    expect(found.seq == 0, "§10", f"the pen's first frame after a reboot has seq {found.seq}")
    ctx.nak(GetStatus(), "§7.9", NakReason.NOT_IDENTIFIED, 0)
    ctx.ack(Stop(StopReason.OPERATOR), "§7.4")
    after_boot = ctx.probe.mark()
    ctx.probe.wait_ms(2 * ctx.pen.telemetry_period_ms)
    expect(
        not ctx.probe.of_type(Telemetry, after_boot),
        "§4 TELEMETRY",
        "TELEMETRY before a HELLO was accepted",
    )
    ack = ctx.hello()
    expect(ack.param_version == 0, "§7.9", "a set survived the reboot")


def estop_across_reboot(ctx: Context) -> None:
    """§7.9 (S4): the e-stop latch is non-volatile; only CLEAR_FAULT(ESTOP) releases it."""
    ctx.reset()
    ctx.ack(EStop(StopReason.OPERATOR), "§7.4")
    since = ctx.probe.mark()
    ctx.act("power-cycle")
    _await_boot(ctx, since)
    ack = ctx.hello()
    expect(
        ack.pen_state is PenState.ESTOPPED,
        "§7.9",
        f"after a reboot the e-stop latch is gone: the pen says {ack.pen_state.name}",
    )
    release = ctx.ack(ClearFault(FaultCode.ESTOP), "§7.9")
    expect(release.pen_state is PenState.IDLE, "§7.4", f"released into {release.pen_state.name}")


def button(ctx: Context) -> None:
    """§7.7: the button stops the motor at once; not a fault; START is needed again."""
    ctx.reset()
    ctx.runnable()
    since = ctx.probe.mark()
    ctx.act("press-button")
    ctx.run_motor()
    ctx.probe.await_event(EventCode.BUTTON_STOP, since, "§7.7", ACT_WAIT_MS)
    ctx.probe.await_event(
        EventCode.MOTOR_STOPPED, since, "§7.7", ctx.reply_ms, int(StopReason.BUTTON)
    )
    sample = ctx.telemetry("§7.7")
    ctx.probe.keep_lease(None)
    expect(
        (sample.pen_state, sample.active_fault, sample.speed_sps)
        == (PenState.READY, FaultCode.NONE, 0),
        "§7.7",
        f"after the button: {sample.pen_state.name}, fault {sample.active_fault.name}, "
        f"{sample.speed_sps} strokes/s",
    )


def cartridge(ctx: Context) -> None:
    """§7.5, §7.6, §10: a cartridge pulled while running latches and stops with reason
    CARTRIDGE_REMOVED; with none seated START is refused; seated again it is LOCKED_OUT."""
    ctx.reset()
    ctx.runnable()
    since = ctx.probe.mark()
    ctx.act("pull-cartridge")
    ctx.run_motor()
    ctx.probe.await_event(EventCode.CARTRIDGE_REMOVED, since, "§7.6", ACT_WAIT_MS)
    ctx.probe.await_event(
        EventCode.FAULT_RAISED, since, "§7.5", ctx.reply_ms, int(FaultCode.CARTRIDGE_REMOVED)
    )
    ctx.probe.await_event(
        EventCode.MOTOR_STOPPED, since, "§10", ctx.reply_ms, int(StopReason.CARTRIDGE_REMOVED)
    )
    ctx.probe.keep_lease(None)
    ack = ctx.ack(ClearFault(FaultCode.CARTRIDGE_REMOVED), "§7.5")
    expect(ack.pen_state is PenState.IDLE, "§7.5", f"cleared into {ack.pen_state.name}")
    applied = ctx.apply()
    ctx.nak(Start(applied.param_version), "§7.3", NakReason.NO_CARTRIDGE, 0)
    since = ctx.probe.mark()
    ctx.act("reseat-cartridge")
    ctx.probe.await_event(EventCode.CARTRIDGE_REATTACHED, since, "§7.6", ACT_WAIT_MS)
    ctx.probe.until(lambda: bool(ctx.probe.of_type(Cartridge, since)), ctx.reply_ms)
    reports = ctx.probe.of_type(Cartridge, since)
    expect(
        bool(reports) and reports[-1].state is CartridgeState.LOCKED_OUT,
        "§7.6",
        f"a used cartridge seated again reads {reports[-1].state.name if reports else 'nothing'}",
    )
    ctx.probe.keep_lease(ctx.lease_ms)
    applied = ctx.apply()
    ctx.nak(Start(applied.param_version), "§7.6", NakReason.CARTRIDGE_LOCKED_OUT, 0)
    ctx.probe.keep_lease(None)
    since = ctx.probe.mark()
    ctx.act("seat-fresh-cartridge")
    ctx.probe.until(lambda: bool(ctx.probe.of_type(Cartridge, since)), ACT_WAIT_MS)
    ctx.cartridge = (ctx.probe.of_type(Cartridge, since) or [ctx.cartridge])[-1]


CASES = [
    Case("button", "§7.7", "the pen's button stops the motor, no fault", button),
    Case(
        "cartridge", "§7.6", "a pulled cartridge latches; seated again it is locked out", cartridge
    ),
    Case("boot", "§7.9", "after a power cycle: BOOT, seq 0, only stops before HELLO", boot),
    Case("estop-reboot", "§7.9", "the e-stop latch survives a reboot", estop_across_reboot),
]
