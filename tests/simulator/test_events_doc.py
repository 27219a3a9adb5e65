"""docs/simulator.md's events-file table is what the simulator writes: every event, every field.

Every event the simulator can emit is produced here (each bundled scenario under a host's
session, then a small session of host commands and hands), written through the real events file,
and checked against the table, so the table cannot drift from the code again.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from serial import SerialException

from firmware_bridge.protocol import (
    ClearFault,
    EStop,
    FaultCode,
    Hello,
    Lease,
    SetParams,
    Start,
    Stop,
    StopReason,
    encode,
)
from simulator.events import EVENT_NAMES, EventLog
from simulator.scenario import bundled_names, load_scenario
from simulator.transport.inprocess import open_host_port
from tests.simulator.testbench import Bench, Host, make_bench

ROOT = Path(__file__).resolve().parents[2]
_ROW = re.compile(r"^\|\s*([^|]*?)\s*\|\s*([^|]*?)\s*\|[^|]*\|$")


def _top_level_items(cell: str) -> list[str]:
    """The cell split at commas outside parentheses."""
    items, depth, current = [], 0, ""
    for char in cell:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            items.append(current.strip())
            current = ""
        else:
            current += char
    return [item for item in [*items, current.strip()] if item]


def documented_events() -> dict[str, tuple[set[str], set[str]]]:
    """Event name to (fields always written, fields written only sometimes), from the table.

    A field whose explanation starts with "(only" is written only in the case it names."""
    text = (ROOT / "docs" / "simulator.md").read_text(encoding="utf-8")
    section = text.split("### The events file", 1)[1].split("\n## ", 1)[0]
    table: dict[str, tuple[set[str], set[str]]] = {}
    for line in section.splitlines():
        row = _ROW.match(line)
        if row is None or row.group(1) in ("event", "---"):
            continue
        always: set[str] = set()
        sometimes: set[str] = set()
        for item in _top_level_items(row.group(2)):
            name = re.match(r"`([a-z_]+)`", item)
            assert name, f"docs/simulator.md events table: {item!r} does not start with a `field`"
            rest = item[name.end() :].lstrip()
            (sometimes if rest.startswith("(only") else always).add(name.group(1))
        for event in re.findall(r"`([a-z_]+)`", row.group(1)):
            table[event] = (always, sometimes)
    return table


def _session(b: Bench) -> None:
    """Host commands and hands that no bundled scenario performs."""
    b.running()
    b.keep_running_ms(300)
    b.host.send(Stop(StopReason.OPERATOR))
    b.advance_ms(10)
    b.pen.press_button()  # the needle is still coasting down
    b.host.send(Lease(300))
    b.host.send(Start(1))
    b.keep_running_ms(200)
    b.host.send(Hello(1))  # a new host while running: host_reset
    b.host.send(SetParams(1, 1000, 120))
    b.host.send(Lease(300))
    b.host.send(Start(1))
    b.keep_running_ms(200)
    b.host.send(EStop(StopReason.OPERATOR))
    b.host.send(ClearFault(FaultCode.ESTOP))
    frame = bytearray(encode(Lease(300), 999))
    frame[3] ^= 0x01  # the pen's decoder refuses it: a bad CRC
    b.port.write(bytes(frame))
    b.advance_ms(100)


def _scenario_session(b: Bench) -> None:
    """A host running the pen for 30 s whatever the scenario does, as in test_scenario."""
    config = b.pen.config
    b.booted()
    b.host.send(Hello(1))
    b.host.send(SetParams(1, config.depth_min_um, config.speed_min_sps))
    b.host.send(Lease(300))
    b.host.send(Start(1))
    for _ in range(300):
        b.advance_ms(100)
        try:
            b.host.send(Lease(300))
        except SerialException:
            if b.pen.plugged:  # re-plugged: a host reopens the port
                b.host = Host(open_host_port(b.pen))


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, object]]:
    """Every record the events files got, over all the runs."""
    directory = tmp_path_factory.mktemp("events")
    runs = [(name, make_bench(load_scenario(name)), _scenario_session) for name in bundled_names()]
    runs.append(("session", make_bench(), _session))
    records: list[dict[str, object]] = []
    for name, b, drive in runs:
        log = EventLog(directory / f"{name}.jsonl", stamp=None)
        b.pen.add_listener(log)
        drive(b)
        b.pen.close()
        log.close()
        lines = (directory / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
        records += [json.loads(line) for line in lines]
    return records


def test_every_event_the_simulator_writes_has_exactly_the_documented_fields(
    written: list[dict[str, object]],
) -> None:
    table = documented_events()
    for record in written:
        event = str(record["event"])
        assert event in table, f"{event} is written but not in docs/simulator.md: {record}"
        always, sometimes = table[event]
        fields = set(record) - {"t_ns", "event"}
        assert fields - always - sometimes == set(), f"undocumented fields in {record}"
        assert always - fields == set(), f"documented fields missing from {record}"


def test_every_documented_event_and_field_is_written(written: list[dict[str, object]]) -> None:
    table = documented_events()
    assert set(table) == EVENT_NAMES
    for event, (always, sometimes) in table.items():
        seen = [set(r) for r in written if r["event"] == event]
        assert seen, f"{event} is documented but none was written"
        for name in always | sometimes:
            assert any(name in fields for fields in seen), f"{event}.{name} never written"
