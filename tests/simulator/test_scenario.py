"""Scenario files: the bundled library loads and runs; bad files get file:line messages (S9)."""

from __future__ import annotations

from pathlib import Path

import pytest
from serial import SerialException

from firmware_bridge.protocol import Hello, Lease, SetParams, Start
from simulator.config import CartridgeSpec
from simulator.scenario import (
    ScenarioError,
    bundled_names,
    fault_spec,
    list_scenarios,
    load_scenario,
    parse_scenario,
)
from simulator.transport.inprocess import open_host_port
from tests.simulator.testbench import Host, make_bench


def test_the_library_ships_at_least_one_scenario_per_kind_of_fault() -> None:
    actions = {f.action for name in bundled_names() for f in load_scenario(name).faults}
    assert actions >= {
        "drop",
        "corrupt",
        "duplicate",
        "delay",
        "split",
        "silent",
        "unplug",
        "reboot",
        "button",
        "stall",
        "overheat",
        "drain_battery",
        "pull_cartridge",
        "seat_cartridge",
        "depth_drift",
        "zero_byte",
        "cut",
        "pace",
        "weak_battery",
        "stuck_sensor",
        "depth_stuck",
        "clock_drift",
        "internal_fault",
        "half_seated",
        "intermittent_cartridge",
    }
    assert all(description for _, description in list_scenarios())


@pytest.mark.parametrize("name", bundled_names())
def test_every_bundled_scenario_runs_a_session(name: str) -> None:
    scenario = load_scenario(name)
    b = make_bench(scenario).booted()
    config = b.pen.config
    for message in (Hello(1), SetParams(1, config.depth_min_um, config.speed_min_sps)):
        b.host.send(message)
    b.host.send(Lease(300))
    b.host.send(Start(1))
    for _ in range(300):  # 30 s of a host renewing its lease, whatever happens
        b.advance_ms(100)
        try:
            b.host.send(Lease(300))
        except SerialException:
            if b.pen.plugged:  # re-plugged: a host reopens the port
                b.host = Host(open_host_port(b.pen))
    fired = {e.data["fault"] for e in b.named("fault_injected")}
    assert {f.index for f in scenario.faults if f.trigger.nth == 1} <= fired


def test_a_scenario_sets_the_pen_and_the_cartridge() -> None:
    scenario = load_scenario("dermapen-like")
    assert (scenario.pen.depth_min_um, scenario.pen.depth_max_um) == (200, 3000)
    assert scenario.cartridge == CartridgeSpec(needle_length_um=3000, needle_count=16)
    assert load_scenario("no-cartridge").cartridge is None


def test_load_by_path(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text('seed = 9\n[[fault]]\nat_ms = 5\naction = "reboot"\n')
    scenario = load_scenario(path)
    assert (scenario.name, scenario.seed, scenario.faults[0].action) == ("mine", 9, "reboot")


BAD = [
    ('seed = "x"\n', "test.toml:1: seed = 'x': must be a whole number"),
    ("[[fault]]\nat_ms = 5\n", "test.toml:1: fault #1 has no action"),
    (
        '[[fault]]\nat_ms = 1\naction = "stal"\n',
        "test.toml:3: fault #1: action = 'stal' is not one of",
    ),
    (
        '\n[[fault]]\nat_ms = 1\naction = "drop"\n\n[[fault]]\nat_ms = 1\naction = "drop"\n'
        "rate = 1.5\n",
        "test.toml:9: fault #2 (drop): rate = 1.5: must be between 0 and 1",
    ),
    (
        '[[fault]]\naction = "reboot"\n',
        "test.toml:1: fault #1 (reboot): give exactly one of at_ms",
    ),
    (
        '[[fault]]\non = "STRAT"\naction = "reboot"\n',
        "test.toml:2: fault #1 (reboot): on = 'STRAT' is neither a host command",
    ),
    (
        '[[fault]]\nat_ms = 1\naction = "reboot"\nload = 1\n',
        "test.toml:4: fault #1 (reboot): unknown key 'load'; reboot takes no parameters",
    ),
    (
        '[[fault]]\nat_ms = 1\naction = "drop"\ndirection = "up"\n',
        "test.toml:4: fault #1 (drop): direction = 'up': must be one of both, to_pen, to_host",
    ),
    (
        '[[fault]]\nat_ms = 1\naction = "drop"\ntypes = ["ACK", "BEEP"]\n',
        "test.toml:4: fault #1 (drop): types = ['ACK', 'BEEP']: unknown message types ['BEEP']",
    ),
    ("[pen]\ndepth_min_um = 3000\n", "test.toml:2: [pen] depth_min_um = 3000 is above"),
    ("[pen]\ntick = 5\n", "test.toml:2: [pen] has no key 'tick'"),
    ("[pen]\nambient_c = true\n", "test.toml:2: [pen] ambient_c = True: must be a number"),
    ('[cartridge]\nexpiry = "soon"\n', "test.toml:2: [cartridge] expiry = 'soon': must be a date"),
    ("[cartridge]\nneedle_count = 0\n", "test.toml:2: [cartridge] needle_count = 0: must be"),
    # Scenarios that cannot work (each value fine alone): refused at the key the file wrote.
    (
        "[pen]\ntelemetry_period_ms = 50\ntick_ms = 60\n",
        "test.toml:3: [pen] tick_ms = 60 is longer than telemetry_period_ms = 50",
    ),
    ("[pen]\nambient_c = 45.0\n", "test.toml:2: [pen] over_temp_c = 41 is not above ambient_c"),
    ("[pen]\nbattery_start_pct = 4.0\n", "test.toml:2: [pen] battery_start_pct = 4 is not above"),
    (
        "[pen]\ndepth_min_um = 250\n[cartridge]\nneedle_length_um = 200\n",
        "test.toml:4: [cartridge] needle_length_um = 200 is shorter than the pen's depth_min_um",
    ),
    (
        '[[fault]]\nat_ms = 999999999999\naction = "reboot"\n',
        "test.toml:2: fault #1 (reboot): at_ms = 999999999999: more than a week",
    ),
    (
        '[[fault]]\nat_ms = 1\naction = "unplug"\nfor_ms = 999999999999\n',
        "test.toml:4: fault #1 (unplug): for_ms = 999999999999: more than a week",
    ),
    ("\nseed = -1\n", "test.toml:2: seed = -1: must be between 0 and 2**64 - 1"),
    ("colour = 3\n", "test.toml:1: unknown key 'colour'"),
    ("[[fault]\n", "test.toml:1:8: not valid TOML"),
]


@pytest.mark.parametrize(("text", "message"), BAD, ids=[m.split(": ", 1)[1][:40] for _, m in BAD])
def test_s9_a_bad_scenario_is_refused_naming_file_line_key_value_and_reason(
    text: str, message: str
) -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, "test.toml")
    assert str(caught.value).startswith(message), str(caught.value)


def test_s9_an_unknown_scenario_name_lists_the_bundled_ones() -> None:
    with pytest.raises(ScenarioError, match="flaky-link"):
        load_scenario("no-such-scenario")


def test_inject_checks_its_parameters_like_a_file() -> None:
    with pytest.raises(ScenarioError, match="load = 2: must be between"):
        fault_spec("stall", load=2)


def test_a_delay_longer_than_the_lease_is_warned_naming_the_key_and_its_line() -> None:
    scenario = parse_scenario(
        '[[fault]]\nat_ms = 1\naction = "delay"\n\ndelay_ms = 1000\n', "test.toml"
    )
    (warning,) = scenario.warnings
    assert warning.startswith(
        "test.toml:5: fault #1 (delay): delay_ms = 1000 is not shorter than the longest lease"
    )
    assert parse_scenario('[[fault]]\nat_ms = 1\naction = "delay"\n').warnings == ()
