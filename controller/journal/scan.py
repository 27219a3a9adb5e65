"""Cutting a session file into lines and finding a torn tail: shared by recovery and the verifier.

A torn tail is what a crash leaves of the one write that was in flight: bytes after the last
newline, or a last line holding NUL bytes (a zero-filled block after power loss). Records are
written one at a time and each is fsynced before the next starts, so nothing else can be torn.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Line:
    offset: int
    raw: bytes  # without the newline


@dataclass(frozen=True, slots=True)
class SplitFile:
    lines: list[Line]
    torn_offset: int | None  # where the torn tail starts, if there is one
    size: int

    def good_end(self) -> int:
        """The length the file has without its torn tail."""
        return self.size if self.torn_offset is None else self.torn_offset


def split_file(data: bytes) -> SplitFile:
    lines: list[Line] = []
    offset = 0
    size = len(data)
    while offset < size:
        end = data.find(b"\n", offset)
        if end < 0:
            return SplitFile(lines, offset, size)
        lines.append(Line(offset, data[offset:end]))
        offset = end + 1
    if lines and b"\x00" in lines[-1].raw:
        return SplitFile(lines[:-1], lines[-1].offset, size)
    return SplitFile(lines, None, size)
