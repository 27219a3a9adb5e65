"""A case of the kit and the result of running it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from firmware_bridge.protocol import Cartridge, Identify

if TYPE_CHECKING:
    from firmware_bridge.conformance.context import Context


@dataclass(frozen=True, slots=True)
class Case:
    """One rule of docs/protocol.md checked against a pen; `section` is where the rule is."""

    id: str
    section: str
    title: str
    run: Callable[[Context], None]


class Outcome(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"
    ERROR = "error"  # the kit could not talk to the pen (the port failed)


@dataclass(frozen=True, slots=True)
class CaseResult:
    id: str
    section: str  # the case's section, or the more precise one a failure names
    title: str
    outcome: Outcome
    message: str
    duration_ms: float


@dataclass(frozen=True, slots=True)
class KitRun:
    """One run of the kit: every case's result and the pen it ran against."""

    results: list[CaseResult]
    identify: Identify | None
    cartridge: Cartridge | None

    @property
    def passed(self) -> bool:
        """Nothing failed or errored (skipped cases do not fail a run)."""
        return all(r.outcome in (Outcome.PASSED, Outcome.SKIPPED) for r in self.results)
