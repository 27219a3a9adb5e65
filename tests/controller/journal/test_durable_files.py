"""The journal's file-system steps (controller/journal/durable.py) at their edges: a write the
kernel takes in part, a directory another process creates first, the modes files are made with."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from controller.journal.durable import fsync_dir, make_dirs, write_all, write_file_atomic


def test_s7_a_write_the_kernel_accepts_only_in_part_is_completed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_write = os.write

    def five_bytes_at_a_time(fd: int, data: bytes | memoryview) -> int:
        return real_write(fd, bytes(data[:5]))

    monkeypatch.setattr(os, "write", five_bytes_at_a_time)
    path = tmp_path / "record"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        write_all(fd, b"0123456789abcdefghij-")
    finally:
        os.close(fd)
    assert path.read_bytes() == b"0123456789abcdefghij-"


def test_a_directory_another_process_creates_first_does_not_stop_the_ones_below_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race make_dirs allows for: between its look and its mkdir, someone else made `a`."""
    real_mkdir = Path.mkdir
    target = tmp_path / "a" / "b" / "c"

    def raced(self: Path, mode: int = 0o777, *args: object, **kwargs: object) -> None:
        if self == tmp_path / "a":
            real_mkdir(self, mode)
            raise FileExistsError(self)
        real_mkdir(self, mode)

    monkeypatch.setattr(Path, "mkdir", raced)
    make_dirs(target)
    assert target.is_dir()


def test_fsync_dir_refuses_a_path_that_is_not_a_directory(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.write_bytes(b"x")
    with pytest.raises(NotADirectoryError):
        fsync_dir(plain)


def test_files_written_atomically_are_private_unless_a_mode_is_given(tmp_path: Path) -> None:
    old_umask = os.umask(0)
    try:
        write_file_atomic(tmp_path / "private", b"secret")
        write_file_atomic(tmp_path / "public", b"key", mode=0o644)
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE((tmp_path / "private").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "public").stat().st_mode) == 0o644
    assert (tmp_path / "private").read_bytes() == b"secret"
