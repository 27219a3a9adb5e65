"""The simulated pen sends the same bytes at the same virtual times, and publishes the same
events, as the reference transcripts (tests/simulator/golden.py says how they are made and what
they are the reference of). Speed work on the simulator must keep every one of them.

Why committed digests rather than a second, slow reference path run beside the fast one: the
reference is the merged code, not a copy of it kept alive in the tree (which would need its own
tests and would drift); the digests are small, and `python -m tests.simulator.golden` run on the
reference commit gives them again.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest

from simulator.scenario import bundled_names
from tests.simulator.golden import GOLDEN, SCHEDULES, run

EXPECTED = json.loads(GOLDEN.read_text())
RUNS = sorted(EXPECTED)


def test_every_bundled_scenario_has_a_transcript_under_every_schedule() -> None:
    assert sorted(f"{s}/{name}" for s in bundled_names() for name in SCHEDULES) == RUNS


@pytest.mark.parametrize("key", RUNS)
def test_the_host_reads_the_reference_bytes_at_the_reference_times(key: str) -> None:
    scenario, schedule_name = key.split("/")
    assert run(scenario, schedule_name).digest() == EXPECTED[key]


@pytest.mark.parametrize("scenario", bundled_names())
def test_a_pen_that_keeps_no_events_sends_the_same_bytes(scenario: str) -> None:
    """keep_events=False with no listener (the bench, `penctl sim`): the pen may skip building
    what nobody keeps, never change what it sends or when."""
    got = run(scenario, "odd", keep_events=False).digest()
    assert got["bytes_sha256"] == EXPECTED[f"{scenario}/odd"]["bytes_sha256"]
    assert got["events"] == 0


def test_the_transcripts_include_lapses_faults_restarts_and_wire_faults() -> None:
    """Not vacuous: the compared runs let leases lapse (S5), raise and clear faults, restart
    the motor, and pass frames through the wire's faults."""
    seen: Counter[str] = Counter()
    for scenario in ("nominal", "motor-jam", "flaky-link", "unplug"):
        for name in SCHEDULES:
            seen.update(event for _, event, _ in run(scenario, name).events)
    for event in ("lease_expired", "fault_raised", "fault_cleared", "frame_dropped"):
        assert seen[event] >= 5, event
    assert seen["motor_started"] > 40
    assert seen["link_unplugged"] == seen["link_replugged"] > 0
