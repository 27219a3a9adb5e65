"""Where each queued item goes: operator actions to their handlers (once `allowed` says yes),
stops to their bookkeeping, link outputs to the pen's handlers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from controller import actions as act
from controller import inputs, pen_events, steps, treatment
from controller.core import StopSent
from controller.permissions import allowed

if TYPE_CHECKING:
    from collections.abc import Callable

    from controller.core import Controller

HANDLERS: dict[type[act.Action], Callable[[Controller, act.Action], None]] = {
    act.Connect: pen_events.connect,
    act.Intake: steps.intake,
    act.Consent: steps.consent,
    act.Cleanse: steps.cleanse,
    act.ApplyNumbing: steps.apply_numbing,
    act.RemoveNumbing: steps.remove_numbing,
    act.CheckCartridge: steps.check_cartridge,
    act.AddPhoto: steps.add_photo,
    act.BeginTreatment: steps.begin_treatment,
    act.SelectArea: treatment.select_area,
    act.Adjust: treatment.adjust,
    act.Arm: treatment.arm,
    act.Start: treatment.start,
    act.Pause: treatment.pause,
    act.Acknowledge: treatment.acknowledge,
    act.CompleteArea: treatment.complete_area,
    act.FinishTreatment: steps.finish_treatment,
    act.Aftercare: steps.aftercare,
    act.Abort: steps.abort,
}


def handle(ctl: Controller, item: object) -> None:
    if isinstance(item, StopSent):
        treatment.stop_sent(ctl, item)
    elif isinstance(item, act.Action):
        _action(ctl, item)
    else:
        pen_events.handle(ctl, item)


def _action(ctl: Controller, action: act.Action) -> None:
    permission = allowed(ctl)[action.name]
    if not permission.ok:
        ctl.refuse(action, permission.why)
        return
    bad_input = inputs.problem(action)
    if bad_input is not None:
        ctl.refuse(action, bad_input)
        return
    ctl.last_refusal = None
    HANDLERS[type(action)](ctl, action)
