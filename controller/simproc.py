"""The bundled simulator in its own process, reached like hardware through a pty.

Used by `penctl run` (and tests) so the host side exercises the real path: a separate process, a
real pty, pyserial. The process is `python -m simulator`, so it loads the simulator and nothing of
the controller; it prints exactly one `listening: <path>` line when it is ready.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO

READY_TIMEOUT_S = 15.0


class SimulatorError(Exception):
    """The simulator did not start; the message carries what it printed."""


@contextmanager
def simulator_process(extra_args: Sequence[str] = ()) -> Iterator[str]:
    """Start `python -m simulator --pty-link ...`; yield the port path; SIGTERM it on exit."""
    with tempfile.TemporaryDirectory(prefix="penctl-sim-") as tmp:
        link = Path(tmp) / "pen"
        command = [sys.executable, "-m", "simulator", "--pty-link", str(link)]
        proc = subprocess.Popen(
            [*command, *extra_args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            port = _wait_ready(proc)
            _drain(proc)
            yield port
        finally:
            _stop(proc)


def _drain(proc: subprocess.Popen[str]) -> None:
    """Read what the simulator prints for as long as it runs. A pipe nobody reads fills (64 KiB)
    and then blocks the simulator mid-write, so it stops answering the pen's port: the host
    would see a link lost (a write timeout) in the middle of a session."""
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            threading.Thread(target=_discard, args=(stream,), daemon=True).start()


def _discard(stream: IO[str]) -> None:
    for _ in stream:
        pass


def _wait_ready(proc: subprocess.Popen[str]) -> str:
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], READY_TIMEOUT_S)
    line = proc.stdout.readline() if ready else ""
    if not line.startswith("listening: "):
        _stop(proc)
        stderr = proc.stderr.read() if proc.stderr else ""
        raise SimulatorError(
            "the bundled simulator did not start "
            f"(exit code {proc.returncode}; it printed {line.strip()!r}; stderr: "
            f"{stderr.strip()[-500:]!r}). Run `penctl sim --pty-link /tmp/pen` to see why."
        )
    return line.removeprefix("listening: ").strip()


def _stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
