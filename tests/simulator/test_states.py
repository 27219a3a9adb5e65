"""The pen's state tables (simulator/states.py) as a developer meets them: a state change the
table does not list is refused loudly, naming the change; staying in a state is no change."""

from __future__ import annotations

import pytest

from firmware_bridge.protocol import MessageType, PenState
from simulator.states import RUN, IllegalTransition, check_transition, gate


def test_a_state_change_the_table_does_not_list_raises_naming_trigger_and_states() -> None:
    with pytest.raises(IllegalTransition) as raised:
        check_transition("START", PenState.IDLE, PenState.RUNNING)
    assert str(raised.value) == "START: IDLE -> RUNNING is not in TRANSITIONS"


def test_listed_changes_and_staying_in_a_state_pass() -> None:
    check_transition("START", PenState.READY, PenState.RUNNING)
    check_transition("LEASE", PenState.RUNNING, PenState.RUNNING)  # not a change at all


def test_the_gates_run_verdict_prints_as_run() -> None:
    """The verdict shows in the command table of docs/simulator.md and in failing tests."""
    assert gate(MessageType.STOP, PenState.BOOTING, identified=False) is RUN
    assert repr(RUN) == "RUN"
