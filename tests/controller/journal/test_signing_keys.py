"""The signing key's files, and every way a key file can be wrong, each said with what to do."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from controller.journal.signing import (
    KEY_FILE,
    PUBLIC_KEY_FILE,
    CheckpointSigner,
    SigningKeyError,
    load_public_key,
    verify_checkpoint,
)


def test_the_public_key_is_readable_by_auditors_and_the_private_key_by_its_owner_only(
    tmp_path: Path,
) -> None:
    signer = CheckpointSigner.load_or_create(tmp_path / "keys")
    assert stat.S_IMODE((tmp_path / "keys" / PUBLIC_KEY_FILE).stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "keys" / KEY_FILE).stat().st_mode) == 0o600
    assert [p.name for p in (tmp_path / "keys").iterdir() if p.name.startswith(".")] == []
    pinned = load_public_key(tmp_path / "keys" / PUBLIC_KEY_FILE)
    assert pinned == signer.public_key_hex
    assert load_public_key(tmp_path / "keys" / KEY_FILE) == pinned  # a private key file works too


def _ec_pem(private: bool) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    if private:
        return key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read public key {path}: No such file or directory; give the path of the "
         f"{PUBLIC_KEY_FILE} file from the controller's key directory"),
        (b"not a key", f"{{path}} is not a PEM Ed25519 key; give the {PUBLIC_KEY_FILE} file from "
         "the controller's key directory"),
        ("ec-public", "{path} holds a key that is not Ed25519; journals use Ed25519"),
        ("ec-private", "{path} holds a key that is not Ed25519; journals use Ed25519"),
    ],
)  # fmt: skip
def test_a_wrong_public_key_file_is_refused_saying_what_to_give(
    tmp_path: Path, content: object, message: str
) -> None:
    path = tmp_path / "given.pem"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, str):
        path.write_bytes(_ec_pem(private=content == "ec-private"))
    with pytest.raises(SigningKeyError) as refused:
        load_public_key(path)
    assert str(refused.value) == message.format(path=path)


def _key_dir_with(tmp_path: Path, data: bytes) -> Path:
    keys = tmp_path / "keys"
    keys.mkdir()
    (keys / KEY_FILE).write_bytes(data)
    (keys / KEY_FILE).chmod(0o600)
    return keys


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"garbage", "the journal signing key {path} is not a readable PEM key; it was not used. "
         "Restore it from backup; a new key needs a new journal directory"),
        ("ec-private", "the journal signing key {path} is not an Ed25519 key"),
    ],
)  # fmt: skip
def test_a_wrong_signing_key_file_is_refused_and_never_replaced(
    tmp_path: Path, data: object, message: str
) -> None:
    raw = data if isinstance(data, bytes) else _ec_pem(private=True)
    keys = _key_dir_with(tmp_path, raw)
    with pytest.raises(SigningKeyError) as refused:
        CheckpointSigner.load_or_create(keys)
    assert str(refused.value) == message.format(path=keys / KEY_FILE)
    assert (keys / KEY_FILE).read_bytes() == raw


def test_a_signing_key_that_cannot_be_read_says_to_check_it(tmp_path: Path) -> None:
    keys = _key_dir_with(tmp_path, b"")
    (keys / KEY_FILE).unlink()
    (keys / KEY_FILE).mkdir()  # a directory where the key should be: reading it fails
    with pytest.raises(SigningKeyError) as refused:
        CheckpointSigner.load_or_create(keys)
    assert str(refused.value).endswith(
        "; nothing was journaled. Check the file and its permissions"
    )


def test_a_key_directory_that_cannot_be_made_says_what_to_do(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_bytes(b"")
    with pytest.raises(SigningKeyError) as refused:
        CheckpointSigner.load_or_create(blocker / "keys")
    assert str(refused.value) == (
        f"cannot create the journal signing key in {blocker / 'keys'}: Not a directory; nothing "
        "was journaled. Make the directory writable or choose another one (PENCTL_KEY_DIR)"
    )


def test_a_generated_signer_signs_checkpoints_that_verify() -> None:
    signer = CheckpointSigner.generate()
    assert verify_checkpoint(signer.sign(7, "ab" * 32)) is None
