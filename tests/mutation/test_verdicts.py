"""The mutation run's bookkeeping (mutation/verdicts.py): what it subtracts as reviewed, and when
a reviewed entry no longer holds. A stale entry would hide a real mutant from the kill ratio."""

from __future__ import annotations

from mutation.locate import Mutant
from mutation.run import load_equivalents
from mutation.verdicts import ModuleResult, Reviewed, stale_equivalents, summarize

PATH = "controller/treatment.py"
NAME = "controller.treatment.x_arm__mutmut_14"
CHANGE = "ctl.progress.confirmed = None  ->  ctl.progress.confirmed = None"


def _result(*mutants: Mutant) -> ModuleResult:
    return ModuleResult(PATH, list(mutants), 1.0)


def _mutant(
    name: str = NAME, status: str = "survived", change: str = CHANGE, offset: int = 7
) -> Mutant:
    return Mutant(name, status, PATH, 97, change, offset)


def _reviewed(name: str = NAME, change: str | None = CHANGE, offset: int = 7) -> Reviewed:
    changes = {} if change is None else {name: change}
    return Reviewed({name: "cannot change behaviour"}, {}, changes, {name: offset})


def test_an_entry_that_holds_is_subtracted_from_the_ratio_and_not_stale() -> None:
    result = _result(_mutant(), _mutant("controller.treatment.x_arm__mutmut_15", "killed"))
    reviewed = _reviewed()
    assert stale_equivalents(result, reviewed, full=True) == []
    summary = summarize(result, reviewed)
    assert (summary["equivalent"], summary["counted"], summary["killed"]) == (1, 1, 1)
    assert summary["kill_ratio_percent"] == 100.0


def test_an_entry_whose_mutant_now_makes_another_change_is_stale_naming_both_changes() -> None:
    """A change to the function renumbered its mutants: the name now belongs to a real one."""
    now = "ParamsRequested(  ->  None"
    [line] = stale_equivalents(_result(_mutant(change=now)), _reviewed(), full=False)
    assert line.startswith(f"{PATH}:97  now {now!r}, reviewed {CHANGE!r}")
    assert line.endswith(NAME)


def test_an_entry_whose_mutant_makes_the_same_change_on_another_line_is_stale() -> None:
    """Two mutants of one function can make the same change (`continue -> break` in two loops):
    a renumbering that swaps them is caught by the line after the def."""
    [line] = stale_equivalents(_result(_mutant(offset=12)), _reviewed(), full=False)
    assert line == f"{PATH}:97  now on line 12 after the def, reviewed on line 7  {NAME}"


def test_a_reviewed_mutant_that_the_tests_killed_is_stale() -> None:
    for reviewed in (_reviewed(), _reviewed(change=None)):
        [line] = stale_equivalents(_result(_mutant(status="killed")), reviewed, full=False)
        assert f"[killed] {NAME}" in line


def test_after_a_full_run_an_entry_naming_no_mutant_of_the_module_is_stale() -> None:
    elsewhere = _reviewed("controller.core.x_tick__mutmut_1")
    assert stale_equivalents(_result(), elsewhere, full=True) == []
    assert stale_equivalents(_result(), _reviewed(), full=False) == []  # a sample, or --again
    [line] = stale_equivalents(_result(), _reviewed(), full=True)
    assert line == f"{PATH}  no such mutant in this run  {NAME}"


def test_every_reviewed_equivalent_says_its_change_and_why() -> None:
    reviewed = load_equivalents()
    assert reviewed.equivalent and set(reviewed.changes) == set(reviewed.equivalent)
    assert set(reviewed.offsets) == set(reviewed.equivalent)
    assert all("  ->  " in change for change in reviewed.changes.values())
    assert all(reason.strip() for reason in reviewed.equivalent.values())
