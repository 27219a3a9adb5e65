"""`allowed()`: for every operator action, whether it is possible now and, if not, why.

Pure: it reads the controller and changes nothing, so the console can ask it ten times a second
to grey out keys and explain them. Each reason says what is missing and what to do first (S10).
The checks for START are S1 in full: treatment step, checklist, cartridge, confirmed set, lease.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from controller import actions as act
from controller.durations import ceil_s, min_s
from controller.machines import Device, Step
from controller.snapshot import Permission
from firmware_bridge.clock import NS_PER_S
from firmware_bridge.protocol import CartridgeState

if TYPE_CHECKING:
    from controller.core import Controller

YES = Permission(True)
_IDENTIFIED = (
    Device.IDLE,
    Device.ARMING,
    Device.ARMED,
    Device.RUNNING,
    Device.PAUSED,
    Device.STOPPING,
    Device.FAULT,
    Device.ESTOP,
)
_STILL = (Device.IDLE, Device.ARMED, Device.PAUSED)


def no(why: str) -> Permission:
    return Permission(False, why)


def allowed(ctl: Controller) -> dict[str, Permission]:
    return {cls.name: check(ctl) for cls, check in _CHECKS.items()}


def _step(ctl: Controller, step: Step, doing: str) -> Permission:
    if ctl.step is step:
        return YES
    return no(f"{doing} belongs to the {step.value} step; the session is at {ctl.step.value}")


def _connect(ctl: Controller) -> Permission:
    if ctl.device_state in (Device.DISCONNECTED, Device.LINK_LOST):
        return YES
    if ctl.device_state in (Device.FAULT, Device.ESTOP) and not link_up(ctl):
        return YES  # a latch set while the link was down: reconnect first, then acknowledge
    return no(f"the pen is {ctl.device_state.value}; connecting is for a lost or closed link")


def link_up(ctl: Controller) -> bool:
    pen = ctl.pen
    return pen is not None and pen.status().link.value == "up"


def _intake(ctl: Controller) -> Permission:
    if ctl.step not in (Step.INTAKE, Step.CLOSED, Step.REFUSED, Step.ABORTED):
        return no(f"a session is under way (step {ctl.step.value}); finish or abort it first")
    if ctl.device_state not in _IDENTIFIED or ctl.facts.identify is None:  # ESTOP needs no pen
        return no("connect and identify the pen first: the session records which pen is used")
    if ctl.journal.fault is not None:
        return no("the journal cannot be written: no session without a record (S7)")
    return YES


def _consent(ctl: Controller) -> Permission:
    return _step(ctl, Step.CONSENT, "consent")


def _cleanse(ctl: Controller) -> Permission:
    progress = ctl.progress
    if ctl.step is not Step.PREPARATION:
        return _step(ctl, Step.PREPARATION, "cleansing")
    if progress.cleanses == 0:
        return YES
    if progress.cleanses == 1 and progress.numbing_removed_ns is not None:
        return YES
    if progress.cleanses == 1:
        return no("cleanse again once the numbing cream has been removed")
    return no("the skin has been cleansed twice already")


def _apply_numbing(ctl: Controller) -> Permission:
    progress = ctl.progress
    if ctl.step is not Step.PREPARATION:
        return _step(ctl, Step.PREPARATION, "numbing")
    if progress.cleanses < 1:
        return no("cleanse the skin before the numbing cream goes on")
    if progress.numbing_removed_ns is not None:
        return no("the numbing cream was applied and removed already; go on with the cartridge")
    if progress.numbing_applied_ns is not None:
        return no("numbing cream is already on")
    return YES


def _remove_numbing(ctl: Controller) -> Permission:
    progress = ctl.progress
    if progress.numbing_applied_ns is None or progress.numbing_removed_ns is not None:
        return no("there is no numbing cream on to remove")
    dwell_ns = ctl.library.policy.numbing.min_dwell_s * NS_PER_S
    on_ns = ctl.now_ns() - progress.numbing_applied_ns
    if on_ns < dwell_ns:
        return no(
            f"the numbing cream has been on {min_s(on_ns // NS_PER_S)}; the policy asks "
            f"{min_s(dwell_ns // NS_PER_S)}: wait {min_s(ceil_s(dwell_ns - on_ns))} more"
        )
    return YES


def _check_cartridge(ctl: Controller) -> Permission:
    if ctl.step is not Step.PREPARATION:
        return _step(ctl, Step.PREPARATION, "checking the cartridge")
    if not link_up(ctl):
        return no(
            "the link to the pen is down, so what it last reported may not be the cartridge "
            "fitted now (S8): reconnect, then check the cartridge"
        )
    cartridge = ctl.facts.cartridge
    if cartridge is None or cartridge.state is CartridgeState.ABSENT:
        return no("fit a new cartridge from a sealed pack: the pen reports none")
    if cartridge.state is not CartridgeState.FRESH:
        state = cartridge.state.name.lower().replace("_", " ")
        return no(f"the pen reports the cartridge {state}; fit a new one from a sealed pack (S8)")
    if cartridge.serial in ctl.history.used_cartridges:
        return no(
            f"cartridge {cartridge.serial} was used in an earlier session; fit a new one (S8)"
        )
    return YES


def _add_photo(ctl: Controller) -> Permission:
    if ctl.step in (Step.PREPARATION, Step.TREATMENT, Step.AFTERCARE):
        return YES
    return no("photos belong to preparation (before) and aftercare (after)")


def _begin_treatment(ctl: Controller) -> Permission:
    if ctl.step is not Step.PREPARATION:
        return _step(ctl, Step.PREPARATION, "beginning treatment")
    missing = [item for item, done in _checklist(ctl).items() if not done]
    if missing:
        return no(f"the preparation checklist is not complete: {', '.join(missing)} (S1)")
    return YES


def _checklist(ctl: Controller) -> dict[str, bool]:
    return ctl.progress.checklist(ctl.library.policy.numbing.min_dwell_s * NS_PER_S)


def _select_area(ctl: Controller) -> Permission:
    if ctl.step is not Step.TREATMENT:
        return _step(ctl, Step.TREATMENT, "choosing an area")
    if ctl.device_state not in _STILL:
        return no(f"the pen is {ctl.device_state.value}; stop or acknowledge first")
    remaining = [a for a, p in ctl.progress.areas.items() if not p.done]
    if not remaining:
        return no("every planned area is done; finish the treatment")
    return YES


def _adjust(ctl: Controller) -> Permission:
    if ctl.step is not Step.TREATMENT:
        return _step(ctl, Step.TREATMENT, "setting depth and speed")
    if ctl.progress.area is None or ctl.limits is None:
        return no("choose an area first: its limits decide what may be set")
    if ctl.device_state not in _STILL:
        return no(f"the pen is {ctl.device_state.value}; pause before changing depth or speed")
    return YES


_UNRECORDED = (
    "the journal cannot be written: no treatment without a record (S7); abort the session, "
    "fix the storage and restart penctl"
)


def _arm(ctl: Controller) -> Permission:
    permission = _adjust(ctl)
    if not permission.ok:
        return permission
    if ctl.journal.fault is not None:
        return no(_UNRECORDED)
    latched = [a.alarm_id for a in ctl.alarms if a.latched]
    if latched:
        return no(f"acknowledge {', '.join(latched)} first")
    if ctl.progress.cartridge_serial is None:
        return no("the cartridge was removed: fit and check a new one (S8)")
    return YES


def _start(ctl: Controller) -> Permission:
    """S1: treatment step, checklist, cartridge, an echoed set equal to the proposal, a lease;
    and S7: a journal that can record the start."""
    if ctl.step is not Step.TREATMENT:
        return _step(ctl, Step.TREATMENT, "starting the needle")
    if ctl.journal.fault is not None:
        return no(_UNRECORDED)
    if ctl.device_state not in (Device.ARMED, Device.PAUSED):
        return no(f"the pen is {ctl.device_state.value}; apply the settings (arm) first")
    confirmed, proposed = ctl.progress.confirmed, ctl.progress.proposed
    if confirmed is None or proposed is None:
        return no("the pen has not confirmed the settings; apply them (arm) first (S3)")
    if (confirmed.depth_um, confirmed.speed_sps) != (proposed.depth_um, proposed.speed_sps):
        return no("the settings changed since the pen confirmed them; apply them again (S3)")
    if ctl.progress.cartridge_serial is None:
        return no("no checked cartridge; fit and check a new one (S8)")
    if not all(_checklist(ctl).values()):
        return no("the preparation checklist is not complete (S1)")
    current = ctl.progress.current
    if current is not None and current.passes >= current.max_passes:
        return no(f"{current.max_passes} passes done on {current.area}: the profile's maximum")
    if current is not None and current.time_now_ns(ctl.now_ns()) >= current.max_time_ns:
        return no(f"the profile's time on {current.area} is used; complete the area")
    telemetry = ctl.facts.telemetry
    if telemetry is None or telemetry.lease_remaining_ms == 0:
        return no("the pen reports no live lease yet; wait a moment and try again (S5)")
    if ctl.pen is not None and ctl.pen.status().stops_unanswered:
        return no(_STOP_UNANSWERED)
    return YES


_STOP_UNANSWERED = (
    "the pen has not yet acknowledged the last stop, and its repeat would stop this start "
    "(S1); wait a moment and try again"
)


def _pause(ctl: Controller) -> Permission:
    if ctl.device_state is Device.RUNNING:
        return YES
    return no("the needle is not running")


def _always(ctl: Controller) -> Permission:
    return YES


def _acknowledge(ctl: Controller) -> Permission:
    if ctl.alarms or ctl.device_state in (Device.FAULT, Device.ESTOP):
        return YES
    return no("there is nothing to acknowledge")


def _complete_area(ctl: Controller) -> Permission:
    if ctl.progress.area is None:
        return no("no area is current")
    if ctl.device_state not in _STILL and ctl.device_state not in (Device.FAULT, Device.ESTOP):
        return no(f"the pen is {ctl.device_state.value}; stop the needle first")
    return YES


def _finish_treatment(ctl: Controller) -> Permission:
    if ctl.step is not Step.TREATMENT:
        return _step(ctl, Step.TREATMENT, "finishing treatment")
    if ctl.device_state in (Device.RUNNING, Device.STOPPING, Device.ARMING):
        return no(f"the pen is {ctl.device_state.value}; stop the needle first")
    return YES


def _aftercare(ctl: Controller) -> Permission:
    return _step(ctl, Step.AFTERCARE, "aftercare")


def _abort(ctl: Controller) -> Permission:
    if ctl.step in (Step.CLOSED, Step.REFUSED, Step.ABORTED, Step.INTAKE):
        return no("no session is under way")
    return YES


_CHECKS: dict[type[act.Action], Callable[[Controller], Permission]] = {
    act.Connect: _connect,
    act.Intake: _intake,
    act.Consent: _consent,
    act.Cleanse: _cleanse,
    act.ApplyNumbing: _apply_numbing,
    act.RemoveNumbing: _remove_numbing,
    act.CheckCartridge: _check_cartridge,
    act.AddPhoto: _add_photo,
    act.BeginTreatment: _begin_treatment,
    act.SelectArea: _select_area,
    act.Adjust: _adjust,
    act.Arm: _arm,
    act.Start: _start,
    act.Pause: _pause,
    act.Stop: _always,
    act.EStop: _always,
    act.Acknowledge: _acknowledge,
    act.CompleteArea: _complete_area,
    act.FinishTreatment: _finish_treatment,
    act.Aftercare: _aftercare,
    act.Abort: _abort,
}
