"""Ed25519 checkpoints: the controller signs the hash of a session's last record at close.

Ed25519 rather than HMAC because verifying must not need the secret: an auditor checks a journal
with the public key recorded in it (or pinned from elsewhere) and cannot forge a checkpoint, while
an HMAC key handed to every auditor would let any of them forge one.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from controller.journal.durable import fsync_dir, make_dirs, write_all, write_file_atomic
from controller.journal.errors import SigningKeyError
from controller.journal.format import Head, HeadCheckpoint, head_message, sha256_hex
from controller.journal.records import Checkpoint, KeyHandover

KEY_FILE = "journal-ed25519.pem"
PUBLIC_KEY_FILE = "journal-ed25519.pub.pem"
MESSAGE_PREFIX = b"penctl-journal checkpoint v1\n"
HANDOVER_PREFIX = b"penctl-journal key-handover v1\n"


def checkpoint_message(covers_seq: int, covers_hash: str) -> bytes:
    """The exact bytes signed: a fixed first line (so the signature means nothing elsewhere),
    then the covered record's sequence number and hash."""
    return MESSAGE_PREFIX + f"seq {covers_seq}\nhash {covers_hash}\n".encode("ascii")


def handover_message(
    covers_seq: int, covers_hash: str, old_public_key: str, new_public_key: str, reason: str
) -> bytes:
    """The exact bytes the old key signs to hand the journal over: where in the chain, from which
    key to which, and the SHA-256 of the reason's UTF-8 (so any character may appear in it)."""
    reason_sha256 = sha256_hex(reason.encode("utf-8"))
    return HANDOVER_PREFIX + (
        f"seq {covers_seq}\nhash {covers_hash}\nold {old_public_key}\nnew {new_public_key}\n"
        f"reason {reason_sha256}\n"
    ).encode("ascii")


def key_id(public_key_raw: bytes) -> str:
    return sha256_hex(public_key_raw)[:16]


class CheckpointSigner:
    """Holds the private key; `sign` turns a covered record into a CHECKPOINT record's data."""

    def __init__(self, private_key: Ed25519PrivateKey):
        self._key = private_key
        raw = private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self.public_key_hex = raw.hex()
        self.key_id = key_id(raw)

    @classmethod
    def generate(cls) -> CheckpointSigner:
        """A key that lives only in memory (simulator runs, tests)."""
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def load_or_create(cls, key_dir: Path) -> CheckpointSigner:
        """The key in `key_dir`, created with mode 0600 on first use, its public key beside it."""
        path = key_dir / KEY_FILE
        if not path.exists():
            _create_key(key_dir)
        return cls(_load_key(path))

    @classmethod
    def from_path(cls, path: Path, *, create: bool = False) -> CheckpointSigner:
        """A private key file (PEM), or a key directory's `journal-ed25519.pem`, created there
        on first use when `create` (as the controller does)."""
        if path.is_dir() or (create and not path.exists()):
            if create:
                return cls.load_or_create(path)
            path = path / KEY_FILE
        return cls(_load_key(path))

    def sign(self, covers_seq: int, covers_hash: str) -> Checkpoint:
        signature = self._key.sign(checkpoint_message(covers_seq, covers_hash))
        return Checkpoint(
            algorithm="ed25519",
            key_id=self.key_id,
            public_key=self.public_key_hex,
            covers_seq=covers_seq,
            covers_hash=covers_hash,
            signature=signature.hex(),
        )

    def hand_over(
        self, new_public_key: str, covers_seq: int, covers_hash: str, reason: str
    ) -> KeyHandover:
        """KEY_HANDOVER's data: this key (the one in force) names its successor."""
        message = handover_message(
            covers_seq, covers_hash, self.public_key_hex, new_public_key, reason
        )
        return KeyHandover(
            algorithm="ed25519",
            old_key_id=self.key_id,
            old_public_key=self.public_key_hex,
            new_key_id=key_id(bytes.fromhex(new_public_key)),
            new_public_key=new_public_key,
            covers_seq=covers_seq,
            covers_hash=covers_hash,
            reason=reason,
            signature=self._key.sign(message).hex(),
        )

    def sign_head(self, last_session: int, checkpoint: HeadCheckpoint | None) -> Head:
        """head.json's content, signed: a copy handed to a witness cannot be made up later."""
        signature = self._key.sign(head_message(last_session, checkpoint))
        return Head(
            last_session=last_session,
            checkpoint=checkpoint,
            public_key=self.public_key_hex,
            signature=signature.hex(),
        )


def _verify(public_key_hex: str, signature_hex: str, message: bytes) -> bool:
    try:
        public = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key_hex))
        public.verify(bytes.fromhex(signature_hex), message)
    except (InvalidSignature, ValueError):
        return False
    return True


def verify_head(head: Head) -> str | None:
    """None when the head's signature is good (with the key it names), else what is wrong."""
    if head.checkpoint is not None and head.checkpoint.key_id != key_id(
        bytes.fromhex(head.public_key)
    ):
        return (
            f"names checkpoint key {head.checkpoint.key_id} but is signed with key "
            f"{key_id(bytes.fromhex(head.public_key))}"
        )
    if not _verify(head.public_key, head.signature, head.message()):
        signer = key_id(bytes.fromhex(head.public_key))
        return f"its Ed25519 signature does not verify with key {signer}"
    return None


def verify_checkpoint(checkpoint: Checkpoint) -> str | None:
    """None when the signature is good, else what is wrong with it."""
    raw = bytes.fromhex(checkpoint.public_key)
    if key_id(raw) != checkpoint.key_id:
        return f"key_id {checkpoint.key_id} does not belong to the public key recorded beside it"
    message = checkpoint_message(checkpoint.covers_seq, checkpoint.covers_hash)
    if not _verify(checkpoint.public_key, checkpoint.signature, message):
        return f"the Ed25519 signature does not verify with key {checkpoint.key_id}"
    return None


def verify_handover(handover: KeyHandover) -> str | None:
    """None when the hand-over is signed by the old key it names, else what is wrong. Whether
    that key was the one in force is the caller's to judge (it knows the chain)."""
    for name, public in (("old", handover.old_public_key), ("new", handover.new_public_key)):
        named = getattr(handover, f"{name}_key_id")
        if key_id(bytes.fromhex(public)) != named:
            return f"{name}_key_id {named} does not belong to the {name} public key beside it"
    message = handover_message(
        handover.covers_seq,
        handover.covers_hash,
        handover.old_public_key,
        handover.new_public_key,
        handover.reason,
    )
    if not _verify(handover.old_public_key, handover.signature, message):
        return f"the Ed25519 signature does not verify with the old key {handover.old_key_id}"
    return None


def load_public_key(path: Path) -> str:
    """The raw public key (64 hex digits) of a public or private key file in PEM, for pinning a
    verification to it: the whole key, since a 64-bit key_id can be matched on purpose."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SigningKeyError(
            f"cannot read public key {path}: {exc.strerror}; give the path of the "
            f"{PUBLIC_KEY_FILE} file from the controller's key directory"
        ) from exc
    try:
        public = serialization.load_pem_public_key(data)
    except ValueError:
        try:
            private = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError) as exc:
            raise SigningKeyError(
                f"{path} is not a PEM Ed25519 key; give the {PUBLIC_KEY_FILE} file from the "
                "controller's key directory"
            ) from exc
        public = private.public_key()
    if not isinstance(public, Ed25519PublicKey):
        raise SigningKeyError(f"{path} holds a key that is not Ed25519; journals use Ed25519")
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def _create_key(key_dir: Path) -> None:
    try:
        make_dirs(key_dir)
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        public_pem = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        tmp = key_dir / f".{KEY_FILE}.{os.getpid()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            write_all(fd, pem)
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            # link() fails if another process created the key first; theirs wins, ours goes.
            os.link(tmp, key_dir / KEY_FILE)
        except FileExistsError:
            pass
        else:
            write_file_atomic(key_dir / PUBLIC_KEY_FILE, public_pem, mode=0o644)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        fsync_dir(key_dir)
    except OSError as exc:
        raise SigningKeyError(
            f"cannot create the journal signing key in {key_dir}: {exc.strerror}; nothing was "
            "journaled. Make the directory writable or choose another one (PENCTL_KEY_DIR)"
        ) from exc


def _load_key(path: Path) -> Ed25519PrivateKey:
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        data = path.read_bytes()
    except OSError as exc:
        raise SigningKeyError(
            f"cannot read the journal signing key {path}: {exc.strerror}; nothing was journaled. "
            "Check the file and its permissions"
        ) from exc
    if mode & 0o077:
        raise SigningKeyError(
            f"the journal signing key {path} is readable by others (mode {mode:04o}); it was not "
            f"used. Run `chmod 600 {path}` and start again"
        )
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise SigningKeyError(
            f"the journal signing key {path} is not a readable PEM key; it was not used. "
            "Restore it from backup; a new key needs a new journal directory"
        ) from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"the journal signing key {path} is not an Ed25519 key")
    return key
