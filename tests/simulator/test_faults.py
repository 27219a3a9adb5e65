"""Every fault of the scenario language, and its triggers, through scenario text; seeded."""

from __future__ import annotations

import pytest
from serial import SerialException

from firmware_bridge.protocol import (
    Ack,
    CartridgeState,
    ClearFault,
    EventCode,
    FaultCode,
    GetStatus,
    Hello,
    Lease,
    NakReason,
    PenState,
    SetParams,
    Start,
)
from firmware_bridge.protocol.codec import ErrorKind
from simulator.events import SimEvent
from simulator.transport.inprocess import open_host_port
from tests.simulator.testbench import Bench, Host, scenario_bench


def _start(b: Bench) -> int:
    b.ready()
    b.host.request(Lease(300))
    return b.host.send(Start(1))


# ---- wire faults ---------------------------------------------------------------------------


def test_drop_the_reply_to_the_first_start_then_the_retransmit_gets_it() -> None:
    b = scenario_bench(
        """
        [[fault]]
        on = "START"
        action = "drop"
        direction = "to_host"
        types = ["ack"]
        frames = 1
        """
    )
    seq = _start(b)
    assert not [m for m in b.host.poll() if isinstance(m, Ack)]
    assert b.fw.state is PenState.RUNNING  # the pen did start; only its ACK was lost
    b.host.send(Start(1), seq=seq, flags=1)
    assert b.host.reply(seq).pen_state is PenState.RUNNING
    assert b.named("motor_started") and len(b.named("frame_dropped")) == 1
    assert b.named("frame_dropped")[0].data == {
        "direction": "to_host",
        "fault": 1,
        "cause": "injected",
    }


def test_drop_host_frames_at_a_rate_is_seeded() -> None:
    text = """
    [[fault]]
    at_ms = 0
    action = "drop"
    direction = "to_pen"
    rate = 0.3
    """

    def answered(seed: int) -> list[int]:
        b = scenario_bench(text, seed=seed).booted()
        for seq in range(200):
            b.host.send(Hello(1) if seq == 0 else GetStatus(), seq=seq)
        b.host.poll()
        return sorted({f.message.ack_seq for f in b.host.frames if isinstance(f.message, Ack)})

    first = answered(3)
    assert 100 < len(first) < 180  # about 70 % get through
    assert answered(3) == first
    assert answered(4) != first


def test_corrupt_frames_to_the_host_fail_their_crc_there() -> None:
    b = scenario_bench(
        """
        [[fault]]
        on = "HELLO"
        action = "corrupt"
        direction = "to_host"
        rate = 0.5
        for_ms = 1000
        """
    ).identified()
    b.advance_ms(1000)
    b.host.poll()
    corrupted = len(b.named("frame_corrupted"))
    assert 5 < corrupted < 20
    assert len(b.host.errors) == corrupted
    assert {e.kind for e in b.host.errors} <= {
        ErrorKind.BAD_CRC,
        ErrorKind.TRUNCATED,
        ErrorKind.BAD_LENGTH,
    }


def test_corrupt_frames_to_the_pen_are_dropped_there_unanswered() -> None:
    b = scenario_bench(
        """
        [[fault]]
        on = "HELLO"
        action = "corrupt"
        direction = "to_pen"
        frames = 1
        """
    ).identified()
    b.host.send(Lease(300))
    b.advance_ms(50)
    assert not [m for m in b.host.poll() if isinstance(m, Ack)]
    assert sum(v for k, v in b.fw.stats.items() if k.startswith("rx_") and k != "rx_frames") == 1
    assert isinstance(b.host.request(Lease(300)), Ack)


def test_duplicate_frames_reach_the_host_twice_with_the_same_seq() -> None:
    b = scenario_bench(
        """
        [[fault]]
        on = "HELLO"
        after_ms = 1
        action = "duplicate"
        direction = "to_host"
        types = ["TELEMETRY"]
        frames = 3
        """
    ).identified()
    b.advance_ms(300)
    counters = [t.counter for t in b.host.telemetry()]
    assert counters[:6] == [0, 0, 1, 1, 2, 2]
    assert counters[6:] == list(range(3, len(counters) - 3))


def test_delay_holds_frames_back_in_order() -> None:
    b = scenario_bench(
        """
        [[fault]]
        on = "HELLO"
        after_ms = 1
        action = "delay"
        direction = "to_host"
        delay_ms = 120
        """
    ).identified()
    b.advance_ms(1)
    seq = b.host.send(Lease(300))
    b.advance_ms(100)
    assert not [f for f in b.host.frames if isinstance(f.message, Ack) and f.message.ack_seq == seq]
    b.advance_ms(25)
    assert b.host.reply(seq).lease_remaining_ms == 300
    pen_seqs = [f.seq for f in b.host.frames]
    assert pen_seqs == sorted(pen_seqs)  # a serial line keeps order


def test_a_frame_a_fault_held_back_reaches_the_pen_under_the_pens_lock() -> None:
    """On a real clock, a held-back frame is released from the clock's thread while the host's
    thread may be writing to the pen: the pen's one lock must cover that delivery, as it covers
    every other way into the pen (listeners run under it)."""
    b = scenario_bench(
        """
        [[fault]]
        on = "HELLO"
        after_ms = 1
        action = "delay"
        direction = "to_pen"
        delay_ms = 20
        """
    ).identified()
    unlocked: list[str] = []

    def listen(event: SimEvent) -> None:
        if not b.pen.lock._is_owned():  # type: ignore[attr-defined]
            unlocked.append(event.event)

    b.pen.add_listener(listen)
    b.advance_ms(1)
    seq = b.host.send(Lease(300))
    b.advance_ms(100)
    assert b.host.reply(seq).lease_remaining_ms == 300
    assert any(e.event == "frame_delayed" for e in b.pen.events)
    assert unlocked == []


def test_split_frames_arrive_in_parts_and_still_decode() -> None:
    b = scenario_bench(
        """
        [[fault]]
        at_ms = 0
        action = "split"
        direction = "to_host"
        parts = 3
        gap_ms = 2
        """
    ).booted()
    b.host.send(Hello(1))
    b.advance_ms(1)
    assert b.port.in_waiting > 0 and not b.host.poll()  # the first part only
    b.advance_ms(30)
    assert [type(m).__name__ for m in b.host.poll()] == ["Ack", "Identify", "Cartridge"]
    assert len(b.named("frame_split")) == 4  # the BOOT event and the three replies


def test_silent_link_lets_the_lease_lapse_and_the_pen_stops_itself() -> None:
    """S5: a pen whose host goes quiet stops on its own."""
    b = scenario_bench(
        """
        [[fault]]
        on = "motor_started"
        after_ms = 100
        action = "silent"
        for_ms = 1000
        """
    )
    _start(b)
    b.keep_running_ms(1000)
    assert b.fw.state is PenState.FAULTED
    assert b.fw.active_fault is FaultCode.LEASE_EXPIRED
    lapse = b.named("lease_expired")[0].t_ns
    silent = b.named("link_silent")[0].t_ns
    assert lapse <= silent + 300 * 1_000_000
    heard = len(b.host.frames)
    b.advance_ms(200)
    assert b.host.telemetry()[-1].active_fault is FaultCode.LEASE_EXPIRED
    assert len(b.host.frames) > heard


def test_unplug_closes_the_port_and_the_pen_stops_on_its_lease() -> None:
    b = scenario_bench(
        """
        [[fault]]
        on = "motor_started"
        after_ms = 500
        action = "unplug"
        for_ms = 2000
        """
    )
    _start(b)
    b.keep_running_ms(400)
    b.advance_ms(100)
    with pytest.raises(SerialException):
        b.port.write(Lease(300).pack())
    with pytest.raises(SerialException):
        b.port.read(1)
    b.advance_ms(400)
    assert b.fw.state is PenState.FAULTED  # no host, no lease: stopped by itself
    with pytest.raises(SerialException):
        open_host_port(b.pen)  # still unplugged
    b.advance_ms(2000)
    host = Host(open_host_port(b.pen))
    assert host.request(Hello(1)).pen_state is PenState.FAULTED  # nothing resumes by itself
    assert [e.event for e in b.pen.events if e.event.startswith("link_")] == [
        "link_unplugged",
        "link_replugged",
    ]


def test_reboot_loses_state_and_announces_boot() -> None:
    b = scenario_bench(
        """
        [[fault]]
        on = "START"
        nth = 2
        after_ms = 100
        action = "reboot"
        """
    )
    _start(b)
    b.host.request(Start(1))  # the second START (idempotent while running)
    b.keep_running_ms(200)
    assert b.fw.state is PenState.BOOTING and not b.fw.motor_running
    assert b.named("motor_stopped")[-1].data["reason"] == "reboot"
    b.host.poll()
    rebooted = len(b.host.frames) - 2  # the two LEASEs since were refused while booting
    assert [f.message.reason for f in b.host.frames[rebooted:]] == [NakReason.BAD_STATE] * 2
    b.advance_ms(300)
    assert b.host.events()[-1] is EventCode.BOOT
    assert b.host.request(Lease(300)).reason is NakReason.NOT_IDENTIFIED
    assert [f.seq for f in b.host.frames[rebooted:]] == [0, 1, 2, 3]  # numbered from 0 again


# ---- device faults -------------------------------------------------------------------------


def test_button_in_a_scenario() -> None:
    b = scenario_bench('[[fault]]\non = "motor_started"\nafter_ms = 200\naction = "button"\n')
    _start(b)
    b.keep_running_ms(300)
    assert b.fw.state is PenState.READY
    assert b.named("motor_stopped")[-1].data["reason"] == "button"


def test_a_jam_spikes_the_current_and_latches_over_current() -> None:
    b = scenario_bench(
        """
        [[fault]]
        on = "motor_started"
        after_ms = 500
        action = "stall"
        for_ms = 1000
        """
    )
    _start(b)
    b.keep_running_ms(600)
    assert b.fw.active_fault is FaultCode.OVER_CURRENT
    stopped = b.named("motor_stopped")[-1].data
    assert stopped == {"reason": "fault", "fault": "over_current"}
    assert isinstance(b.host.request(ClearFault(FaultCode.OVER_CURRENT)), Ack)


def test_a_drag_slows_the_motor_and_latches_motor_stall_until_it_is_free() -> None:
    b = scenario_bench(
        """
        [[fault]]
        on = "motor_started"
        after_ms = 500
        action = "stall"
        load = 0.4
        for_ms = 2000
        """
    )
    _start(b)
    b.keep_running_ms(600)
    dragged = b.host.telemetry()[-1]
    assert 60 <= dragged.speed_sps <= 80 and dragged.motor_current_ma > 500  # the spike
    b.keep_running_ms(400)
    assert b.fw.active_fault is FaultCode.MOTOR_STALL
    nak = b.host.request(ClearFault(FaultCode.MOTOR_STALL))
    assert nak.reason is NakReason.FAULT_CAUSE_PRESENT
    b.advance_ms(2000)
    assert isinstance(b.host.request(ClearFault(FaultCode.MOTOR_STALL)), Ack)


def test_drain_and_charge_the_battery() -> None:
    b = scenario_bench(
        """
        [[fault]]
        at_ms = 1000
        action = "drain_battery"
        to_pct = 3

        [[fault]]
        at_ms = 2000
        action = "charge_battery"
        to_pct = 80
        """
    ).identified()
    b.advance_ms(900)
    b.advance_ms(200)
    assert b.fw.active_fault is FaultCode.BATTERY_CRITICAL
    assert b.host.telemetry()[-1].battery_pct == 3
    assert b.host.request(ClearFault(FaultCode.BATTERY_CRITICAL)).reason is (
        NakReason.FAULT_CAUSE_PRESENT
    )
    b.advance_ms(1000)
    assert isinstance(b.host.request(ClearFault(FaultCode.BATTERY_CRITICAL)), Ack)


def test_overheat_latches_over_temperature() -> None:
    b = scenario_bench('[[fault]]\nat_ms = 500\naction = "overheat"\nto_c = 48.5\n').identified()
    b.advance_ms(400)
    assert b.fw.active_fault is FaultCode.OVER_TEMPERATURE
    assert b.host.telemetry()[-1].temperature_cdeg > 4800


def test_depth_drift_latches_sensor_disagreement_until_it_ends() -> None:
    b = scenario_bench(
        """
        [[fault]]
        on = "params_applied"
        action = "depth_drift"
        rate_um_per_s = 400
        for_ms = 3000
        """
    ).identified()
    b.host.request(SetParams(1, 1000, 120))
    b.advance_ms(1000)
    assert b.fw.active_fault is FaultCode.DEPTH_SENSOR_DISAGREE
    fault_at = b.named("fault_raised")[0].t_ns - b.named("params_applied")[0].t_ns
    assert 375_000_000 <= fault_at <= 650_000_000  # beyond 150 µm, then 200 ms in a row
    assert b.host.request(ClearFault(FaultCode.DEPTH_SENSOR_DISAGREE)).reason is (
        NakReason.FAULT_CAUSE_PRESENT
    )
    b.advance_ms(2500)
    assert isinstance(b.host.request(ClearFault(FaultCode.DEPTH_SENSOR_DISAGREE)), Ack)


def test_pull_and_reseat_the_cartridge_from_a_scenario() -> None:
    """S8 through the scenario language."""
    b = scenario_bench(
        """
        [[fault]]
        on = "motor_stopped"
        after_ms = 100
        action = "pull_cartridge"

        [[fault]]
        on = "cartridge_removed"
        after_ms = 500
        action = "seat_cartridge"

        [[fault]]
        on = "cartridge_reattached"
        after_ms = 500
        action = "seat_cartridge"
        fresh = true
        """
    )
    _start(b)
    b.pen.press_button()
    b.advance_ms(700)
    assert b.fw.cartridge_state is CartridgeState.LOCKED_OUT
    b.advance_ms(500)
    assert b.fw.cartridge_state is CartridgeState.FRESH
    assert b.host.cartridges()[-1].serial == "CART-0002"


def test_seat_a_described_cartridge() -> None:
    b = scenario_bench(
        """
        [cartridge]
        seated = false

        [[fault]]
        at_ms = 1000
        action = "seat_cartridge"
        serial = "X-77"
        needle_count = 36
        needle_length_um = 1500
        expiry = 2026-05-01
        """
    ).identified()
    assert b.host.cartridges()[-1].state is CartridgeState.ABSENT
    b.advance_ms(1000)
    seated = b.host.cartridges()[-1]
    assert (seated.serial, seated.needle_count, seated.needle_length_um) == ("X-77", 36, 1500)
    assert seated.state is CartridgeState.EXPIRED  # the virtual calendar reads 2026-06-01
    inserted = b.named("cartridge_inserted")[0].data
    assert inserted == {"serial": "X-77", "state": "expired"}


# ---- triggers and reproducibility ---------------------------------------------------------


def test_at_ms_counts_from_power_on_and_after_ms_from_the_trigger() -> None:
    b = scenario_bench(
        """
        [[fault]]
        at_ms = 250
        action = "overheat"

        [[fault]]
        on = "boot"
        after_ms = 50
        action = "drain_battery"
        """
    )
    b.advance_ms(1000)
    injected = {e.data["action"]: e.t_ns for e in b.named("fault_injected")}
    assert injected == {"overheat": 250_000_000, "drain_battery": 250_000_000}


def test_a_scenario_run_is_reproducible() -> None:
    text = """
    [[fault]]
    on = "motor_started"
    action = "drop"
    rate = 0.2

    [[fault]]
    on = "motor_started"
    action = "corrupt"
    rate = 0.1
    """

    def run(seed: int) -> list[tuple[int, str]]:
        b = scenario_bench(text, seed=seed)
        _start(b)
        b.keep_running_ms(3000)
        return [(e.t_ns, e.event) for e in b.pen.events]

    assert run(11) == run(11)
    assert run(11) != run(12)
