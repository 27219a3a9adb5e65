"""What an operator can ask of the controller: one immutable value per action.

The console and scripted sessions build these and hand them to `Controller.submit`; nothing else
changes the controller. `name` is the key `Controller.allowed()` answers for, so a console can
grey out a key and say why before the operator presses it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal

from firmware_bridge.protocol import StopReason

Answer = Literal["yes", "no"]


@dataclass(frozen=True, slots=True)
class Action:
    name: ClassVar[str]


@dataclass(frozen=True, slots=True)
class Connect(Action):
    """Open the pen's port and identify it; also the operator's reconnect after a link loss."""

    name: ClassVar[str] = "connect"


@dataclass(frozen=True, slots=True)
class Intake(Action):
    """Consultation and screening. `answers` maps every policy contraindication id to yes/no;
    `caution_notes` holds the confirmed note for each caution answered yes."""

    name: ClassVar[str] = "intake"
    patient: str  # a pseudonym, never a name
    profile: str
    areas: tuple[str, ...]
    skin_type: int  # Fitzpatrick I-VI as 1-6
    answers: dict[str, Answer] = field(default_factory=dict)
    caution_notes: dict[str, str] = field(default_factory=dict)
    interval_override: str | None = None  # a reason: treat although the interval is too short
    level: str | None = None  # the practitioner's level in the policy; its default if None


@dataclass(frozen=True, slots=True)
class Consent(Action):
    """Expectations explained and consent recorded with the planned course."""

    name: ClassVar[str] = "consent"
    form_id: str
    form_version: str
    method: Literal["written", "electronic", "verbal"] = "written"
    planned_sessions: int = 3
    spacing_days: int | None = None  # the policy's interval for the concern if None
    witness: str | None = None
    given: bool = True


@dataclass(frozen=True, slots=True)
class Cleanse(Action):
    """Skin cleansed: before the numbing cream, and again after it is removed."""

    name: ClassVar[str] = "cleanse"


@dataclass(frozen=True, slots=True)
class ApplyNumbing(Action):
    name: ClassVar[str] = "apply_numbing"
    agent: str


@dataclass(frozen=True, slots=True)
class RemoveNumbing(Action):
    name: ClassVar[str] = "remove_numbing"


@dataclass(frozen=True, slots=True)
class CheckCartridge(Action):
    """Take the cartridge the pen reports: fresh, in date, never seen used in this journal (S8)."""

    name: ClassVar[str] = "check_cartridge"


@dataclass(frozen=True, slots=True)
class AddPhoto(Action):
    """A before or after photo, kept outside the journal and pinned by its SHA-256."""

    name: ClassVar[str] = "add_photo"
    phase: Literal["before", "after"]
    path: str
    sha256: str
    area: str | None = None


@dataclass(frozen=True, slots=True)
class BeginTreatment(Action):
    name: ClassVar[str] = "begin_treatment"


@dataclass(frozen=True, slots=True)
class SelectArea(Action):
    """Make `area` current: its effective limits are computed and its defaults proposed."""

    name: ClassVar[str] = "select_area"
    area: str


@dataclass(frozen=True, slots=True)
class Adjust(Action):
    """New depth and/or speed for the current area; `confirm_reason` crosses a soft limit (S2)."""

    name: ClassVar[str] = "adjust"
    depth_um: int | None = None
    speed_sps: int | None = None
    confirm_reason: str | None = None


@dataclass(frozen=True, slots=True)
class Arm(Action):
    """Send the proposed set to the pen; armed once its echo matches (S3)."""

    name: ClassVar[str] = "arm"


@dataclass(frozen=True, slots=True)
class Start(Action):
    name: ClassVar[str] = "start"


@dataclass(frozen=True, slots=True)
class Pause(Action):
    name: ClassVar[str] = "pause"


@dataclass(frozen=True, slots=True)
class Stop(Action):
    """Stop the needle now: written to the pen from the caller's thread, journaled after (S4)."""

    name: ClassVar[str] = "stop"
    reason: StopReason = StopReason.OPERATOR


@dataclass(frozen=True, slots=True)
class EStop(Action):
    """The emergency stop: written at once, latched until acknowledged (S4)."""

    name: ClassVar[str] = "estop"


@dataclass(frozen=True, slots=True)
class Acknowledge(Action):
    """The operator's acknowledgement of a latched fault, e-stop or alarm; never a restart (S6)."""

    name: ClassVar[str] = "acknowledge"
    note: str | None = None


@dataclass(frozen=True, slots=True)
class CompleteArea(Action):
    name: ClassVar[str] = "complete_area"


@dataclass(frozen=True, slots=True)
class FinishTreatment(Action):
    name: ClassVar[str] = "finish_treatment"


@dataclass(frozen=True, slots=True)
class Aftercare(Action):
    """Immediate effects observed, instructions given, the follow-up from the policy."""

    name: ClassVar[str] = "aftercare"
    sheet_id: str
    sheet_version: str
    method: Literal["printed", "emailed", "verbal"] = "printed"
    effects: tuple[str, ...] = ()  # e.g. "redness", "swelling", "pinpoint_bleeding"


@dataclass(frozen=True, slots=True)
class Abort(Action):
    """End the session now, needle stopped first, with the reason journaled."""

    name: ClassVar[str] = "abort"
    reason: str


ALL_ACTIONS: tuple[type[Action], ...] = (
    Connect,
    Intake,
    Consent,
    Cleanse,
    ApplyNumbing,
    RemoveNumbing,
    CheckCartridge,
    AddPhoto,
    BeginTreatment,
    SelectArea,
    Adjust,
    Arm,
    Start,
    Pause,
    Stop,
    EStop,
    Acknowledge,
    CompleteArea,
    FinishTreatment,
    Aftercare,
    Abort,
)
