"""What in a file's raw text would crash the parser or mislead a person, found before parsing.

`tomllib` has no nesting limit (deep arrays raise `RecursionError`), refuses integers of more than
4,300 digits with a `ValueError` that tells the reader to call `sys.set_int_max_str_digits()`, and
reads a file with carriage-return-only line endings as one long line (so a leading comment hides
the whole file). Characters that look like a space or a letter but are not (a no-break space, a
zero-width space, a Cyrillic `е`) give errors that point at nothing visible. This module finds each
of these with its line, so the issue can name it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

MAX_NESTING = 16
"""Arrays and inline tables nested deeper than this are refused: no file kind needs more than 3."""

_LONG_NUMBER = re.compile(r"[0-9][0-9_]{99,}")
"""A run of 100 or more digits: no figure in any file needs more than a few."""

_LONE_CR = re.compile(r"\r(?!\n)")


@dataclass(frozen=True, slots=True)
class RawProblem:
    line: int
    value: str
    reason: str


def _line_at(text: str, index: int) -> int:
    return text.count("\n", 0, index) + 1


def line_endings(text: str) -> RawProblem | None:
    """A carriage return not followed by a newline (old Mac line endings, or a stray one)."""
    match = _LONE_CR.search(text)
    if match is None:
        return None
    only = "\n" not in text
    what = (
        "the lines end with a carriage return alone (CR, old Mac style)"
        if only
        else ("a carriage return (CR) without a newline after it")
    )
    return RawProblem(
        _line_at(text, match.start()),
        "(CR line endings)",
        f"{what}, so TOML cannot see where a line ends; save the file with LF (Unix) or CRLF "
        "(Windows) line endings",
    )


def nesting(text: str) -> RawProblem | None:
    """Brackets and braces nested deeper than `MAX_NESTING`, outside strings and comments."""
    depth = 0
    index = 0
    length = len(text)
    while index < length:
        char = text[index]
        if char == "#":
            end = text.find("\n", index)
            index = length if end < 0 else end
            continue
        if char in "\"'":
            index = _after_string(text, index)
            continue
        if char in "[{":
            depth += 1
            if depth > MAX_NESTING:
                return RawProblem(
                    _line_at(text, index),
                    "(nested)",
                    f"lists or tables nested more than {MAX_NESTING} deep; no profile, policy "
                    "or area file needs more than 3 levels: check for stray brackets",
                )
        elif char in "]}":
            depth = max(depth - 1, 0)
        index += 1
    return None


def _after_string(text: str, start: int) -> int:
    quote = text[start]
    if text.startswith(quote * 3, start):
        end = text.find(quote * 3, start + 3)
        return len(text) if end < 0 else end + 3
    index = start + 1
    while index < len(text) and text[index] not in (quote, "\n"):
        index += 2 if quote == '"' and text[index] == "\\" else 1
    return index + 1


def long_number(text: str) -> RawProblem | None:
    """The first run of 100 or more digits: a typo or a paste, never a figure."""
    match = _LONG_NUMBER.search(text)
    if match is None:
        return None
    digits = sum(1 for char in match.group() if char.isdigit())
    return RawProblem(
        _line_at(text, match.start()),
        f"(a number with {digits} digits)",
        f"a number with {digits} digits; no figure in a profile needs more than a few: "
        "check for a typo or a paste",
    )


_LOOKS_LIKE = {"Zs": "a space", "Cf": "nothing (it is invisible)", "Cc": "nothing"}


def odd_character(text: str, letters: bool = True) -> str | None:
    """The first character that looks like a space or nothing, or (with `letters`) like an ASCII
    letter, but is not one."""
    for column, char in enumerate(text, start=1):
        if char in " \t\n\r" or (char.isascii() and char.isprintable()):
            continue
        category = unicodedata.category(char)
        name = unicodedata.name(char, "") or (
            "a control character" if category == "Cc" else "an unnamed character"
        )
        code = f"U+{ord(char):04X}"
        if category in _LOOKS_LIKE:
            what = _LOOKS_LIKE[category]
        elif letters and category[0] in "LN":
            base = unicodedata.normalize("NFKD", char)[:1]
            noun = "letter" if category[0] == "L" else "digit"
            what = f"the {noun} {base!r}" if base.isascii() else f"a Latin {noun} but is not one"
        else:
            continue
        return (
            f"it contains {name.lower()} ({code}) at column {column}, which looks like {what}; "
            "retype it with plain ASCII characters"
        )
    return None


_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"|\'[^\']*\'')


def unquoted(line: str) -> str:
    """A line without its quoted strings, where a non-ASCII letter or digit cannot be meant.
    Quoted keys stay: a look-alike letter in a key is exactly what must be named."""
    key, sep, value = line.partition("=")
    return key + sep + _QUOTED.sub(lambda m: " " * len(m.group()), value)
