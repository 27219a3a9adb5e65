"""The pen's physics: needle motor, depth actuator and sensor, heat, battery, all coupled.

Stepped only by the firmware's control tick with a fixed `dt`, so the same seed and the same
commands give the same numbers whatever the wall clock did. The model knows nothing of the
protocol: the firmware sets targets (`run`, `depth_target_um`) and reads measurements.

Coupling: the motor draws a current that grows with speed and with the load of a jam; that current
heats the handpiece (copper loss, I²R) and pulls the battery's terminal voltage down through the
cell's internal resistance. Heat and charge have closed forms between changes of the motor's
current (first-order approach to a steady temperature; a constant drain), so `step` and the
firmware's fast-forward over a steady stretch (`advance_steady`) compute them from the last
change, `anchor`, and agree to the bit however the ticks are grouped.
"""

from __future__ import annotations

import math
import random

from firmware_bridge.protocol import MotorState
from simulator.config import PenConfig


class PhysicalModel:
    def __init__(self, config: PenConfig, rng: random.Random) -> None:
        self.config = config
        self._rng = rng
        self._dt_s = config.tick_ms / 1000
        self._decay = math.exp(-self._dt_s / config.thermal_tau_s)
        self._travel_per_tick_um = config.depth_travel_um_per_s * self._dt_s
        free_at_max_ma = config.current_base_ma + config.current_per_sps_ma * config.speed_max_sps
        self._rise_per_ma2 = config.temp_rise_at_max_c / free_at_max_ma**2
        self._span_mv = config.battery_full_mv - config.battery_empty_mv
        # Motor
        self.motor_on = False
        self.speed_target_sps = 0
        self.speed_sps = 0.0
        self.accelerating = False
        self.stall_load = 0.0
        self.current_ma = 0
        # Depth actuator: the setpoint travels towards the target at the actuator's rate (unless
        # stuck); the needle follows the setpoint plus any drift; the sensor reads it plus noise.
        self.depth_target_um = 0
        self.depth_setpoint_um = 0.0
        self.depth_stuck = False
        self.drift_um = 0.0
        self.drift_rate_um_per_s = 0.0
        # Heat and power, in closed form from the anchor (the last change of current or state).
        self.internal_mohm = config.battery_internal_mohm
        self._temperature_c = config.ambient_c
        self._battery_mah = config.battery_capacity_mah * config.battery_start_pct / 100
        # (current mA, T0, mAh0, ticks since, steady temperature, drain mAh a tick)
        self._anchor: tuple[int, float, float, int, float, float] | None = None
        # Sensors a fault can freeze (None: reading the physics).
        self.temperature_stuck_c: float | None = None
        self.battery_stuck: tuple[int, float] | None = None  # (mV, %) the gauge keeps reporting

    # ---- commands from the firmware -----------------------------------------------------------

    def run(self, speed_sps: int) -> None:
        self.motor_on = True
        self.speed_target_sps = speed_sps

    def coast_down(self) -> None:
        """Motor off, ramping down (a STOP)."""
        self.motor_on = False
        self.speed_target_sps = 0

    def brake(self) -> None:
        """Motor off and stopped at once (E-stop, faults, lease lapse, the button)."""
        self.coast_down()
        self.speed_sps = 0.0
        self.accelerating = False
        self.current_ma = 0

    def set_stall(self, load: float) -> None:
        """0 = free; 1 = jammed. The rotor can never turn faster than (1 - load) of its target."""
        self.stall_load = load
        self.speed_sps = min(self.speed_sps, self._effective_target())

    # ---- the tick ------------------------------------------------------------------------------

    def step(self) -> None:
        config = self.config
        dt = self._dt_s
        target = self._effective_target()
        before = self.speed_sps
        if before < target:
            self.speed_sps = min(target, before + config.speed_ramp_up_sps_per_s * dt)
        elif before > target:
            self.speed_sps = max(target, before - config.speed_ramp_down_sps_per_s * dt)
        self.accelerating = self.speed_sps > before
        self.current_ma = self._current_now()
        if not self.depth_stuck:
            step_um = self._travel_per_tick_um
            setpoint = self.depth_setpoint_um
            if setpoint < self.depth_target_um:
                self.depth_setpoint_um = min(self.depth_target_um, setpoint + step_um)
            elif setpoint > self.depth_target_um:
                self.depth_setpoint_um = max(self.depth_target_um, setpoint - step_um)
        if self.drift_rate_um_per_s:
            self.drift_um += self.drift_rate_um_per_s * dt
        self._settle(1)

    def _current_now(self) -> int:
        """The motor's current at its present speed and load (0 when off and stopped)."""
        if not (self.motor_on or self.speed_sps > 0):
            return 0
        config = self.config
        load = self.stall_load if self.motor_on else 0.0
        return round(
            config.current_base_ma
            + config.current_per_sps_ma * self.speed_sps
            + load * config.stall_current_ma
        )

    @property
    def steady(self) -> bool:
        """A tick would change nothing but heat and charge (which have closed forms): the rotor
        is at its target, the current is what it would compute, the needle is where it is sent
        (or cannot move), nothing drifts."""
        return (
            self.speed_sps == self._effective_target()
            and not self.accelerating
            and self.current_ma == self._current_now()
            and (self.depth_setpoint_um == self.depth_target_um or self.depth_stuck)
            and not self.drift_rate_um_per_s
        )

    def advance_steady(self, ticks: int) -> None:
        """`ticks` ticks at once, valid only while `steady` (the firmware checks first)."""
        self._settle(ticks)

    @property
    def anchor(self) -> tuple[int, float, float] | None:
        """(current mA, temperature, charge mAh): where the closed forms start."""
        anchor = self._anchor
        return None if anchor is None else anchor[:3]

    def after_steady(self, ticks: int) -> tuple[float, float]:
        """(temperature °C, charge mAh) after `ticks` more steady ticks, changing nothing."""
        _, t0, mah0, done, steady, drain_mah = self._current_anchor()
        k = done + ticks
        return steady + (t0 - steady) * self._decay**k, max(0.0, mah0 - drain_mah * k)

    def _settle(self, ticks: int) -> None:
        current, t0, mah0, done, steady, drain_mah = self._current_anchor()
        k = done + ticks
        self._anchor = (current, t0, mah0, k, steady, drain_mah)
        self._temperature_c = steady + (t0 - steady) * self._decay**k
        self._battery_mah = max(0.0, mah0 - drain_mah * k)

    def _current_anchor(self) -> tuple[int, float, float, int, float, float]:
        """The anchor, started afresh when the current changed since (or heat or charge was
        set): the steady temperature and the drain a tick belong to one current."""
        anchor = self._anchor
        current = self.current_ma
        if anchor is None or anchor[0] != current:
            config = self.config
            steady = config.ambient_c + self._rise_per_ma2 * current * current
            drain_mah = (config.electronics_ma + current) * self._dt_s / 3600
            anchor = (current, self._temperature_c, self._battery_mah, 0, steady, drain_mah)
        return anchor

    # ---- heat and charge: set from outside (a scenario's hands) re-anchor the closed form -------

    @property
    def temperature_c(self) -> float:
        """The handpiece's real temperature (what the sensor reads unless it is stuck)."""
        return self._temperature_c

    @temperature_c.setter
    def temperature_c(self, celsius: float) -> None:
        self._temperature_c = celsius
        self._anchor = None

    @property
    def battery_mah(self) -> float:
        return self._battery_mah

    @battery_mah.setter
    def battery_mah(self, mah: float) -> None:
        self._battery_mah = mah
        self._anchor = None

    # ---- readings ------------------------------------------------------------------------------

    def _effective_target(self) -> float:
        return self.speed_target_sps * (1.0 - self.stall_load) if self.motor_on else 0.0

    @property
    def depth_error_um(self) -> float:
        """Needle position minus commanded (the setpoint): what the firmware's filtered sensor
        check watches. The noise is in the reported samples (`sample_depth_um`), not in the check,
        so noise alone never trips it."""
        return self.drift_um

    @property
    def depth_settled(self) -> bool:
        return self.depth_setpoint_um == self.depth_target_um

    def readings(self) -> tuple[MotorState, int, int, int, int, int, int]:
        """One TELEMETRY sample's physical fields, in wire order and units: motor state, depth
        µm, speed strokes/s, current mA, temperature 0.01 °C, battery mV and %. The same values
        as the properties and samplers below (one call, as the pen sends 20 a second)."""
        gauss = self._rng.gauss
        config = self.config
        depth = round(self.depth_setpoint_um + self.drift_um + gauss(0, config.depth_noise_um))
        depth = 0 if depth < 0 else 0xFFFF if depth > 0xFFFF else depth
        current = self.current_ma
        if current:
            current = round(current + gauss(0, config.current_noise_ma))
            current = 0 if current < 0 else 0xFFFF if current > 0xFFFF else current
        stuck_c = self.temperature_stuck_c
        centi_c = round((self._temperature_c if stuck_c is None else stuck_c) * 100)
        centi_c = -0x8000 if centi_c < -0x8000 else 0x7FFF if centi_c > 0x7FFF else centi_c
        stuck = self.battery_stuck
        if stuck is None:
            pct = 100 * self._battery_mah / config.battery_capacity_mah
            load_ma = config.electronics_ma + self.current_ma
            volts = (
                config.battery_empty_mv
                + self._span_mv * pct / 100
                - load_ma * self.internal_mohm / 1000
            )
            battery_mv = round(volts)
            battery_mv, pct = (battery_mv if battery_mv > 0 else 0), round(pct)
        else:
            battery_mv, pct = stuck[0], round(stuck[1])
        return (self.motor_state, depth, round(self.speed_sps), current, centi_c, battery_mv, pct)

    def sample_depth_um(self) -> int:
        """One sensor reading: the needle plus seeded Gaussian noise, not clipped, so a sensor
        that drifts within the firmware's check can still read outside the tolerance."""
        noise = self._rng.gauss(0, self.config.depth_noise_um)
        return max(0, round(self.depth_setpoint_um + self.drift_um + noise))

    def sample_current_ma(self) -> int:
        if self.current_ma == 0:
            return 0
        return max(0, round(self.current_ma + self._rng.gauss(0, self.config.current_noise_ma)))

    @property
    def temperature_reading_c(self) -> float:
        """What the temperature sensor reports (and the firmware's over-temperature check sees)."""
        stuck = self.temperature_stuck_c
        return self._temperature_c if stuck is None else stuck

    @property
    def motor_state(self) -> MotorState:
        if self.motor_on:
            if self.speed_sps < self.speed_target_sps:
                return MotorState.RAMPING_UP
            if self.speed_sps > self.speed_target_sps:
                return MotorState.RAMPING_DOWN
            return MotorState.AT_SPEED
        return MotorState.RAMPING_DOWN if self.speed_sps > 0 else MotorState.STOPPED

    @property
    def battery_pct(self) -> float:
        return 100 * self._battery_mah / self.config.battery_capacity_mah

    def open_circuit_mv(self, pct: float | None = None) -> float:
        """The cell's resting voltage, linear in charge between empty and full."""
        config = self.config
        pct = self.battery_pct if pct is None else pct
        return (
            config.battery_empty_mv + (config.battery_full_mv - config.battery_empty_mv) * pct / 100
        )

    def terminal_mv(self, charge_mah: float | None = None) -> float:
        """Under load: open-circuit minus (electronics + motor current) × internal resistance."""
        pct = (
            self.battery_pct
            if charge_mah is None
            else 100 * charge_mah / self.config.battery_capacity_mah
        )
        load_ma = self.config.electronics_ma + self.current_ma
        return self.open_circuit_mv(pct) - load_ma * self.internal_mohm / 1000

    @property
    def battery_mv(self) -> int:
        """What the battery gauge reports: the terminal voltage, unless the gauge is stuck."""
        stuck = self.battery_stuck
        return max(0, round(self.terminal_mv())) if stuck is None else stuck[0]

    @property
    def battery_pct_reading(self) -> float:
        """The charge the gauge reports (and the firmware's battery checks see)."""
        stuck = self.battery_stuck
        return self.battery_pct if stuck is None else stuck[1]

    def set_battery_pct(self, pct: float) -> None:
        self.battery_mah = self.config.battery_capacity_mah * max(0.0, min(100.0, pct)) / 100
