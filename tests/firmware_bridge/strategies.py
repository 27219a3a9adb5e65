"""Hypothesis strategies for protocol messages, derived from each message's wire declaration."""

from __future__ import annotations

from hypothesis import strategies as st

from firmware_bridge.protocol.messages import MESSAGES, Message

_INTS = {"B": (0, 0xFF), "H": (0, 0xFFFF), "h": (-0x8000, 0x7FFF), "I": (0, 0xFFFFFFFF)}
_PRINTABLE = st.characters(min_codepoint=0x20, max_codepoint=0x7E)


def _field(fmt: str, enum: type | None) -> st.SearchStrategy[object]:
    if enum is not None:
        return st.sampled_from(list(enum))
    if fmt.endswith("s"):
        return st.text(_PRINTABLE, max_size=int(fmt[:-1]))
    low, high = _INTS[fmt]
    return st.integers(low, high)


def message_of(cls: type[Message]) -> st.SearchStrategy[Message]:
    return st.builds(cls, *(_field(fmt, enum) for _, fmt, enum in cls.FIELDS))


messages: st.SearchStrategy[Message] = st.one_of(*(message_of(c) for c in MESSAGES.values()))
seqs = st.integers(0, 0xFFFF)
