"""The traffic trace for engineers: every frame both ways as one JSON object a line (docs/link.md).

Written after the bytes went out, so tracing never delays a stop. In real time the lines are made
and written by a thread of their own (`TraceThread`): a slow disk or a full pipe then holds back
only the trace, never the link's lock, the port or a STOP from another thread (S4).
"""

from __future__ import annotations

import json
import os
import queue
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

from firmware_bridge.link.stats import FrameRecord

BATCH_S = 0.05  # the trace thread writes what piled up at most 20 times a second
# How far the trace may fall behind a file that takes nothing (a full pipe, a hung disk): writes
# queued, each at least one frame; about 100 s of a pen streaming telemetry at 100 Hz. Past it the
# trace ends, so a stuck file never costs the link's process memory without bound.
MAX_BEHIND = 10_000
_BEHIND = object()


class TraceError(Exception):
    """The trace file cannot be written; the message names it and what to check."""


class Trace(Protocol):
    """What a driver writes frame records to: a TraceWriter, or a TraceThread around one."""

    def write(self, records: Iterable[FrameRecord]) -> None: ...

    def close(self) -> None: ...


class TraceWriter:
    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        try:
            self._file = self.path.open("w", encoding="utf-8")
        except OSError as exc:
            raise TraceError(
                f"cannot write the trace file {self.path}: {exc.strerror}. Nothing was sent to "
                "the pen. Choose a writable path for --trace."
            ) from exc

    def write(self, records: Iterable[FrameRecord]) -> None:
        lines = [json.dumps(r.as_dict(), separators=(",", ":")) + "\n" for r in records]
        if lines and not self._file.closed:
            self._file.writelines(lines)
            self._file.flush()

    def write_line(self, line: dict[str, str]) -> None:
        if not self._file.closed:
            self._file.write(json.dumps(line) + "\n")
            self._file.flush()

    def close(self) -> None:
        self._file.close()


class TraceThread:
    """A TraceWriter fed from any thread without waiting: `write` only queues the records.

    Records keep the order in which `write` was called. A file that fails (a full disk) ends the
    trace there; one that falls MAX_BEHIND writes behind ends it too, with a last line
    `{"trace_ended": why}` once the file takes lines again. The link goes on either way. `close`
    writes what is queued, then closes the file.
    """

    def __init__(self, writer: TraceWriter) -> None:
        self.path = writer.path
        self._writer = writer
        self._queue: queue.SimpleQueue[list[FrameRecord] | object | None] = queue.SimpleQueue()
        self._ended = False  # set by the writing side only: nothing more is queued
        self._thread = threading.Thread(target=self._run, name="penctl-link-trace", daemon=True)
        self._thread.start()

    def write(self, records: Iterable[FrameRecord]) -> None:
        batch = list(records)
        if not batch or self._ended:
            return
        if self._queue.qsize() >= MAX_BEHIND:
            self._ended = True
            self._queue.put(_BEHIND)
            return
        self._queue.put(batch)

    def close(self, timeout_s: float = 2.0) -> None:
        self._queue.put(None)
        self._thread.join(timeout_s)
        if not self._thread.is_alive():
            self._writer.close()

    def _run(self) -> None:
        failed = False
        while True:
            first = self._queue.get()
            if first is not None:
                time.sleep(BATCH_S)
            batches = [first]
            while not self._queue.empty() and batches[-1] is not None:
                batches.append(self._queue.get_nowait())
            records = [r for batch in batches if isinstance(batch, list) for r in batch]
            if not failed:
                failed = self._write(records, ended=_BEHIND in batches)
            if batches[-1] is None:
                return

    def _write(self, records: list[FrameRecord], *, ended: bool) -> bool:
        """Write, and say whether the trace has ended (the file failed, or it fell behind)."""
        try:
            if records:
                self._writer.write(records)
            if ended:
                self._writer.write_line(
                    {"trace_ended": f"the trace file fell {MAX_BEHIND} writes behind"}
                )
        except (OSError, ValueError):
            return True
        return ended
