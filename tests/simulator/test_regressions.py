"""Defects found in review of the simulator against docs/protocol.md, each pinned by a test."""

from __future__ import annotations

import pytest

from firmware_bridge.protocol import (
    Ack,
    EventCode,
    GetStatus,
    Hello,
    Lease,
    MotorState,
    SetParams,
    Start,
    Stop,
    StopReason,
)
from simulator.scenario import ScenarioError, parse_scenario
from tests.simulator.testbench import make_bench

# [pen] values that parse as the right type but that the pen cannot put on the wire or step its
# model with: each used to crash the simulator at HELLO or at the first TELEMETRY.
BAD_PEN_VALUES = [
    ("depth_min_um = -100", "depth_min_um = -100"),
    ("lease_min_ms = -5", "lease_min_ms = -5"),
    ("telemetry_period_ms = 70000", "telemetry_period_ms = 70000"),
    ("depth_step_um = 70000", "depth_step_um = 70000"),
    ("boot_ms = -100", "boot_ms = -100"),
    ("electronics_ma = -100000", "electronics_ma = -100000"),
    ("ambient_c = nan", "ambient_c = nan"),
    ("ambient_c = inf", "ambient_c = inf"),
    ("thermal_tau_s = nan", "thermal_tau_s = nan"),
    ("current_per_sps_ma = nan", "current_per_sps_ma = nan"),
    ("battery_critical_pct = nan", "battery_critical_pct = nan"),
    ("ambient_c = 1e308\ntemp_rise_at_max_c = 1e308", "ambient_c = 1e+308"),
]


@pytest.mark.parametrize(("line", "named"), BAD_PEN_VALUES, ids=[n for _, n in BAD_PEN_VALUES])
def test_s9_pen_values_the_wire_or_the_model_cannot_carry_are_refused(
    line: str, named: str
) -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(f"[pen]\n{line}\n", "test.toml")
    message = str(caught.value)
    assert message.startswith("test.toml:2: [pen] "), message  # the key's own line
    assert named in message


def test_s9_the_largest_accepted_pen_values_still_run_a_session() -> None:
    scenario = parse_scenario(
        "[pen]\nbattery_full_mv = 65535\ntelemetry_period_ms = 65535\n"
        "ambient_c = -50.0\ntemp_rise_at_max_c = 200.0\n",
        "test.toml",
    )
    b = make_bench(scenario).identified()  # IDENTIFY carries the period
    assert isinstance(b.host.request(GetStatus()), Ack)
    assert b.host.telemetry()[-1].battery_mv > 50_000


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[[fault]]\nat_ms = 1\naction = ["stall"]\n',
            "test.toml:3: fault #1: action = ['stall'] is not one of",
        ),
        (
            "[[fault]]\nat_ms = 1\naction = {name = 'stall'}\n",
            "test.toml:3: fault #1: action = {'name': 'stall'} is not one of",
        ),
        (
            '[[fault]]\nat_ms = 1\naction = "drop"\ntypes = []\n',
            "test.toml:4: fault #1 (drop): types = []: name at least one message type",
        ),
        ('[cartridge]\nseated = "no"\n', "test.toml:2: [cartridge] seated = 'no': must be true"),
    ],
    ids=["action list", "action table", "empty types", "seated text"],
)
def test_s9_a_value_of_the_wrong_shape_is_refused_not_crashed_on_or_ignored(
    text: str, message: str
) -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, "test.toml")
    assert str(caught.value).startswith(message), str(caught.value)


@pytest.mark.parametrize(
    "reason",
    [
        StopReason.LEASE_EXPIRED,
        StopReason.BUTTON,
        StopReason.FAULT,
        StopReason.CARTRIDGE_REMOVED,
        StopReason.ESTOP,
        StopReason.HOST_RESET,
    ],
)
def test_a_host_stop_is_a_stop_in_the_events_file_whatever_reason_it_names(
    reason: StopReason,
) -> None:
    """Issue 4's vocabulary: `stop` is the host's STOP (a coast); `estop`, `fault`, `button`,
    `lease_expired` are things the pen itself did, and a reader of the file must tell them apart."""
    b = make_bench().running()
    assert isinstance(b.host.request(Stop(reason)), Ack)
    assert b.named("motor_stopped")[-1].data == {
        "reason": "stop",
        "host_reason": reason.name.lower(),
    }
    assert b.host.events()[-1] is EventCode.MOTOR_STOPPED


def test_s4_the_button_brakes_a_motor_still_coasting_after_a_stop() -> None:
    """protocol.md §7.7: the button stops the motor at once, also when a STOP (or a HELLO) has
    only switched it off and the needle is still ramping down."""
    b = make_bench().running()
    b.keep_running_ms(500)
    assert isinstance(b.host.request(Stop(StopReason.OPERATOR)), Ack)
    b.advance_ms(20)
    assert b.fw.model.motor_state is MotorState.RAMPING_DOWN
    b.pen.press_button()
    assert b.fw.model.speed_sps == 0
    assert b.fw.model.motor_state is MotorState.STOPPED
    assert b.host.events()[-1] is EventCode.BUTTON_STOP
    assert [e.event for e in b.pen.events].count("motor_stopped") == 1  # reported once, by STOP


def test_s4_the_button_brakes_a_motor_coasting_after_a_hello() -> None:
    b = make_bench().running()
    b.keep_running_ms(500)
    assert isinstance(b.host.request(Hello(1)), Ack)
    b.pen.press_button()
    assert b.fw.model.speed_sps == 0
    b.host.request(SetParams(2, 1000, 120))
    b.host.request(Lease(300))
    assert isinstance(b.host.request(Start(2)), Ack)  # not a fault: the host starts again
