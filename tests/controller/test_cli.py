"""The `penctl` entry point as an engineer meets it: help, version, and the protocol decoder."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from controller.cli import COMMAND_MODULES, main

VECTORS = json.loads((Path(__file__).parents[2] / "docs" / "protocol-vectors.json").read_text())


def test_help_lists_every_subcommand() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "controller.cli", "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0
    for module in COMMAND_MODULES:
        assert module.rsplit(".", 1)[1] in result.stdout


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.startswith("penctl 0.")


def test_no_subcommand_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "COMMAND" in capsys.readouterr().out


def test_protocol_decodes_a_golden_frame(capsys: pytest.CaptureFixture[str]) -> None:
    vector = next(v for v in VECTORS["vectors"] if v["type"] == "SET_PARAMS")
    assert main(["protocol", vector["frame_hex"]]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record == {
        "seq": vector["seq"],
        "flags": vector["flags"],
        "type": "SET_PARAMS",
        "fields": vector["fields"],
    }


def test_protocol_names_the_error_of_a_bad_frame(capsys: pytest.CaptureFixture[str]) -> None:
    """S9: a corrupt frame is reported by name, with a non-zero exit."""
    vector = next(v for v in VECTORS["vectors"] if not v["valid"] and v["error"] == "bad_crc")
    assert main(["protocol", vector["frame_hex"]]) == 1
    record = json.loads(capsys.readouterr().out)
    assert record["error"] == "bad_crc"
    assert "CRC 0x" in record["detail"]


def test_protocol_refuses_text_that_is_not_hex(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["protocol", "zz01"]) == 2
    err = capsys.readouterr().err
    assert "'zz01' is not hexadecimal" in err
    assert "Traceback" not in err
