"""`make bench`: the codec bench (below), the pen link bench (bench/link.py), the simulator bench
(bench/sim_speed.py: a running session in virtual time, 10, 60 and 240 minutes, beside a bare
codec loop), the console bench (bench/console.py: CPU at 100 Hz telemetry, e-stop key to pen, in
a terminal), then the journal bench (bench/journal.py: append beside a raw write + fsync).

`python bench/run.py codec` (or `link`, `simulator`, `console`, `journal`) runs one of them. Exit
status 1 when a goal was missed.

Codec throughput, measured side by side in one run.

Prints frames per second for encoding and decoding telemetry-sized frames, beside the frame rate a
115200-baud line can carry for the same frames and beside pymavlink's parse rate for a MAVLink 2
message of similar size (ATTITUDE, 28-byte payload). Goal: decoding at least twice pymavlink's rate.
Medians of REPEATS runs; results also go to bench/results/codec.json.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from firmware_bridge.protocol import Decoder, Telemetry, encode
from firmware_bridge.protocol.vectors import TELEMETRY_RUNNING

FRAMES = 20_000
REPEATS = 7
CHUNK = 4096  # bytes per read, as a serial reader would get them
BAUD = 115_200
BITS_PER_BYTE = 10  # 8N1: start + 8 data + stop


def _telemetry(counter: int) -> Telemetry:
    return TELEMETRY_RUNNING.replace(counter=counter)


def _rate(work: Callable[[], int]) -> float:
    started = time.perf_counter()
    count = work()
    return count / (time.perf_counter() - started)


def _interleaved(works: dict[str, Callable[[], int]]) -> dict[str, list[float]]:
    """Runs each workload once per round, in turn, so machine load hits all of them alike."""
    rates: dict[str, list[float]] = {name: [] for name in works}
    for _ in range(REPEATS):
        for name, work in works.items():
            rates[name].append(_rate(work))
    return rates


def penctl_workloads() -> tuple[float, dict[str, Callable[[], int]]]:
    messages = [_telemetry(i) for i in range(FRAMES)]
    stream = b"".join(encode(m, i & 0xFFFF) for i, m in enumerate(messages))

    def encode_all() -> int:
        for i, message in enumerate(messages):
            encode(message, i & 0xFFFF)
        return FRAMES

    def decode_all() -> int:
        decoder = Decoder()
        count = 0
        for start in range(0, len(stream), CHUNK):
            count += len(decoder.feed(stream[start : start + CHUNK]))
        assert count == FRAMES and decoder.errors == 0
        return count

    return len(stream) / FRAMES, {"penctl_encode": encode_all, "penctl_decode": decode_all}


def pymavlink_workload() -> tuple[float, Callable[[], int]] | None:
    try:
        from pymavlink.dialects.v20 import common as mavlink
    except ImportError:
        return None
    sender = mavlink.MAVLink(None, srcSystem=1, srcComponent=1)
    stream = b"".join(
        mavlink.MAVLink_attitude_message(i, 0.1, 0.2, 0.3, 0.01, 0.02, 0.03).pack(sender)
        for i in range(FRAMES)
    )

    def parse_all() -> int:
        parser = mavlink.MAVLink(None)
        count = 0
        for start in range(0, len(stream), CHUNK):
            count += len(parser.parse_buffer(stream[start : start + CHUNK]) or ())
        assert count == FRAMES
        return count

    return len(stream) / FRAMES, parse_all


def codec_main() -> int:
    machine = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
    }
    frame_bytes, works = penctl_workloads()
    mavlink = pymavlink_workload()
    if mavlink is not None:
        works["pymavlink_decode"] = mavlink[1]
    rates = _interleaved(works)
    median = {name: statistics.median(values) for name, values in rates.items()}
    line_fps = BAUD / BITS_PER_BYTE / frame_bytes
    print(f"machine: {machine['platform']}, {machine['cpus']} CPUs, Python {machine['python']}")
    print(f"{FRAMES} frames per run, {REPEATS} interleaved rounds, fed in {CHUNK}-byte reads\n")
    rows = [
        ("penctl encode (TELEMETRY)", frame_bytes, median["penctl_encode"]),
        ("penctl decode (TELEMETRY)", frame_bytes, median["penctl_decode"]),
        ("115200-baud line, same frames", frame_bytes, line_fps),
    ]
    ratio = None
    if mavlink is not None:
        rows.append(("pymavlink parse (ATTITUDE, v2)", mavlink[0], median["pymavlink_decode"]))
        ratio = statistics.median(
            ours / theirs
            for ours, theirs in zip(rates["penctl_decode"], rates["pymavlink_decode"], strict=True)
        )
    print(f"{'':34}{'bytes/frame':>12}{'median frames/s':>18}")
    for label, size, fps in rows:
        print(f"{label:34}{size:>12.1f}{fps:>18,.0f}")
    if ratio is not None:
        print(f"\ndecode vs pymavlink, median of per-round ratios: {ratio:.2f}x (goal: >= 2x)")
    else:
        print("\npymavlink is not installed: `make bench` installs it (the bench extra).")
    print(f"decode vs a 115200-baud line: {median['penctl_decode'] / line_fps:,.0f}x headroom")
    results = {
        "machine": machine,
        "rates": rates,
        "median": median,
        "line_fps": line_fps,
        "frame_bytes": frame_bytes,
        "ratio": ratio,
    }
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "codec.json").write_text(json.dumps(results, indent=2))
    return 0 if ratio is None or ratio >= 2 else 1


def main(argv: list[str]) -> int:
    benches = {
        "codec": codec_main,
        "link": link_main,
        "simulator": simulator_main,
        "console": console_main,
        "journal": journal_main,
    }
    chosen = argv or list(benches)
    unknown = [name for name in chosen if name not in benches]
    if unknown:
        print(f"usage: bench/run.py [{' '.join(benches)}]; unknown: {unknown}", file=sys.stderr)
        return 2
    failed = 0
    for number, name in enumerate(chosen):
        if number:
            print()
        print(f"== {name} ==")
        failed |= benches[name]()
    return failed


def link_main() -> int:
    import link  # bench/link.py, beside this file

    return link.main()


def simulator_main() -> int:
    import sim_speed  # bench/sim_speed.py, beside this file

    return sim_speed.main()


def journal_main() -> int:
    import journal  # bench/journal.py, beside this file: append vs raw write + fsync

    return journal.main([])


def console_main() -> int:
    import console  # bench/console.py, beside this file: the console in tmux under load

    sys.argv = [sys.argv[0]]
    return console.main()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
