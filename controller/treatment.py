"""Treatment, area by area: limits, adjustment, arming, running, pausing, stops and time limits.

The order that matters (S7): entering RUNNING is journaled durably before START is sent; a stop is
sent first and journaled after. A set reaches the pen only after `check_request` accepted it (or a
soft ceiling was confirmed with a reason, journaled: S2), and START names only a set the pen has
echoed back (S3).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from controller import actions as act
from controller.journal.records import NeedleStart, NeedleStop, ParamsRequested
from controller.machines import Device
from controller.progress import ParamSet
from firmware_bridge.clock import NS_PER_S
from firmware_bridge.protocol import ClearFault, FaultCode, PenState, Start, StopReason
from profiles import DeviceLimits, EffectiveLimits, check_request

if TYPE_CHECKING:
    from controller.core import Controller, StopSent

NEAR_FRACTION = 0.8  # warn when this share of the area's time is used


def device_limits(ctl: Controller) -> DeviceLimits | None:
    pen = ctl.facts.identify
    if pen is None:
        return None
    return DeviceLimits(
        depth_min_um=pen.depth_min_um,
        depth_max_um=pen.depth_max_um,
        depth_step_um=pen.depth_step_um,
        speed_min_sps=pen.speed_min_sps,
        speed_max_sps=pen.speed_max_sps,
        speed_step_sps=pen.speed_step_sps,
    )


def area_limits(ctl: Controller, area: str) -> EffectiveLimits | str:
    """The area's effective limits, or the refusal's message (which names the layers)."""
    device = device_limits(ctl)
    profile = ctl.progress.profile
    if device is None or profile is None:
        return "the pen is not identified"
    cartridge = ctl.facts.cartridge
    needle_um = None if cartridge is None else cartridge.needle_length_um
    limits = ctl.library.effective_limits(
        profile.name, area, device, needle_um or None, ctl.progress.level
    )
    return limits if isinstance(limits, EffectiveLimits) else limits.message


def select_area(ctl: Controller, action: act.Action) -> None:
    assert isinstance(action, act.SelectArea)
    area = ctl.library.find_area(action.area)
    name = getattr(area, "value", action.area)
    limits = area_limits(ctl, name)
    if isinstance(limits, str):
        ctl.refuse(action, limits)
        return
    if ctl.device_state in (Device.ARMED, Device.PAUSED):
        ctl.fire("device", "disarm")
    ctl.limits = limits
    ctl.progress.area = name
    ctl.progress.proposed = ParamSet(limits.start_depth_um, limits.start_speed_sps)
    ctl.progress.confirmed = None


def adjust(ctl: Controller, action: act.Action) -> None:
    """A new proposal; checked now so a refused or unconfirmed value never goes to the pen (S2)."""
    assert isinstance(action, act.Adjust)
    proposed = ctl.progress.proposed
    limits = ctl.limits
    assert proposed is not None and limits is not None
    depth = proposed.depth_um if action.depth_um is None else action.depth_um
    speed = proposed.speed_sps if action.speed_sps is None else action.speed_sps
    check = check_request(limits, depth, speed)
    verdict = check.verdict.value
    if verdict == "refused":
        ctl.refuse(action, check.message)
        return
    reason = action.confirm_reason if verdict == "needs_confirmation" else None
    if verdict == "needs_confirmation" and not (reason and reason.strip()):
        ctl.refuse(action, f"{check.message} Confirm with a reason to go deeper.")
        return
    ctl.progress.proposed = ParamSet(depth, speed, None, reason)


def arm(ctl: Controller, action: act.Action) -> None:
    proposed = ctl.progress.proposed
    pen = ctl.pen
    assert proposed is not None and pen is not None and ctl.progress.area is not None
    message = pen.params_message(depth_um=proposed.depth_um, speed_sps=proposed.speed_sps)
    ctl.progress.confirmed = None
    ctl.supervisor.reset_run()
    ctl.record(
        ParamsRequested(
            param_version=message.param_version,
            area=ctl.progress.area,
            depth_um=proposed.depth_um,
            speed_sps=proposed.speed_sps,
            override_reason=proposed.confirm_reason,
        )
    )
    ctl.fire("device", "arm")
    command = pen.send(message)
    ctl.pending[command] = "arm"
    ctl.progress.arm_command = command


def start(ctl: Controller, action: act.Action) -> None:
    """S7: NEEDLE_START is durable before START goes to the pen."""
    confirmed = ctl.progress.confirmed
    pen = ctl.pen
    assert confirmed is not None and confirmed.param_version is not None and pen is not None
    area = ctl.progress.area or ""
    ctl.record(
        NeedleStart(
            param_version=confirmed.param_version,
            area=area,
            depth_um=confirmed.depth_um,
            speed_sps=confirmed.speed_sps,
        )
    )
    if ctl.progress.cartridge_serial is not None:
        # Used from now on, for every later session of this controller too, not only for those
        # read from the journal when it started (S8; found by the model-based test).
        ctl.history.used_cartridges.add(ctl.progress.cartridge_serial)
    ctl.fire("device", "start")
    ctl.progress.begin_pass(ctl.now_ns())
    ctl.pending[pen.send(Start(confirmed.param_version))] = "start"


def pause(ctl: Controller, action: act.Action) -> None:
    ctl.stop_needle(StopReason.OPERATOR, "paused by the operator", ctl.operator)
    ctl.fire("device", "stop")


def stop_sent(ctl: Controller, sent: StopSent) -> None:
    """A stop written from the caller's thread: now its bookkeeping, in the owner (S4, S7)."""
    ctl.progress.end_pass(ctl, sent.sent_ns)
    detail = "emergency stop" if sent.estop else None
    ctl.record(
        NeedleStop(reason=sent.reason.label, sent_mono_ns=sent.sent_ns, detail=detail), sent.actor
    )
    if sent.estop:
        ctl.estop_unwritten = ctl.estop_unwritten or not sent.written
        ctl.progress.confirmed = None
        ctl.raise_alarm("ESTOP_ENGAGED", {"by": "from the console"})
        ctl.fire("device", "estop")
    else:
        ctl.fire("device", "stop")


_UNNAMED_FAULT = (
    "the pen reports itself faulted without naming the fault, so penctl cannot clear it; "
    "take the pen out of service and call service (PEN_INTERNAL)"
)


def acknowledge(ctl: Controller, action: act.Action) -> None:
    """S6: clear what is latched once the cause is gone; the set must be confirmed again."""
    assert isinstance(action, act.Acknowledge)
    ctl.estop_unwritten = False
    ctl.clear_alarms(latched=False, note=action.note)
    if ctl.device_state is Device.LINK_LOST:
        ctl.last_refusal = "acknowledge: the link is still lost; reconnect (R) first"
        return
    from controller.permissions import link_up

    linked = link_up(ctl)
    telemetry = ctl.facts.telemetry
    pen_fault = FaultCode.NONE if telemetry is None else telemetry.active_fault
    if ctl.device_state not in (Device.FAULT, Device.ESTOP):
        if linked and pen_fault is FaultCode.NONE:
            # A latch raised outside FAULT (a link lost, the pen rebooted) whose cause is gone:
            # the pen is back and reports no fault.
            ctl.clear_alarms(latched=True, note=action.note)
        return
    if not linked:
        # No pen to confirm the cause is gone, and IDLE would claim one: back to where the link
        # is, so that connecting is the next step (the pen's own latch shows again then).
        ctl.progress.confirmed = None
        ctl.fire("device", "disconnect" if ctl.pen is None else "link_lost")
        return
    if ctl.device_state is Device.ESTOP:
        # The host sent the e-stop: the pen's latch is released by CLEAR_FAULT(ESTOP) whatever
        # its last telemetry said (it may predate the e-stop); a pen without it says WRONG_FAULT.
        pen_fault = FaultCode.ESTOP
    faulted = telemetry is not None and telemetry.pen_state is PenState.FAULTED
    if pen_fault is FaultCode.NONE and faulted:
        # No fault to name in CLEAR_FAULT, and clearing here would be undone by the next frame.
        ctl.refuse(action, _UNNAMED_FAULT)
        return
    ctl.progress.confirmed = None
    if pen_fault is FaultCode.NONE:
        ctl.clear_alarms(latched=True, note=action.note)
        ctl.fire("device", "cleared")
        return
    assert ctl.pen is not None
    ctl.acknowledge_note = action.note
    ctl.pending[ctl.pen.send(ClearFault(pen_fault))] = "clear"


def complete_area(ctl: Controller, action: act.Action) -> None:
    current = ctl.progress.current
    if current is not None:
        current.done = True
    if ctl.can("device", "disarm"):
        ctl.fire("device", "disarm")
    ctl.progress.area = None
    ctl.progress.proposed = ctl.progress.confirmed = None
    ctl.limits = None


def on_tick(ctl: Controller) -> None:
    """The area's clock: warn as its time nears, stop the needle at its limits (profile)."""
    current = ctl.progress.current
    if current is None or ctl.device_state is not Device.RUNNING:
        return
    used_ns = current.time_now_ns(ctl.now_ns())
    if used_ns >= current.max_time_ns:
        limit = f"{current.max_time_ns // (60 * NS_PER_S)} min of needling time"
        ctl.stop_needle(StopReason.TIME_LIMIT, f"the area's {limit} reached")
        ctl.fire("device", "stop")
        ctl.raise_alarm("AREA_TIME_LIMIT", {"area": current.area, "limit": limit})
    elif not current.warned and used_ns >= NEAR_FRACTION * current.max_time_ns:
        current.warned = True
        left_s = (current.max_time_ns - used_ns) // NS_PER_S
        ctl.raise_alarm(
            "AREA_TIME_NEAR",
            {"area": current.area, "remaining": f"{left_s // 60} min {left_s % 60} s"},
        )
