"""What the pen says, turned into state: link outputs handled on the owner, one function each.

The host's view of the pen comes only from here (S3: the snapshot shows what the pen confirmed,
never what was merely requested), and every pen report that stops the needle is journaled after
the stop (S7).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from controller import actions as act
from controller.alarms import FAULT_ALARMS
from controller.core import LEASE_MS
from controller.journal.records import ActionRefused, NeedleStop, ParamsApplied
from controller.machines import Device
from controller.progress import ParamSet
from controller.supervisor import Commanded
from firmware_bridge.clock import NS_PER_MS
from firmware_bridge.link import (
    CartridgeReported,
    Confirmed,
    EchoMismatch,
    Failed,
    Identified,
    LinkState,
    LinkStateChanged,
    PenEventReceived,
    Refused,
    TelemetryReceived,
    nak_words,
)
from firmware_bridge.protocol import (
    CartridgeState,
    EventCode,
    FaultCode,
    MotorState,
    NakReason,
    PenState,
    StopReason,
)

if TYPE_CHECKING:
    from controller.core import Controller

_LOST = (LinkState.LOST, LinkState.PEN_REBOOTED)


def connect(ctl: Controller, action: act.Action) -> None:
    """Open the pen's port (or reopen it after a loss) and say HELLO; identified comes later."""
    trigger = "connect" if ctl.device_state is Device.DISCONNECTED else "reconnect"
    ctl.fire("device", trigger)
    try:
        if ctl.pen is None:
            ctl.pen = ctl._open_pen()
            ctl.pen.subscribe(ctl.on_link)
        else:
            ctl.pen.reopen()
    except Exception as exc:  # PortError and what pyserial raises: said, never a traceback
        ctl.last_refusal = f"connect: {exc}"
        ctl.fire("device", "port_failed")
        return
    ctl.fire("device", "port_open")
    ctl.pen.hello()


def handle(ctl: Controller, output: object) -> None:
    if isinstance(output, TelemetryReceived):
        _telemetry(ctl, output)
    elif isinstance(output, PenEventReceived):
        _event(ctl, output)
    elif isinstance(output, Confirmed | Refused | Failed | EchoMismatch):
        _outcome(ctl, output)
    elif isinstance(output, Identified):
        _identified(ctl, output)
    elif isinstance(output, CartridgeReported):
        ctl.facts.cartridge = output.cartridge
        if output.cartridge.serial != ctl.progress.cartridge_serial:
            # Another cartridge, or none (swapped while the link was down, say, its EVENT lost):
            # not the one checked (S1, S8).
            ctl.progress.cartridge_serial = None
    elif isinstance(output, LinkStateChanged):
        _link_state(ctl, output)


def _identified(ctl: Controller, output: Identified) -> None:
    ctl.facts.identify = output.identify
    ctl.supervisor = type(ctl.supervisor)(output.identify.telemetry_period_ms)
    if ctl.device_state is not Device.IDENTIFYING:
        return
    if ctl.estop_unwritten and ctl.pen is not None:
        # An e-stop pressed before any pen was open is delivered now, and holds until the
        # operator acknowledges it (S4): connecting is never a way around it.
        ctl.pen.estop()
        ctl.estop_unwritten = False
        ctl.fire("device", "estop")
        return
    ctl.fire("device", "identified")


def _link_state(ctl: Controller, change: LinkStateChanged) -> None:
    if change.new is LinkState.REFUSED and ctl.can("device", "hello_refused"):
        ctl.last_refusal = f"connect: {change.why}"
        ctl.fire("device", "hello_refused")
        return
    if change.new not in _LOST or ctl.device_state in (Device.LINK_LOST, Device.DISCONNECTED):
        return
    was_running = ctl.device_state in (Device.RUNNING, Device.STOPPING)
    if was_running:
        ctl.stop_needle(StopReason.LINK_LOSS, change.why)
    ctl.progress.confirmed = None
    if change.new is LinkState.PEN_REBOOTED:
        ctl.raise_alarm("PEN_REBOOTED", {})
    else:
        ctl.raise_alarm("LINK_LOST", {"cause": change.why, "lease_ms": str(LEASE_MS)})
    if ctl.can("device", "link_lost"):
        ctl.fire("device", "link_lost")


def _telemetry(ctl: Controller, received: TelemetryReceived) -> None:
    frame = received.telemetry
    facts = ctl.facts
    facts.telemetry = frame
    facts.depth_history.append(frame.depth_um)
    facts.speed_history.append(frame.speed_sps)
    if frame.cartridge_state in (CartridgeState.ABSENT, CartridgeState.UNREADABLE):
        ctl.progress.cartridge_serial = None  # gone, whether or not its EVENT reached us (S8)
    confirmed = ctl.progress.confirmed
    commanded = Commanded(
        None if confirmed is None else confirmed.depth_um,
        None if confirmed is None else confirmed.speed_sps,
        _may_run(ctl, received),
    )
    for condition in ctl.supervisor.check(frame, received.missed, commanded):
        ctl.raise_alarm(condition.alarm_id, condition.values)
        if condition.alarm_id == "UNCOMMANDED_RUN":
            ctl.stop_needle(StopReason.HOST_FAULT, "the pen ran without a start (S1)")
            _latch(ctl)
        elif ctl.alarm_latches(condition.alarm_id):
            _latch(ctl)
    _pen_state(ctl, frame.pen_state, frame.active_fault, frame.motor_state)


def _may_run(ctl: Controller, received: TelemetryReceived) -> bool:
    """S1: the host lets the needle run while RUNNING or STOPPING. A frame that came while a
    stop of ours had been on its way for less than a lease shows the needle as it was before
    the pen saw that stop (a fault stops it from RUNNING straight to FAULT). A stop unanswered
    for longer excuses nothing: the pen hears the host (its lease holds) and does not answer."""
    if ctl.device_state in (Device.RUNNING, Device.STOPPING):
        return True
    waited = received.stop_waited_ns
    return waited is not None and waited <= LEASE_MS * NS_PER_MS


def _pen_state(ctl: Controller, pen: PenState, fault: FaultCode, motor: MotorState) -> None:
    """Follow what the pen reports: its own stops, faults and e-stop (S4, S6)."""
    device = ctl.device_state
    if pen is PenState.ESTOPPED and device is not Device.ESTOP and ctl.can("device", "estop"):
        ctl.raise_alarm("ESTOP_ENGAGED", {"by": "from the pen"})
        ctl.progress.end_pass(ctl, ctl.now_ns())
        ctl.progress.confirmed = None  # the pen discards its set on an e-stop (S3; protocol.md §7)
        ctl.fire("device", "estop")
    elif pen is PenState.FAULTED:
        _pen_fault(ctl, fault)  # one that names no fault is PEN_INTERNAL (FAULT_ALARMS)
    elif device is Device.STOPPING and motor is MotorState.STOPPED and _stops_answered(ctl):
        ctl.fire("device", "stopped")


def _stops_answered(ctl: Controller) -> bool:
    """S1: STOPPING ends only once the pen has acknowledged our stops. A motor reported stopped
    before that says nothing of a START still on the wire ahead of the STOP, which would start
    the needle after the console showed it paused."""
    return ctl.pen is None or ctl.pen.status().stops_unanswered == 0


def _pen_fault(ctl: Controller, fault: FaultCode) -> None:
    alarm_id = FAULT_ALARMS.get(fault, "PEN_INTERNAL")
    if any(a.alarm_id == alarm_id for a in ctl.alarms):
        # On show already (raised before a reconnect, say): the device still follows the pen
        # into the latch, or it shows IDLE with a fault nothing can clear (S6).
        _latch(ctl)
        return
    if ctl.device_state in (Device.RUNNING, Device.STOPPING):
        ctl.progress.end_pass(ctl, ctl.now_ns())
        ctl.record(NeedleStop(reason="fault", sent_mono_ns=ctl.now_ns(), detail=fault.name), "pen")
    values = {}
    telemetry = ctl.facts.telemetry
    if alarm_id in ("OVER_TEMPERATURE",) and telemetry is not None:
        values["temperature_c"] = f"{telemetry.temperature_cdeg / 100:.1f}"
    if alarm_id == "BATTERY_CRITICAL" and telemetry is not None:
        values["battery_pct"] = str(telemetry.battery_pct)
    if alarm_id == "ESTOP_ENGAGED":
        values["by"] = "from the pen"
    ctl.raise_alarm(alarm_id, values)
    _latch(ctl)


def _latch(ctl: Controller) -> None:
    ctl.progress.confirmed = None
    if ctl.can("device", "fault"):
        ctl.fire("device", "fault")


def _event(ctl: Controller, received: PenEventReceived) -> None:
    event = received.event
    code = event.event
    if code is EventCode.BUTTON_STOP and ctl.can("device", "button"):
        ctl.progress.end_pass(ctl, received.at_ns)
        ctl.record(NeedleStop(reason="button", sent_mono_ns=received.at_ns), "pen")
        ctl.raise_alarm("BUTTON_STOP", {})
        ctl.fire("device", "button")
    elif (
        code is EventCode.MOTOR_STOPPED
        and ctl.device_state is Device.STOPPING
        and _stops_answered(ctl)
    ):
        ctl.fire("device", "stopped")
    elif code is EventCode.CARTRIDGE_REMOVED and ctl.progress.cartridge_serial is not None:
        ctl.progress.cartridge_serial = None  # a pulled cartridge is never trusted again (S8)
    elif code is EventCode.FAULT_RAISED:
        try:
            _pen_fault(ctl, FaultCode(event.detail))
        except ValueError:
            _pen_fault(ctl, FaultCode.INTERNAL)


def _outcome(ctl: Controller, outcome: Confirmed | Refused | Failed | EchoMismatch) -> None:
    purpose = ctl.pending.pop(outcome.command_id, None)
    if purpose == "arm":
        _arm_outcome(ctl, outcome)
    elif purpose == "start" and not isinstance(outcome, Confirmed):
        why = _start_not_confirmed(outcome)
        ctl.progress.current and setattr(ctl.progress.current, "run_started_ns", None)
        ctl.last_refusal = f"start: {why}"
        ctl.record(ActionRefused(action="start", reason=why))
        if ctl.can("device", "start_refused"):
            ctl.fire("device", "start_refused")
    elif purpose == "clear":
        _clear_outcome(ctl, outcome)


def _start_not_confirmed(outcome: Refused | Failed | EchoMismatch) -> str:
    """In the operator's words: a NAK is the pen's refusal; a failure is the link's."""
    if isinstance(outcome, Refused):
        return f"the pen refused START: {nak_words(outcome.nak)}"
    if isinstance(outcome, Failed):
        return f"START was not confirmed by the pen: {outcome.why}"
    return "the pen answered START with an echo of other settings (S3)"


def _arm_outcome(ctl: Controller, outcome: Confirmed | Refused | Failed | EchoMismatch) -> None:
    """S3: every answer is journaled as it came; only the answer to the latest arm's set, while
    ARMING, confirms it or ends the arming. An answer to an earlier set (retransmitted and late)
    or one that comes after an e-stop, a latch or the area's completion decides nothing: the pen
    has discarded that set since, or another is on its way."""
    area = ctl.progress.area or "unknown"
    latest = outcome.command_id == ctl.progress.arm_command and ctl.device_state is Device.ARMING
    if isinstance(outcome, Confirmed):
        ack = outcome.ack
        ctl.record(
            ParamsApplied(
                param_version=ack.param_version,
                area=area,
                depth_um=ack.depth_um,
                speed_sps=ack.speed_sps,
                matches_request=True,
            ),
            "pen",
        )
        if latest:
            ctl.progress.confirmed = ParamSet(ack.depth_um, ack.speed_sps, ack.param_version)
            ctl.fire("device", "armed")
        return
    if isinstance(outcome, EchoMismatch):
        ack = outcome.ack
        ctl.record(
            ParamsApplied(
                param_version=max(1, ack.param_version),
                area=area,
                depth_um=ack.depth_um,
                speed_sps=ack.speed_sps,
                matches_request=False,
            ),
            "pen",
        )
        ctl.raise_alarm("ECHO_MISMATCH", {"detail": ", ".join(outcome.fields) + " differ"})
        _latch(ctl)
        return
    why = nak_words(outcome.nak) if isinstance(outcome, Refused) else outcome.why
    ctl.record(ActionRefused(action="arm", reason=f"the pen refused the settings: {why}"))
    if latest:
        ctl.last_refusal = f"arm: the pen refused the settings: {why}"
        ctl.fire("device", "arm_refused")


def _clear_outcome(ctl: Controller, outcome: Confirmed | Refused | Failed | EchoMismatch) -> None:
    """The pen's answer to the operator's acknowledgement: the alarms clear, with the operator's
    note, only once the pen says its latch is gone (S6)."""
    note, ctl.acknowledge_note = ctl.acknowledge_note, None
    if isinstance(outcome, Confirmed):
        if outcome.ack.pen_state is PenState.IDLE and ctl.can("device", "cleared"):
            ctl.clear_alarms(latched=True, note=note)
            ctl.fire("device", "cleared")
        return
    if (
        isinstance(outcome, Refused)
        and outcome.nak.reason is NakReason.WRONG_FAULT
        and outcome.nak.detail == FaultCode.NONE
        and ctl.can("device", "cleared")
    ):  # the pen has nothing latched (an e-stop that never reached it): the host's latch goes
        ctl.clear_alarms(latched=True, note=note)
        ctl.fire("device", "cleared")
        return
    why = nak_words(outcome.nak) if isinstance(outcome, Refused) else str(outcome)
    ctl.last_refusal = f"acknowledge: the pen did not clear the fault: {why}"
    ctl.record(ActionRefused(action="acknowledge", reason=f"the pen kept the fault: {why}"))
