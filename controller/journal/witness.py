"""What bounds the unsigned tail of a session, and the witness that keeps a copy of each head.

A journal is consistent in itself even after someone deletes its newest sessions and puts an older
(genuinely signed) head.json back. Only a copy of a later head kept elsewhere shows that: the
witness, a directory on another disk or a removable medium, in the manner of Certificate
Transparency's signed tree heads (docs/journal.md §4).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from controller.journal.durable import make_dirs, write_file_atomic
from controller.journal.errors import WitnessUnreadable
from controller.journal.format import HEAD_FILE, FramingError, Head, SchemaError, parse_head
from controller.journal.regular import NotRegularFile, read_regular

NS_PER_S = 1_000_000_000


@dataclass(frozen=True)
class CheckpointPolicy:
    """A session is signed every `records` records or `seconds` seconds, whichever comes first
    (checked as each record is appended), as well as when it closes. While it runs, head.json
    (and the witness's copy) follows those checkpoints at most once every `head_ms`: records
    arriving fast would otherwise rewrite it, two fsyncs each, many times a second beside the
    appends' own fsyncs, vouching for nothing the session file's signed checkpoints do not."""

    records: int = 64
    seconds: int = 60
    head_ms: int = 1000

    def due(self, unsigned_records: int, unsigned_ns: int) -> bool:
        return unsigned_records >= self.records or unsigned_ns >= self.seconds * NS_PER_S

    def head_due(self, since_head_ns: int) -> bool:
        return since_head_ns >= self.head_ms * 1_000_000


class Witness:
    """Receives `head.json` after each rewrite. A failed copy never stops the journal (the
    journal is intact; the witness is a second line): it is kept in `error` for the operator."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.error: str | None = None

    def last_seen(self, journal: Path) -> Head | None:
        """The head the witness holds; None when it holds none (no medium, no directory, no
        copy: the witness may be unplugged). A copy that is there but cannot be read as a head
        (damaged, replaced, or the medium failing) raises WitnessUnreadable: it must not let a
        rolled-back journal pass, and the next head would overwrite it."""
        copy = self.directory / HEAD_FILE
        try:
            return parse_head(read_regular(copy))
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            raise WitnessUnreadable(copy, journal, str(exc)) from exc
        except (NotRegularFile, FramingError, SchemaError) as exc:
            raise WitnessUnreadable(copy, journal, f"not a penctl head: {exc}") from exc

    def hand_over(self, head: bytes) -> None:
        try:
            make_dirs(self.directory)
            write_file_atomic(self.directory / HEAD_FILE, head)
        except OSError as exc:
            self.error = (
                f"the witness copy of {HEAD_FILE} could not be written to {self.directory}: "
                f"{exc.strerror}; the journal is intact, but reconnect the witness medium"
            )
        else:
            self.error = None
