"""An implementation of the pen link built only from docs/protocol.md, checked against the vectors.

Nothing here imports penctl's protocol code: the layouts, code tables, CRC parameters, sizes and the
order of the receive checks are parsed from the document at test time (spec_reader), CRC comes from
crccheck configured with the document's catalogue parameters, and COBS from the `cobs` package. If
this file passes, a firmware engineer can implement the link from the page alone (S9: every corrupt
frame is named and dropped, never passed on).
"""

from __future__ import annotations

import binascii
import json
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import pytest
from cobs import cobs
from crccheck.crc import ALLCRCCLASSES, Crc

from tests.firmware_bridge.spec_reader import (
    DOC_PATH,
    VECTORS_PATH,
    Field,
    Message,
    Spec,
    SpecError,
    read_spec,
)

SPEC = read_spec()
VECTOR_FILE: dict[str, Any] = json.loads(VECTORS_PATH.read_text(encoding="utf-8"))
VECTORS: list[dict[str, Any]] = VECTOR_FILE["vectors"]
VALID = [v for v in VECTORS if v["valid"]]
INVALID = [v for v in VECTORS if not v["valid"]]

FieldValue = int | str
Check = Callable[["_Arrival"], str | None]


def crc16(data: bytes, spec: Spec = SPEC) -> int:
    """The frame CRC from a generic engine configured with the document's catalogue parameters."""
    p = spec.crc
    engine = Crc(p.width, p.poly, p.init, p.refin, p.refout, p.xorout, check_result=p.check)
    engine.process(data)
    return engine.final()


def width_of(type_name: str, spec: Spec = SPEC) -> int:
    return struct.calcsize("<" + spec.struct_format(type_name))


def payload_size(message: Message, spec: Spec = SPEC) -> int:
    return max((f.offset + width_of(f.type, spec) for f in message.fields), default=0)


def _text(raw: bytes, spec: Spec = SPEC) -> str | None:
    """The text of a char[N] field, or None when it is not ASCII followed by padding."""
    content = raw.rstrip(bytes([spec.text_pad]))
    low, high = spec.text_bytes
    if all(low <= byte <= high for byte in content):
        return content.decode("ascii")
    return None


def _raw(field: Field, payload: bytes, spec: Spec = SPEC) -> int | bytes:
    value: int | bytes = struct.unpack_from(
        "<" + spec.struct_format(field.type), payload, field.offset
    )[0]
    return value


def _field_value(field: Field, payload: bytes, spec: Spec = SPEC) -> FieldValue:
    raw = _raw(field, payload, spec)
    if isinstance(raw, bytes):
        text = _text(raw, spec)
        assert text is not None, f"{field.name} passed the text check but is not padded ASCII"
        return text
    table = spec.enum_table(field)
    return table[raw] if table is not None else raw


@dataclass(frozen=True)
class Accepted:
    version: int
    type_code: int
    type_name: str
    flags: int
    seq: int
    length: int
    payload: bytes
    crc: int
    fields: dict[str, FieldValue]


@dataclass(frozen=True)
class Refused:
    error: str
    check: int
    reason: str


@dataclass
class _Arrival:
    """One delimited frame on its way through the checks; each view is computed when first used."""

    encoded: bytes
    spec: Spec

    @cached_property
    def decoded(self) -> bytes:
        return cobs.decode(self.encoded)

    @cached_property
    def header(self) -> dict[str, int]:
        return {
            f.name: struct.unpack_from(
                "<" + self.spec.struct_format(f.type), self.decoded, f.offset
            )[0]
            for f in self.spec.header
        }

    @property
    def message(self) -> Message:
        return self.spec.messages[self.header["type"]]

    @property
    def payload(self) -> bytes:
        start = self.spec.header_size
        return self.decoded[start : start + self.header["length"]]


def _cobs_overrun(arrival: _Arrival) -> str | None:
    at, data = 0, arrival.encoded
    while at < len(data):
        if at + data[at] > len(data):
            return (
                f"code byte {data[at]:#04x} at offset {at} points past the {len(data)}-byte frame"
            )
        at += data[at]
    return None


def _bad_fields(spec: Spec, clauses: str) -> Check:
    """Check 9 is several clauses with one error name; each clause must be one we can implement."""
    reserved = sum(1 << bit for bit in spec.reserved_flag_bits)

    def flags(a: _Arrival) -> str | None:
        return (
            f"reserved flag bits {a.header['flags'] & reserved:#04x}"
            if a.header["flags"] & reserved
            else None
        )

    def length(a: _Arrival) -> str | None:
        want = payload_size(a.message, spec)
        return (
            None
            if a.header["length"] == want
            else f"length {a.header['length']}, {a.message.name} is {want}"
        )

    def enums(a: _Arrival) -> str | None:
        for f in a.message.fields:
            table = spec.enum_table(f)
            if table is not None and _raw(f, a.payload, spec) not in table:
                return f"{f.name} = {_raw(f, a.payload, spec)} is not a {f.unit}"
        return None

    def texts(a: _Arrival) -> str | None:
        for f in a.message.fields:
            raw = _raw(f, a.payload, spec)
            if isinstance(raw, bytes) and _text(raw, spec) is None:
                return f"{f.name} = {raw!r} is not padded ASCII"
        return None

    known: dict[str, Check] = {
        "a reserved flag bit set": flags,
        "length not the size §4 gives for the type": length,
        "an enumerated field holding a value its table does not list": enums,
        "a text field that is not padded ASCII": texts,
    }
    parts: list[Check] = []
    for clause in clauses.split("; "):
        if clause not in known:
            raise SpecError(f"§2.1: cannot implement the check clause {clause!r}")
        parts.append(known[clause])

    def any_part(a: _Arrival) -> str | None:
        return next((reason for part in parts if (reason := part(a))), None)

    return any_part


def _frame_check(spec: Spec, text: str) -> Check:
    """Turns one §2.1 row into code; a row we cannot read word for word is a spec problem."""
    if text == "a COBS code byte points past the end of the frame":
        return _cobs_overrun
    if found := re.fullmatch(r"fewer than (\d+) bytes after COBS decoding", text):
        least = int(found.group(1))
        return lambda a: f"{len(a.decoded)} bytes" if len(a.decoded) < least else None
    if found := re.fullmatch(r"(fewer|more) bytes than (\d+) \+ length \+ (\d+)", text):
        fewer, head, tail = found.group(1) == "fewer", int(found.group(2)), int(found.group(3))

        def against_length(a: _Arrival) -> str | None:
            want = head + a.header["length"] + tail
            wrong = len(a.decoded) < want if fewer else len(a.decoded) > want
            return f"{len(a.decoded)} bytes, the length byte says {want}" if wrong else None

        return against_length
    if text == "CRC mismatch":

        def crc_mismatch(a: _Arrival) -> str | None:
            body, stated = a.decoded[: -spec.crc_size], a.decoded[-spec.crc_size :]
            sent, computed = int.from_bytes(stated, "little"), crc16(body, spec)
            return f"sent {sent:#06x}, computed {computed:#06x}" if sent != computed else None

        return crc_mismatch
    if found := re.fullmatch(r"version ≠ (\d+)", text):
        version = int(found.group(1))
        return lambda a: (
            f"version {a.header['version']}" if a.header["version"] != version else None
        )
    if text == "type not in §4":
        return lambda a: (
            None if a.header["type"] in spec.messages else f"type {a.header['type']:#04x}"
        )
    if ";" in text or text.startswith("a reserved flag bit"):
        return _bad_fields(spec, text)
    raise SpecError(f"§2.1: cannot implement the check {text!r}")


class SpecReceiver:
    """A receiver that runs §2.1's checks in the document's order, on a byte stream."""

    def __init__(self, spec: Spec = SPEC) -> None:
        first, *rest = spec.receive_checks
        hold = re.match(r"more than (\d+) bytes arrived without a 0x00 ", first.check)
        if hold is None:
            raise SpecError(f"§2.1: check 1 must be the one that acts while bytes arrive: {first}")
        self._spec = spec
        self._oversize = first
        self._hold_limit = int(hold.group(1))
        self._checks = [(row, _frame_check(spec, row.check)) for row in rest]
        self._held = bytearray()
        self._discarding = False

    def feed(self, data: bytes) -> list[Accepted | Refused]:
        results: list[Accepted | Refused] = []
        for byte in data:
            if byte == self._spec.delimiter:
                if self._held and not self._discarding:
                    results.append(self._frame(bytes(self._held)))
                self._held.clear()
                self._discarding = False
            elif self._discarding:
                continue
            elif len(self._held) == self._hold_limit:
                self._held.clear()
                self._discarding = True
                results.append(
                    Refused(
                        self._oversize.error, self._oversize.number, f"{self._hold_limit + 1} bytes"
                    )
                )
            else:
                self._held.append(byte)
        return results

    def _frame(self, encoded: bytes) -> Accepted | Refused:
        arrival = _Arrival(encoded, self._spec)
        for row, check in self._checks:
            reason = check(arrival)
            if reason:
                return Refused(row.error, row.number, reason)
        message = arrival.message
        return Accepted(
            version=arrival.header["version"],
            type_code=message.code,
            type_name=message.name,
            flags=arrival.header["flags"],
            seq=arrival.header["seq"],
            length=arrival.header["length"],
            payload=arrival.payload,
            crc=int.from_bytes(arrival.decoded[-self._spec.crc_size :], "little"),
            fields={f.name: _field_value(f, arrival.payload, self._spec) for f in message.fields},
        )


def _pack(field: Field, value: FieldValue, spec: Spec = SPEC) -> bytes:
    fmt = "<" + spec.struct_format(field.type)
    width = spec.text_width(field.type)
    if width is not None:
        assert isinstance(value, str)
        text = value.encode("ascii")
        assert len(text) <= width, f"{field.name} {value!r} is wider than {field.type}"
        return struct.pack(fmt, text.ljust(width, bytes([spec.text_pad])))
    table = spec.enum_table(field)
    if table is not None:
        value = {name: code for code, name in table.items()}[str(value)]
    return struct.pack(fmt, value)


def encode_frame(
    type_name: str, seq: int, flags: int, fields: dict[str, FieldValue], spec: Spec = SPEC
) -> bytes:
    """header ‖ payload ‖ crc, COBS-encoded, then the delimiter: §2 read literally."""
    message = spec.message_named(type_name)
    payload = b"".join(_pack(f, fields[f.name], spec) for f in message.fields)
    values = {"version": spec.version, "type": message.code, "flags": flags, "seq": seq}
    values["length"] = len(payload)
    header = b"".join(_pack(f, values[f.name], spec) for f in spec.header)
    body = header + payload
    crc = struct.pack("<" + spec.struct_format(spec.crc_type), crc16(body, spec))
    return cobs.encode(body + crc) + bytes([spec.delimiter])


def consistency_problems(spec: Spec) -> list[str]:
    """What the document contradicts itself on; empty when its parts agree."""
    problems: list[str] = []
    layouts = [
        ("§2 header", spec.header),
        *((f"§4 {m.name}", m.fields) for m in spec.messages.values()),
    ]
    for where, fields in layouts:
        at = 0
        for f in fields:
            if f.offset != at:
                problems.append(f"{where}: {f.name} at offset {f.offset}, expected {at}")
            at = f.offset + width_of(f.type, spec)
        if where == "§2 header" and at != spec.header_size:
            problems.append(
                f"§2: the header table covers {at} bytes, the text says {spec.header_size}"
            )
    if width_of(spec.crc_type, spec) != spec.crc_size or spec.crc.width != 8 * spec.crc_size:
        problems.append(
            f"§2: crc is {spec.crc_size} bytes of {spec.crc_type}, CRC width {spec.crc.width}"
        )
    for m in spec.messages.values():
        low, high = spec.host_types if m.direction == "host → pen" else spec.pen_types
        if not low <= m.code <= high:
            problems.append(f"§4 {m.name}: type {m.code:#04x} outside the {m.direction} range")
        if payload_size(m, spec) > spec.length_range[1]:
            problems.append(f"§4 {m.name}: {payload_size(m, spec)} bytes exceed the length range")
        for f in m.fields:
            if f.unit[:1].isupper() and spec.enum_table(f) is None:
                problems.append(f"§4 {m.name}.{f.name}: unit {f.unit!r} is not a §6 table")
    listed = {m.code: m.name for m in spec.messages.values()}
    if spec.code_tables.get("MessageType") != listed:
        problems.append("§6 MessageType does not list exactly the §4 messages")
    for row in spec.receive_checks:
        least = re.fullmatch(r"fewer than (\d+) bytes after COBS decoding", row.check)
        if least and int(least.group(1)) != spec.header_size + spec.crc_size:
            problems.append(f"§2.1 check {row.number}: {row.check!r} is not header + crc")
        found = re.fullmatch(r"(?:fewer|more) bytes than (\d+) \+ length \+ (\d+)", row.check)
        if found and (int(found.group(1)), int(found.group(2))) != (
            spec.header_size,
            spec.crc_size,
        ):
            problems.append(
                f"§2.1 check {row.number}: {row.check!r} disagrees with the header/crc sizes"
            )
        if row.check.startswith("version ≠") and row.check != f"version ≠ {spec.version}":
            problems.append(
                f"§2.1 check {row.number}: {row.check!r}, the document is version {spec.version}"
            )
    if [row.number for row in spec.receive_checks] != list(range(1, len(spec.receive_checks) + 1)):
        problems.append("§2.1: the checks are not numbered 1, 2, 3, ...")
    return problems


def test_the_document_reads_completely_and_agrees_with_itself() -> None:
    assert consistency_problems(SPEC) == []
    assert len(SPEC.messages) == 14
    assert [c.error for c in SPEC.receive_checks] == [
        "oversize", "truncated", "truncated", "truncated", "bad_length",
        "bad_crc", "wrong_version", "unknown_type", "bad_field",
    ]  # fmt: skip
    SpecReceiver()


def test_vector_file_header_matches_the_document() -> None:
    """§8 spells the vector file's CRC block; it must state the §2 parameters exactly."""
    p = SPEC.crc
    assert VECTOR_FILE["protocol_version"] == SPEC.version
    assert VECTOR_FILE["max_payload"] == SPEC.sizes.max_payload
    assert VECTOR_FILE["crc"] == {
        "name": p.name,
        "width": p.width,
        "poly": f"0x{p.poly:04X}",
        "init": f"0x{p.init:04X}",
        "refin": p.refin,
        "refout": p.refout,
        "xorout": f"0x{p.xorout:04X}",
        "check": f"0x{p.check:04X}",
    }


def test_crc_from_the_stated_parameters_gives_the_stated_check_value() -> None:
    p = SPEC.crc
    assert crc16(p.check_input) == p.check == 0x29B1
    named = [k for k in ALLCRCCLASSES if p.name in getattr(k, "_names", ())]
    assert len(named) == 1, f"crccheck knows {p.name} as {named}"
    assert set(p.aliases) <= set(named[0]._names)
    assert named[0].calc(p.check_input) == p.check
    data = bytes(range(256)) * 3
    assert crc16(data) == named[0].calc(data) == binascii.crc_hqx(data, p.init)


def test_crc_detection_claims_hold_for_the_largest_frame() -> None:
    """§2: 1-, 2- and 3-bit errors, odd bit counts and bursts of ≤16 bits are all detected."""
    bits = 8 * SPEC.sizes.max_frame
    zero = bytes(SPEC.sizes.max_frame)
    syndromes = set()
    for bit in range(bits):
        error = bytearray(zero)
        error[bit // 8] |= 0x80 >> (bit % 8)
        syndromes.add(binascii.crc_hqx(bytes(error), 0))
    full_poly = (1 << SPEC.crc.width) | SPEC.crc.poly
    assert 0 not in syndromes and len(syndromes) == bits  # every 1- and 2-bit error
    assert full_poly.bit_count() % 2 == 0  # (x + 1) divides it: every odd count, so every 3-bit
    assert SPEC.crc.poly & 1  # degree 16 with a constant term: every burst of 16 bits or fewer


@pytest.mark.parametrize("vector", VALID, ids=[v["name"] for v in VALID])
def test_valid_vector_decodes_to_its_fields(vector: dict[str, Any]) -> None:
    frame = bytes.fromhex(vector["frame_hex"])
    assert frame.index(SPEC.delimiter) == len(frame) - 1
    results = SpecReceiver().feed(frame)
    assert len(results) == 1 and isinstance(results[0], Accepted), results
    got = results[0]
    assert (got.version, got.type_name, got.type_code) == (
        SPEC.version,
        vector["type"],
        vector["type_code"],
    )
    assert (got.seq, got.flags) == (vector["seq"], vector["flags"])
    assert got.length == len(got.payload) == payload_size(SPEC.message_named(vector["type"]))
    assert got.payload.hex() == vector["payload_hex"]
    assert got.fields == vector["fields"]
    body = cobs.decode(frame[:-1])[: -SPEC.crc_size]
    assert got.crc == crc16(body) == binascii.crc_hqx(body, SPEC.crc.init)


@pytest.mark.parametrize("vector", VALID, ids=[v["name"] for v in VALID])
def test_valid_vector_reencodes_to_its_exact_bytes(vector: dict[str, Any]) -> None:
    frame = encode_frame(vector["type"], vector["seq"], vector["flags"], vector["fields"])
    assert frame.hex() == vector["frame_hex"]


@pytest.mark.parametrize("vector", INVALID, ids=[v["name"] for v in INVALID])
def test_invalid_vector_is_refused_with_its_error(vector: dict[str, Any]) -> None:
    """S9: a corrupt frame is named by the first failing §2.1 check and dropped."""
    results = SpecReceiver().feed(bytes.fromhex(vector["frame_hex"]))
    assert [r.error for r in results if isinstance(r, Refused)] == [vector["error"]], results
    assert len(results) == 1


def test_one_bad_frame_never_costs_the_next() -> None:
    """S9: every vector back to back, with extra 0x00s, gives the same verdicts in order."""
    alone = [SpecReceiver().feed(bytes.fromhex(v["frame_hex"])) for v in VECTORS]
    stream = b"\x00" + b"\x00".join(bytes.fromhex(v["frame_hex"]) for v in VECTORS)
    receiver = SpecReceiver()
    together = [r for i in range(0, len(stream), 7) for r in receiver.feed(stream[i : i + 7])]
    assert together == [r for results in alone for r in results]
    assert len(together) == len(VECTORS)


def test_the_vector_set_covers_what_section_8_promises() -> None:
    assert {v["type"] for v in VALID} == {m.name for m in SPEC.messages.values()}
    assert {v["error"] for v in INVALID} == {c.error for c in SPEC.receive_checks}
    for v in VALID:
        assert v["type_code"] == SPEC.message_named(v["type"]).code
    assert any(0 in bytes.fromhex(v["payload_hex"]) for v in VALID)
    assert {0, 0xFFFF} <= {v["seq"] for v in VALID}
    assert any(v["flags"] >> SPEC.retransmit_bit & 1 for v in VALID)
    largest = max(payload_size(m) for m in SPEC.messages.values())
    assert any(len(bytes.fromhex(v["payload_hex"])) == largest for v in VALID)
    longest = [v for v in VECTORS if len(v["frame_hex"]) // 2 == SPEC.sizes.max_on_wire]
    assert [v.get("error") for v in longest] == ["unknown_type"]
    verdicts = [r for v in INVALID for r in SpecReceiver().feed(bytes.fromhex(v["frame_hex"]))]
    assert {r.check for r in verdicts if isinstance(r, Refused)} == {
        c.number for c in SPEC.receive_checks
    }


def test_stated_sizes_hold_for_every_message_and_the_largest_payload() -> None:
    sizes = SPEC.sizes
    assert SPEC.length_range == (0, sizes.max_payload)
    assert sizes.max_frame == SPEC.header_size + sizes.max_payload + SPEC.crc_size
    assert sizes.max_on_wire == sizes.max_encoded + 1
    assert SpecReceiver()._hold_limit == sizes.max_encoded
    for message in SPEC.messages.values():
        assert payload_size(message) <= sizes.max_payload
    biggest = max(SPEC.messages.values(), key=payload_size)
    for filler in (0x00, 0x5A):
        assert len(cobs.encode(bytes([filler]) * sizes.max_frame)) <= sizes.max_encoded
        assert len(cobs.encode(bytes([filler]) * (sizes.max_frame + 1))) > sizes.max_encoded
    fields: dict[str, FieldValue] = {}
    for f in biggest.fields:
        table = SPEC.enum_table(f)
        width = SPEC.text_width(f.type)
        fields[f.name] = "~" * width if width else (table[max(table)] if table else 0x7F)
    frame = encode_frame(biggest.name, 0xFFFF, 1 << SPEC.retransmit_bit, fields)
    assert len(frame) <= sizes.max_on_wire
    [got] = SpecReceiver().feed(frame)
    assert isinstance(got, Accepted) and got.fields == fields


def test_a_length_byte_past_the_maximum_arrives_oversize() -> None:
    """A length byte above 240 with its bytes present makes more than 249 encoded bytes."""
    header = bytes([SPEC.version, 0x7F, 0, 0, 0, SPEC.sizes.max_payload + 1])
    assert [f.offset for f in SPEC.header if f.name == "length"] == [len(header) - 1]
    body = header + bytes(range(1, SPEC.sizes.max_payload + 2))
    frame = _reframe(body)
    assert len(frame) == SPEC.sizes.max_on_wire + 1
    assert [r.error for r in SpecReceiver().feed(frame)] == ["oversize"]


def test_cobs_library_uses_the_documents_canonical_form() -> None:
    """§2: a run of 254 non-zero bytes is coded 0xFF and, at the end, gets no further code byte."""
    run = bytes(range(1, 255))
    assert cobs.encode(run) == b"\xff" + run
    assert cobs.encode(run + b"\x00") == b"\xff" + run + b"\x01\x01"
    assert cobs.decode(b"\xff" + run) == run


def _reframe(body: bytes) -> bytes:
    """header ‖ payload with a fresh CRC, encoded for the wire."""
    crc = struct.pack("<" + SPEC.struct_format(SPEC.crc_type), crc16(body))
    return cobs.encode(body + crc) + bytes([SPEC.delimiter])


def _patched(vector_name: str, field_name: str, value: int | bytes) -> bytes:
    vector = next(v for v in VALID if v["name"] == vector_name)
    field = next(f for f in SPEC.message_named(vector["type"]).fields if f.name == field_name)
    body = bytearray(cobs.decode(bytes.fromhex(vector["frame_hex"])[:-1])[: -SPEC.crc_size])
    raw = (
        value
        if isinstance(value, bytes)
        else struct.pack("<" + SPEC.struct_format(field.type), value)
    )
    at = SPEC.header_size + field.offset
    body[at : at + len(raw)] = raw
    return _reframe(bytes(body))


@pytest.mark.parametrize(
    ("vector", "field", "value", "verdict"),
    [
        ("ack: set_params applied, with params_crc", "ack_type", 0x3F, "bad_field"),
        ("nak: unknown type 0x3f", "nak_type", 0x7E, "NAK"),
        ("clear_fault: e-stop latch", "fault", 9, "bad_field"),
        ("clear_fault: e-stop latch", "fault", 255, "CLEAR_FAULT"),
        ("identify: simulated pen, fresh cartridge", "model", b"PEN\x7f", "bad_field"),
        ("identify: simulated pen, fresh cartridge", "model", b"PEN\x1f", "bad_field"),
        ("identify: simulated pen, fresh cartridge", "model", b"P N ~", "IDENTIFY"),
        ("event: motor started", "detail", 0xFFFF, "EVENT"),
    ],
)
def test_enumerated_and_text_fields_are_checked_as_the_document_says(
    vector: str, field: str, value: int | bytes, verdict: str
) -> None:
    """S9: only fields with a §6 table in their unit column, and text, are checked (check 9)."""
    [got] = SpecReceiver().feed(_patched(vector, field, value))
    assert (got.error if isinstance(got, Refused) else got.type_name) == verdict, got


def test_ack_params_crc_is_the_stated_crc_of_the_echoed_set() -> None:
    assert SPEC.params_crc_name == SPEC.crc.name
    ack = SPEC.message_named("ACK")
    by_name = {f.name: f for f in ack.fields}
    checked = 0
    for v in (v for v in VALID if v["type"] == "ACK"):
        parts = [_pack(by_name[name], v["fields"][name]) for name, _ in SPEC.params_crc_fields]
        assert [len(p) for p in parts] == [width_of(t) for _, t in SPEC.params_crc_fields]
        assert sum(len(p) for p in parts) == SPEC.params_crc_size
        assert v["fields"]["params_crc"] == crc16(b"".join(parts))
        checked += 1
    assert checked >= 1


def _mutated(tmp_path: Path, old: str, new: str) -> Path:
    text = DOC_PATH.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path = tmp_path / "protocol.md"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("| 0x03 | START |", "| 0x02 | START |"),
        ("| 7 | MOTOR_STALL |", "| 6 | MOTOR_STALL |"),
        ("| refin / refout | false / false |", "| refin / refout | no / no |"),
        ("| `bad_length` |", "| `bad_length` | extra |"),
        ("No payload (length 0).", "No payload."),
        ("### 0x44 EVENT (pen → host)", "### 0x44 EVENT (pen to host)"),
    ],
)
def test_an_ambiguous_document_is_refused_by_the_reader(tmp_path: Path, old: str, new: str) -> None:
    with pytest.raises(SpecError):
        read_spec(_mutated(tmp_path, old, new))


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        (
            "| 22 | param_version | u32 |",
            "| 24 | param_version | u32 |",
            "param_version at offset 24",
        ),
        ("| 3 | seq | u16 |", "| 3 | seq | u32 |", "length at offset 5, expected 7"),
        ("**header**, 6 bytes:", "**header**, 7 bytes:", "covers 6 bytes, the text says 7"),
        ("| 0x46 | NAK |", "| 0x47 | NAK |", "MessageType does not list"),
        ("| u16 | FaultCode | the fault", "| u16 | Fault | the fault", "not a §6 table"),
        (
            "| 4 | fewer bytes than 6 + length + 2 |",
            "| 4 | fewer bytes than 5 + length + 2 |",
            "check 4",
        ),
    ],
)
def test_a_self_contradicting_document_is_caught(
    tmp_path: Path, old: str, new: str, problem: str
) -> None:
    problems = consistency_problems(read_spec(_mutated(tmp_path, old, new)))
    assert any(problem in p for p in problems), problems


def test_a_reordered_receive_table_changes_the_verdict(tmp_path: Path) -> None:
    """The receiver follows the document's order: swapping checks 6 and 7 renames the error."""
    crc_row = "| CRC mismatch | `bad_crc` |"
    version_row = "| version ≠ 1 | `wrong_version` |"
    text = DOC_PATH.read_text(encoding="utf-8")
    swapped = text.replace(crc_row, "@@").replace(version_row, crc_row).replace("@@", version_row)
    path = tmp_path / "protocol.md"
    path.write_text(swapped, encoding="utf-8")
    body = bytes([2, 1, 0, 0, 0, 1, 2])
    frame = cobs.encode(body + b"\xde\xad") + b"\x00"
    assert [r.error for r in SpecReceiver().feed(frame)] == ["bad_crc"]
    assert [r.error for r in SpecReceiver(read_spec(path)).feed(frame)] == ["wrong_version"]
