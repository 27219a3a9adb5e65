"""docs/protocol.md and the code declare the same layouts and code tables, so firmware engineers
implementing from the page and penctl can never drift apart silently."""

from __future__ import annotations

import re
import struct
from enum import IntEnum
from pathlib import Path

import pytest

from firmware_bridge.protocol import enums
from firmware_bridge.protocol.framing import HEADER_SIZE, MAX_ENCODED, MAX_FRAME, MAX_PAYLOAD
from firmware_bridge.protocol.messages import MESSAGES, Message

DOC = (Path(__file__).parents[2] / "docs" / "protocol.md").read_text()
_TYPES = {"u8": "B", "u16": "H", "i16": "h", "u32": "I"}


def _section(heading: str) -> str:
    match = re.search(rf"^### {re.escape(heading)}[^\n]*\n(.*?)(?=^##)", DOC, re.S | re.M)
    assert match, f"docs/protocol.md has no section '### {heading}'"
    return match.group(1)


def _rows(section: str) -> list[list[str]]:
    rows = []
    for line in section.splitlines():
        if line.startswith("|") and not line.startswith("|---"):
            rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows[1:]  # without the header row


def _wire_type(doc_type: str) -> str:
    text = re.fullmatch(r"char\[(\d+)\]", doc_type)
    return f"{text.group(1)}s" if text else _TYPES[doc_type]


@pytest.mark.parametrize("cls", MESSAGES.values(), ids=lambda c: c.TYPE.name)
def test_payload_table_matches_the_message_declaration(cls: type[Message]) -> None:
    section = _section(f"0x{int(cls.TYPE):02X} {cls.TYPE.name}")
    expected = []
    offset = 0
    for name, fmt, enum in cls.FIELDS:
        expected.append((offset, name, fmt, enum.__name__ if enum else None))
        offset += struct.calcsize("<" + fmt)
    documented = [
        (int(row[0]), row[1], _wire_type(row[2]), row[3] if row[3] in enums.__dict__ else None)
        for row in _rows(section)
    ]
    assert documented == expected
    units = {row[1]: row[3] for row in _rows(section) if row[3] not in enums.__dict__}
    assert units == {name: cls.UNITS.get(name, "") for name, _, enum in cls.FIELDS if not enum}
    if not cls.FIELDS:
        assert "No payload (length 0)" in section


@pytest.mark.parametrize(
    "enum",
    [
        enums.MessageType,
        enums.PenState,
        enums.MotorState,
        enums.CartridgeState,
        enums.FaultCode,
        enums.EventCode,
        enums.StopReason,
        enums.NakReason,
    ],
    ids=lambda e: e.__name__,
)
def test_code_table_matches_the_enum(enum: type[IntEnum]) -> None:
    documented = {int(row[0], 0): row[1] for row in _rows(_section(enum.__name__))}
    assert documented == {int(member): member.name for member in enum}


def test_stated_sizes_match_the_code() -> None:
    assert f"payload at most **{MAX_PAYLOAD}** bytes" in DOC
    assert f"header + payload + crc at most **{MAX_FRAME}** bytes" in DOC
    assert f"at most **{MAX_ENCODED}** bytes before its delimiter" in DOC
    assert f"**header**, {HEADER_SIZE} bytes" in DOC
