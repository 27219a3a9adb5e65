"""The auditor's trust store: the clinic keys enrolled once with `penctl audit trust KEYFILE`.

`penctl audit verify` pins a journal's signatures to these keys when no --public-key is given, so
a journal re-signed wholesale with another key fails instead of passing as self-consistent. Each
key is one PEM file named by its whole public key, in the auditor's configuration directory,
never beside the journal (whoever can rewrite a journal could rewrite a key kept with it).
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from controller.journal.durable import make_dirs, write_file_atomic
from controller.journal.errors import SigningKeyError
from controller.journal.signing import key_id, load_public_key

TRUSTED_KEY_PREFIX = "ed25519-"
TRUSTED_KEY_SUFFIX = ".pub.pem"


def resolve_trust_dir(option: str | os.PathLike[str] | None = None) -> Path:
    """The option, else $PENCTL_TRUST_DIR, else $XDG_CONFIG_HOME/penctl/trust (~/.config/...)."""
    if option:
        return Path(option)
    if env := os.environ.get("PENCTL_TRUST_DIR"):
        return Path(env)
    base = os.environ.get("XDG_CONFIG_HOME", "")
    root = Path(base) if os.path.isabs(base) else Path.home() / ".config"
    return root / "penctl" / "trust"


def enrol(keyfile: Path, trust_dir: Path) -> tuple[str, str, Path]:
    """Adds the public key of `keyfile` (public or private PEM) to the store: its key_id, the
    whole public key in hex, and the file it now lives in."""
    public_hex = load_public_key(keyfile)
    public = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_hex))
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    target = trust_dir / f"{TRUSTED_KEY_PREFIX}{public_hex}{TRUSTED_KEY_SUFFIX}"
    try:
        make_dirs(trust_dir)
        write_file_atomic(target, pem, mode=0o644)
    except OSError as exc:
        raise SigningKeyError(
            f"cannot write the trust store {trust_dir}: {exc.strerror}; choose another one with "
            "PENCTL_TRUST_DIR"
        ) from exc
    return key_id(bytes.fromhex(public_hex)), public_hex, target


def trusted_keys(trust_dir: Path) -> list[str]:
    """The enrolled public keys (hex). A file whose key is not the one its name says was
    changed: it is refused (SigningKeyError), never silently trusted or skipped."""
    if not trust_dir.is_dir():
        return []
    keys: list[str] = []
    for name in sorted(os.listdir(trust_dir)):
        if not (name.startswith(TRUSTED_KEY_PREFIX) and name.endswith(TRUSTED_KEY_SUFFIX)):
            continue
        named = name[len(TRUSTED_KEY_PREFIX) : -len(TRUSTED_KEY_SUFFIX)]
        public_hex = load_public_key(trust_dir / name)
        if public_hex != named:
            raise SigningKeyError(
                f"trusted key file {trust_dir / name} holds key {public_hex}, not the one its "
                "name says: the trust store was changed. Remove the file and enrol the key again"
            )
        keys.append(public_hex)
    return keys
