"""Numbers every JSON tool reads exactly, and a canonical form that is RFC 8785 for real.

Checked against two implementations that share no code with penctl: Trail of Bits' `rfc8785`
library and jq (docs/journal.md §3).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from controller.journal import JournalWriter, NeedleStop, ParamsRequested
from controller.journal import format as format_module
from controller.journal.format import (
    FramingError,
    NotCanonicalValue,
    build_record,
    canonical_json,
    parse_line,
)
from controller.journal.records import (
    ACTOR_PATTERN,
    MAX_SAFE_INTEGER,
    Correction,
    Intake,
    KeptAside,
    RecordData,
    Recovery,
)
from tests.controller.journal.helpers import OPERATOR, ManualClock, fixed_signer, session_open

# 2^62 ns of uptime is 146 years; 2^53 ns is 104 days
FAR_BEYOND_2_53 = 2**62 + 123_456_789


def _ints(value: object) -> list[int]:
    if isinstance(value, bool):
        return []
    if isinstance(value, int):
        return [value]
    if isinstance(value, dict):
        return [n for item in value.values() for n in _ints(item)]
    if isinstance(value, list):
        return [n for item in value for n in _ints(item)]
    return []


@pytest.fixture(scope="module")
def long_uptime_journal(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A session on a machine whose monotonic clock reads far beyond 2^53 ns."""
    directory = tmp_path_factory.mktemp("uptime") / "j"
    clock = ManualClock(mono=FAR_BEYOND_2_53)
    with JournalWriter.open(directory, signer=fixed_signer(), clock=clock) as writer:
        writer.open_session(session_open(), OPERATOR)
        clock.advance(2.5)
        writer.append(
            ParamsRequested(
                param_version=1,
                area="forehead",
                depth_um=500,
                speed_sps=110,
                override_reason='tab\there, quote " backslash \\ é 😀 \u2028 \x01',
            ),
            OPERATOR,
        )
        clock.advance(40)
        writer.append(NeedleStop(reason="operator", sent_mono_ns=clock.mono - 1_000), OPERATOR)
        writer.close_session("completed", "done", OPERATOR)
    return directory


def _lines(directory: Path) -> list[bytes]:
    return (directory / "session-000001.jsonl").read_bytes().splitlines()


def test_no_record_holds_an_integer_beyond_2_53_after_centuries_of_uptime(
    long_uptime_journal: Path,
) -> None:
    records = [json.loads(line) for line in _lines(long_uptime_journal)]
    assert all(abs(n) <= MAX_SAFE_INTEGER for r in records for n in _ints(r))
    assert [r["mono_ns"] for r in records[:3]] == [0, 2_500_000_000, 42_500_000_000]
    stop = next(r for r in records if r["type"] == "NEEDLE_STOP")
    assert stop["data"]["sent_mono_ns"] == 42_500_000_000 - 1_000


def test_each_line_is_exactly_what_an_independent_rfc8785_library_makes(
    long_uptime_journal: Path,
) -> None:
    for line in _lines(long_uptime_journal):
        record = json.loads(line)
        assert rfc8785.dumps(record) == line
        without_hash = {k: v for k, v in record.items() if k != "hash"}
        assert hashlib.sha256(rfc8785.dumps(without_hash)).hexdigest() == record["hash"]


@pytest.mark.skipif(shutil.which("jq") is None, reason="jq is not installed")
def test_jq_reads_every_number_exactly(long_uptime_journal: Path) -> None:
    """jq 1.6 holds numbers as doubles: exact only up to 2^53, which is why no record exceeds it."""
    path = long_uptime_journal / "session-000001.jsonl"
    done = subprocess.run(
        ["jq", "-c", "[.seq, .mono_ns, .data.sent_mono_ns]", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    ours = [
        [r["seq"], r["mono_ns"], r["data"].get("sent_mono_ns")]
        for r in map(json.loads, _lines(long_uptime_journal))
    ]
    assert [json.loads(row) for row in done.stdout.splitlines()] == ours


def test_a_record_with_an_integer_beyond_2_53_is_not_a_record() -> None:
    line = canonical_json({"mono_ns": MAX_SAFE_INTEGER, "seq": 1})
    assert parse_line(line)["mono_ns"] == MAX_SAFE_INTEGER
    for big in (MAX_SAFE_INTEGER + 1, -MAX_SAFE_INTEGER - 1, 2**64):
        with pytest.raises(FramingError, match=r"beyond ±\(2\^53 - 1\)"):
            parse_line(f'{{"mono_ns":{big},"seq":1}}'.encode())
        with pytest.raises(NotCanonicalValue):
            canonical_json({"n": big})
        with pytest.raises(rfc8785.IntegerDomainError):
            rfc8785.dumps({"n": big})
    with pytest.raises(FramingError, match="integers only"):
        parse_line(b'{"n":1.0}')


json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER)
    | st.text(st.characters(exclude_categories=("Cs",)))
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(st.characters(exclude_categories=("Cs",))), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=100, deadline=None)
@given(json_values)
def test_canonical_json_is_rfc8785_for_every_value_a_record_can_hold(value: object) -> None:
    """Every character (controls, DEL, U+2028, astral planes in keys, sorted by UTF-16 code
    units), every integer within ±(2^53 - 1), nesting: byte for byte the library's output."""
    assert canonical_json(value) == rfc8785.dumps(value)


@settings(max_examples=100, deadline=None)
@given(json_values)
def test_the_python_encoder_spells_what_the_c_encoder_spells(value: object) -> None:
    """Where CPython's C encoder is missing (another interpreter), the journal falls back to the
    same settings in Python: every line must come out the same, byte for byte."""
    assert "".join(format_module._PY_ENCODE(value, 0)) == "".join(format_module._ENCODE(value, 0))


def test_keys_sort_by_utf16_code_units_not_code_points() -> None:
    """U+FFFF sorts after U+1F600 by code point, before it by UTF-16 (0xFFFF > 0xD83D)."""
    value = {"\uffff": 1, "\U0001f600": 2, "a": 3}
    assert canonical_json(value) == rfc8785.dumps(value)
    assert canonical_json(value).decode().index("\U0001f600") < canonical_json(
        value
    ).decode().index("\uffff")


texts = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=40)
counts = st.integers(1, MAX_SAFE_INTEGER)
scalars = st.none() | st.booleans() | st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER) | texts
record_data = st.one_of(
    st.builds(
        ParamsRequested,
        param_version=counts,
        area=texts,
        depth_um=st.integers(0, MAX_SAFE_INTEGER),
        speed_sps=st.integers(0, MAX_SAFE_INTEGER),
        override_reason=st.none() | texts,
    ),
    st.builds(
        Correction, refers_to_seq=counts, field=texts, before=scalars, after=scalars, reason=texts
    ),
    st.builds(
        Intake,
        concern=texts,
        profile_name=texts,
        areas=st.lists(texts, min_size=1),
        skin_type=st.integers(1, 6),
        level=texts,
    ),
    st.builds(
        Recovery,
        last_good_seq=st.integers(0, MAX_SAFE_INTEGER),
        kept_aside=st.lists(
            st.builds(
                KeptAside,
                file=texts,
                offset=st.integers(0, MAX_SAFE_INTEGER),
                bytes=counts,
                sha256=st.text("0123456789abcdef", min_size=64, max_size=64),
            ),
            max_size=2,
        ),
        note=texts,
    ),
)


@settings(max_examples=150, deadline=None)
@given(
    data=record_data,
    seq=counts,
    session=counts,
    wall_ns=st.integers(0, 253_402_300_800 * 1_000_000_000 - 1),
    mono_ns=st.integers(0, MAX_SAFE_INTEGER),
    actor=st.from_regex(ACTOR_PATTERN, fullmatch=True),
    prev=st.text("0123456789abcdef", min_size=64, max_size=64),
)
def test_a_written_line_is_byte_for_byte_the_independent_librarys_form_of_the_record(
    data: RecordData, seq: int, session: int, wall_ns: int, mono_ns: int, actor: str, prev: str
) -> None:
    """The writer spells a line's envelope from a template (docs/journal.md §5); the record built
    here from its parts by the independent library, hash included, must be the same bytes."""
    seconds, fraction_ns = divmod(wall_ns, 1_000_000_000)
    fields = {
        "v": 2,
        "seq": seq,
        "session": session,
        "utc": datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        + f".{fraction_ns // 1000:06d}Z",
        "mono_ns": mono_ns,
        "type": data.record_type,
        "actor": actor,
        "data": data.model_dump(mode="json"),
        "prev": prev,
    }
    fields["hash"] = hashlib.sha256(rfc8785.dumps(fields)).hexdigest()
    record, line = build_record(
        seq=seq,
        session=session,
        wall_ns=wall_ns,
        mono_ns=mono_ns,
        data=data,
        actor=actor,
        prev=prev,
    )
    assert line == rfc8785.dumps(fields) + b"\n"
    assert {name: getattr(record, name) for name in fields} == fields
