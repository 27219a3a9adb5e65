"""The kill ratio of one module, with the reviewed mutants taken out."""

from __future__ import annotations

from dataclasses import dataclass

from mutation.locate import Mutant


@dataclass
class ModuleResult:
    path: str
    mutants: list[Mutant]
    seconds: float


@dataclass(frozen=True)
class Reviewed:
    """mutation/equivalents.toml: mutants that cannot change behaviour (by mutant name), and
    functions that run only while their module is imported (by mutmut's function name), whose
    mutants mutmut switches on too late to matter."""

    equivalent: dict[str, str]
    import_time: dict[str, str]

    def is_import_time(self, name: str) -> bool:
        return name.rsplit("__mutmut_", 1)[0] in self.import_time

    def excuses(self, name: str) -> bool:
        return name in self.equivalent or self.is_import_time(name)


def summarize(result: ModuleResult, reviewed: Reviewed) -> dict[str, object]:
    """Reviewed mutants count neither as killed nor as alive: no test could ever kill them."""
    counted = [m for m in result.mutants if not reviewed.excuses(m.name)]
    killed = sum(not m.alive for m in counted)
    import_time = sum(reviewed.is_import_time(m.name) for m in result.mutants)
    return {
        "module": result.path,
        "mutants": len(result.mutants),
        "equivalent": len(result.mutants) - len(counted) - import_time,
        "import_time": import_time,
        "counted": len(counted),
        "killed": killed,
        "survived": len(counted) - killed,
        "kill_ratio_percent": round(100.0 * killed / len(counted), 1) if counted else 100.0,
        "seconds": round(result.seconds, 1),
    }
