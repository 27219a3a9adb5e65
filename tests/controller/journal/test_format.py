"""The on-disk format: canonical lines, hashes an auditor can recompute, strict schemas."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from pydantic import ValidationError

from controller.journal import ParamsApplied, SessionOpen
from controller.journal.format import (
    SchemaError,
    build_record,
    canonical_json,
    check_schema,
    parse_line,
    record_hash,
    utc_text,
)
from controller.journal.records import DATA_MODELS, StopReason
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
