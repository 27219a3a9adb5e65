"""The in-process transport behaves like a pyserial port, in virtual and in real time."""

from __future__ import annotations

import pytest
import serial
from serial.serialutil import PortNotOpenError, SerialException

from firmware_bridge.clock import NS_PER_MS, VirtualClock
from firmware_bridge.protocol import Ack, Decoder, Frame, Hello, encode
from simulator.pen import SimulatedPen
from simulator.transport.inprocess import (
    SimSerial,
    open_host_port,
    publish,
    register_url_handler,
    unpublish,
)


def test_the_host_end_is_a_pyserial_port() -> None:
    pen = SimulatedPen(VirtualClock())
    port = open_host_port(pen)
    assert isinstance(port, serial.SerialBase)
    assert port.is_open and port.in_waiting == 0
    port.close()
    with pytest.raises(PortNotOpenError):
        port.read(1)


def test_sim_urls_reach_a_published_pen() -> None:
    clock = VirtualClock()
    pen = SimulatedPen(clock)
    url = publish("bench-1", pen)
    try:
        port = serial.serial_for_url(url, timeout=0)
        assert isinstance(port, SimSerial) and port.pen is pen
        clock.advance(300 * NS_PER_MS)
        assert port.in_waiting > 0  # EVENT BOOT
        port.close()
    finally:
        unpublish("bench-1")
    with pytest.raises(SerialException, match="no simulated pen is published as 'bench-1'"):
        serial.serial_for_url(url)


def test_a_read_that_would_wait_advances_virtual_time_instead() -> None:
    clock = VirtualClock()
    pen = SimulatedPen(clock)
    port = open_host_port(pen, timeout=2.0)
    first = port.read(1)  # waits for the boot event: 200 ms of virtual time
    assert first and clock.monotonic_ns() == 200 * NS_PER_MS
    port.reset_input_buffer()
    assert port.read(1) == b""  # nothing more comes: the whole timeout passes, virtually
    assert clock.monotonic_ns() == 2200 * NS_PER_MS


def test_a_blocking_read_gives_up_after_ten_virtual_seconds() -> None:
    clock = VirtualClock()
    port = open_host_port(SimulatedPen(clock), timeout=None)
    port.read(port.in_waiting or 1)
    port.reset_input_buffer()
    assert port.read(1) == b""
    assert clock.monotonic_ns() >= 10_000 * NS_PER_MS


def test_a_read_inside_a_clock_callback_does_not_move_time() -> None:
    clock = VirtualClock()
    port = open_host_port(SimulatedPen(clock), timeout=1.0)
    seen: list[tuple[bytes, int]] = []
    clock.call_at(50 * NS_PER_MS, lambda: seen.append((port.read(1), clock.monotonic_ns())))
    clock.advance(100 * NS_PER_MS)
    assert seen == [(b"", 50 * NS_PER_MS)]


def test_sim_url_without_a_name_runs_a_pen_of_its_own_in_real_time() -> None:
    register_url_handler()
    port = serial.serial_for_url("sim://?seed=2&scenario=nominal", timeout=2.0)
    try:
        port.write(b"")
        decoder = Decoder()
        boot = decoder.feed(port.read_until(b"\x00"))  # the real boot takes 200 ms
        assert boot and isinstance(boot[0], Frame)
        port.write(encode(Hello(1), 0))
        reply = decoder.feed(port.read_until(b"\x00"))
        assert isinstance(reply[0], Frame) and isinstance(reply[0].message, Ack)
    finally:
        port.close()


def test_sim_url_options_are_checked() -> None:
    register_url_handler()
    with pytest.raises(SerialException, match="unknown option 'speed'"):
        serial.serial_for_url("sim://?speed=3")
    with pytest.raises(SerialException, match="not a bundled scenario"):
        serial.serial_for_url("sim://?scenario=nope")
