"""The session journal: an append-only, hash-chained, signed record of every session.

This package is the writer's side, what a running session loads: `JournalWriter`, the record
models, signing, errors, paths and the on-disk format (docs/journal.md). The auditor's side (the
verifier, the timeline, the reports) is the sub-package `controller.journal.audit`, which only
`penctl audit` imports and nothing here does.
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
    WitnessUnreadable,
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
from controller.journal.recovery import RecoveryReport
from controller.journal.signing import CheckpointSigner
from controller.journal.witness import CheckpointPolicy
from controller.journal.writer import JournalWriter

__all__ = [
    "SCHEMA_VERSION",
    "Aftercare",
    "Alarm",
    "AreaPass",
    "ChecklistAnswer",
    "Checkpoint",
    "CheckpointPolicy",
    "CheckpointSigner",
    "Consent",
    "Correction",
    "Fault",
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
    "WitnessUnreadable",
    "resolve_journal_dir",
    "resolve_key_dir",
]
