"""S4: the terminal driver that sends the stop keys from the input thread (stopkeys.py), on its own.

test_console.py drives the whole console with it; here the wrapper meets a plain Textual driver,
so what it adds (the stop keys taken first) and what it must keep (Textual's options, every other
key) are checked in isolation and fast.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from textual import events
from textual.app import App
from textual.drivers.headless_driver import HeadlessDriver

from controller.console.stopkeys import with_stop_keys


class _KeysApp(App[None]):
    """An app with the console's hook: the keys the driver sends itself, and what else arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[str] = []
        self.reached: list[str] = []

    def stop_key_actions(self) -> dict[str, Callable[[], None]]:
        return {"escape": lambda: self.sent.append("STOP"), "f1": lambda: self.sent.append("ESTOP")}

    async def _post_message(self, message: object) -> bool:  # where the driver delivers keys
        if isinstance(message, events.Key):
            self.reached.append(message.key)
        return True


async def test_s4_the_stop_keys_are_sent_by_the_driver_and_every_other_key_reaches_the_app() -> (
    None
):
    app = _KeysApp()
    driver = with_stop_keys(HeadlessDriver)(app)
    for key in ("escape", "q", "f1", "enter"):
        driver.process_message(events.Key(key, None))
    await asyncio.sleep(0.01)  # what reaches the app arrives through its event loop
    assert app.sent == ["STOP", "ESTOP"]
    assert app.reached == ["q", "enter"]


async def test_the_stop_key_driver_keeps_textuals_options_for_the_terminal() -> None:
    """Textual builds its driver with debug, mouse and size (App.run's options); the wrapper
    hands them on, so a console run without the mouse or at a fixed size gets just that."""
    driver = with_stop_keys(HeadlessDriver)(_KeysApp(), debug=True, mouse=False, size=(80, 24))
    assert (driver._debug, driver._mouse, driver._size) == (True, False, (80, 24))
    assert type(driver).__name__ == "StopKeysFirstHeadlessDriver"
