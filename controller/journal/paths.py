"""Where the journal and its signing key live: an option, else an environment variable, else the
user's data directory ($XDG_DATA_HOME, or ~/.local/share when unset, per the XDG spec)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

ENV_JOURNAL_DIR = "PENCTL_JOURNAL_DIR"
ENV_KEY_DIR = "PENCTL_KEY_DIR"


def data_home(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    xdg = env.get("XDG_DATA_HOME", "")
    # The spec says relative paths in XDG_* are invalid and must be ignored.
    if xdg and os.path.isabs(xdg):
        return Path(xdg)
    home = env.get("HOME") or os.path.expanduser("~")
    return Path(home) / ".local" / "share"


def resolve_journal_dir(
    option: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None
) -> Path:
    env = os.environ if env is None else env
    if option:
        return Path(option).expanduser()
    if env.get(ENV_JOURNAL_DIR):
        return Path(env[ENV_JOURNAL_DIR]).expanduser()
    return data_home(env) / "penctl" / "journal"


def resolve_key_dir(
    option: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None
) -> Path:
    """Kept apart from the journal, so copying a journal to an auditor never copies the key."""
    env = os.environ if env is None else env
    if option:
        return Path(option).expanduser()
    if env.get(ENV_KEY_DIR):
        return Path(env[ENV_KEY_DIR]).expanduser()
    return data_home(env) / "penctl" / "keys"
