"""Reading a journal for people: records grouped by session, with what the verifier found.

Reading always verifies: a timeline or report shown without its verdict would invite trust it has
not earned. Unreadable records are left out of the timeline and listed among the findings.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from controller.journal.audit.anchors import WitnessHead
from controller.journal.audit.verifier import (
    Finding,
    Located,
    SessionVerdict,
    VerificationReport,
    verify_path,
)


@dataclass
class SessionView:
    verdict: SessionVerdict
    entries: list[Located] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    @property
    def number(self) -> int:
        return self.verdict.number

    @property
    def file(self) -> str:
        return self.verdict.file


@dataclass
class JournalView:
    report: VerificationReport
    sessions: list[SessionView]

    def session(self, number: int) -> SessionView | None:
        return next((s for s in self.sessions if s.number == number), None)


def read_journal(
    path: str | os.PathLike[str],
    *,
    now: datetime | None = None,
    pinned_public_key: str | None = None,
    trusted_keys: Sequence[str] = (),
    witnesses: Sequence[WitnessHead] = (),
) -> JournalView:
    """A journal directory or one session file, verified and grouped by session."""
    report = verify_path(
        path,
        now=now,
        pinned_public_key=pinned_public_key,
        trusted_keys=trusted_keys,
        witnesses=witnesses,
    )
    views = {verdict.file: SessionView(verdict) for verdict in report.sessions}
    for entry in report.located:
        views[entry.file].entries.append(entry)
    for finding in report.findings:
        if finding.file in views:
            views[finding.file].findings.append(finding)
    return JournalView(report, list(views.values()))
