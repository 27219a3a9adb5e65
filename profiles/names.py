"""Looking up a name someone typed: a profile, an area or a concern.

Area and concern names are written with underscores (`cheek_left`), profile names with hyphens
(`acne-scars`); people type either, so each lookup also tries the name with the kind's own
separator. A name that is still unknown is an `UnknownName` value, not an exception, carrying the
closest known names: the CLI and the console word it their own way, and nobody has to parse a
sentence to learn what went wrong.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from profiles.vocabulary import never_treated

CLOSE_ENOUGH = 0.6
"""difflib's similarity ratio below which a known name is not offered as "did you mean"."""


class NameKind(StrEnum):
    PROFILE = "profile"
    AREA = "area"
    CONCERN = "concern"


_SEPARATOR = {NameKind.PROFILE: "-", NameKind.AREA: "_", NameKind.CONCERN: "_"}


@dataclass(frozen=True, slots=True)
class UnknownName:
    """A name that matches nothing of its kind, with either separator."""

    kind: NameKind
    given: str
    """As typed."""
    suggestions: tuple[str, ...]
    """The closest known names, closest first; empty when none is close."""
    known: tuple[str, ...]
    """Every known name of the kind, in the library's order."""


def closest(word: str, known: Sequence[str], n: int = 3) -> tuple[str, ...]:
    """The known words most like `word`, closest first (the one "did you mean" rule)."""
    return tuple(difflib.get_close_matches(word, known, n=n, cutoff=CLOSE_ENOUGH))


def find_name(kind: NameKind, given: str, known: Sequence[str]) -> str | UnknownName:
    """`given` as it is known (exactly, or with the kind's separator), else an `UnknownName`."""
    if given in known:
        return given
    separator = _SEPARATOR[kind]
    respelt = given.replace("_" if separator == "-" else "-", separator)
    if respelt in known:
        return respelt
    return UnknownName(kind, given, closest(respelt, known), tuple(known))


_NEXT_STEP = {
    NameKind.PROFILE: "; choose one from `penctl profiles list`.",
    NameKind.AREA: "; `penctl profiles areas` lists them.",
    NameKind.CONCERN: ".",
}


def unknown_sentence(unknown: UnknownName) -> str:
    """The one wording of an unknown name, for refusals and for the command line alike."""
    if unknown.kind is NameKind.AREA and (refused := never_treated(unknown.given)) is not None:
        return f"{unknown.given!r} is not an area: {refused}."
    hint = f" Did you mean {unknown.suggestions[0]!r}?" if unknown.suggestions else ""
    return (
        f"No {unknown.kind.value} named {unknown.given!r} (known: {', '.join(unknown.known)})"
        f"{_NEXT_STEP[unknown.kind]}{hint}"
    )
