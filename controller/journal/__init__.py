"""The session journal: an append-only, hash-chained, signed record of every session.

The controller uses `JournalWriter` and the record models; auditors use `verify_path` and the
renderers behind `penctl audit`. The format is specified in docs/journal.md.
"""

from controller.journal.errors import (
    JournalBusy,
    JournalCorrupt,
    JournalError,
    JournalFault,
    JournalKeyMismatch,
    JournalStateError,
    JournalUnreadable,
    SigningKeyError,
)
from controller.journal.format import Record
from controller.journal.paths import resolve_journal_dir, resolve_key_dir
from controller.journal.records import (
    SCHEMA_VERSION,
    Aftercare,
    Alarm,
    AreaPass,
    ChecklistAnswer,
    Checkpoint,
    Consent,
    Correction,
    Fault,
    FollowUp,
    NeedleStart,
    NeedleStop,
    Numbing,
    OperatorAck,
    ParamsApplied,
    ParamsRequested,
    Photo,
    RecordData,
    Recovery,
    SessionClose,
    SessionOpen,
    StateChange,
)
from controller.journal.signing import CheckpointSigner
from controller.journal.verifier import (
    AuditInputError,
    Finding,
    VerificationReport,
    verify_journal,
    verify_path,
)
from controller.journal.writer import JournalWriter, RecoveryReport

__all__ = [
    "SCHEMA_VERSION",
    "Aftercare",
    "Alarm",
    "AreaPass",
    "AuditInputError",
    "ChecklistAnswer",
    "Checkpoint",
    "CheckpointSigner",
    "Consent",
    "Correction",
    "Fault",
    "Finding",
    "FollowUp",
    "JournalBusy",
    "JournalCorrupt",
    "JournalError",
    "JournalFault",
    "JournalKeyMismatch",
    "JournalStateError",
    "JournalUnreadable",
    "JournalWriter",
    "NeedleStart",
    "NeedleStop",
    "Numbing",
    "OperatorAck",
    "ParamsApplied",
    "ParamsRequested",
    "Photo",
    "Record",
    "RecordData",
    "Recovery",
    "RecoveryReport",
    "SessionClose",
    "SessionOpen",
    "SigningKeyError",
    "StateChange",
    "VerificationReport",
    "resolve_journal_dir",
    "resolve_key_dir",
    "verify_journal",
    "verify_path",
]
