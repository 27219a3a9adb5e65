"""Record types of the session journal: one pydantic model per type, checked on write and on verify.

Every model is strict (no coercion: `"500"` is not a depth), forbids unknown fields and holds only
JSON integers, strings, booleans, lists and null, so a record has exactly one canonical form.
Depths are integer micrometres and speeds integer strokes per second; people see millimetres.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from firmware_bridge.protocol.enums import StopReason as WireStopReason

# The largest integer every JSON tool reads exactly (a double's 53-bit mantissa; RFC 8785 §3.2.2.3)
MAX_SAFE_INTEGER = 2**53 - 1
SCHEMA_VERSION = 2  # 2: mono_ns and sent_mono_ns count from the session's origin (docs/journal.md)

Text = Annotated[str, StringConstraints(min_length=1, max_length=2000)]
Ident = Annotated[str, StringConstraints(min_length=1, max_length=128)]
Sha256Hex = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
HexBytes = Annotated[str, StringConstraints(pattern=r"^(?:[0-9a-f]{2})*$")]
KeyId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{16}$")]
PublicKeyHex = Sha256Hex  # 32 bytes in lowercase hex, like a SHA-256
SignatureHex = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{128}$")]


def _real_time(text: str) -> str:
    """The pattern checks the shape; this refuses times that do not exist (`02-30`, `25:00`)."""
    datetime.strptime(text[:19], "%Y-%m-%dT%H:%M:%S" if len(text) > 10 else "%Y-%m-%d")
    return text


# [0-9], not \d: the pattern engine's \d also matches other scripts' digits
UtcText = Annotated[
    str,
    StringConstraints(
        pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,9})?Z$"
    ),
    AfterValidator(_real_time),
]
DateText = Annotated[
    str, StringConstraints(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"), AfterValidator(_real_time)
]
DepthUm = Annotated[int, Field(ge=0)]
SpeedSps = Annotated[int, Field(ge=0)]
Scalar = str | int | bool | None

# The ones the journal writes itself; any other actor is an operator id.
MACHINE_ACTORS = frozenset({"controller", "pen", "system"})
ACTOR_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,63}$"

# The wire's StopReason table, by label ("link_loss"): declared once, in the protocol.
StopReason = Literal[tuple(reason.label for reason in WireStopReason)]  # type: ignore[valid-type]
Outcome = Literal["completed", "aborted", "faulted"]


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class RecordData(_Strict):
    """Base of every record's `data`; `record_type` is the `type` written beside it.

    `clock_fields` name fields that hold a reading of the controller's monotonic clock; the writer
    stores them, as it stores `mono_ns`, counted from the session's origin (docs/journal.md §2),
    so no record holds an integer beyond 2^53 however long the machine has been up."""

    record_type: ClassVar[str]
    clock_fields: ClassVar[tuple[str, ...]] = ()


class SessionOpen(RecordData):
    """Who, whom, with what: everything an auditor needs to tie the session to people and kit."""

    record_type: ClassVar[str] = "SESSION_OPEN"
    operator_id: Ident
    patient_pseudonym: Ident
    device_serial: Ident
    firmware_version: Ident
    cartridge_serial: Ident | None = None  # None until a cartridge is fitted (a CARTRIDGE record)
    cartridge_lot: Ident | None = None
    profile_name: Ident
    profile_sha256: Sha256Hex
    policy_sha256: Sha256Hex
    software_version: Ident


class Intake(RecordData):
    """The consultation: what is treated, where, on which skin, by which level of practitioner."""

    record_type: ClassVar[str] = "INTAKE"
    concern: Ident
    profile_name: Ident
    areas: list[Ident] = Field(min_length=1)
    skin_type: Annotated[int, Field(ge=1, le=6)]  # Fitzpatrick I-VI
    level: Ident
    last_session_date: DateText | None = None
    earliest_allowed_date: DateText | None = None


class Override(RecordData):
    """A rule set aside knowingly (e.g. a session inside the policy's interval), with the reason."""

    record_type: ClassVar[str] = "OVERRIDE"
    rule: Ident
    reason: Text
    detail: Text | None = None


class Plan(RecordData):
    """The course agreed with the consent, and the expectations explained."""

    record_type: ClassVar[str] = "PLAN"
    planned_sessions: Annotated[int, Field(ge=1, le=50)]
    spacing_days: Annotated[int, Field(ge=1, le=3650)]
    expectations: list[Text] = Field(min_length=1)


class CartridgeFitted(RecordData):
    """The cartridge fitted for this session, as the pen reported it (S8)."""

    record_type: ClassVar[str] = "CARTRIDGE"
    serial: Ident
    lot: Ident
    needle_count: Annotated[int, Field(ge=0, le=255)]
    needle_length_um: DepthUm
    expiry: DateText
    state: Ident


class ActionRefused(RecordData):
    """An operator action the controller refused, with the reason shown (S9: never silent)."""

    record_type: ClassVar[str] = "ACTION_REFUSED"
    action: Ident
    reason: Text


class ChecklistAnswer(RecordData):
    record_type: ClassVar[str] = "CHECKLIST"
    item_id: Ident
    question: Text
    answer: Literal["yes", "no", "not_applicable"]
    note: Text | None = None


class Consent(RecordData):
    record_type: ClassVar[str] = "CONSENT"
    form_id: Ident
    form_version: Ident
    given: bool
    method: Literal["written", "electronic", "verbal"]
    witness: Ident | None = None


class Numbing(RecordData):
    """Topical anaesthetic: when it went on and came off (it must come off before needling)."""

    record_type: ClassVar[str] = "NUMBING"
    agent: Text
    applied_at: UtcText
    removed_at: UtcText | None = None


class ParamsRequested(RecordData):
    """A parameter set asked of the pen; `override_reason` is the S2 soft-limit confirmation."""

    record_type: ClassVar[str] = "PARAMS_REQUESTED"
    param_version: Annotated[int, Field(ge=1)]
    area: Ident
    depth_um: DepthUm
    speed_sps: SpeedSps
    override_reason: Text | None = None


class ParamsApplied(RecordData):
    """What the pen echoed back for a parameter set (S3): the values that count."""

    record_type: ClassVar[str] = "PARAMS_APPLIED"
    param_version: Annotated[int, Field(ge=1)]
    area: Ident
    depth_um: DepthUm
    speed_sps: SpeedSps
    matches_request: bool


class NeedleStart(RecordData):
    record_type: ClassVar[str] = "NEEDLE_START"
    param_version: Annotated[int, Field(ge=1)]
    area: Ident
    depth_um: DepthUm
    speed_sps: SpeedSps


class NeedleStop(RecordData):
    """A stop, journaled after it was sent (S7); `sent_mono_ns` is when it went to the pen."""

    record_type: ClassVar[str] = "NEEDLE_STOP"
    clock_fields: ClassVar[tuple[str, ...]] = ("sent_mono_ns",)
    reason: StopReason
    sent_mono_ns: Annotated[int, Field(ge=0)]  # a clock reading; written rebased (journal.md §2)
    detail: Text | None = None


class AreaPass(RecordData):
    record_type: ClassVar[str] = "AREA_PASS"
    area: Ident
    pass_number: Annotated[int, Field(ge=1)]
    duration_ms: Annotated[int, Field(ge=0)]
    depth_um: DepthUm
    speed_sps: SpeedSps


class Alarm(RecordData):
    """An alarm condition with the raw pen frames (hex) that raised it."""

    record_type: ClassVar[str] = "ALARM"
    alarm_id: Ident
    priority: Literal["high", "medium", "low"]
    condition: Ident
    message: Text
    raw_frames: list[HexBytes] = Field(default_factory=list)


class Fault(RecordData):
    """A fault (latched unless stated otherwise) with the raw pen frames (hex) behind it."""

    record_type: ClassVar[str] = "FAULT"
    fault_id: Ident
    cause: Ident
    message: Text
    latched: bool = True
    raw_frames: list[HexBytes] = Field(default_factory=list)


class OperatorAck(RecordData):
    """An operator acknowledging an alarm or fault; `subject` is its alarm_id or fault_id."""

    record_type: ClassVar[str] = "OPERATOR_ACK"
    subject: Ident
    action: Literal["acknowledged", "silenced", "cleared"]
    note: Text | None = None


class StateChange(RecordData):
    record_type: ClassVar[str] = "STATE_CHANGE"
    machine: Ident
    from_state: Ident
    to_state: Ident
    trigger: Ident


class Aftercare(RecordData):
    record_type: ClassVar[str] = "AFTERCARE"
    sheet_id: Ident
    sheet_version: Ident
    method: Literal["printed", "emailed", "verbal"]


class FollowUp(RecordData):
    record_type: ClassVar[str] = "FOLLOW_UP"
    date: DateText
    note: Text | None = None


class Photo(RecordData):
    """A photo kept outside the journal, pinned by its SHA-256."""

    record_type: ClassVar[str] = "PHOTO"
    phase: Literal["before", "after"]
    path: Text
    sha256: Sha256Hex
    area: Ident | None = None


class Correction(RecordData):
    """Corrects an earlier record: the old one stays, this one says what changed and why."""

    record_type: ClassVar[str] = "CORRECTION"
    refers_to_seq: Annotated[int, Field(ge=1)]
    field: Ident
    before: Scalar
    after: Scalar
    reason: Text


class SessionClose(RecordData):
    record_type: ClassVar[str] = "SESSION_CLOSE"
    outcome: Outcome
    reason: Text


class Checkpoint(RecordData):
    """An Ed25519 signature over the hash of the record before it (see docs/journal.md)."""

    record_type: ClassVar[str] = "CHECKPOINT"
    algorithm: Literal["ed25519"]
    key_id: KeyId
    public_key: PublicKeyHex
    covers_seq: Annotated[int, Field(ge=1)]
    covers_hash: Sha256Hex
    signature: SignatureHex


class KeyHandover(RecordData):
    """The key in force hands the journal over to a new key (docs/journal.md §4): signed by the old
    key, so trust runs from a pinned key forward; written between sessions, after a closing
    checkpoint, and followed by a CHECKPOINT by the new key."""

    record_type: ClassVar[str] = "KEY_HANDOVER"
    algorithm: Literal["ed25519"]
    old_key_id: KeyId
    old_public_key: PublicKeyHex
    new_key_id: KeyId
    new_public_key: PublicKeyHex
    covers_seq: Annotated[int, Field(ge=1)]
    covers_hash: Sha256Hex
    reason: Text
    signature: SignatureHex


class KeptAside(_Strict):
    """A torn tail copied out of a session file before the file was cut back to its last record."""

    file: Ident
    offset: Annotated[int, Field(ge=0)]
    bytes: Annotated[int, Field(ge=1)]
    sha256: Sha256Hex


class Recovery(RecordData):
    """Written on the next start after a crash: what was found and kept aside."""

    record_type: ClassVar[str] = "RECOVERY"
    last_good_seq: Annotated[int, Field(ge=0)]
    kept_aside: list[KeptAside] = Field(default_factory=list)
    note: Text


DATA_MODELS: dict[str, type[RecordData]] = {
    model.record_type: model
    for model in (
        SessionOpen,
        Intake,
        Override,
        Plan,
        CartridgeFitted,
        ActionRefused,
        ChecklistAnswer,
        Consent,
        Numbing,
        ParamsRequested,
        ParamsApplied,
        NeedleStart,
        NeedleStop,
        AreaPass,
        Alarm,
        Fault,
        OperatorAck,
        StateChange,
        Aftercare,
        FollowUp,
        Photo,
        Correction,
        SessionClose,
        Checkpoint,
        KeyHandover,
        Recovery,
    )
}

# Records a session may hold after its SESSION_CLOSE.
AFTER_CLOSE = frozenset({"RECOVERY", "CHECKPOINT", "KEY_HANDOVER"})
