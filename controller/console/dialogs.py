"""Dialogs: the soft-limit confirmation with its reason, and the journal of the current session.

Both are screens pushed over the console; the app's priority bindings (Esc STOP, F1 E-STOP)
still work inside them, including while the reason is being typed.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Footer, Input, Label, RichLog

if TYPE_CHECKING:
    from controller.core import Controller


class ReasonScreen(ModalScreen[str | None]):
    """S2: going past a soft limit needs a reason, journaled with the new setting."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("f4", "cancel", "Cancel")]

    def __init__(self, prompt: str) -> None:
        super().__init__()
        self._prompt = prompt

    def compose(self) -> ComposeResult:
        with Vertical(id="reason-box"):
            yield Label(self._prompt, id="reason-prompt")
            yield Input(placeholder="the clinical reason (journaled)", id="reason")
            with Horizontal():
                yield Button("Confirm", id="reason-ok", variant="warning")
                yield Button("Cancel (F4)", id="reason-cancel")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self._done(event.value)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "reason-ok":
            self._done(self.query_one("#reason", Input).value)
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def _done(self, text: str) -> None:
        reason = text.strip()
        if reason:
            self.dismiss(reason)
        else:
            self.notify("Give a reason, or cancel with F4.", severity="warning")


class JournalScreen(Screen[None]):
    """The current session's records as they are written, newest first (F3 closes it)."""

    def __init__(self, controller: Controller) -> None:
        super().__init__()
        self._controller = controller
        self._shown = -1

    def compose(self) -> ComposeResult:
        yield Label("Journal of the current session, newest first (F3: back)")
        yield RichLog(id="journal-log", wrap=True, markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.set_interval(0.5, self._refresh)
        self._refresh()

    def _refresh(self) -> None:
        session = self._controller.journal.session
        path = None if session is None else self._controller.journal.directory
        log = self.query_one(RichLog)
        if path is None:
            log.clear()
            log.write("No session is open.")
            return
        files = sorted(path.glob("session-*.jsonl"))
        if not files:
            return
        lines = files[-1].read_text(encoding="utf-8").splitlines()
        if len(lines) == self._shown:
            return
        self._shown = len(lines)
        log.clear()
        for line in reversed(lines):
            record = json.loads(line)
            data = ", ".join(f"{k}={v}" for k, v in record["data"].items() if k != "raw_frames")
            log.write(
                f"{record['seq']:>5} {record['utc'][11:19]} {record['actor']:<12} "
                f"{record['type']:<16} {data}"[:400]
            )
