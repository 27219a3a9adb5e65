"""What the session has done so far: intake, consent, preparation, and each area's passes and time.

Owned and changed by the owner alone; the snapshot copies from it. Times are the injected clock's
nanoseconds, so the numbing dwell and the time on an area run in virtual time in tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from controller.journal.records import AreaPass

if TYPE_CHECKING:
    from controller.core import Controller
    from profiles import Profile


@dataclass(slots=True)
class ParamSet:
    depth_um: int
    speed_sps: int
    param_version: int | None = None
    confirm_reason: str | None = None


@dataclass(slots=True)
class AreaProgress:
    area: str
    max_passes: int
    max_time_ns: int
    passes: int = 0
    time_ns: int = 0
    run_started_ns: int | None = None
    warned: bool = False
    done: bool = False

    def time_now_ns(self, now_ns: int) -> int:
        running = 0 if self.run_started_ns is None else now_ns - self.run_started_ns
        return self.time_ns + running


@dataclass(slots=True)
class SessionProgress:
    patient: str | None = None
    profile: Profile | None = None
    planned_areas: tuple[str, ...] = ()
    level: str | None = None
    skin_type: int | None = None
    consent_given: bool = False
    spacing_days: int | None = None
    cleanses: int = 0
    numbing_agent: str | None = None
    numbing_applied_ns: int | None = None
    numbing_applied_utc: str | None = None
    numbing_removed_ns: int | None = None
    cartridge_serial: str | None = None
    area: str | None = None
    areas: dict[str, AreaProgress] = field(default_factory=dict)
    proposed: ParamSet | None = None
    arm_command: int | None = None  # the link's id for the SET_PARAMS the latest arm sent
    confirmed: ParamSet | None = None
    follow_up: str | None = None

    def checklist(self, min_dwell_ns: int | None) -> dict[str, bool]:
        """The preparation checklist (S1: the needle runs only once every item is true)."""
        dwell_ok = (
            self.numbing_applied_ns is not None
            and self.numbing_removed_ns is not None
            and min_dwell_ns is not None
            and self.numbing_removed_ns - self.numbing_applied_ns >= min_dwell_ns
        )
        return {
            "consent": self.consent_given,
            "cleansed": self.cleanses >= 1,
            "numbing_dwell": dwell_ok,
            "numbing_removed": self.numbing_removed_ns is not None,
            "recleansed": self.cleanses >= 2 and self.numbing_removed_ns is not None,
            "cartridge": self.cartridge_serial is not None,
        }

    @property
    def current(self) -> AreaProgress | None:
        return None if self.area is None else self.areas.get(self.area)

    def begin_pass(self, now_ns: int) -> None:
        current = self.current
        if current is not None and current.run_started_ns is None:
            current.run_started_ns = now_ns

    def end_pass(self, ctl: Controller, now_ns: int) -> None:
        """The needle stopped on the current area: one pass more, its time journaled."""
        current = self.current
        if current is None or current.run_started_ns is None:
            return
        duration_ns = now_ns - current.run_started_ns
        current.time_ns += duration_ns
        current.run_started_ns = None
        current.passes += 1
        confirmed = self.confirmed
        ctl.record(
            AreaPass(
                area=current.area,
                pass_number=current.passes,
                duration_ms=duration_ns // 1_000_000,
                depth_um=0 if confirmed is None else confirmed.depth_um,
                speed_sps=0 if confirmed is None else confirmed.speed_sps,
            ),
            "controller",
        )
