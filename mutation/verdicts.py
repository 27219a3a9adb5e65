"""The kill ratio of one module, with the reviewed equivalent mutants taken out."""

from __future__ import annotations

from dataclasses import dataclass

from mutation.locate import Mutant


@dataclass
class ModuleResult:
    path: str
    mutants: list[Mutant]
    seconds: float


def summarize(result: ModuleResult, equivalents: dict[str, str]) -> dict[str, object]:
    """Equivalent mutants count neither as killed nor as alive: no test could ever kill them."""
    counted = [m for m in result.mutants if m.name not in equivalents]
    killed = sum(not m.alive for m in counted)
    return {
        "module": result.path,
        "mutants": len(result.mutants),
        "equivalent": len(result.mutants) - len(counted),
        "counted": len(counted),
        "killed": killed,
        "survived": len(counted) - killed,
        "kill_ratio_percent": round(100.0 * killed / len(counted), 1) if counted else 100.0,
        "seconds": round(result.seconds, 1),
    }
