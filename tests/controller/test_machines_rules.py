"""The state machines refuse what their tables do not list, in the words the console shows."""

from __future__ import annotations

import pytest

from controller.machines import DEVICE_ROWS, WORKFLOW_ROWS, Device, Step, build, destination


@pytest.mark.parametrize(
    ("rows", "states", "initial"),
    [(DEVICE_ROWS, Device, Device.DISCONNECTED), (WORKFLOW_ROWS, Step, Step.INTAKE)],
)
def test_a_machine_cannot_be_put_into_a_state_by_name(rows, states, initial) -> None:
    """No `to_<state>()` shortcuts: every move goes through a row of the table (S1)."""
    machine = build(rows, states, initial, "test")
    assert not [name for name in dir(machine) if name.startswith("to_")]
    assert machine.state == initial.value


def test_asking_where_a_trigger_leads_from_a_state_it_is_not_allowed_in_names_both() -> None:
    with pytest.raises(KeyError, match="start is not allowed in disconnected"):
        destination(DEVICE_ROWS, Device.DISCONNECTED, "start")
