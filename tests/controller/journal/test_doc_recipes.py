"""docs/journal.md is exact: its worked example is what the writer writes, and every shell recipe
in it, run under `sh` against that example, prints what the page says it prints."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.controller.journal.example import write_example

DOCS = Path(__file__).parents[3] / "docs"
EXAMPLE = DOCS / "journal-example"
PAGE = (DOCS / "journal.md").read_text(encoding="utf-8")
RECIPE = re.compile(r"<!-- recipe: ([a-z-]+) -->\n```sh\n(.*?)```", re.S)
OUTPUT = re.compile(r"<!-- recipe output: ([a-z-]+) -->\n```\n(.*?)```", re.S)
RECIPES = dict(RECIPE.findall(PAGE))
OUTPUTS = dict(OUTPUT.findall(PAGE))
TOOLS = ("sh", "jq", "openssl", "xxd", "sha256sum", "sed")
missing = [tool for tool in TOOLS if shutil.which(tool) is None]


def _files(directory: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(directory)): path.read_bytes()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def test_the_worked_example_is_exactly_what_the_writer_writes(tmp_path: Path) -> None:
    """Regenerate with `python -m tests.controller.journal.example docs/journal-example`."""
    write_example(tmp_path / "example")
    assert _files(tmp_path / "example") == _files(EXAMPLE)


def test_every_recipe_has_its_output_and_the_examples_quote_the_example() -> None:
    assert set(RECIPES) == set(OUTPUTS) and len(RECIPES) >= 6
    head = (EXAMPLE / "head.json").read_text().strip()
    assert f"```json\n{head}\n```" in PAGE
    record_3 = (EXAMPLE / "session-000001.jsonl").read_text().split("\n")[2]  # not at U+2028
    wrapped = PAGE.split("record 3 of `docs/journal-example/session-000001.jsonl`")[1]
    quoted = wrapped.split("```json\n", 1)[1].split("```", 1)[0]
    assert quoted.replace("\n", "") == record_3


def _sh(script: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "PENCTL_TRUST_DIR": str(cwd.parent / "no-keys-enrolled"),  # as the page assumes
    }
    return subprocess.run(
        ["sh", "-c", script], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


@pytest.mark.skipif(bool(missing), reason=f"needs {', '.join(missing)}")
@pytest.mark.parametrize("name", sorted(RECIPES))
def test_the_recipe_prints_what_the_page_says_under_sh(name: str, tmp_path: Path) -> None:
    work = tmp_path / "example"
    shutil.copytree(EXAMPLE, work)
    done = _sh(RECIPES[name], work)
    assert done.stdout == OUTPUTS[name], done.stderr


@pytest.mark.skipif(bool(missing), reason=f"needs {', '.join(missing)}")
def test_the_chain_recipe_catches_a_changed_byte_and_a_deleted_record(tmp_path: Path) -> None:
    work = tmp_path / "example"
    shutil.copytree(EXAMPLE, work)
    path = work / "session-000001.jsonl"
    original = path.read_bytes()
    path.write_bytes(original.replace(b'"depth_um":500', b'"depth_um":700', 1))
    assert _sh(RECIPES["chain"], work).stdout.startswith("record 3 in session-000001.jsonl")
    lines = original.splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:2] + lines[3:]))
    assert "chain FAIL" in _sh(RECIPES["chain"], work).stdout


@pytest.mark.skipif(bool(missing), reason=f"needs {', '.join(missing)}")
def test_the_handover_recipe_catches_a_changed_reason_or_new_key(tmp_path: Path) -> None:
    work = tmp_path / "example"
    shutil.copytree(EXAMPLE, work)
    path = work / "session-000002.jsonl"
    original = path.read_text(encoding="utf-8")
    new_key = original.split('"new_public_key":"', 1)[1][:64]
    for old, new in (("yearly rotation", "yearly rotations"), (new_key, new_key[:-1] + "0")):
        path.write_text(original.replace(old, new, 1), encoding="utf-8")
        printed = _sh(RECIPES["handover"], work).stdout
        assert not printed.startswith("Signature Verified Successfully"), (old, printed)


def test_symbolic_links_are_followed_as_the_page_says(tmp_path: Path) -> None:
    """§1: a link to a regular file is read as that file; a dangling one is unreadable (exit 2);
    a link to a FIFO is refused without being opened."""
    from controller.cli import main

    real, linked = tmp_path / "real", tmp_path / "linked"
    shutil.copytree(EXAMPLE, real)
    linked.mkdir()
    for name in ("head.json", "session-000001.jsonl", "session-000002.jsonl"):
        (linked / name).symlink_to(real / name)
    anchors = ["--public-key", str(real / "journal-ed25519.pub.pem"), "--witness", str(real)]
    assert main(["audit", "verify", str(linked), *anchors]) == 0
    (linked / "session-000002.jsonl").unlink()
    (linked / "session-000002.jsonl").symlink_to(real / "gone")
    assert main(["audit", "verify", str(linked)]) == 2
    os.mkfifo(real / "fifo")
    (linked / "session-000002.jsonl").unlink()
    (linked / "session-000002.jsonl").symlink_to(real / "fifo")
    report = main(["audit", "verify", str(linked), "--json"])
    assert report == 1
