"""What a session amounts to: the figures an auditor looks for, derived from its records.

Pure functions of the records (no I/O, no clock), shared by the HTML, CSV and JSON reports.
Times are seconds since the session's first record, from its UTC stamps (the monotonic clock
restarts when penctl does, which a recovered session spans).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from controller.journal.audit.reader import SessionView
from controller.journal.audit.timeline import describe, parse_utc
from controller.journal.format import Record
from controller.journal.records import MACHINE_ACTORS


@dataclass
class AreaRow:
    area: str
    depths_um: list[int] = field(default_factory=list)
    speeds_sps: list[int] = field(default_factory=list)
    time_s: float = 0.0
    passes: int = 0


@dataclass
class SetPoint:
    """Depth and speed the pen confirmed, from `t_s` until the next set point."""

    t_s: float
    depth_um: int
    speed_sps: int
    area: str


@dataclass
class Running:
    start_s: float
    end_s: float
    area: str
    stop_recorded: bool = True  # False: penctl stopped before a stop was journaled


@dataclass
class AlarmRow:
    seq: int
    utc: str
    t_s: float
    kind: str  # "alarm" or "fault"
    ident: str
    level: str
    message: str
    raw_frames: list[str]
    responses: list[str] = field(default_factory=list)


@dataclass
class ActionRow:
    seq: int
    utc: str
    t_s: float
    actor: str
    text: str


@dataclass
class FittedCartridge:
    serial: str
    lot: str | None
    seq: int  # the record that names it: SESSION_OPEN, or the CARTRIDGE record


def fitted_cartridges(records: list[Record]) -> list[FittedCartridge]:
    """The cartridges a session used, in order: SESSION_OPEN's, when it names one (older
    journals), then each CARTRIDGE record's (a session opened at intake names none)."""
    found: list[FittedCartridge] = []
    for record in records:
        d = record.data
        if record.type == "SESSION_OPEN" and d.get("cartridge_serial"):
            serial, lot = d["cartridge_serial"], d.get("cartridge_lot")
        elif record.type == "CARTRIDGE":
            serial, lot = d["serial"], d["lot"]
        else:
            continue
        if all(c.serial != serial for c in found):
            found.append(FittedCartridge(serial, lot, record.seq))
    return found


def cartridge_text(cartridges: list[FittedCartridge]) -> str:
    """`CT-1 lot L-1`, several joined with `, then `, or `no cartridge fitted`."""
    if not cartridges:
        return "no cartridge fitted"
    return ", then ".join(f"{c.serial} lot {c.lot or '—'}" for c in cartridges)


@dataclass
class SessionSummary:
    number: int
    file: str
    opened_utc: str | None
    closed_utc: str | None
    duration_s: float
    outcome: str | None
    close_reason: str | None
    opening: dict[str, Any] | None
    cartridges: list[FittedCartridge]
    records: int
    first_seq: int | None
    last_seq: int | None
    terminated: bool
    recovered: bool
    key_ids: list[str]
    areas: list[AreaRow]
    set_points: list[SetPoint]
    running: list[Running]
    alarms: list[AlarmRow]
    actions: list[ActionRow]
    before: list[str]
    after: list[str]
    corrections: list[str]
    findings: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def session_end(records: list[Record]) -> Record:
    """The session's last record before a key hand-over appended to it (docs/journal.md §4):
    the hand-over belongs to the journal, not to the treatment, and may come much later."""
    handover = next((i for i, r in enumerate(records) if r.type == "KEY_HANDOVER"), None)
    return records[handover - 1 if handover else -1]


def summarise(view: SessionView) -> SessionSummary:
    records = [entry.record for entry in view.entries]
    start = parse_utc(records[0].utc) if records else None

    def seconds_in(utc: str) -> float:
        return (parse_utc(utc) - start).total_seconds() if start is not None else 0.0

    tally = _Tally()
    for record in records:
        tally.take(record, seconds_in(record.utc))
    end_s = seconds_in(session_end(records).utc) if records else 0.0
    tally.finish(end_s)
    opening = next((r.data for r in records if r.type == "SESSION_OPEN"), None)
    close = next((r for r in records if r.type == "SESSION_CLOSE"), None)
    return SessionSummary(
        number=view.number,
        file=view.file,
        opened_utc=records[0].utc if records else None,
        closed_utc=close.utc if close is not None else None,
        duration_s=end_s,
        outcome=close.data["outcome"] if close is not None else None,
        close_reason=close.data["reason"] if close is not None else None,
        opening=dict(opening) if opening is not None else None,
        cartridges=fitted_cartridges(records),
        records=len(records),
        first_seq=view.verdict.first_seq,
        last_seq=view.verdict.last_seq,
        terminated=view.verdict.terminated,
        recovered=view.verdict.recovered,
        key_ids=sorted({r.data["key_id"] for r in records if r.type == "CHECKPOINT"}),
        areas=list(tally.areas.values()),
        set_points=tally.set_points,
        running=tally.running,
        alarms=tally.alarms,
        actions=tally.actions,
        before=tally.before,
        after=tally.after,
        corrections=tally.corrections,
        findings=[f.to_dict() for f in view.findings],
    )


@dataclass
class _Tally:
    """What one pass over a session's records has gathered so far."""

    areas: dict[str, AreaRow] = field(default_factory=dict)
    set_points: list[SetPoint] = field(default_factory=list)
    running: list[Running] = field(default_factory=list)
    alarms: list[AlarmRow] = field(default_factory=list)
    by_ident: dict[str, AlarmRow] = field(default_factory=dict)
    actions: list[ActionRow] = field(default_factory=list)
    before: list[str] = field(default_factory=list)
    after: list[str] = field(default_factory=list)
    corrections: list[str] = field(default_factory=list)
    run_start: tuple[float, str] | None = None  # (t_s, area) of the needle run in progress
    needle_s: dict[str, float] = field(default_factory=dict)  # needle running time by area
    last_t_s: float = 0.0
    in_aftercare: bool = False  # the controller's workflow reached aftercare (STATE_CHANGE)

    def take(self, record: Record, t_s: float) -> None:
        """One record, `t_s` seconds after the session's first."""
        d = record.data
        if record.actor not in MACHINE_ACTORS:
            self.actions.append(
                ActionRow(record.seq, record.utc, t_s, record.actor, describe(record))
            )
        match record.type:
            case "PARAMS_APPLIED":
                row = self.area(d["area"])
                if d["depth_um"] not in row.depths_um:
                    row.depths_um.append(d["depth_um"])
                if d["speed_sps"] not in row.speeds_sps:
                    row.speeds_sps.append(d["speed_sps"])
                self.set_points.append(SetPoint(t_s, d["depth_um"], d["speed_sps"], d["area"]))
            case "NEEDLE_START":
                self.run_start = (t_s, d["area"])
            case "NEEDLE_STOP" if self.run_start is not None:
                self.end_run(t_s, recorded=True)
            case "RECOVERY" if self.run_start is not None:
                # The last record before the crash is the last time anything is known.
                self.end_run(self.last_t_s, recorded=False)
            case "AREA_PASS":
                row = self.area(d["area"])
                row.passes += 1
                row.time_s += d["duration_ms"] / 1000
            case "ALARM" | "FAULT":
                alarm = _alarm_row(record, t_s)
                self.alarms.append(alarm)
                self.by_ident[alarm.ident] = alarm
            case "OPERATOR_ACK" if d["subject"] in self.by_ident:
                note = f" ({d['note']})" if d.get("note") else ""
                self.by_ident[d["subject"]].responses.append(
                    f"{d['action']} by {record.actor} at {record.utc[11:19]}Z{note}"
                )
            case "STATE_CHANGE" if d["machine"] == "workflow" and d["to_state"] == "aftercare":
                self.in_aftercare = True
            case "INTAKE" | "OVERRIDE" | "CHECKLIST" | "CONSENT" | "PLAN" | "NUMBING" | "CARTRIDGE":
                # A checklist answer in aftercare (an effect observed) belongs after treatment.
                (self.after if self.in_aftercare else self.before).append(describe(record))
            case "PHOTO":
                (self.before if d["phase"] == "before" else self.after).append(describe(record))
            case "AFTERCARE" | "FOLLOW_UP":
                self.after.append(describe(record))
            case "CORRECTION":
                self.corrections.append(
                    f"record {record.seq} by {record.actor}: {describe(record)}"
                )
        self.last_t_s = t_s

    def finish(self, end_s: float) -> None:
        """A run still going at the end is cut there; an area without AREA_PASS records counts
        the needle's running time instead."""
        if self.run_start is not None:
            self.end_run(end_s, recorded=False)
        for name, row in self.areas.items():
            if row.passes == 0:
                row.time_s = self.needle_s.get(name, 0.0)

    def area(self, name: str) -> AreaRow:
        return self.areas.setdefault(name, AreaRow(name))

    def end_run(self, t_s: float, recorded: bool) -> None:
        assert self.run_start is not None
        start_s, area = self.run_start
        self.running.append(Running(start_s, t_s, area, recorded))
        self.needle_s[area] = self.needle_s.get(area, 0.0) + t_s - start_s
        self.run_start = None


def _alarm_row(record: Record, t_s: float) -> AlarmRow:
    d = record.data
    is_alarm = record.type == "ALARM"
    return AlarmRow(
        seq=record.seq,
        utc=record.utc,
        t_s=t_s,
        kind="alarm" if is_alarm else "fault",
        ident=d["alarm_id"] if is_alarm else d["fault_id"],
        level=d["priority"] if is_alarm else ("latched" if d["latched"] else "fault"),
        message=d["message"],
        raw_frames=list(d["raw_frames"]),
    )
