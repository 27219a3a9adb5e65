"""The controller's alarm catalogue, as data: every alarm penctl can raise, its priority and why.

Rules of this file (docs/alarms.md is generated from it; a test keeps the copy identical):

- Every alarm condition the controller raises is one `AlarmSpec` in `CATALOGUE`. Nothing else
  writes alarm text: the controller looks an alarm up by id (or a pen fault by `FAULT_ALARMS`) and
  calls `render()` with the figures it knows.
- Each priority is derived with IEC 60601-1-8 Table 1 (`table_1()`): `result` is the potential
  result of failure to respond to the cause (death/irreversible, reversible or minor), `onset` the
  onset of harm (immediate, prompt or delayed) *after* the automatic mitigation that is really in
  place, which `onset` names (the pen's lease watchdog, its own fault stops, penctl's STOP). Each
  of the two strings starts with its class and a colon, then gives the reasoning. A priority is
  never below Table 1's cell; it is above it only with an `escalation` that says why.
- Every high-priority alarm latches and stops the needle (safety.md §2.3).
- Every message names what happened, what the system did and what to do next (S10): three short
  sentences for a practitioner at the patient's side, each ending with a period, never a bare
  code. Figures are `{name}` fields (plain names, no format specs), documented once in `FIELDS`.
- Acknowledging an alarm never restarts the needle (S6): clearing a latched alarm needs its cause
  gone and the operator's acknowledgement, and running again needs the parameters confirmed again
  and a new START. Nothing here starts anything.

`python -m controller.alarms` prints the generated part of docs/alarms.md.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from firmware_bridge.protocol.enums import FaultCode


class Priority(StrEnum):
    """IEC 60601-1-8 alarm priority. Ordered by urgency: sorted() puts HIGH first."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def marker(self) -> str:
        """The text marker shown beside the alarm, so priority never rests on colour alone."""
        return _MARKERS[self]

    @property
    def urgency(self) -> int:
        """3 for HIGH, 2 for MEDIUM, 1 for LOW."""
        return _URGENCY[self]

    # str's own ordering would put "high" < "low" < "medium"; order by urgency instead, the most
    # urgent first: HIGH < MEDIUM < LOW.
    def __lt__(self, other: object) -> bool:
        if isinstance(other, Priority):
            return self.urgency > other.urgency
        return NotImplemented

    def __le__(self, other: object) -> bool:
        if isinstance(other, Priority):
            return self.urgency >= other.urgency
        return NotImplemented

    def __gt__(self, other: object) -> bool:
        if isinstance(other, Priority):
            return self.urgency < other.urgency
        return NotImplemented

    def __ge__(self, other: object) -> bool:
        if isinstance(other, Priority):
            return self.urgency <= other.urgency
        return NotImplemented


_MARKERS = {Priority.HIGH: "***", Priority.MEDIUM: "**", Priority.LOW: "*"}
_URGENCY = {Priority.HIGH: 3, Priority.MEDIUM: 2, Priority.LOW: 1}

# IEC 60601-1-8 Table 1 (safety.md §2.3): result of failure to respond × onset of harm. The
# minor × delayed cell allows "low, an information signal or none"; the catalogue only holds
# alarms, so it reads LOW.
RESULTS = ("death/irreversible", "reversible", "minor")
ONSETS = ("immediate", "prompt", "delayed")
_H, _M, _L = Priority.HIGH, Priority.MEDIUM, Priority.LOW
_TABLE_1: dict[tuple[str, str], Priority] = {
    ("death/irreversible", "immediate"): _H,
    ("death/irreversible", "prompt"): _H,
    ("death/irreversible", "delayed"): _M,
    ("reversible", "immediate"): _H,
    ("reversible", "prompt"): _M,
    ("reversible", "delayed"): _L,
    ("minor", "immediate"): _M,
    ("minor", "prompt"): _L,
    ("minor", "delayed"): _L,
}


def table_1(result: str, onset: str) -> Priority:
    """The priority IEC 60601-1-8 Table 1 gives a result class and an onset class."""
    return _TABLE_1[(result, onset)]


@dataclass(frozen=True, slots=True)
class FieldDoc:
    """One `{name}` field of the alarm texts: what the controller puts there, and an example."""

    meaning: str
    example: str


# Every field an alarm text may take. Values are strings the controller formats for people
# (millimetres with two decimals, whole strokes/s, °C with one decimal); render() only inserts them.
FIELDS: Mapping[str, FieldDoc] = MappingProxyType(
    {
        "cause": FieldDoc(
            "why the link is lost, in words (link.md §2: silence, no answer, port failed)",
            "no data for 150 ms",
        ),
        "lease_ms": FieldDoc("the lease penctl grants the pen, ms", "300"),
        "detail": FieldDoc(
            "the first difference between the pen's echo and what penctl sent",
            "depth 1.50 mm confirmed, 1.00 mm sent",
        ),
        "measured_mm": FieldDoc("the measured depth, mm", "1.72"),
        "applied_mm": FieldDoc("the depth the pen confirmed, mm", "1.50"),
        "tolerance_mm": FieldDoc("the allowed difference from the confirmed depth, mm", "0.15"),
        "measured_sps": FieldDoc("the measured speed, strokes/s", "96"),
        "applied_sps": FieldDoc("the speed the pen confirmed, strokes/s", "120"),
        "readings": FieldDoc("how many readings in a row were out of tolerance", "3"),
        "temperature_c": FieldDoc("the handpiece temperature from telemetry, °C", "42.5"),
        "battery_pct": FieldDoc("the battery charge from telemetry, %", "12"),
        "serial": FieldDoc("the cartridge's serial number", "CT-0042-1187"),
        "reason": FieldDoc(
            "why the cartridge is refused, in words",
            "it was used in an earlier session",
        ),
        "by": FieldDoc("where the emergency stop came from", "from the console"),
        "error": FieldDoc("the storage error, in words", "the disk is full"),
        "missed": FieldDoc("telemetry frames lost in the window", "7"),
        "expected": FieldDoc("telemetry frames expected in the window", "100"),
        "silence_ms": FieldDoc("the silence that counts as link loss, ms", "150"),
        "area": FieldDoc("the treatment area, as the profile names it", "Forehead"),
        "remaining": FieldDoc("needling time left on the area, in words", "1 min 30 s"),
        "limit": FieldDoc(
            "the profile's limit that was reached, in words", "5 min of needling time"
        ),
    }
)

_ALARM_ID = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*")
_FORMATTER = string.Formatter()


class AlarmFieldError(ValueError):
    """render() was given too few or unknown fields; the message names them and the alarm."""

    def __init__(
        self, alarm_id: str, takes: tuple[str, ...], missing: list[str], unknown: list[str]
    ):
        self.alarm_id = alarm_id
        self.missing = missing
        self.unknown = unknown
        problems = []
        if missing:
            problems.append("missing " + ", ".join(repr(name) for name in missing))
        if unknown:
            problems.append("unknown " + ", ".join(repr(name) for name in unknown))
        takes_text = ", ".join(takes) if takes else "no fields"
        super().__init__(
            f"alarm {alarm_id}: {'; '.join(problems)} (it takes: {takes_text}; "
            "see controller.alarms.FIELDS)"
        )


@dataclass(frozen=True, slots=True)
class RenderedAlarm:
    """An alarm with its figures filled in, ready for the console and the journal."""

    alarm_id: str
    priority: Priority
    latches: bool
    stops_needle: bool
    what: str
    did: str
    next: str

    @property
    def text(self) -> str:
        """One line: marker, what happened, what was done, what to do."""
        return f"{self.priority.marker} {self.what} {self.did} {self.next}"

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True, slots=True)
class AlarmSpec:
    """One alarm condition: priority, latching, effect on the needle, words, and derivation."""

    alarm_id: str  # UPPER_SNAKE, stable: the journal and tests name alarms by it
    priority: Priority
    latches: bool  # stays shown after its condition ends, until acknowledged
    stops_needle: bool  # the needle is stopped (by the pen or penctl) and not started meanwhile
    what: str  # what happened
    did: str  # what the system did
    next: str  # what the practitioner does next
    result: str  # Table 1 row: "<death/irreversible|reversible|minor>: why"
    onset: str  # Table 1 column: "<immediate|prompt|delayed>: why, with the mitigation assumed"
    source: str  # where the condition comes from: invariants and protocol sections
    escalation: str = ""  # why the priority is above Table 1's cell; empty when it is the cell

    def __post_init__(self) -> None:
        where = f"alarm {self.alarm_id!r}"
        if not _ALARM_ID.fullmatch(self.alarm_id):
            raise ValueError(f"{where}: the id must be UPPER_SNAKE")
        if not isinstance(self.priority, Priority):
            raise ValueError(f"{where}: priority must be a Priority, not {self.priority!r}")
        for name in ("what", "did", "next", "source"):
            if not getattr(self, name).strip():
                raise ValueError(f"{where}: {name} is empty")
        for name in ("what", "did", "next"):
            for _, field, spec, conversion in _FORMATTER.parse(getattr(self, name)):
                if field is None:
                    continue
                if not field.isidentifier() or spec or conversion:
                    raise ValueError(
                        f"{where}: {name} has the field {{{field}}}; fields are plain names"
                    )
                if field not in FIELDS:
                    raise ValueError(f"{where}: {name} uses {{{field}}}, which FIELDS lacks")
        self.result_class  # noqa: B018 - each raises when its text has no valid class
        self.onset_class  # noqa: B018
        cell = self.table_1_priority
        if self.priority.urgency < cell.urgency:
            raise ValueError(
                f"{where}: priority {self.priority} is below Table 1's {cell} for "
                f"{self.result_class} × {self.onset_class}"
            )
        if self.priority.urgency > cell.urgency and not self.escalation.strip():
            raise ValueError(
                f"{where}: priority {self.priority} is above Table 1's {cell}; "
                "say why in escalation"
            )
        if self.priority == cell and self.escalation:
            raise ValueError(f"{where}: escalation given, but the priority is Table 1's {cell}")

    @property
    def result_class(self) -> str:
        """The Table 1 row named at the start of `result`."""
        return _class_of(self.alarm_id, "result", self.result, RESULTS)

    @property
    def onset_class(self) -> str:
        """The Table 1 column named at the start of `onset`."""
        return _class_of(self.alarm_id, "onset", self.onset, ONSETS)

    @property
    def table_1_priority(self) -> Priority:
        return table_1(self.result_class, self.onset_class)

    @property
    def fields(self) -> tuple[str, ...]:
        """The `{name}` fields of what/did/next, in order of first appearance."""
        names: list[str] = []
        for text in (self.what, self.did, self.next):
            for _, field, _, _ in _FORMATTER.parse(text):
                if field is not None and field not in names:
                    names.append(field)
        return tuple(names)

    def render(self, **values: object) -> RenderedAlarm:
        """The alarm with its fields filled in. Every field must be given, and no other one."""
        takes = self.fields
        missing = [name for name in takes if name not in values]
        unknown = sorted(name for name in values if name not in takes)
        if missing or unknown:
            raise AlarmFieldError(self.alarm_id, takes, missing, unknown)
        blank = [name for name in takes if not str(values[name]).strip()]
        if blank:
            raise AlarmFieldError(self.alarm_id, takes, [f"{name} (blank)" for name in blank], [])
        text = {name: str(value) for name, value in values.items()}
        return RenderedAlarm(
            alarm_id=self.alarm_id,
            priority=self.priority,
            latches=self.latches,
            stops_needle=self.stops_needle,
            what=self.what.format_map(text),
            did=self.did.format_map(text),
            next=self.next.format_map(text),
        )


def _class_of(alarm_id: str, name: str, text: str, classes: tuple[str, ...]) -> str:
    head, sep, why = text.partition(": ")
    if head not in classes or not sep or not why.strip():
        raise ValueError(
            f"alarm {alarm_id!r}: {name} must read '<class>: why', the class one of "
            f"{', '.join(classes)}; got {text!r}"
        )
    return head


_PEN_STOPPED = "The pen stopped the needle and latched a fault."

_SPECS: tuple[AlarmSpec, ...] = (
    # ---- high: each stops the needle and latches --------------------------------------------
    AlarmSpec(
        alarm_id="LINK_LOST",
        priority=Priority.HIGH,
        latches=True,
        stops_needle=True,
        what="The link to the pen is lost: {cause}.",
        did=(
            "The pen's own watchdog stops the needle within {lease_ms} ms; "
            "penctl stopped treatment."
        ),
        next=(
            "Lift the pen from the skin. Check the cable and the pen's power, reconnect and "
            "acknowledge. Nothing restarts by itself."
        ),
        result=(
            "death/irreversible: a needle left running with no host control and no view of its "
            "depth can scar (safety.md HZ-02)."
        ),
        onset=(
            "prompt: the pen stops the motor itself when the lease lapses (300 ms by default); "
            "penctl stops renewing it and repeats STOP. Without the watchdog: immediate."
        ),
        source=(
            "S5; protocol.md §5.5; link.md §2 (silence, no answer, port failed); "
            "safety.md §2.3 (technical alarm)"
        ),
    ),
    AlarmSpec(
        alarm_id="PEN_REBOOTED",
        priority=Priority.HIGH,
        latches=True,
        stops_needle=True,
        what="The pen restarted by itself and lost its settings.",
        did="The needle stopped when the pen restarted; penctl stopped treatment.",
        next=(
            "Check the pen's power, reconnect and acknowledge, then confirm the settings again. "
            "If it restarts again, take the pen out of service."
        ),
        result=(
            "death/irreversible: the pen's firmware, which holds its depth clamps and lease "
            "watchdog, failed in use; going on with it risks over-depth needling (scarring)."
        ),
        onset=(
            "prompt: the restart stopped the motor and discarded the applied set; penctl "
            "refuses to start until everything is confirmed again."
        ),
        source="S5, S6; protocol.md §7 item 9; link.md §2 (EVENT BOOT outside the handshake)",
    ),
    AlarmSpec(
        alarm_id="ECHO_MISMATCH",
        priority=Priority.HIGH,
        latches=True,
        stops_needle=True,
        what="The pen confirmed other settings than penctl sent: {detail}.",
        did="penctl stopped the needle and latched a fault.",
        next=(
            "Acknowledge, set the depth and speed again and check what the pen confirms. "
            "If it happens again, take the pen out of service."
        ),
        result=(
            "death/irreversible: the pen may apply a deeper or faster setting than the one "
            "shown (scarring; safety.md HZ-01)."
        ),
        onset=(
            "prompt: penctl writes STOP in the same step as it reads the echo, and only ever "
            "sends START for a set it has seen echoed."
        ),
        source="S3, S6; protocol.md §5.3; link.md §2 (the SET_PARAMS echo)",
    ),
    AlarmSpec(
        alarm_id="DEPTH_DEVIATION",
        priority=Priority.HIGH,
        latches=True,
        stops_needle=True,
        what=(
            "Measured depth {measured_mm} mm is more than {tolerance_mm} mm off the set "
            "{applied_mm} mm for {readings} readings."
        ),
        did="penctl stopped the needle and latched a fault.",
        next=(
            "Lift the pen and check that the cartridge is fully seated. Acknowledge, then "
            "confirm the depth again before you start."
        ),
        result="death/irreversible: needling deeper than set can scar (tram-track scars, PIH).",
        onset=(
            "prompt: penctl stops the needle after a few readings 50 ms apart, and the pen's "
            "own depth check stops it independently. Without them: immediate."
        ),
        source=(
            "S2, S6; safety.md §2.1 (essential performance: depth within tolerance; a host "
            "check beside the pen's own)"
        ),
    ),
    AlarmSpec(
        alarm_id="DEPTH_SENSOR_DISAGREE",
        priority=Priority.HIGH,
        latches=True,
        stops_needle=True,
        what="The pen's depth sensor disagrees with the set depth.",
        did=_PEN_STOPPED,
        next=(
            "Lift the pen and check that the cartridge is fully seated, then acknowledge. "
            "If it will not clear, take the pen out of service."
        ),
        result="death/irreversible: the needle may be deeper than set (scarring).",
        onset=(
            "prompt: the pen stops the motor at once when the disagreement persists, by its "
            "own check, independent of penctl."
        ),
        source="S2, S6; protocol.md §6 FaultCode DEPTH_SENSOR_DISAGREE, §7 item 5",
    ),
    AlarmSpec(
        alarm_id="LEASE_EXPIRED",
        priority=Priority.HIGH,
        latches=True,
        stops_needle=True,
        what="penctl did not renew its lease on the pen in time.",
        did="The pen stopped the needle by itself and latched a fault.",
        next=(
            "Check the cable, acknowledge, then confirm the settings again. "
            "If it happens again, end the session and call service."
        ),
        result=(
            "death/irreversible: penctl lost control of a running needle (its control loop or "
            "the link stalled; safety.md HZ-02)."
        ),
        onset="prompt: the pen's lease watchdog already stopped the motor at once, not ramped.",
        source="S5, S6; protocol.md §6 FaultCode LEASE_EXPIRED, §7 item 2",
    ),
    AlarmSpec(
        alarm_id="PEN_INTERNAL",
        priority=Priority.HIGH,
        latches=True,
        stops_needle=True,
        what="The pen failed its own self-check.",
        did=_PEN_STOPPED,
        next="Do not use this pen on a patient: take it out of service and call service.",
        result=(
            "death/irreversible: the pen's own clamps and watchdog can no longer be trusted "
            "(over-depth or uncontrolled needling)."
        ),
        onset="prompt: the pen stopped the motor and refuses to run until it is serviced.",
        source="S6; protocol.md §6 FaultCode INTERNAL",
    ),
    AlarmSpec(
        alarm_id="ESTOP_ENGAGED",
        priority=Priority.HIGH,
        latches=True,
        stops_needle=True,
        what="Emergency stop engaged {by}.",
        did="The needle was braked at once and the emergency stop is latched.",
        next=(
            "Attend to the patient. When it is safe, acknowledge; the needle stays stopped "
            "until you confirm the settings and start again."
        ),
        result=(
            "death/irreversible: someone saw a hazard penctl cannot know of (the patient "
            "moved, bleeding, the wrong area)."
        ),
        onset=(
            "prompt: the pen brakes the motor at once and keeps the latch through a restart; "
            "nothing runs until it is acknowledged."
        ),
        source="S4, S6; protocol.md §6 FaultCode ESTOP, §7 items 4 and 9; safety.md §2.2",
    ),
    AlarmSpec(
        alarm_id="JOURNAL_FAULT",
        priority=Priority.HIGH,
        latches=True,
        stops_needle=True,
        what="The session journal cannot be written: {error}.",
        did="penctl stopped the needle and will not start it: no treatment without a record.",
        next=(
            "Acknowledge and end the session. Free or fix the storage, then restart penctl; "
            "it recovers the journal."
        ),
        result=(
            "reversible: treatment would go on unrecorded, so penctl could not mark the "
            "cartridge used (S8) or log alarms, and a re-use or a device fault could pass "
            "unnoticed (safety.md HZ-06); the pen's own cartridge lockout still holds."
        ),
        onset=(
            "delayed: nothing changes for the patient at once; harm would follow from later "
            "sessions and decisions made on a missing record."
        ),
        escalation=(
            "A technical alarm: a failed log store forces the safe state, high and latching "
            "(safety.md §2.3), and S7 makes a durable record a condition of treatment."
        ),
        source="S7, S8; journal.md (failures latch); safety.md §2.3 (technical alarm)",
    ),
    AlarmSpec(
        alarm_id="UNCOMMANDED_RUN",
        priority=Priority.HIGH,
        latches=True,
        stops_needle=True,
        what="The pen reports the needle running at {measured_sps} strokes/s without a start.",
        did="penctl stopped the needle and latched a fault.",
        next=(
            "Lift the pen from the skin. Acknowledge, then confirm the settings again. "
            "If it happens again, take the pen out of service."
        ),
        result=(
            "death/irreversible: a needle the host did not start runs outside treatment, "
            "without a confirmed depth (scarring)."
        ),
        onset=(
            "prompt: penctl writes STOP on the first telemetry reading that shows it, and the "
            "pen's lease watchdog stops it if the host falls silent."
        ),
        source="S1; protocol.md §7 item 3 (START preconditions); controller.md (supervisor)",
    ),
    AlarmSpec(
        alarm_id="HOST_INTERNAL",
        priority=Priority.HIGH,
        latches=True,
        stops_needle=True,
        what="penctl met an error it does not know how to handle: {error}.",
        did="penctl stopped the needle and latched a fault.",
        next=(
            "Lift the pen from the skin and acknowledge. Note what you were doing and report it; "
            "confirm the settings again before you go on."
        ),
        result=(
            "death/irreversible: the controller's view of the pen may no longer be right, so a "
            "needle could run at a depth nobody confirmed (scarring)."
        ),
        onset=(
            "prompt: penctl writes STOP as it catches the error, and the pen's own clamps and "
            "lease watchdog hold whatever the host does."
        ),
        source="S6; ARCHITECTURE.md §2 (an exception in a callback leads to a fault state)",
    ),
    # ---- medium -----------------------------------------------------------------------------
    AlarmSpec(
        alarm_id="SPEED_DEVIATION",
        priority=Priority.MEDIUM,
        latches=True,
        stops_needle=True,
        what=(
            "Needle speed is {measured_sps} strokes/s, not the set {applied_sps}, for "
            "{readings} readings."
        ),
        did="penctl stopped the needle and latched a fault.",
        next=(
            "Lift the pen; check the cartridge moves freely. Acknowledge, confirm the settings "
            "and start again; if it repeats, fit a new cartridge."
        ),
        result=(
            "reversible: a wrong puncture rate over- or under-treats the area (redness, "
            "swelling, bruising)."
        ),
        onset=(
            "prompt: penctl stops the needle after a few readings, and the pen's stall check "
            "stops a needle that slows hard."
        ),
        source="S2, S6; safety.md §2.1 (essential performance: puncture rate within tolerance)",
    ),
    AlarmSpec(
        alarm_id="OVER_CURRENT",
        priority=Priority.MEDIUM,
        latches=True,
        stops_needle=True,
        what="The pen's motor drew too much current.",
        did=_PEN_STOPPED,
        next=(
            "Lift the pen; check the cartridge is seated, not jammed. Acknowledge, confirm the "
            "settings and start again; if it repeats, fit a new one."
        ),
        result=(
            "reversible: an overloaded motor heats the handpiece and can jam the needles in "
            "the skin (bruising, a superficial burn)."
        ),
        onset="prompt: the pen cut the motor at once.",
        source="S6; protocol.md §6 FaultCode OVER_CURRENT, §7 item 5",
    ),
    AlarmSpec(
        alarm_id="MOTOR_STALL",
        priority=Priority.MEDIUM,
        latches=True,
        stops_needle=True,
        what="The needle jammed: the motor stalled.",
        did=_PEN_STOPPED,
        next=(
            "Lift the pen gently and check the cartridge; fit a new one if it is stuck. "
            "Then acknowledge, confirm the settings and start again."
        ),
        result=(
            "reversible: needles held or dragged in the skin bruise and graze it (superficial)."
        ),
        onset="prompt: the pen stopped the motor once the stall persisted.",
        source="S6; protocol.md §6 FaultCode MOTOR_STALL, §7 item 5",
    ),
    AlarmSpec(
        alarm_id="OVER_TEMPERATURE",
        priority=Priority.MEDIUM,
        latches=True,
        stops_needle=True,
        what="The pen is too hot: {temperature_c} °C.",
        did=_PEN_STOPPED,
        next="Let the pen cool, then acknowledge, confirm the settings and start again.",
        result=(
            "reversible: a hot handpiece can burn the practitioner's hand or the patient's "
            "skin (superficial)."
        ),
        onset="prompt: the pen stopped the motor at its limit; it only cools from here.",
        source="S6; protocol.md §6 FaultCode OVER_TEMPERATURE, §7 item 5",
    ),
    AlarmSpec(
        alarm_id="CARTRIDGE_REMOVED",
        priority=Priority.MEDIUM,
        latches=True,
        stops_needle=True,
        what="The cartridge came off while the needle was running.",
        did="The pen stopped the needle and latched a fault; that cartridge cannot be used again.",
        next=(
            "Put the cartridge in the sharps container and fit a new one. Acknowledge, confirm "
            "the settings and start again."
        ),
        result=(
            "reversible: the pass stopped midway with used needles exposed; refitting the same "
            "cartridge is refused by the pen and by penctl (S8)."
        ),
        onset="prompt: the pen stopped the motor at once and discarded the applied set.",
        source="S8, S6; protocol.md §6 FaultCode CARTRIDGE_REMOVED, §7 items 5 and 6",
    ),
    AlarmSpec(
        alarm_id="CARTRIDGE_REFUSED",
        priority=Priority.MEDIUM,
        latches=False,
        stops_needle=True,
        what="Cartridge {serial} is refused: {reason}.",
        did="penctl will not run it; the needle stays stopped.",
        next="Put it in the sharps container and fit a new, sealed cartridge.",
        result=(
            "death/irreversible: a used or expired cartridge can carry infection from another "
            "patient or be unsterile (disease transmission, scarring)."
        ),
        onset=(
            "delayed: infection shows days later, and penctl and the pen both refuse to run "
            "the cartridge meanwhile."
        ),
        source=(
            "S1, S8; protocol.md §6 CartridgeState (LOCKED_OUT, EXPIRED, UNREADABLE), §7 "
            "items 6 and 11; the journal's record of cartridges used before"
        ),
    ),
    AlarmSpec(
        alarm_id="AREA_TIME_LIMIT",
        priority=Priority.MEDIUM,
        latches=False,
        stops_needle=True,
        what="{area}: the profile's maximum of {limit} is reached.",
        did="penctl paused the needle; this area is done for this session.",
        next="Move to the next area, or end the session.",
        result=(
            "reversible: needling an area beyond the profile's time or passes over-treats it "
            "(prolonged redness and swelling, PIH)."
        ),
        onset=(
            "prompt: penctl pauses the needle itself at the limit (STOP, reason TIME_LIMIT) and "
            "refuses more on this area."
        ),
        source="S2 (profile limits); profiles.md (max_passes, max_time_minutes)",
    ),
    # ---- low ----------------------------------------------------------------------------------
    AlarmSpec(
        alarm_id="BATTERY_CRITICAL",
        priority=Priority.LOW,
        latches=True,
        stops_needle=True,
        what="The pen's battery is almost empty: {battery_pct} %.",
        did=_PEN_STOPPED,
        next=(
            "Charge the pen or use another, then acknowledge, confirm the settings and start again."
        ),
        result=(
            "minor: the treatment is interrupted; the pen stops before its electronics fail, "
            "so its clamps and watchdog stay in force."
        ),
        onset="prompt: the pen stopped the motor at once; nothing runs until it is charged.",
        source="S6; protocol.md §6 FaultCode BATTERY_CRITICAL, §7 item 5",
    ),
    AlarmSpec(
        alarm_id="TEMPERATURE_HIGH",
        priority=Priority.LOW,
        latches=False,
        stops_needle=False,
        what="The pen is getting warm: {temperature_c} °C.",
        did="Treatment continues; the pen stops by itself if it gets too hot.",
        next="Finish this pass, then let the pen rest before the next area.",
        result=(
            "minor: if ignored, the pen stops itself at its own limit and the pass is "
            "interrupted; below that limit the handpiece does not burn."
        ),
        onset=(
            "delayed: the handpiece warms over minutes, and the pen's over-temperature stop is "
            "the automatic backstop."
        ),
        source="A warning below the pen's OVER_TEMPERATURE limit (protocol.md §7 item 5)",
    ),
    AlarmSpec(
        alarm_id="BATTERY_LOW",
        priority=Priority.LOW,
        latches=False,
        stops_needle=False,
        what="The pen's battery is low: {battery_pct} %.",
        did="Treatment continues; the pen stops by itself when the battery is almost empty.",
        next="Finish this area, then charge the pen or use another.",
        result=(
            "minor: if ignored, the pen stops mid-area when the battery is critical and the "
            "treatment is interrupted."
        ),
        onset=(
            "delayed: minutes of charge are left, and the pen's critical-battery stop is the "
            "automatic backstop."
        ),
        source="A warning above the pen's BATTERY_CRITICAL level (protocol.md §7 item 5)",
    ),
    AlarmSpec(
        alarm_id="TELEMETRY_GAPS",
        priority=Priority.LOW,
        latches=False,
        stops_needle=False,
        what="{missed} of the last {expected} readings from the pen were lost.",
        did="Treatment continues; penctl stops it if the pen is silent for {silence_ms} ms.",
        next="Check that the cable is plugged in firmly and kept away from power cables.",
        result=(
            "reversible: penctl's own depth and speed checks get fewer readings and react "
            "later; the pen's clamps and its own checks are unaffected."
        ),
        onset=(
            "delayed: nothing goes wrong while readings still arrive, and if they stop, "
            "LINK_LOST stops the needle automatically."
        ),
        source="protocol.md §4 TELEMETRY (counter), §5.5; link.md §2 (counters)",
    ),
    AlarmSpec(
        alarm_id="AREA_TIME_NEAR",
        priority=Priority.LOW,
        latches=False,
        stops_needle=False,
        what="{area}: {remaining} left of the profile's time on this area.",
        did="Treatment continues; penctl pauses the needle at the limit.",
        next="Plan your last pass on this area.",
        result=(
            "minor: if ignored, penctl pauses the needle at the limit anyway and the pass ends "
            "unplanned."
        ),
        onset="delayed: the time runs out over minutes, and the pause at the limit is automatic.",
        source="S2 (profile limits); profiles.md (max_time_minutes)",
    ),
    AlarmSpec(
        alarm_id="BUTTON_STOP",
        priority=Priority.LOW,
        latches=False,
        stops_needle=True,
        what="The stop button on the pen was pressed.",
        did="The pen stopped the needle; the settings are kept.",
        next="To go on, press Start on the console.",
        result=(
            "minor: the practitioner stopped the needle on purpose; nothing is at risk while "
            "it stays stopped."
        ),
        onset="delayed: the needle is already stopped; this is information.",
        source="protocol.md §6 EventCode BUTTON_STOP, §7 item 7",
    ),
)


def _catalogue(specs: tuple[AlarmSpec, ...]) -> Mapping[str, AlarmSpec]:
    table: dict[str, AlarmSpec] = {}
    for spec in specs:
        if spec.alarm_id in table:
            raise ValueError(f"alarm {spec.alarm_id} is declared twice")
        table[spec.alarm_id] = spec
    return MappingProxyType(table)


CATALOGUE: Mapping[str, AlarmSpec] = _catalogue(_SPECS)

# The pen's latched faults (protocol.md §6 FaultCode) and the alarm each raises; NONE is no fault.
FAULT_ALARMS: Mapping[FaultCode, str] = MappingProxyType(
    {
        FaultCode.LEASE_EXPIRED: "LEASE_EXPIRED",
        FaultCode.OVER_CURRENT: "OVER_CURRENT",
        FaultCode.OVER_TEMPERATURE: "OVER_TEMPERATURE",
        FaultCode.BATTERY_CRITICAL: "BATTERY_CRITICAL",
        FaultCode.DEPTH_SENSOR_DISAGREE: "DEPTH_SENSOR_DISAGREE",
        FaultCode.CARTRIDGE_REMOVED: "CARTRIDGE_REMOVED",
        FaultCode.MOTOR_STALL: "MOTOR_STALL",
        FaultCode.ESTOP: "ESTOP_ENGAGED",
        FaultCode.INTERNAL: "PEN_INTERNAL",
    }
)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def render_markdown() -> str:
    """The catalogue as Markdown: a count, the alarm table (most urgent first), the fields."""
    specs = sorted(CATALOGUE.values(), key=lambda spec: spec.priority)
    counts = ", ".join(f"{sum(spec.priority is p for spec in specs)} {p}" for p in sorted(Priority))
    lines = [
        f"{len(specs)} alarms: {counts}.",
        "",
        "| id | priority | latches | stops needle | what / did / next | fields "
        "| Table 1 derivation | source |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for spec in specs:
        words = f"{spec.what}<br>{spec.did}<br>{spec.next}"
        fields = ", ".join(f"`{name}`" for name in spec.fields) or "none"
        derivation = (
            f"**result** {spec.result}<br>**onset** {spec.onset}<br>"
            f"Table 1: {spec.result_class} × {spec.onset_class} → {spec.table_1_priority}"
        )
        if spec.escalation:
            derivation += f"; **raised to {spec.priority}**: {spec.escalation}"
        cells = [
            f"`{spec.alarm_id}`",
            f"`{spec.priority.marker}` {spec.priority}",
            _yes(spec.latches),
            _yes(spec.stops_needle),
            words,
            fields,
            derivation,
            spec.source,
        ]
        lines.append("| " + " | ".join(_cell(cell) for cell in cells) + " |")
    lines += [
        "",
        "Fields, filled in by the controller as text:",
        "",
        "| field | meaning | example |",
        "|---|---|---|",
    ]
    for name, doc in FIELDS.items():
        lines.append(f"| `{name}` | {_cell(doc.meaning)} | {_cell(doc.example)} |")
    lines += [
        "",
        "The pen's faults (protocol.md §6 FaultCode) and the alarm each raises:",
        "",
        "| FaultCode | alarm |",
        "|---|---|",
    ]
    for code, alarm_id in FAULT_ALARMS.items():
        lines.append(f"| {code.name} ({int(code)}) | `{alarm_id}` |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(render_markdown())
