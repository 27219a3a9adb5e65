"""The pen's physics: needle motor, depth actuator and sensor, heat, battery.

Stepped only by the firmware's control tick with a fixed `dt`, so the same seed and the same
commands give the same numbers whatever the wall clock did. The model knows nothing of the
protocol: the firmware sets targets (`run`, `depth_target_um`) and reads measurements.
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
        self._thermal_alpha = 1 - math.exp(-self._dt_s / config.thermal_tau_s)
        self._noise_limit_um = 0.8 * config.depth_tolerance_um
        self._travel_per_tick_um = config.depth_travel_um_per_s * self._dt_s
        # Motor
        self.motor_on = False
        self.speed_target_sps = 0
        self.speed_sps = 0.0
        self.accelerating = False
        self.stall_load = 0.0
        self.current_ma = 0
        # Depth actuator: the setpoint travels towards the target at the actuator's rate; the
        # needle follows the setpoint plus any drift; the sensor reads the needle plus noise.
        self.depth_target_um = 0
        self.depth_setpoint_um = 0.0
        self.drift_um = 0.0
        self.drift_rate_um_per_s = 0.0
        # Heat and power
        self.temperature_c = config.ambient_c
        self.battery_mah = config.battery_capacity_mah * config.battery_start_pct / 100

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
        # Motor speed ramps towards its effective target.
        target = self._effective_target()
        before = self.speed_sps
        if before < target:
            self.speed_sps = min(target, before + config.speed_ramp_up_sps_per_s * dt)
        elif before > target:
            self.speed_sps = max(target, before - config.speed_ramp_down_sps_per_s * dt)
        self.accelerating = self.speed_sps > before
        # Current rises with speed and spikes with the load of a stall.
        if self.motor_on or self.speed_sps > 0:
            load = self.stall_load if self.motor_on else 0.0
            self.current_ma = round(
                config.current_base_ma
                + config.current_per_sps_ma * self.speed_sps
                + load * config.stall_current_ma
            )
        else:
            self.current_ma = 0
        # Depth actuator travel and drift.
        step_um = self._travel_per_tick_um
        setpoint = self.depth_setpoint_um
        if setpoint < self.depth_target_um:
            self.depth_setpoint_um = min(self.depth_target_um, setpoint + step_um)
        elif setpoint > self.depth_target_um:
            self.depth_setpoint_um = max(self.depth_target_um, setpoint - step_um)
        if self.drift_rate_um_per_s:
            self.drift_um += self.drift_rate_um_per_s * dt
        # Heat: first order towards ambient + rise in proportion to speed.
        steady = (
            config.ambient_c + config.temp_rise_at_max_c * self.speed_sps / config.speed_max_sps
        )
        self.temperature_c += (steady - self.temperature_c) * self._thermal_alpha
        # Battery: electronics plus motor current.
        drawn_mah = (config.electronics_ma + self.current_ma) * dt / 3600
        self.battery_mah = max(0.0, self.battery_mah - drawn_mah)

    # ---- readings ------------------------------------------------------------------------------

    def _effective_target(self) -> float:
        return self.speed_target_sps * (1.0 - self.stall_load) if self.motor_on else 0.0

    @property
    def depth_error_um(self) -> float:
        """Needle position minus commanded (the setpoint): what the firmware's filtered sensor
        check watches. The noise is in the reported samples (`sample_depth_um`), not in the check,
        so a sensor inside its tolerance never trips it."""
        return self.drift_um

    def sample_depth_um(self) -> int:
        """One sensor reading: the needle plus seeded noise, clipped within 0.8 × tolerance."""
        noise = self._rng.gauss(0, self.config.depth_noise_um)
        noise = max(-self._noise_limit_um, min(self._noise_limit_um, noise))
        return max(0, round(self.depth_setpoint_um + self.drift_um + noise))

    def sample_current_ma(self) -> int:
        if self.current_ma == 0:
            return 0
        return max(0, round(self.current_ma + self._rng.gauss(0, self.config.current_noise_ma)))

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
        return 100 * self.battery_mah / self.config.battery_capacity_mah

    @property
    def battery_mv(self) -> int:
        config = self.config
        span = config.battery_full_mv - config.battery_empty_mv
        return round(config.battery_empty_mv + span * self.battery_pct / 100)

    def set_battery_pct(self, pct: float) -> None:
        self.battery_mah = self.config.battery_capacity_mah * max(0.0, min(100.0, pct)) / 100
