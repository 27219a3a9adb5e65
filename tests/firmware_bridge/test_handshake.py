"""The identify handshake against the simulated pen: in-process in virtual time, and over a real
pty and socket:// with the simulator in its own process."""

from __future__ import annotations

import subprocess
import sys

import pytest

from controller.cli import main
from firmware_bridge.clock import NS_PER_MS, VirtualClock
from firmware_bridge.handshake import HandshakeError, identify
from firmware_bridge.protocol import CartridgeState
from simulator.pen import SimulatedPen
from simulator.transport.inprocess import open_host_port


def test_identify_waits_out_the_boot_and_reports_the_pen() -> None:
    """The pen answers BAD_STATE while booting; the host retries without spending its budget."""
    clock = VirtualClock()
    pen = SimulatedPen(clock)
    port = open_host_port(pen, timeout=0.02)
    identity = identify(port, clock=clock)
    assert identity.identify.model == "PENSIM-1"
    assert identity.identify.serial_number == "SIM-000001"
    assert (identity.identify.depth_min_um, identity.identify.depth_max_um) == (250, 2500)
    assert identity.cartridge is not None
    assert identity.cartridge.state is CartridgeState.FRESH
    assert identity.cartridge.needle_length_um == 2500
    assert clock.monotonic_ns() >= 200 * NS_PER_MS  # it really did wait for the boot


def test_a_silent_pen_is_link_loss_after_four_tries() -> None:
    """S5: silence is link loss, reported with what was received and what to check."""
    clock = VirtualClock()
    pen = SimulatedPen(clock)
    clock.advance(300 * NS_PER_MS)  # booted
    pen.inject("silent", direction="both")
    port = open_host_port(pen, timeout=0.02)
    started = clock.monotonic_ns()
    with pytest.raises(HandshakeError, match=r"did not answer HELLO after 4 tries \(400 ms\)"):
        identify(port, clock=clock)
    assert 400 * NS_PER_MS <= clock.monotonic_ns() - started < 500 * NS_PER_MS


def test_penctl_run_identifies_the_bundled_simulator_over_a_real_pty() -> None:
    """`make run`'s command: the simulator in its own process, reached through pyserial."""
    result = subprocess.run(
        [sys.executable, "-m", "controller.cli", "run"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "Connected to the bundled simulator" in result.stdout
    assert "PENSIM-1 serial SIM-000001" in result.stdout
    assert "Depth:      0.25 mm to 2.50 mm in steps of 0.05 mm" in result.stdout
    assert "CART-0001" in result.stdout


def test_identify_over_socket_url(capsys: pytest.CaptureFixture[str]) -> None:
    sim = subprocess.Popen(
        [sys.executable, "-m", "controller.cli", "sim", "--tcp", "127.0.0.1:0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert sim.stdout is not None
        line = sim.stdout.readline()
        assert line.startswith("listening: socket://127.0.0.1:")
        url = line.removeprefix("listening: ").strip()
        assert main(["identify", "--port", url, "--json"]) == 0
        out = capsys.readouterr().out
        assert '"model": "PENSIM-1"' in out
        assert '"state": "FRESH"' in out
    finally:
        sim.terminate()
        sim.wait(timeout=10)


def test_identify_on_a_missing_port_says_what_to_check(capsys: pytest.CaptureFixture[str]) -> None:
    """S10: what happened, what was done (nothing sent), what to check. No traceback."""
    assert main(["identify", "--port", "/dev/penctl-no-such-port"]) == 1
    err = capsys.readouterr().err
    assert "could not open the pen's port '/dev/penctl-no-such-port'" in err
    assert "Nothing was sent" in err
    assert "Traceback" not in err
