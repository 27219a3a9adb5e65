"""The kit against the bundled simulator in virtual time: it passes on the correct pen and fails,
naming the right section of docs/protocol.md, on each firmware defect (simulator/defects.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from firmware_bridge.conformance import CASES, Outcome
from simulator.config import PenConfig
from simulator.defects import DEFECTS
from simulator.scenario import ScenarioError, parse_scenario
from tests.conformance.hands import run_virtual

# defect -> (the case that must fail, the section it must name)
CAUGHT_BY = {
    "no-lease-watchdog": ("lease-watchdog", "§7.2"),
    "stop-from-memory": ("duplicate-stop", "§5.2"),
    "clamp-off-by-one": ("params-clamps", "§7.1"),
    "echo-other-set": ("params-echo", "§5.3"),
    "wrong-params-crc": ("params-echo", "§5.3"),
    "estop-lost-on-reboot": ("estop-reboot", "§7.9"),
    "motor-runs-after-stop": ("stop", "§7.4"),
    "crc-not-checked": ("bad-frames-dropped", "§2.1"),
}


def test_every_case_passes_on_the_bundled_simulator_with_hands() -> None:
    """Every case, the physical ones included (the test's hands do the acts), passes (S1-S8)."""
    result = run_virtual()
    outcomes = {r.id: (r.outcome, r.message) for r in result.run.results}
    assert outcomes == {case.id: (Outcome.PASSED, "") for case in CASES}
    assert result.run.passed
    assert set(result.hands.done) == {
        "press-button",
        "pull-cartridge",
        "reseat-cartridge",
        "seat-fresh-cartridge",
        "power-cycle",
    }
    assert not result.pen.firmware.motor_running  # the kit leaves the motor stopped (S4)


def test_every_defect_has_a_case_that_catches_it() -> None:
    assert set(CAUGHT_BY) == set(DEFECTS)


@pytest.mark.parametrize("defect", sorted(DEFECTS))
def test_the_kit_catches_the_defect_naming_its_section(defect: str) -> None:
    """S4, S5, S3, S8 as the defect breaks them: the run fails, and the case that checks the
    broken rule fails naming the section that states it."""
    case, section = CAUGHT_BY[defect]
    result = run_virtual([defect])
    failed = result.failed()
    assert not result.run.passed
    assert failed.get(case) == section, failed
    assert DEFECTS[defect].startswith(section)


def test_only_runs_the_chosen_section_after_the_handshake() -> None:
    result = run_virtual(only=("7.2",))
    assert [r.id for r in result.run.results] == ["handshake", "lease-watchdog", "lease-idle"]


def test_an_unknown_defect_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(ScenarioError, match="unknown firmware defect 'no-brakes'; known defects: "):
        parse_scenario('[pen]\ndefects = ["no-brakes"]\n', "defective.toml")
    with pytest.raises(ScenarioError, match="must be a list of names"):
        parse_scenario('[pen]\ndefects = "no-lease-watchdog"\n', "defective.toml")


def test_a_default_pen_has_no_defects() -> None:
    assert PenConfig().defects == frozenset()
    assert parse_scenario("", "plain.toml").pen.defects == frozenset()


def test_the_guide_lists_every_case_and_every_defect() -> None:
    """docs/conformance.md describes what the code has, no more and no less."""
    guide = (Path(__file__).resolve().parents[2] / "docs" / "conformance.md").read_text()
    cases = re.findall(r"^\| `([a-z-]+)` \| (§[^|]+?) \|", guide, re.M)
    assert [(c.id, c.section) for c in CASES] == [(i, s) for i, s in cases if i not in DEFECTS]
    defects = re.findall(r"^\| `([a-z-]+)` \| [^|]+ \| `([a-z-]+)` \| (§[\d.]+) \|", guide, re.M)
    assert [(d, *CAUGHT_BY[d]) for d in DEFECTS] == defects
