"""Postbox messages from the office to one citizen."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from amtsweg.db import Base, UTCDateTime, str_enum, utcnow


class PostboxKind(enum.StrEnum):
    REQUEST = "request"  # the office asks for documents or information; the citizen can answer
    BESCHEID = "bescheid"  # a decision, with its PDF
    LETTER = "letter"  # any other letter, e.g. the reason for a rejection
    RECEIPT = "receipt"  # the confirmation of a submission, with its PDF


class PostboxMessage(Base):
    __tablename__ = "postbox_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Used in URLs instead of the id, so nothing can be learned by counting.
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizens.id", ondelete="CASCADE"))
    kind: Mapped[PostboxKind] = mapped_column(
        str_enum(PostboxKind, "postbox_kind", length=20))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    sender_name: Mapped[str] = mapped_column(String(200))
    # The PDF of a Bescheid or letter (table name only: storage sits above this package).
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))
    # The intake item this message is about; an answer goes back to the queue linked to it.
    eingang_id: Mapped[int | None] = mapped_column(ForeignKey("eingaenge.id"))
    reply_allowed: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint("replied_at IS NULL OR reply_allowed", name="reply_only_when_allowed"),
        Index("ix_postbox_messages_citizen_created", "citizen_id", "created_at"),
    )

    @property
    def is_read(self) -> bool:
        return self.read_at is not None
