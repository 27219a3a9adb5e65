"""`penctl conformance` in real time against `penctl sim` in its own process, over a real pty and
over socket://, as a firmware team would run it against hardware."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from controller.commands.conformance import ConsoleOperator
from controller.simproc import simulator_process
from firmware_bridge.conformance import CASES
from tests.simulator.test_realtime import penctl_sim

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="ptys are POSIX only")
PHYSICAL = {"button", "cartridge", "boot", "estop-reboot"}


# Timing slack for a loaded CI machine; a pen without a watchdog still misses it by seconds.
TOLERANCE = ["--tolerance-ms", "100"]


def _penctl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "controller.cli", "conformance", *TOLERANCE, *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def _check_reports(xml_path: Path) -> dict[str, object]:
    suite = ET.parse(xml_path).getroot()
    assert suite.tag == "testsuite"
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == (
        str(len(CASES)),
        "0",
        "0",
    )
    assert suite.get("skipped") == str(len(PHYSICAL))
    report = json.loads(xml_path.with_suffix(".json").read_text())
    assert report["passed"] is True
    assert report["pen"]["model"] == "PENSIM-1"
    outcomes = {case["id"]: case["outcome"] for case in report["cases"]}
    assert outcomes == {c.id: "skipped" if c.id in PHYSICAL else "passed" for c in CASES}
    return report


def test_the_kit_passes_over_a_real_pty(tmp_path: Path) -> None:
    """Every case that needs no hands passes in real time, lease timing measured (S4, S5)."""
    with simulator_process() as path:
        done = _penctl("--port", path, "--non-interactive", "--report", str(tmp_path / "r.xml"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "PASSED   §7.2           lease-watchdog" in done.stdout
    assert "needs a person to power-cycle the pen" in done.stdout
    report = _check_reports(tmp_path / "r.xml")
    assert report["summary"] == {"passed": 21, "failed": 0, "skipped": 4, "error": 0}


def test_the_kit_passes_over_socket(tmp_path: Path) -> None:
    with penctl_sim("--tcp", "127.0.0.1:0") as (_, url):
        done = _penctl("--port", url, "--non-interactive", "--report", str(tmp_path / "r.xml"))
    assert done.returncode == 0, done.stdout + done.stderr
    _check_reports(tmp_path / "r.xml")


def test_a_defective_pen_over_a_pty_fails_with_exit_1(tmp_path: Path) -> None:
    """S5: a pen without a lease watchdog is caught in real time, naming §7.2."""
    scenario = tmp_path / "defective.toml"
    scenario.write_text('[pen]\ndefects = ["no-lease-watchdog"]\n')
    with simulator_process(["--scenario", str(scenario)]) as path:
        done = _penctl("--port", path, "--only", "7.2", "--report", str(tmp_path / "r.xml"))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "FAILED   §7.2           lease-watchdog" in done.stdout
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["passed"] is False
    failed = [c for c in report["cases"] if c["outcome"] == "failed"]
    assert [(c["id"], c["section"]) for c in failed] == [("lease-watchdog", "§7.2")]
    suite = ET.parse(tmp_path / "r.xml").getroot()
    failure = suite.find("testcase/failure")
    assert failure is not None and failure.get("message", "").startswith("§7.2: no EVENT")


def test_an_unknown_section_is_refused_before_anything_is_sent() -> None:
    done = _penctl("--port", "/nonexistent/pen", "--only", "9.9")
    assert done.returncode == 2
    assert "--only 9.9 matches no case; choose from:" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_port_that_cannot_open_is_a_clear_error() -> None:
    done = _penctl("--port", "/nonexistent/pen", "--non-interactive")
    assert done.returncode == 2
    assert "could not open the pen's port '/nonexistent/pen'" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(("typed", "done"), [("\n", True), ("s\n", False), ("", False)])
def test_the_person_at_the_terminal_confirms_or_skips_an_act(
    typed: str, done: bool, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Enter: done; `s` or the end of input (a closed stdin in CI): the case is skipped."""
    monkeypatch.setattr(sys, "stdin", io.StringIO(typed))
    assert ConsoleOperator().perform("power-cycle", "switch the pen off and on") is done
    assert "[power-cycle] Please switch the pen off and on" in capsys.readouterr().err
