"""Exact unit conversion: files state millimetres and minutes, code holds integer µm and seconds.

TOML files are parsed with `parse_float=Decimal`, so `0.1` arrives as exactly one tenth and a value
such as `1.0005` mm (not a whole micrometre) is rejected rather than rounded behind anyone's back.
Floats given from Python are read through their shortest `repr`, which is what a person typed.
"""

from __future__ import annotations

from decimal import Decimal, Inexact, InvalidOperation, localcontext

UM_PER_MM = 1000
S_PER_MINUTE = 60

Number = int | float | Decimal

MAGNITUDE_LIMIT = 9
"""Powers of ten beyond which no figure in a file can be meant (a billion mm, a billionth of a mm):
such a number is refused before any arithmetic, so `1e999999999` can never overflow."""


class UnitError(ValueError):
    """A value that cannot be converted exactly; the message says what to write instead."""


def _as_decimal(value: object, unit: str) -> Decimal:
    if isinstance(value, bool):
        raise UnitError(f"expected a number of {unit}, got {str(value).lower()}")
    if isinstance(value, str):
        raise UnitError(
            f"expected a number of {unit}, got text; write the number without quotes or units"
        )
    if not isinstance(value, int | float | Decimal):
        got = "a table" if isinstance(value, dict) else type(value).__name__
        raise UnitError(f"expected a number of {unit}, got {got}")
    try:
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except (InvalidOperation, ValueError) as exc:
        raise UnitError(f"expected a number of {unit}") from exc
    if not number.is_finite():
        raise UnitError(f"expected a finite number of {unit}")
    if number and number.adjusted() > MAGNITUDE_LIMIT:
        raise UnitError(
            f"a number with {number.adjusted() + 1} digits before the decimal point is far "
            f"beyond any figure in {unit}; check for a typo"
        )
    if number and number.adjusted() < -MAGNITUDE_LIMIT:
        raise UnitError(
            f"a number this small (10^{number.adjusted()}) is not a figure in {unit}; "
            "check for a typo"
        )
    return number


def _whole(number: Decimal, factor: int) -> int | None:
    """`number * factor` when it is a whole number, computed exactly however many digits it has."""
    with localcontext() as context:
        context.prec = len(number.as_tuple().digits) + MAGNITUDE_LIMIT + 6
        context.traps[Inexact] = True
        scaled = number * factor
        if scaled != scaled.to_integral_value():
            return None
        return int(scaled)


def mm_to_um(value: object) -> int:
    """Millimetres (as written in a file) to whole micrometres; refuses anything inexact."""
    number = _as_decimal(value, "millimetres")
    um = _whole(number, UM_PER_MM)
    if um is None:
        raise UnitError(
            f"{number} mm is not a whole number of micrometres; "
            "give millimetres with at most three decimals (e.g. 0.25)"
        )
    return um


def minutes_to_s(value: object) -> int:
    """Minutes (as written in a file) to whole seconds; refuses anything inexact."""
    number = _as_decimal(value, "minutes")
    seconds = _whole(number, S_PER_MINUTE)
    if seconds is None:
        raise UnitError(f"{number} minutes is not a whole number of seconds")
    return seconds


def whole_number(value: object, unit: str) -> int:
    """An integer quantity (strokes/s, passes, days); `120.0` is accepted, `120.5` is not."""
    number = _as_decimal(value, unit)
    whole = _whole(number, 1)
    if whole is None:
        raise UnitError(f"{number} is not a whole number of {unit}")
    return whole


def mm_text(um: int) -> str:
    """Micrometres as the millimetre figure a file would state: `1.0`, `0.25`, `0.005`."""
    text = f"{Decimal(um).scaleb(-3):.3f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def um_to_mm(um: int) -> Decimal:
    """Micrometres back to exact millimetres."""
    return Decimal(mm_text(um))


def format_mm(um: int) -> str:
    """Depth as people read it: `1.0 mm`, `0.25 mm`, `0.005 mm`."""
    return f"{mm_text(um)} mm"


def format_sps(sps: int) -> str:
    return f"{sps} strokes/s"


def format_minutes(seconds: int) -> str:
    minutes, rest = divmod(seconds, S_PER_MINUTE)
    return f"{minutes} min" if rest == 0 else f"{minutes} min {rest} s"
