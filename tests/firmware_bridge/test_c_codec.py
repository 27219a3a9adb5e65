"""The C reference codec (firmware_bridge/c/) against every golden vector, both ways.

It is built here with the system's C compiler as a firmware team would build it, warnings as
errors; where no compiler exists the test is skipped saying what to install (CI installs gcc:
`make system-deps`).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.firmware_bridge.spec_reader import VECTORS_PATH, read_spec

C_DIR = Path(__file__).resolve().parents[2] / "firmware_bridge" / "c"
FLAGS = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic"]
VECTORS: list[dict[str, Any]] = json.loads(VECTORS_PATH.read_text())["vectors"]
VALID = [v for v in VECTORS if v["valid"]]
SPEC = read_spec()
COMPILER = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")


@pytest.fixture(scope="module")
def tool(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if COMPILER is None:
        pytest.skip("no C compiler (cc, gcc or clang) on PATH; install gcc to build the C codec")
    binary = tmp_path_factory.mktemp("c-codec") / "penproto_tool"
    sources = [str(C_DIR / "penproto.c"), str(C_DIR / "penproto_tool.c")]
    built = subprocess.run(
        [COMPILER, *FLAGS, "-o", str(binary), *sources], capture_output=True, text=True
    )
    assert built.returncode == 0 and not built.stderr, built.stderr
    return binary


def _ask(tool: Path, lines: list[str]) -> list[str]:
    done = subprocess.run(
        [str(tool)], input="\n".join(lines) + "\n", capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def _fields(vector: dict[str, Any]) -> str:
    parts = []
    for name, value in vector["fields"].items():
        shown = (
            f"x{value.encode('ascii').hex()}"
            if isinstance(value, str) and _is_text(vector, name)
            else str(value)
        )
        parts.append(f"{name}={shown}")
    return " ".join(parts)


def _is_text(vector: dict[str, Any], name: str) -> bool:
    """A char[N] field by §4's table (text and enumerated fields are both strings in JSON)."""
    [field] = [f for f in SPEC.message_named(vector["type"]).fields if f.name == name]
    return SPEC.text_width(field.type) is not None


def _decoded(vector: dict[str, Any]) -> str:
    if not vector["valid"]:
        return f"ERR {vector['error']}"
    fields = _fields(vector)
    return f"OK {vector['seq']} {vector['flags']} {vector['type']}{' ' + fields if fields else ''}"


def test_the_codec_builds_with_warnings_as_errors(tool: Path) -> None:
    assert tool.exists()


def test_the_crc_gives_the_check_value_of_section_2(tool: Path) -> None:
    assert _ask(tool, [f"C {b'123456789'.hex()}"]) == ["CRC 29b1"]


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v["name"])
def test_every_vector_decodes_as_stated(tool: Path, vector: dict[str, Any]) -> None:
    assert _ask(tool, [f"D {vector['frame_hex']}"]) == [_decoded(vector), "END"]


@pytest.mark.parametrize("vector", VALID, ids=lambda v: v["name"])
def test_every_valid_vector_encodes_to_its_exact_bytes(tool: Path, vector: dict[str, Any]) -> None:
    request = f"E {vector['type']} {vector['seq']} {vector['flags']} {_fields(vector)}"
    assert _ask(tool, [request]) == [f"F {vector['frame_hex']}"]


def test_all_vectors_in_one_stream_each_cost_nothing_to_the_next(tool: Path) -> None:
    """§2.1: one bad frame never costs the next, whatever came before it."""
    stream = "".join(v["frame_hex"] for v in VECTORS)
    assert _ask(tool, [f"D 0000{stream}"]) == [*(_decoded(v) for v in VECTORS), "END"]


def test_a_value_too_wide_for_its_field_is_not_encoded(tool: Path) -> None:
    assert _ask(tool, ["E LEASE 1 0 lease_ms=70000", "E STOP 1 0 reason=99"]) == [
        "ERR encode",
        "ERR encode",
    ]
