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
class SessionSummary:
    number: int
    file: str
    opened_utc: str | None
    closed_utc: str | None
    duration_s: float
    outcome: str | None
    close_reason: str | None
    opening: dict[str, Any] | None
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


def summarise(view: SessionView) -> SessionSummary:
    records = [entry.record for entry in view.entries]
    start = parse_utc(records[0].utc) if records else None

    def at(utc: str) -> float:
        return (parse_utc(utc) - start).total_seconds() if start is not None else 0.0

    opening = next((r.data for r in records if r.type == "SESSION_OPEN"), None)
    close = next((r for r in records if r.type == "SESSION_CLOSE"), None)
    areas: dict[str, AreaRow] = {}
    set_points: list[SetPoint] = []
    running: list[Running] = []
    alarms: list[AlarmRow] = []
    by_ident: dict[str, AlarmRow] = {}
    actions: list[ActionRow] = []
    before: list[str] = []
    after: list[str] = []
    corrections: list[str] = []
    run_start: tuple[float, str] | None = None
    needle_s: dict[str, float] = {}
    last_t = 0.0

    def end_run(t: float, recorded: bool) -> None:
        nonlocal run_start
        assert run_start is not None
        running.append(Running(run_start[0], t, run_start[1], recorded))
        needle_s[run_start[1]] = needle_s.get(run_start[1], 0.0) + t - run_start[0]
        run_start = None

    def area(name: str) -> AreaRow:
        return areas.setdefault(name, AreaRow(name))

    for record in records:
        t = at(record.utc)
        d = record.data
        if record.actor not in MACHINE_ACTORS:
            actions.append(ActionRow(record.seq, record.utc, t, record.actor, describe(record)))
        match record.type:
            case "PARAMS_APPLIED":
                row = area(d["area"])
                if d["depth_um"] not in row.depths_um:
                    row.depths_um.append(d["depth_um"])
                if d["speed_sps"] not in row.speeds_sps:
                    row.speeds_sps.append(d["speed_sps"])
                set_points.append(SetPoint(t, d["depth_um"], d["speed_sps"], d["area"]))
            case "NEEDLE_START":
                run_start = (t, d["area"])
            case "NEEDLE_STOP" if run_start is not None:
                end_run(t, recorded=True)
            case "RECOVERY" if run_start is not None:
                # The last record before the crash is the last time anything is known.
                end_run(last_t, recorded=False)
            case "AREA_PASS":
                row = area(d["area"])
                row.passes += 1
                row.time_s += d["duration_ms"] / 1000
            case "ALARM" | "FAULT":
                is_alarm = record.type == "ALARM"
                row_ = AlarmRow(
                    seq=record.seq,
                    utc=record.utc,
                    t_s=t,
                    kind="alarm" if is_alarm else "fault",
                    ident=d["alarm_id"] if is_alarm else d["fault_id"],
                    level=d["priority"] if is_alarm else ("latched" if d["latched"] else "fault"),
                    message=d["message"],
                    raw_frames=list(d["raw_frames"]),
                )
                alarms.append(row_)
                by_ident[row_.ident] = row_
            case "OPERATOR_ACK" if d["subject"] in by_ident:
                note = f" ({d['note']})" if d.get("note") else ""
                by_ident[d["subject"]].responses.append(
                    f"{d['action']} by {record.actor} at {record.utc[11:19]}Z{note}"
                )
            case "CHECKLIST" | "CONSENT" | "NUMBING":
                before.append(describe(record))
            case "PHOTO":
                (before if d["phase"] == "before" else after).append(describe(record))
            case "AFTERCARE" | "FOLLOW_UP":
                after.append(describe(record))
            case "CORRECTION":
                corrections.append(f"record {record.seq} by {record.actor}: {describe(record)}")
        last_t = t
    end = at(records[-1].utc) if records else 0.0
    if run_start is not None:
        end_run(end, recorded=False)
    for name, row in areas.items():
        if row.passes == 0:
            row.time_s = needle_s.get(name, 0.0)
    return SessionSummary(
        number=view.number,
        file=view.file,
        opened_utc=records[0].utc if records else None,
        closed_utc=close.utc if close is not None else None,
        duration_s=end,
        outcome=close.data["outcome"] if close is not None else None,
        close_reason=close.data["reason"] if close is not None else None,
        opening=dict(opening) if opening is not None else None,
        records=len(records),
        first_seq=view.verdict.first_seq,
        last_seq=view.verdict.last_seq,
        terminated=view.verdict.terminated,
        recovered=view.verdict.recovered,
        key_ids=sorted({r.data["key_id"] for r in records if r.type == "CHECKPOINT"}),
        areas=list(areas.values()),
        set_points=set_points,
        running=running,
        alarms=alarms,
        actions=actions,
        before=before,
        after=after,
        corrections=corrections,
        findings=[f.to_dict() for f in view.findings],
    )
