"""Reading a journal file only if it is a regular file: shared by recovery and the verifier.

Opening a FIFO for reading blocks until a writer appears and a device may act on being opened, so
anything but a regular file under a journal file's name is refused without being opened.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path


class NotRegularFile(Exception):
    """`what` says what the file is instead, e.g. "a FIFO"."""

    def __init__(self, path: Path, what: str):
        super().__init__(f"{path} is {what}, not a regular file")
        self.path = path
        self.what = what


def file_kind(mode: int) -> str | None:
    """None for a regular file, else what the file is instead."""
    if stat.S_ISREG(mode):
        return None
    kinds = (
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    )
    return next((what for test, what in kinds if test(mode)), "not a regular file")


def read_regular(path: Path) -> bytes:
    """The bytes of a regular file. Anything else raises `NotRegularFile` without being opened;
    the descriptor is checked again in case the file was swapped in between. An OSError names
    the file (os.read alone does not)."""
    what = file_kind(os.stat(path).st_mode)
    if what is not None:
        raise NotRegularFile(path, what)
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        what = file_kind(os.fstat(fd).st_mode)
        if what is not None:
            raise NotRegularFile(path, what)
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError as exc:
        exc.filename = exc.filename or str(path)
        raise
    finally:
        os.close(fd)
