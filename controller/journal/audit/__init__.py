"""The auditor's side of the journal: the verifier, the timeline and the reports of `penctl audit`.

A sub-package rather than a lazy `controller.journal`: the folder shows what a running session
loads (`controller.journal`) and what only an audit does (here), and a test holds the line on the
source (nothing outside `penctl audit` imports this package) instead of trusting that no one
touches a name early. Everything here reads a journal; nothing writes one.

The verifier's names are importable from here; the renderers (`render_text`, `render_html`,
`exports`) are imported from their modules by the command that needs them.
"""

from controller.journal.audit.reader import JournalView, SessionView, read_journal
from controller.journal.audit.verifier import (
    AuditInputError,
    Finding,
    VerificationReport,
    verify_journal,
    verify_path,
)

__all__ = [
    "AuditInputError",
    "Finding",
    "JournalView",
    "SessionView",
    "VerificationReport",
    "read_journal",
    "verify_journal",
    "verify_path",
]
