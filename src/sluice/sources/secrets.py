"""Connection strings at rest: Fernet (AES-128-CBC + HMAC-SHA256) with keys in ``keys/sources.keys`` (0600).

The file holds one key per line, the current one first; older lines still decrypt, so a rotation
(``rotate``) adds a key, re-encrypts every stored connection and can then drop the old one. A connection
string is decrypted only to connect, and is never returned by any use case (callers see it redacted).
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from sluice.errors import NotInitialised

KEYS_FILE = "sources.keys"


def keys_path(keys_dir: Path) -> Path:
    return keys_dir / KEYS_FILE


def box(keys_dir: Path) -> MultiFernet:
    """The keys in force, creating the first one (mode 0600) if there is none yet."""
    path = keys_path(keys_dir)
    if not path.exists():
        keys_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(Fernet.generate_key() + b"\n")
    lines = [line.strip() for line in path.read_bytes().splitlines() if line.strip()]
    if not lines:
        raise NotInitialised(f"{path} holds no key; restore it from backup (linked sources cannot be read without it)")
    return MultiFernet([Fernet(line) for line in lines])


def seal(keys_dir: Path, secret: str) -> str:
    return box(keys_dir).encrypt(secret.encode("utf-8")).decode("ascii")


def unseal(keys_dir: Path, sealed: str) -> str:
    try:
        return box(keys_dir).decrypt(sealed.encode("ascii")).decode("utf-8")
    except InvalidToken:
        raise NotInitialised(
            f"a linked source's connection cannot be decrypted with the keys in {keys_path(keys_dir)}; restore the "
            "key file from backup"
        ) from None


def add_key(keys_dir: Path) -> None:
    """Put a new current key first (the old ones still decrypt until ``drop_old_keys``)."""
    path = keys_path(keys_dir)
    box(keys_dir)  # make sure the file exists
    path.write_bytes(Fernet.generate_key() + b"\n" + path.read_bytes())
    os.chmod(path, 0o600)


def drop_old_keys(keys_dir: Path) -> None:
    path = keys_path(keys_dir)
    first = path.read_bytes().splitlines()[0]
    path.write_bytes(first + b"\n")


def reseal(keys_dir: Path, sealed: str) -> str:
    return box(keys_dir).rotate(sealed.encode("ascii")).decode("ascii")
