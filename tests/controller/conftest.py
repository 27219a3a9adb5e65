"""The virtual-time World (world.py) as a fixture: a simulated pen, a link, a controller and a
journal, built fresh for each test and closed after it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.controller.world import World


@pytest.fixture
def world() -> Iterator[World]:
    built = World.build()
    try:
        yield built
    finally:
        built.close()
