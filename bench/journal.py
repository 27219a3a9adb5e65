"""Journal durability at the cost of the disk: `JournalWriter.append` beside a raw write + fsync.

Each round, on the same file system, in turn so machine load hits both alike:
- raw: `os.write` of one journal-sized line and `os.fsync` on an O_APPEND file, per record;
- append: `JournalWriter.append` of one record (build, validate, hash, one write, one fsync; with
  the default checkpoint policy, so the periodic signed checkpoint, which rides in the write of
  the 64th record, and head.json's rewrite after it are paid for too);
- raw group: GROUP lines in one write and one fsync;
- group commit: `JournalWriter.append_many` of GROUP records.

Prints per-record p50/p99 latencies, CPU per record (the worker process's, all its threads, so
the writer's head.json chore too; system calls included) and the throughput ratio (raw time /
journal time, median of per-round ratios). Goal: appends at least 0.8x the throughput of raw
write+fsync (docs/journal.md §5).

`python bench/run.py journal [--dir DIR] [--against REF]`. With `--against REF` (a git ref, e.g.
`main`) the journal code of REF runs too, in a second process whose rounds alternate with this
tree's, so both see the same disk and load: an A/B in one run. Results also go to
bench/results/journal.json.
"""

from __future__ import annotations

import io
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROUNDS = 15
PER_ROUND = 64
GROUP = 8
GOAL = 0.8
ROOT = Path(__file__).resolve().parent.parent
KINDS = ("raw", "append", "raw_group", "group")


class _Bench:
    """One code tree's writer and raw file, run a round at a time (in a worker process)."""

    def __init__(self, directory: Path):
        from controller.journal import (
            CheckpointSigner,
            JournalWriter,
            ParamsRequested,
            SessionOpen,
        )
        from firmware_bridge.clock import RealClock

        self.record = ParamsRequested(param_version=1, area="forehead", depth_um=500, speed_sps=110)
        opening = SessionOpen(
            operator_id="op:bench",
            patient_pseudonym="P-BENCH",
            device_serial="PEN-SN-BENCH",
            firmware_version="1.4.2",
            profile_name="face-rejuvenation",
            profile_sha256="3f" * 32,
            policy_sha256="a7" * 32,
            software_version="bench",
        )
        self.writer = JournalWriter.open(
            directory / "journal", signer=CheckpointSigner.generate(), clock=RealClock()
        )
        self.writer.open_session(opening, "op:bench")
        self.writer.append(self.record, "op:bench")
        session = directory / "journal" / "session-000001.jsonl"
        self.line = session.read_bytes().splitlines(keepends=True)[-1]
        self.fd = os.open(directory / "raw.jsonl", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)

    def _raw(self, data: bytes) -> Callable[[], None]:
        def once() -> None:
            os.write(self.fd, data)
            os.fsync(self.fd)

        return once

    def round(self) -> dict[str, Any]:
        batch = [(self.record, "op:bench")] * GROUP
        works: list[tuple[str, Callable[[], object], int]] = [
            ("raw", self._raw(self.line), PER_ROUND),
            ("append", lambda: self.writer.append(self.record, "op:bench"), PER_ROUND),
            ("raw_group", self._raw(self.line * GROUP), PER_ROUND // GROUP),
            ("group", lambda: self.writer.append_many(batch), PER_ROUND // GROUP),
        ]
        out: dict[str, Any] = {}
        for name, work, count in works:
            per = GROUP if name in ("raw_group", "group") else 1
            cpu_started = time.process_time()
            seconds = [_seconds(work) / per for _ in range(count)]
            out[name] = {"s": seconds, "cpu": (time.process_time() - cpu_started) / count / per}
        return out

    def close(self) -> None:
        self.writer.close_session("completed", "bench", "op:bench")
        self.writer.close()
        os.close(self.fd)


def _seconds(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def worker(directory: Path) -> None:
    """Runs a round for each line `round` on stdin; answers each with one line of JSON."""
    import controller.journal

    bench = _Bench(directory)
    print(
        json.dumps({"code": str(Path(controller.journal.__file__).parent), "line": len(bench.line)})
    )
    sys.stdout.flush()
    for command in sys.stdin:
        if command.strip() != "round":
            break
        print(json.dumps(bench.round()))
        sys.stdout.flush()
    bench.close()


class _Worker:
    def __init__(self, code: Path, directory: Path):
        directory.mkdir()
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--worker", str(directory)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(code)},
        )
        self.hello = self._answer()
        self.rounds: list[dict[str, Any]] = []

    def _answer(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        answer: dict[str, Any] = json.loads(self.process.stdout.readline())
        return answer

    def round(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write("round\n")
        self.process.stdin.flush()
        self.rounds.append(self._answer())

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=60)


def _checkout(ref: str, into: Path) -> Path:
    """REF's controller/ and firmware_bridge/ packages, unpacked into `into`."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", ref, "controller", "firmware_bridge"],
        capture_output=True,
        check=True,
    ).stdout
    into.mkdir()
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summarise(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """p50/p99 per kind over all rounds, CPU per record (median of rounds), throughput ratios."""
    out: dict[str, Any] = {}
    for kind in KINDS:
        seconds = [s for r in rounds for s in r[kind]["s"]]
        out[kind] = {
            "p50_ms": _pct(seconds, 0.5) * 1e3,
            "p99_ms": _pct(seconds, 0.99) * 1e3,
            "cpu_ms": statistics.median(r[kind]["cpu"] for r in rounds) * 1e3,
        }
    for ratio, raw, ours in (("single", "raw", "append"), ("group", "raw_group", "group")):
        per_round = [sum(r[raw]["s"]) / sum(r[ours]["s"]) for r in rounds]
        out[f"ratio_{ratio}"] = statistics.median(per_round)
        out[f"ratios_{ratio}"] = per_round
    return out


def _print(label: str, summary: dict[str, Any]) -> None:
    print(f"{label}\n{'per acknowledged record':38}{'p50 ms':>10}{'p99 ms':>10}{'CPU ms':>10}")
    for kind, name in zip(
        KINDS,
        (
            "raw write + fsync",
            "JournalWriter.append",
            f"raw, {GROUP} lines a write + fsync",
            f"JournalWriter.append_many({GROUP})",
        ),
        strict=True,
    ):
        row = summary[kind]
        print(f"{name:38}{row['p50_ms']:>10.3f}{row['p99_ms']:>10.3f}{row['cpu_ms']:>10.3f}")
    print(
        f"throughput, append vs raw write+fsync: {summary['ratio_single']:.2f}x (goal: >= {GOAL}x)"
        f"\nthroughput, group commit vs raw group write+fsync: {summary['ratio_group']:.2f}x\n"
    )


def run(base: Path, against: str | None) -> dict[str, Any]:
    directory = Path(tempfile.mkdtemp(prefix=".journal-bench-", dir=base))
    workers: dict[str, _Worker] = {}
    try:
        workers["this tree"] = _Worker(ROOT, directory / "this")
        if against is not None:
            code = _checkout(against, directory / "code")
            workers[against] = _Worker(code, directory / "against")
        order = list(workers.values())
        for index in range(ROUNDS):
            for one in order if index % 2 == 0 else order[::-1]:
                one.round()
        for one in workers.values():
            one.close()
    finally:
        for one in workers.values():
            if one.process.poll() is None:
                one.process.kill()
        shutil.rmtree(directory, ignore_errors=True)
    return {name: {**one.hello, **summarise(one.rounds)} for name, one in workers.items()}


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    if args[:1] == ["--worker"]:
        worker(Path(args[1]))
        return 0
    base = Path(args[args.index("--dir") + 1]) if "--dir" in args else Path(__file__).parent
    against = args[args.index("--against") + 1] if "--against" in args else None
    base.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()[0]
    results = run(base, against)
    print(
        f"machine: {platform.platform()}, {os.cpu_count()} CPUs, load {load_before:.1f} before, "
        f"{os.getloadavg()[0]:.1f} after; file system of {base}"
    )
    ours = results["this tree"]
    print(
        f"{ROUNDS} interleaved rounds of {PER_ROUND} records ({ours['line']} bytes a line); "
        f"group commit of {GROUP}\n"
    )
    for name, summary in results.items():
        _print(f"{name} ({summary['code']})", summary)
    if against is not None:
        theirs = results[against]
        for kind in ("append", "group"):
            raw = "raw" if kind == "append" else "raw_group"
            mine = ours[kind]["cpu_ms"] - ours[raw]["cpu_ms"]
            base_cpu = theirs[kind]["cpu_ms"] - theirs[raw]["cpu_ms"]
            print(
                f"CPU per record beyond raw, {kind}: this tree {mine:.3f} ms, "
                f"{against} {base_cpu:.3f} ms"
            )
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "journal.json").write_text(json.dumps(results, indent=2))
    return 0 if ours["ratio_single"] >= GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
