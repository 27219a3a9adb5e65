"""Operator input checked before its handler runs (S9): what the journal would refuse, refused here.

Each handler journals what the operator typed (a consent form's id, a photo's hash, an abort's
reason). A value the record's schema refuses used to raise inside the handler, half-way through
its work, and surface as HOST_INTERNAL. Here every such field is checked first against the very
constraint of the record field it ends up in, so the two cannot drift, and a bad value is refused
naming the field, the value and the rule, with nothing recorded or sent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cache
from typing import Annotated, Any

from pydantic import TypeAdapter, ValidationError

from controller import actions as act
from controller.journal import records as rec

# action field -> (record model, record field) it is written to
_FIELDS: dict[type[act.Action], tuple[tuple[str, type[rec.RecordData], str], ...]] = {
    act.Intake: (
        ("patient", rec.SessionOpen, "patient_pseudonym"),
        ("interval_override", rec.Override, "reason"),
    ),
    act.Consent: (
        ("form_id", rec.Consent, "form_id"),
        ("form_version", rec.Consent, "form_version"),
        ("method", rec.Consent, "method"),
        ("witness", rec.Consent, "witness"),
        ("planned_sessions", rec.Plan, "planned_sessions"),
        ("spacing_days", rec.Plan, "spacing_days"),
    ),
    act.ApplyNumbing: (("agent", rec.Numbing, "agent"),),
    act.AddPhoto: (
        ("phase", rec.Photo, "phase"),
        ("path", rec.Photo, "path"),
        ("sha256", rec.Photo, "sha256"),
        ("area", rec.Photo, "area"),
    ),
    act.Adjust: (("confirm_reason", rec.ParamsRequested, "override_reason"),),
    act.Acknowledge: (("note", rec.OperatorAck, "note"),),
    act.Aftercare: (
        ("sheet_id", rec.Aftercare, "sheet_id"),
        ("sheet_version", rec.Aftercare, "sheet_version"),
        ("method", rec.Aftercare, "method"),
    ),
    act.Abort: (("reason", rec.SessionClose, "reason"),),
}


def _items(action: act.Action) -> Iterable[tuple[str, Any, Any, type[rec.RecordData], str]]:
    """Values inside collections: (name, value as typed, value as recorded, model, field)."""
    if isinstance(action, act.Intake):
        for key, answer in action.answers.items():
            yield f"answers[{key!r}]", answer, answer, rec.ChecklistAnswer, "answer"
        for key, note in action.caution_notes.items():
            yield f"caution_notes[{key!r}]", note, note, rec.ChecklistAnswer, "note"
    elif isinstance(action, act.Aftercare):
        for effect in action.effects:
            item_id = f"effect_{effect}" if effect else ""
            yield "effects", effect, item_id, rec.ChecklistAnswer, "item_id"


def problem(action: act.Action) -> str | None:
    """Why the action's input cannot be recorded, or None when it can."""
    checks: list[tuple[str, Any, Any, type[rec.RecordData], str]] = [
        (name, getattr(action, name), getattr(action, name), model, field)
        for name, model, field in _FIELDS.get(type(action), ())
    ]
    checks += _items(action)
    for name, typed, recorded, model, field in checks:
        if recorded is None:  # not given: the handler uses its default
            continue
        why = _refusal(model, field, recorded)
        if why is not None:
            return (
                f"{name} {_shown(typed)}: {why}; nothing was recorded or sent. "
                "Correct it and try again."
            )
    return None


def _refusal(model: type[rec.RecordData], field: str, value: Any) -> str | None:
    try:
        _adapter(model, field)(value)
    except ValidationError as exc:
        return str(exc.errors()[0]["msg"]).lower()
    return None


@cache
def _adapter(model: type[rec.RecordData], field: str) -> Callable[[Any], Any]:
    info = model.model_fields[field]
    kind = Annotated[info.annotation, *info.metadata] if info.metadata else info.annotation
    adapter: TypeAdapter[Any] = TypeAdapter(kind)
    return lambda value: adapter.validate_python(value, strict=True)


def _shown(value: Any) -> str:
    """The value as a person can read it, never too long for a refusal's record."""
    text = ascii(value)
    return text if len(text) <= 60 else f"{text[:40]}... ({len(str(value))} characters)"
