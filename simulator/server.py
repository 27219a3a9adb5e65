"""The real-time loop behind `python -m simulator` (and `penctl sim`): one thread, one select, the
pen's clock and its port.

It waits on the port's file descriptors and a wake-up pipe until the clock's next due time, feeds
what arrives to the pen and runs what fell due. A signal handler (or another thread) stops it with
`Server.stop()`, which is async-signal-safe: it writes one byte to the pipe.
"""

from __future__ import annotations

import contextlib
import os
import select
import time
from collections.abc import Sequence
from typing import Protocol

from firmware_bridge.clock import NS_PER_S, RealClock


class Served(Protocol):
    """Something the loop watches: file descriptors, and what to do when one is readable."""

    def fds(self) -> list[int]: ...

    def on_readable(self, fd: int) -> None: ...

    def close(self) -> None: ...


class ServedPort(Served, Protocol):
    url: str


class Server:
    def __init__(self, clock: RealClock, port: ServedPort, also: Sequence[Served] = ()) -> None:
        """`also`: more things to watch beside the pen's port (the control socket)."""
        self.clock = clock
        self.port = port
        self._served: tuple[Served, ...] = (port, *also)
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._stopping = False

    @property
    def wake_fd(self) -> int:
        """Write a byte here (e.g. with signal.set_wakeup_fd) to interrupt the wait."""
        return self._wake_w

    def stop(self) -> None:
        self._stopping = True
        with contextlib.suppress(BlockingIOError, OSError):
            os.write(self._wake_w, b"\x00")

    def run(self) -> None:
        """Serve until `stop()`. Call `close()` afterwards (after undoing set_wakeup_fd)."""
        while not self._stopping:
            due = self.clock.next_due_ns()
            timeout = None if due is None else max(0, due - time.monotonic_ns()) / NS_PER_S
            owners = {fd: served for served in self._served for fd in served.fds()}
            watched = [self._wake_r, *owners]
            try:
                readable, _, _ = select.select(watched, [], [], timeout)
            except InterruptedError:
                readable = []
            for fd in readable:
                if fd == self._wake_r:
                    with contextlib.suppress(BlockingIOError):
                        os.read(self._wake_r, 512)
                else:
                    owners[fd].on_readable(fd)
            self.clock.run_due()

    def close(self) -> None:
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._wake_r = self._wake_w = -1
