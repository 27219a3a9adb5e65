"""Durations as people read them: "14 min 05 s", "45 s"."""

from __future__ import annotations


def min_s(seconds: int) -> str:
    """Whole seconds as minutes and seconds; under a minute, seconds alone."""
    if seconds < 60:
        return f"{seconds} s"
    return f"{seconds // 60} min {seconds % 60:02d} s"


def ceil_s(ns: int) -> int:
    """Whole seconds still to wait: 0.2 s left is 1 s, never 0 before the time is up."""
    return -(-ns // 1_000_000_000)
