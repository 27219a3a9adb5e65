"""Everything that decides which state the simulated pen may move to lives here, as plain data.

Theory of operation (after h11's `_state.py`): the firmware (firmware.py) checks each host command
against `COMMAND_GATE` before running it, and every state change it makes goes through
`TRANSITIONS`: a change the table does not list is a bug and raises. The diagrams and tables in
docs/simulator.md are rendered from these tables (`render_mermaid`, `render_command_table`), and
a test compares them, so the documentation cannot drift from the code.

Gate order for a host command: STOP and ESTOP always run (S4); while BOOTING everything else is
refused BAD_STATE; before an accepted HELLO everything else is refused NOT_IDENTIFIED; then
`COMMAND_GATE[command][state]`: a NakReason refuses by state alone, RUN hands the command to its
handler, which checks its own conditions (ranges, versions, cartridge, lease, fault causes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from firmware_bridge.protocol import HOST_COMMANDS, MessageType, NakReason, PenState

S = PenState
IDENTIFIED_STATES = (S.IDLE, S.READY, S.RUNNING, S.FAULTED, S.ESTOPPED)
ALWAYS_ACCEPTED = frozenset({MessageType.STOP, MessageType.ESTOP})


class _Run:
    def __repr__(self) -> str:
        return "RUN"


RUN: Final = _Run()
Gate = NakReason | _Run

COMMAND_GATE: dict[MessageType, dict[PenState, Gate]] = {
    MessageType.HELLO: {S.IDLE: RUN, S.READY: RUN, S.RUNNING: RUN, S.FAULTED: RUN, S.ESTOPPED: RUN},
    MessageType.SET_PARAMS: {
        S.IDLE: RUN,
        S.READY: RUN,
        S.RUNNING: RUN,
        S.FAULTED: NakReason.FAULT_ACTIVE,
        S.ESTOPPED: NakReason.ESTOPPED,
    },
    MessageType.START: {
        S.IDLE: NakReason.NO_PARAMS,
        S.READY: RUN,
        S.RUNNING: RUN,
        S.FAULTED: NakReason.FAULT_ACTIVE,
        S.ESTOPPED: NakReason.ESTOPPED,
    },
    MessageType.STOP: dict.fromkeys(IDENTIFIED_STATES, RUN),
    MessageType.ESTOP: dict.fromkeys(IDENTIFIED_STATES, RUN),
    MessageType.CLEAR_FAULT: {
        S.IDLE: NakReason.BAD_STATE,
        S.READY: NakReason.BAD_STATE,
        S.RUNNING: NakReason.BAD_STATE,
        S.FAULTED: RUN,
        S.ESTOPPED: RUN,
    },
    MessageType.LEASE: dict.fromkeys(IDENTIFIED_STATES, RUN),
    MessageType.GET_STATUS: dict.fromkeys(IDENTIFIED_STATES, RUN),
}


def gate(command: MessageType, state: PenState, identified: bool) -> Gate:
    """The state-level verdict on a host command (before its handler's own checks)."""
    if command in ALWAYS_ACCEPTED:
        return RUN
    if state is PenState.BOOTING:
        return NakReason.BAD_STATE
    if not identified:
        return RUN if command is MessageType.HELLO else NakReason.NOT_IDENTIFIED
    return COMMAND_GATE[command][state]


@dataclass(frozen=True, slots=True)
class Transition:
    trigger: str
    sources: tuple[PenState, ...]
    dest: PenState
    note: str = ""


TRANSITIONS: tuple[Transition, ...] = (
    Transition("boot_complete", (S.BOOTING,), S.IDLE, "EVENT BOOT"),
    Transition("boot_complete", (S.BOOTING,), S.ESTOPPED, "an ESTOP arrived while booting"),
    Transition("SET_PARAMS", (S.IDLE, S.READY), S.READY, "ACK echoes the applied set (S3)"),
    Transition("SET_PARAMS", (S.RUNNING,), S.RUNNING, "new set takes effect through the model"),
    Transition("START", (S.READY,), S.RUNNING, "cartridge IN_USE for good; EVENT MOTOR_STARTED"),
    Transition("STOP", (S.RUNNING,), S.READY, "EVENT MOTOR_STOPPED"),
    Transition("button", (S.RUNNING,), S.READY, "EVENT BUTTON_STOP, MOTOR_STOPPED"),
    Transition(
        "HELLO",
        (S.READY, S.RUNNING),
        S.IDLE,
        "applied set discarded; running: MOTOR_STOPPED HOST_RESET",
    ),
    Transition("cartridge_removed", (S.READY,), S.IDLE, "applied set discarded"),
    Transition(
        "cartridge_inserted", (S.READY,), S.IDLE, "applied depth exceeds the new needle length"
    ),
    Transition("lease_lapse", (S.RUNNING,), S.FAULTED, "LEASE_EXPIRED latched (S5)"),
    Transition(
        "pen_fault",
        (S.IDLE, S.READY, S.RUNNING, S.FAULTED),
        S.FAULTED,
        "stall, heat, battery, depth sensor, cartridge",
    ),
    Transition("pen_fault", (S.ESTOPPED,), S.ESTOPPED, "latched beneath the e-stop"),
    Transition(
        "ESTOP",
        (S.IDLE, S.READY, S.RUNNING, S.FAULTED),
        S.ESTOPPED,
        "EVENT ESTOP_ENGAGED; set discarded (S4); while booting it latches for boot_complete",
    ),
    Transition(
        "CLEAR_FAULT",
        (S.FAULTED, S.ESTOPPED),
        S.IDLE,
        "last latch cleared; params needed again (S6)",
    ),
    Transition("CLEAR_FAULT", (S.FAULTED, S.ESTOPPED), S.FAULTED, "another fault is still latched"),
    Transition(
        "reboot",
        (S.BOOTING, S.IDLE, S.READY, S.RUNNING, S.FAULTED, S.ESTOPPED),
        S.BOOTING,
        "all state lost; EVENT BOOT follows",
    ),
)

_ALLOWED: frozenset[tuple[str, PenState, PenState]] = frozenset(
    (t.trigger, source, t.dest) for t in TRANSITIONS for source in t.sources
)


class IllegalTransition(RuntimeError):
    """The firmware tried a state change the table does not list: a bug in the simulator."""


def check_transition(trigger: str, source: PenState, dest: PenState) -> None:
    if source is not dest and (trigger, source, dest) not in _ALLOWED:
        raise IllegalTransition(f"{trigger}: {source.name} -> {dest.name} is not in TRANSITIONS")


def render_mermaid() -> str:
    """The pen's state diagram in Mermaid, generated from TRANSITIONS."""
    lines = ["stateDiagram-v2", "    [*] --> BOOTING"]
    for t in TRANSITIONS:
        for source in t.sources:
            lines.append(f"    {source.name} --> {t.dest.name}: {t.trigger}")
    return "\n".join(lines)


def render_command_table() -> str:
    """Markdown: each host command's state-level verdict in each identified state."""
    states = [s.name for s in IDENTIFIED_STATES]
    lines = [
        "| command | " + " | ".join(states) + " |",
        "|---|" + "---|" * len(states),
    ]
    for command in HOST_COMMANDS:
        cells = []
        for state in IDENTIFIED_STATES:
            verdict = COMMAND_GATE[command][state]
            cells.append("run" if isinstance(verdict, _Run) else f"NAK {verdict.name}")
        lines.append(f"| {command.name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
