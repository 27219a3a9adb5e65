"""The controller's two state machines, as tables: the device (the pen, as the host drives it) and
the session workflow (what the practitioner does, in order).

Rules: everything that changes either state is a row here; `transitions` builds the machines
from these rows (`queued=True`, `auto_transitions=False`), so a trigger a state does not list is
refused, never improvised. Rows carry no guards: whether an action may happen now, and why not,
is `Controller.allowed()`, which reads state and never changes it. Steps that wait for the pen
(arming, stopping, identifying) are states, so the owner loop never blocks. Failures are states
that latch (FAULT, ESTOP, LINK_LOST): only an operator's acknowledgement, after the pen confirms
the cause is gone, leaves them, and never into RUNNING (S4, S6). docs/controller.md draws both
machines from these tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from transitions import Machine


class Device(StrEnum):
    DISCONNECTED = "disconnected"
    CONNECTING = "connecting"
    IDENTIFYING = "identifying"
    IDLE = "idle"
    ARMING = "arming"
    ARMED = "armed"
    RUNNING = "running"
    PAUSED = "paused"
    STOPPING = "stopping"
    FAULT = "fault"
    ESTOP = "estop"
    LINK_LOST = "link_lost"


class Step(StrEnum):
    INTAKE = "intake"
    CONSENT = "consent"
    PREPARATION = "preparation"
    TREATMENT = "treatment"
    AFTERCARE = "aftercare"
    CLOSED = "closed"
    REFUSED = "refused"
    ABORTED = "aborted"


@dataclass(frozen=True, slots=True)
class Row:
    trigger: str
    sources: tuple[StrEnum, ...]
    dest: StrEnum | None  # None: accepted and journaled, the state stays (an internal transition)
    note: str


D = Device
CONNECTED = (D.IDLE, D.ARMING, D.ARMED, D.RUNNING, D.PAUSED, D.STOPPING)
LATCHED = (D.FAULT, D.ESTOP, D.LINK_LOST)
ANY_DEVICE = tuple(Device)

DEVICE_ROWS: tuple[Row, ...] = (
    Row("connect", (D.DISCONNECTED,), D.CONNECTING, "open the pen's port"),
    Row("port_open", (D.CONNECTING,), D.IDENTIFYING, "HELLO sent"),
    Row("port_failed", (D.CONNECTING,), D.DISCONNECTED, "the port could not be opened"),
    Row("identified", (D.IDENTIFYING,), D.IDLE, "IDENTIFY received; no set applied"),
    Row("arm", (D.IDLE, D.ARMED, D.PAUSED), D.ARMING, "SET_PARAMS sent"),
    Row("armed", (D.ARMING,), D.ARMED, "the pen's echo matched the set (S3)"),
    Row("arm_refused", (D.ARMING,), D.IDLE, "the pen refused the set; nothing applied"),
    Row("start", (D.ARMED, D.PAUSED), D.RUNNING, "NEEDLE_START journaled, then START sent (S7)"),
    Row(
        "start_refused",
        (D.RUNNING,),
        D.ARMED,
        "the pen refused START, or did not confirm it (the link failed it)",
    ),
    Row("stop", (D.RUNNING,), D.STOPPING, "STOP sent first, journaled after (S7)"),
    Row(
        "stop",
        tuple(d for d in Device if d is not D.RUNNING),
        None,
        "STOP sent; accepted in every state, a latch stays (S4)",
    ),
    Row("stopped", (D.STOPPING,), D.PAUSED, "the pen reports the motor stopped"),
    Row("button", (D.RUNNING, D.STOPPING), D.PAUSED, "the pen's button stopped the motor"),
    Row("disarm", (D.ARMED, D.PAUSED, D.IDLE), D.IDLE, "the area ended; the set stays unused"),
    Row("estop", ANY_DEVICE, D.ESTOP, "ESTOP sent at once; latched until acknowledged (S4)"),
    Row("fault", (D.CONNECTING, D.IDENTIFYING, *CONNECTED, D.FAULT), D.FAULT, "needle stopped"),
    Row("fault", (D.ESTOP, D.LINK_LOST, D.DISCONNECTED), None, "journaled under the latch"),
    Row("link_lost", (D.IDENTIFYING, *CONNECTED, D.FAULT, D.ESTOP), D.LINK_LOST, "high alarm"),
    Row("acknowledge", (D.FAULT, D.ESTOP), None, "CLEAR_FAULT sent; waits for the pen"),
    Row("cleared", (D.FAULT, D.ESTOP), D.IDLE, "the pen confirmed; parameters needed again (S6)"),
    Row("hello_refused", (D.IDENTIFYING,), D.DISCONNECTED, "the pen refused HELLO (version)"),
    Row(
        "reconnect",
        (D.LINK_LOST, D.DISCONNECTED, D.FAULT, D.ESTOP),
        D.CONNECTING,
        "operator reconnects (S5); from a latch only with the link down, the pen's latch stays",
    ),
    Row("disconnect", ANY_DEVICE, D.DISCONNECTED, "the link was closed"),
)

W = Step
OPEN_STEPS = (W.INTAKE, W.CONSENT, W.PREPARATION, W.TREATMENT, W.AFTERCARE)

WORKFLOW_ROWS: tuple[Row, ...] = (
    Row("intake_done", (W.INTAKE,), W.CONSENT, "screening passed; interval held or overridden"),
    Row("intake_refused", (W.INTAKE,), W.REFUSED, "a blocking contraindication or too soon"),
    Row("consent_given", (W.CONSENT,), W.PREPARATION, "expectations explained, consent recorded"),
    Row("preparation_done", (W.PREPARATION,), W.TREATMENT, "checklist complete (S1)"),
    Row("treatment_done", (W.TREATMENT,), W.AFTERCARE, "needle stopped; areas recorded"),
    Row("aftercare_done", (W.AFTERCARE,), W.CLOSED, "instructions given, follow-up set"),
    Row("abort", OPEN_STEPS, W.ABORTED, "needle stopped first; reason journaled"),
    Row("new_session", (W.CLOSED, W.REFUSED, W.ABORTED), W.INTAKE, "the next patient"),
)


class _Model:
    """What `transitions` binds triggers and `state` to; the controller reads `.state`."""

    state: str


def build(rows: Sequence[Row], states: type[StrEnum], initial: StrEnum, name: str) -> Any:
    """A `transitions` machine for the table: queued, no auto transitions, failures raise."""
    model = _Model()
    Machine(
        model=model,
        states=[s.value for s in states],
        transitions=[
            {
                "trigger": row.trigger,
                "source": [s.value for s in row.sources],
                "dest": None if row.dest is None else row.dest.value,
            }
            for row in rows
        ],
        initial=initial.value,
        auto_transitions=False,
        queued=True,
        name=name,
    )
    return model


def allowed_triggers(rows: Sequence[Row], state: StrEnum) -> frozenset[str]:
    return frozenset(row.trigger for row in rows if state in row.sources)


def destination(rows: Sequence[Row], state: StrEnum, trigger: str) -> StrEnum | None:
    """Where `trigger` leads from `state` (the state itself for an internal row)."""
    for row in rows:
        if row.trigger == trigger and state in row.sources:
            return state if row.dest is None else row.dest
    raise KeyError(f"{trigger} is not allowed in {state.value}")


def render_mermaid(rows: Sequence[Row], initial: StrEnum) -> str:
    lines = ["stateDiagram-v2", f"    [*] --> {initial.name}"]
    for row in rows:
        for source in row.sources:
            dest = source if row.dest is None else row.dest
            lines.append(f"    {source.name} --> {dest.name}: {row.trigger}")
    return "\n".join(lines)


def render_table(rows: Sequence[Row]) -> str:
    lines = ["| trigger | from | to | meaning |", "|---|---|---|---|"]
    for row in rows:
        sources = ", ".join(s.name for s in row.sources)
        dest = "(stays)" if row.dest is None else row.dest.name
        lines.append(f"| {row.trigger} | {sources} | {dest} | {row.note} |")
    return "\n".join(lines)


def generated_blocks() -> dict[str, str]:
    """The four blocks docs/controller.md carries between `<!-- generated:NAME -->` markers."""
    return {
        "device-states": f"```mermaid\n{render_mermaid(DEVICE_ROWS, Device.DISCONNECTED)}\n```",
        "device-table": render_table(DEVICE_ROWS),
        "workflow-states": f"```mermaid\n{render_mermaid(WORKFLOW_ROWS, Step.INTAKE)}\n```",
        "workflow-table": render_table(WORKFLOW_ROWS),
    }


if __name__ == "__main__":
    # `python -m controller.machines`: every block with its markers, ready to paste.
    for block_name, block in generated_blocks().items():
        print(f"<!-- generated:{block_name} -->\n{block}\n<!-- /generated:{block_name} -->\n")
