"""Sollstellungen (payment and receivable orders), transfers to the state treasury, and what
comes back from it (acknowledgements and IST bookings).

ihv sits below backoffice: it names the case table only by foreign-key string and never imports
it. A Fachbereich module raises orders through ``ihv.services`` and reads their state back.

The terms follow Art. 70 BayHO and its VV (DOMAIN.md §3): an order is *festgestellt* (sachlich
und rechnerisch richtig) by one person and *angeordnet* by a different person with
Anordnungsbefugnis before it may leave the office.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
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
from amtsweg.staff.models import Staff


class Direction(enum.StrEnum):
    AUSZAHLUNG = "auszahlung"  # payment order: the treasury pays the payee
    ANNAHME = "annahme"  # receivable order: the treasury collects from the payer


class OrderStatus(enum.StrEnum):
    DRAFT = "draft"
    FESTGESTELLT = "festgestellt"
    ANGEORDNET = "angeordnet"
    TRANSMITTED = "transmitted"
    ACKNOWLEDGED = "acknowledged"
    REJECTED = "rejected"
    BOOKED = "booked"
    CANCELLED = "cancelled"


# draft -> festgestellt -> angeordnet -> transmitted -> acknowledged | rejected -> booked.
# A change before transmission sends an order back to draft (its approvals are void); after
# transmission it is never edited: it is cancelled by a change order (Änderungsanordnung) and,
# where needed, replaced by a new order. Nothing is ever deleted.
ALLOWED_TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.DRAFT: frozenset({OrderStatus.FESTGESTELLT, OrderStatus.CANCELLED}),
    OrderStatus.FESTGESTELLT: frozenset({OrderStatus.ANGEORDNET, OrderStatus.DRAFT,
                                         OrderStatus.CANCELLED}),
    OrderStatus.ANGEORDNET: frozenset({OrderStatus.TRANSMITTED, OrderStatus.DRAFT,
                                       OrderStatus.CANCELLED}),
    # -> cancelled only when the order's Änderungsanordnung (change order) is itself sent.
    OrderStatus.TRANSMITTED: frozenset({OrderStatus.ACKNOWLEDGED, OrderStatus.REJECTED,
                                        OrderStatus.BOOKED, OrderStatus.CANCELLED}),
    OrderStatus.ACKNOWLEDGED: frozenset({OrderStatus.BOOKED, OrderStatus.CANCELLED}),
    OrderStatus.REJECTED: frozenset(),
    OrderStatus.BOOKED: frozenset(),
    OrderStatus.CANCELLED: frozenset(),
}


class Recurrence(enum.StrEnum):
    ONE_OFF = "one_off"
    # One installment of a series; every installment of a series shares one Kassenzeichen.
    RECURRING = "recurring"


class Sollstellung(Base):
    """One payment or receivable order."""

    __tablename__ = "sollstellungen"

    id: Mapped[int] = mapped_column(primary_key=True)
    kassenzeichen: Mapped[str] = mapped_column(String(20), index=True)
    direction: Mapped[Direction] = mapped_column(str_enum(Direction, "order_direction", 20))
    status: Mapped[OrderStatus] = mapped_column(str_enum(OrderStatus, "order_status", 20),
                                                default=OrderStatus.DRAFT)
    recurrence: Mapped[Recurrence] = mapped_column(str_enum(Recurrence, "order_recurrence", 20),
                                                   default=Recurrence.ONE_OFF)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    due_date: Mapped[date] = mapped_column(Date)
    # The months (or days) the money is for; a monthly installment covers one month.
    period_start: Mapped[date | None] = mapped_column(Date)
    period_end: Mapped[date | None] = mapped_column(Date)
    # Buchungsstelle "xx xx/xxx xx-x" (Kapitel / Titel / Prüfziffer), validated in ihv.codes.
    haushaltsstelle: Mapped[str] = mapped_column(String(30), index=True)
    # Payee (Auszahlung) or payer (Annahme).
    party_name: Mapped[str] = mapped_column(String(200))
    party_street: Mapped[str] = mapped_column(String(200), default="")
    party_postcode: Mapped[str] = mapped_column(String(10), default="")
    party_city: Mapped[str] = mapped_column(String(100), default="")
    iban: Mapped[str | None] = mapped_column(String(34))
    bic: Mapped[str | None] = mapped_column(String(11))
    # Verwendungszweck: at most 140 characters (SEPA unstructured remittance), starting with
    # the Kassenzeichen so the payee and the treasury can match it.
    purpose: Mapped[str] = mapped_column(String(140))
    fall_id: Mapped[int | None] = mapped_column(ForeignKey("faelle.id"), index=True)
    # Which module raised it ("uvg", "manual", ...) and its own key, unique: a payment run that
    # runs twice for one month finds its orders by this key and creates nothing new.
    source: Mapped[str] = mapped_column(String(30), default="manual")
    source_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    # A change order (Änderungsanordnung) names the order it cancels or corrects.
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("sollstellungen.id"))
    # Bumped by every edit; approvals record the version they approved.
    version: Mapped[int] = mapped_column(Integer, default=1)

    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Whoever last changed an amount, payee or account counts as an author too: they may no
    # more approve their own change than the creator may approve the order.
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    festgestellt_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    festgestellt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    angeordnet_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    angeordnet_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    transfer_id: Mapped[int | None] = mapped_column(ForeignKey("ihv_transfers.id"), index=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rejection_reason: Mapped[str | None] = mapped_column(String(500))
    # Sum of the IST bookings matched to this order (positive, in the order's direction).
    booked_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancel_reason: Mapped[str | None] = mapped_column(String(500))

    created_by: Mapped[Staff | None] = relationship(foreign_keys=[created_by_id])
    festgestellt_by: Mapped[Staff | None] = relationship(foreign_keys=[festgestellt_by_id])
    angeordnet_by: Mapped[Staff | None] = relationship(foreign_keys=[angeordnet_by_id])
    transfer: Mapped[Transfer | None] = relationship(back_populates="orders")

    __table_args__ = (
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        CheckConstraint("booked_cents >= 0", name="booked_not_negative"),
        CheckConstraint("length(purpose) <= 140", name="purpose_length"),
        # Four eyes, also in the database: nobody establishes an order they created, and
        # nobody orders one they created or established.
        CheckConstraint("festgestellt_by_id IS NULL OR festgestellt_by_id <> created_by_id",
                        name="feststeller_not_creator"),
        CheckConstraint("angeordnet_by_id IS NULL OR (angeordnet_by_id <> created_by_id "
                        "AND angeordnet_by_id <> festgestellt_by_id)",
                        name="anordner_not_creator_or_feststeller"),
        CheckConstraint("changed_by_id IS NULL OR ((festgestellt_by_id IS NULL "
                        "OR festgestellt_by_id <> changed_by_id) AND (angeordnet_by_id IS NULL "
                        "OR angeordnet_by_id <> changed_by_id))", name="approver_not_editor"),
        # An ordered order carries both approvals; an established one at least the first.
        CheckConstraint("status NOT IN ('angeordnet', 'transmitted', 'acknowledged', 'rejected', "
                        "'booked') OR (festgestellt_by_id IS NOT NULL "
                        "AND angeordnet_by_id IS NOT NULL)", name="ordered_has_two_approvals"),
        CheckConstraint("status <> 'festgestellt' OR festgestellt_by_id IS NOT NULL",
                        name="festgestellt_has_feststeller"),
        CheckConstraint("direction <> 'auszahlung' OR iban IS NOT NULL", name="payout_has_iban"),
        # The step queues read only their own state; the statistics' pass over a year of
        # orders (Soll, Ist, UVG amounts) reads the index alone on PostgreSQL (INCLUDE).
        Index("ix_sollstellungen_status_due", "status", "due_date",
              postgresql_include=["haushaltsstelle", "direction", "source", "amount_cents",
                                  "booked_cents"]),
    )

    @property
    def open_cents(self) -> int:
        if self.status in (OrderStatus.CANCELLED, OrderStatus.REJECTED):
            return 0
        return max(self.amount_cents - self.booked_cents, 0)

    @property
    def is_change_order(self) -> bool:
        return self.replaces_id is not None


class TransferStatus(enum.StrEnum):
    PREPARED = "prepared"  # file built, validated and stored; orders assigned; not yet delivered
    SENT = "sent"  # delivered by the transport; orders transmitted
    FAILED = "failed"  # delivery failed; error recorded; `ihv send` (or the page) delivers again


class Transfer(Base):
    """One transfer file to the treasury (or one SEPA pain.001 file)."""

    __tablename__ = "ihv_transfers"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Gapless, unique; the treasury refuses a sequence number it has seen.
    sequence_number: Mapped[int] = mapped_column(Integer, unique=True)
    adapter: Mapped[str] = mapped_column(String(20), default="ihv-xml")
    status: Mapped[TransferStatus] = mapped_column(
        str_enum(TransferStatus, "transfer_status", 20), default=TransferStatus.PREPARED)
    file_name: Mapped[str] = mapped_column(String(120), unique=True)
    # The exact bytes that leave are kept (blob store), so a resend repeats them bit for bit.
    blob_key: Mapped[str] = mapped_column(String(200), info={"blob_key": True})
    sha256: Mapped[str] = mapped_column(String(64))
    order_count: Mapped[int] = mapped_column(Integer)
    control_sum_cents: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)

    orders: Mapped[list[Sollstellung]] = relationship(back_populates="transfer")


class ImportKind(enum.StrEnum):
    ACKNOWLEDGEMENT = "acknowledgement"
    BOOKINGS = "bookings"  # IST booking file of our XML format
    CAMT053 = "camt053"  # bank statement (SEPA adapter)


class ImportStatus(enum.StrEnum):
    IMPORTED = "imported"
    REJECTED = "rejected"  # refused whole; nothing of it was applied


class ImportedFile(Base):
    """Every file `ihv receive` looked at. The SHA-256 is unique: the same file twice is a no-op."""

    __tablename__ = "ihv_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[ImportKind] = mapped_column(str_enum(ImportKind, "import_kind", 20))
    status: Mapped[ImportStatus] = mapped_column(str_enum(ImportStatus, "import_status", 20))
    file_name: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    # The sender's sequence number where the format has one (unique per kind when imported).
    sequence_number: Mapped[int | None] = mapped_column(Integer)
    record_count: Mapped[int] = mapped_column(Integer, default=0)
    control_sum_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # For a rejected file: the report shown to finance staff (what was wrong, where).
    report: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        # A sender's sequence number is imported once per kind, also when two nodes read two
        # files with the same number at the same moment (the loser's transaction fails and the
        # file is refused as a duplicate on the next run).
        Index("uq_ihv_imports_kind_sequence", "kind", "sequence_number", unique=True,
              sqlite_where=text("status = 'imported' AND sequence_number IS NOT NULL"),
              postgresql_where=text("status = 'imported' AND sequence_number IS NOT NULL")),
    )


class BookingStatus(enum.StrEnum):
    MATCHED = "matched"  # matched by Kassenzeichen on import
    UNCLEAR = "unclear"  # on the Klärungsliste
    ASSIGNED = "assigned"  # assigned by hand from the Klärungsliste


class Booking(Base):
    """One IST booking the treasury (or the bank) reports: money that actually moved."""

    __tablename__ = "ihv_bookings"

    id: Mapped[int] = mapped_column(primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("ihv_imports.id"), index=True)
    # The treasury's (or bank's) own reference for the booking; unique with the kind of source,
    # so a booking repeated in a later file is recognised.
    reference: Mapped[str] = mapped_column(String(80))
    source: Mapped[ImportKind] = mapped_column(str_enum(ImportKind, "booking_source", 20))
    direction: Mapped[Direction] = mapped_column(str_enum(Direction, "booking_direction", 20))
    kassenzeichen: Mapped[str] = mapped_column(String(40), index=True)  # as received, may be wrong
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    booking_date: Mapped[date] = mapped_column(Date, index=True)
    counterparty: Mapped[str] = mapped_column(String(200), default="")
    purpose: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[BookingStatus] = mapped_column(str_enum(BookingStatus, "booking_status", 20))
    sollstellung_id: Mapped[int | None] = mapped_column(ForeignKey("sollstellungen.id"),
                                                        index=True)
    # Money that exceeds what the order asked for (overpayment), kept visible, never lost.
    excess_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(String(500))

    sollstellung: Mapped[Sollstellung | None] = relationship()

    __table_args__ = (
        UniqueConstraint("source", "reference"),
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        Index("ix_ihv_bookings_status", "status"),
    )


class KassenzeichenCounter(Base):
    """The last running number handed out per year; rows are locked to hand out the next."""

    __tablename__ = "kassenzeichen_counters"

    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer, default=0)


class TransferCounter(Base):
    """One row: the last transfer sequence number. Locked while a transfer is prepared, which is
    also what makes `ihv send` safe to start on two nodes at once."""

    __tablename__ = "ihv_transfer_counter"

    id: Mapped[int] = mapped_column(primary_key=True)
    last_sequence: Mapped[int] = mapped_column(Integer, default=0)
