"""The simulator's speed: wall time of a running session in virtual time, beside a bare loop floor.

`python bench/run.py simulator` (part of `make bench`). A host on a VirtualClock talks to an
in-process SimulatedPen through its pyserial port: HELLO, SET_PARAMS, LEASE, START, then a LEASE
every 100 ms, reading and decoding every frame the pen sends (an ACK per LEASE, TELEMETRY every
50 ms). Measured for 10, 60 and 240 virtual minutes. Beside it, the floor: a bare loop that packs
the same frames with the same codec (`encode`) and decodes them with the same `Decoder`, with no
simulator, clock or port, which is what the protocol alone costs. Goal: 60 virtual minutes in at
most 1 s, and time linear in length. Medians of interleaved rounds, in wall seconds with this
process's CPU seconds beside them (on a shared machine the wall time follows the load; the CPU
time much less); results also go to bench/results/simulator.json.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

from firmware_bridge.clock import NS_PER_MS, VirtualClock
from firmware_bridge.protocol import (
    Ack,
    Decoder,
    Hello,
    Lease,
    MessageType,
    PenState,
    SetParams,
    Start,
    encode,
    params_crc,
)
from firmware_bridge.protocol.vectors import TELEMETRY_RUNNING
from simulator.config import PenConfig
from simulator.pen import SimulatedPen
from simulator.transport.inprocess import open_host_port

MINUTES = (10, 60, 240)
REPEATS = 3
RENEW_MS = 100
LEASE_MS = 300
GOAL_S_PER_HOUR = 1.0
# A pen whose 1 Ah cell would fall to its critical level after about two hours of running (a
# fault, which ends the run): the bench's pen has a 5 Ah pack, full, so 240 minutes stay RUNNING.
MAINS_POWERED = PenConfig(battery_capacity_mah=5000, battery_start_pct=100.0)


class BenchError(RuntimeError):
    """The pen did not behave as a healthy pen does during the bench (a bug, not a slow run)."""


def session(minutes: int) -> tuple[float, float, int]:
    """Wall and CPU seconds for `minutes` of a running session in virtual time; frames the host
    decoded."""
    clock = VirtualClock()
    pen = SimulatedPen(
        clock, seed=1, today_yyyymmdd=20260601, keep_events=False, config=MAINS_POWERED
    )
    port = open_host_port(pen, timeout=0)
    decoder = Decoder()
    started, cpu = time.perf_counter(), time.process_time()
    seq = 0
    for message in (Hello(1), SetParams(1, 1000, 120), Lease(LEASE_MS), Start(1)):
        clock.advance(250 * NS_PER_MS if seq == 0 else NS_PER_MS)
        port.write(encode(message, seq))
        seq += 1
    frames = 0
    lease = Lease(LEASE_MS)
    step_ns = RENEW_MS * NS_PER_MS
    for renewal in range(minutes * 60_000 // RENEW_MS):
        clock.advance(step_ns)
        frames += len(decoder.feed(port.read(port.in_waiting)))
        port.write(encode(lease, (seq + renewal) & 0xFFFF))
    frames += len(decoder.feed(port.read(port.in_waiting)))
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    if pen.firmware.state is not PenState.RUNNING or decoder.errors:
        raise BenchError(
            f"the pen left RUNNING ({pen.firmware.state.name}, {pen.firmware.active_fault.name}) "
            f"or frames were bad ({decoder.errors})"
        )
    pen.close()
    return elapsed, cpu, frames


def floor(minutes: int) -> tuple[float, float, int]:
    """The same frames with the codec alone: the pen's side `encode`s prebuilt messages (an ACK
    and two TELEMETRY per renewal), the host's side `Decoder.feed`s them and encodes its LEASE,
    which a second decoder (the pen's) reads. No simulator, clock or port."""
    host_decoder, pen_decoder = Decoder(), Decoder()
    ack = Ack(0, MessageType.LEASE, PenState.RUNNING, 1, 1000, 120, params_crc(1, 1000, 120), 300)
    telemetry, lease = TELEMETRY_RUNNING, Lease(LEASE_MS)
    started, cpu = time.perf_counter(), time.process_time()
    frames = 0
    for renewal in range(minutes * 60_000 // RENEW_MS):
        seq = renewal * 3 & 0xFFFF
        out = (
            encode(ack, seq)
            + encode(telemetry, seq + 1 & 0xFFFF)
            + encode(telemetry, seq + 2 & 0xFFFF)
        )
        frames += len(host_decoder.feed(out))
        pen_decoder.feed(encode(lease, renewal & 0xFFFF))
    return time.perf_counter() - started, time.process_time() - cpu, frames


def main() -> int:
    rounds: dict[str, list[float]] = {}
    frames: dict[str, int] = {}
    for _ in range(REPEATS):
        for minutes in MINUTES:
            for name, work in (("session", session), ("floor", floor)):
                key = f"{name}_{minutes}"
                elapsed, cpu, count = work(minutes)
                rounds.setdefault(key, []).append(elapsed)
                rounds.setdefault(f"{key}_cpu", []).append(cpu)
                frames[key] = count
    median = {key: statistics.median(values) for key, values in rounds.items()}
    load = os.getloadavg()
    print(
        f"{REPEATS} interleaved rounds, medians; load average {load[0]:.2f} on {os.cpu_count()} "
        f"CPUs, Python {sys.version.split()[0]}; wall seconds (CPU seconds of this process)"
    )
    print(f"{'virtual minutes':>16}{'session s':>18}{'floor s':>18}{'ratio':>8}{'frames':>10}")
    for m in MINUTES:
        s, f = median[f"session_{m}"], median[f"floor_{m}"]
        s_cpu, f_cpu = median[f"session_{m}_cpu"], median[f"floor_{m}_cpu"]
        print(
            f"{m:>16}{s:>10.3f} ({s_cpu:5.3f}){f:>10.3f} ({f_cpu:5.3f}){s / f:>8.2f}"
            f"{frames[f'session_{m}']:>10,}"
        )
    per_hour = {m: median[f"session_{m}"] * 60 / m for m in MINUTES}
    floor_hour = {m: median[f"floor_{m}"] * 60 / m for m in MINUTES}
    spread = max(per_hour.values()) / min(per_hour.values())
    print(
        f"\nper virtual hour: {', '.join(f'{per_hour[m]:.3f} s at {m} min' for m in MINUTES)}"
        f" (largest/smallest {spread:.2f}: 1.00 is linear); floor "
        f"{', '.join(f'{floor_hour[m]:.3f}' for m in MINUTES)} s; goal: 60 min in <= "
        f"{GOAL_S_PER_HOUR:.1f} s"
    )
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    results = {"rounds": rounds, "median": median, "frames": frames, "load": load}
    (out / "simulator.json").write_text(json.dumps(results, indent=2))
    return 0 if median["session_60"] <= GOAL_S_PER_HOUR else 1


if __name__ == "__main__":
    sys.exit(main())
