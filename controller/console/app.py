"""The practitioners' console: a Textual client of the controller, nothing more (ARCHITECTURE §1).

It reads `snapshot()` 15 times a second and sends actions with `submit()`; it holds no controller
state and never waits for the controller. Escape (STOP) and F1 (E-STOP) are app-level priority
bindings: they work on every screen, inside every dialog and while typing in a field, and they
go to the pen from the key handler itself (`Controller.submit` writes a stop before it queues
anything), so a slow terminal never delays a stop. docs/console.md lists every key.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.driver import Driver
from textual.widgets import ContentSwitcher, Footer, Static

from controller import actions as act
from controller.console.collector import Collector
from controller.console.dialogs import JournalScreen, ReasonScreen
from controller.console.forms import (
    AftercareForm,
    ConsentForm,
    IntakeForm,
    PreparationForm,
    Summary,
)
from controller.console.stopkeys import with_stop_keys
from controller.console.widgets import AlarmBanner, Cached, DeviceBar, TreatmentView
from controller.core import Controller
from controller.machines import Step
from controller.snapshot import Snapshot
from controller.steps import EXPECTATIONS
from firmware_bridge.protocol import StopReason

REFRESH_HZ = 15
STOP_KEY = "escape"
ESTOP_KEY = "f1"
_PANES = {
    Step.INTAKE: "intake",
    Step.CONSENT: "consent",
    Step.PREPARATION: "preparation",
    Step.TREATMENT: "treatment",
    Step.AFTERCARE: "aftercare",
    Step.CLOSED: "summary",
    Step.REFUSED: "summary",
    Step.ABORTED: "summary",
}
# Footer actions and the controller action each stands for (for `allowed()`).
_GUARDS = {
    "arm": "arm",
    "start": "start",
    "pause": "pause",
    "next_area": "select_area",
    "finish": "finish_treatment",
    "acknowledge": "acknowledge",
    "new_intake": "intake",
    "reconnect": "connect",
    "depth_up": "adjust",
    "depth_down": "adjust",
    "speed_up": "adjust",
    "speed_down": "adjust",
}


_DEPTH_KEYS = Binding.Group("Depth ±", compact=True)
_SPEED_KEYS = Binding.Group("Speed ±", compact=True)


class PenConsole(App[None]):
    CSS_PATH = "console.tcss"
    TITLE = "penctl"
    ESCAPE_TO_MINIMIZE = False
    # Every key of the treatment step must fit one footer line at 150 columns: the arrows share
    # a label each, and Textual's command palette (themes, screenshots) has no place mid-session.
    ENABLE_COMMAND_PALETTE = False
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(STOP_KEY, "stop", "STOP", priority=True),
        Binding(ESTOP_KEY, "estop", "E-STOP", priority=True),
        Binding("f2", "acknowledge", "Acknowledge", priority=True),
        Binding("f3", "journal", "Journal", priority=True),
        Binding("up", "depth_up", "Depth +", group=_DEPTH_KEYS),
        Binding("down", "depth_down", "Depth −", group=_DEPTH_KEYS),
        Binding("left", "speed_down", "Speed −", group=_SPEED_KEYS),
        Binding("right", "speed_up", "Speed +", group=_SPEED_KEYS),
        Binding("a", "arm", "Apply"),
        Binding("s", "start", "Start"),
        Binding("p", "pause", "Pause"),
        Binding("n", "next_area", "Next area"),
        Binding("f", "finish", "Finish"),
        Binding("i", "new_intake", "New intake"),
        Binding("r", "reconnect", "Reconnect"),
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ]

    def __init__(self, controller: Controller, *, journal_dir: Path | None = None) -> None:
        super().__init__()
        self.controller = controller
        self.journal_dir = journal_dir
        self._last: Snapshot | None = None
        self._alarm_ids: set[str] = set()
        self._said = ""  # the console's own last "not now" line, until the next accepted action
        self._collector = Collector()

    def compose(self) -> ComposeResult:
        ctl = self.controller
        yield AlarmBanner("", id="alarms")
        yield DeviceBar("", id="device")
        yield Cached("", id="refusal")
        with ContentSwitcher(initial="intake", id="panes"):
            yield IntakeForm(ctl.library, self.send, id="intake")
            yield ConsentForm(self.send, EXPECTATIONS, id="consent")
            yield PreparationForm(self.send, id="preparation")
            yield TreatmentView(id="treatment")
            yield AftercareForm(self.send, id="aftercare")
            with Vertical(id="summary"):
                yield Summary("")
        yield Static("Esc: STOP the needle · F1: E-STOP · F2: acknowledge", id="keys-hint")
        yield Footer()

    def get_driver_class(self) -> type[Driver]:
        """In a real terminal the stop keys are sent from the input thread (stopkeys.py)."""
        return with_stop_keys(super().get_driver_class())

    def stop_key_actions(self) -> dict[str, Callable[[], None]]:
        return {STOP_KEY: self.action_stop, ESTOP_KEY: self.action_estop}

    def on_mount(self) -> None:
        self._collector.hold_full_collections()  # collector.py: a full collection holds a stop
        self.set_interval(1 / REFRESH_HZ, self.refresh_view)
        self.refresh_view()
        self.query_one("#patient").focus()

    def on_unmount(self) -> None:
        self._collector.release()

    # ---- the view ------------------------------------------------------------------------------

    def refresh_view(self) -> None:
        snap = self.controller.snapshot()
        if snap is self._last:
            return
        previous, self._last = self._last, snap
        self.query_one(AlarmBanner).show(snap)
        self.query_one(DeviceBar).show(snap)
        refusal = f"⚠ {snap.last_refusal}" if snap.last_refusal else self._said
        self.query_one("#refusal", Cached).paint(refusal)
        self._show_pane(_PANES[snap.step])
        if snap.step is Step.TREATMENT:
            self.query_one(TreatmentView).show(snap)
        elif snap.step is Step.PREPARATION:
            self.query_one(PreparationForm).show(snap)
        elif _PANES[snap.step] == "summary":
            self.query_one(Summary).show(snap)
        self._ring_for_new_high_alarms(snap)
        self._collector.collect_if_piled_up(snap.device)
        if previous is None or (previous.step, previous.device, previous.area) != (
            snap.step,
            snap.device,
            snap.area,
        ):
            self.refresh_bindings()

    def _show_pane(self, pane: str) -> None:
        """Switch panes with the workflow; the new pane's first field takes the keyboard."""
        switcher = self.query_one("#panes", ContentSwitcher)
        if switcher.current == pane:
            return
        switcher.current = pane
        self._collector.collect_between_steps(session_over=pane == "summary")
        self.screen.set_focus(None)
        widget = switcher.get_child_by_id(pane)
        focusable = [w for w in widget.query("*") if w.focusable]
        if focusable:
            focusable[0].focus()

    def _ring_for_new_high_alarms(self, snap: Snapshot) -> None:
        ids = {a.alarm_id for a in snap.alarms}
        if any(a.priority == "high" and a.alarm_id not in self._alarm_ids for a in snap.alarms):
            self.bell()
        self._alarm_ids = ids

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The footer shows the keys of the step at hand. A key the controller would refuse now
        stays live, so pressing it says why (from `allowed()`), never nothing."""
        guard = _GUARDS.get(action)
        if guard is None:
            return True
        if action == "acknowledge":
            return True
        if action == "reconnect":
            return self.controller.allowed()["connect"].ok
        if action == "new_intake":
            return self.controller.step in (Step.CLOSED, Step.REFUSED, Step.ABORTED)
        return self.controller.step is Step.TREATMENT

    # ---- sending -------------------------------------------------------------------------------

    def send(self, action: act.Action) -> None:
        """Submit if the controller allows it now; otherwise say why (S10), sending nothing."""
        permission = self.controller.allowed()[action.name]
        if not permission.ok:
            self._said = f"⚠ {action.name}: {permission.why}"
            self.query_one("#refusal", Cached).paint(self._said)
            self.notify(
                permission.why,
                title=f"{action.name.replace('_', ' ')}: not now",
                severity="warning",
            )
            return
        self._said = ""
        self.controller.submit(action)

    def action_stop(self) -> None:
        self.controller.submit(act.Stop(StopReason.OPERATOR))

    def action_estop(self) -> None:
        self.controller.submit(act.EStop())

    def action_acknowledge(self) -> None:
        self.send(act.Acknowledge(note="acknowledged at the console"))

    def action_reconnect(self) -> None:
        self.send(act.Connect())

    def action_journal(self) -> None:
        if isinstance(self.screen, JournalScreen):
            self.pop_screen()
        else:
            self.push_screen(JournalScreen(self.controller))

    def action_arm(self) -> None:
        self.send(act.Arm())

    def action_start(self) -> None:
        self.send(act.Start())

    def action_pause(self) -> None:
        self.send(act.Pause())

    def action_finish(self) -> None:
        self.send(act.FinishTreatment())

    def action_new_intake(self) -> None:
        if self.controller.step in (Step.CLOSED, Step.REFUSED, Step.ABORTED):
            self._show_pane("intake")

    def action_next_area(self) -> None:
        snap = self.controller.snapshot()
        if snap.area is not None:
            self.send(act.CompleteArea())
        remaining = [a.area for a in snap.areas if not a.done and a.area != snap.area]
        if remaining:
            self.send(act.SelectArea(area=remaining[0]))

    def action_depth_up(self) -> None:
        self._step_depth(+1)

    def action_depth_down(self) -> None:
        self._step_depth(-1)

    def action_speed_up(self) -> None:
        self._step_speed(+1)

    def action_speed_down(self) -> None:
        self._step_speed(-1)

    def _step_depth(self, direction: int) -> None:
        snap = self.controller.snapshot()
        if snap.proposed is None or snap.limits is None:
            self.send(act.Adjust())  # refused with the reason: no area yet
            return
        depth = snap.proposed.depth_um + direction * snap.limits.depth_step_um
        soft = snap.limits.depth_soft_max
        if direction > 0 and soft is not None and depth > soft.value >= snap.proposed.depth_um:
            prompt = (
                f"{depth / 1000:.2f} mm is past the soft ceiling of "
                f"{soft.value / 1000:.2f} mm ({soft.sentence}). Give the reason to go deeper:"
            )

            def confirmed(reason: str | None) -> None:
                if reason:
                    self.send(act.Adjust(depth_um=depth, confirm_reason=reason))

            self.push_screen(ReasonScreen(prompt), confirmed)
            return
        reason = snap.proposed.confirm_reason if soft and depth > soft.value else None
        self.send(act.Adjust(depth_um=depth, confirm_reason=reason))

    def _step_speed(self, direction: int) -> None:
        snap = self.controller.snapshot()
        if snap.proposed is None or snap.limits is None:
            self.send(act.Adjust())
            return
        speed = snap.proposed.speed_sps + direction * snap.limits.speed_step_sps
        self.send(act.Adjust(speed_sps=speed, confirm_reason=snap.proposed.confirm_reason))

    async def action_quit(self) -> None:
        self.controller.submit(act.Stop(StopReason.SESSION_END))
        self.exit()
