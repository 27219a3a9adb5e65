"""`penctl journal rotate-key`: hand a journal over to a new signing key (docs/journal.md §4).

The controller's side of the journal, next to `penctl audit` (the auditor's, which never writes).
The old key signs a KEY_HANDOVER record naming the new key, so an auditor who pinned the old key
trusts the new one through it; afterwards the controller signs with the new key.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from controller.journal import JournalWriter
    from controller.journal.signing import CheckpointSigner

_KEY_PATH = "a private key file (PEM, mode 0600) or a key directory holding journal-ed25519.pem"


def register(subparsers: argparse._SubParsersAction) -> None:
    journal = subparsers.add_parser(
        "journal",
        help="maintain a session journal (hand it over to a new signing key)",
        description="Maintain a session journal. Reading and verifying it is `penctl audit`.",
    )
    actions = journal.add_subparsers(dest="journal_action", metavar="ACTION", required=True)
    rotate = actions.add_parser(
        "rotate-key",
        help="hand the journal over to a new signing key, signed by the old one",
        description="Append a KEY_HANDOVER record, signed by the old key and naming the new "
        "key and the reason, then a checkpoint by the new key; head.json is re-signed with the "
        "new key. Run it between sessions (no controller may hold the journal). Auditors who "
        "pinned the old key trust the new one through the hand-over. Afterwards give the "
        "controller the new key (--key-dir or PENCTL_KEY_DIR). Running it again once the "
        "journal is handed over changes nothing. Exit 0 when the new key is in force, 1 when "
        "nothing was handed over.",
    )
    rotate.add_argument("--journal", required=True, metavar="DIR", help="the journal directory")
    rotate.add_argument(
        "--old-key", required=True, metavar="PATH", help=f"the key in force: {_KEY_PATH}"
    )
    rotate.add_argument(
        "--new-key",
        required=True,
        metavar="PATH",
        help=f"the new key: {_KEY_PATH}; a directory without one gets a new key, created as the "
        "controller creates its own (journal-ed25519.pem and .pub.pem beside it)",
    )
    rotate.add_argument("--reason", required=True, help="why the key changes (1-2000 characters)")
    rotate.add_argument("--operator", required=True, metavar="ID", help="who hands it over")
    rotate.add_argument(
        "--witness",
        metavar="DIR",
        help="the journal's witness directory, which receives the new signed head (§4)",
    )
    rotate.set_defaults(handler=_rotate)


def _rotate(args: argparse.Namespace) -> int:
    from controller.journal import JournalError
    from controller.journal.format import HEAD_FILE
    from controller.journal.signing import CheckpointSigner

    if not (Path(args.journal) / HEAD_FILE).is_file():
        return _fail(
            f"{args.journal} holds no journal ({HEAD_FILE} is missing); nothing was written. "
            "Give the journal directory the controller writes (--journal)"
        )
    try:
        old = CheckpointSigner.from_path(Path(args.old_key))
        writer = _open_in_force(args, old)
        if writer is None:
            return 0
        with writer:
            new = CheckpointSigner.from_path(Path(args.new_key), create=True)
            record = writer.rotate_key(new, args.reason, args.operator)
            fingerprint = writer.head_fingerprint
            witness_error = writer.witness_error
    except JournalError as exc:
        return _fail(str(exc))
    print(
        f"journal {args.journal} handed over from key {old.key_id} to key {new.key_id} "
        f"(KEY_HANDOVER record {record.seq}); head fingerprint {fingerprint}.\n"
        f"Give the controller the new key from now on (--key-dir or PENCTL_KEY_DIR); auditors "
        f"who pinned key {old.key_id} trust {new.key_id} through the hand-over."
    )
    if witness_error is not None:
        print(f"warning: {witness_error}", file=sys.stderr)
    return 0


def _open_in_force(args: argparse.Namespace, old: CheckpointSigner) -> JournalWriter | None:
    """The journal opened with the old key; None when it is already handed over to the new key
    (this command ran before, or stopped after writing the records), which is then said."""
    from controller.journal import JournalKeyMismatch, JournalWriter
    from controller.journal.signing import CheckpointSigner

    try:
        return JournalWriter.open(args.journal, signer=old, witness=args.witness)
    except JournalKeyMismatch as not_old:
        if not Path(args.new_key).exists():
            raise
        new = CheckpointSigner.from_path(Path(args.new_key))
        try:
            writer = JournalWriter.open(args.journal, signer=new, witness=args.witness)
        except JournalKeyMismatch:
            raise not_old from None
    with writer:
        print(
            f"journal {args.journal} is already signed with key {new.key_id}; nothing was "
            f"handed over. Head fingerprint {writer.head_fingerprint}."
        )
    return None


def _fail(message: str) -> int:
    print(f"penctl journal rotate-key: {message}", file=sys.stderr)
    return 1
