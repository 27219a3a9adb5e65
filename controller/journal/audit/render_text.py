"""Terminal output: the verification account and the session timeline (`penctl audit show`)."""

from __future__ import annotations

import re

from controller.journal.audit.reader import JournalView, SessionView
from controller.journal.audit.summary import cartridge_text, fitted_cartridges, session_end
from controller.journal.audit.timeline import describe, format_duration, parse_utc
from controller.journal.audit.verifier import DIMENSIONS, VerificationReport

_STATUS = {
    "pass": "PASS",
    "fail": "FAIL",
    "incomplete": "INCOMPLETE",
    "unprotected": "UNPROTECTED",
    "skipped": "skipped",
}
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _visible(line: str) -> str:
    """Control characters from records shown as JSON-style escapes, so a record cannot drive the
    terminal (clear it, print a fake verdict), fake a line of its own, or reverse its text."""
    return _CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", line)


def verdict_sentence(report: VerificationReport) -> str:
    """The verdict with what it means and the next step (S10)."""
    if report.verdict == "PASS":
        return (
            "PASS: every record is present, unchanged, in order, and every session is closed "
            "with a valid signature by the pinned key (or a key it handed over to); the journal "
            "agrees with its witness."
        )
    if report.verdict == "UNPROTECTED":
        gaps = {f.dimension for f in report.findings if f.severity == "unprotected"}
        missing = " and ".join(
            text
            for dim, text in (("key", "the key not pinned"), ("witness", "no witness"))
            if dim in gaps
        )
        return (
            f"UNPROTECTED: intact and consistent in itself, but checked with {missing}: a journal "
            "re-signed with another key or rolled back to an older head would look the same. "
            "Enrol the clinic's key once (`penctl audit trust KEYFILE`) and give --witness."
        )
    problem = report.first_problem
    where = f" ({problem.where()})" if problem is not None and problem.where() else ""
    what = f"{problem.message}{where}" if problem is not None else ""
    if report.verdict == "FAIL":
        return (
            f"FAIL: the journal was changed or damaged after it was written. First failure: "
            f"{what}. Nothing was modified; keep the directory exactly as it is and pass it "
            "on for investigation (--json lists every finding)."
        )
    if all(s.terminated and not s.torn_bytes for s in report.sessions):
        return (
            f"INCOMPLETE: every record present is intact, but not every session ended "
            f"normally: {what}. It was closed as faulted on recovery; review its timeline. "
            "The mark stays as the record of the crash."
        )
    return (
        f"INCOMPLETE: every record present is intact, but the account is not complete: {what}. "
        "If penctl is not running, start it once so it recovers and closes the session, then "
        "verify again."
    )


def head_line(report: VerificationReport) -> str | None:
    """The signed head's fingerprint: written on paper or sent by e-mail, it is a witness."""
    if report.head_fingerprint is None:
        return None
    return (
        f"Head fingerprint {report.head_fingerprint} (record:hash of the newest signed "
        "checkpoint): keep it; `penctl audit verify --witness "
        f"{report.head_fingerprint}` later fails if the journal was rolled back or forked."
    )


def render_verification(report: VerificationReport) -> str:
    count = len(report.sessions)
    noun = "session file" if count == 1 else "session files"
    lines = [
        f"Journal {report.path} ({report.kind}, {count} {noun}, {len(report.records)} records)",
        "",
    ]
    width = max(len(name) for name in DIMENSIONS)
    for name, result in report.dimensions.items():
        status = _STATUS[result.status]
        first = next((f for f in result.findings if f.severity != "warning"), None)
        detail = (
            f"{first.message}" + (f" ({first.where()})" if first.where() else "")
            if first is not None
            else result.skipped or f"{result.checked} checked"
        )
        extra = len([f for f in result.findings if f.severity != "warning"]) - 1
        more = f" (+{extra} more)" if extra > 0 else ""
        lines.append(f"  {name:<{width}}  {status:<11}  {detail}{more}")
    warnings = [f for f in report.findings if f.severity == "warning"]
    if warnings:
        lines.append("")
        lines.extend(f"  warning: {w.message} ({w.where()})" for w in warnings[:10])
    head = head_line(report)
    lines += ["", *([head] if head else []), verdict_sentence(report)]
    return "\n".join(map(_visible, lines)) + "\n"


def _session_header(view: SessionView) -> list[str]:
    records = [entry.record for entry in view.entries]
    if not records:
        return [f"Session {view.number} ({view.file}): no readable records"]
    first, last = records[0], session_end(records)
    span = format_duration((parse_utc(last.utc) - parse_utc(first.utc)).total_seconds())
    verdict = view.verdict
    state = f"{verdict.outcome}" if verdict.terminated else "NOT CLOSED (still open or interrupted)"
    if verdict.recovered:
        state += ", recovered after a crash"
    close = next((r for r in records if r.type == "SESSION_CLOSE"), None)
    reason = f": {close.data['reason']}" if close is not None else ""
    lines = [
        f"Session {view.number} · {first.utc[:10]} {first.utc[11:19]}Z → {last.utc[11:19]}Z "
        f"({span}) · {state}{reason}"
    ]
    opening = next((r.data for r in records if r.type == "SESSION_OPEN"), None)
    if opening is not None:
        lines.append(
            f"  operator {opening['operator_id']} · patient {opening['patient_pseudonym']} · "
            f"pen {opening['device_serial']} firmware {opening['firmware_version']}"
        )
        cartridges = fitted_cartridges(records)
        noun = "cartridge " if len(cartridges) == 1 else "cartridges " if cartridges else ""
        lines.append(
            f"  {noun}{cartridge_text(cartridges)} · "
            f"profile {opening['profile_name']} ({opening['profile_sha256'][:12]}…) · "
            f"policy {opening['policy_sha256'][:12]}…"
        )
    return lines


def render_timeline(view: JournalView, session: int | None = None) -> str:
    report = view.report
    lines = [
        f"Journal {report.path}: {len(view.sessions)} session(s), {len(report.records)} records",
        "Verification: " + verdict_sentence(report),
        *([head_line(report) or ""] if report.head_fingerprint else []),
        "",
    ]
    for sv in view.sessions:
        if session is not None and sv.number != session:
            continue
        lines += _session_header(sv)
        start = parse_utc(sv.entries[0].record.utc) if sv.entries else None
        findings = {(f.offset, f.file): f for f in sv.findings if f.severity != "warning"}
        lines.append(f"  {'seq':>5}  {'time':8}  {'elapsed':>8}  {'actor':<12}  event")
        for entry in sv.entries:
            record = entry.record
            elapsed_s = (parse_utc(record.utc) - start).total_seconds() if start else 0.0
            minutes, seconds = divmod(int(elapsed_s), 60)
            lines.append(
                f"  {record.seq:>5}  {record.utc[11:19]}  {minutes:>5}:{seconds:02d}  "
                f"{record.actor:<12}  {describe(record)}"
            )
            found = findings.get((entry.offset, entry.file))
            if found is not None:
                lines.append(f"  {'':>5}  !! {found.dimension}: {found.message}")
        shown = {(e.offset, e.file) for e in sv.entries}
        for finding in sv.findings:
            if finding.severity != "warning" and (finding.offset, finding.file) not in shown:
                lines.append(f"  !! {finding.dimension}: {finding.message} ({finding.where()})")
        lines.append("")
    return "\n".join(map(_visible, lines))
