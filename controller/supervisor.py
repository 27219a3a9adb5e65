"""The safety supervisor: every TELEMETRY frame held against what the host commanded.

Pure: it reads frames and the host's view and says which alarm conditions hold; the controller
acts on them (stop first, journal after: S7). Thresholds and their sources are in
docs/controller.md; a condition must hold for `SUSTAIN_SAMPLES` frames in a row so that one noisy
sample never stops a treatment, while three (150 ms at the pen's 50 ms period) always do.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from firmware_bridge.protocol import FaultCode, MotorState, Telemetry

SUSTAIN_SAMPLES = 3
DEPTH_TOLERANCE_UM = 150  # ±0.15 mm, the accuracy a cleared pen claims (domain.md §6, K180778)
SPEED_TOLERANCE_PCT = 10
TEMPERATURE_WARN_CDEG = 3_900  # 39 °C: warn before the pen's own 41 °C cut-off (IEC 60601-1)
TEMPERATURE_CLEAR_CDEG = 3_700
BATTERY_LOW_PCT = 15
SETTLE_SAMPLES = 20  # a second at speed for the depth actuator to reach a new depth (4 mm/s)
GAP_WINDOW = 20  # frames: about a second of telemetry
GAP_ALARM_MISSED = 3  # missed frames within the window that make link quality an alarm


@dataclass(frozen=True, slots=True)
class Condition:
    """An alarm condition that now holds: the catalogue id and the figures its sentences name."""

    alarm_id: str
    values: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Commanded:
    """What the host believes it asked for: the confirmed set, and whether the needle may run."""

    depth_um: int | None
    speed_sps: int | None
    may_run: bool


class Supervisor:
    def __init__(self, telemetry_period_ms: int = 50) -> None:
        self._silence_ms = 3 * telemetry_period_ms
        self._depth_off = 0
        self._speed_off = 0
        self._depth_settled = False
        self._at_speed = 0
        self._uncommanded = 0
        self._warm = False
        self._battery_warned = False
        self._missed: deque[int] = deque(maxlen=GAP_WINDOW)
        self._gaps_raised = False

    def check(self, frame: Telemetry, missed: int, commanded: Commanded) -> list[Condition]:
        """Conditions that begin with this frame (each is reported once until it clears)."""
        found: list[Condition] = []
        found += self._running_without_leave(frame, commanded)
        found += self._depth_and_speed(frame, commanded)
        found += self._temperature(frame)
        found += self._battery(frame)
        found += self._link_quality(missed)
        return found

    def pen_fault(self, frame: Telemetry) -> FaultCode | None:
        """The fault the pen has latched, if any (the pen has already stopped the motor)."""
        return None if frame.active_fault is FaultCode.NONE else frame.active_fault

    def reset_run(self) -> None:
        """A new set or a stop: deviations are judged afresh, after the actuator has settled."""
        self._depth_off = self._speed_off = self._at_speed = 0
        self._depth_settled = False

    def _running_without_leave(self, frame: Telemetry, commanded: Commanded) -> list[Condition]:
        """S1: the motor turning while the host has not let it run is stopped at once."""
        turning = frame.motor_state in (MotorState.RAMPING_UP, MotorState.AT_SPEED)
        self._uncommanded = self._uncommanded + 1 if turning and not commanded.may_run else 0
        if self._uncommanded == 1:
            return [Condition("UNCOMMANDED_RUN", {"measured_sps": str(frame.speed_sps)})]
        return []

    def _depth_and_speed(self, frame: Telemetry, commanded: Commanded) -> list[Condition]:
        if frame.motor_state is not MotorState.AT_SPEED or commanded.depth_um is None:
            self.reset_run()
            return []
        found: list[Condition] = []
        depth_off = abs(frame.depth_um - commanded.depth_um) > DEPTH_TOLERANCE_UM
        self._at_speed += 1
        if not depth_off:
            self._depth_settled = True
        if not self._depth_settled and self._at_speed < SETTLE_SAMPLES:
            depth_off = False  # still travelling to the new depth: not yet a deviation
        self._depth_off = self._depth_off + 1 if depth_off else 0
        if self._depth_off == SUSTAIN_SAMPLES:
            figures = {
                "measured_mm": _mm(frame.depth_um),
                "applied_mm": _mm(commanded.depth_um),
                "tolerance_mm": _mm(DEPTH_TOLERANCE_UM),
                "readings": str(SUSTAIN_SAMPLES),
            }
            found.append(Condition("DEPTH_DEVIATION", figures))
        speed = commanded.speed_sps or 0
        speed_off = abs(frame.speed_sps - speed) * 100 > SPEED_TOLERANCE_PCT * speed
        self._speed_off = self._speed_off + 1 if speed_off else 0
        if self._speed_off == SUSTAIN_SAMPLES:
            figures = {
                "measured_sps": str(frame.speed_sps),
                "applied_sps": str(speed),
                "readings": str(SUSTAIN_SAMPLES),
            }
            found.append(Condition("SPEED_DEVIATION", figures))
        return found

    def _temperature(self, frame: Telemetry) -> list[Condition]:
        if not self._warm and frame.temperature_cdeg >= TEMPERATURE_WARN_CDEG:
            self._warm = True
            celsius = f"{frame.temperature_cdeg / 100:.1f}"
            return [Condition("TEMPERATURE_HIGH", {"temperature_c": celsius})]
        if self._warm and frame.temperature_cdeg < TEMPERATURE_CLEAR_CDEG:
            self._warm = False
        return []

    def _battery(self, frame: Telemetry) -> list[Condition]:
        if not self._battery_warned and frame.battery_pct <= BATTERY_LOW_PCT:
            self._battery_warned = True
            return [Condition("BATTERY_LOW", {"battery_pct": str(frame.battery_pct)})]
        return []

    def _link_quality(self, missed: int) -> list[Condition]:
        self._missed.append(missed)
        total = sum(self._missed)
        if total >= GAP_ALARM_MISSED and not self._gaps_raised:
            self._gaps_raised = True
            figures = {
                "missed": str(total),
                "expected": str(GAP_WINDOW + total),
                "silence_ms": str(self._silence_ms),
            }
            return [Condition("TELEMETRY_GAPS", figures)]
        if total == 0:
            self._gaps_raised = False
        return []


def _mm(micrometres: int) -> str:
    return f"{micrometres / 1000:.2f}"
