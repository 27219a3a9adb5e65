"""The protocol's message values: what each field accepts, how messages compare, copy and print.

A message checks its fields when it is built, so a value the wire cannot carry is refused where
it is made, naming the message and the field, rather than producing a frame the pen rejects. The
common values take a fast path; everything else (a bool, a str or int subclass, text with a
control byte) goes through the full check, which these tests drive at its edges.
"""

from __future__ import annotations

import copy
import pickle
from enum import IntEnum, StrEnum

import pytest

from firmware_bridge.protocol import (
    CartridgeState,
    ClearFault,
    FaultCode,
    Hello,
    Identify,
    Lease,
    SetParams,
    Stop,
    StopReason,
)
from firmware_bridge.protocol.messages import FieldValueError


def _identify(model: str) -> Identify:
    return Identify(
        1,
        1,
        2,
        3,
        "PEN-0001",
        model,
        250,
        2500,
        50,
        60,
        150,
        10,
        100,
        1000,
        50,
        CartridgeState.FRESH,
    )


class _Model(StrEnum):
    """Text from the host's own enums is a str subclass: it takes the full check."""

    SPACED = "Pen Model 2"
    FULL = "M" * 16
    LONG = "M" * 17
    DEL = "Pen\x7f"


class _Edge(IntEnum):
    LOW = 0
    HIGH = 0xFFFF
    OVER = 0x10000


def test_a_text_field_holds_up_to_its_width_of_printable_ascii_with_spaces() -> None:
    for model in (_Model.SPACED, _Model.FULL, " " * 16, "M" * 16):
        assert _identify(model).model == model
    assert _identify(_Model.SPACED).pack().count(b"Pen Model 2") == 1


@pytest.mark.parametrize(
    "model", ["M" * 17, _Model.LONG, "Pen\x7f", _Model.DEL, "Pen\x1f", "Pen\t", "Péñ", "Pen\x80"]
)
def test_s9_a_text_field_refuses_too_long_del_control_and_non_ascii_naming_the_field(
    model: str,
) -> None:
    with pytest.raises(
        FieldValueError,
        match=r"^Identify\.model: .* must be at most 16 printable ASCII characters$",
    ):
        _identify(model)


def test_s9_a_text_field_refuses_what_is_not_text() -> None:
    with pytest.raises(FieldValueError, match=r"^Identify\.model: 42 is not text$"):
        _identify(42)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [True, False, 1.0, "7", None])
def test_s9_an_integer_field_refuses_bools_and_non_integers(value: object) -> None:
    with pytest.raises(FieldValueError, match=r"^Lease\.lease_ms: .* is not an integer$"):
        Lease(value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "accepted"), [(0, True), (65535, True), (-1, False), (65536, False)]
)
def test_s9_an_integer_field_takes_its_whole_range_and_nothing_past_either_end(
    value: int, accepted: bool
) -> None:
    if accepted:
        assert Lease(value).lease_ms == value
    else:
        with pytest.raises(
            FieldValueError, match=rf"^Lease\.lease_ms: {value} is outside 0\.\.65535$"
        ):
            Lease(value)


def test_an_int_subclass_is_checked_against_the_same_range_and_stored_as_an_int() -> None:
    for edge in (_Edge.LOW, _Edge.HIGH):
        lease = Lease(edge)
        assert lease.lease_ms == int(edge) and type(lease.lease_ms) is int
    with pytest.raises(FieldValueError, match=r"^Lease\.lease_ms: 65536 is outside 0\.\.65535$"):
        Lease(_Edge.OVER)


def test_s9_an_enum_field_refuses_a_number_that_is_no_member_and_a_bool() -> None:
    with pytest.raises(FieldValueError, match=r"^ClearFault\.fault: 999 is not a FaultCode$"):
        ClearFault(999)  # type: ignore[arg-type]
    with pytest.raises(FieldValueError, match=r"^Stop\.reason: True is not an integer$"):
        Stop(True)  # type: ignore[arg-type]
    assert ClearFault(int(FaultCode.ESTOP)).fault is FaultCode.ESTOP  # type: ignore[arg-type]


def test_messages_are_equal_only_to_the_same_type_with_the_same_values() -> None:
    same = Hello(1)
    assert same == Hello(1)
    assert (same != Hello(1)) is False
    assert Hello(1) != Hello(2)
    assert Hello(1) != Lease(1)  # the same wire values, another message
    assert Stop(StopReason.OPERATOR) != (int(StopReason.OPERATOR),)
    assert len({Hello(1), Hello(1), Lease(1), Hello(2)}) == 3


def test_a_message_prints_as_its_type_and_named_fields() -> None:
    assert repr(Hello(1)) == "Hello(protocol_version=1)"
    assert repr(SetParams(3, 500, 120)) == "SetParams(param_version=3, depth_um=500, speed_sps=120)"
    assert repr(Stop(StopReason.OPERATOR)) == f"Stop(reason={StopReason.OPERATOR!r})"


def test_a_message_survives_copy_and_pickle_unchanged() -> None:
    message = _identify("Pen Model 2")
    assert copy.copy(message) == message
    assert copy.deepcopy(message) == message
    assert pickle.loads(pickle.dumps(message)) == message


def test_replace_changes_one_field_and_checks_it_like_a_new_message() -> None:
    assert SetParams(3, 500, 120).replace(depth_um=750) == SetParams(3, 750, 120)
    assert _identify("A").replace(model="B") == _identify("B")
    with pytest.raises(FieldValueError, match=r"SetParams\.depth_um: 70000 is outside"):
        SetParams(3, 500, 120).replace(depth_um=70_000)
