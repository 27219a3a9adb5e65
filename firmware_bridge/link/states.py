"""The link's states and every way between them, as data (docs/link.md draws it from here).

Everything that changes `LinkCore.state` is listed in `TRANSITIONS`; the core refuses any other
change, so the table and the diagram cannot drift from the code. A failure is a state: LOST,
PEN_REBOOTED and REFUSED each hold until the host opens the link again, and nothing resumes by
itself (S5): opening sends HELLO, which discards the pen's applied set and lease.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class LinkState(StrEnum):
    CLOSED = "closed"  # nothing sent yet, or the host closed the link
    HANDSHAKE = "handshake"  # HELLO sent; waiting for ACK and IDENTIFY (and a pen still booting)
    UP = "up"  # identified; TELEMETRY flows and commands are confirmed
    LOST = "lost"  # silence, a command unanswered after its retransmissions, or the port failed
    PEN_REBOOTED = "pen_rebooted"  # an unexpected EVENT BOOT: the pen lost its state
    REFUSED = "refused"  # the pen refused HELLO (e.g. another protocol version)


class LinkTrigger(StrEnum):
    OPEN = "open"
    IDENTIFIED = "identified"
    HELLO_REFUSED = "hello_refused"
    NO_ANSWER = "no_answer"
    SILENCE = "silence"
    PORT_FAILED = "port_failed"
    UNEXPECTED_BOOT = "unexpected_boot"
    CLOSE = "close"


S = LinkState
T = LinkTrigger
_ALL_BUT_CLOSED = (S.HANDSHAKE, S.UP, S.LOST, S.PEN_REBOOTED, S.REFUSED)


@dataclass(frozen=True, slots=True)
class Transition:
    trigger: LinkTrigger
    sources: tuple[LinkState, ...]
    dest: LinkState
    note: str


TRANSITIONS: tuple[Transition, ...] = (
    Transition(T.OPEN, (S.CLOSED, *_ALL_BUT_CLOSED), S.HANDSHAKE, "HELLO: set and lease gone"),
    Transition(T.IDENTIFIED, (S.HANDSHAKE,), S.UP, "ACK and IDENTIFY received"),
    Transition(T.HELLO_REFUSED, (S.HANDSHAKE,), S.REFUSED, "NAK to HELLO, other than BOOTING"),
    Transition(T.NO_ANSWER, (S.HANDSHAKE, S.UP), S.LOST, "unanswered after 3 retransmissions"),
    Transition(T.SILENCE, (S.UP,), S.LOST, "no TELEMETRY for 3 periods"),
    Transition(T.PORT_FAILED, (S.HANDSHAKE, S.UP), S.LOST, "unplugged, EIO, EOF"),
    Transition(T.UNEXPECTED_BOOT, (S.UP,), S.PEN_REBOOTED, "EVENT BOOT: the pen lost its state"),
    Transition(T.CLOSE, _ALL_BUT_CLOSED, S.CLOSED, "the host closed the link"),
)

_TABLE: dict[tuple[LinkState, LinkTrigger], LinkState] = {
    (source, t.trigger): t.dest for t in TRANSITIONS for source in t.sources
}


def next_state(state: LinkState, trigger: LinkTrigger) -> LinkState | None:
    """Where `trigger` leads from `state`, or None when the table has no such way (ignored)."""
    return _TABLE.get((state, trigger))


def render_mermaid() -> str:
    """The link's state diagram in Mermaid, generated from TRANSITIONS."""
    lines = ["stateDiagram-v2", "    [*] --> CLOSED"]
    for t in TRANSITIONS:
        for source in t.sources:
            lines.append(f"    {source.name} --> {t.dest.name}: {t.trigger.value}")
    return "\n".join(lines)


def render_table() -> str:
    """Markdown: each transition with its sources and what it means."""
    lines = ["| trigger | from | to | meaning |", "|---|---|---|---|"]
    for t in TRANSITIONS:
        sources = ", ".join(s.name for s in t.sources)
        lines.append(f"| {t.trigger.value} | {sources} | {t.dest.name} | {t.note} |")
    return "\n".join(lines)
