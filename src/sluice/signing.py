"""The platform's Ed25519 signing key: generated once by ``sluice init``, kept in a 0600 file.

A signer loaded from the key file follows it: when the key is rotated (two people's decision, see
``sluice.controls``) every process signs with the new key from its next signature on, without a restart. The
public halves of retired keys stay in ``keys/retired/`` so that everything signed before still verifies.
"""

from __future__ import annotations

import hashlib
import os
import stat
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from sluice.errors import NotInitialised

KEY_FILE_MODE = 0o600
RETIRED = "retired"


@dataclass(frozen=True)
class SigningKey:
    """One key, whole: what a signature and the key id it names are both taken from."""

    private_key: Ed25519PrivateKey
    public_key: Ed25519PublicKey
    key_id: str

    def sign(self, message: bytes) -> bytes:
        return self.private_key.sign(message)


class Signer:
    """Signs with the platform key; publishes the public half and its id. Given the key file's ``path``, it
    reloads the key when the file is replaced (a rotation). Take ``current()`` once per signature: the key id
    written into a signed body and the key that signs it are then the same, even during a rotation."""

    def __init__(self, private_key: Ed25519PrivateKey, path: Path | None = None) -> None:
        self._path = path
        self._stamp = _stamp(path) if path is not None else None
        self._lock = threading.Lock()
        self._key = _signing_key(private_key)

    def current(self) -> SigningKey:
        if self._path is not None:
            stamp = _stamp(self._path)
            if stamp != self._stamp:
                with self._lock:
                    if stamp != self._stamp:
                        self._key = _signing_key(_load_private_key(self._path))  # one assignment: atomic
                        self._stamp = stamp
        return self._key

    def sign(self, message: bytes) -> bytes:
        return self.current().sign(message)

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.current().public_key

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
        return self.current().key_id


def _signing_key(private_key: Ed25519PrivateKey) -> SigningKey:
    public = private_key.public_key()
    return SigningKey(private_key, public, key_id_of(public))


@dataclass(frozen=True)
class PublishedKey:
    key_id: str
    public_key_pem: str
    retired_at: datetime | None  # None: the key signing now


def key_id_of(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


@dataclass(frozen=True)
class Rotation:
    """A new key written in full beside the current one; ``complete()`` puts it in place."""

    path: Path
    fresh: Path
    retired_id: str
    new_id: str

    def complete(self) -> None:
        os.replace(self.fresh, self.path)  # atomic: a process reads the old key or the new one, whole
        _sync_folder(self.path.parent)


def prepare_rotation(path: Path) -> Rotation:
    """Write a fresh key beside the one at ``path`` (same owner, mode 600, flushed to disk) and keep the old
    public half in ``retired/``. Nothing signs with the new key until ``complete()``."""
    current = path.stat()
    old = _load_private_key(path).public_key()
    retired = path.parent / RETIRED
    retired.mkdir(mode=0o700, exist_ok=True)
    old_id = key_id_of(old)
    pem = old.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    (retired / f"{old_id}.pem").write_bytes(pem)
    fresh = path.with_name(path.name + ".new")
    fresh.unlink(missing_ok=True)
    generate_key_file(fresh)
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # run as root at the shell: keep the service's ownership
        os.chown(fresh, current.st_uid, current.st_gid)
    with fresh.open("rb") as written:
        os.fsync(written.fileno())
    _sync_folder(retired)
    return Rotation(path, fresh, old_id, key_id_of(_load_private_key(fresh).public_key()))


def rotate_key_file(path: Path) -> tuple[str, str]:
    """Replace the key at ``path`` with a fresh one at once. Returns (retired id, new id)."""
    rotation = prepare_rotation(path)
    rotation.complete()
    return rotation.retired_id, rotation.new_id


def _sync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def published_keys(signer: Signer, keys_dir: Path) -> list[PublishedKey]:
    """The key signing now, then every retired key, newest first: what any signature is checked against."""
    keys = [PublishedKey(signer.key_id, signer.public_key_pem, None)]
    retired = keys_dir / RETIRED
    found = sorted(retired.glob("*.pem"), key=lambda p: p.stat().st_mtime, reverse=True) if retired.is_dir() else []
    for file in found:
        at = datetime.fromtimestamp(file.stat().st_mtime, UTC)
        keys.append(PublishedKey(file.stem, file.read_text("ascii"), at))
    return keys


def _stamp(path: Path) -> tuple[int, int]:
    found = path.stat()
    return found.st_ino, found.st_mtime_ns


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
    return Signer(_load_private_key(path), path)


def _load_private_key(path: Path) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("not an Ed25519 key")
    return key
