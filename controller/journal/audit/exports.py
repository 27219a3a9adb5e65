"""Machine-readable exports for `penctl audit report`: JSON (verification plus session summaries)
and CSV (the timeline, one row per record, for a spreadsheet)."""

from __future__ import annotations

import csv
import io
import json

from controller.journal.audit.reader import JournalView
from controller.journal.audit.summary import summarise
from controller.journal.audit.timeline import describe, format_depth, parse_utc

CSV_COLUMNS = (
    "session",
    "seq",
    "utc",
    "elapsed_s",
    "type",
    "actor",
    "area",
    "depth_mm",
    "speed_sps",
    "event",
    "finding",
)


def _inert(text: str) -> str:
    """A cell a spreadsheet would run as a formula gets a leading `'` (OWASP's CSV injection
    advice): a journal string must not fetch URLs or compute on the auditor's machine."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def render_json(view: JournalView, session: int | None = None) -> str:
    document = {
        "verification": view.report.to_dict(),
        "sessions": [
            summarise(v).to_dict() for v in view.sessions if session is None or v.number == session
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def render_csv(view: JournalView, session: int | None = None) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for sv in view.sessions:
        if session is not None and sv.number != session:
            continue
        problems = {(f.file, f.offset): f for f in sv.findings if f.severity != "warning"}
        start = parse_utc(sv.entries[0].record.utc) if sv.entries else None
        for entry in sv.entries:
            record = entry.record
            data = record.data
            elapsed_s = (parse_utc(record.utc) - start).total_seconds() if start else 0.0
            found = problems.get((entry.file, entry.offset))
            depth_um = data.get("depth_um")
            writer.writerow(
                (
                    record.session,
                    record.seq,
                    record.utc,
                    f"{elapsed_s:.3f}",
                    record.type,
                    record.actor,
                    _inert(data.get("area") or ""),
                    format_depth(depth_um).removesuffix(" mm") if isinstance(depth_um, int) else "",
                    data.get("speed_sps", ""),
                    _inert(describe(record)),
                    f"{found.dimension}: {found.message}" if found is not None else "",
                )
            )
    return out.getvalue()
