"""bench/link.py still runs: every measurement once or a few times, no figures judged.

The speed goals live in the bench (`make bench`), never in tests: this only keeps its code from
rotting as the link, the simulator or pymodbus change.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).parents[2] / "bench" / "link.py"


@pytest.fixture(scope="module")
def link_bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("penctl_bench_link", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_the_link_bench_runs_end_to_end_with_tiny_counts(link_bench: ModuleType) -> None:
    results = link_bench.run(
        rtt_rounds=1, rtt_per_round=3, rtt_warmup=1, stop_trials=2, lease_trials=1
    )

    workloads = set(results["round_trip"]["summary"])
    expected = {
        link_bench.PENCTL,
        link_bench.CORE,
        link_bench.BARE,
        link_bench.ECHO_RAW,
        link_bench.ECHO_PYSERIAL,
    }
    if link_bench._modbus_available():
        expected.add(link_bench.MODBUS)
    assert workloads == expected
    assert all(s["n"] == 3 for s in results["round_trip"]["summary"].values())
    assert results["stop"]["summary"]["n"] == 2
    assert len(results["lease_kill"]["trials"]) == 1
    assert [g["met"] in (True, False) for g in results["goals"]] == [True] * 4
    json.dumps(results)
    table = link_bench.report(results)
    assert "Stop latency" in table and "lease" in table
