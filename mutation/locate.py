"""Where a mutmut mutant sits in our source: file, line and the changed text.

mutmut 3 writes each mutated function as a renamed copy into mutants/<path>, with the line span
of every copy in mutants/<path>.spans. The first line where a copy differs from the original
copy, counted from its `def`, is that line counted from the original function's `def`.
"""

from __future__ import annotations

import ast
import difflib
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

# mutmut's verdicts that mean a test (or the timeout) noticed the mutant.
DETECTED = {"killed", "timeout", "caught by type check", "segfault"}
STATUS = {
    1: "killed",
    3: "killed",
    0: "survived",
    5: "no tests",
    33: "no tests",
    34: "skipped",
    36: "timeout",
    37: "caught by type check",
    24: "timeout",
    -24: "timeout",
    152: "timeout",
    255: "timeout",
    -11: "segfault",
    -9: "segfault",
}


@dataclass(frozen=True)
class Mutant:
    name: str
    status: str
    path: str
    line: int
    change: str
    offset: int = 0  # lines after its function's def: stable while the lines above it are

    @property
    def alive(self) -> bool:
        """Survived, ran no test at all, or was never run: nothing noticed it."""
        return self.status not in DETECTED

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"

    def as_json(self) -> dict[str, str]:
        return {
            "mutant": self.name,
            "where": self.where,
            "status": self.status,
            "change": self.change,
        }


def status_of(code: int | None) -> str:
    if code is None:
        return "not checked"
    return STATUS.get(code, "suspicious")


def locate(root: Path, scratch: Path, path: str, name: str, code: int | None) -> Mutant:
    key = name.rsplit(".", 1)[1] if "ǁ" not in name else name[name.index(".xǁ") + 1 :]
    mutated = _read_mutated(scratch, path)
    spans = mutated[1]
    function = key.rsplit("__mutmut_", 1)[0]
    original = _body(mutated[0], spans.get(function + "__mutmut_orig"))
    changed = _body(mutated[0], spans.get(key))
    offset, before, after = _first_difference(original, changed)
    line = _def_line(root / path, function) + offset
    change = f"{before.strip()}  ->  {after.strip()}" if before or after else "?"
    return Mutant(name, status_of(code), path, line, change, offset)


@cache
def _read_mutated(scratch: Path, path: str) -> tuple[tuple[str, ...], dict[str, list[int]]]:
    text = (scratch / "mutants" / path).read_text().splitlines()
    spans = json.loads((scratch / "mutants" / (path + ".spans")).read_text())["spans"]
    return tuple(text), spans


def _body(lines: tuple[str, ...], span: list[int] | None) -> list[str]:
    if span is None:
        return []
    chunk = list(lines[span[0] - 1 : span[1]])
    while chunk and not chunk[0].lstrip().startswith(("def ", "async def ")):
        chunk.pop(0)
    return chunk


def _first_difference(original: list[str], changed: list[str]) -> tuple[int, str, str]:
    """Offset from the def line of the first changed line, and that line before and after."""
    matcher = difflib.SequenceMatcher(a=original[1:], b=changed[1:], autojunk=False)
    for tag, a0, a1, b0, b1 in matcher.get_opcodes():
        if tag != "equal":
            before = original[1 + a0] if a0 < a1 else ""
            after = changed[1 + b0] if b0 < b1 else "(line removed)"
            return 1 + a0, before, after
    return 0, "", ""


@cache
def _def_lines(source: Path) -> dict[str, int]:
    """mutmut's function keys (x_name, xǁClassǁname) -> line of the def in our source."""
    found: dict[str, int] = {}
    for node in ast.parse(source.read_text()).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            found[f"x_{node.name}"] = node.lineno
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                    found[f"xǁ{node.name}ǁ{item.name}"] = item.lineno
    return found


def _def_line(source: Path, function: str) -> int:
    return _def_lines(source).get(function, 0)
