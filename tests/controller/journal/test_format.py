"""The on-disk format: canonical lines, hashes an auditor can recompute, strict schemas."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from decimal import Decimal
from enum import IntEnum
from pathlib import Path
from typing import ClassVar

import pytest
import rfc8785
from pydantic import ValidationError

from controller.journal import ParamsApplied, SessionOpen
from controller.journal.format import (
    _TOO_BIG,
    FramingError,
    HeadCheckpoint,
    NotCanonicalValue,
    SchemaError,
    build_record,
    canonical_json,
    check_schema,
    head_fingerprint,
    head_message,
    parse_head,
    parse_line,
    record_hash,
    utc_text,
)
from controller.journal.records import (
    DATA_MODELS,
    MAX_SAFE_INTEGER,
    Intake,
    Override,
    RecordData,
    StopReason,
)
from firmware_bridge.protocol.enums import StopReason as WireStopReason
from tests.controller.journal.helpers import START_WALL_NS, write_sample_journal


def test_utc_text_is_iso8601_with_z_and_microseconds() -> None:
    assert utc_text(START_WALL_NS) == "2026-03-02T10:00:00.000000Z"
    assert utc_text(START_WALL_NS + 1_234_567) == "2026-03-02T10:00:00.001234Z"


def test_a_line_is_canonical_json_and_its_hash_is_sha256_of_the_line_without_hash() -> None:
    record, line = build_record(
        seq=1,
        session=1,
        wall_ns=START_WALL_NS,
        mono_ns=42,
        data=ParamsApplied(
            param_version=1, area="forehead", depth_um=500, speed_sps=110, matches_request=True
        ),
        actor="pen",
        prev="0" * 64,
    )
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    fields = json.loads(line)
    assert list(fields) == sorted(fields)
    assert b" " not in line
    without_hash = {k: v for k, v in fields.items() if k != "hash"}
    expected = hashlib.sha256(
        json.dumps(without_hash, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()
    assert fields["hash"] == expected == record.hash
    assert fields["utc"] == "2026-03-02T10:00:00.000000Z"
    assert fields["data"]["depth_um"] == 500


@pytest.mark.skipif(shutil.which("jq") is None, reason="jq is not installed")
def test_an_auditor_can_recompute_a_hash_with_jq_and_sha256sum(tmp_path: Path) -> None:
    """The recipe in docs/journal.md works on a real journal line."""
    write_sample_journal(tmp_path / "j", sessions=1)
    first = (tmp_path / "j" / "session-000001.jsonl").read_bytes().splitlines()[0]
    canonical = subprocess.run(
        ["jq", "-jcS", "del(.hash)"], input=first, capture_output=True, check=True
    ).stdout
    assert hashlib.sha256(canonical).hexdigest() == json.loads(first)["hash"]


def test_non_canonical_spellings_of_the_same_record_are_refused() -> None:
    _, line = build_record(
        seq=1,
        session=1,
        wall_ns=START_WALL_NS,
        mono_ns=1,
        data=ParamsApplied(
            param_version=1, area="forehead", depth_um=500, speed_sps=110, matches_request=True
        ),
        actor="pen",
        prev="0" * 64,
    )
    raw = line[:-1]
    assert parse_line(raw)["seq"] == 1
    spaced = raw.replace(b'"seq":1', b'"seq": 1')
    with pytest.raises(ValueError, match="canonical"):
        parse_line(spaced)
    upper = raw.replace(b'"prev":"0000', b'"prev":"\\u0030000')
    with pytest.raises(ValueError, match="canonical"):
        parse_line(upper)


def test_schemas_are_strict_no_coercion_no_unknown_fields() -> None:
    with pytest.raises(ValidationError):
        ParamsApplied(
            param_version=1, area="forehead", depth_um="500", speed_sps=110, matches_request=True
        )  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        ParamsApplied.model_validate(
            {
                "param_version": 1,
                "area": "forehead",
                "depth_um": 500,
                "speed_sps": 110,
                "matches_request": True,
                "depth_mm": 0.5,
            }
        )
    with pytest.raises(ValidationError):
        SessionOpen.model_validate({"operator_id": "op:alice"})


def test_check_schema_names_the_bad_field() -> None:
    record, line = build_record(
        seq=3,
        session=1,
        wall_ns=START_WALL_NS,
        mono_ns=1,
        data=ParamsApplied(
            param_version=1, area="forehead", depth_um=500, speed_sps=110, matches_request=True
        ),
        actor="pen",
        prev="0" * 64,
    )
    fields = json.loads(line)
    fields["data"]["depth_um"] = -5
    with pytest.raises(SchemaError, match=r"data\.depth_um"):
        check_schema(fields)
    fields = json.loads(line)
    fields["type"] = "TELEPORT"
    with pytest.raises(SchemaError, match="unknown record type"):
        check_schema(fields)
    fields = json.loads(line)
    fields["v"] = 3
    with pytest.raises(SchemaError, match="schema version 3"):
        check_schema(fields)
    assert check_schema(json.loads(line)) == record


def test_every_record_type_has_a_schema_and_a_row_in_the_spec() -> None:
    """docs/journal.md §2.1 lists exactly the types the writer and verifier accept."""
    doc = (Path(__file__).parents[3] / "docs" / "journal.md").read_text(encoding="utf-8")
    table = doc.split("### 2.1 Record types", 1)[1].split("###", 1)[0]
    documented = set(re.findall(r"^\| `([A-Z_]+)` \|", table, re.M))
    assert set(DATA_MODELS) == documented
    assert {"SESSION_OPEN", "INTAKE", "CARTRIDGE", "NEEDLE_START", "NEEDLE_STOP"} <= documented


def test_stop_reasons_cover_every_reason_the_pen_can_report() -> None:
    """A stop the pen reports (S7: journaled after it is sent) always has a journal spelling."""
    assert {reason.name.lower() for reason in WireStopReason} == set(StopReason.__args__)


def test_record_hash_ignores_only_the_hash_field() -> None:
    fields = {"a": 1, "hash": "x"}
    assert record_hash(fields) == hashlib.sha256(canonical_json({"a": 1})).hexdigest()


# DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410); the 32 key bytes follow.
_ED25519_SPKI_PREFIX = bytes.fromhex("302a300506032b6570032100")


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_openssl_verifies_a_checkpoint_from_the_documented_bytes(tmp_path: Path) -> None:
    """An independent implementation (OpenSSL) accepts our signatures: docs/journal.md §4."""
    write_sample_journal(tmp_path / "j", sessions=1)
    checkpoint = json.loads((tmp_path / "j" / "session-000001.jsonl").read_bytes().splitlines()[-1])
    data = checkpoint["data"]
    message = tmp_path / "msg"
    text = f"penctl-journal checkpoint v1\nseq {data['covers_seq']}\nhash {data['covers_hash']}\n"
    message.write_bytes(text.encode())
    (tmp_path / "sig").write_bytes(bytes.fromhex(data["signature"]))
    (tmp_path / "pub.der").write_bytes(_ED25519_SPKI_PREFIX + bytes.fromhex(data["public_key"]))
    command = [
        "openssl", "pkeyutl", "-verify", "-pubin", "-inkey", str(tmp_path / "pub.der"),
        "-keyform", "DER", "-rawin", "-in", str(message), "-sigfile", str(tmp_path / "sig"),
    ]  # fmt: skip
    assert subprocess.run(command, capture_output=True).returncode == 0
    message.write_bytes(message.read_bytes().replace(b"seq ", b"seq 1"))
    assert subprocess.run(command, capture_output=True).returncode != 0


_GOOD: dict[str, object] = {
    "seq": 7,
    "session": 2,
    "wall_ns": START_WALL_NS,
    "mono_ns": 0,
    "actor": "op:alice",
    "prev": "0" * 64,
}
_APPLIED = ParamsApplied(
    param_version=1, area="forehead", depth_um=500, speed_sps=110, matches_request=True
)


def _build(data: RecordData = _APPLIED, **changes: object) -> bytes:
    return build_record(data=data, **{**_GOOD, **changes})[1]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"mono_ns": -1}, "mono_ns: -1 is not an integer from 0 to 2"),
        ({"mono_ns": MAX_SAFE_INTEGER + 1}, "mono_ns"),
        ({"mono_ns": True}, "mono_ns: True"),
        ({"seq": 0}, "seq 0"),
        ({"seq": MAX_SAFE_INTEGER + 1}, "seq"),
        ({"seq": True}, "seq True"),
        ({"session": 0}, "session 0"),
        ({"session": MAX_SAFE_INTEGER + 1}, "session"),
        ({"session": True}, "session True"),
        ({"prev": "0" * 63}, "prev '0"),
        ({"prev": "A" * 64}, "prev 'A"),
        ({"actor": 'op"alice'}, "does not match"),
        ({"actor": "op:alice\n"}, "does not match"),
        (
            {"wall_ns": -1},
            "the wall clock reads -1 ns since 1970-01-01, outside the years 1970 to 9999 a "
            "record's utc can hold; set the system clock (or the clock given to the journal)",
        ),
    ],
)
def test_an_envelope_field_the_line_template_cannot_spell_is_refused_naming_it(
    changes: dict[str, object], message: str
) -> None:
    """The envelope is written from a template, so a value JSON would spell otherwise (a bool,
    a quote) or that is out of range must be refused before it reaches a line."""
    with pytest.raises(SchemaError, match=re.escape(message)):
        _build(**changes)


def test_the_envelope_bounds_themselves_are_accepted() -> None:
    line = _build(seq=MAX_SAFE_INTEGER, session=1, mono_ns=MAX_SAFE_INTEGER, prev="f" * 64)
    fields = json.loads(line)
    assert (fields["seq"], fields["session"], fields["mono_ns"]) == (
        MAX_SAFE_INTEGER,
        1,
        MAX_SAFE_INTEGER,
    )
    assert json.loads(_build(session=MAX_SAFE_INTEGER, seq=1))["session"] == MAX_SAFE_INTEGER
    assert json.loads(_build(wall_ns=0))["utc"] == "1970-01-01T00:00:00.000000Z"


def test_only_the_journals_own_record_types_are_written() -> None:
    """A `type` is spliced into the line as it is: a look-alike class, even under a known type's
    name, is refused rather than written."""

    class Impostor(ParamsApplied):
        record_type: ClassVar[str] = 'PARAMS"APPLIED'

    class LookAlike(ParamsApplied):
        pass

    fields = dict(_APPLIED)
    for data in (Impostor(**fields), LookAlike(**fields)):
        with pytest.raises(SchemaError, match="not one of the journal's record types"):
            _build(data)


def test_data_a_line_cannot_hold_is_refused_naming_why() -> None:
    with pytest.raises(SchemaError, match=r"beyond ±\(2\^53 - 1\)"):
        _build(ParamsApplied(**{**dict(_APPLIED), "depth_um": MAX_SAFE_INTEGER + 1}))
    with pytest.raises(SchemaError) as caught:
        _build(Override.model_construct(rule="interval", reason="\ud800"))
    assert str(caught.value) == "text holds a lone surrogate, which UTF-8 cannot store"


def test_a_records_data_is_a_copy_changing_it_leaves_the_model_alone() -> None:
    intake = Intake(
        concern="acne scars", profile_name="p", areas=["forehead"], skin_type=2, level="l"
    )
    record = build_record(data=intake, **_GOOD)[0]  # type: ignore[arg-type]
    record.data["areas"].append("chin")
    assert intake.areas == ["forehead"]
    assert json.loads(_build(intake))["data"]["areas"] == ["forehead"]


class _Level(IntEnum):
    LOWEST = -MAX_SAFE_INTEGER
    HIGHEST = MAX_SAFE_INTEGER


def test_integers_of_an_int_subclass_are_held_to_the_same_bounds() -> None:
    assert canonical_json([_Level.LOWEST, _Level.HIGHEST, _Level(-MAX_SAFE_INTEGER)]) == (
        f"[{-MAX_SAFE_INTEGER},{MAX_SAFE_INTEGER},{-MAX_SAFE_INTEGER}]".encode()
    )

    class Big(IntEnum):
        OVER = MAX_SAFE_INTEGER + 1

    with pytest.raises(NotCanonicalValue, match=r"integer 9007199254740992 is beyond"):
        canonical_json([Big.OVER])


def test_a_value_json_does_not_have_is_refused_by_its_type_name() -> None:
    with pytest.raises(NotCanonicalValue) as caught:
        canonical_json({"depth": Decimal("0.5")})
    assert str(caught.value) == "Decimal is not a JSON value"


def test_the_utf16_ordered_encoder_spells_every_kind_of_value_as_rfc8785_does() -> None:
    """A key beyond U+FFFF takes the slower encoder: lists, nesting, every scalar, non-ASCII."""
    value = {
        "\U0001f600": [1, "é\u2028", [], [True, None, {"b": "ü", "a": -3}]],
        "\uffff": {"\U0001f601": "x"},
        "z": "DEL\x7f",
    }
    assert canonical_json(value) == rfc8785.dumps(value)
    assert canonical_json(value).decode().index("\U0001f600") < canonical_json(
        value
    ).decode().index("\uffff")


def test_a_line_with_a_lone_surrogate_key_beside_an_astral_key_is_not_a_record() -> None:
    with pytest.raises(FramingError, match="lone surrogate"):
        parse_line(b'{"\\ud800":1,"\\ud83d\\ude00":2}')


def test_a_head_fingerprint_is_the_seq_and_16_hex_digits() -> None:
    assert head_fingerprint(86, "2d44a1c09b3e4dce" + "5" * 48) == "86:2d44a1c09b3e4dce"


def _head(tmp_path: Path) -> bytes:
    write_sample_journal(tmp_path / "j", sessions=1)
    return (tmp_path / "j" / "head.json").read_bytes()


def test_head_json_errors_say_what_is_wrong_with_it(tmp_path: Path) -> None:
    raw = _head(tmp_path)
    assert parse_head(raw).last_session == 1
    cases = {
        raw[:-1]: "head.json does not end with a newline",
        raw + raw: "head.json holds more than one line",
    }
    fields = json.loads(raw)
    for changes, message in (
        ({"v": 3}, "head.json version 3 is not supported (this verifier reads 2)"),
        ({"v": True}, "v: Input should be 2"),
        ({"last_session": -1}, "last_session: Input should be greater than or equal to 0"),
        ({"checkpoint": {**fields["checkpoint"], "seq": 0}}, "checkpoint.seq: Input should be"),
    ):
        cases[canonical_json({**fields, **changes}) + b"\n"] = message
    for bad, message in cases.items():
        with pytest.raises((FramingError, SchemaError)) as caught:
            parse_head(bad)
        assert str(caught.value).startswith(message)


def test_record_schema_errors_name_the_field_by_its_path() -> None:
    fields = json.loads(_build())
    with pytest.raises(SchemaError) as envelope:
        check_schema({**fields, "seq": 0})
    assert str(envelope.value) == "seq: Input should be greater than or equal to 1"
    intake = Intake(concern="c", profile_name="p", areas=["forehead"], skin_type=2, level="l")
    fields = json.loads(_build(intake))
    fields["data"]["areas"] = ["forehead", ""]
    with pytest.raises(SchemaError) as data:
        check_schema(fields)
    assert str(data.value) == "data.areas.1: String should have at least 1 character"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b'{"a":"\xff"}', "not UTF-8 (byte 6 of the line)"),
        (b'{"a":}', "not JSON (Expecting value at column 6)"),
        (b"[1]", "not a JSON object"),
        (b'{"a":"\\ud800"}', "holds a lone surrogate escape, which UTF-8 cannot store"),
        (b'{"b":1,"a":2}', "not in canonical form (sorted keys, no spaces, UTF-8)"),
        (b'{"a":' + b"9" * 5000 + b"}", _TOO_BIG),
        (b'{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}", _TOO_BIG),
    ],
)
def test_a_line_that_is_not_a_record_is_refused_saying_why(raw: bytes, message: str) -> None:
    with pytest.raises(FramingError) as caught:
        parse_line(raw)
    assert str(caught.value) == message


def test_the_signed_head_message_is_exactly_the_documented_bytes() -> None:
    assert head_message(3, None) == b"penctl-journal head v2\nlast_session 3\ncheckpoint none\n"
    checkpoint = HeadCheckpoint(session=3, seq=86, hash="ab" * 32, key_id="cd" * 8)
    assert head_message(3, checkpoint) == (
        b"penctl-journal head v2\nlast_session 3\ncheckpoint 3 86 " + b"ab" * 32 + b"\n"
    )


def test_an_object_key_that_is_not_a_string_is_refused_saying_so() -> None:
    with pytest.raises(NotCanonicalValue) as caught:
        canonical_json({"data": {1: "x"}})
    assert str(caught.value) == "an object key is not a string"
