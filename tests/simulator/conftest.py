"""Fixtures for the simulator's tests (the helpers live in testbench.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.simulator.testbench import Bench, make_bench


@pytest.fixture
def bench() -> Iterator[Bench]:
    b = make_bench()
    yield b
    b.port.close()
    b.pen.close()
