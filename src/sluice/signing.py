"""The platform's Ed25519 signing key: generated once by ``sluice init``, kept in a 0600 file."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from sluice.errors import NotInitialised

KEY_FILE_MODE = 0o600


class Signer:
    """Signs with the platform key; publishes the public half and its id."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._private_key = private_key
        self.public_key: Ed25519PublicKey = private_key.public_key()

    def sign(self, message: bytes) -> bytes:
        return self._private_key.sign(message)

    @property
    def public_key_raw(self) -> bytes:
        return self.public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    @property
    def public_key_pem(self) -> str:
        return self.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode("ascii")

    @property
    def key_id(self) -> str:
        """First 16 hex digits of SHA-256 over the raw public key: names the key in receipts and tree heads."""
        return hashlib.sha256(self.public_key_raw).hexdigest()[:16]


def generate_key_file(path: Path) -> None:
    """Write a fresh key to ``path`` with mode 0600. Refuses to overwrite an existing key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    # O_EXCL: never replace a key that exists; the mode is set at creation, so the key is never readable by others.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, KEY_FILE_MODE)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)


def key_file_problem(path: Path) -> str | None:
    """What is wrong with the key file, in words, or None when it is fine."""
    if not path.exists():
        return f"the signing key {path} is missing; run `sluice init`"
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        return f"the signing key {path} is readable by others (mode {mode:o}); run `chmod 600 {path}`"
    try:
        _load_private_key(path)
    except ValueError as exc:
        return f"the signing key {path} cannot be read as an Ed25519 PEM key: {exc}"
    return None


def load_signer(path: Path) -> Signer:
    problem = key_file_problem(path)
    if problem:
        raise NotInitialised(problem, path=str(path))
    return Signer(_load_private_key(path))


def _load_private_key(path: Path) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("not an Ed25519 key")
    return key
