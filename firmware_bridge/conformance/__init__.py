"""The conformance kit: the pen-side rules of docs/protocol.md run against any pen on any port.

`penctl conformance --port URL` is its command line (docs/conformance.md). It speaks through the
host's own codec and ports, never through the simulator, so what it proves of the bundled
simulator it proves the same way of a firmware team's pen.
"""

from firmware_bridge.conformance.context import ACTS, NoOperator, Operator, Settings
from firmware_bridge.conformance.model import Case, CaseResult, KitRun, Outcome
from firmware_bridge.conformance.runner import CASES, SelectionError, run_kit, select

__all__ = [
    "ACTS",
    "CASES",
    "Case",
    "CaseResult",
    "KitRun",
    "NoOperator",
    "Operator",
    "Outcome",
    "SelectionError",
    "Settings",
    "run_kit",
    "select",
]
