"""The kill ratio of one module, with the reviewed mutants taken out."""

from __future__ import annotations

from dataclasses import dataclass, field

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
    changes: dict[str, str] = field(default_factory=dict)  # mutant name: its change, as reviewed
    offsets: dict[str, int] = field(default_factory=dict)  # and its line after the def

    def is_import_time(self, name: str) -> bool:
        return name.rsplit("__mutmut_", 1)[0] in self.import_time

    def excuses(self, name: str) -> bool:
        return name in self.equivalent or self.is_import_time(name)


def stale_equivalents(result: ModuleResult, reviewed: Reviewed, *, full: bool) -> list[str]:
    """Entries of equivalents.toml for this module that no longer hold, each as a line to show.

    An entry names a mutant by mutmut's number within its function, so a change to the function
    renumbers its mutants and the entry may then name another one, which it would hide. So an
    entry holds the change it reviewed and its line after the function's def (two mutants of a
    function can make the same change on different lines), and one whose mutant now makes
    another change, or makes it on another line of the function, no longer holds; nor does one
    whose mutant the tests killed (its reason was wrong), nor, after a full run, one naming no
    mutant of the module at all."""
    found = {m.name: m for m in result.mutants}
    prefix = result.path.removesuffix(".py").replace("/", ".") + "."
    lines = []
    for name in sorted(reviewed.equivalent):
        mutant = found.get(name)
        if mutant is None:
            if full and name.startswith(prefix):
                lines.append(f"{result.path}  no such mutant in this run  {name}")
            continue
        was = reviewed.changes.get(name)
        at = reviewed.offsets.get(name)
        if was is not None and was != mutant.change:
            lines.append(f"{mutant.where}  now {mutant.change!r}, reviewed {was!r}  {name}")
        elif at is not None and at != mutant.offset:
            lines.append(
                f"{mutant.where}  now on line {mutant.offset} after the def, reviewed on line "
                f"{at}  {name}"
            )
        elif not mutant.alive:
            lines.append(f"{mutant.where}  {mutant.change}  [{mutant.status}] {name}")
    return lines


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
