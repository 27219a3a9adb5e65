"""Problems found in a file, each as `file:line: field: value: reason` (S9).

Pydantic reports locations as key paths and values in code terms; this module turns them into what a
person editing the file needs: the line, the key as written in the file, the value as written, and a
reason that says what to write instead (with a "did you mean" for misspelt keys and names, and a
unit hint for µm, cm, RPM or Hz written where mm or strokes/s belong).
"""

from __future__ import annotations

import re
import types
import typing
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from profiles.names import closest
from profiles.rawtext import odd_character, unquoted
from profiles.tomlpos import Path, line_of
from profiles.units import mm_text
from profiles.vocabulary import Area, never_treated

_MISSING = "(missing)"


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem in one file. `line` is None only when the file could not be read at all."""

    file: str
    line: int | None
    field: str
    value: str
    reason: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.field}: {self.value}: {self.reason}"


def show_value(value: Any) -> str:
    """A value the way the file writes it."""
    if value is None:
        return _MISSING
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        text = value if len(value) <= 60 else value[:57] + "..."
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, int | Decimal | float):
        return _show_number(value)
    if isinstance(value, dict):
        return "(table)"
    if isinstance(value, list):
        text = "[" + ", ".join(show_value(item) for item in value[:8]) + "]"
        return text if len(text) <= 60 else text[:57] + "...]"
    return str(value)


def _show_number(value: int | Decimal | float) -> str:
    """A number as written, or its size when it is too long to quote (str() of a huge int fails)."""
    if isinstance(value, int) and value.bit_length() > 200:
        return f"(a number with about {int(value.bit_length() * 0.30103) + 1} digits)"
    text = str(value)
    if len(text) <= 40:
        return text
    if isinstance(value, Decimal) and value.is_finite():
        return f"(a number with {len(value.as_tuple().digits)} digits)"
    return text[:37] + "..."


def field_path(loc: typing.Sequence[str | int]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + part
    return text or "(file)"


# ---- walking the models to learn what a location allows -----------------------------------------


def _unwrap(annotation: Any) -> list[Any]:
    """The concrete types inside Optional/Union/Annotated."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return [t for arg in typing.get_args(annotation) for t in _unwrap(arg)]
    return [annotation]


def _child(annotation: Any, part: str | int) -> Any:
    for candidate in _unwrap(annotation):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            for name, info in candidate.model_fields.items():
                if part == (info.alias or name):
                    return info.annotation
        origin = typing.get_origin(candidate)
        if origin is dict:
            return typing.get_args(candidate)[1]
        if origin is list:
            return typing.get_args(candidate)[0]
    return None


def _at(model: type[BaseModel], loc: typing.Sequence[str | int]) -> Any:
    annotation: Any = model
    for part in loc:
        annotation = _child(annotation, part)
        if annotation is None:
            return None
    return annotation


def _description(model: type[BaseModel], loc: typing.Sequence[str | int]) -> str | None:
    for candidate in _unwrap(_at(model, loc[:-1])):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            for name, info in candidate.model_fields.items():
                if loc[-1] in (info.alias, name):
                    return info.description
    return None


def _allowed_keys(model: type[BaseModel], loc: typing.Sequence[str | int]) -> list[str]:
    for candidate in _unwrap(_at(model, loc)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return [info.alias or name for name, info in candidate.model_fields.items()]
    return []


def _key_enum(model: type[BaseModel], loc: typing.Sequence[str | int]) -> type[Enum] | None:
    for candidate in _unwrap(_at(model, loc)):
        if typing.get_origin(candidate) is dict:
            key = _unwrap(typing.get_args(candidate)[0])[0]
            if isinstance(key, type) and issubclass(key, Enum):
                return key
    return None


def _value_enum(model: type[BaseModel], loc: typing.Sequence[str | int]) -> type[Enum] | None:
    for candidate in _unwrap(_at(model, loc)):
        if isinstance(candidate, type) and issubclass(candidate, Enum):
            return candidate
    return None


# ---- reasons ------------------------------------------------------------------------------------


def _suggest(word: str, choices: list[str]) -> str:
    close = closest(word, choices, n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def _as_um(number: Decimal, um_per_unit: int) -> str | None:
    um = number * um_per_unit
    return mm_text(int(um)) if um > 0 and um == um.to_integral_value() else None


def _example(value: Any) -> Decimal | None:
    """A number fit to quote in a worked example: finite and of a size a figure can have."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        return None
    if isinstance(value, int) and value.bit_length() > 64:
        return None
    number = Decimal(value)
    if not number.is_finite() or (number and abs(number.adjusted()) > 6):
        return None
    return number


def _unit_hint(key: str, value: Any, allowed: list[str]) -> str | None:
    stem, _, unit = key.rpartition("_")
    number = _example(value)
    factors = {"um": 1, "µm": 1, "micron": 1, "microns": 1, "cm": 10_000}
    if unit in factors and f"{stem}_mm" in allowed:
        shown = None if number is None else _as_um(number, factors[unit])
        example = "" if shown is None else f" = {shown}"
        return f"depths are written in millimetres: write {stem}_mm{example}"
    if unit in ("rpm", "hz", "spm") and f"{stem}_sps" in allowed:
        if unit == "rpm" and number is not None:
            return (
                f"speeds are strokes per second: write {stem}_sps = "
                f"{round(number / 60)} ({number} RPM / 60)"
            )
        return f"speeds are written in strokes per second: write {stem}_sps"
    minutes = [name for name in allowed if name.endswith("_minutes")]
    if unit in ("s", "sec", "seconds", "min", "mins") and minutes:
        return f"times are written in minutes: write {minutes[0]}"
    return None


def _known(enum: type[Enum]) -> str:
    return ", ".join(str(member.value) for member in enum)


def _reason(error: ErrorDetails, model: type[BaseModel], loc: tuple[str | int, ...]) -> str:
    kind = error["type"]
    value = error.get("input")
    if kind == "missing":
        meaning = _description(model, loc)
        dotted = field_path(loc)
        for candidate in _unwrap(_at(model, loc)):
            if typing.get_origin(candidate) is dict:
                return f"required tables are missing; add [{dotted}.NAME] tables"
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                return f"required table is missing; add a [{dotted}] table"
        return f"required key is missing; add {loc[-1]} = …" + (f" ({meaning})" if meaning else "")
    if kind == "extra_forbidden":
        key = str(loc[-1])
        allowed = _allowed_keys(model, loc[:-1])
        hint = _unit_hint(key, value, allowed) or odd_character(key)
        if hint is not None:
            return f"unknown key; {hint}"
        return f"unknown key{_suggest(key, allowed) or '; allowed here: ' + ', '.join(allowed)}"
    if kind == "enum":
        enum = _value_enum(model, loc)
        if loc and loc[-1] == "[key]":
            enum = _key_enum(model, loc[:-2])
        noun = "name" if enum is None else re.sub(r"(?<!^)(?=[A-Z])", " ", enum.__name__).lower()
        choices = [] if enum is None else [str(m.value) for m in enum]
        listing = "" if enum is None else f" (known: {_known(enum)})"
        given = value if isinstance(value, str) else show_value(value)
        odd = odd_character(given)
        if odd is not None:
            return f"unknown {noun}; {odd}"
        refused = never_treated(given) if enum is Area else None
        if refused is not None:
            return f"not an area: {refused}"
        return f"unknown {noun}{_suggest(given, choices)}{listing}"
    if kind in ("string_type", "str_type"):
        return f"expected text in quotes, got {show_value(value)}"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "string_pattern_mismatch":
        return "use lower-case letters, digits, '-' or '_' only, e.g. acne-scars"
    if kind == "string_too_long":
        return "too long (at most 64 characters)"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return "expected a table (a [section] or { key = value, ... }), got a single value"
    if kind == "list_type":
        return 'expected a list in brackets, e.g. ["first", "second"]'
    if kind in ("bool_type", "bool_parsing"):
        return "expected true or false (without quotes)"
    if kind == "too_short":
        return "must not be empty"
    return str(error["msg"]).removeprefix("Value error, ")


def issues_from(
    error: ValidationError, model: type[BaseModel], file: str, lines: dict[Path, int]
) -> list[Issue]:
    """One `Issue` per pydantic error, in file order."""
    issues: list[Issue] = []
    for detail in error.errors(include_url=False):
        loc = tuple(detail["loc"])
        shown_loc = tuple(part for part in loc if part != "[key]")
        value: Any = None if detail["type"] == "missing" else detail.get("input")
        issues.append(
            Issue(
                file=file,
                line=line_of(lines, shown_loc) or 1,
                field=field_path(shown_loc),
                value=show_value(value),
                reason=_reason(detail, model, loc),
            )
        )
    issues.sort(key=lambda issue: issue.line or 0)
    return issues


_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)|\s*\(at end of document\)")
_TWICE = re.compile(r"Cannot declare \((.*)\) twice")


_HEADER = re.compile(r"^\s*\[+\s*([^\]]+?)\s*\]+")


def _table_before(lines: list[str], line: int) -> str:
    """The table header in force at `line` (as written, without spaces around dots)."""
    for text in reversed(lines[: line - 1]):
        match = _HEADER.match(text)
        if match is not None:
            return re.sub(r"\s*\.\s*", ".", match.group(1))
    return ""


_KEY = re.compile(r"^\s*([A-Za-z0-9_.\- \t\"']+?)\s*=")


def field_on_line(text: str, line: int) -> str:
    """The key a line sets, with its table (`areas.forehead.depth_max_mm`), else `(file)`."""
    lines = text.splitlines()
    if not 0 < line <= len(lines):
        return "(file)"
    match = _KEY.match(lines[line - 1])
    if match is None:
        return "(file)"
    key = re.sub(r"\s*\.\s*", ".", match.group(1)).replace('"', "").replace("'", "")
    table = _table_before(lines, line)
    return f"{table}.{key}" if table else key


def toml_issue(message: str, file: str, text: str) -> Issue:
    """A `tomllib` syntax error as an Issue, with its line and a sentence on what to fix."""
    match = _POSITION.search(message)
    lines = text.splitlines()
    if match is None or match.group(1) is None:
        line, column = max(len(lines), 1), None
    else:
        line, column = int(match.group(1)), int(match.group(2))
    what = _POSITION.sub("", message)
    source_line = lines[line - 1].strip() if 0 < line <= len(lines) else ""
    twice = _TWICE.search(what)
    if twice is not None:
        parts = re.findall(r"'([^']*)'", twice.group(1))
        return Issue(
            file,
            line,
            ".".join(parts),
            "(table)",
            "declared twice; each table (e.g. each area) may appear only once: merge the two",
        )
    if what.startswith("Cannot overwrite a value"):
        key = source_line.split("=", 1)[0].strip() or "(file)"
        table = _table_before(lines, line)
        key = f"{table}.{key}" if table else key
        return Issue(
            file,
            line,
            key,
            source_line.split("=", 1)[-1].strip() or "(table)",
            "set twice; each key may appear only once in its table: delete one of them",
        )
    at = f" at column {column}" if column is not None else " at the end of the file"
    raw_line = lines[line - 1] if 0 < line <= len(lines) else ""
    shown = show_value(source_line) if source_line else "(end of file)"
    field = field_on_line(text, line)
    comma = _DECIMAL_COMMA.search(raw_line)
    if comma is not None:
        whole, fraction = comma.group(1), comma.group(2)
        return Issue(
            file,
            line,
            field,
            shown,
            f"use a dot as the decimal separator: write {whole}.{fraction}, not {whole},{fraction}",
        )
    odd = odd_character(raw_line, letters=False) or odd_character(unquoted(raw_line))
    advice = (
        odd
        if odd is not None
        else "TOML is `key = value` lines under [table] headers, with text in quotes"
    )
    return Issue(
        file, line, field, shown, f"not valid TOML: {what[:1].lower()}{what[1:]}{at}; {advice}"
    )


_DECIMAL_COMMA = re.compile(r"=\s*([-+]?\d+),(\d+)\s*(?:#.*)?$")
