"""`serial_for_url("ptymaster://FD")`: a pty's master end, already open as file descriptor FD.

A pty's master has no path to open (opening /dev/ptmx makes a new pty), yet pymodbus's serial
server opens its port by URL. This handler lets the benchmark's pymodbus server hold the master end
of a pty, as `penctl sim` does, while the client opens the slave's path, as penctl's host does.
Found through `serial.protocol_handler_packages` (bench/link.py appends "pty_urls").
"""

from __future__ import annotations

import fcntl
import os

from serial import SerialException
from serial.serialposix import Serial as PosixSerial

PREFIX = "ptymaster://"


class Serial(PosixSerial):
    def open(self) -> None:
        if self.is_open:
            raise SerialException("Port is already open.")
        if not str(self.portstr).startswith(PREFIX):
            raise SerialException(f"expected {PREFIX}FD, got {self.portstr!r}")
        self.fd = os.dup(int(str(self.portstr).removeprefix(PREFIX)))
        os.set_blocking(self.fd, False)
        self.pipe_abort_read_r, self.pipe_abort_read_w = os.pipe()
        self.pipe_abort_write_r, self.pipe_abort_write_w = os.pipe()
        fcntl.fcntl(self.pipe_abort_read_r, fcntl.F_SETFL, os.O_NONBLOCK)
        fcntl.fcntl(self.pipe_abort_write_r, fcntl.F_SETFL, os.O_NONBLOCK)
        self._reconfigure_port(force_update=True)
        self.is_open = True
