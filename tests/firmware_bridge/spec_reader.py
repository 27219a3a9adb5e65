"""Reads docs/protocol.md into data, so a test can implement the protocol from the page alone.

Every fact the independent decoder uses comes from here, parsed from the document's prose and tables
at test time. Anything the reader cannot find or cannot read unambiguously raises `SpecError`
naming the section and what was expected, so a document that drifts fails the test loudly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

DOC_PATH = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"
VECTORS_PATH = DOC_PATH.with_name("protocol-vectors.json")

_HEX_OR_DEC = r"(0x[0-9A-Fa-f]+|\d+)"


class SpecError(AssertionError):
    """The document does not say something the decoder needs, or says it ambiguously."""


@dataclass(frozen=True)
class Field:
    """One row of a layout table: where a value sits, how wide it is, what it means."""

    offset: int
    name: str
    type: str
    unit: str
    meaning: str


@dataclass(frozen=True)
class Message:
    code: int
    name: str
    direction: str
    fields: tuple[Field, ...]


@dataclass(frozen=True)
class CrcParams:
    name: str
    aliases: tuple[str, ...]
    width: int
    poly: int
    init: int
    refin: bool
    refout: bool
    xorout: int
    check: int
    check_input: bytes


@dataclass(frozen=True)
class ReceiveCheck:
    number: int
    check: str
    error: str


@dataclass(frozen=True)
class Sizes:
    max_payload: int
    max_frame: int
    max_encoded: int
    max_on_wire: int


@dataclass(frozen=True)
class Spec:
    version: int
    delimiter: int
    header_size: int
    header: tuple[Field, ...]
    retransmit_bit: int
    reserved_flag_bits: tuple[int, ...]
    length_range: tuple[int, int]
    text_bytes: tuple[int, int]
    text_pad: int
    crc_size: int
    crc_type: str
    crc: CrcParams
    sizes: Sizes
    integer_types: dict[str, tuple[int, bool]]
    text_type: re.Pattern[str]
    host_types: tuple[int, int]
    pen_types: tuple[int, int]
    messages: dict[int, Message]
    code_tables: dict[str, dict[int, str]]
    receive_checks: tuple[ReceiveCheck, ...]
    params_crc_name: str
    params_crc_fields: tuple[tuple[str, str], ...]
    params_crc_size: int

    def message_named(self, name: str) -> Message:
        for message in self.messages.values():
            if message.name == name:
                return message
        raise SpecError(f"§4 has no message named {name!r}")

    def struct_format(self, type_name: str) -> str:
        """The `struct` code for a §4 type: integers from the 'Types:' sentence, char[N] as Ns."""
        if type_name in self.integer_types:
            bits, signed = self.integer_types[type_name]
            code = {8: "b", 16: "h", 32: "i", 64: "q"}[bits]
            return code if signed else code.upper()
        text = self.text_type.fullmatch(type_name)
        if text:
            return f"{int(text.group(1))}s"
        raise SpecError(f"type {type_name!r} is not one of the types §4 defines")

    def text_width(self, type_name: str) -> int | None:
        text = self.text_type.fullmatch(type_name)
        return int(text.group(1)) if text else None

    def enum_table(self, field: Field) -> dict[int, str] | None:
        """An enumerated field names its §6 table in the unit column."""
        return self.code_tables.get(field.unit)


@dataclass(frozen=True)
class _Section:
    level: int
    title: str
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        return _clean(" ".join(line.strip() for line in self.lines))


def _clean(cell: str) -> str:
    return cell.replace("**", "").replace("`", "").strip()


def _sections(text: str) -> list[_Section]:
    sections: list[_Section] = []
    level, title, body = 0, "", []
    fenced = False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        heading = None if fenced else re.match(r"^(#{1,6}) (.+)$", line)
        if heading:
            sections.append(_Section(level, title, tuple(body)))
            level, title, body = len(heading.group(1)), heading.group(2).strip(), []
        else:
            body.append(line)
    sections.append(_Section(level, title, tuple(body)))
    return sections


def _tables(section: _Section) -> list[list[dict[str, str]]]:
    """Every markdown table in a section, as rows keyed by the cleaned column headings."""
    tables: list[list[dict[str, str]]] = []
    block: list[str] = []
    for line in [*section.lines, ""]:
        if line.startswith("|"):
            block.append(line)
            continue
        if block:
            cells = [[_clean(c) for c in row.strip().strip("|").split("|")] for row in block]
            heads, rule, rows = cells[0], cells[1], cells[2:]
            if not all(re.fullmatch(r":?-+:?", c) for c in rule):
                raise SpecError(f"§ {section.title}: a table without a header rule: {block[0]}")
            for row in rows:
                if len(row) != len(heads):
                    raise SpecError(f"§ {section.title}: row {row} does not match columns {heads}")
            tables.append([dict(zip(heads, row, strict=True)) for row in rows])
            block = []
    return tables


def _table_with(section: _Section, columns: list[str]) -> list[dict[str, str]]:
    found = [t for t in _tables(section) if t and list(t[0]) == columns]
    if len(found) != 1:
        raise SpecError(f"§ {section.title}: expected one table with columns {columns}")
    return found[0]


def _search(pattern: str, text: str, where: str) -> re.Match[str]:
    found = re.search(pattern, text)
    if not found:
        raise SpecError(f"{where}: expected text matching {pattern!r}")
    return found


def _one(sections: list[_Section], prefix: str) -> _Section:
    found = [s for s in sections if s.title.startswith(prefix)]
    if len(found) != 1:
        raise SpecError(f"expected exactly one section titled {prefix!r}...")
    return found[0]


def _children(sections: list[_Section], parent: _Section) -> list[_Section]:
    start = sections.index(parent) + 1
    children: list[_Section] = []
    for section in sections[start:]:
        if section.level <= parent.level:
            break
        children.append(section)
    return children


def _fields(rows: list[dict[str, str]], where: str) -> tuple[Field, ...]:
    try:
        return tuple(
            Field(
                offset=int(row["offset"]),
                name=row["field"],
                type=row["type"],
                unit=row.get("unit", ""),
                meaning=row["meaning"],
            )
            for row in rows
        )
    except (KeyError, ValueError) as error:
        raise SpecError(f"{where}: unreadable layout row ({error})") from error


def _int(text: str, where: str) -> int:
    if not re.fullmatch(_HEX_OR_DEC, text):
        raise SpecError(f"{where}: {text!r} is not an integer")
    return int(text, 0)


def _bool(text: str, where: str) -> bool:
    if text not in ("true", "false"):
        raise SpecError(f"{where}: {text!r} is not true/false")
    return text == "true"


def _crc(framing: _Section) -> CrcParams:
    where = "§2 CRC table"
    table = {row["parameter"]: row["value"] for row in _table_with(framing, ["parameter", "value"])}
    naming = _search(r"^(\S+) \(also known as (.+)\)$", table["catalogue name"], where)
    refs = table["refin / refout"].split(" / ")
    check_row = [k for k in table if k.startswith("check")]
    if len(check_row) != 1:
        raise SpecError(f"{where}: expected one 'check' row")
    check_input = _search(r"^check \(CRC of the ASCII bytes (\S+)\)$", check_row[0], where)
    return CrcParams(
        name=naming.group(1),
        aliases=tuple(a.strip() for a in naming.group(2).split(",")),
        width=_int(table["width"], where),
        poly=_int(table["poly"], where),
        init=_int(table["init"], where),
        refin=_bool(refs[0], where),
        refout=_bool(refs[1], where),
        xorout=_int(table["xorout"], where),
        check=_int(table[check_row[0]], where),
        check_input=check_input.group(1).encode("ascii"),
    )


def _integer_types(messages: _Section) -> tuple[dict[str, tuple[int, bool]], re.Pattern[str]]:
    """Reads 'Types: u8, u16, u32 unsigned; i16 signed two's complement; char[N] ...'."""
    where = "§4 'Types:' sentence"
    sentence = _search(r"Types: ([^.]+)\.", messages.text, where).group(1)
    integers: dict[str, tuple[int, bool]] = {}
    text_type: re.Pattern[str] | None = None
    for clause in sentence.split(";"):
        clause = clause.strip()
        if clause.startswith("char[N]"):
            text_type = re.compile(r"char\[(\d+)\]")
            continue
        listed = _search(r"^([ui]\d+(?:, [ui]\d+)*) (unsigned|signed)", clause, where)
        for name in listed.group(1).split(", "):
            signed = listed.group(2) == "signed"
            if name.startswith("i") != signed:
                raise SpecError(f"{where}: {name} is called {listed.group(2)}")
            integers[name] = (int(name[1:]), signed)
    if text_type is None:
        raise SpecError(f"{where}: no char[N] text type")
    return integers, text_type


def _messages(sections: list[_Section], parent: _Section) -> dict[int, Message]:
    messages: dict[int, Message] = {}
    for section in _children(sections, parent):
        where = f"§4 '{section.title}'"
        head = _search(
            r"^(0x[0-9A-Fa-f]{2}) ([A-Z_]+) \((host → pen|pen → host)\)$", section.title, where
        )
        tables = _tables(section)
        if tables:
            fields = _fields(
                _table_with(section, ["offset", "field", "type", "unit", "meaning"]), where
            )
        else:
            _search(r"No payload \(length 0\)", section.text, where)
            fields = ()
        code = int(head.group(1), 16)
        if code in messages:
            raise SpecError(f"{where}: type {code:#04x} appears twice")
        messages[code] = Message(code, head.group(2), head.group(3), fields)
    return messages


def _code_tables(sections: list[_Section], parent: _Section) -> dict[str, dict[int, str]]:
    tables: dict[str, dict[int, str]] = {}
    for section in _children(sections, parent):
        where = f"§6 '{section.title}'"
        rows = [t for t in _tables(section) if t and list(t[0])[:2] == ["value", "name"]]
        if len(rows) != 1:
            raise SpecError(f"{where}: expected one value/name table")
        table: dict[int, str] = {}
        for row in rows[0]:
            value = _int(row["value"], where)
            if value in table or row["name"] in table.values():
                raise SpecError(f"{where}: {row['value']} {row['name']} listed twice")
            table[value] = row["name"]
        tables[section.title] = table
    return tables


def _params_crc(messages: dict[int, Message]) -> tuple[str, tuple[tuple[str, str], ...], int]:
    where = "§4 ACK params_crc"
    ack = [f for m in messages.values() for f in m.fields if f.name == "params_crc"]
    if len(ack) != 1:
        raise SpecError(f"{where}: expected one params_crc field")
    found = _search(r"^(\S+) over (.+), little-endian, (\d+) bytes$", ack[0].meaning, where)
    parts = tuple(
        (part.group(1), part.group(2))
        for part in (
            _search(r"^(\w+) \((\w+)\)$", piece.strip(), where)
            for piece in found.group(2).split("‖")
        )
    )
    return found.group(1), parts, int(found.group(3))


def read_spec(path: Path = DOC_PATH) -> Spec:
    """Parses the whole document; raises SpecError on the first thing it cannot read."""
    sections = _sections(path.read_text(encoding="utf-8"))
    framing = _one(sections, "2. Framing")
    receiving = _one(sections, "2.1 Receiving a frame")
    messages_section = _one(sections, "4. Messages")
    codes_section = _one(sections, "6. Code tables")
    text = framing.text

    header = _fields(_table_with(framing, ["offset", "field", "type", "meaning"]), "§2 header")
    by_name = {f.name: f for f in header}
    flags = by_name["flags"].meaning
    retransmit = _search(r"bit (\d+) RETRANSMIT", flags, "§2 flags")
    reserved = _search(r"bits (\d+)–(\d+) reserved, MUST be 0", flags, "§2 flags")
    length = _search(r"payload length in bytes, (\d+)–(\d+)", by_name["length"].meaning, "§2")
    version = _search(
        r"protocol version, (\d+) for this document", by_name["version"].meaning, "§2"
    )
    crc_bullet = _search(
        r"crc: (\d+) bytes, (\w+) little-endian, over header ‖ payload", text, "§2"
    )
    sizes = _search(
        r"payload at most (\d+) bytes; header \+ payload \+ crc at most (\d+) bytes; the encoded "
        r"frame at most (\d+) bytes before its delimiter \((\d+) with it\)",
        text,
        "§2 Sizes",
    )
    text_rule = _search(
        r"Text fields are fixed-width ASCII \((0x\w+)–(0x\w+)\), padded at the end with (0x\w+)"
        r" bytes up to the field's width\. .*A 0x00 followed by a non-zero byte is an error\.",
        text,
        "§2 payload",
    )
    integer_types, text_type = _integer_types(messages_section)
    ranges = _search(
        r"Host to pen types are (0x\w+)–(0x\w+); pen to host types are (0x\w+)–(0x\w+)\.",
        messages_section.text,
        "§4",
    )
    checks = tuple(
        ReceiveCheck(_int(row["#"], "§2.1"), row["check"], row["error"])
        for row in _table_with(receiving, ["#", "check", "error"])
    )
    messages = _messages(sections, messages_section)
    crc_name, crc_fields, crc_size = _params_crc(messages)
    return Spec(
        version=int(version.group(1)),
        delimiter=int(_search(r"(0x00) ends every frame", text, "§2").group(1), 16),
        header_size=int(_search(r"header, (\d+) bytes:", text, "§2").group(1)),
        header=header,
        retransmit_bit=int(retransmit.group(1)),
        reserved_flag_bits=tuple(range(int(reserved.group(1)), int(reserved.group(2)) + 1)),
        length_range=(int(length.group(1)), int(length.group(2))),
        text_bytes=(int(text_rule.group(1), 16), int(text_rule.group(2), 16)),
        text_pad=int(text_rule.group(3), 16),
        crc_size=int(crc_bullet.group(1)),
        crc_type=crc_bullet.group(2),
        crc=_crc(framing),
        sizes=Sizes(*(int(g) for g in sizes.groups())),
        integer_types=integer_types,
        text_type=text_type,
        host_types=(int(ranges.group(1), 16), int(ranges.group(2), 16)),
        pen_types=(int(ranges.group(3), 16), int(ranges.group(4), 16)),
        messages=messages,
        code_tables=_code_tables(sections, codes_section),
        receive_checks=checks,
        params_crc_name=crc_name,
        params_crc_fields=crc_fields,
        params_crc_size=crc_size,
    )
