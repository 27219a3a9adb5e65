"""`penctl sim`'s refusals and listings, in-process (the serving paths run in test_realtime)."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.cli import main


def test_sim_is_a_penctl_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["sim", "--help"])
    out = capsys.readouterr().out
    assert "--pty-link" in out and "--tcp" in out and "--events" in out


def test_list_scenarios(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", "--list-scenarios"]) == 0
    out = capsys.readouterr().out
    assert "flaky-link" in out and "A noisy cable" in out


def test_a_bad_scenario_file_is_named_with_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[[fault]]\nat_ms = 1\naction = "explode"\n')
    assert main(["sim", "--scenario", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:3: fault #1: action = 'explode' is not one of" in err
    assert "The simulator did not start; correct the scenario" in err
    assert "Traceback" not in err


def test_an_unknown_scenario_name_lists_the_bundled_ones(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["sim", "--scenario", "nope"]) == 2
    assert "motor-jam" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["5555", "host:", ":5555", "localhost:99999", "a:b"])
def test_a_bad_tcp_address_is_refused(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", "--tcp", value]) == 2
    assert "is not HOST:PORT" in capsys.readouterr().err


def test_a_pty_link_over_a_regular_file_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keep = tmp_path / "notes.txt"
    keep.write_text("mine")
    assert main(["sim", "--pty-link", str(keep)]) == 2
    assert "exists and is not a symlink" in capsys.readouterr().err
    assert keep.read_text() == "mine"


def test_pty_link_and_tcp_are_exclusive(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["sim", "--pty-link", "/tmp/x", "--tcp", "127.0.0.1:0"])
    assert "not allowed with" in capsys.readouterr().err


def test_an_unwritable_events_file_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sim", "--events", str(tmp_path / "missing" / "e.jsonl")]) == 2
    assert "cannot open the events file" in capsys.readouterr().err
