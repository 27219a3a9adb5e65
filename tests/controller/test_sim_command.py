"""`penctl sim` is the simulator's own command line (`python -m simulator`) under penctl."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from controller.cli import main


def _help(*command: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", *command, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "100"},
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_penctl_sim_and_python_m_simulator_list_the_same_options() -> None:
    """Same options, same help text; only the program name in the usage line differs."""
    penctl = _help("controller.cli", "sim")
    simulator = _help("simulator")
    assert penctl.startswith("usage: penctl sim [-h] [--pty-link PATH | --tcp HOST:PORT]")
    assert simulator.startswith("usage: python -m simulator [-h] [--pty-link PATH | --tcp")
    penctl_options = penctl.split("\noptions:\n", 1)[1]
    assert "--pty-link" in penctl_options and "--list-scenarios" in penctl_options
    assert penctl_options == simulator.split("\noptions:\n", 1)[1]


def test_penctl_sim_lists_the_scenarios(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", "--list-scenarios"]) == 0
    out = capsys.readouterr().out
    assert "flaky-link" in out and "A noisy cable" in out


def test_penctl_sim_refusals_name_penctl_sim(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", "--tcp", "5555"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("penctl sim: --tcp '5555' is not HOST:PORT")
    assert "The simulator did not start" in err


def test_penctl_sim_options_are_checked_by_argparse(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["sim", "--pty-link", "/tmp/x", "--tcp", "127.0.0.1:0"])
    assert "penctl sim: error: argument --tcp: not allowed with" in capsys.readouterr().err
