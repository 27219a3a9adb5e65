"""The host side of the pen link: sans-IO protocol core, transports, link and typed client.

`from firmware_bridge import open_pen` is the controller's way in (firmware_bridge.client). It is
loaded on first use, so the simulator, which shares only the protocol and the clock, never pays
for the link, pyserial's threads or the client.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "open_pen": "firmware_bridge.client",
    "PenClient": "firmware_bridge.client",
    "PenIdentity": "firmware_bridge.client",
    "AppliedParams": "firmware_bridge.client",
    "PenStatus": "firmware_bridge.client",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'firmware_bridge' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
