"""The sans-IO firmware core as its owner and a host see it: what a pen made with the defaults
is, that a seed makes every run the same, and the counters the protocol promises
(protocol.md §4, EVENT: `event_counter` rises by one per EVENT frame from 0 at boot).
"""

from __future__ import annotations

import pytest

from firmware_bridge.clock import NS_PER_MS, VirtualClock
from firmware_bridge.protocol import (
    Ack,
    CartridgeState,
    Decoder,
    EStop,
    Event,
    EventCode,
    FaultCode,
    Frame,
    Hello,
    Lease,
    Message,
    PenState,
    SetParams,
    Start,
    StopReason,
    Telemetry,
    encode,
)
from simulator.config import DEFAULT_CARTRIDGE, PenConfig
from simulator.firmware import Firmware
from simulator.pen import SimulatedPen
from simulator.transport.inprocess import open_host_port
from tests.simulator.testbench import TODAY, Bench, Host, make_bench

CONFIG = PenConfig()
SESSION: list[tuple[int, Message]] = [
    (300, Hello(1)),
    (301, SetParams(1, 1000, 120)),
    (302, Lease(1000)),
    (303, Start(1)),
    (800, Lease(1000)),
    (1200, EStop(StopReason.UNSPECIFIED)),
]


def _frames_out(fw: Firmware, session: list[tuple[int, Message]], end_ms: int) -> list[bytes]:
    for seq, (at_ms, message) in enumerate(session):
        fw.receive(encode(message, seq), at_ms * NS_PER_MS)
    fw.advance_to(end_ms * NS_PER_MS)
    return fw.take_output()


def test_a_firmware_made_without_seed_or_time_is_the_seed_0_pen_powered_on_at_0() -> None:
    made_bare = Firmware(CONFIG, cartridge=DEFAULT_CARTRIDGE, today_yyyymmdd=TODAY)
    made_explicit = Firmware(
        CONFIG, cartridge=DEFAULT_CARTRIDGE, today_yyyymmdd=TODAY, seed=0, now_ns=0
    )
    assert _frames_out(made_bare, SESSION, 2000) == _frames_out(made_explicit, SESSION, 2000)


def test_a_pen_first_woken_long_after_power_on_booted_at_boot_ms() -> None:
    """Woken first a second after power-on (no host yet, so no telemetry slot splits the
    time): it reports its boot at exactly `boot_ms`, not when it was woken."""
    fw = Firmware(CONFIG, cartridge=DEFAULT_CARTRIDGE, today_yyyymmdd=TODAY)
    fw.advance_to(5 * CONFIG.boot_ms * NS_PER_MS)
    assert fw.state is PenState.IDLE
    assert [e.t_ns for e in fw.take_events() if e.event == "boot"] == [CONFIG.boot_ms * NS_PER_MS]


def test_the_same_seed_and_inputs_give_the_same_bytes_out_noise_included() -> None:
    """Two pens of seed 5 given the same frames at the same times send the same bytes
    (the sensors' noise too); a pen of another seed reads other noise."""
    runs = [
        _frames_out(
            Firmware(CONFIG, cartridge=DEFAULT_CARTRIDGE, today_yyyymmdd=TODAY, seed=seed),
            SESSION,
            2000,
        )
        for seed in (5, 5, 6)
    ]
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


def test_a_fresh_pen_remembers_no_pulled_cartridge() -> None:
    fw = make_bench().fw
    assert fw.last_removed is None and fw.cartridge == DEFAULT_CARTRIDGE


def test_a_pen_is_identified_from_its_hello_until_it_next_powers_on() -> None:
    b = make_bench().booted()
    assert b.fw.identified is False
    assert isinstance(b.host.request(Hello(1)), Ack)
    assert b.fw.identified is True
    b.pen.reboot()
    assert b.fw.identified is False


def test_event_counters_rise_by_one_per_event_frame_from_0_at_boot() -> None:
    fw = Firmware(CONFIG, cartridge=DEFAULT_CARTRIDGE, today_yyyymmdd=TODAY)
    decoder = Decoder()
    frames = decoder.feed(b"".join(_frames_out(fw, SESSION, 2000)))
    counters = [
        f.message.event_counter
        for f in frames
        if isinstance(f, Frame) and isinstance(f.message, Event)
    ]
    assert len(counters) >= 4  # BOOT, MOTOR_STARTED, ESTOP_ENGAGED, MOTOR_STOPPED
    assert counters == list(range(len(counters)))


def test_an_idle_pen_drains_its_electronics_current_one_tick_at_a_time_from_power_on() -> None:
    """40 mA for an hour is 40 mAh: 180,000 ticks of 20 ms, the first a tick after power-on."""
    fw = Firmware(CONFIG, cartridge=DEFAULT_CARTRIDGE, today_yyyymmdd=TODAY)
    start_mah = fw.model.battery_mah
    fw.advance_to(3_600_000 * NS_PER_MS)
    drained = CONFIG.electronics_ma * 1.0
    assert abs(fw.model.battery_mah - (start_mah - drained)) < 1e-6


def test_the_bare_firmware_records_each_host_frame_unless_its_owner_turns_that_off() -> None:
    """`command_events` is on by default (a SimulatedPen turns it off when nobody listens)."""
    for turned_off in (False, True):
        fw = Firmware(CONFIG, cartridge=DEFAULT_CARTRIDGE, today_yyyymmdd=TODAY)
        if turned_off:
            fw.command_events = False
        fw.receive(encode(Hello(1), 7), 300 * NS_PER_MS)
        commands = [e.data for e in fw.take_events() if e.event == "command"]
        assert commands == ([] if turned_off else [{"type": "HELLO", "seq": 7, "result": "ack"}])


# ---- what falls at the same moment --------------------------------------------------------


def test_a_sample_due_at_the_same_moment_as_a_tick_reports_what_that_tick_did() -> None:
    """HELLO at 300 ms puts a telemetry slot on every fifth tick (400, 500, ... ms). The needle
    travels 80 µm a tick from 0 towards 1 mm; every sample, those on a tick too, reports the
    depth after every tick up to its own time."""
    quiet = PenConfig(depth_noise_um=0, current_noise_ma=0)
    fw = Firmware(quiet, cartridge=DEFAULT_CARTRIDGE, today_yyyymmdd=TODAY)
    fw.receive(encode(Hello(1), 0), 300 * NS_PER_MS)
    fw.receive(encode(SetParams(1, 1000, 120), 1), 300 * NS_PER_MS)
    fw.advance_to(600 * NS_PER_MS)
    samples = [
        f.message
        for f in Decoder().feed(b"".join(fw.take_output()))
        if isinstance(f, Frame) and isinstance(f.message, Telemetry)
    ]
    travel = quiet.depth_travel_um_per_s * quiet.tick_ms // 1000
    for sample in samples:
        at_ms = 300 + (sample.counter + 1) * quiet.telemetry_period_ms
        ticks = (at_ms - 300) // quiet.tick_ms
        assert sample.depth_um == min(1000, ticks * travel), at_ms
    assert len(samples) == 6


def test_s5_a_lease_lapsing_at_the_tick_a_stall_window_closes_stops_the_motor_first() -> None:
    """The lease is enforced at its exact deadline, before the control tick due then: the
    lapse latches LEASE_EXPIRED and the tick finds a stopped motor, not a stall."""
    b = make_bench().running()
    b.keep_running_ms(1000)
    tick_ms = CONFIG.tick_ms
    b.advance_ms(tick_ms - b.clock.monotonic_ns() // NS_PER_MS % tick_ms - 1)  # 1 ms before
    b.pen.inject("stall", load=0.5)  # 60 of 120 strokes/s: a stall from the next tick
    b.advance_ms(1)
    assert isinstance(b.host.request(Lease(CONFIG.stall_window_ms)), Ack)
    b.advance_ms(CONFIG.stall_window_ms + 100)
    assert b.fw.latched_faults == (FaultCode.LEASE_EXPIRED,)


def test_s6_a_pen_powered_on_too_hot_latches_over_temperature_as_its_boot_ends() -> None:
    """The first checks run at the tick due as the boot ends, on the booted pen."""
    hot = PenConfig(ambient_c=45.0)
    fw = Firmware(hot, cartridge=DEFAULT_CARTRIDGE, today_yyyymmdd=TODAY)
    fw.advance_to(1000 * NS_PER_MS)
    events = [(e.event, e.t_ns) for e in fw.take_events() if e.event in ("boot", "fault_raised")]
    assert events == [("boot", hot.boot_ms * NS_PER_MS), ("fault_raised", hot.boot_ms * NS_PER_MS)]


@pytest.mark.parametrize("power_on_ns", [0, 7_500_000_123])
def test_before_hello_a_fault_a_tick_raises_reaches_the_host_within_a_telemetry_period(
    power_on_ns: int,
) -> None:
    """No HELLO yet, so no telemetry: the pen still wakes every telemetry period from its
    power-on (whenever that was on the host's clock), and sends what its ticks raised then."""
    clock = VirtualClock(start_ns=power_on_ns)
    pen = SimulatedPen(clock, seed=1, today_yyyymmdd=TODAY)
    port = open_host_port(pen, timeout=0)
    b = Bench(clock, pen, port, Host(port))
    b.advance_ms(1000)  # booted, and on a telemetry slot of its own
    b.pen.inject("overheat", to_c=48.0)
    b.advance_ms(CONFIG.telemetry_period_ms)
    assert EventCode.FAULT_RAISED in b.host.events()
    assert b.fw.active_fault is FaultCode.OVER_TEMPERATURE


# ---- what the booted pen finds at its first checks ---------------------------------------


def test_s6_a_needle_drifting_as_the_pen_boots_latches_a_full_window_after_the_first_check() -> (
    None
):
    b = make_bench()
    b.pen.inject("depth_drift", rate_um_per_s=0, offset_um=CONFIG.depth_tolerance_um + 10)
    b.advance_ms(1000)
    [boot] = b.named("boot")
    assert [e.t_ns for e in b.named("fault_raised")] == [
        boot.t_ns + CONFIG.depth_disagree_window_ms * NS_PER_MS
    ]


def test_a_pen_powered_on_with_a_low_battery_warns_as_its_boot_ends() -> None:
    b = make_bench(config=PenConfig(battery_start_pct=CONFIG.battery_low_pct - 1))
    b.advance_ms(1000)
    [boot] = b.named("boot")
    assert [e.t_ns for e in b.named("battery_low")] == [boot.t_ns]


def test_s8_a_cartridge_is_usable_through_its_expiry_date_and_expired_the_day_after() -> None:
    for expiry, state in ((TODAY, CartridgeState.FRESH), (20260531, CartridgeState.EXPIRED)):
        cartridge = DEFAULT_CARTRIDGE.replace(expiry_yyyymmdd=expiry)
        assert make_bench(cartridge=cartridge).booted().fw.cartridge_state is state
