"""Decisions (Bescheide) of any Fachbereich and the objections (Widersprüche) against them."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from amtsweg.db import Base, UTCDateTime, str_enum, utcnow
from amtsweg.translate import lazy_gettext as _l
from backoffice.models import Fall


class DecisionKind(enum.StrEnum):
    BEWILLIGUNG = "bewilligung"
    TEILBEWILLIGUNG = "teilbewilligung"
    ABLEHNUNG = "ablehnung"
    AUFHEBUNG = "aufhebung"
    AENDERUNG = "aenderung"


DECISION_KIND_LABELS = {
    DecisionKind.BEWILLIGUNG: _l("Bewilligung (granted)"),
    DecisionKind.TEILBEWILLIGUNG: _l("Teilbewilligung (partly granted)"),
    DecisionKind.ABLEHNUNG: _l("Ablehnung (refused)"),
    DecisionKind.AUFHEBUNG: _l("Aufhebung (revoked)"),
    DecisionKind.AENDERUNG: _l("Änderung (changed)"),
}


class DecisionStatus(enum.StrEnum):
    DRAFT = "draft"
    ISSUED = "issued"  # frozen: a correction is a new decision


class Delivery(enum.StrEnum):
    POSTBOX = "postbox"  # the citizen's portal postbox (§ 37 Abs. 2a SGB X)
    PAPER = "paper"  # posted as a letter (§ 37 Abs. 2 SGB X)


class Decision(Base):
    """One decision on a case. While a draft, every part may change; once issued, nothing does."""

    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    fall_id: Mapped[int] = mapped_column(ForeignKey("faelle.id", ondelete="CASCADE"))
    status: Mapped[DecisionStatus] = mapped_column(str_enum(DecisionStatus, "decision_status"),
                                                   default=DecisionStatus.DRAFT)
    kind: Mapped[DecisionKind] = mapped_column(str_enum(DecisionKind, "decision_kind"))
    subject: Mapped[str] = mapped_column(String(200), default="")
    tenor: Mapped[str] = mapped_column(Text, default="")
    begruendung: Mapped[str] = mapped_column(Text, default="")
    # Copied from office configuration when issued, so later edits there never change it.
    rechtsbehelfsbelehrung: Mapped[str] = mapped_column(Text, default="")
    addressee_party_id: Mapped[int | None] = mapped_column(
        ForeignKey("parties.id", ondelete="SET NULL"))
    # Frozen copies of the addressee as printed.
    addressee_name: Mapped[str] = mapped_column(String(200), default="")
    addressee_address: Mapped[str] = mapped_column(Text, default="")
    decision_date: Mapped[date | None] = mapped_column(Date)
    # Abhilfe or correction: the earlier decision this one replaces or remedies.
    refers_to_id: Mapped[int | None] = mapped_column(ForeignKey("decisions.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_name: Mapped[str] = mapped_column(String(200))

    issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    issued_by_name: Mapped[str | None] = mapped_column(String(200))
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id",
                                                               ondelete="SET NULL"))
    delivery: Mapped[Delivery | None] = mapped_column(str_enum(Delivery, "decision_delivery"))
    postbox_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("postbox_messages.id", ondelete="SET NULL"))
    posted_on: Mapped[date | None] = mapped_column(Date)  # paper: the day it went to the post
    bekanntgabe_on: Mapped[date | None] = mapped_column(Date)
    objection_deadline: Mapped[date | None] = mapped_column(Date)
    # § 58 Abs. 2 VwGO: found missing or wrong later, the period becomes one year.
    instruction_defective: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, default=1)

    fall: Mapped[Fall] = relationship()
    refers_to: Mapped[Decision | None] = relationship(remote_side=[id])

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012
    __table_args__ = (
        CheckConstraint("status <> 'issued' OR (issued_at IS NOT NULL AND delivery IS NOT NULL "
                        "AND bekanntgabe_on IS NOT NULL AND objection_deadline IS NOT NULL "
                        "AND decision_date IS NOT NULL)", name="issued_complete"),
        CheckConstraint("delivery <> 'paper' OR posted_on IS NOT NULL", name="paper_posted"),
        Index("ix_decisions_fall", "fall_id", "created_at"),
        # Decisions issued in a period (statistics).
        Index("ix_decisions_status_issued", "status", "issued_at"),
    )

    @property
    def is_issued(self) -> bool:
        return self.status is DecisionStatus.ISSUED

    @property
    def kind_label(self) -> str:
        return str(DECISION_KIND_LABELS[self.kind])


class WiderspruchStatus(enum.StrEnum):
    OPEN = "open"
    ABGEHOLFEN = "abgeholfen"  # remedied by the office itself (§ 72 VwGO)
    FORWARDED = "forwarded"  # sent to the Widerspruchsbehörde (§ 73 VwGO)
    CLOSED = "closed"  # the outcome is recorded


class WiderspruchOutcome(enum.StrEnum):
    STATTGEGEBEN = "stattgegeben"
    TEILWEISE = "teilweise"
    ZURUECKGEWIESEN = "zurueckgewiesen"
    ZURUECKGENOMMEN = "zurueckgenommen"


OUTCOME_LABELS = {
    WiderspruchOutcome.STATTGEGEBEN: _l("Upheld (stattgegeben)"),
    WiderspruchOutcome.TEILWEISE: _l("Partly upheld (teilweise stattgegeben)"),
    WiderspruchOutcome.ZURUECKGEWIESEN: _l("Dismissed (zurückgewiesen)"),
    WiderspruchOutcome.ZURUECKGENOMMEN: _l("Withdrawn (zurückgenommen)"),
}

WIDERSPRUCH_STATUS_LABELS = {
    WiderspruchStatus.OPEN: _l("open"),
    WiderspruchStatus.ABGEHOLFEN: _l("remedied (Abhilfe)"),
    WiderspruchStatus.FORWARDED: _l("with the Widerspruchsbehörde"),
    WiderspruchStatus.CLOSED: _l("closed"),
}


class Widerspruch(Base):
    """An objection to one issued decision, from the portal (via clearing) or from paper."""

    __tablename__ = "widersprueche"

    id: Mapped[int] = mapped_column(primary_key=True)
    fall_id: Mapped[int] = mapped_column(ForeignKey("faelle.id", ondelete="CASCADE"))
    decision_id: Mapped[int] = mapped_column(ForeignKey("decisions.id", ondelete="CASCADE"))
    # The intake item it came as (table name only: backoffice sits below clearing).
    eingang_id: Mapped[int | None] = mapped_column(
        ForeignKey("eingaenge.id", ondelete="SET NULL"), unique=True)
    received_on: Mapped[date] = mapped_column(Date)
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[WiderspruchStatus] = mapped_column(
        str_enum(WiderspruchStatus, "widerspruch_status"), default=WiderspruchStatus.OPEN)
    note: Mapped[str] = mapped_column(Text, default="")
    abhilfe_decision_id: Mapped[int | None] = mapped_column(
        ForeignKey("decisions.id", ondelete="SET NULL"))
    forwarded_on: Mapped[date | None] = mapped_column(Date)
    outcome: Mapped[WiderspruchOutcome | None] = mapped_column(
        str_enum(WiderspruchOutcome, "widerspruch_outcome"))
    outcome_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_name: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer, default=1)

    decision: Mapped[Decision] = relationship(foreign_keys=[decision_id])
    abhilfe_decision: Mapped[Decision | None] = relationship(
        foreign_keys=[abhilfe_decision_id])

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012
    __table_args__ = (
        CheckConstraint("status <> 'abgeholfen' OR abhilfe_decision_id IS NOT NULL",
                        name="abhilfe_has_decision"),
        CheckConstraint("status <> 'forwarded' OR forwarded_on IS NOT NULL",
                        name="forwarded_has_date"),
        CheckConstraint("status <> 'closed' OR (outcome IS NOT NULL AND outcome_on IS NOT NULL)",
                        name="closed_has_outcome"),
        Index("ix_widersprueche_fall", "fall_id"),
        Index("ix_widersprueche_decision", "decision_id"),
    )
