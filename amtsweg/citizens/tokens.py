"""Signed, expiring links for the citizen account (verify address, reset password, new address).

Each purpose has its own salt, so a token made for one purpose never works for another. Each
token carries a fingerprint of the account state it was made for; using the link changes that
state (verified, new password hash, new address), so a used or superseded link is dead without
any table of spent tokens.
"""

from __future__ import annotations

import enum
import hashlib
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import select

from amtsweg.citizens.models import Citizen
from amtsweg.extensions import db


class Purpose(enum.StrEnum):
    VERIFY_EMAIL = "verify-email"
    RESET_PASSWORD = "reset-password"  # noqa: S105 (a purpose, not a password)
    CHANGE_EMAIL = "change-email"


MAX_AGE = {
    Purpose.VERIFY_EMAIL: timedelta(hours=48),
    Purpose.RESET_PASSWORD: timedelta(hours=1),
    Purpose.CHANGE_EMAIL: timedelta(hours=48),
}


class TokenError(Exception):
    """The link cannot be used."""


class TokenExpired(TokenError):
    pass


class TokenInvalid(TokenError):
    """Tampered, for another purpose, or already used (the account state moved on)."""


class _IssuedAtSigner(TimestampSigner):
    """A signer that can date a token back, so tests can build a genuinely expired link."""

    def __init__(self, *args: Any, issued_at: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._issued_at = issued_at

    def get_timestamp(self) -> int:
        return self._issued_at if self._issued_at is not None else super().get_timestamp()


def _serializer(purpose: Purpose, issued_at: datetime | None = None) -> URLSafeTimedSerializer:
    timestamp = None if issued_at is None else int(issued_at.timestamp())
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"],
                                  salt=f"amtsweg.citizens.{purpose.value}",
                                  signer=_IssuedAtSigner, signer_kwargs={"issued_at": timestamp})


def _state(citizen: Citizen, purpose: Purpose) -> str:
    """A digest of what the link may change; the hash keeps the password hash out of the URL."""
    parts: tuple[object, ...] = (citizen.session_epoch, citizen.email)
    if purpose is Purpose.VERIFY_EMAIL:
        parts += (citizen.email_verified_at is not None,)
    elif purpose is Purpose.RESET_PASSWORD:
        parts += (citizen.password_hash,)
    else:
        parts += (citizen.pending_email,)
    return hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()[:32]


def make_token(citizen: Citizen, purpose: Purpose, issued_at: datetime | None = None) -> str:
    return _serializer(purpose, issued_at).dumps({"id": citizen.id,
                                                  "state": _state(citizen, purpose)})


def read_token(token: str, purpose: Purpose) -> Citizen:
    """Return the account the link belongs to, or raise :class:`TokenError`."""
    max_age = int(MAX_AGE[purpose].total_seconds())
    try:
        payload = _serializer(purpose).loads(token, max_age=max_age)
    except SignatureExpired:
        raise TokenExpired from None
    except BadSignature:
        raise TokenInvalid from None
    if not isinstance(payload, dict) or not isinstance(payload.get("id"), int):
        raise TokenInvalid
    citizen = db.session.scalar(select(Citizen).where(Citizen.id == payload["id"]))
    if citizen is None or payload.get("state") != _state(citizen, purpose):
        raise TokenInvalid
    return citizen
