"""Citizen accounts: a separate table from staff, with its own login."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from amtsweg.db import Base, UTCDateTime, utcnow


class Citizen(Base):
    __tablename__ = "citizens"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored lower-cased, so one address cannot hold two accounts.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(200), default="")
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A requested new address; it replaces ``email`` only once its own link has been used.
    pending_email: Mapped[str | None] = mapped_column(String(254))
    # Bumped on password change, e-mail change and reset: every older session and link dies.
    session_epoch: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def is_verified(self) -> bool:
        return self.email_verified_at is not None

    def __repr__(self) -> str:
        return f"<Citizen {self.id}>"
