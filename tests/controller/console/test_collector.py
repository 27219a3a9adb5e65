"""S4: a stop key never waits behind a full garbage collection while a needle can run."""

from __future__ import annotations

import gc
import weakref
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

from controller.console.collector import Collector
from controller.machines import Device


@contextmanager
def _full_collections() -> Iterator[list[int]]:
    seen: list[int] = []

    def count(phase: str, info: dict[str, int]) -> None:
        if phase == "stop" and info["generation"] == 2:
            seen.append(1)

    gc.callbacks.append(count)
    try:
        yield seen
    finally:
        gc.callbacks.remove(count)


def _churn() -> None:
    """What a long step does: objects that live a while (old enough to be promoted), then die
    in cycles, as widgets a footer replaces do."""
    alive: deque[list[object]] = deque(maxlen=20_000)
    for _ in range(200_000):
        cycle: list[object] = []
        cycle.append(cycle)
        alive.append(cycle)


def test_s4_no_automatic_full_collection_while_the_console_holds_them() -> None:
    with _full_collections() as before:
        _churn()
    assert before, "the interpreter's own schedule runs full collections under this churn"
    collector = Collector()
    collector.hold_full_collections()
    try:
        with _full_collections() as held:
            _churn()
        assert not held
    finally:
        collector.release()


def test_s4_piled_up_garbage_is_collected_only_where_the_needle_cannot_start() -> None:
    collector = Collector(piled_up=2)
    collector.hold_full_collections()
    try:
        _churn()
        assert gc.get_count()[2] >= 2
        with _full_collections() as running:
            for device in (Device.RUNNING, Device.ARMED, Device.PAUSED):
                collector.collect_if_piled_up(device)
        assert not running
        with _full_collections() as idle:
            collector.collect_if_piled_up(Device.IDLE)
        assert idle and gc.get_count()[2] == 0
    finally:
        collector.release()


class _Widget:
    """Stands for a widget a later screen replaces: it refers to itself (parent and child)."""

    def __init__(self) -> None:
        self.me = self


def test_what_a_session_froze_and_let_go_is_freed_when_the_session_ends() -> None:
    collector = Collector()
    collector.hold_full_collections()
    try:
        widget = _Widget()
        gone = weakref.ref(widget)
        collector.collect_between_steps(session_over=False)  # frozen while alive
        del widget
        collector.collect_between_steps(session_over=False)
        assert gone() is not None  # frozen: out of reach of the collector until the session ends
        collector.collect_between_steps(session_over=True)
        assert gone() is None
    finally:
        collector.release()
