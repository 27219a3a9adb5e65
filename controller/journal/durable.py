"""The few file-system operations the journal needs, each durable before it returns.

`os.fsync` is looked up at call time so fault-injection tests can make it fail.
"""

from __future__ import annotations

import os
from pathlib import Path


def write_all(fd: int, data: bytes) -> None:
    """One write in practice; loops only if the kernel accepts part of it (then usually errors)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def fsync_dir(directory: Path) -> None:
    """Makes a new or renamed directory entry durable (fsync on the file alone does not)."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_dirs(directory: Path, mode: int = 0o700) -> None:
    """Creates missing parents too, fsyncing each parent whose entries changed."""
    missing: list[Path] = []
    path = directory
    while not path.exists():
        missing.append(path)
        path = path.parent
    for path in reversed(missing):
        try:
            path.mkdir(mode=mode)
        except FileExistsError:
            continue
        fsync_dir(path.parent)


def write_file_atomic(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Temp file, fsync, rename over, fsync the directory: readers see the old or the new file."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        write_all(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    fsync_dir(path.parent)
