"""Journal durability at the cost of the disk: `JournalWriter.append` beside a raw write + fsync.

Each round, on the same file system, in turn so machine load hits both alike:
- raw: `os.write` of one journal-sized line and `os.fsync` on an O_APPEND file, per record;
- append: `JournalWriter.append` of one record (build, validate, hash, one write, one fsync; with
  the default checkpoint policy, so the periodic signed checkpoint, which rides in the write of
  the 64th record, and head.json's atomic rewrite after it are paid for too);
- raw group: GROUP lines in one write and one fsync;
- group commit: `JournalWriter.append_many` of GROUP records.

Prints per-record p50/p99 latencies and the throughput ratio (raw time / journal time, median of
per-round ratios). Goal: appends at least 0.8x the throughput of raw write+fsync (docs/journal.md
§5). Results also go to bench/results/journal.json. `python bench/run.py journal [--dir DIR]`.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from controller.journal import CheckpointSigner, JournalWriter, ParamsRequested, SessionOpen
from firmware_bridge.clock import RealClock

ROUNDS = 15
PER_ROUND = 64
GROUP = 8
GOAL = 0.8
RECORD = ParamsRequested(param_version=1, area="forehead", depth_um=500, speed_sps=110)
OPENING = SessionOpen(
    operator_id="op:bench",
    patient_pseudonym="P-BENCH",
    device_serial="PEN-SN-BENCH",
    firmware_version="1.4.2",
    profile_name="face-rejuvenation",
    profile_sha256="3f" * 32,
    policy_sha256="a7" * 32,
    software_version="bench",
)


CPU: dict[str, list[float]] = {}


def _timed(work: Callable[[], object], count: int, name: str) -> list[float]:
    """Seconds per call of `work`, `count` calls; the CPU seconds this thread spent go to CPU."""
    out = []
    cpu_started = time.thread_time()
    for _ in range(count):
        started = time.perf_counter()
        work()
        out.append(time.perf_counter() - started)
    CPU.setdefault(name, []).append((time.thread_time() - cpu_started) / count)
    return out


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run(directory: Path) -> dict[str, object]:
    writer = JournalWriter.open(
        directory / "journal", signer=CheckpointSigner.generate(), clock=RealClock()
    )
    writer.open_session(OPENING, "op:bench")
    writer.append(RECORD, "op:bench")
    session_file = directory / "journal" / "session-000001.jsonl"
    line = session_file.read_bytes().splitlines(keepends=True)[-1]
    fd = os.open(directory / "raw.jsonl", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)

    def raw(data: bytes) -> Callable[[], None]:
        def once() -> None:
            os.write(fd, data)
            os.fsync(fd)

        return once

    samples: dict[str, list[float]] = {"raw": [], "append": [], "raw_group": [], "group": []}
    ratios: dict[str, list[float]] = {"single": [], "group": []}
    batch = [(RECORD, "op:bench")] * GROUP
    try:
        for _ in range(ROUNDS):
            raw_s = _timed(raw(line), PER_ROUND, "raw")
            app_s = _timed(lambda: writer.append(RECORD, "op:bench"), PER_ROUND, "append")
            rawg_s = _timed(raw(line * GROUP), PER_ROUND // GROUP, "raw_group")
            grp_s = _timed(lambda: writer.append_many(batch), PER_ROUND // GROUP, "group")
            samples["raw"] += raw_s
            samples["append"] += app_s
            samples["raw_group"] += [s / GROUP for s in rawg_s]
            samples["group"] += [s / GROUP for s in grp_s]
            ratios["single"].append(sum(raw_s) / sum(app_s))
            ratios["group"].append(sum(rawg_s) / sum(grp_s))
        writer.close_session("completed", "bench", "op:bench")
    finally:
        os.close(fd)
        writer.close()
    return {
        "line_bytes": len(line),
        "samples": samples,
        "ratio_single": statistics.median(ratios["single"]),
        "ratio_group": statistics.median(ratios["group"]),
        "ratios": ratios,
        "cpu_s_per_call": {name: statistics.median(values) for name, values in CPU.items()},
    }


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    base = Path(args[args.index("--dir") + 1]) if "--dir" in args else Path(__file__).parent
    base.mkdir(parents=True, exist_ok=True)
    directory = Path(tempfile.mkdtemp(prefix=".journal-bench-", dir=base))
    try:
        result = run(directory)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    samples = result["samples"]
    assert isinstance(samples, dict)
    print(
        f"machine: {platform.platform()}, {os.cpu_count()} CPUs, load "
        f"{os.getloadavg()[0]:.1f}; file system of {base}"
    )
    print(
        f"{ROUNDS} interleaved rounds of {PER_ROUND} records ({result['line_bytes']} bytes a "
        f"line); group commit of {GROUP}\n"
    )
    cpu = result["cpu_s_per_call"]
    assert isinstance(cpu, dict)
    print(f"{'per acknowledged record':38}{'p50 ms':>10}{'p99 ms':>10}{'CPU ms':>10}")
    for key, label in (
        ("raw", "raw write + fsync"),
        ("append", "JournalWriter.append"),
        ("raw_group", f"raw, {GROUP} lines a write + fsync"),
        ("group", f"JournalWriter.append_many({GROUP})"),
    ):
        values = samples[key]
        per_record = cpu[key] / (GROUP if key in ("raw_group", "group") else 1)
        print(
            f"{label:38}{_pct(values, 0.5) * 1e3:>10.3f}{_pct(values, 0.99) * 1e3:>10.3f}"
            f"{per_record * 1e3:>10.3f}"
        )
    single, group = result["ratio_single"], result["ratio_group"]
    print(
        f"\nthroughput, append vs raw write+fsync: {single:.2f}x (goal: >= {GOAL}x)"
        f"\nthroughput, group commit vs raw group write+fsync: {group:.2f}x"
    )
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "journal.json").write_text(json.dumps(result, indent=2))
    return 0 if isinstance(single, float) and single >= GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
