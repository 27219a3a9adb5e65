"""The session workflow's handlers: intake and screening, consent, preparation, aftercare, abort.

Each runs only after `permissions.allowed` said yes, so each records and moves on; the checks
that could refuse live there, with their reasons, for the console to show before a key is pressed.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

from controller import actions as act
from controller.intake import screen
from controller.journal.format import utc_text
from controller.journal.records import (
    Aftercare,
    CartridgeFitted,
    ChecklistAnswer,
    Consent,
    FollowUp,
    Intake,
    Numbing,
    Override,
    Photo,
    Plan,
    SessionOpen,
)
from controller.machines import Device, Step
from controller.progress import AreaProgress
from firmware_bridge.clock import NS_PER_S
from firmware_bridge.protocol import StopReason

if TYPE_CHECKING:
    from controller.core import Controller

EXPECTATIONS = (
    "Redness like a sunburn for one to three days; mild swelling for a day or two.",
    "Pinpoint bruising or dryness may last up to a week; make-up can wait 24 hours.",
    "Results build over weeks and over the planned course, not after one session.",
    "Aftercare: gentle cleanser, no actives for a week, sunscreen SPF 30 or more daily.",
)


def intake(ctl: Controller, action: act.Action) -> None:
    assert isinstance(action, act.Intake)
    if ctl.step is not Step.INTAKE:
        ctl.new_session()
    verdict = screen(ctl, action)
    if verdict.problem:
        ctl.refuse(action, verdict.problem)
        return
    entry = ctl.library.find_profile(action.profile)
    identify = ctl.facts.identify
    assert verdict.profile is not None and identify is not None
    ctl.journal.open_session(
        SessionOpen(
            operator_id=ctl.operator,
            patient_pseudonym=action.patient,
            device_serial=identify.serial_number,
            firmware_version=identify.firmware_version,
            profile_name=verdict.profile.name,
            profile_sha256=_hex(getattr(entry, "content_hash", "")),
            policy_sha256=_hex(ctl.library.policy_hash),
            software_version=ctl.software_version,
        ),
        ctl.operator,
    )
    for alarm in ctl.alarms:  # what is on show as the session opens belongs in its record (S7)
        ctl.journal_alarm(alarm)
    _record_intake(ctl, action, verdict)
    if verdict.blocking:
        ctl.last_refusal = verdict.blocking
        ctl.fire("workflow", "intake_refused")
        ctl.close_session("aborted", verdict.blocking)
        return
    progress = ctl.progress
    progress.patient = action.patient
    progress.profile = verdict.profile
    progress.planned_areas = verdict.areas
    progress.level = verdict.level
    progress.skin_type = action.skin_type
    ctl.fire("workflow", "intake_done")


def _record_intake(ctl: Controller, action: act.Intake, verdict: object) -> None:
    from controller.intake import Screening

    assert isinstance(verdict, Screening) and verdict.profile is not None
    last = verdict.last_treatment
    ctl.record(
        Intake(
            concern=verdict.profile.concern.value,
            profile_name=verdict.profile.name,
            areas=list(verdict.areas),
            skin_type=action.skin_type,
            level=verdict.level,
            last_session_date=None if last is None else last.isoformat(),
            earliest_allowed_date=None
            if verdict.earliest is None
            else verdict.earliest.isoformat(),
        )
    )
    policy = ctl.library.policy
    for item_id, item in policy.contraindications.items():
        answer = action.answers.get(item_id, "no")
        note = action.caution_notes.get(item_id)
        ctl.record(ChecklistAnswer(item_id=item_id, question=item.text, answer=answer, note=note))
    if verdict.too_soon and action.interval_override:
        ctl.record(
            Override(
                rule="min_interval",
                reason=action.interval_override,
                detail=verdict.too_soon,
            )
        )
    for figure in ctl.library.loosened:  # the clinic's own safety figures, and who set them
        ctl.record(
            Override(
                rule="clinic_policy_loosened",
                reason=figure.reason,
                detail=f"{figure.figure}: {figure.clinic} (bundled: {figure.bundled}), "
                f"decided by {figure.by}",
            )
        )


def consent(ctl: Controller, action: act.Action) -> None:
    assert isinstance(action, act.Consent)
    profile = ctl.progress.profile
    assert profile is not None
    spacing = action.spacing_days or ctl.library.policy.interval_days(profile.concern)
    ctl.record(
        Consent(
            form_id=action.form_id,
            form_version=action.form_version,
            given=action.given,
            method=action.method,
            witness=action.witness,
        )
    )
    if not action.given:
        abort(ctl, act.Abort(reason="the patient did not give consent"))
        return
    ctl.record(
        Plan(
            planned_sessions=action.planned_sessions,
            spacing_days=spacing,
            expectations=list(EXPECTATIONS),
        )
    )
    ctl.progress.consent_given = True
    ctl.progress.spacing_days = spacing
    ctl.fire("workflow", "consent_given")


def cleanse(ctl: Controller, action: act.Action) -> None:
    progress = ctl.progress
    progress.cleanses += 1
    item = "cleanse" if progress.cleanses == 1 else "recleanse"
    question = (
        "Skin cleansed and make-up removed?"
        if item == "cleanse"
        else "Numbing cream removed fully and skin cleansed again?"
    )
    ctl.record(ChecklistAnswer(item_id=item, question=question, answer="yes"))


def apply_numbing(ctl: Controller, action: act.Action) -> None:
    assert isinstance(action, act.ApplyNumbing)
    progress = ctl.progress
    progress.numbing_agent = action.agent
    progress.numbing_applied_ns = ctl.now_ns()
    progress.numbing_applied_utc = utc_text(ctl.clock.wall_ns())
    ctl.record(Numbing(agent=action.agent, applied_at=progress.numbing_applied_utc))


def remove_numbing(ctl: Controller, action: act.Action) -> None:
    progress = ctl.progress
    progress.numbing_removed_ns = ctl.now_ns()
    assert progress.numbing_agent is not None and progress.numbing_applied_utc is not None
    ctl.record(
        Numbing(
            agent=progress.numbing_agent,
            applied_at=progress.numbing_applied_utc,
            removed_at=utc_text(ctl.clock.wall_ns()),
        )
    )


def check_cartridge(ctl: Controller, action: act.Action) -> None:
    cartridge = ctl.facts.cartridge
    assert cartridge is not None
    expiry = str(cartridge.expiry_yyyymmdd)
    ctl.record(
        CartridgeFitted(
            serial=cartridge.serial,
            lot=cartridge.lot,
            needle_count=cartridge.needle_count,
            needle_length_um=cartridge.needle_length_um,
            expiry=f"{expiry[:4]}-{expiry[4:6]}-{expiry[6:]}",
            state=cartridge.state.name,
        ),
        "pen",
    )
    ctl.progress.cartridge_serial = cartridge.serial


def add_photo(ctl: Controller, action: act.Action) -> None:
    assert isinstance(action, act.AddPhoto)
    ctl.record(Photo(phase=action.phase, path=action.path, sha256=action.sha256, area=action.area))


def begin_treatment(ctl: Controller, action: act.Action) -> None:
    profile = ctl.progress.profile
    assert profile is not None
    for area in ctl.progress.planned_areas:
        settings = profile.areas[area]  # type: ignore[index]
        ctl.progress.areas[area] = AreaProgress(
            area, settings.max_passes, settings.max_time_s * NS_PER_S
        )
    ctl.fire("workflow", "preparation_done")


def finish_treatment(ctl: Controller, action: act.Action) -> None:
    if ctl.device_state in (Device.ARMED, Device.PAUSED, Device.IDLE) and ctl.can(
        "device", "disarm"
    ):
        ctl.fire("device", "disarm")
    ctl.progress.area = None
    ctl.fire("workflow", "treatment_done")


def aftercare(ctl: Controller, action: act.Action) -> None:
    assert isinstance(action, act.Aftercare)
    for effect in action.effects:
        ctl.record(
            ChecklistAnswer(
                item_id=f"effect_{effect}",
                question=f"Immediate effect observed: {effect.replace('_', ' ')}?",
                answer="yes",
            )
        )
    ctl.record(
        Aftercare(
            sheet_id=action.sheet_id, sheet_version=action.sheet_version, method=action.method
        )
    )
    spacing = ctl.progress.spacing_days or 28
    today = date.fromisoformat(utc_text(ctl.clock.wall_ns())[:10])
    follow_up = (today + timedelta(days=spacing)).isoformat()
    ctl.progress.follow_up = follow_up
    ctl.record(FollowUp(date=follow_up, note=f"the policy's interval: {spacing} days"))
    ctl.fire("workflow", "aftercare_done")
    ctl.close_session("completed", "treatment, aftercare and follow-up recorded")


def abort(ctl: Controller, action: act.Action) -> None:
    """Needle stopped first, then the reason journaled and the session closed (S7)."""
    assert isinstance(action, act.Abort)
    if ctl.device_state in (Device.RUNNING, Device.STOPPING):
        ctl.stop_needle(StopReason.SESSION_END, f"session aborted: {action.reason}", ctl.operator)
        ctl.fire("device", "stop")
    ctl.fire("workflow", "abort")
    ctl.close_session("aborted", action.reason)


def _hex(content_hash: str) -> str:
    """The profile library's `sha256:<hex>` as the journal's bare hex."""
    return content_hash.removeprefix("sha256:")
