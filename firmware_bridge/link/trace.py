"""The traffic trace for engineers: every frame both ways as one JSON object a line (docs/link.md).

Written by the link's driver after the bytes went out, so tracing never delays a stop.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

from firmware_bridge.link.stats import FrameRecord


class TraceError(Exception):
    """The trace file cannot be written; the message names it and what to check."""


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
