"""Fixtures for the journal tests."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

SHM = Path("/dev/shm")


@pytest.fixture
def page_cache_dir(tmp_path: Path) -> Iterator[Path]:
    """A directory on tmpfs when there is one, else `tmp_path`.

    For tests about what a *process* crash leaves (SIGKILL, torn tails the test writes itself) the
    page cache is the whole story: SIGKILL never loses data the kernel accepted, and fsync only
    matters for power loss, which these tests simulate explicitly. On tmpfs fsync costs nothing, so
    these tests stay fast on a loaded machine whose disk is busy with everyone else's fsyncs.
    """
    if SHM.is_dir():
        try:
            directory = Path(tempfile.mkdtemp(prefix="penctl-journal-", dir=SHM))
        except OSError:
            yield tmp_path
            return
        try:
            yield directory
        finally:
            shutil.rmtree(directory, ignore_errors=True)
    else:
        yield tmp_path
