"""Helpers for tests that run `penctl sim` in its own process and talk to it over a real port."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import serial

from firmware_bridge.protocol import Ack, Decoder, Frame, Hello, Identify, Message, Nak, encode


def _penctl() -> list[str]:
    script = Path(sys.executable).with_name("penctl")
    return [str(script)] if script.exists() else [sys.executable, "-m", "controller.cli"]


@contextmanager
def penctl_sim(*args: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    proc = subprocess.Popen(
        [*_penctl(), "sim", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 20)
        line = proc.stdout.readline() if ready else ""
        assert line.startswith("listening: "), (line, proc.stderr.read() if proc.poll() else "")
        yield proc, line.removeprefix("listening: ").strip()
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()
        proc.stderr.close()


class RealHost:
    """A host loop over a real pyserial port: write a frame, read until its reply."""

    def __init__(self, port: serial.SerialBase) -> None:
        self.port = port
        self.decoder = Decoder()
        self.seq = 0
        self.received: list[Message] = []

    def send(self, message: Message) -> tuple[int, int]:
        """Write one frame; returns its seq and the time.monotonic_ns() just before writing."""
        seq, self.seq = self.seq, self.seq + 1
        sent_ns = time.monotonic_ns()
        self.port.write(encode(message, seq))
        return seq, sent_ns

    def pump(self) -> None:
        for item in self.decoder.feed(self.port.read(max(1, self.port.in_waiting))):
            if isinstance(item, Frame):
                self.received.append(item.message)

    def request(self, message: Message, timeout_s: float = 2.0) -> Ack | Nak:
        seq, _ = self.send(message)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self.pump()
            for m in self.received:
                if (isinstance(m, Ack) and m.ack_seq == seq) or (
                    isinstance(m, Nak) and m.nak_seq == seq
                ):
                    return m
        raise AssertionError(f"no reply to {message} within {timeout_s} s")

    def identify(self) -> Identify:
        """Wait out the boot, then HELLO (retried while the pen still boots)."""
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if isinstance(self.request(Hello(1)), Ack):
                break
            time.sleep(0.05)
        end = time.monotonic() + 1
        while time.monotonic() < end:
            self.pump()
            found = [m for m in self.received if isinstance(m, Identify)]
            if found:
                return found[-1]
        raise AssertionError("no IDENTIFY after the HELLO was acknowledged")
