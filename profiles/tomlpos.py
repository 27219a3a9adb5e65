"""Where each key of a TOML document is written: `tomllib` gives values but no positions.

`key_lines(text)` maps every key path (table headers, keys, dotted keys, inline-table keys, array
elements, arrays of tables with their index) to its 1-based line. It expects text `tomllib` has
already accepted, so it only has to walk the grammar, never judge it; it still never raises, and on
anything surprising it returns what it found so far. `line_of` falls back to the nearest enclosing
key, so a missing key points at its table header.
"""

from __future__ import annotations

import contextlib
import tomllib
from collections.abc import Sequence

Path = tuple[str | int, ...]

_BARE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_SCALAR_END = frozenset(",]}\n#")


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.line = 1
        self.lines: dict[Path, int] = {}
        self.arrays: dict[tuple[str, ...], int] = {}

    # -- low level --------------------------------------------------------------------------------

    def peek(self, size: int = 1) -> str:
        return self.text[self.pos : self.pos + size]

    def advance(self, size: int = 1) -> None:
        chunk = self.text[self.pos : self.pos + size]
        self.line += chunk.count("\n")
        self.pos += len(chunk)

    def skip_blank(self, newlines: bool) -> None:
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char in " \t\r" or (newlines and char == "\n"):
                self.advance()
            elif char == "#":
                end = self.text.find("\n", self.pos)
                self.advance((len(self.text) if end < 0 else end) - self.pos)
            else:
                return

    def string(self) -> str:
        """Consume one string token of any of the four kinds and return its raw text."""
        start = self.pos
        quote = self.peek()
        if self.peek(3) == quote * 3:
            end = self.text.find(quote * 3, self.pos + 3)
            while end >= 0 and quote == '"' and _escaped(self.text, end):
                end = self.text.find(quote * 3, end + 1)
            end = len(self.text) if end < 0 else end + 3
            while self.text[end : end + 1] == quote:  # up to two quotes may close the content
                end += 1
            self.advance(end - self.pos)
        else:
            end = self.pos + 1
            while end < len(self.text) and self.text[end] != quote:
                end += 2 if quote == '"' and self.text[end] == "\\" else 1
            self.advance(end + 1 - self.pos)
        return self.text[start : self.pos]

    def key(self) -> tuple[str, ...]:
        parts: list[str] = []
        while True:
            self.skip_blank(newlines=False)
            if self.peek() in ('"', "'"):
                raw = self.string()
                parts.append(tomllib.loads(f"k = {raw}")["k"])
            else:
                start = self.pos
                while self.pos < len(self.text) and self.text[self.pos] in _BARE:
                    self.advance()
                if self.pos == start:
                    raise ValueError("no key here")
                parts.append(self.text[start : self.pos])
            self.skip_blank(newlines=False)
            if self.peek() != ".":
                return tuple(parts)
            self.advance()

    # -- grammar ----------------------------------------------------------------------------------

    def note(self, path: Path, line: int, *, exact: bool) -> None:
        if exact:
            self.lines[path] = line
        else:
            self.lines.setdefault(path, line)

    def resolve(self, key: tuple[str, ...]) -> Path:
        """Insert the current index after every array-of-tables prefix of a header key."""
        path: list[str | int] = []
        for depth in range(1, len(key) + 1):
            path.append(key[depth - 1])
            count = self.arrays.get(key[:depth])
            if count is not None and depth < len(key):
                path.append(count - 1)
        return tuple(path)

    def document(self) -> None:
        table: Path = ()
        while True:
            self.skip_blank(newlines=True)
            if self.pos >= len(self.text):
                return
            line = self.line
            if self.peek(2) == "[[":
                self.advance(2)
                key = self.key()
                self.advance(2)
                self.arrays[key] = self.arrays.get(key, 0) + 1
                base = self.resolve(key)
                self.note(base, line, exact=False)
                table = (*base, self.arrays[key] - 1)
                self.note(table, line, exact=True)
            elif self.peek() == "[":
                self.advance()
                key = self.key()
                self.advance()
                table = self.resolve(key)
                for depth in range(1, len(table)):
                    self.note(table[:depth], line, exact=False)
                self.note(table, line, exact=True)
            else:
                self.pair(table)

    def pair(self, table: Path) -> None:
        line = self.line
        key = self.key()
        for depth in range(1, len(key)):
            self.note((*table, *key[:depth]), line, exact=False)
        path = (*table, *key)
        self.note(path, line, exact=True)
        self.skip_blank(newlines=False)
        self.advance()  # '='
        self.skip_blank(newlines=False)
        self.value(path)

    def value(self, path: Path) -> None:
        char = self.peek()
        if char in ('"', "'"):
            self.string()
        elif char == "[":
            self.advance()
            index = 0
            while True:
                self.skip_blank(newlines=True)
                if self.peek() in ("]", ""):
                    self.advance()
                    return
                self.note((*path, index), self.line, exact=True)
                self.value((*path, index))
                index += 1
                self.skip_blank(newlines=True)
                if self.peek() == ",":
                    self.advance()
        elif char == "{":
            self.advance()
            while True:
                self.skip_blank(newlines=False)
                if self.peek() in ("}", ""):
                    self.advance()
                    return
                self.pair(path)
                self.skip_blank(newlines=False)
                if self.peek() == ",":
                    self.advance()
        else:
            while self.pos < len(self.text) and self.text[self.pos] not in _SCALAR_END:
                self.advance()


def _escaped(text: str, index: int) -> bool:
    backslashes = 0
    while index - backslashes - 1 >= 0 and text[index - backslashes - 1] == "\\":
        backslashes += 1
    return backslashes % 2 == 1


def key_lines(text: str) -> dict[Path, int]:
    """Every key path in `text` with its 1-based line; partial (never raising) if confused."""
    scanner = _Scanner(text)
    with contextlib.suppress(ValueError, IndexError, tomllib.TOMLDecodeError):
        scanner.document()
    return scanner.lines


def line_of(lines: dict[Path, int], path: Sequence[str | int]) -> int | None:
    """The line of `path`, else of its nearest enclosing key; None if nothing encloses it."""
    for end in range(len(path), 0, -1):
        found = lines.get(tuple(path[:end]))
        if found is not None:
            return found
    return None
