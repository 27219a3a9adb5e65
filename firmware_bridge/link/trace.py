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

    def close(self) -> None:
        self._file.close()


class TraceThread:
    """A TraceWriter fed from any thread without waiting: `write` only queues the records.

    Records keep the order in which `write` was called. A file that fails (a full disk) ends the
    trace there; the link goes on. `close` writes what is queued, then closes the file.
    """

    def __init__(self, writer: TraceWriter) -> None:
        self.path = writer.path
        self._writer = writer
        self._queue: queue.SimpleQueue[list[FrameRecord] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="penctl-link-trace", daemon=True)
        self._thread.start()

    def write(self, records: Iterable[FrameRecord]) -> None:
        batch = list(records)
        if batch:
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
            records = [r for batch in batches if batch is not None for r in batch]
            if records and not failed:
                try:
                    self._writer.write(records)
                except (OSError, ValueError):
                    failed = True
            if batches[-1] is None:
                return
