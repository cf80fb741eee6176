"""Password hashing with argon2id, shared by staff and citizen accounts."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, has_app_context

# RFC 9106's second recommended option (64 MiB, 3 passes) is argon2-cffi's default.
_production = PasswordHasher()
# Tests hash hundreds of passwords; the algorithm stays the same, only the cost is lower.
_cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256

# A precomputed hash to verify against when the account does not exist, so a wrong user name
# takes as long as a wrong password and timing reveals nothing.
_DUMMY_HASH = _production.hash("no such account")


def _hasher() -> PasswordHasher:
    if has_app_context() and current_app.config["AMTSWEG"].environment == "test":
        return _cheap
    return _production


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Check ``password``; with no hash (unknown account) spend the same time and say no."""
    try:
        if password_hash is None:
            _production.verify(_DUMMY_HASH, password)
            return False
        return _hasher().verify(password_hash, password) if password_hash.startswith(
            "$argon2") else False
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher().check_needs_rehash(password_hash)
