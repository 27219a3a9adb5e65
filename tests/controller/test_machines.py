"""The controller's two machines: every (state, trigger) pair against its table, and the table's
safety properties (S4, S6).

`controller/machines.py` declares each machine as rows; `transitions` builds it from them. The
first test fires every trigger the table names in every state of the machine, so the table and the
machine built from it cannot disagree: a listed pair moves to the row's destination (or stays, for
an internal row), an unlisted pair raises `MachineError` and the state is unchanged.
"""

from __future__ import annotations

import itertools
from enum import StrEnum

import pytest
from transitions import MachineError

from controller.machines import (
    ANY_DEVICE,
    DEVICE_ROWS,
    LATCHED,
    OPEN_STEPS,
    WORKFLOW_ROWS,
    Device,
    Row,
    Step,
    allowed_triggers,
    build,
    destination,
)

MACHINES: dict[str, tuple[tuple[Row, ...], type[StrEnum], StrEnum]] = {
    "device": (DEVICE_ROWS, Device, Device.DISCONNECTED),
    "workflow": (WORKFLOW_ROWS, Step, Step.INTAKE),
}


def _triggers(rows: tuple[Row, ...]) -> list[str]:
    return sorted({row.trigger for row in rows})


def _expected(rows: tuple[Row, ...], state: StrEnum, trigger: str) -> StrEnum | None:
    """The oracle, read straight off the rows: the destination, or None when no row lists it."""
    matches = [row for row in rows if row.trigger == trigger and state in row.sources]
    if not matches:
        return None
    (row,) = matches  # test_no_pair_is_listed_twice makes this safe
    return state if row.dest is None else row.dest


def _cases() -> list[tuple[str, StrEnum, str]]:
    return [
        (machine, state, trigger)
        for machine, (rows, states, _) in MACHINES.items()
        for state, trigger in itertools.product(states, _triggers(rows))
    ]


@pytest.mark.parametrize(
    ("machine", "state", "trigger"),
    _cases(),
    ids=[f"{m}-{s.value}-{t}" for m, s, t in _cases()],
)
def test_every_state_and_trigger_does_what_the_table_says(
    machine: str, state: StrEnum, trigger: str
) -> None:
    rows, states, _ = MACHINES[machine]
    model = build(rows, states, initial=state, name=machine)
    expected = _expected(rows, state, trigger)
    if expected is None:
        with pytest.raises(MachineError):
            getattr(model, trigger)()
        assert model.state == state.value, "a refused trigger must leave the state as it was"
        assert trigger not in allowed_triggers(rows, state)
        with pytest.raises(KeyError):
            destination(rows, state, trigger)
    else:
        assert getattr(model, trigger)() is True
        assert model.state == expected.value
        assert trigger in allowed_triggers(rows, state)
        assert destination(rows, state, trigger) is expected


@pytest.mark.parametrize("machine", MACHINES)
def test_no_pair_is_listed_twice(machine: str) -> None:
    """One row per (state, trigger): otherwise `transitions` would silently take the first."""
    rows, states, _ = MACHINES[machine]
    for state, trigger in itertools.product(states, _triggers(rows)):
        listed = [row for row in rows if row.trigger == trigger and state in row.sources]
        assert len(listed) <= 1, f"{machine}: {trigger} from {state.value} is in {len(listed)} rows"


@pytest.mark.parametrize("machine", MACHINES)
def test_every_state_is_reachable_from_the_initial_one(machine: str) -> None:
    rows, states, initial = MACHINES[machine]
    seen = {initial}
    frontier = [initial]
    while frontier:
        state = frontier.pop()
        for row in rows:
            if state in row.sources and row.dest is not None and row.dest not in seen:
                seen.add(row.dest)
                frontier.append(row.dest)
    assert seen == set(states)


@pytest.mark.parametrize("machine", MACHINES)
def test_every_row_names_what_it_means(machine: str) -> None:
    rows, _, _ = MACHINES[machine]
    for row in rows:
        assert row.sources, f"{row.trigger} has no source state"
        assert row.note.strip(), f"{row.trigger} has no note for docs/controller.md"


# ---- the device table's safety properties -------------------------------------------------------


@pytest.mark.parametrize("state", list(Device), ids=lambda s: s.value)
def test_s4_estop_is_accepted_in_every_device_state_and_latches(state: Device) -> None:
    model = build(DEVICE_ROWS, Device, initial=state, name="device")
    model.estop()
    assert model.state == Device.ESTOP.value


@pytest.mark.parametrize("state", list(Device), ids=lambda s: s.value)
def test_s4_stop_is_accepted_in_every_device_state(state: Device) -> None:
    """Stop is accepted everywhere; only a running needle changes state (to stopping), and a
    latched state stays latched: a stop never releases anything."""
    model = build(DEVICE_ROWS, Device, initial=state, name="device")
    model.stop()
    if state is Device.RUNNING:
        assert model.state == Device.STOPPING.value
    else:
        assert model.state == state.value


def test_only_start_from_armed_or_paused_leads_into_running() -> None:
    into_running = {
        (source, row.trigger)
        for row in DEVICE_ROWS
        for source in row.sources
        if (source if row.dest is None else row.dest) is Device.RUNNING
    }
    assert into_running == {(Device.ARMED, "start"), (Device.PAUSED, "start")}


@pytest.mark.parametrize("latched", LATCHED, ids=lambda s: s.value)
def test_s6_release_is_never_go(latched: Device) -> None:
    """No row leads from a latched state straight to running, armed or arming."""
    for row in DEVICE_ROWS:
        if latched in row.sources:
            assert row.dest not in (Device.RUNNING, Device.ARMED, Device.ARMING), row


def test_s6_cleared_leads_only_to_idle() -> None:
    cleared = [row for row in DEVICE_ROWS if row.trigger == "cleared"]
    assert cleared and all(row.dest is Device.IDLE for row in cleared)
    assert all(set(row.sources) <= set(LATCHED) for row in cleared)


def test_the_ways_out_of_a_latched_state_are_these_and_no_more() -> None:
    """A new way out of FAULT, ESTOP or LINK_LOST must be added here on purpose (S6).

    Besides the acknowledgement (`cleared`, after the pen confirmed), a latch is left by losing
    the link (`link_lost`), by the operator's reconnect and by closing the link (`disconnect`);
    each of those goes through identification before anything can be armed again.
    """
    ways_out = {
        (source, row.trigger, row.dest)
        for row in DEVICE_ROWS
        for source in row.sources
        if source in LATCHED and row.dest is not None and row.dest is not source
    }
    assert ways_out == {
        (Device.FAULT, "estop", Device.ESTOP),
        (Device.LINK_LOST, "estop", Device.ESTOP),
        (Device.FAULT, "cleared", Device.IDLE),
        (Device.ESTOP, "cleared", Device.IDLE),
        (Device.FAULT, "link_lost", Device.LINK_LOST),
        (Device.ESTOP, "link_lost", Device.LINK_LOST),
        (Device.LINK_LOST, "reconnect", Device.CONNECTING),
        # a latch set while the link was down: allowed() lets the operator reconnect only then,
        # and the pen's own latch (ESTOPPED in its telemetry) latches the host again
        (Device.FAULT, "reconnect", Device.CONNECTING),
        (Device.ESTOP, "reconnect", Device.CONNECTING),
        (Device.FAULT, "disconnect", Device.DISCONNECTED),
        (Device.ESTOP, "disconnect", Device.DISCONNECTED),
        (Device.LINK_LOST, "disconnect", Device.DISCONNECTED),
    }


def test_an_estop_is_left_only_by_acknowledgement_or_losing_the_pen() -> None:
    """ESTOP leaves for idle only through `cleared`; `fault` and `stop` keep it latched."""
    for trigger in ("fault", "stop", "acknowledge"):
        model = build(DEVICE_ROWS, Device, initial=Device.ESTOP, name="device")
        getattr(model, trigger)()
        assert model.state == Device.ESTOP.value, trigger


def test_any_device_is_every_device_state() -> None:
    assert set(ANY_DEVICE) == set(Device)


# ---- the workflow table's properties ------------------------------------------------------------


@pytest.mark.parametrize("step", OPEN_STEPS, ids=lambda s: s.value)
def test_a_session_under_way_can_always_be_aborted(step: Step) -> None:
    model = build(WORKFLOW_ROWS, Step, initial=step, name="workflow")
    model.abort()
    assert model.state == Step.ABORTED.value


def test_treatment_is_reached_only_from_a_complete_preparation() -> None:
    into = {
        (source, row.trigger)
        for row in WORKFLOW_ROWS
        for source in row.sources
        if row.dest is Step.TREATMENT
    }
    assert into == {(Step.PREPARATION, "preparation_done")}


def test_the_steps_run_in_order() -> None:
    """Forward rows only: intake, consent, preparation, treatment, aftercare, closed."""
    order = [Step.INTAKE, Step.CONSENT, Step.PREPARATION, Step.TREATMENT, Step.AFTERCARE]
    forward = {
        (row.sources[0], row.dest)
        for row in WORKFLOW_ROWS
        if len(row.sources) == 1 and row.dest not in (Step.REFUSED, Step.ABORTED, Step.INTAKE)
    }
    assert forward == set(itertools.pairwise([*order, Step.CLOSED]))


@pytest.mark.parametrize("ended", (Step.CLOSED, Step.REFUSED, Step.ABORTED), ids=str)
def test_an_ended_session_leads_only_to_the_next_intake(ended: Step) -> None:
    assert allowed_triggers(WORKFLOW_ROWS, ended) == {"new_session"}
    assert destination(WORKFLOW_ROWS, ended, "new_session") is Step.INTAKE


def test_the_workflow_has_no_internal_rows() -> None:
    assert all(row.dest is not None for row in WORKFLOW_ROWS)
