"""Opening the pen's port through pyserial, so hardware, ptys and the simulator look alike.

Every URL pyserial knows works: a device path (/dev/ttyUSB0, a pty such as the simulator's
--pty-link), socket://host:port, loop://.
"""

from __future__ import annotations

import serial

DEFAULT_BAUDRATE = 115_200


class PortError(Exception):
    """The port could not be opened or used; the message says what to check."""


def open_port(
    url: str, *, baudrate: int = DEFAULT_BAUDRATE, timeout_s: float = 0.02
) -> serial.SerialBase:
    try:
        return serial.serial_for_url(url, baudrate=baudrate, timeout=timeout_s, write_timeout=1.0)
    except (serial.SerialException, ValueError, OSError) as exc:
        raise PortError(
            f"could not open the pen's port {url!r} ({exc}). Nothing was sent. Check that the pen "
            "is connected and switched on, and that the path is right: a device such as "
            "/dev/ttyUSB0, a simulator's pty link, or socket://HOST:PORT."
        ) from exc
