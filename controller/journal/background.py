"""A journal chore run off the append's path: head.json's periodic rewrite (docs/journal.md §5).

Why a thread: a periodic checkpoint is durable in the session file once the append that made it
due returns; the head.json rewrite that follows (temp file, fsync, rename, directory fsync) costs
two more fsyncs that the append's caller need not wait for. At most one chore is in flight, and
whatever it raised is kept for the writer's own thread to raise: the writer latches, and the
controller hears of the fault, where it hears of every other journal fault, never on this thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable


class Chore:
    """`work` running on a thread of its own; `wait()` joins it and gives what it raised."""

    def __init__(self, work: Callable[[], None], name: str):
        self.error: BaseException | None = None
        self._work = work
        self._thread = threading.Thread(target=self._run, name=name)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._work()
        except BaseException as exc:  # raised again by the writer, on its own thread
            self.error = exc

    @property
    def done(self) -> bool:
        return not self._thread.is_alive()

    def wait(self) -> BaseException | None:
        self._thread.join()
        return self.error
