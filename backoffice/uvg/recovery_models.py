"""Rückgriff (§ 7 UVG): the liable parent's file, the letters sent, the claims and receipts.

The child's maintenance claim against the parent it does not live with passes to the Land up to
the amount paid (§ 7 Abs. 1 UVG); for the past only from the month the parent learned of the
application and was told he may be held liable, the Rechtswahrungsanzeige (§ 7 Abs. 2 UVG with
§ 1613 Abs. 1 BGB). A claim is a receivable order (Annahme) in the IHV module; what the treasury
books against it comes back as a receipt.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from amtsweg.db import Base, UTCDateTime, str_enum, utcnow
from amtsweg.translate import lazy_gettext as _l


class UvgRecovery(Base):
    """The recovery file on one liable parent (a Party of the case in the other-parent role).

    The address lives on the Party (versioned there); this holds what recovery needs besides.
    """

    __tablename__ = "uvg_recoveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    fall_id: Mapped[int] = mapped_column(ForeignKey("faelle.id", ondelete="CASCADE"))
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id", ondelete="CASCADE"))
    employer: Mapped[str] = mapped_column(String(200), default="")
    # Monthly net income as far as known (§ 6 Abs. 1 UVG: the parent must disclose it), cents.
    net_income_cents: Mapped[int | None] = mapped_column(BigInteger)
    receives_sgb2: Mapped[bool] = mapped_column(Boolean, default=False)
    income_note: Mapped[str] = mapped_column(Text, default="")
    # § 7 Abs. 2 UVG: the day the Rechtswahrungsanzeige was sent; claims for the past run from
    # the first of its month (§ 1613 Abs. 1 Satz 2 BGB).
    rechtswahrungsanzeige_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012
    __table_args__ = (
        UniqueConstraint("fall_id", "party_id", name="uq_uvg_recoveries_fall_party"),
        CheckConstraint("net_income_cents IS NULL OR net_income_cents >= 0",
                        name="income_not_negative"),
        Index("ix_uvg_recoveries_fall", "fall_id"),
    )

    @property
    def section_7a(self) -> bool:
        """§ 7a UVG: not pursued while the parent receives SGB II and has no income of his own."""
        return self.receives_sgb2 and not self.net_income_cents


class LetterKind(enum.StrEnum):
    RECHTSWAHRUNGSANZEIGE = "rechtswahrungsanzeige"  # § 7 Abs. 2 UVG
    ANHOERUNG = "anhoerung"  # § 24 SGB X
    ZAHLUNGSAUFFORDERUNG = "zahlungsaufforderung"  # demand for payment; puts him in default


LETTER_KIND_LABELS = {
    LetterKind.RECHTSWAHRUNGSANZEIGE: _l("Rechtswahrungsanzeige"),
    LetterKind.ANHOERUNG: _l("Anhörung"),
    LetterKind.ZAHLUNGSAUFFORDERUNG: _l("Demand for payment (Inverzugsetzung)"),
}


class UvgRecoveryLetter(Base):
    """One letter to the liable parent, as filed in the E-Akte."""

    __tablename__ = "uvg_recovery_letters"

    id: Mapped[int] = mapped_column(primary_key=True)
    recovery_id: Mapped[int] = mapped_column(ForeignKey("uvg_recoveries.id", ondelete="CASCADE"))
    fall_id: Mapped[int] = mapped_column(ForeignKey("faelle.id", ondelete="CASCADE"))
    kind: Mapped[LetterKind] = mapped_column(str_enum(LetterKind, "uvg_letter_kind"))
    letter_date: Mapped[date] = mapped_column(Date)
    # Anhörung: the last day to answer; demand: the day payment is due.
    deadline: Mapped[date | None] = mapped_column(Date)
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id",
                                                               ondelete="SET NULL"))
    # The letter in the E-Akte (the download link on the recovery page).
    case_document_id: Mapped[int | None] = mapped_column(
        ForeignKey("case_documents.id", ondelete="SET NULL"))
    claim_id: Mapped[int | None] = mapped_column(ForeignKey("uvg_recovery_claims.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_name: Mapped[str] = mapped_column(String(200))

    __table_args__ = (
        CheckConstraint("kind <> 'zahlungsaufforderung' OR claim_id IS NOT NULL",
                        name="demand_has_claim"),
        Index("ix_uvg_recovery_letters_recovery", "recovery_id", "letter_date"),
    )

    @property
    def kind_label(self) -> str:
        return str(LETTER_KIND_LABELS[self.kind])


class UvgRecoveryClaim(Base):
    """One claim against the liable parent: a receivable order over the months it lists."""

    __tablename__ = "uvg_recovery_claims"

    id: Mapped[int] = mapped_column(primary_key=True)
    recovery_id: Mapped[int] = mapped_column(ForeignKey("uvg_recoveries.id", ondelete="CASCADE"))
    fall_id: Mapped[int] = mapped_column(ForeignKey("faelle.id", ondelete="CASCADE"))
    sollstellung_id: Mapped[int] = mapped_column(ForeignKey("sollstellungen.id"), unique=True)
    kassenzeichen: Mapped[str] = mapped_column(String(20))
    first_month: Mapped[date] = mapped_column(Date)
    last_month: Mapped[date] = mapped_column(Date)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    due_date: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_name: Mapped[str] = mapped_column(String(200))

    __table_args__ = (
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        CheckConstraint("first_month <= last_month", name="period_ordered"),
        Index("ix_uvg_recovery_claims_recovery", "recovery_id"),
    )


class UvgRecoveryClaimMonth(Base):
    """How much of one child's month a claim asks for; a month is claimed at most once (while
    its claim stands: a cancelled order frees its months, checked in the service)."""

    __tablename__ = "uvg_recovery_claim_months"

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("uvg_recovery_claims.id",
                                                     ondelete="CASCADE"))
    uvg_child_id: Mapped[int] = mapped_column(ForeignKey("uvg_children.id", ondelete="CASCADE"))
    month: Mapped[date] = mapped_column(Date)
    amount_cents: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        UniqueConstraint("claim_id", "uvg_child_id", "month",
                         name="uq_uvg_recovery_claim_months_claim_child_month"),
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        Index("ix_uvg_recovery_claim_months_child_month", "uvg_child_id", "month"),
    )


class UvgRecoveryReceipt(Base):
    """Money the treasury booked against a claim (an IST booking matched to its order)."""

    __tablename__ = "uvg_recovery_receipts"

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("uvg_recovery_claims.id",
                                                     ondelete="CASCADE"))
    fall_id: Mapped[int] = mapped_column(ForeignKey("faelle.id", ondelete="CASCADE"))
    # A booking is applied once; the unique key makes a replayed signal a no-op.
    booking_id: Mapped[int] = mapped_column(ForeignKey("ihv_bookings.id"), unique=True)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    booking_date: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        Index("ix_uvg_recovery_receipts_claim", "claim_id"),
    )
