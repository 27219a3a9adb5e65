"""Decoder fuzzing: random bytes and mutated valid frames, fed in random chunks.

`make fuzz` runs `python -m tests.fuzz_decoder --inputs 1000000`; the test suite runs a short one.
Counts every non-empty chunk between delimiters: each must come out as exactly one frame or error.
"""

from __future__ import annotations

import argparse
import json
import random
import time

from firmware_bridge.protocol import Decoder, Frame, Hello, Lease, SetParams, Stop, StopReason
from firmware_bridge.protocol import encode as encode_frame

_SEEDS = [
    encode_frame(Hello(1), 0),
    encode_frame(SetParams(1, 500, 100), 1),
    encode_frame(Lease(300), 2),
    encode_frame(Stop(StopReason.OPERATOR), 0xFFFF),
]


def _mutate(rng: random.Random, frame: bytes) -> bytes:
    data = bytearray(frame[:-1])
    for _ in range(rng.randrange(1, 4)):
        op = rng.randrange(4)
        if op == 0 and data:
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        elif op == 1 and data:
            del data[rng.randrange(len(data))]
        elif op == 2:
            data.insert(rng.randrange(len(data) + 1), rng.randrange(256))
        elif data:
            data[rng.randrange(len(data))] = rng.randrange(256)
    return bytes(data) + b"\x00"


def run(inputs: int, seed: int) -> dict[str, int]:
    rng = random.Random(seed)
    decoder = Decoder()
    exceptions = frames = errors = 0
    for _ in range(inputs):
        if rng.random() < 0.5:
            data = _mutate(rng, rng.choice(_SEEDS))
        else:
            data = rng.randbytes(rng.randrange(0, 300)) + b"\x00"
        try:
            results = []
            start = 0
            while start < len(data):
                end = min(len(data), start + rng.randrange(1, 64))
                results += decoder.feed(data[start:end])
                start = end
        except Exception:
            exceptions += 1
            decoder = Decoder()
            continue
        frames += sum(1 for r in results if isinstance(r, Frame))
        errors += sum(1 for r in results if not isinstance(r, Frame))
    chunks = decoder.stats["frames"] + decoder.errors
    return {
        "inputs": inputs,
        "seed": seed,
        "exceptions": exceptions,
        "frames": frames,
        "errors": errors,
        "chunks": chunks,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--inputs", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    started = time.perf_counter()
    report = run(args.inputs, args.seed)
    report["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(report))
    if report["exceptions"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
