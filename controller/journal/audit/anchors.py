"""What ties a journal to something outside it: a pinned key and a witness's copy of a head.

A journal checked only against itself can be rolled back (an older head.json put back, the newer
records cut) or re-signed wholesale with another key and still be consistent. The `key` dimension
compares every signature with a key the auditor trusts; the `witness` dimension compares the
journal with a head a witness saw (docs/journal.md §4). Without them a journal is at best
UNPROTECTED, never PASS.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path

from controller.journal.format import (
    FINGERPRINT,
    HEAD_FILE,
    FramingError,
    Head,
    Record,
    SchemaError,
    parse_head,
    session_file_name,
)
from controller.journal.regular import NotRegularFile, read_regular
from controller.journal.signing import key_id, verify_head

# (severity, message, file, seq): the verifier turns each into a Finding of the dimension
Problem = tuple[str, str, str | None, int | None]


class WitnessInputError(ValueError):
    """--witness names nothing a witness can be; the message says what to give instead."""


@dataclass(frozen=True)
class WitnessHead:
    """What a witness saw: a signed head (a copy of head.json), or only its fingerprint
    `SEQ:HASH16` (from a printed or e-mailed report)."""

    source: str
    head: Head | None = None
    seq: int = 0
    hash_prefix: str = ""

    @classmethod
    def of_head(cls, source: str, head: Head) -> WitnessHead:
        vouched = head.checkpoint
        return cls(
            source,
            head,
            vouched.seq if vouched else 0,
            vouched.hash[:16] if vouched else "",
        )


def load_witness(given: str) -> WitnessHead:
    """A fingerprint `SEQ:HASH16`, a witness directory (its head.json) or a head file."""
    match = FINGERPRINT.match(given)
    if match is not None:
        return WitnessHead(given, None, int(match.group(1)), match.group(2))
    path = Path(given)
    if path.is_dir():
        path = path / HEAD_FILE
    try:
        head = parse_head(read_regular(path))
    except FileNotFoundError:
        raise WitnessInputError(
            f"witness {path} does not exist; give the witness directory, a copy of head.json, "
            "or a fingerprint such as 86:2d44a1c09b3e4dce from a printed report"
        ) from None
    except (OSError, NotRegularFile) as exc:
        raise WitnessInputError(f"witness {path} cannot be read: {exc}") from exc
    except (FramingError, SchemaError) as exc:
        raise WitnessInputError(f"witness {path} is not a penctl head: {exc}") from exc
    return WitnessHead.of_head(str(path), head)


def check_pinned(trusted: Collection[str], head: Head | None) -> list[Problem]:
    """head.json signed by a key the auditor trusts (each checkpoint is checked where it sits):
    `trusted` holds the pinned public keys (hex) and those a valid hand-over chain reached."""
    if not trusted:
        return [
            (
                "unprotected",
                "self-consistent, key not pinned: signatures were checked only against the key "
                "found in the journal, so a journal re-signed wholesale with another key would "
                "pass. Enrol the clinic's key once (`penctl audit trust KEYFILE`) or give "
                "--public-key",
                None,
                None,
            )
        ]
    if head is not None and head.public_key not in trusted:
        names = ", ".join(sorted(key_id(bytes.fromhex(k)) for k in trusted))
        return [
            (
                "fail",
                f"{HEAD_FILE} is signed by key {key_id(bytes.fromhex(head.public_key))}, which is "
                f"not a trusted key ({names})",
                HEAD_FILE,
                None,
            )
        ]
    return []


def check_witnesses(
    witnesses: list[WitnessHead],
    by_seq: Mapping[int, tuple[Record, str, int]],
    last_seq: int,
    last_session: int,
    signers: list[str],
) -> list[Problem]:
    """The journal holds, unchanged, every checkpoint a witness saw, and every session it saw."""
    if not witnesses:
        return [
            (
                "unprotected",
                "no witness: a rollback (an older head.json put back and the newer records or "
                "sessions cut) leaves a journal consistent in itself. Give --witness with the "
                "witness directory, a copy of head.json, or the fingerprint printed on a report",
                None,
                None,
            )
        ]
    problems: list[Problem] = []
    for witness in witnesses:
        problems.extend(_check_one(witness, by_seq, last_seq, last_session, signers))
    return problems


def _check_one(
    witness: WitnessHead,
    by_seq: Mapping[int, tuple[Record, str, int]],
    last_seq: int,
    last_session: int,
    signers: list[str],
) -> list[Problem]:
    name = witness.source
    head = witness.head
    if head is not None:
        problem = verify_head(head)
        if problem is not None:
            return [("fail", f"witness {name} is not a genuine head: {problem}", None, None)]
        if signers and head.public_key not in signers:
            return [
                (
                    "fail",
                    f"witness {name} was signed by key {key_id(bytes.fromhex(head.public_key))}, "
                    f"the journal by {key_id(bytes.fromhex(signers[0]))}: the journal was "
                    "re-signed with another key",
                    None,
                    None,
                )
            ]
        if head.last_session > last_session:
            return [
                (
                    "fail",
                    f"the journal is behind its witness {name}: the witness saw session "
                    f"{head.last_session} opened, the journal ends at session {last_session}: "
                    "whole sessions were removed (rolled back)",
                    session_file_name(head.last_session),
                    None,
                )
            ]
    if witness.seq == 0:
        return []
    return _check_vouched(witness, by_seq, last_seq)


def _check_vouched(
    witness: WitnessHead, by_seq: Mapping[int, tuple[Record, str, int]], last_seq: int
) -> list[Problem]:
    seq, prefix, name = witness.seq, witness.hash_prefix, witness.source
    found = by_seq.get(seq)
    if found is None:
        if seq > last_seq:
            return [
                (
                    "fail",
                    f"the journal is behind its witness {name}: the witness saw checkpoint "
                    f"record {seq}, the journal ends at record {last_seq}: records were cut "
                    "and head.json rolled back",
                    None,
                    seq,
                )
            ]
        return [("fail", f"record {seq}, which witness {name} saw, is missing", None, seq)]
    record, file, _offset = found
    expected = witness.head.checkpoint.hash if witness.head and witness.head.checkpoint else None
    same = record.hash == expected if expected is not None else record.hash.startswith(prefix)
    if record.type != "CHECKPOINT" or not same:
        return [
            (
                "fail",
                f"the journal has forked from its witness {name}: record {seq} is not the "
                f"checkpoint the witness saw (hash {prefix}…, here {record.hash[:16]}…)",
                file,
                seq,
            )
        ]
    return []
