"""What earlier sessions in this journal say about a patient and a cartridge.

Two questions the workflow asks before it lets a needle near skin: when was this patient last
treated on these areas (the policy's minimum interval), and has this cartridge ever run (S8, the
host's half; the pen keeps the other half). Records are read with the journal's own line parser
and schema check; a line that fails either is skipped here, because the auditor's verifier, not
the workflow, is where damage is reported (`penctl audit verify`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from controller.journal.format import (
    SESSION_FILE,
    FramingError,
    SchemaError,
    check_schema,
    parse_line,
)


@dataclass(frozen=True, slots=True)
class PastTreatment:
    session: int
    day: date
    areas: frozenset[str]


@dataclass(slots=True)
class JournalHistory:
    treatments: dict[str, list[PastTreatment]] = field(default_factory=dict)
    used_cartridges: set[str] = field(default_factory=set)
    last_utc: str | None = None  # the newest record's time: a virtual clock starts after it

    def last_treatment(self, patient: str, areas: set[str]) -> PastTreatment | None:
        """The newest session in which the needle ran on any of `areas` for `patient`."""
        hits = [t for t in self.treatments.get(patient, []) if t.areas & areas]
        return max(hits, key=lambda t: (t.day, t.session), default=None)


def read_history(directory: Path) -> JournalHistory:
    history = JournalHistory()
    if not directory.is_dir():
        return history
    for path in sorted(directory.iterdir()):
        match = SESSION_FILE.match(path.name)
        if match and path.is_file():
            _read_session(int(match.group(1)), path, history)
    return history


def _read_session(number: int, path: Path, history: JournalHistory) -> None:
    patient: str | None = None
    cartridge: str | None = None
    areas: set[str] = set()
    day: date | None = None
    for raw in path.read_bytes().splitlines():
        try:
            record = check_schema(parse_line(raw))
        except (FramingError, SchemaError, ValueError):
            continue
        data = record.data
        if record.type == "SESSION_OPEN":
            patient = data["patient_pseudonym"]
            cartridge = data.get("cartridge_serial")
        elif record.type == "CARTRIDGE":
            cartridge = data["serial"]
        if history.last_utc is None or record.utc > history.last_utc:
            history.last_utc = record.utc
        if record.type == "NEEDLE_START":
            areas.add(data["area"])
            day = day or date.fromisoformat(record.utc[:10])
    if areas and cartridge is not None:
        history.used_cartridges.add(cartridge)
    if areas and patient is not None and day is not None:
        treated = PastTreatment(number, day, frozenset(areas))
        history.treatments.setdefault(patient, []).append(treated)
