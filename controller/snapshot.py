"""An immutable picture of everything the operator should see, rebuilt by the owner after each
event. The console reads it at 10-20 Hz and holds no state of its own; a reader never waits for
the controller and never sees a half-made picture (the owner swaps one reference).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from controller.machines import Device, Step


@dataclass(frozen=True, slots=True)
class Permission:
    """Whether an action is possible now and, if not, why and what to do first."""

    ok: bool
    why: str = ""


@dataclass(frozen=True, slots=True)
class BoundView:
    value: int  # µm or strokes/s
    layer: str  # the layer that set it: device, cartridge, area, policy, level, profile
    sentence: str


@dataclass(frozen=True, slots=True)
class LimitsView:
    depth_min: BoundView
    depth_max: BoundView
    depth_soft_max: BoundView | None
    speed_min: BoundView
    speed_max: BoundView
    depth_step_um: int
    speed_step_sps: int


@dataclass(frozen=True, slots=True)
class ParamsView:
    depth_um: int
    speed_sps: int
    param_version: int | None = None  # None: proposed, not yet sent
    confirm_reason: str | None = None


@dataclass(frozen=True, slots=True)
class AreaView:
    area: str
    passes: int
    time_ms: int
    max_passes: int
    max_time_ms: int
    done: bool


@dataclass(frozen=True, slots=True)
class TelemetryView:
    depth_um: int
    speed_sps: int
    current_ma: int
    temperature_cdeg: int
    battery_pct: int
    motor: str
    pen_state: str
    lease_remaining_ms: int
    depth_history_um: tuple[int, ...] = ()
    speed_history_sps: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class AlarmView:
    alarm_id: str
    priority: str  # high, medium, low
    what: str
    did: str
    next: str
    latched: bool
    raised_at_ns: int


@dataclass(frozen=True, slots=True)
class PenView:
    model: str
    serial: str
    firmware: str
    cartridge_serial: str | None
    cartridge_state: str | None
    needle_length_um: int | None
    expiry: str | None


@dataclass(frozen=True, slots=True)
class Snapshot:
    at_ns: int
    step: Step
    device: Device
    link: str
    pen: PenView | None
    patient: str | None
    profile: str | None
    area: str | None
    areas: tuple[AreaView, ...]
    limits: LimitsView | None
    proposed: ParamsView | None  # what the operator asked for, not yet confirmed
    confirmed: ParamsView | None  # what the pen echoed back (S3): the only values shown as set
    telemetry: TelemetryView | None
    alarms: tuple[AlarmView, ...]
    numbing_remaining_ms: int | None
    checklist: dict[str, bool] = field(default_factory=dict)
    follow_up: str | None = None
    journal_dir: str | None = None  # where the journal is written
    session_number: int | None = None  # the open session, else the newest closed one
    link_quality: dict[str, int] = field(default_factory=dict)
    last_refusal: str | None = None
    head_fingerprint: str | None = None  # the journal's latest signed head, SEQ:HASH16
    witness_error: str | None = None  # why the last copy of the head to the witness failed
    actions_handled: int = 0  # the ticket of the last operator action handled (Controller.submit)
