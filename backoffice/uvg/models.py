"""The UVG case data: the children of a case, what was decided per month, and reported changes.

One ``UvgChild`` per child per case holds the facts the caseworker confirmed (the calculation's
input); ``UvgEntitlement`` holds the decided amount per child and month, the payment run's
input. A change never updates an entitlement row: it writes new rows and marks the old ones
superseded, so "what had we decided for March before the change" stays answerable.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from amtsweg.db import Base, UTCDateTime, str_enum, utcnow
from amtsweg.translate import lazy_gettext as _l
from backoffice.models import Party


class UvgChildStatus(enum.StrEnum):
    APPLIED = "applied"
    GRANTED = "granted"
    REFUSED = "refused"
    ENDED = "ended"


UVG_CHILD_STATUS_LABELS = {
    UvgChildStatus.APPLIED: _l("applied for"),
    UvgChildStatus.GRANTED: _l("granted"),
    UvgChildStatus.REFUSED: _l("application refused"),
    UvgChildStatus.ENDED: _l("ended"),
}


class UvgEndReason(enum.StrEnum):
    """Why the benefit ends (derived from § 1 UVG; the law has no list, DOMAIN.md §1.4)."""

    AGE_18 = "age_18"  # § 1 Abs. 1 Nr. 1: the child completes its 18th year
    AGE_12_WITHOUT_1A = "age_12_without_1a"  # § 1 Abs. 1a not met from the 12th birthday
    PARENT_MARRIED = "parent_married"  # the caring parent (re)marries (BayVGH 12 ZB 18.1572)
    PARENTS_TOGETHER = "parents_together"  # § 1 Abs. 3: living with the other parent
    CHILD_MOVED_OUT = "child_moved_out"  # § 1 Abs. 1 Nr. 2: no longer lives with the parent
    MOVED_ABROAD = "moved_abroad"  # § 1 Abs. 1 Nr. 3: no longer lives in Germany
    MAINTENANCE_PAID = "maintenance_paid"  # § 1 Abs. 1 Nr. 3: full maintenance paid
    NO_COOPERATION = "no_cooperation"  # § 1 Abs. 3: refuses information or cooperation
    OTHER = "other"


UVG_END_REASON_LABELS = {
    UvgEndReason.AGE_18: _l("The child turns 18"),
    UvgEndReason.AGE_12_WITHOUT_1A: _l("The child turns 12 and § 1 para. 1a UVG is not met"),
    UvgEndReason.PARENT_MARRIED: _l("The caring parent marries"),
    UvgEndReason.PARENTS_TOGETHER: _l("The parents live together"),
    UvgEndReason.CHILD_MOVED_OUT: _l("The child no longer lives with the parent"),
    UvgEndReason.MOVED_ABROAD: _l("The child no longer lives in Germany"),
    UvgEndReason.MAINTENANCE_PAID: _l("The other parent pays full maintenance"),
    UvgEndReason.NO_COOPERATION: _l("The parent refuses information or cooperation"),
    UvgEndReason.OTHER: _l("Other reason"),
}


class UvgChild(Base):
    """One child in one UVG case, with the facts the caseworker confirmed.

    The income facts are monthly amounts in cents, as the calculation reads them (§ 2 Abs. 3
    and 4 UVG). ``facts_version`` counts confirmed changes of the facts: a calculation made
    from older facts is outdated and no decision may rest on it.
    """

    __tablename__ = "uvg_children"

    id: Mapped[int] = mapped_column(primary_key=True)
    fall_id: Mapped[int] = mapped_column(ForeignKey("faelle.id", ondelete="CASCADE"))
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id", ondelete="CASCADE"))
    birth_date: Mapped[date] = mapped_column(Date)
    status: Mapped[UvgChildStatus] = mapped_column(str_enum(UvgChildStatus, "uvg_child_status"),
                                                   default=UvgChildStatus.APPLIED)
    end_reason: Mapped[UvgEndReason | None] = mapped_column(
        str_enum(UvgEndReason, "uvg_end_reason"))
    # The last day with entitlement, once the benefit ends.
    ended_on: Mapped[date | None] = mapped_column(Date)
    # § 4 UVG: the day the application arrived (the earliest month is the month before).
    application_date: Mapped[date | None] = mapped_column(Date)
    # The first month asked for, first of month; None: from the earliest month § 4 allows.
    requested_from: Mapped[date | None] = mapped_column(Date)
    # The child's key in the application's answers ("k1"), to read its answers and documents.
    application_key: Mapped[str | None] = mapped_column(String(20))
    # The payee: the caring parent's account as given in the application.
    payee_name: Mapped[str] = mapped_column(String(140), default="")
    payee_iban: Mapped[str | None] = mapped_column(String(34))
    payee_bic: Mapped[str | None] = mapped_column(String(11))
    # § 2 Abs. 3 Nr. 1 and 2, § 2 Abs. 4 UVG: monthly amounts in cents.
    maintenance_cents: Mapped[int] = mapped_column(Integer, default=0)
    orphan_benefit_cents: Mapped[int] = mapped_column(Integer, default=0)
    child_income_cents: Mapped[int] = mapped_column(Integer, default=0)
    left_school: Mapped[bool] = mapped_column(Boolean, default=False)
    trainee: Mapped[bool] = mapped_column(Boolean, default=False)
    facts_version: Mapped[int] = mapped_column(Integer, default=0)
    facts_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    facts_confirmed_by_name: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Optimistic locking, as on Fall: a form from an older page changes nothing.
    version: Mapped[int] = mapped_column(Integer, default=1)

    party: Mapped[Party] = relationship(lazy="joined")

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012
    __table_args__ = (
        UniqueConstraint("fall_id", "party_id", name="uq_uvg_children_fall_party"),
        CheckConstraint("maintenance_cents >= 0", name="maintenance_not_negative"),
        CheckConstraint("orphan_benefit_cents >= 0", name="orphan_benefit_not_negative"),
        CheckConstraint("child_income_cents >= 0", name="child_income_not_negative"),
        CheckConstraint("status <> 'ended' OR (end_reason IS NOT NULL AND ended_on IS NOT NULL)",
                        name="ended_has_reason"),
        CheckConstraint("facts_version >= 0", name="facts_version_not_negative"),
        Index("ix_uvg_children_fall", "fall_id"),
        Index("ix_uvg_children_status", "status"),
    )

    @property
    def name(self) -> str:
        return self.party.full_name

    @property
    def status_label(self) -> str:
        return str(UVG_CHILD_STATUS_LABELS[self.status])

    @property
    def facts_confirmed(self) -> bool:
        return self.facts_confirmed_at is not None


class ConditionState(enum.StrEnum):
    MET = "met"
    NOT_MET = "not_met"
    OPEN = "open"


CONDITION_STATE_LABELS = {
    ConditionState.MET: _l("met"),
    ConditionState.NOT_MET: _l("not met"),
    ConditionState.OPEN: _l("open"),
}


class UvgConditionAssessment(Base):
    """The caseworker's finding on one condition of § 1 UVG for one child, with a note.

    Append-only: a new finding is a new row; the latest one per condition counts, so the
    history of how the check was decided stays on file.
    """

    __tablename__ = "uvg_condition_assessments"

    id: Mapped[int] = mapped_column(primary_key=True)
    uvg_child_id: Mapped[int] = mapped_column(ForeignKey("uvg_children.id", ondelete="CASCADE"))
    condition: Mapped[str] = mapped_column(String(40))
    state: Mapped[ConditionState] = mapped_column(str_enum(ConditionState, "uvg_condition_state"))
    note: Mapped[str] = mapped_column(Text, default="")
    # The E-Akte document the finding rests on, where there is one.
    case_document_id: Mapped[int | None] = mapped_column(
        ForeignKey("case_documents.id", ondelete="SET NULL"))
    assessed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    assessed_by_name: Mapped[str] = mapped_column(String(200))

    __table_args__ = (
        CheckConstraint("length(condition) > 0", name="condition_present"),
        Index("ix_uvg_condition_assessments_child", "uvg_child_id", "condition", "assessed_at"),
    )


class UvgCalculation(Base):
    """One calculation for one child, stored as shown, so a decision rests on a fixed result.

    ``months`` is the list of month results (amounts in cents, deductions with their legal
    basis) as ``backoffice.uvg.calculation`` returned them; ``facts_version`` the child's facts
    it was made from.
    """

    __tablename__ = "uvg_calculations"

    id: Mapped[int] = mapped_column(primary_key=True)
    uvg_child_id: Mapped[int] = mapped_column(ForeignKey("uvg_children.id", ondelete="CASCADE"))
    fall_id: Mapped[int] = mapped_column(ForeignKey("faelle.id", ondelete="CASCADE"))
    first_month: Mapped[date] = mapped_column(Date)
    last_month: Mapped[date] = mapped_column(Date)
    total_cents: Mapped[int] = mapped_column(Integer)
    months: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    facts_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_name: Mapped[str] = mapped_column(String(200))

    __table_args__ = (
        CheckConstraint("first_month <= last_month", name="period_ordered"),
        CheckConstraint("total_cents >= 0", name="total_not_negative"),
        Index("ix_uvg_calculations_child", "uvg_child_id", "created_at"),
    )


class UvgEntitlement(Base):
    """The decided amount for one child and one month (first of month), in cents.

    The payment run reads the rows that are not superseded. At most one such row per child and
    month: a partial unique index on both databases (SQLite and PostgreSQL know them).
    """

    __tablename__ = "uvg_entitlements"

    id: Mapped[int] = mapped_column(primary_key=True)
    uvg_child_id: Mapped[int] = mapped_column(ForeignKey("uvg_children.id", ondelete="CASCADE"))
    fall_id: Mapped[int] = mapped_column(ForeignKey("faelle.id", ondelete="CASCADE"))
    month: Mapped[date] = mapped_column(Date)
    paid_cents: Mapped[int] = mapped_column(Integer)
    decision_id: Mapped[int] = mapped_column(ForeignKey("decisions.id"))
    superseded: Mapped[bool] = mapped_column(Boolean, default=False)
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        CheckConstraint("paid_cents >= 0", name="paid_not_negative"),
        # § 9 Abs. 3 UVG: whole euros only.
        CheckConstraint("paid_cents % 100 = 0", name="paid_whole_euros"),
        CheckConstraint("superseded = (superseded_at IS NOT NULL)", name="superseded_has_when"),
        Index("uq_uvg_entitlements_child_month_current", "uvg_child_id", "month", unique=True,
              sqlite_where=text("NOT superseded"), postgresql_where=text("NOT superseded")),
        Index("ix_uvg_entitlements_month_current", "month", "superseded"),
        Index("ix_uvg_entitlements_fall", "fall_id"),
    )


class UvgChangeKind(enum.StrEnum):
    """What a reported change is about (§ 6 Abs. 4 UVG: the parent must report these)."""

    MOVE = "move"
    INCOME = "income"
    MAINTENANCE = "maintenance"
    CHILD_MOVED_OUT = "child_moved_out"
    PARENT_MARRIED = "parent_married"
    END = "end"


UVG_CHANGE_KIND_LABELS = {
    UvgChangeKind.MOVE: _l("Move (new address)"),
    UvgChangeKind.INCOME: _l("Income of the child or orphan benefits"),
    UvgChangeKind.MAINTENANCE: _l("Maintenance paid by the other parent"),
    UvgChangeKind.CHILD_MOVED_OUT: _l("The child no longer lives with the parent"),
    UvgChangeKind.PARENT_MARRIED: _l("The caring parent married"),
    UvgChangeKind.END: _l("End of the benefit (Einstellung)"),
}


class UvgChange(Base):
    """A reported change for one child, effective from a month, and how it was settled.

    ``difference_cents`` is what the new entitlements for months already paid differ from
    what was paid: above zero a back payment, below zero an overpayment to be recovered (§ 5).
    """

    __tablename__ = "uvg_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    fall_id: Mapped[int] = mapped_column(ForeignKey("faelle.id", ondelete="CASCADE"))
    uvg_child_id: Mapped[int] = mapped_column(ForeignKey("uvg_children.id", ondelete="CASCADE"))
    kind: Mapped[UvgChangeKind] = mapped_column(str_enum(UvgChangeKind, "uvg_change_kind"))
    effective_on: Mapped[date] = mapped_column(Date)
    reported_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")
    # The facts before and after, as shown in the audit log and the letter.
    before: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    after: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("decisions.id"))
    recovery_decision_id: Mapped[int | None] = mapped_column(ForeignKey("decisions.id"))
    difference_cents: Mapped[int] = mapped_column(Integer, default=0)
    back_payment_order_id: Mapped[int | None] = mapped_column(
        ForeignKey("sollstellungen.id", ondelete="SET NULL"))
    recovery_order_id: Mapped[int | None] = mapped_column(
        ForeignKey("sollstellungen.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_name: Mapped[str] = mapped_column(String(200))

    __table_args__ = (
        CheckConstraint("difference_cents % 100 = 0", name="difference_whole_euros"),
        Index("ix_uvg_changes_fall", "fall_id", "created_at"),
        Index("ix_uvg_changes_child", "uvg_child_id"),
    )

    @property
    def kind_label(self) -> str:
        return str(UVG_CHANGE_KIND_LABELS[self.kind])


class UvgOutcome(enum.StrEnum):
    GRANTED = "granted"
    REFUSED = "refused"
    CHANGED = "changed"
    ENDED = "ended"
    RECOVERY = "recovery"  # § 5 UVG: an overpayment is claimed back


class UvgDecisionChild(Base):
    """What one decision says about one child, and the calculation it rests on.

    Written when the UVG page prepares the draft; read when the decision is issued (to write
    the entitlements) and when its PDF is rendered (the table of amounts, § 9 Abs. 2 UVG).
    """

    __tablename__ = "uvg_decision_children"

    id: Mapped[int] = mapped_column(primary_key=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("decisions.id", ondelete="CASCADE"))
    uvg_child_id: Mapped[int] = mapped_column(ForeignKey("uvg_children.id", ondelete="CASCADE"))
    outcome: Mapped[UvgOutcome] = mapped_column(str_enum(UvgOutcome, "uvg_outcome"))
    calculation_id: Mapped[int | None] = mapped_column(
        ForeignKey("uvg_calculations.id", ondelete="SET NULL"))
    change_id: Mapped[int | None] = mapped_column(ForeignKey("uvg_changes.id",
                                                             ondelete="SET NULL"))
    # The months this decision rewrites start here (a change: its effective month).
    from_month: Mapped[date | None] = mapped_column(Date)
    # Recovery: the amount claimed back, in cents.
    amount_cents: Mapped[int] = mapped_column(Integer, default=0)

    child: Mapped[UvgChild] = relationship(lazy="joined")
    calculation: Mapped[UvgCalculation | None] = relationship()

    __table_args__ = (
        UniqueConstraint("decision_id", "uvg_child_id", name="uq_uvg_decision_children"),
        CheckConstraint("outcome NOT IN ('granted', 'changed') OR calculation_id IS NOT NULL",
                        name="granted_has_calculation"),
        CheckConstraint("amount_cents >= 0", name="amount_not_negative"),
        Index("ix_uvg_decision_children_child", "uvg_child_id"),
    )
