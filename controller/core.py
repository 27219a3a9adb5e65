"""The controller: one owner, one queue, two machines, the supervisor and the journal.

Theory of operation (ARCHITECTURE.md §2). Everything that changes the controller arrives on one
queue: operator actions (`submit`), link outputs (telemetry, events, command outcomes, link
states) and the owner's tick every 100 ms. One owner drains it: a thread in real time, clock
callbacks in virtual time (`runner.py`), running the same code, so tests and `--fast` are exact.
Handlers never block: commands go to the pen without waiting and their outcomes come back on the
queue, so the steps that wait for the pen are states (arming, stopping).

Two paths skip the queue's backlog: `submit(Stop())` and `submit(EStop())` write to the pen from
the caller's thread at once, then queue the bookkeeping (S4: sent first, journaled after, S7).
The tick renews the pen's lease only while the owner is healthy, so a stuck owner lets the lease
lapse and the pen stops by itself (S5). A journal that cannot be written stops the needle (S7).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from controller import actions as act
from controller.alarms import CATALOGUE
from controller.history import read_history
from controller.journal import JournalFault, JournalWriter
from controller.journal.records import (
    Alarm,
    Fault,
    NeedleStop,
    OperatorAck,
    RecordData,
    StateChange,
)
from controller.machines import (
    DEVICE_ROWS,
    WORKFLOW_ROWS,
    Device,
    Step,
    allowed_triggers,
    build,
)
from controller.progress import SessionProgress
from controller.supervisor import Supervisor
from firmware_bridge.clock import NS_PER_MS, Clock
from firmware_bridge.link import LinkOutput, TelemetryReceived
from firmware_bridge.protocol import StopReason, Telemetry
from profiles import Library

if TYPE_CHECKING:
    from firmware_bridge import PenClient
    from profiles import EffectiveLimits

TICK_NS = 100 * NS_PER_MS
SNAPSHOT_NS = 50 * NS_PER_MS  # telemetry alone refreshes the snapshot at most at 20 Hz
LEASE_MS = 300
REASON_MAX = 2000  # an ACTION_REFUSED record's reason holds at most this many characters


@dataclass(frozen=True, slots=True)
class StopSent:
    """Bookkeeping for a stop already written to the pen from the caller's thread."""

    reason: StopReason
    sent_ns: int
    estop: bool
    actor: str
    written: bool = True  # False: no pen was open to write it to


@dataclass(slots=True)
class ActiveAlarm:
    alarm_id: str
    priority: str
    what: str
    did: str
    next: str
    latched: bool
    raised_at_ns: int


@dataclass(slots=True)
class PenFacts:
    """What the pen has told us, newest first: the host's only knowledge of the pen (S3)."""

    identify: Any = None
    cartridge: Any = None
    telemetry: Telemetry | None = None
    depth_history: deque[int] = field(default_factory=lambda: deque(maxlen=100))
    speed_history: deque[int] = field(default_factory=lambda: deque(maxlen=100))


class Controller:
    """Build with `Controller.create(...)`; drive with a runner (controller/runner.py)."""

    def __init__(
        self,
        *,
        clock: Clock,
        journal: JournalWriter,
        library: Library,
        operator: str,
        open_pen: Callable[[], PenClient],
        software_version: str = "penctl",
    ) -> None:
        self.clock = clock
        self.journal = journal
        self.library = library
        self.operator = operator
        self.software_version = software_version
        self._open_pen = open_pen
        self.pen: PenClient | None = None
        self.device: Any = build(DEVICE_ROWS, Device, Device.DISCONNECTED, "device")
        self.workflow: Any = build(WORKFLOW_ROWS, Step, Step.INTAKE, "workflow")
        self.facts = PenFacts()
        self.progress = SessionProgress()
        self.supervisor = Supervisor()
        self.alarms: list[ActiveAlarm] = []
        self.limits: EffectiveLimits | None = None
        self.pending: dict[int, str] = {}  # command id -> what the owner waits for
        self.acknowledge_note: str | None = None  # the operator's, until the pen answers CLEAR
        self.history = read_history(Path(journal.directory))
        self.last_refusal: str | None = None
        self.estop_unwritten = False  # an e-stop pressed with no pen open, not yet acknowledged
        self._queue: deque[object] = deque()
        self._lock = threading.Lock()
        self._actions_posted = 0  # operator actions queued, and handled (the queue is FIFO)
        self.actions_handled = 0
        self._wake: Callable[[], None] = lambda: None
        self._snapshot: Any = None
        self._snapshot_ns = 0
        self._stop_reason: StopReason | None = None
        from controller.view import build_snapshot

        self._build_snapshot = build_snapshot
        self.refresh()

    # ---- the interface the console and scripts use --------------------------------------------

    def submit(self, action: act.Action) -> int:
        """Queue an operator action. A stop or e-stop is written to the pen first, right here.

        Returns the action's ticket: once a snapshot's `actions_handled` reaches it, that
        snapshot shows what the action did (or its refusal)."""
        item: object = (
            self._send_stop(action) if isinstance(action, act.Stop | act.EStop) else action
        )
        with self._lock:
            self._actions_posted += 1
            self._queue.append(item)
            ticket = self._actions_posted
        self._wake()
        return ticket

    def snapshot(self) -> Any:
        return self._snapshot

    def allowed(self) -> dict[str, Any]:
        from controller.permissions import allowed

        return allowed(self)

    @property
    def device_state(self) -> Device:
        return Device(self.device.state)

    @property
    def step(self) -> Step:
        return Step(self.workflow.state)

    # ---- the owner -----------------------------------------------------------------------------

    def attach(self, wake: Callable[[], None]) -> None:
        """The runner's way to be told that the queue has work (see runner.py)."""
        self._wake = wake

    def drain(self) -> None:
        """Handle everything queued, in order. Only the owner calls this.

        The snapshot is rebuilt after anything but telemetry at once, and after telemetry at most
        every SNAPSHOT_NS: the console draws at 15 Hz, and a picture rebuilt for each of a fast
        pen's 100 frames a second only takes the interpreter from the console's keys.
        """
        only_telemetry = True
        while True:
            with self._lock:
                if not self._queue:
                    break
                item = self._queue.popleft()
            only_telemetry = only_telemetry and isinstance(item, TelemetryReceived)
            self._handle(item)
        if not only_telemetry or self.now_ns() - self._snapshot_ns >= SNAPSHOT_NS:
            self.refresh()

    def tick(self) -> None:
        """Every 100 ms on the owner: renew the lease, run the area's clock, check timers, and
        hear of a journal chore that failed between records (S7)."""
        self.drain()
        try:
            self.journal.poll()
        except JournalFault as exc:
            self.journal_failed(exc)
        pen = self.pen
        if pen is not None and self.device_state not in (Device.LINK_LOST, Device.DISCONNECTED):
            pen.renew_lease(LEASE_MS)
        from controller.treatment import on_tick

        on_tick(self)
        self.refresh()

    def refresh(self) -> None:
        self._snapshot_ns = self.now_ns()
        self._snapshot = self._build_snapshot(self)

    def now_ns(self) -> int:
        return self.clock.monotonic_ns()

    def _post(self, item: object) -> None:
        with self._lock:
            self._queue.append(item)
        self._wake()

    def on_link(self, output: LinkOutput) -> None:
        """The pen link's subscriber: called on the link's thread; never blocks."""
        self._post(output)

    def _handle(self, item: object) -> None:
        from controller.dispatch import handle

        try:
            handle(self, item)
        except JournalFault as exc:
            self.journal_failed(exc)
        except Exception as exc:  # ARCHITECTURE.md §2: an exception leads to a fault state
            self.internal_fault(exc)
        finally:
            if isinstance(item, act.Action | StopSent):
                self.actions_handled += 1

    def internal_fault(self, exc: Exception) -> None:
        """Stop the needle, latch a fault and say what broke; the owner keeps running."""
        if self.pen is not None:
            self.pen.stop(StopReason.HOST_FAULT)
        error = f"{type(exc).__name__}: {exc}".replace("\n", " ")[:300]
        try:
            self.raise_alarm("HOST_INTERNAL", {"error": error})
        except JournalFault as journal_exc:
            self.journal_failed(journal_exc)
        if self.can("device", "fault"):
            self.device.fault()

    # ---- stops: sent first, journaled after ----------------------------------------------------

    def _send_stop(self, action: act.Stop | act.EStop) -> StopSent:
        estop = isinstance(action, act.EStop)
        reason = StopReason.ESTOP if isinstance(action, act.EStop) else action.reason
        pen = self.pen
        if pen is not None:
            if estop:
                pen.estop(reason)
            else:
                pen.stop(reason)
        return StopSent(reason, self.now_ns(), estop, self.operator, written=pen is not None)

    def stop_needle(self, reason: StopReason, detail: str, actor: str = "controller") -> None:
        """Stop the needle from the owner (an alarm, a time limit): pen first, journal after."""
        sent_ns = self.now_ns()
        if self.pen is not None:
            self.pen.stop(reason)
        self.progress.end_pass(self, sent_ns)
        self.record(NeedleStop(reason=reason.label, sent_mono_ns=sent_ns, detail=detail), actor)

    # ---- the machines --------------------------------------------------------------------------

    def fire(self, machine: str, trigger: str) -> None:
        """Change state by a table row, journaling the change (S7)."""
        model = self.device if machine == "device" else self.workflow
        before = model.state
        getattr(model, trigger)()
        if model.state != before:
            change = StateChange(
                machine=machine, from_state=before, to_state=model.state, trigger=trigger
            )
            self.record(change, "controller")

    def can(self, machine: str, trigger: str) -> bool:
        if machine == "device":
            return trigger in allowed_triggers(DEVICE_ROWS, self.device_state)
        return trigger in allowed_triggers(WORKFLOW_ROWS, self.step)

    def new_session(self) -> None:
        """The next patient: the workflow starts again; the pen and its link stay as they are."""
        self.fire("workflow", "new_session")
        self.progress = SessionProgress()
        self.limits = None
        self.alarms = [a for a in self.alarms if a.latched]
        self.history = read_history(Path(self.journal.directory))

    def alarm_latches(self, alarm_id: str) -> bool:
        return CATALOGUE[alarm_id].latches

    # ---- the journal ---------------------------------------------------------------------------

    def close_session(self, outcome: str, reason: str) -> None:
        """Close the journal's session with a signed checkpoint (journal.md §4)."""
        if self.journal.session is None or self.journal.fault is not None:
            return
        self.journal.close_session(outcome, reason, self.operator)  # type: ignore[arg-type]
        self.history = read_history(Path(self.journal.directory))

    def record(self, data: RecordData, actor: str | None = None) -> None:
        """Journal `data` durably if a session is open (S7). A failure stops the needle."""
        if self.journal.session is None or self.journal.fault is not None:
            return
        self.journal.append(data, actor or self.operator)

    def journal_failed(self, exc: JournalFault) -> None:
        """No treatment without a record: stop, latch, alarm (nothing more can be journaled)."""
        if self.pen is not None:
            self.pen.stop(StopReason.HOST_FAULT)
        cause = exc.cause
        error = f"{cause.strerror or cause} on {exc.path}" if cause is not None else str(exc)
        self.raise_alarm("JOURNAL_FAULT", {"error": error}, journal=False)
        if self.can("device", "fault"):
            self.device.fault()

    # ---- alarms --------------------------------------------------------------------------------

    def raise_alarm(self, alarm_id: str, values: dict[str, Any], *, journal: bool = True) -> None:
        """Show an alarm; a needle-stopping one stops the needle first (S7), then journals.
        STOPPING means a stop is already on its way (the link repeats it until the pen answers):
        a second one would only journal a second NEEDLE_STOP under the wrong reason.

        It is on show before the stop is journaled: a journal failing on that record raises
        JOURNAL_FAULT beside it, never in its place (S6: the console says what happened)."""
        spec = CATALOGUE[alarm_id]
        text = spec.render(**values)
        shown = any(a.alarm_id == alarm_id for a in self.alarms)
        alarm = ActiveAlarm(
            alarm_id,
            spec.priority.value,
            text.what,
            text.did,
            text.next,
            spec.latches,
            self.now_ns(),
        )
        if not shown:
            self.alarms.append(alarm)
        if spec.stops_needle and self.device_state is Device.RUNNING:
            self.stop_needle(StopReason.HOST_FAULT, f"alarm {alarm_id}")
        if journal and not shown:
            self.journal_alarm(alarm)

    def journal_alarm(self, alarm: ActiveAlarm) -> None:
        """The FAULT (for a latching alarm) and ALARM records of an alarm on show (S7)."""
        message = f"{alarm.what} {alarm.did} {alarm.next}"
        frames = self._raw_frames()
        if alarm.latched:
            self.record(
                Fault(
                    fault_id=alarm.alarm_id,
                    cause=alarm.alarm_id.lower(),
                    message=message,
                    raw_frames=frames,
                ),
                "controller",
            )
        self.record(
            Alarm(
                alarm_id=alarm.alarm_id,
                priority=alarm.priority,
                condition=alarm.alarm_id.lower(),
                message=message,
                raw_frames=frames,
            ),
            "controller",
        )

    def clear_alarms(self, *, latched: bool, note: str | None) -> list[str]:
        """The operator acknowledges what is showing; returns the ids cleared. A journal that
        still cannot be written keeps its alarm: the cause is not gone (S6), and the banner is
        what tells the operator why arming and starting stay refused (S7)."""
        cleared = [
            a.alarm_id
            for a in self.alarms
            if (a.latched == latched or not a.latched)
            and not (a.alarm_id == "JOURNAL_FAULT" and self.journal.fault is not None)
        ]
        for alarm_id in cleared:
            self.record(OperatorAck(subject=alarm_id, action="acknowledged", note=note))
        self.alarms = [a for a in self.alarms if a.alarm_id not in cleared]
        return cleared

    def _raw_frames(self) -> list[str]:
        if self.pen is None:
            return []
        frames = [f for f in self.pen.dump_frames() if f["dir"] == "to_host"][-3:]
        return [f["hex"] for f in frames]

    def refuse(self, action: act.Action, why: str) -> None:
        """An action the state does not allow: said, journaled, nothing else done (S9, S10)."""
        from controller.journal.records import ActionRefused

        # The reason may quote what was typed: keep it within what the record holds (S9).
        why = why.encode("utf-8", "backslashreplace").decode("utf-8")
        if len(why) > REASON_MAX:
            why = f"{why[: REASON_MAX - 40]}... ({len(why)} characters in all)"
        self.last_refusal = f"{action.name}: {why}"
        self.record(ActionRefused(action=action.name, reason=why))
