"""STOP and E-STOP sent from the terminal's input thread, ahead of the console's message queue.

Textual reads the terminal in a thread of its own and hands each key to the app's asyncio loop;
the key then waits behind whatever that loop is doing (laying out and painting a 15 Hz screen, the
messages of every widget update). Measured in a real terminal with the pen streaming at 100 Hz,
that wait was 25-60 ms at the median and over 150 ms at the tail. A stop must not queue behind
a redraw (ARCHITECTURE: a slow terminal never delays a stop), so the driver class the console
runs with checks each key as the input thread parses it: a stop key is sent to the pen right
there (`Controller.submit` writes it before anything is queued, and is safe from any thread)
and goes no further. Every other key reaches the app as before.

Headless runs (`App.run_test`, Pilot) have no input thread; there the app's priority bindings
for the same keys do the same job, and a real terminal never reaches those bindings for them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from textual import events, messages
from textual.driver import Driver


def with_stop_keys(base: type[Driver]) -> type[Driver]:
    """`base` (the terminal driver Textual would pick) that sends the stop keys itself."""

    class StopKeysFirst(base):  # type: ignore[valid-type,misc]
        def __init__(self, app: Any, **kwargs: Any) -> None:
            super().__init__(app, **kwargs)
            self._stop_keys: Mapping[str, Callable[[], None]] = app.stop_key_actions()

        def process_message(self, message: messages.Message) -> None:
            """Runs in the input thread, once per parsed key or mouse event."""
            if isinstance(message, events.Key):
                send = self._stop_keys.get(message.key)
                if send is not None:
                    send()
                    return
            super().process_message(message)

    StopKeysFirst.__name__ = StopKeysFirst.__qualname__ = f"StopKeysFirst{base.__name__}"
    return StopKeysFirst
