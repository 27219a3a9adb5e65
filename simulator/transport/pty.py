"""A pseudo-terminal: the host opens the slave side with pyserial exactly as it opens a USB port.

The simulator holds the master end (and keeps the slave open too, so the pty outlives host
reconnects). Both ends are raw: no echo, no line editing, no CR/LF translation. `link` makes a
stable symlink to the slave, e.g. /tmp/pen -> /dev/pts/7, that `--pty-link` prints; an unplug closes
the pty and removes the link (the device is gone, as /dev/serial/by-id entries go), a re-plug makes
a new pty behind the same link.
"""

from __future__ import annotations

import contextlib
import os
import tty
from pathlib import Path

from simulator.pen import SimulatedPen


class PtyError(OSError):
    """The pty or its link could not be made; the message says which path and why."""


class PtyPort:
    def __init__(self, pen: SimulatedPen, link: Path | None = None) -> None:
        self._pen = pen
        self.link = link
        self._master = -1
        self._slave = -1
        self.path = ""
        self.dropped_bytes = 0
        if link is not None:
            _check_link(link)
        self._open()
        pen.connect(self)

    @property
    def url(self) -> str:
        """What a host passes to pyserial's serial_for_url."""
        return str(self.link) if self.link is not None else self.path

    def fds(self) -> list[int]:
        return [self._master] if self._master >= 0 else []

    def on_readable(self, fd: int) -> None:
        try:
            data = os.read(fd, 4096)
        except BlockingIOError:
            return
        except OSError:
            return
        if data:
            self._pen.receive(data)

    # ---- PenPort -------------------------------------------------------------------------------

    def send(self, data: bytes) -> None:
        if self._master < 0:
            return
        view = memoryview(data)
        while view:
            try:
                written = os.write(self._master, view)
            except BlockingIOError:
                self.dropped_bytes += len(view)  # nobody is reading: a UART drops bytes too
                return
            except OSError:
                return
            view = view[written:]

    def unplug(self) -> None:
        self._close_fds()
        self._remove_link()

    def replug(self) -> None:
        if self._master < 0:
            self._open()

    def close(self) -> None:
        self._pen.disconnect(self)
        self._close_fds()
        self._remove_link()

    # ---- internals -----------------------------------------------------------------------------

    def _open(self) -> None:
        master, slave = os.openpty()
        tty.setraw(master)
        tty.setraw(slave)
        os.set_blocking(master, False)
        self._master, self._slave = master, slave
        self.path = os.ttyname(slave)
        if self.link is not None:
            temporary = self.link.with_name(f".{self.link.name}.{os.getpid()}.tmp")
            with contextlib.suppress(FileNotFoundError):
                temporary.unlink()
            os.symlink(self.path, temporary)
            os.replace(temporary, self.link)

    def _close_fds(self) -> None:
        for fd in (self._master, self._slave):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._master = self._slave = -1

    def _remove_link(self) -> None:
        if self.link is not None and self.link.is_symlink():
            with contextlib.suppress(FileNotFoundError):
                self.link.unlink()


def _check_link(link: Path) -> None:
    if link.exists() and not link.is_symlink():
        raise PtyError(
            f"{link} exists and is not a symlink; choose another --pty-link path or remove it"
        )
    if not link.parent.is_dir():
        raise PtyError(f"{link.parent} is not a directory; --pty-link needs an existing directory")
