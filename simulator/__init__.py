"""The pen's firmware, simulated. Uses firmware_bridge's protocol codec and nothing else of ours.

Where things are (docs/simulator.md has the whole story):

- `simulator.clock`: `VirtualClock` and `RealClock` (self-contained: import it alone to share
  virtual time with the simulator);
- `simulator.firmware`: the sans-IO firmware core; `simulator.states`: its tables;
  `simulator.model`: the physics; `simulator.config`: capabilities and constants;
- `simulator.pen.SimulatedPen`: the core on a clock, wired to a transport, with a scenario;
- `simulator.scenario`: scenario files (TOML) and the bundled library in `simulator/scenarios/`;
- `simulator.transport.inprocess` (a pyserial port, `sim://`), `.pty`, `.tcp`, and
  `simulator.server` (the real-time loop behind `penctl sim`).

The names below are importable from `simulator` directly; they load on first use, so importing
`simulator.clock` alone stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "VirtualClock": "simulator.clock",
    "RealClock": "simulator.clock",
    "NS_PER_MS": "simulator.clock",
    "SimulatedPen": "simulator.pen",
    "PenConfig": "simulator.config",
    "CartridgeSpec": "simulator.config",
    "Scenario": "simulator.scenario",
    "ScenarioError": "simulator.scenario",
    "load_scenario": "simulator.scenario",
    "open_port": "simulator.transport.inprocess",
    "publish": "simulator.transport.inprocess",
    "register_url_handler": "simulator.transport.inprocess",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'simulator' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
