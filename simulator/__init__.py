"""The pen's firmware, simulated. Uses firmware_bridge's protocol codec and clock, nothing else.

Where things are (docs/simulator.md has the whole story):

- time comes from `firmware_bridge.clock` (`VirtualClock`, `RealClock`), the one clock every
  layer shares, so a simulated pen and its host can run on one virtual timeline;
- `simulator.firmware`: the sans-IO firmware core; `simulator.states`: its tables;
  `simulator.model`: the physics; `simulator.config`: capabilities and constants;
- `simulator.pen.SimulatedPen`: the core on a clock, wired to a transport, with a scenario;
- `simulator.wire`: the simulated wire between host and pen, where the scenario's frame faults
  (drop, corrupt, duplicate, delay, split, silent) are applied;
- `simulator.scenario`: scenario files (TOML) and the bundled library in `simulator/scenarios/`;
- `simulator.transport.inprocess` (a pyserial port, `sim://`), `.pty`, `.tcp`, and
  `simulator.server` (the real-time loop);
- `simulator.cli`: the command line, `python -m simulator` (`penctl sim` delegates to it).

The names below are importable from `simulator` directly; they load on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "VirtualClock": "firmware_bridge.clock",
    "RealClock": "firmware_bridge.clock",
    "NS_PER_MS": "firmware_bridge.clock",
    "SimulatedPen": "simulator.pen",
    "PenConfig": "simulator.config",
    "CartridgeSpec": "simulator.config",
    "Scenario": "simulator.scenario",
    "ScenarioError": "simulator.scenario",
    "load_scenario": "simulator.scenario",
    "open_host_port": "simulator.transport.inprocess",
    "publish": "simulator.transport.inprocess",
    "register_url_handler": "simulator.transport.inprocess",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'simulator' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
