"""Pen link latency over real ptys, measured side by side in one run.

1. Round trip: `PenClient.get_status()` against `penctl sim` in its own process, beside (a) a
   20-byte echo through a pty to an echo process (host side with raw os.read/os.write, and again
   through pyserial) and (b) pymodbus's RTU client doing `write_register` against a pymodbus RTU
   server process over a pty. Every peer is a separate process holding its pty's master end, as
   the simulator does; every host opens the slave. Rounds interleave the workloads so machine load
   hits all of them alike; the client is open only during its own rounds (its I/O thread would
   otherwise wake every 5 ms in the others'). Goal: our p99 within 2x the raw echo's p99. Two rows
   split our figure: the link's own view (call to ACK decoded on its I/O thread, from its
   statistics) and a bare protocol loop (encode, pyserial write, read until the ACK; no link
   thread) against a second simulator process, which is what the simulator and the pty cost.
2. Stop latency: `time.monotonic_ns()` just before `client.stop()` to the `t_ns` of the simulator's
   `motor_stopped` event in its events file (the same system-wide CLOCK_MONOTONIC, read in the
   simulator's process). Goals: p99 within 1 ms, max within 20 ms.
3. Lease-kill lateness: a host process renewing a 300 ms lease every 100 ms is SIGKILLed while the
   motor runs; from its last renewal's send time to `motor_stopped` (reason `lease_expired`), less
   the lease. Goal: the motor stopped within the lease + 50 ms of the host's last word.

`python bench/link.py` runs this bench alone; `make bench` (bench/run.py) runs it after the codec
bench. Results, raw samples included, go to bench/results/link.json. The same file is the child
processes' entry point (`--echo-peer FD`, `--modbus-peer FD`, `--lease-host URL`).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import random
import select
import signal
import subprocess
import sys
import tempfile
import time
import tty
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from controller.simproc import simulator_process
from firmware_bridge import PenClient, open_pen
from firmware_bridge.clock import NS_PER_MS
from firmware_bridge.protocol import (
    PROTOCOL_VERSION,
    Ack,
    Decoder,
    Frame,
    GetStatus,
    Hello,
    Message,
    Nak,
    encode,
)

HERE = Path(__file__).resolve()
RTT_ROUNDS = 10
RTT_PER_ROUND = 100  # so 1,000 round trips of each kind
RTT_WARMUP = 5  # per round, untimed
STOP_TRIALS = 250
LEASE_TRIALS = 24
LEASE_MS = 300
RENEW_MS = 100
DEPTH_UM, SPEED_SPS = 500, 100
ECHO_FRAME = bytes(range(1, 20)) + b"\x00"  # 20 bytes, about a command frame (ACK: 26)
BAUD = 115_200  # what penctl's port asks for; a pty ignores it
PEER_READY_S = 15.0

GOAL_RTT_RATIO = 2.0
GOAL_STOP_P99_MS = 1.0
GOAL_STOP_MAX_MS = 20.0
GOAL_LEASE_LATENESS_MS = 50.0

# How the workloads are labelled in the table and in link.json.
PENCTL = "penctl get_status"
ECHO_RAW = "raw echo (os.read/os.write)"
ECHO_PYSERIAL = "raw echo through pyserial"
MODBUS = "pymodbus RTU write_register"
BARE = "bare protocol loop get_status"
CORE = "link core round trip"  # not a workload: the link's own LinkStats.round_trips_ns


class BenchError(RuntimeError):
    """A peer or a child did not behave; the message says which and what it printed."""


# ---- statistics ---------------------------------------------------------------------------------


def percentile(samples: list[int], q: float) -> int:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(samples)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def summary(samples_ns: list[int]) -> dict[str, float]:
    """p50, p99 and max in microseconds, and the count."""
    return {
        "n": len(samples_ns),
        "p50_us": percentile(samples_ns, 50) / 1e3,
        "p99_us": percentile(samples_ns, 99) / 1e3,
        "max_us": max(samples_ns) / 1e3,
    }


# ---- child processes --------------------------------------------------------------------------


class _Lines:
    """Lines from a child's stdout pipe, read with a timeout (select on the raw descriptor)."""

    def __init__(self, proc: subprocess.Popen[bytes], what: str) -> None:
        assert proc.stdout is not None
        self._fd = proc.stdout.fileno()
        self._buffer = b""
        self._what = what

    def next(self, timeout_s: float) -> str | None:
        """The next line; None at end of file; BenchError when none came in time."""
        deadline = time.monotonic() + timeout_s
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._fd], [], [], left)[0]:
                raise BenchError(f"{self._what} printed nothing for {timeout_s:.1f} s")
            chunk = os.read(self._fd, 4096)
            if not chunk:
                if self._buffer:
                    line, self._buffer = self._buffer, b""
                    return line.decode()
                return None
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.decode()

    def expect(self, prefix: str, timeout_s: float) -> str:
        line = self.next(timeout_s)
        if line is None or not line.startswith(prefix):
            raise BenchError(
                f"{self._what} printed {line!r} instead of {prefix!r} (its stderr is above)"
            )
        return line

    def rest(self) -> list[str]:
        """Every line left, once the child has exited."""
        lines = []
        while (line := self.next(5.0)) is not None:
            lines.append(line)
        return lines


def _spawn(*args: str, pass_fds: tuple[int, ...] = ()) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, str(HERE), *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=None,  # the bench's own: a pipe nobody reads could fill and stall a child
        pass_fds=pass_fds,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def _end(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


@contextlib.contextmanager
def _peer(role: str) -> Iterator[tuple[int, str]]:
    """A pty whose master end is served by `role` in its own process; yields (slave fd, path)."""
    master, slave = os.openpty()
    tty.setraw(master)
    tty.setraw(slave)
    proc = _spawn(role, str(master), pass_fds=(master,))
    os.close(master)
    try:
        _Lines(proc, role).expect("ready", PEER_READY_S)
        yield slave, os.ttyname(slave)
    finally:
        os.close(slave)
        _end(proc)


def _echo_peer(master: int) -> int:
    """Echo every byte back at once, until the slave end goes away (EIO) or SIGTERM."""
    os.set_blocking(master, True)
    print("ready", flush=True)
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:
            return 0
        if not data:
            return 0
        os.write(master, data)


def _modbus_peer(master: int) -> int:
    """A pymodbus RTU server (device 1, 16 holding registers) on the pty's master end."""
    import asyncio

    import serial
    from pymodbus import FramerType
    from pymodbus.server import ModbusSerialServer
    from pymodbus.simulator import DataType, SimData, SimDevice

    serial.protocol_handler_packages.append("pty_urls")  # bench/pty_urls: ptymaster://FD
    device = SimDevice(
        id=1, simdata=[SimData(address=0, count=16, values=0, datatype=DataType.REGISTERS)]
    )

    async def serve() -> None:
        server = ModbusSerialServer(
            device, framer=FramerType.RTU, port=f"ptymaster://{master}", baudrate=BAUD
        )
        await server.serve_forever(background=True)
        print("ready", flush=True)
        await server.serving

    asyncio.run(serve())
    return 0


def _lease_host(url: str) -> int:
    """The host that dies: identify, renew the lease every RENEW_MS, start, and wait for SIGKILL.

    Prints `started` once the pen acknowledged START, then `lease T` after each renewal, T being
    `time.monotonic_ns()` just before the renewal was handed to the link (which writes it at once).
    """
    from firmware_bridge.link.errors import PenRefused
    from firmware_bridge.protocol import FaultCode

    client = open_pen(url)
    client.identify()
    with contextlib.suppress(PenRefused):  # the last host's lease lapsed: FAULTED(LEASE_EXPIRED)
        client.clear_fault(FaultCode.LEASE_EXPIRED)
    client.set_params(depth_um=DEPTH_UM, speed_sps=SPEED_SPS)
    sent = time.monotonic_ns()
    client.renew_lease(LEASE_MS)
    client.start()
    print(f"started {sent}", flush=True)
    due = sent
    while True:
        due += RENEW_MS * NS_PER_MS
        time.sleep(max(0, due - time.monotonic_ns()) / 1e9)
        sent = time.monotonic_ns()
        client.renew_lease(LEASE_MS)
        print(f"lease {sent}", flush=True)


# ---- the simulator's events file ----------------------------------------------------------------


class EventTail:
    """Reads `penctl sim --events FILE` as it grows."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0
        self._partial = b""
        self._records: list[dict[str, Any]] = []
        self._cursor = 0

    def _poll(self) -> None:
        with contextlib.suppress(FileNotFoundError), self.path.open("rb") as file:
            file.seek(self._offset)
            data = file.read()
            self._offset += len(data)
            *lines, self._partial = (self._partial + data).split(b"\n")
            self._records += [json.loads(line) for line in lines if line.strip()]

    def wait_for(
        self, event: str, *, after_ns: int, timeout_s: float = 2.0, **fields: Any
    ) -> dict[str, Any]:
        """The first `event` (with these fields) at or after `after_ns` not yet taken."""
        deadline = time.monotonic() + timeout_s
        while True:
            self._poll()
            while self._cursor < len(self._records):
                record = self._records[self._cursor]
                self._cursor += 1
                if (
                    record["event"] == event
                    and record["t_ns"] >= after_ns
                    and all(record.get(k) == v for k, v in fields.items())
                ):
                    return record
            if time.monotonic() > deadline:
                raise BenchError(
                    f"no {event} {fields or ''} in {self.path} within {timeout_s} s; the last "
                    f"events were {self._records[-5:]}"
                )
            time.sleep(0.001)


# ---- 1. round trips -----------------------------------------------------------------------------


class _BareHost:
    """The least a host can do for GET_STATUS: encode, pyserial write, read until its ACK.

    No link thread, no retransmission, no lock: beside `PenClient.get_status()` against a
    simulator of its own, it splits our round trip into what the simulator and the pty cost and
    what the link adds.
    """

    def __init__(self, url: str) -> None:
        import serial

        self.port = serial.serial_for_url(url, baudrate=BAUD, timeout=2.0)
        self._decoder = Decoder()
        self._seq = 0
        deadline = time.monotonic() + PEER_READY_S
        while not self.hello():  # refused while the pen boots
            if time.monotonic() > deadline:
                raise BenchError(f"the simulator at {url} refused HELLO for {PEER_READY_S} s")
            time.sleep(0.05)

    def hello(self) -> bool:
        return isinstance(self.command(Hello(PROTOCOL_VERSION)), Ack)

    def get_status(self) -> None:
        if not isinstance(self.command(GetStatus()), Ack):
            raise BenchError("the simulator refused GET_STATUS")

    def command(self, message: Message) -> Ack | Nak:
        self._seq = (self._seq + 1) & 0xFFFF
        self.port.write(encode(message, self._seq))
        while True:
            data = self.port.read(self.port.in_waiting or 1)
            if not data:
                raise BenchError("the simulator did not answer within 2 s")
            for item in self._decoder.feed(data):
                reply = item.message if isinstance(item, Frame) else None
                if isinstance(reply, Ack) and reply.ack_seq == self._seq:
                    return reply
                if isinstance(reply, Nak) and reply.nak_seq == self._seq:
                    return reply


def _modbus_available() -> bool:
    try:
        import pymodbus  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass(slots=True)
class _Workload:
    """One round trip (`once`), with what a round of them needs done first and after, untimed."""

    once: Callable[[], None]
    begin: Callable[[], None] = lambda: None
    end: Callable[[], None] = lambda: None


class _PenctlRounds:
    """`PenClient.get_status()`, the client open only during its own rounds: its I/O thread
    wakes every few ms, and must not weigh on the other workloads' rounds."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.client: PenClient | None = None
        self.core_round_trips: list[list[int]] = []
        self.link_stats: list[dict[str, Any]] = []

    def begin(self) -> None:
        self.client = open_pen(self.url)
        self.client.identify()

    def once(self) -> None:
        assert self.client is not None
        self.client.get_status()

    def end(self, timed: int) -> None:
        assert self.client is not None
        # The link's own round trips: from the call's time to the ACK decoded on its thread.
        core = list(self.client.driver.core.stats.round_trips_ns)
        self.core_round_trips.append(core[-timed:] if timed else [])
        self.link_stats.append(self.client.stats())
        self.client.close()
        self.client = None


@contextlib.contextmanager
def _workloads(
    url: str, per_round: int, with_modbus: bool
) -> Iterator[tuple[_PenctlRounds, dict[str, _Workload]]]:
    """Each kind of round trip; the peers live as long as the context."""
    import serial

    with contextlib.ExitStack() as stack:
        penctl = _PenctlRounds(url)
        echo_fd, echo_path = stack.enter_context(_peer("--echo-peer"))
        echo_port = serial.serial_for_url(echo_path, baudrate=BAUD, timeout=2.0)
        stack.callback(echo_port.close)
        size = len(ECHO_FRAME)

        def echo_raw() -> None:
            os.write(echo_fd, ECHO_FRAME)
            got = 0
            while got < size:
                got += len(os.read(echo_fd, 64))

        def echo_pyserial() -> None:
            echo_port.write(ECHO_FRAME)
            if len(echo_port.read(size)) != size:
                raise BenchError("the echo process did not echo 20 bytes within 2 s")

        bare = _BareHost(stack.enter_context(simulator_process()))
        stack.callback(bare.port.close)
        works = {
            PENCTL: _Workload(penctl.once, penctl.begin, lambda: penctl.end(per_round)),
            BARE: _Workload(bare.get_status, bare.port.reset_input_buffer),  # stale TELEMETRY
            ECHO_RAW: _Workload(echo_raw),
            ECHO_PYSERIAL: _Workload(echo_pyserial),
        }
        if with_modbus:
            from pymodbus import FramerType
            from pymodbus.client import ModbusSerialClient

            _, modbus_path = stack.enter_context(_peer("--modbus-peer"))
            modbus = ModbusSerialClient(
                modbus_path, framer=FramerType.RTU, baudrate=BAUD, timeout=2, retries=0
            )
            if not modbus.connect():
                raise BenchError(f"pymodbus could not open {modbus_path}")
            stack.callback(modbus.close)
            values = iter(range(1 << 62))

            def modbus_write() -> None:
                reply = modbus.write_register(0, next(values) & 0xFFFF, device_id=1)
                if reply.isError():
                    raise BenchError(f"the pymodbus server answered {reply}")

            works[MODBUS] = _Workload(modbus_write)
        yield penctl, works


def round_trips(
    url: str,
    rounds: int = RTT_ROUNDS,
    per_round: int = RTT_PER_ROUND,
    *,
    warmup: int = RTT_WARMUP,
    with_modbus: bool = True,
) -> tuple[dict[str, list[list[int]]], list[dict[str, Any]]]:
    """Round-trip times in ns, per workload (and the link's own view, CORE), per round; and the
    link's statistics of each round. Each round runs every workload in turn (starting with a
    different one each round): `warmup` untimed round trips, then `per_round` timed ones."""
    with _workloads(url, per_round, with_modbus) as (penctl, works):
        samples: dict[str, list[list[int]]] = {name: [] for name in works}
        names = list(works)
        clock = time.perf_counter_ns
        for r in range(rounds):
            for name in names[r % len(names) :] + names[: r % len(names)]:
                work = works[name]
                work.begin()
                for _ in range(warmup):
                    work.once()
                times = []
                for _ in range(per_round):
                    started = clock()
                    work.once()
                    times.append(clock() - started)
                work.end()
                samples[name].append(times)
        samples[CORE] = penctl.core_round_trips
        return samples, penctl.link_stats


# ---- 2. stop latency ----------------------------------------------------------------------------


def stop_latencies(
    client: PenClient, events: EventTail, trials: int = STOP_TRIALS, seed: int = 1
) -> tuple[list[int], list[int]]:
    """From just before `client.stop()` to the simulator's `motor_stopped`, in ns; and how long
    the `stop()` call itself took (encoding and writing the STOP, in the caller's thread)."""
    rng = random.Random(seed)
    client.set_params(depth_um=DEPTH_UM, speed_sps=SPEED_SPS)
    latencies, calls = [], []
    for _ in range(trials):
        client.renew_lease(LEASE_MS)
        client.start()
        time.sleep(rng.uniform(0.030, 0.050))
        called = time.monotonic_ns()
        client.stop(wait=False)
        calls.append(time.monotonic_ns() - called)
        time.sleep(0.003)  # let the stop travel undisturbed before reading the file
        stopped = events.wait_for("motor_stopped", after_ns=called, reason="stop")
        latencies.append(stopped["t_ns"] - called)
    return latencies, calls


# ---- 3. lease-kill lateness ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LeaseKill:
    last_renewal_ns: int
    killed_ns: int
    stopped_ns: int

    @property
    def lateness_ns(self) -> int:
        """How long after the lease (counted from the last renewal's send) the motor stopped."""
        return self.stopped_ns - self.last_renewal_ns - LEASE_MS * NS_PER_MS

    @property
    def death_to_stop_ns(self) -> int:
        return self.stopped_ns - self.killed_ns


def lease_kills(trials: int = LEASE_TRIALS, seed: int = 2) -> list[LeaseKill]:
    """Kill a renewing host with SIGKILL, `trials` times, against one simulator process."""
    rng = random.Random(seed)
    results = []
    with tempfile.TemporaryDirectory(prefix="penctl-bench-") as tmp:
        events_path = Path(tmp) / "events.jsonl"
        with simulator_process(["--events", str(events_path)]) as url:
            events = EventTail(events_path)
            for _ in range(trials):
                results.append(_one_lease_kill(url, events, rng))
    return results


def _one_lease_kill(url: str, events: EventTail, rng: random.Random) -> LeaseKill:
    proc = _spawn("--lease-host", url)
    try:
        lines = _Lines(proc, "the lease host")
        printed = [lines.expect("started", 15.0)]
        for _ in range(2):  # a few renewals while the motor runs
            printed.append(lines.expect("lease", 2.0))
        time.sleep(rng.uniform(0.010, 0.060))  # anywhere in the renewal period, short of the next
        killed = time.monotonic_ns()
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        printed += lines.rest()
        renewals = [int(line.split()[1]) for line in printed if line.startswith("lease")]
    finally:
        _end(proc)
    last = max(renewals, default=None)
    if last is None:
        raise BenchError("the lease host's last renewal was not reported")
    if killed - last >= (RENEW_MS - 5) * NS_PER_MS:
        # It may have written one more LEASE without living to print it: this trial would
        # overstate the lateness by a renewal period, so say so rather than count it.
        raise BenchError(f"the kill came {(killed - last) / 1e6:.1f} ms after the last renewal")
    stopped = events.wait_for("motor_stopped", after_ns=killed, reason="lease_expired")
    return LeaseKill(last, killed, stopped["t_ns"])


# ---- the run, the table, the file ---------------------------------------------------------------


def run(
    *,
    rtt_rounds: int = RTT_ROUNDS,
    rtt_per_round: int = RTT_PER_ROUND,
    rtt_warmup: int = RTT_WARMUP,
    stop_trials: int = STOP_TRIALS,
    lease_trials: int = LEASE_TRIALS,
    with_modbus: bool | None = None,
) -> dict[str, Any]:
    """All three measurements; returns what link.json holds."""
    if with_modbus is None:
        with_modbus = _modbus_available()
    load_before = os.getloadavg()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="penctl-bench-") as tmp:
        events_path = Path(tmp) / "events.jsonl"
        with simulator_process(["--events", str(events_path)]) as url:
            rtt, link_stats = round_trips(
                url, rtt_rounds, rtt_per_round, warmup=rtt_warmup, with_modbus=with_modbus
            )
            client = open_pen(url)
            try:
                client.identify()
                stops, stop_calls = stop_latencies(client, EventTail(events_path), stop_trials)
            finally:
                client.close()
    kills = lease_kills(lease_trials)
    pooled = {name: [t for r in rounds for t in r] for name, rounds in rtt.items()}
    rtt_summary = {name: summary(times) for name, times in pooled.items()}
    ours, echo = rtt_summary[PENCTL], rtt_summary[ECHO_RAW]
    stop_summary = summary(stops)
    lateness = summary([k.lateness_ns for k in kills])
    death = summary([k.death_to_stop_ns for k in kills])
    ratio_p99 = ours["p99_us"] / echo["p99_us"]
    goals = [
        {
            "goal": f"round-trip p99 within {GOAL_RTT_RATIO:g}x the raw echo p99",
            "measured": f"{ratio_p99:.1f}x ({ours['p99_us']:.0f} vs {echo['p99_us']:.0f} µs)",
            "met": ratio_p99 <= GOAL_RTT_RATIO,
        },
        {
            "goal": f"stop latency p99 within {GOAL_STOP_P99_MS:g} ms",
            "measured": f"{stop_summary['p99_us'] / 1e3:.3f} ms",
            "met": stop_summary["p99_us"] <= GOAL_STOP_P99_MS * 1e3,
        },
        {
            "goal": f"stop latency max within {GOAL_STOP_MAX_MS:g} ms",
            "measured": f"{stop_summary['max_us'] / 1e3:.3f} ms",
            "met": stop_summary["max_us"] <= GOAL_STOP_MAX_MS * 1e3,
        },
        {
            "goal": f"host killed: motor stopped within lease + {GOAL_LEASE_LATENESS_MS:g} ms",
            "measured": f"lease + {lateness['max_us'] / 1e3:.2f} ms at worst",
            "met": lateness["max_us"] <= GOAL_LEASE_LATENESS_MS * 1e3,
        },
    ]
    return {
        "machine": {
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load_before": load_before,
            "load_after": os.getloadavg(),
        },
        "seconds": time.monotonic() - started,
        "round_trip": {
            "rounds": rtt_rounds,
            "per_round": rtt_per_round,
            "summary": rtt_summary,
            "ratio_p50": ours["p50_us"] / echo["p50_us"],
            "ratio_p99": ratio_p99,
            "samples_ns": rtt,
            "link_stats": link_stats,
        },
        "stop": {
            "summary": stop_summary,
            "samples_ns": stops,
            "call": summary(stop_calls),
            "call_samples_ns": stop_calls,
        },
        "lease_kill": {
            "lease_ms": LEASE_MS,
            "renew_ms": RENEW_MS,
            "lateness": lateness,
            "death_to_stop": death,
            "trials": [
                {
                    "last_renewal_ns": k.last_renewal_ns,
                    "killed_ns": k.killed_ns,
                    "stopped_ns": k.stopped_ns,
                }
                for k in kills
            ],
        },
        "goals": goals,
        "all_met": all(g["met"] for g in goals),
    }


def report(results: dict[str, Any]) -> str:
    m = results["machine"]
    rt = results["round_trip"]
    out = [
        f"machine: {m['platform']}, {m['cpus']} CPUs, Python {m['python']}; load average "
        f"{m['load_before'][0]:.2f} before, {m['load_after'][0]:.2f} after "
        f"({results['seconds']:.0f} s)",
        "",
        f"1. Round trip over a pty, {rt['rounds']} interleaved rounds of {rt['per_round']} each "
        f"({rt['rounds'] * rt['per_round']} trials per row), µs:",
        f"   {'':49}{'p50':>9}{'p99':>9}{'max':>9}",
    ]
    labels = [
        (PENCTL, "penctl get_status (sim process; 10 B, ACK 26 B)"),
        (CORE, "  its link's view: sent -> ACK decoded"),
        (BARE, "bare protocol loop get_status (2nd sim)"),
        (ECHO_RAW, "raw echo, os.read/os.write (echo process; 20 B)"),
        (ECHO_PYSERIAL, "raw echo through pyserial (same peer; 20 B)"),
        (MODBUS, "pymodbus RTU write_register (server process; 8 B)"),
    ]
    found = rt["summary"]
    for name, label in labels:
        if name not in found:
            continue
        s = found[name]
        out.append(f"   {label:49}{s['p50_us']:>9.0f}{s['p99_us']:>9.0f}{s['max_us']:>9.0f}")
    if MODBUS not in rt["summary"]:
        out.append("   (pymodbus is not installed: `make bench` installs it, the bench extra)")
    out.append(
        f"   penctl / raw echo: p50 {rt['ratio_p50']:.1f}x, p99 {rt['ratio_p99']:.1f}x "
        f"(goal: p99 within {GOAL_RTT_RATIO:g}x)"
    )
    s = results["stop"]["summary"]
    out += [
        "",
        f"2. Stop latency, client.stop() to the simulator's motor_stopped, {s['n']} trials, ms:",
        f"   p50 {s['p50_us'] / 1e3:.3f}   p99 {s['p99_us'] / 1e3:.3f}   max "
        f"{s['max_us'] / 1e3:.3f}   (goals: p99 within {GOAL_STOP_P99_MS:g}, max within "
        f"{GOAL_STOP_MAX_MS:g})",
    ]
    c = results["stop"]["call"]
    out.append(
        f"   of which the stop() call (encode, write, in the caller's thread): p50 "
        f"{c['p50_us'] / 1e3:.3f}   p99 {c['p99_us'] / 1e3:.3f}   max {c['max_us'] / 1e3:.3f}"
    )
    lk = results["lease_kill"]
    late, death = lk["lateness"], lk["death_to_stop"]
    out += [
        "",
        f"3. Host SIGKILLed while renewing a {lk['lease_ms']} ms lease every {lk['renew_ms']} ms, "
        f"{late['n']} trials, ms:",
        f"   last renewal to motor_stopped, less the lease:  p50 {late['p50_us'] / 1e3:.2f}   "
        f"p99 {late['p99_us'] / 1e3:.2f}   max {late['max_us'] / 1e3:.2f}",
        f"   kill to motor_stopped:                          p50 {death['p50_us'] / 1e3:.1f}   "
        f"p99 {death['p99_us'] / 1e3:.1f}   max {death['max_us'] / 1e3:.1f}",
        "",
        f"   {'goal':58}{'measured':32}met",
    ]
    for goal in results["goals"]:
        out.append(f"   {goal['goal']:58}{goal['measured']:32}{'yes' if goal['met'] else 'NO'}")
    if max(m["load_before"][0], m["load_after"][0]) > (m["cpus"] or 1) / 2:
        out.append(
            f"\n   The machine was busy (load average above {(m['cpus'] or 1) / 2:g} on "
            f"{m['cpus']} CPUs): the p99s and maxima measure other processes' scheduling as much "
            "as this code. Compare runs on a quiet machine."
        )
    return "\n".join(out)


def main() -> int:
    results = run()
    print(report(results))
    out = HERE.parent / "results"
    out.mkdir(exist_ok=True)
    (out / "link.json").write_text(json.dumps(results, indent=1))
    return 0 if results["all_met"] else 1


def _entry(argv: list[str]) -> int:
    roles: dict[str, Callable[[str], int]] = {
        "--echo-peer": lambda fd: _echo_peer(int(fd)),
        "--modbus-peer": lambda fd: _modbus_peer(int(fd)),
        "--lease-host": _lease_host,
    }
    if len(argv) == 2 and argv[0] in roles:
        return roles[argv[0]](argv[1])
    if argv:
        print(f"usage: {sys.argv[0]} [{' | '.join(f'{r} ARG' for r in roles)}]", file=sys.stderr)
        return 2
    return main()


if __name__ == "__main__":
    sys.exit(_entry(sys.argv[1:]))
