"""The audit timeline's plain language covers every record type the journal can hold."""

from __future__ import annotations

from controller.journal.audit import timeline
from controller.journal.format import Record
from controller.journal.records import DATA_MODELS


def test_every_record_type_the_journal_can_hold_has_its_own_sentence() -> None:
    """An auditor reading `penctl audit show` never meets a bare type name for a known record."""
    assert set(timeline._DESCRIBE) == set(DATA_MODELS)


def test_a_type_the_table_does_not_know_is_shown_by_its_name() -> None:
    record = Record(
        v=2,
        seq=0,
        session=1,
        utc="2026-12-02T08:00:00.000000Z",
        mono_ns=0,
        type="FUTURE_TYPE",
        actor="system",
        data={},
        prev="0" * 64,
        hash="0" * 64,
    )
    assert timeline.describe(record) == "FUTURE_TYPE"
