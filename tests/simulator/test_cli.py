"""The simulator's command line (`python -m simulator`, also `penctl sim`): refusals and listings,
in-process (the serving paths run in test_realtime); tests/controller/test_sim_command.py checks
that `penctl sim` is the same command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from simulator.cli import main


def test_help_lists_the_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "--pty-link" in out and "--tcp" in out and "--events" in out


def test_python_m_simulator_lists_the_scenarios_in_a_process_of_its_own() -> None:
    """The simulator runs on its own, without penctl."""
    result = subprocess.run(
        [sys.executable, "-m", "simulator", "--list-scenarios"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "flaky-link" in result.stdout and "A noisy cable" in result.stdout
    assert result.stderr == ""


def test_list_scenarios(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--list-scenarios"]) == 0
    out = capsys.readouterr().out
    assert "flaky-link" in out and "A noisy cable" in out


def test_a_bad_scenario_file_is_named_with_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[[fault]]\nat_ms = 1\naction = "explode"\n')
    assert main(["--scenario", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:3: fault #1: action = 'explode' is not one of" in err
    assert "The simulator did not start; correct the scenario" in err
    assert "Traceback" not in err


def test_an_unknown_scenario_name_lists_the_bundled_ones(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--scenario", "nope"]) == 2
    assert "motor-jam" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["5555", "host:", ":5555", "localhost:99999", "a:b"])
def test_a_bad_tcp_address_is_refused(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--tcp", value]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"python -m simulator: --tcp {value!r} is not HOST:PORT")


def test_a_pty_link_over_a_regular_file_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keep = tmp_path / "notes.txt"
    keep.write_text("mine")
    assert main(["--pty-link", str(keep)]) == 2
    assert "exists and is not a symlink" in capsys.readouterr().err
    assert keep.read_text() == "mine"


def test_pty_link_and_tcp_are_exclusive(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--pty-link", "/tmp/x", "--tcp", "127.0.0.1:0"])
    assert "not allowed with" in capsys.readouterr().err


def test_an_unwritable_events_file_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--events", str(tmp_path / "missing" / "e.jsonl")]) == 2
    assert "cannot open the events file" in capsys.readouterr().err
