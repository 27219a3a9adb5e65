"""The simulated pen's capabilities and physical constants, with their sources.

Integers in domain units throughout (µm, strokes/s, ms, mA, mV); temperatures in °C as floats.
Every default is documented with the figure it comes from in docs/simulator.md.
"""

from __future__ import annotations

import dataclasses
import datetime
import math
from dataclasses import dataclass

from simulator.defects import DefectError, check_names


class ConfigError(ValueError):
    """A configuration value is unusable; the message names the field, the value and the rule."""


@dataclass(frozen=True, slots=True)
class PenConfig:
    # Identity (IDENTIFY)
    serial_number: str = "SIM-000001"
    model: str = "PENSIM-1"
    firmware_version: tuple[int, int, int] = (1, 0, 0)
    # Capabilities: depth 0.25–2.5 mm in 0.05 mm steps, speed 60–150 strokes/s in 10s
    depth_min_um: int = 250
    depth_max_um: int = 2500
    depth_step_um: int = 50
    speed_min_sps: int = 60
    speed_max_sps: int = 150
    speed_step_sps: int = 10
    lease_min_ms: int = 50
    lease_max_ms: int = 1000
    telemetry_period_ms: int = 50
    # Firmware timing
    boot_ms: int = 200
    tick_ms: int = 20  # the control loop: physics and sensor checks, 50 Hz
    # Depth actuator and sensor (±0.15 mm: Exceed K180778 scale tolerance)
    depth_tolerance_um: int = 150
    depth_travel_um_per_s: int = 4000
    depth_noise_um: int = 40  # standard deviation; samples are clipped to 0.8 × tolerance
    depth_disagree_window_ms: int = 200
    depth_settle_ms: int = 1000  # the actuator must reach a new target within this: else a fault
    # Needle motor
    speed_ramp_up_sps_per_s: int = 600
    speed_ramp_down_sps_per_s: int = 1500
    current_base_ma: int = 60
    current_per_sps_ma: float = 2.4
    current_noise_ma: int = 6
    stall_current_ma: int = 1500  # extra current drawn at full jam
    over_current_ma: int = 1000
    over_current_window_ms: int = 60  # above over_current_ma this long trips (a jam shows first)
    stall_speed_fraction: float = 0.8  # below this fraction of the set rate, not accelerating
    stall_window_ms: int = 300
    # Thermal: first order towards ambient + a rise in proportion to the motor's I²R loss, scaled
    # so that the free-running motor at maximum speed gives temp_rise_at_max_c
    ambient_c: float = 24.0
    temp_rise_at_max_c: float = 14.0
    thermal_tau_s: float = 900.0
    over_temp_c: float = 41.0  # IEC 60601-1 11.1.2.2: applied parts above 41 °C need disclosure
    over_temp_clear_c: float = 39.0
    # Battery (3.7 V Li-ion: Exceed Unlimited K233709)
    battery_capacity_mah: int = 1000
    battery_start_pct: float = 90.0
    battery_empty_mv: int = 3300
    battery_full_mv: int = 4200
    electronics_ma: int = 40
    battery_internal_mohm: int = 150  # the cell's internal resistance: the voltage sags under load
    battery_low_pct: float = 15.0  # a warning (the events file's battery_low), no fault
    battery_critical_pct: float = 5.0
    brownout_mv: int = 3000  # the terminal voltage below which the electronics reset
    # The pen's calendar (for cartridge expiry); None: the host's date, or a fixed one in
    # virtual time so runs are reproducible (see Simulator).
    today_yyyymmdd: int | None = None
    # Deliberate firmware defects (simulator/defects.py), for proving the conformance kit; none
    # by default.
    defects: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        _check_ranges(self)
        _check_positive(
            self,
            "depth_step_um",
            "speed_step_sps",
            "telemetry_period_ms",
            "tick_ms",
            "depth_tolerance_um",
            "depth_travel_um_per_s",
            "speed_ramp_up_sps_per_s",
            "speed_ramp_down_sps_per_s",
            "battery_capacity_mah",
            "thermal_tau_s",
            "depth_disagree_window_ms",
            "depth_settle_ms",
            "stall_window_ms",
        )
        _check_order(self, "depth_min_um", "depth_max_um")
        _check_order(self, "speed_min_sps", "speed_max_sps")
        _check_order(self, "lease_min_ms", "lease_max_ms")
        _check_order(self, "over_temp_clear_c", "over_temp_c")
        _check_order(self, "battery_empty_mv", "battery_full_mv")
        if self.speed_min_sps <= 0:
            raise ConfigError(f"speed_min_sps = {self.speed_min_sps}: must be above 0")
        if self.depth_max_um > 0xFFFF or self.speed_max_sps > 0xFFFF or self.lease_max_ms > 0xFFFF:
            raise ConfigError("depth, speed and lease limits must fit 16 bits (at most 65535)")
        if not 0 <= self.battery_start_pct <= 100:
            raise ConfigError(f"battery_start_pct = {self.battery_start_pct}: must be 0..100")
        if not 0 < self.stall_speed_fraction < 1:
            raise ConfigError(
                f"stall_speed_fraction = {self.stall_speed_fraction}: must be between 0 and 1"
            )
        for name in ("serial_number", "model"):
            value = getattr(self, name)
            if len(value) > 16 or not all(0x20 <= ord(c) < 0x7F for c in value):
                raise ConfigError(f"{name} = {value!r}: at most 16 printable ASCII characters")
        if len(self.firmware_version) != 3 or not all(
            0 <= part <= 255 for part in self.firmware_version
        ):
            raise ConfigError(f"firmware_version = {self.firmware_version!r}: three parts 0..255")
        if self.today_yyyymmdd is not None:
            check_yyyymmdd("today_yyyymmdd", self.today_yyyymmdd)
        try:
            check_names(self.defects)
        except DefectError as exc:
            raise ConfigError(f"defects: {exc}") from None

    def replace(self, **changes: object) -> PenConfig:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class CartridgeSpec:
    """A physical cartridge. `used` is the flag on its chip: set for good once it has run (S8)."""

    serial: str = "CART-0001"
    lot: str = "LOT-2026-11"
    needle_count: int = 12
    needle_length_um: int = 2500
    expiry_yyyymmdd: int = 20281231
    used: bool = False
    readable: bool = True

    def __post_init__(self) -> None:
        for name, size in (("serial", 16), ("lot", 12)):
            value = getattr(self, name)
            if len(value) > size or not all(0x20 <= ord(c) < 0x7F for c in value):
                raise ConfigError(f"{name} = {value!r}: at most {size} printable ASCII characters")
        if not 1 <= self.needle_count <= 255:
            raise ConfigError(f"needle_count = {self.needle_count}: must be 1..255")
        if not 1 <= self.needle_length_um <= 0xFFFF:
            raise ConfigError(f"needle_length_um = {self.needle_length_um}: must be 1..65535")
        check_yyyymmdd("expiry_yyyymmdd", self.expiry_yyyymmdd)

    def replace(self, **changes: object) -> CartridgeSpec:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


def check_yyyymmdd(name: str, value: int) -> None:
    try:
        datetime.date(value // 10000, value // 100 % 100, value % 100)
    except (ValueError, TypeError):
        raise ConfigError(f"{name} = {value!r}: not a date written as YYYYMMDD") from None


# Temperatures may be below 0; every other number is a count, a rate or a duration that the wire
# carries as u16 or the model multiplies, so 0..65535 keeps IDENTIFY and TELEMETRY encodable (S9).
_TEMPERATURES_C = (-50.0, 200.0)
_TEMPERATURE_FIELDS = frozenset({"ambient_c", "over_temp_c", "over_temp_clear_c"})
_PERCENT_FIELDS = frozenset({"battery_start_pct", "battery_low_pct", "battery_critical_pct"})


def value_range(name: str) -> tuple[float, float]:
    """The inclusive range a numeric `[pen]` value must lie in (and it must be finite)."""
    if name in _TEMPERATURE_FIELDS:
        return _TEMPERATURES_C
    if name == "temp_rise_at_max_c":
        return 0.0, 200.0
    if name in _PERCENT_FIELDS:
        return 0.0, 100.0
    return 0, 0xFFFF


def render_range_table() -> str:
    """The ranges of every numeric `[pen]` value, as docs/simulator.md shows them."""
    groups: dict[tuple[float, float, str], list[str]] = {}
    for item in dataclasses.fields(PenConfig):
        if item.type not in ("int", "float"):
            continue
        unit = " °C" if item.name.endswith("_c") else " %" if item.name.endswith("_pct") else ""
        groups.setdefault((*value_range(item.name), unit), []).append(f"`{item.name}`")
    rows = ["| `[pen]` values | accepted (inclusive, finite) |", "|---|---|"]
    rows += [
        f"| {', '.join(names)} | {low:g} to {high:g}{unit} |"
        for (low, high, unit), names in groups.items()
    ]
    return "\n".join(rows)


def _check_ranges(config: PenConfig) -> None:
    for item in dataclasses.fields(config):
        value = getattr(config, item.name)
        if item.name == "today_yyyymmdd" or not isinstance(value, int | float):
            continue
        low, high = value_range(item.name)
        if not (math.isfinite(value) and low <= value <= high):
            raise ConfigError(f"{item.name} = {value!r}: must be between {low:g} and {high:g}")


def _check_positive(config: PenConfig, *names: str) -> None:
    for name in names:
        if getattr(config, name) <= 0:
            raise ConfigError(f"{name} = {getattr(config, name)}: must be above 0")


def _check_order(config: PenConfig, low: str, high: str) -> None:
    if getattr(config, low) > getattr(config, high):
        raise ConfigError(
            f"{low} = {getattr(config, low)} is above {high} = {getattr(config, high)}"
        )


DEFAULT_CARTRIDGE = CartridgeSpec()

# The calendar date a virtual-time pen reads, so expiry behaves the same on every run.
VIRTUAL_TODAY = 20260601


__all__ = [
    "DEFAULT_CARTRIDGE",
    "VIRTUAL_TODAY",
    "CartridgeSpec",
    "ConfigError",
    "PenConfig",
]
