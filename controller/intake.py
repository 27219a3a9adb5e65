"""Screening an intake against the clinic policy and this patient's history.

Three kinds of answer, kept apart because they are handled apart:
- `problem`: the intake itself is incomplete or names something unknown; the action is refused
  with what to fix, and nothing is opened (S9);
- `blocking`: a blocking contraindication was answered yes; the session is opened, the answers are
  journaled and the session is refused, saying why (a clinical decision, kept on record);
- `too_soon`: this patient was treated on these areas within the policy's interval; refused,
  naming the last date and the earliest allowed one, unless an override gives a reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

from controller import actions as act
from controller.journal.format import utc_text
from profiles.names import UnknownName

if TYPE_CHECKING:
    from controller.core import Controller
    from profiles import Profile


@dataclass(frozen=True, slots=True)
class Screening:
    profile: Profile | None = None
    areas: tuple[str, ...] = ()
    level: str = ""
    problem: str | None = None
    blocking: str | None = None
    too_soon: str | None = None
    last_treatment: date | None = None
    earliest: date | None = None


def screen(ctl: Controller, intake: act.Intake) -> Screening:
    found = _profile_and_areas(ctl, intake)
    if isinstance(found, str):
        return Screening(problem=found)
    profile, areas = found
    policy = ctl.library.policy
    level = intake.level or policy.default_level
    problem = _answers_problem(ctl, intake) or _level_problem(ctl, level)
    if problem:
        return Screening(profile, areas, level, problem=problem)
    blocking = [
        item.text for key, item in policy.blocking().items() if intake.answers.get(key) == "yes"
    ]
    last, earliest, too_soon = _interval(ctl, intake.patient, profile, areas)
    verdict = Screening(profile, areas, level, last_treatment=last, earliest=earliest)
    if blocking:
        why = (
            f"Treatment refused: a blocking contraindication was answered yes ({blocking[0]}). "
            "No needle was used. Refer the patient to a doctor; record a new intake when it "
            "no longer applies."
        )
        return Screening(
            profile, areas, level, blocking=why, last_treatment=last, earliest=earliest
        )
    if too_soon and not intake.interval_override:
        return Screening(
            profile,
            areas,
            level,
            problem=too_soon,
            too_soon=too_soon,
            last_treatment=last,
            earliest=earliest,
        )
    if too_soon:
        return Screening(
            profile, areas, level, too_soon=too_soon, last_treatment=last, earliest=earliest
        )
    return verdict


def _profile_and_areas(
    ctl: Controller, intake: act.Intake
) -> tuple[Profile, tuple[str, ...]] | str:
    if not intake.patient.strip():
        return "give the patient's pseudonym (never a name)"
    if not 1 <= intake.skin_type <= 6:
        return f"skin type {intake.skin_type}: give the Fitzpatrick type as 1 to 6"
    entry = ctl.library.find_profile(intake.profile)
    if isinstance(entry, UnknownName):
        hint = f" Did you mean {entry.suggestions[0]}?" if entry.suggestions else ""
        return ctl.library.why_off(intake.profile) or f"no profile named {intake.profile!r}.{hint}"
    profile = entry.profile
    if not intake.areas:
        return "name at least one area to treat"
    areas: list[str] = []
    for name in intake.areas:
        area = ctl.library.find_area(name)
        if isinstance(area, UnknownName):
            hint = f" Did you mean {area.suggestions[0]}?" if area.suggestions else ""
            return f"no area named {name!r}.{hint}"
        if area not in profile.areas:
            covered = ", ".join(a.value for a in profile.areas)
            return f"profile {profile.name} does not cover {area.value} (it covers {covered})"
        areas.append(area.value)
    return profile, tuple(areas)


def _answers_problem(ctl: Controller, intake: act.Intake) -> str | None:
    policy = ctl.library.policy
    missing = [key for key in policy.contraindications if key not in intake.answers]
    if missing:
        return f"answer every screening question; missing: {', '.join(missing)}"
    unknown = [key for key in intake.answers if key not in policy.contraindications]
    if unknown:
        return f"unknown screening question(s): {', '.join(unknown)}"
    for key, item in policy.cautions().items():
        if intake.answers.get(key) == "yes" and not intake.caution_notes.get(key, "").strip():
            return f"a caution was answered yes ({item.text}): record a confirmed note for {key}"
    return None


def _level_problem(ctl: Controller, level: str) -> str | None:
    levels = ctl.library.policy.levels
    if level not in levels:
        return f"no practitioner level {level!r} in the policy ({', '.join(sorted(levels))})"
    return None


def _interval(
    ctl: Controller, patient: str, profile: Profile, areas: tuple[str, ...]
) -> tuple[date | None, date | None, str | None]:
    last = ctl.history.last_treatment(patient, set(areas))
    if last is None:
        return None, None, None
    days = ctl.library.policy.interval_days(profile.concern)
    earliest = last.day + timedelta(days=days)
    today = date.fromisoformat(utc_text(ctl.clock.wall_ns())[:10])
    if today >= earliest:
        return last.day, earliest, None
    why = (
        f"too soon: patient {patient} was last treated on these areas on {last.day.isoformat()}; "
        f"the policy asks {days} days for {profile.concern_label.lower()}, so the earliest date "
        f"is {earliest.isoformat()}. Give an override reason to treat anyway (journaled)."
    )
    return last.day, earliest, why
