"""What can go wrong with the journal, each with a message a person can act on (S10)."""

from __future__ import annotations

from pathlib import Path


class JournalError(Exception):
    """Base of every journal error; `str()` says what happened, what was done and what next."""


class JournalFault(JournalError):
    """A write or fsync failed: the journal is latched and refuses every later write.

    The controller turns this into a latched fault: a record it could not make durable must not be
    followed by records that claim a complete account. Retrying an fsync is unsafe (a failed fsync
    may drop the dirty pages and a retry then "succeeds"), so there is no retry.
    """

    def __init__(self, path: Path, seq: int, cause: OSError | None, *, latched_before: bool):
        self.path = path
        self.seq = seq
        self.cause = cause
        if latched_before:
            text = (
                f"journal refused record {seq}: it is latched after an earlier write failure on "
                f"{path}. Nothing more is written; stop the treatment, fix the storage and start "
                "the controller again (the next start recovers the journal)"
            )
        else:
            why = f"{cause.strerror or cause}" if cause is not None else "unknown error"
            text = (
                f"journal write failed for record {seq} on {path}: {why}. The journal is now "
                "latched and refuses every further record; stop the treatment, fix the storage "
                "and start the controller again (the next start recovers the journal)"
            )
        super().__init__(text)


class JournalCorrupt(JournalError):
    """Damage before the tail of the last session file: reported, never cut."""

    def __init__(self, path: Path, seq: int | None, offset: int | None, problem: str):
        """`offset` None: the problem is the file itself, not a record in it."""
        self.path = path
        self.seq = seq
        self.offset = offset
        self.problem = problem
        where = f"record {seq}" if seq is not None else "a record"
        what = str(path) if offset is None else f"{where} at byte {offset} of {path}"
        super().__init__(
            f"journal damaged: {what} {problem}. Nothing was changed "
            f"and no session can start; run `penctl audit verify {path.parent}` for the full "
            "account and keep the directory as it is for investigation"
        )


class JournalBusy(JournalError):
    def __init__(self, directory: Path):
        self.directory = directory
        super().__init__(
            f"journal {directory} is in use by another penctl process; nothing was written. "
            "Close the other controller, or give this one its own journal directory "
            "(--journal-dir or PENCTL_JOURNAL_DIR)"
        )


class JournalKeyMismatch(JournalError):
    def __init__(self, directory: Path, journal_key: str, our_key: str):
        super().__init__(
            f"journal {directory} is signed with key {journal_key}, but this controller's "
            f"signing key is {our_key}; nothing was written. Give the controller the journal's "
            "key (--key-dir or PENCTL_KEY_DIR), or hand the journal over to the new key with "
            "`penctl journal rotate-key` (docs/journal.md §4)"
        )


class JournalUnreadable(JournalError):
    """The journal directory or one of its files could not be listed or read."""

    def __init__(self, path: Path, cause: OSError, done: str):
        self.path = path
        self.cause = cause
        super().__init__(
            f"cannot read the journal at {path}: {cause.strerror or cause}; {done}. Check that "
            "it exists, that this user may read it (`ls -l`) and that its disk is mounted and "
            "healthy, then try again"
        )


class WitnessUnreadable(JournalError):
    """The witness holds a copy of head.json that cannot be read as a head: the journal cannot
    be shown not to have been rolled back, so it is not opened (docs/journal.md §4)."""

    def __init__(self, copy: Path, journal: Path, why: str):
        self.copy = copy
        self.why = why
        super().__init__(
            f"the witness copy {copy} cannot be read ({why}); nothing was written and no session "
            f"can start, as without it penctl cannot show that the journal {journal} was not "
            "rolled back. Reconnect or check the witness medium and start again; if the copy is "
            "damaged, keep it for investigation and give another witness directory (--witness)"
        )


class JournalStateError(JournalError):
    """The caller asked for something the journal's state does not allow (a programming error)."""


class SigningKeyError(JournalError):
    """The checkpoint signing key cannot be read, created or trusted."""
