"""Session scripts (docs/sessions.md): a whole session written down, for engineers and automation.

A script is TOML read into strict models (unknown keys refused), so a typo is an error that names
the file, the line, the field and what to write instead, never a session that silently does less.
Depths are millimetres as people write them, converted exactly to micrometres (0.2505 mm is
refused, not rounded).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from profiles import mm_to_um


class ScriptError(Exception):
    """The script cannot be used; the message names file, line, field, value and the fix."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class IntakeScript(_Strict):
    patient: str = Field(min_length=1, description="the patient's pseudonym, never a name")
    profile: str
    areas: list[str] = Field(min_length=1)
    skin_type: int = Field(ge=1, le=6, description="Fitzpatrick I-VI as 1-6")
    level: str | None = None
    answers: dict[str, Literal["yes", "no"]] = Field(
        default_factory=dict, description="screening answers; unlisted questions answer `no`"
    )
    caution_notes: dict[str, str] = Field(default_factory=dict)
    interval_override: str | None = None


class ConsentScript(_Strict):
    form_id: str = "consent"
    form_version: str = "1"
    method: Literal["written", "electronic", "verbal"] = "written"
    planned_sessions: int = Field(default=3, ge=1, le=50)
    spacing_days: int | None = Field(default=None, ge=1)
    witness: str | None = None


class PhotoScript(_Strict):
    path: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    area: str | None = None


class PreparationScript(_Strict):
    numbing_agent: str = "lidocaine 5% cream"
    numbing_minutes: float | None = Field(
        default=None, gt=0, description="dwell before removal; the policy's minimum if absent"
    )
    before_photos: list[PhotoScript] = Field(default_factory=list)


class AreaScript(_Strict):
    area: str
    depth_mm: float | None = None
    speed_sps: int | None = None
    confirm_reason: str | None = None
    run_s: float = Field(default=10.0, ge=0)
    pause_every_s: float | None = Field(default=None, gt=0)
    button_at_s: list[float] = Field(default_factory=list)
    expect_refusal: str | None = Field(
        default=None, description="the area is expected to be refused with this text; skipped"
    )

    @field_validator("depth_mm")
    @classmethod
    def _exact(cls, value: float | None) -> float | None:
        if value is None:
            return value
        try:
            mm_to_um(value)
        except ValueError as exc:
            raise ValueError(f"not a depth in millimetres: {exc}") from None
        return value

    @property
    def depth_um(self) -> int | None:
        return None if self.depth_mm is None else mm_to_um(self.depth_mm)


class AftercareScript(_Strict):
    sheet_id: str = "aftercare"
    sheet_version: str = "1"
    method: Literal["printed", "emailed", "verbal"] = "printed"
    effects: list[Literal["redness", "swelling", "pinpoint_bleeding"]] = Field(default_factory=list)
    after_photos: list[PhotoScript] = Field(default_factory=list)


class SessionScript(_Strict):
    description: str = ""
    operator: str | None = None
    intake: IntakeScript
    consent: ConsentScript = ConsentScript()
    preparation: PreparationScript = PreparationScript()
    area: list[AreaScript] = Field(min_length=1)
    aftercare: AftercareScript = AftercareScript()
    expect: Literal["completed", "refused", "aborted"] = "completed"


def load_script(path: str | Path) -> SessionScript:
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScriptError(f"{file}: cannot read the script ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise ScriptError(f"{file}: not UTF-8 text; save the script as UTF-8") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScriptError(f"{file}: not valid TOML: {exc}") from None
    try:
        return SessionScript.model_validate(data)
    except ValidationError as exc:
        raise ScriptError(_describe(file, text, exc)) from None


def _describe(file: Path, text: str, exc: ValidationError) -> str:
    lines = []
    for error in exc.errors():
        loc = ".".join(str(part) for part in error["loc"])
        value = error.get("input")
        shown = "" if isinstance(value, dict) else f": {value!r}"
        line = _line_of(text, error["loc"])
        where = f"{file}:{line}" if line else str(file)
        lines.append(f"{where}: {loc}{shown}: {error['msg']}")
    return "\n".join(lines)


def _line_of(text: str, loc: tuple[object, ...]) -> int | None:
    """The line of the key `loc` names: `("area", 1, "depth_mm")` is the first `depth_mm` after
    the second `[[area]]` header (a table's keys follow its header in TOML)."""
    lines = text.splitlines()
    start = 0
    found: int | None = None
    parts = list(loc)
    for i, part in enumerate(parts):
        if not isinstance(part, str):
            continue
        index = parts[i + 1] if i + 1 < len(parts) and isinstance(parts[i + 1], int) else None
        seen = -1
        for number in range(start, len(lines)):
            stripped = lines[number].strip()
            heads = (f"[[{part}]]", f"[{part}]")
            if stripped in heads or stripped.startswith((f"{part} ", f"{part}=")):
                seen += 1
                if index is None or seen == index:
                    found, start = number + 1, number + 1
                    break
    return found
