"""API tokens and passwords: how secrets are made, stored and checked."""

from __future__ import annotations

import functools
import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

TOKEN_PREFIX = "slc_"  # noqa: S105 - a marker, not a secret
TOKEN_BYTES = 32
TOKEN_DISPLAY_CHARS = 12
MIN_PASSWORD_LENGTH = 10

_hasher = PasswordHasher()  # argon2id with the library's (RFC 9106 low-memory) defaults


def new_token() -> str:
    """A fresh API token: 32 random bytes, URL-safe, with a prefix that secret scanners can recognise."""
    return TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def token_display_prefix(token: str) -> str:
    return token[:TOKEN_DISPLAY_CHARS]


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def password_needs_rehash(stored_hash: str) -> bool:
    return _hasher.check_needs_rehash(stored_hash)


@functools.cache
def _dummy_hash() -> str:
    return _hasher.hash("not-a-real-password")


def burn_password_check(password: str) -> None:
    """Spend the time of a real check, so a login for an unknown user takes as long as for a known one."""
    verify_password(_dummy_hash(), password)
