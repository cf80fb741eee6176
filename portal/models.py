"""Drafts and submissions of citizens."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from amtsweg.db import Base, UTCDateTime, str_enum, utcnow
from clearing.models import Eingang, EingangKind
from storage.models import Document


class Draft(Base):
    """An application in progress: saved after every page, resumable, expiring."""

    __tablename__ = "drafts"

    id: Mapped[int] = mapped_column(primary_key=True)
    # In URLs instead of the id; a wrong or foreign one answers 404, never 403.
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizens.id", ondelete="CASCADE"))
    service_code: Mapped[str] = mapped_column(String(60))
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    last_step: Mapped[str] = mapped_column(String(60), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reminder_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    documents: Mapped[list[DraftDocument]] = relationship(
        back_populates="draft", cascade="all, delete-orphan", lazy="selectin",
        order_by="DraftDocument.id")

    __table_args__ = (Index("ix_drafts_citizen", "citizen_id"),
                      Index("ix_drafts_expires_at", "expires_at"))


class DraftDocument(Base):
    __tablename__ = "draft_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    draft_id: Mapped[int] = mapped_column(ForeignKey("drafts.id", ondelete="CASCADE"))
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"))
    # Which requested document this file answers, e.g. "birth_certificate:0" (first child).
    requirement: Mapped[str] = mapped_column(String(80))

    draft: Mapped[Draft] = relationship(back_populates="documents")
    document: Mapped[Document] = relationship(lazy="joined")


class Submission(Base):
    """What a citizen sent: frozen once submitted; a later correction is a new follow-up."""

    __tablename__ = "submissions"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    reference: Mapped[str] = mapped_column(String(40), unique=True)
    # Kept when the account is deleted: the office's record of what arrived outlives it.
    citizen_id: Mapped[int | None] = mapped_column(ForeignKey("citizens.id", ondelete="SET NULL"))
    service_code: Mapped[str | None] = mapped_column(String(60))
    kind: Mapped[EingangKind] = mapped_column(
        str_enum(EingangKind, "submission_kind"))
    title: Mapped[str] = mapped_column(String(200))
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    eingang_id: Mapped[int] = mapped_column(ForeignKey("eingaenge.id"))
    # A follow-up (more documents, change, objection, message) points at its original.
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("submissions.id"))
    # An answer to a request of the office points at that postbox message.
    postbox_message_id: Mapped[int | None] = mapped_column(ForeignKey("postbox_messages.id"))
    # One submission per draft or per form shown, whatever a double click or a replay does:
    # the draft's public id, or a one-time key the follow-up form carried.
    idempotency_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    receipt_document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))

    eingang: Mapped[Eingang] = relationship(lazy="joined")
    # Set with the receipt's row still unwritten: one flush writes both (see portal.services).
    receipt_document: Mapped[Document | None] = relationship(foreign_keys=[receipt_document_id])
    parent: Mapped[Submission | None] = relationship(remote_side=[id])
    documents: Mapped[list[SubmissionDocument]] = relationship(
        back_populates="submission", cascade="all, delete-orphan", lazy="selectin",
        order_by="SubmissionDocument.id")

    __table_args__ = (Index("ix_submissions_citizen_submitted", "citizen_id", "submitted_at"),)


class SubmissionDocument(Base):
    __tablename__ = "submission_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"))
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"))
    requirement: Mapped[str] = mapped_column(String(80), default="")
    label: Mapped[str] = mapped_column(String(200), default="")

    submission: Mapped[Submission] = relationship(back_populates="documents")
    document: Mapped[Document] = relationship(lazy="joined")
