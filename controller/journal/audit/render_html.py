"""The HTML report: one self-contained file (inline CSS and SVG, no scripts, no external links)
that an auditor opens in any browser or prints."""

from __future__ import annotations

import math
from collections.abc import Callable
from html import escape

from controller.journal.audit.reader import JournalView
from controller.journal.audit.render_text import head_line, verdict_sentence
from controller.journal.audit.summary import SessionSummary, cartridge_text, summarise
from controller.journal.audit.timeline import area_name, format_depth, format_duration, format_speed
from controller.journal.audit.verifier import DIMENSIONS, VerificationReport

_CSS = """
:root { --ink:#1d2430; --muted:#5b6575; --line:#d8dde6; --soft:#f4f6f9; --pass:#17733a;
  --fail:#b3261e; --warn:#9a5b00; --depth:#1f5fbf; --speed:#c8600a; --run:#dff3e6; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue",
  Arial, sans-serif; color: var(--ink); background: #fff; }
main { max-width: 1120px; margin: 0 auto; padding: 28px 32px 48px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 21px; margin: 36px 0 8px; padding-top: 18px; border-top: 2px solid var(--line); }
h3 { font-size: 16px; margin: 22px 0 8px; color: #2b3445; }
.sub { color: var(--muted); margin: 0 0 18px; }
.mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 13px; }
.banner { border-radius: 8px; padding: 14px 18px; margin: 18px 0 8px; border: 1px solid; }
.banner strong { font-size: 19px; margin-right: 8px; }
.PASS { background: #e8f5ec; border-color: #9fd3b0; color: #0f5129; }
.FAIL { background: #fdecea; border-color: #f1a9a3; color: #7d1a14; }
.INCOMPLETE, .UNPROTECTED { background: #fff4e0; border-color: #f0c57a; color: #6b4000; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 4px; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line);
  vertical-align: top; }
th { background: var(--soft); font-weight: 600; font-size: 13px; color: #344054;
  white-space: nowrap; }
td.when { white-space: nowrap; }
td .note { display: block; color: var(--muted); font-size: 13px; }
td .note.finding { color: var(--fail); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.status { font-weight: 700; font-size: 12px; letter-spacing: .04em; }
.status.pass { color: var(--pass); } .status.fail { color: var(--fail); }
.status.incomplete, .status.unprotected { color: var(--warn); }
.status.skipped { color: var(--muted); }
dl.facts { display: grid; grid-template-columns: repeat(3, 1fr); gap: 10px 24px; margin: 10px 0; }
dl.facts div { border-left: 3px solid var(--line); padding-left: 10px; }
dt { font-size: 12px; color: var(--muted); text-transform: uppercase; letter-spacing: .05em; }
dd { margin: 2px 0 0; font-weight: 600; overflow-wrap: anywhere; }
.outcome { display: inline-block; padding: 1px 10px; border-radius: 999px; font-size: 13px;
  font-weight: 700; margin-left: 8px; vertical-align: middle; }
.outcome.completed { background: #e8f5ec; color: #0f5129; }
.outcome.aborted, .outcome.open { background: #fff4e0; color: #6b4000; }
.outcome.faulted { background: #fdecea; color: #7d1a14; }
figure { margin: 6px 0 0; }
figcaption { color: var(--muted); font-size: 13px; margin-top: 4px; }
svg text { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; }
ul.plain { margin: 4px 0; padding-left: 20px; }
.empty { color: var(--muted); font-style: italic; }
.finding { color: var(--fail); }
footer { margin-top: 40px; color: var(--muted); font-size: 13px; border-top: 1px solid var(--line);
  padding-top: 12px; }
@media print { main { padding: 0; } h2 { break-before: page; } .banner { break-inside: avoid; } }
"""


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _range(values: list[int], fmt: Callable[[int], str]) -> str:
    if not values:
        return "—"
    low, high = min(values), max(values)
    return fmt(low) if low == high else f"{fmt(low)} – {fmt(high)}"


def _verification(report: VerificationReport) -> str:
    rows = []
    for name, result in report.dimensions.items():
        first = next((f for f in result.findings if f.severity != "warning"), None)
        detail = (
            f"{_e(first.message)}<br><span class='mono'>{_e(first.where())}</span>"
            if first is not None
            else _e(result.skipped or f"{result.checked} checked, no problem found")
        )
        rows.append(
            f"<tr><td><strong>{_e(name)}</strong><span class='note'>"
            f"{_e(DIMENSIONS[name].split(': ', 1)[1])}</span></td>"
            f"<td class='status {result.status}'>{result.status.upper()}</td><td>{detail}</td></tr>"
        )
    return (
        "<table><thead><tr><th style='width:34%'>check</th><th style='width:11%'>result</th>"
        "<th>first finding</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
    )


def _nice_step(span: float, target: int) -> float:
    raw = span / max(target, 1)
    magnitude = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


def _ticks(top: float, target: int) -> tuple[float, list[float]]:
    """A round axis maximum above `top` and the tick values up to it."""
    step = _nice_step(top * 1.15, target)
    highest = step * math.ceil(top * 1.15 / step)
    return highest, [step * i for i in range(round(highest / step) + 1)]


_WIDTH, _LEFT, _RIGHT = 1000, 78, 24
_PLOT_W = _WIDTH - _LEFT - _RIGHT


def _panel(
    s: SessionSummary,
    *,
    y0: float,
    height: float,
    end_s: float,
    values: list[float],
    label: str,
    colour: str,
    unit_format: str,
) -> list[str]:
    """One chart panel: running bands, grid, the confirmed set point as a step line."""

    def x(t_s: float) -> float:
        return _LEFT + _PLOT_W * t_s / end_s

    highest, ticks = _ticks(max(max(values), 1e-9), 4)

    def y(value: float) -> float:
        return y0 + height * (1 - value / highest)

    parts = [
        f"<rect x='{_LEFT}' y='{y0}' width='{_PLOT_W}' height='{height}' fill='#fbfcfd' "
        "stroke='#c9d0db'/>"
    ]
    for run in s.running:
        x0, x1 = x(run.start_s), x(run.end_s)
        unknown = "" if run.stop_recorded else " stroke='#2f6b45' stroke-dasharray='4 3'"
        parts.append(
            f"<rect x='{x0:.1f}' y='{y0}' width='{max(x1 - x0, 1.5):.1f}' height='{height}' "
            f"fill='#dff3e6'{unknown}/>"
        )
    for tick in ticks:
        parts.append(
            f"<line x1='{_LEFT}' y1='{y(tick):.1f}' x2='{_LEFT + _PLOT_W}' y2='{y(tick):.1f}' "
            "stroke='#e3e7ee'/>"
            f"<text x='{_LEFT - 8}' y='{y(tick) + 4:.1f}' font-size='12' text-anchor='end' "
            f"fill='#5b6575'>{unit_format.format(tick)}</text>"
        )
    mid = y0 + height / 2
    parts.append(
        f"<text x='18' y='{mid:.0f}' font-size='12' font-weight='600' fill='{colour}' "
        f"text-anchor='middle' transform='rotate(-90 18 {mid:.0f})'>{_e(label)}</text>"
    )
    points = list(zip(s.set_points, values, strict=True))
    path = f"M{x(points[0][0].t_s):.1f},{y(points[0][1]):.1f}"
    for point, value in points[1:]:
        path += f" H{x(point.t_s):.1f} V{y(value):.1f}"
    path += f" H{x(end_s):.1f}"
    parts.append(f"<path d='{path}' fill='none' stroke='{colour}' stroke-width='2.5'/>")
    for point, value in points:
        parts.append(
            f"<circle cx='{x(point.t_s):.1f}' cy='{y(value):.1f}' r='3.5' fill='{colour}'>"
            f"<title>{_e(area_name(point.area))}: {_e(unit_format.format(value))}</title></circle>"
        )
    return parts


def _chart(s: SessionSummary) -> str:
    """Depth above, speed below, on one time axis: two panels rather than two y-axes, which
    invite reading one line against the other's scale."""
    if not s.set_points:
        return "<p class='empty'>No parameter set was confirmed by the pen in this session.</p>"
    end_s = max(s.duration_s, s.set_points[-1].t_s + 1, 1.0)
    top, depth_h, gap, speed_h = 44, 150, 22, 110
    speed_y = top + depth_h + gap
    axis_y = speed_y + speed_h
    height = axis_y + 44

    def x(t_s: float) -> float:
        return _LEFT + _PLOT_W * t_s / end_s

    parts = [
        f"<svg viewBox='0 0 {_WIDTH} {height}' width='100%' role='img' "
        f"aria-labelledby='t{s.number} d{s.number}'>",
        f"<title id='t{s.number}'>Depth and speed over session {s.number}</title>",
        f"<desc id='d{s.number}'>Needle depth (millimetres) and speed (strokes per second) as "
        "confirmed by the pen, against minutes since the session opened; shaded bands are "
        "times the needle ran; triangles mark alarms and faults.</desc>",
    ]
    parts += _panel(
        s,
        y0=top,
        height=depth_h,
        end_s=end_s,
        values=[p.depth_um / 1000 for p in s.set_points],
        label="depth (mm)",
        colour="#1f5fbf",
        unit_format="{:.2f}",
    )
    parts += _panel(
        s,
        y0=speed_y,
        height=speed_h,
        end_s=end_s,
        values=[float(p.speed_sps) for p in s.set_points],
        label="speed (strokes/s)",
        colour="#c8600a",
        unit_format="{:g}",
    )
    parts += _run_labels(s, x, top)
    parts += _time_axis(end_s, x, axis_y, height)
    parts += _alarm_marks(s, x, top, axis_y)
    parts += _legend()
    parts.append("</svg>")
    return "<figure>" + "".join(parts) + "</figure>"


def _run_labels(s: SessionSummary, x: Callable[[float], float], top: float) -> list[str]:
    """The area above each needle run, skipped where it would overlap the label before."""
    parts = []
    labelled_until = -1.0
    for run in s.running:
        x0 = x(run.start_s)
        if x0 >= labelled_until:
            parts.append(
                f"<text x='{x0 + 3:.1f}' y='{top + 13}' font-size='11' fill='#2f6b45'>"
                f"{_e(area_name(run.area))}</text>"
            )
            labelled_until = x0 + 7 * len(area_name(run.area)) + 10
    return parts


def _time_axis(
    end_s: float, x: Callable[[float], float], axis_y: float, height: float
) -> list[str]:
    """Ticks in round minutes since the session opened."""
    end_min = end_s / 60
    parts = []
    step_min = _nice_step(end_min, 8)
    for index in range(int(end_min / step_min + 1e-9) + 1):
        tick_min = index * step_min
        px = x(tick_min * 60)
        parts.append(
            f"<line x1='{px:.1f}' y1='{axis_y}' x2='{px:.1f}' y2='{axis_y + 5}' "
            "stroke='#8a94a6'/>"
            f"<text x='{px:.1f}' y='{axis_y + 19}' font-size='12' text-anchor='middle' "
            f"fill='#5b6575'>{tick_min:g}</text>"
        )
    parts.append(
        f"<text x='{_LEFT + _PLOT_W / 2:.0f}' y='{height - 6}' font-size='12' "
        "text-anchor='middle' fill='#5b6575'>minutes since the session opened</text>"
    )
    return parts


def _alarm_marks(
    s: SessionSummary, x: Callable[[float], float], top: float, axis_y: float
) -> list[str]:
    """A dashed line through both panels and a triangle on the time axis for each alarm."""
    parts = []
    for alarm in s.alarms:
        px = x(alarm.t_s)
        colour = "#b3261e" if alarm.kind == "fault" or alarm.level == "high" else "#d08a00"
        parts.append(
            f"<line x1='{px:.1f}' y1='{top}' x2='{px:.1f}' y2='{axis_y}' stroke='{colour}' "
            "stroke-width='1.5' stroke-dasharray='4 3'/>"
            f"<path d='M{px - 6:.1f},{axis_y + 11} L{px + 6:.1f},{axis_y + 11} "
            f"L{px:.1f},{axis_y + 1} Z' fill='{colour}'><title>{_e(alarm.ident)}: "
            f"{_e(alarm.message)}</title></path>"
        )
    return parts


def _legend() -> list[str]:
    legend = [
        ("line", "#1f5fbf", "depth confirmed by the pen"),
        ("line", "#c8600a", "speed confirmed by the pen"),
        ("band", "#dff3e6", "needle running"),
        ("mark", "#d08a00", "alarm"),
        ("mark", "#b3261e", "fault or high-priority alarm"),
    ]
    parts = []
    lx = _LEFT
    for kind, colour, text in legend:
        if kind == "line":
            parts.append(
                f"<line x1='{lx}' y1='18' x2='{lx + 24}' y2='18' stroke='{colour}' "
                "stroke-width='2.5'/>"
            )
        elif kind == "band":
            parts.append(f"<rect x='{lx}' y='10' width='24' height='16' fill='{colour}'/>")
        else:
            parts.append(f"<path d='M{lx + 6},24 L{lx + 18},24 L{lx + 12},13 Z' fill='{colour}'/>")
        parts.append(f"<text x='{lx + 30}' y='22' font-size='12' fill='#344054'>{text}</text>")
        lx += 44 + 6.4 * len(text)
    return parts


def _facts(s: SessionSummary) -> str:
    o = s.opening or {}
    items = [
        ("opened (UTC)", (s.opened_utc or "—").replace("T", " ")[:19]),
        ("closed (UTC)", (s.closed_utc or "not closed").replace("T", " ")[:19]),
        ("duration", format_duration(s.duration_s)),
        ("operator", o.get("operator_id", "—")),
        ("patient (pseudonym)", o.get("patient_pseudonym", "—")),
        ("records", f"{s.records} (seq {s.first_seq}–{s.last_seq})"),
        ("pen", f"{o.get('device_serial', '—')} · firmware {o.get('firmware_version', '—')}"),
        ("cartridge" if len(s.cartridges) <= 1 else "cartridges", cartridge_text(s.cartridges)),
        ("profile", o.get("profile_name", "—")),
        ("profile SHA-256", o.get("profile_sha256", "—")),
        ("policy SHA-256", o.get("policy_sha256", "—")),
        ("signed with key", ", ".join(s.key_ids) or "no checkpoint"),
    ]
    cells = []
    for label, value in items:
        mono = " class='mono'" if "SHA" in label or label == "signed with key" else ""
        cells.append(f"<div><dt>{_e(label)}</dt><dd{mono}>{_e(value)}</dd></div>")
    return "<dl class='facts'>" + "".join(cells) + "</dl>"


def _areas(s: SessionSummary) -> str:
    if not s.areas:
        return "<p class='empty'>No area was treated.</p>"
    rows = "".join(
        f"<tr><td>{_e(area_name(row.area))}</td>"
        f"<td class='num'>{_e(_range(row.depths_um, format_depth))}</td>"
        f"<td class='num'>{_e(_range(row.speeds_sps, format_speed))}</td>"
        f"<td class='num'>{_e(format_duration(row.time_s))}</td>"
        f"<td class='num'>{row.passes}</td></tr>"
        for row in s.areas
    )
    total_time = sum(row.time_s for row in s.areas)
    total_passes = sum(row.passes for row in s.areas)
    return (
        "<table><thead><tr><th>area</th><th class='num'>depth applied</th>"
        "<th class='num'>speed applied</th><th class='num'>time treated</th>"
        "<th class='num'>passes</th></tr></thead><tbody>"
        + rows
        + f"<tr><th>all areas</th><th></th><th></th><th class='num'>"
        f"{_e(format_duration(total_time))}</th><th class='num'>{total_passes}</th></tr>"
        "</tbody></table>"
    )


def _alarms(s: SessionSummary) -> str:
    if not s.alarms:
        return "<p class='empty'>No alarm or fault was raised.</p>"
    rows = []
    for a in s.alarms:
        dump = " ".join(a.raw_frames)
        shown = dump if len(dump) <= 400 else f"{dump[:400]}… ({len(dump)} characters in all)"
        frames = f"<br><span class='mono'>{_e(shown)}</span>" if a.raw_frames else ""
        responses = "<br>".join(_e(r) for r in a.responses) or (
            "<span class='finding'>not acknowledged</span>"
        )
        rows.append(
            f"<tr><td class='mono when'>{_e(a.utc[11:19])}</td><td>{a.seq}</td>"
            f"<td class='when'>{_e(a.kind)} <strong>{_e(a.ident)}</strong>"
            f"<span class='note'>{_e(a.level)}</span></td>"
            f"<td>{_e(a.message)}{frames}</td><td>{responses}</td></tr>"
        )
    return (
        "<table><thead><tr><th style='width:96px'>time (UTC)</th><th style='width:50px'>seq</th>"
        "<th style='width:130px'>what</th><th>message and raw frames (hex)</th>"
        "<th style='width:28%'>operator response</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )


def _actions(s: SessionSummary) -> str:
    if not s.actions:
        return "<p class='empty'>No operator action was recorded.</p>"
    flagged = {f["seq"] for f in s.findings if f["severity"] == "fail"}
    rows = "".join(
        f"<tr><td class='mono when'>{_e(a.utc[11:19])}</td><td>{a.seq}</td><td>{_e(a.actor)}</td>"
        f"<td>{_e(a.text)}"
        + (
            "<span class='note finding'>this record failed verification</span>"
            if a.seq in flagged
            else ""
        )
        + "</td></tr>"
        for a in s.actions
    )
    return (
        "<table><thead><tr><th style='width:96px'>time (UTC)</th><th style='width:50px'>seq</th>"
        "<th style='width:110px'>operator</th><th>action</th></tr></thead><tbody>"
        + rows
        + "</tbody></table>"
    )


def _list(items: list[str], empty: str) -> str:
    if not items:
        return f"<p class='empty'>{_e(empty)}</p>"
    return "<ul class='plain'>" + "".join(f"<li>{_e(item)}</li>" for item in items) + "</ul>"


def _session(s: SessionSummary) -> str:
    outcome = s.outcome or "open"
    state = outcome if s.terminated else "not closed"
    recovered = " · recovered after a crash" if s.recovered else ""
    reason = f" — {_e(s.close_reason)}" if s.close_reason else ""
    failed = any(f["severity"] == "fail" for f in s.findings)
    findings = (
        f"<div class='banner {'FAIL' if failed else 'INCOMPLETE'}'><strong>"
        f"{'Findings in this session' if failed else 'Incomplete account'}</strong>"
        "<ul class='plain'>"
        + "".join(
            f"<li>{_e(f['dimension'])}: {_e(f['message'])} (record {_e(f['seq'])}, byte "
            f"{_e(f['offset'])})</li>"
            for f in s.findings
            if f["severity"] != "warning"
        )
        + "</ul></div>"
        if any(f["severity"] != "warning" for f in s.findings)
        else ""
    )
    return (
        f"<section><h2>Session {s.number}<span class='outcome {_e(outcome)}'>{_e(state)}</span>"
        f"</h2><p class='sub'>{_e(s.file)}{reason}{recovered}</p>{findings}"
        f"{_facts(s)}<h3>Areas treated</h3>{_areas(s)}"
        f"<h3>Depth and speed over the session</h3>{_chart(s)}"
        f"<h3>Alarms and faults</h3>{_alarms(s)}"
        f"<h3>Before treatment</h3>{_list(s.before, 'Nothing recorded before treatment.')}"
        f"<h3>After treatment</h3>{_list(s.after, 'Nothing recorded after treatment.')}"
        f"<h3>Corrections</h3>{_list(s.corrections, 'No record was corrected.')}"
        f"<h3>Operator actions</h3>{_actions(s)}</section>"
    )


def render_html(view: JournalView, session: int | None = None) -> str:
    report = view.report
    summaries = [summarise(v) for v in view.sessions if session is None or v.number == session]
    title = (
        f"Session {summaries[0].number} report"
        if len(summaries) == 1
        else f"Journal report: {len(summaries)} sessions"
    )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{_e(title)} · penctl</title><style>{_CSS}</style></head><body><main>"
        f"<h1>{_e(title)}</h1><p class='sub'>Journal <span class='mono'>{_e(report.path)}</span>"
        f" · verified {_e(report.verified_at)} · {len(report.records)} records in "
        f"{len(report.sessions)} session file(s)</p>"
        f"<div class='banner {report.verdict}'><strong>{report.verdict}</strong>"
        f"{_e(verdict_sentence(report).split(': ', 1)[1])}</div>"
        + (f"<p class='mono'>{_e(head_line(report))}</p>" if head_line(report) else "")
        + f"<h3>Verification</h3>{_verification(report)}"
        + "".join(_session(s) for s in summaries)
        + "<footer>Generated by penctl audit report from the journal itself; the journal, not "
        "this page, is the record. Check it at any time with <span class='mono'>penctl audit "
        "verify PATH</span>. Depths are shown in millimetres, recorded in micrometres.</footer>"
        "</main></body></html>\n"
    )
