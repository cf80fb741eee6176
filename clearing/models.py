"""The intake queue: every item that reaches the office is one Eingang."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

import clearing.rules  # noqa: F401  (its table belongs to the clearing metadata)
from amtsweg.db import Base, UTCDateTime, str_enum, utcnow
from amtsweg.staff.models import Staff
from backoffice.models import Fall
from storage.models import Document


class EingangKind(enum.StrEnum):
    NEUANTRAG = "neuantrag"  # an application for a service
    NACHREICHUNG = "nachreichung"  # more documents for an earlier submission
    VERAENDERUNG = "veraenderungsmitteilung"  # a reported change (§ 6 Abs. 4 UVG and the like)
    WIDERSPRUCH = "widerspruch"  # an objection to a decision (§ 70 VwGO)
    NACHRICHT = "nachricht"  # a message, or a general request
    ANTWORT = "antwort"  # the citizen's answer to a request of the office
    PAPIEREINGANG = "papiereingang"  # paper mail scanned in at the counter


class EingangStatus(enum.StrEnum):
    NEW = "new"
    IN_TRIAGE = "in_triage"
    ROUTED = "routed"
    REJECTED = "rejected"
    WAITING_FOR_CITIZEN = "waiting_for_citizen"


class RejectionReason(enum.StrEnum):
    DUPLICATE = "duplicate"
    NOT_OUR_OFFICE = "not_our_office"
    SPAM = "spam"
    OTHER = "other"


# The statuses a clerk still has to act on. The queue, its counts and its partial index cover
# only these: most rows of a long-running office are routed and never looked at here again.
OPEN_STATUSES = (EingangStatus.NEW, EingangStatus.IN_TRIAGE, EingangStatus.WAITING_FOR_CITIZEN)
_OPEN_SQL = "status IN ('new', 'in_triage', 'waiting_for_citizen')"


class Eingang(Base):
    """One intake item. Its payload is frozen: what the sender sent, as they sent it."""

    __tablename__ = "eingaenge"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[EingangKind] = mapped_column(str_enum(EingangKind, "eingang_kind"))
    status: Mapped[EingangStatus] = mapped_column(str_enum(EingangStatus, "eingang_status"),
                                                  default=EingangStatus.NEW)
    # The Leistung (service) it concerns, by its catalogue code; empty when the sender did not know.
    service_code: Mapped[str | None] = mapped_column(String(60))
    subject: Mapped[str] = mapped_column(String(200))
    # The reference number the citizen was given (searchable by clerks and caseworkers).
    reference: Mapped[str | None] = mapped_column(String(40), unique=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    citizen_id: Mapped[int | None] = mapped_column(
        ForeignKey("citizens.id", ondelete="SET NULL"))
    sender_name: Mapped[str] = mapped_column(String(200), default="")
    sender_email: Mapped[str | None] = mapped_column(String(254))
    message: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # A follow-up points at the item it follows (Nachreichung, Widerspruch, answer to a request).
    related_eingang_id: Mapped[int | None] = mapped_column(ForeignKey("eingaenge.id"))
    fachbereich_id: Mapped[int | None] = mapped_column(ForeignKey("fachbereiche.id"))
    # When the citizen last answered a request of the office for this item (it is then back in
    # the queue as ``new``, and clerks see that the missing part has arrived).
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # The clerk working on it (status in_triage) and since when; the claim lapses after
    # ``last_activity_at`` is older than the idle time, so a clerk who went home blocks nothing.
    claimed_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_activity_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Where it went: the case (Fall) of the Fachbereich, optionally straight to a caseworker.
    fall_id: Mapped[int | None] = mapped_column(ForeignKey("faelle.id"))
    target_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    routed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Empty for a follow-up the system routed to the case of the item it follows.
    routed_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    rejection_reason: Mapped[RejectionReason | None] = mapped_column(
        str_enum(RejectionReason, "rejection_reason"))
    rejection_text: Mapped[str] = mapped_column(Text, default="")
    rejected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rejected_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    # Bumped by every change: a page showing an older version is stale and its action refused.
    version: Mapped[int] = mapped_column(Integer, default=1)

    claimed_by: Mapped[Staff | None] = relationship(foreign_keys=[claimed_by_id],
                                                    lazy="joined")
    target_staff: Mapped[Staff | None] = relationship(foreign_keys=[target_staff_id])
    routed_by: Mapped[Staff | None] = relationship(foreign_keys=[routed_by_id])
    rejected_by: Mapped[Staff | None] = relationship(foreign_keys=[rejected_by_id])
    fall: Mapped[Fall | None] = relationship()

    documents: Mapped[list[EingangDocument]] = relationship(
        back_populates="eingang", cascade="all, delete-orphan", lazy="selectin",
        order_by="EingangDocument.id")
    related: Mapped[Eingang | None] = relationship(remote_side=[id])

    __table_args__ = (
        CheckConstraint("status <> 'routed' OR fachbereich_id IS NOT NULL",
                        name="routed_has_fachbereich"),
        CheckConstraint("status <> 'routed' OR (fall_id IS NOT NULL AND routed_at IS NOT NULL)",
                        name="routed_has_case"),
        CheckConstraint("status <> 'in_triage' OR (claimed_by_id IS NOT NULL "
                        "AND claimed_at IS NOT NULL AND last_activity_at IS NOT NULL)",
                        name="in_triage_has_holder"),
        CheckConstraint("status <> 'rejected' OR (rejection_reason IS NOT NULL "
                        "AND rejected_at IS NOT NULL)", name="rejected_has_reason"),
        CheckConstraint("rejection_reason <> 'other' OR length(rejection_text) > 0",
                        name="other_reason_explained"),
        CheckConstraint("version >= 1", name="version_positive"),
        Index("ix_eingaenge_status_received", "status", "received_at", "id"),
        Index("ix_eingaenge_citizen", "citizen_id"),
        # The queue's first page: open items oldest first, without touching the routed million.
        Index("ix_eingaenge_open_received", "received_at", "id",
              postgresql_where=text(_OPEN_SQL), sqlite_where=text(_OPEN_SQL)),
        Index("ix_eingaenge_routed_at", "routed_at"),
        Index("ix_eingaenge_rejected_at", "rejected_at"),
        Index("ix_eingaenge_related", "related_eingang_id"),
        Index("ix_eingaenge_fall", "fall_id"),
    )

    @property
    def routed_automatically(self) -> bool:
        return self.status is EingangStatus.ROUTED and self.routed_by_id is None

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class EingangDocument(Base):
    __tablename__ = "eingang_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    eingang_id: Mapped[int] = mapped_column(ForeignKey("eingaenge.id", ondelete="CASCADE"))
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"))
    # What the document is meant to prove, as the sender labelled it ("Geburtsurkunde Lea").
    label: Mapped[str] = mapped_column(String(200), default="")

    eingang: Mapped[Eingang] = relationship(back_populates="documents")
    document: Mapped[Document] = relationship(lazy="joined")
