"""Files state millimetres, code holds whole micrometres: conversions are exact or refused."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from profiles.units import (
    UnitError,
    format_minutes,
    format_mm,
    minutes_to_s,
    mm_text,
    mm_to_um,
    um_to_mm,
    whole_number,
)


@pytest.mark.parametrize(
    ("value", "um"),
    [(Decimal("0.25"), 250), (Decimal("1.0"), 1000), (2, 2000), (0.1, 100), (Decimal("1e0"), 1000)],
)
def test_millimetres_convert_exactly(value: object, um: int) -> None:
    assert mm_to_um(value) == um


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (Decimal("1.0005"), "not a whole number of micrometres"),
        (0.1 + 0.2, "not a whole number of micrometres"),
        ("1.5 mm", "got text"),
        (True, "got true"),
        (Decimal("NaN"), "finite"),
        (float("inf"), "finite"),
        ([1], "got list"),
    ],
)
def test_inexact_or_non_numeric_millimetres_are_refused(value: object, fragment: str) -> None:
    with pytest.raises(UnitError, match=fragment):
        mm_to_um(value)


@given(st.integers(min_value=0, max_value=10**7))
def test_micrometres_round_trip_through_millimetre_text(um: int) -> None:
    assert mm_to_um(Decimal(mm_text(um))) == um
    assert mm_to_um(um_to_mm(um)) == um
    assert format_mm(um) == f"{mm_text(um)} mm"


def test_depths_read_the_way_people_write_them() -> None:
    assert [format_mm(um) for um in (1000, 250, 1250, 5, 12000)] == [
        "1.0 mm",
        "0.25 mm",
        "1.25 mm",
        "0.005 mm",
        "12.0 mm",
    ]


def test_minutes_and_whole_numbers() -> None:
    assert minutes_to_s(Decimal("2.5")) == 150
    assert format_minutes(150) == "2 min 30 s"
    assert whole_number(Decimal("120.0"), "strokes per second") == 120
    with pytest.raises(UnitError, match="not a whole number of seconds"):
        minutes_to_s(Decimal("0.001"))
    with pytest.raises(UnitError, match=r"120\.5 is not a whole number of strokes per second"):
        whole_number(Decimal("120.5"), "strokes per second")
