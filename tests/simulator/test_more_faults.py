"""The faults engineers meet (issue 14, item 4), each through its bundled scenario, in virtual time:
loose and half-seated cartridges, byte-level UART faults, a paced wire, stuck sensors, a pen clock
running fast or slow, and the INTERNAL fault."""

from __future__ import annotations

import pytest
from serial import SerialException

from firmware_bridge.clock import NS_PER_MS
from firmware_bridge.protocol import (
    Ack,
    CartridgeState,
    ClearFault,
    EventCode,
    FaultCode,
    Hello,
    Lease,
    Message,
    Nak,
    NakReason,
    PenState,
    SetParams,
    Start,
    Telemetry,
    encode,
)
from firmware_bridge.protocol.codec import ErrorKind
from simulator.scenario import load_scenario
from simulator.transport.inprocess import open_host_port
from tests.simulator.testbench import Bench, Host, make_bench


def _bench(name: str) -> Bench:
    return make_bench(load_scenario(name))


def _running(b: Bench) -> Bench:
    b.ready()
    assert isinstance(b.host.request(Lease(300)), Ack)
    assert isinstance(b.host.request(Start(1)), Ack)
    return b


def _faults(b: Bench) -> list[str]:
    return [e.data["fault"] for e in b.named("fault_raised")]


# ---- cartridges --------------------------------------------------------------------------------


def test_intermittent_cartridge_bounces_and_comes_back_locked_out_s8() -> None:
    """S8: a used cartridge that lost contact, even for 300 ms, is never trusted again."""
    b = _running(_bench("intermittent-cartridge"))
    b.keep_running_ms(2000)
    b.advance_ms(2000)
    assert len(b.named("cartridge_removed")) == 3 and len(b.named("cartridge_reattached")) == 3
    assert _faults(b) == ["cartridge_removed"]
    assert b.fw.cartridge_state is CartridgeState.LOCKED_OUT
    assert isinstance(b.host.request(ClearFault(FaultCode.CARTRIDGE_REMOVED)), Ack)
    b.ready(version=2)
    assert isinstance(b.host.request(Lease(300)), Ack)
    nak = b.host.request(Start(2))
    assert isinstance(nak, Nak) and nak.reason is NakReason.CARTRIDGE_LOCKED_OUT


def test_a_half_seated_cartridge_reads_unreadable_until_pushed_home() -> None:
    b = _bench("half-seated-cartridge").ready()
    assert b.fw.cartridge_state is CartridgeState.UNREADABLE
    assert isinstance(b.host.request(Lease(300)), Ack)
    nak = b.host.request(Start(1))
    assert isinstance(nak, Nak) and nak.reason is NakReason.NO_CARTRIDGE
    b.advance_ms(5000)
    assert b.fw.cartridge_state is CartridgeState.FRESH
    assert b.host.cartridges()[-1].state is CartridgeState.FRESH
    b.ready(version=2)
    assert isinstance(b.host.request(Lease(300)), Ack)
    assert isinstance(b.host.request(Start(2)), Ack)


# ---- the UART ----------------------------------------------------------------------------------


def test_a_byte_turned_delimiter_breaks_a_frame_in_two() -> None:
    b = _bench("zero-byte").booted()
    b.host.send(Hello(1))  # telemetry streams from here: 200 frames in 10 s
    for _ in range(100):
        b.advance_ms(100)
        b.host.poll()
    hits = [e for e in b.named("frame_corrupted") if e.data["direction"] == "to_host"]
    assert 1 <= len(hits) <= 10  # 2 % of about 200 frames
    assert {e.kind for e in b.host.errors} <= {
        ErrorKind.TRUNCATED,
        ErrorKind.BAD_CRC,
        ErrorKind.BAD_LENGTH,
    }
    assert len(b.host.errors) >= 2 * len(hits)  # each hit frame arrives as two broken ones
    assert len(b.host.telemetry()) >= 190


def test_unplug_in_the_middle_of_a_frame_leaves_the_host_a_fragment() -> None:
    b = _running(_bench("unplug-mid-frame"))
    with pytest.raises(SerialException):
        b.keep_running_ms(4000)
    (cut,) = b.named("frame_cut")
    assert cut.data == {"direction": "to_host", "fault": 1, "bytes": 5}
    order = [e.event for e in b.pen.events if e.event in ("frame_cut", "link_unplugged")]
    assert order == ["frame_cut", "link_unplugged"]
    unread = bytes(b.port._rx)  # what reached the port before it went away
    assert len(unread.rsplit(b"\x00", 1)[-1]) == 5  # ending in a fragment: no delimiter
    b.advance_ms(2500)
    assert _faults(b) == ["lease_expired"] and b.pen.plugged
    host = Host(open_host_port(b.pen))
    b.advance_ms(100)
    assert host.telemetry() and not host.errors


def _paced_request(b: Bench, message: Message) -> int:
    """Send and let virtual time pass until the reply arrives; returns how long it took (ns)."""
    sent = b.clock.monotonic_ns()
    seq = b.host.send(message)
    while True:
        b.clock.advance(100_000)  # 0.1 ms
        for m in b.host.poll():
            if (isinstance(m, Ack) and m.ack_seq == seq) or (
                isinstance(m, Nak) and m.nak_seq == seq
            ):
                return b.clock.monotonic_ns() - sent


def test_a_paced_wire_delivers_each_frame_when_its_last_byte_would_arrive() -> None:
    b = _bench("paced-115200").booted()
    _paced_request(b, Hello(1))
    _paced_request(b, SetParams(1, 1000, 120))
    b.advance_ms(100)
    b.host.poll()
    lease = encode(Lease(300), b.host.seq)
    ack = b.fw.config and encode(Ack(b.host.seq, 7, 2, 1, 1000, 120, 0, 300), 0)
    line_ns = (len(lease) + len(ack)) * 10 * 1_000_000_000 // 115_200
    took = _paced_request(b, Lease(300))
    assert line_ns <= took <= line_ns + 200_000  # about 2.9 ms at 115200 baud, not 0
    telemetry = [f for f in b.host.frames if isinstance(f.message, Telemetry)]
    assert len(telemetry) >= 2


# ---- sensors -----------------------------------------------------------------------------------


def test_a_stuck_temperature_sensor_hides_the_heat_from_the_pen() -> None:
    b = _running(_bench("stuck-temperature-sensor"))
    b.keep_running_ms(4000)
    assert b.fw.model.temperature_c > 47  # the handpiece is hot
    readings = {t.temperature_cdeg for t in b.host.telemetry()[-20:]}
    assert len(readings) == 1 and readings.pop() < 2500  # the sensor reads a flat, cool line
    assert _faults(b) == [] and b.fw.state is PenState.RUNNING


def test_a_stuck_battery_gauge_hides_the_flat_cell_from_the_pen() -> None:
    b = _running(_bench("stuck-battery-gauge"))
    b.keep_running_ms(4000)
    assert b.fw.model.battery_pct < 5
    assert {t.battery_pct for t in b.host.telemetry()[-20:]} == {90}
    assert _faults(b) == []


# ---- the pen's clock -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "lease_ms", "period_ms"), [("fast-clock", 285.7, 47.6), ("slow-clock", 315.8, 52.6)]
)
def test_a_pen_clock_off_by_5_percent_scales_its_lease_and_telemetry(
    name: str, lease_ms: float, period_ms: float
) -> None:
    b = _running(_bench(name))
    b.advance_ms(200)
    frames = b.named("motor_started")
    assert frames
    lease_at = b.clock.monotonic_ns()
    assert isinstance(b.host.request(Lease(300)), Ack)
    b.advance_ms(400)
    (lapsed,) = b.named("lease_expired")
    assert (lapsed.t_ns - lease_at) / NS_PER_MS == pytest.approx(lease_ms, abs=0.1)
    stamps = [e.t_ns for e in b.pen.events if e.event == "command"]
    assert stamps
    period = b.fw._telemetry_ns / NS_PER_MS
    assert period == pytest.approx(period_ms, abs=0.1)


# ---- the INTERNAL fault ------------------------------------------------------------------------


def test_the_internal_fault_latches_until_a_power_cycle() -> None:
    b = _running(_bench("internal-fault"))
    b.keep_running_ms(3200)
    assert _faults(b) == ["internal"] and b.fw.state is PenState.FAULTED
    assert EventCode.FAULT_RAISED in b.host.events()
    nak = b.host.request(ClearFault(FaultCode.INTERNAL))
    assert isinstance(nak, Nak) and nak.reason is NakReason.FAULT_CAUSE_PRESENT
    b.pen.reboot()
    b.advance_ms(300)
    assert b.fw.state is PenState.IDLE and b.fw.active_fault is FaultCode.NONE
