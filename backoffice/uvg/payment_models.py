"""What the UVG payment run paid: which order paid which child's month, and the runs themselves.

``UvgPayment`` links an entitlement month to the Sollstellung that pays it; the change handling
reads it (through ``payments.paid_by_month``) to know what went out already. ``UvgPaymentSeries``
keeps one Kassenzeichen per child: every monthly installment of a child's series shares it
(ihv.models.Recurrence.RECURRING), so payee and treasury see one reference for years.
``UvgPaymentRun`` is the record and report of one monthly run; unique per month, so a second run
for the same month is refused, on any node (the INSERT of the second waits for the first and
then fails on the unique key).
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from amtsweg.db import Base, UTCDateTime, str_enum, utcnow
from amtsweg.translate import lazy_gettext as _l


class UvgPaymentKind(enum.StrEnum):
    MONTHLY = "monthly"  # the month's installment, paid in advance (§ 9 Abs. 3 UVG)
    BACK_PAYMENT = "back_payment"  # months granted after they began, paid in one order
    # A Rückforderung (§ 5 UVG): a negative amount on the months it corrects.
    RECOVERY_OF_OVERPAYMENT = "recovery_of_overpayment"


UVG_PAYMENT_KIND_LABELS = {
    UvgPaymentKind.MONTHLY: _l("Monthly payment"),
    UvgPaymentKind.BACK_PAYMENT: _l("Back payment"),
    UvgPaymentKind.RECOVERY_OF_OVERPAYMENT: _l("Recovery of an overpayment"),
}


class UvgPayment(Base):
    """One child's month, paid (or reclaimed) by one Sollstellung.

    A back payment over five months is five rows pointing at the same order. ``amount_cents``
    is what that order carries for this month; negative only for a recovery of an overpayment.
    """

    __tablename__ = "uvg_payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    uvg_child_id: Mapped[int] = mapped_column(ForeignKey("uvg_children.id", ondelete="CASCADE"))
    fall_id: Mapped[int] = mapped_column(ForeignKey("faelle.id", ondelete="CASCADE"))
    month: Mapped[date] = mapped_column(Date)
    sollstellung_id: Mapped[int] = mapped_column(ForeignKey("sollstellungen.id"))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[UvgPaymentKind] = mapped_column(str_enum(UvgPaymentKind, "uvg_payment_kind"))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("uvg_payment_runs.id",
                                                          ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("uvg_child_id", "month", "sollstellung_id",
                         name="uq_uvg_payments_child_month_order"),
        CheckConstraint("amount_cents <> 0", name="amount_not_zero"),
        CheckConstraint("(kind = 'recovery_of_overpayment') = (amount_cents < 0)",
                        name="only_recovery_negative"),
        Index("ix_uvg_payments_child_month", "uvg_child_id", "month"),
        Index("ix_uvg_payments_fall", "fall_id"),
        Index("ix_uvg_payments_sollstellung", "sollstellung_id"),
    )


class UvgPaymentSeries(Base):
    """The Kassenzeichen of one child's monthly payments, given at the first installment."""

    __tablename__ = "uvg_payment_series"

    # An own id like every row of a case: retention walks the rows of a case by their ids.
    id: Mapped[int] = mapped_column(primary_key=True)
    uvg_child_id: Mapped[int] = mapped_column(ForeignKey("uvg_children.id", ondelete="CASCADE"),
                                              unique=True)
    fall_id: Mapped[int] = mapped_column(ForeignKey("faelle.id", ondelete="CASCADE"))
    kassenzeichen: Mapped[str] = mapped_column(String(20), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_uvg_payment_series_fall", "fall_id"),)


class UvgPaymentRun(Base):
    """One monthly payment run and its report."""

    __tablename__ = "uvg_payment_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[date] = mapped_column(Date, unique=True)  # first of the month paid
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_by_name: Mapped[str] = mapped_column(String(200))
    cases: Mapped[int] = mapped_column(Integer, default=0)  # cases with at least one order
    children: Mapped[int] = mapped_column(Integer, default=0)
    monthly_orders: Mapped[int] = mapped_column(Integer, default=0)
    back_payment_orders: Mapped[int] = mapped_column(Integer, default=0)
    sum_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    back_payment_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    # [{"fall_id", "aktenzeichen", "uvg_child_id", "reason"}]: children that were not paid
    # (the first few thousand; ``exception_count`` counts them all).
    exception_count: Mapped[int] = mapped_column(Integer, default=0)
    exceptions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)

    __table_args__ = (
        CheckConstraint("sum_cents >= 0", name="sum_not_negative"),
        CheckConstraint("finished_at IS NULL OR finished_at >= started_at",
                        name="finished_after_start"),
    )
