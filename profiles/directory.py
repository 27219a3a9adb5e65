"""Which entries of a clinic directory are read, and why every other one is not.

A clinic directory is edited by people with ordinary tools, so it collects more than profiles:
`acne.TOML` or `acne.toml.txt` saved by an editor, a folder or a named pipe called `x.toml`, a
symbolic link to a file that moved, macOS `._acne.toml` companions and editor backups. Nothing is
skipped silently. An entry that looks meant as a profile but cannot be read as one blocks loading
(an `Issue`: loading without it would fall back to the bundled profile the clinic meant to change,
S9); editor and OS litter, and files that are plainly something else, are skipped with a note.
Nothing here opens a file, so a named pipe can never block a reader.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from profiles.issues import Issue, show_value

_LITTER_SUFFIXES = (".swp", ".swo", ".swx", ".bak", ".orig", ".tmp", ".rej", "~")
_LITTER_NAMES = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})


@dataclass(frozen=True, slots=True)
class Skipped:
    """A directory entry that was not read and does not need to be: a note, not a problem."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: skipped: {self.reason}"


@dataclass(frozen=True)
class Scan:
    files: tuple[Path, ...]
    """Regular files named `*.toml`, to be read."""
    blocked: tuple[Issue, ...]
    """Entries meant as profiles that cannot be read as one."""
    skipped: tuple[Skipped, ...]


def _litter(name: str) -> str | None:
    if name in _LITTER_NAMES or name.startswith("._"):
        return "operating-system litter (a macOS or Windows companion file)"
    if name.startswith((".", "#")) or name.endswith(_LITTER_SUFFIXES):
        return "editor litter (a hidden, backup, lock or swap file)"
    return None


def _misnamed(name: str) -> str | None:
    """Why a name that is almost `*.toml` is not read, with the name it should have."""
    lower = name.lower()
    if lower.endswith(".toml"):
        fixed = name[: -len(".toml")] + ".toml"
        return f"the extension must be written .toml in lower case; rename it to {fixed}"
    if ".toml." in lower:
        stem = name[: lower.index(".toml.")]
        return (
            f"the name ends in {name[len(stem) + 5 :]} after .toml (an editor added an "
            f"extension?); rename it to {stem}.toml"
        )
    return None


def _not_a_file(path: Path) -> str | None:
    """Why an entry named `*.toml` is not a regular file that can be read, else None."""
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "a symbolic link loop (it points back at itself); replace it with the file"
        if path.is_symlink():
            target = os.readlink(path)
            return f"a symbolic link to {target}, which does not exist; fix or remove the link"
        return f"cannot be examined ({exc.strerror or exc}); check its permissions"
    if stat.S_ISDIR(mode):
        return "a directory named like a profile; sub-directories are not read, rename it"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO), not a file; it was not opened, remove it"
    if not stat.S_ISREG(mode):
        return "not a regular file (a socket or a device); it was not opened, remove it"
    return None


def scan(directory: Path) -> Scan:
    """Every entry of `directory`, sorted by name: read, blocked with a reason, or skipped."""
    files: list[Path] = []
    blocked: list[Issue] = []
    skipped: list[Skipped] = []
    for path in sorted(directory.iterdir(), key=lambda p: p.name):
        name = path.name
        litter = _litter(name)
        if litter is not None:
            skipped.append(Skipped(str(path), litter))
            continue
        problem = _not_a_file(path) if name.endswith(".toml") else _misnamed(name)
        if problem is not None:
            blocked.append(Issue(str(path), None, "(file)", show_value(name), problem))
        elif name.endswith(".toml"):
            files.append(path)
        elif path.is_dir():
            skipped.append(Skipped(str(path), "a directory; sub-directories are not read"))
        else:
            skipped.append(Skipped(str(path), "not a .toml file"))
    return Scan(tuple(files), tuple(blocked), tuple(skipped))
