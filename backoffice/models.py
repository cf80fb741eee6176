"""Cases (Fall), the people in them (parties) and their timeline.

This is the minimal case record the clearing office routes into; the backoffice issue builds the
case pages, the E-Akte, deadlines and decisions on top of it. backoffice sits below clearing:
it names the intake table only by foreign-key string and never imports it.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Mapping
from datetime import date, datetime

from flask_babel.speaklater import LazyString
from sqlalchemy import (
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
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from amtsweg.db import Base, UTCDateTime, str_enum, utcnow
from amtsweg.staff.models import Fachbereich, Staff
from amtsweg.translate import lazy_gettext as _l
from storage.models import Document


class FallStatus(enum.StrEnum):
    OPEN = "open"
    DECIDED = "decided"
    PAYING = "paying"
    CLOSED = "closed"
    SUSPENDED = "suspended"


class PartyRole(enum.StrEnum):
    CHILD = "child"
    APPLICANT = "applicant"
    OTHER_PARENT = "other_parent"  # in UVG the liable parent (§ 7 UVG)
    LEGAL_REPRESENTATIVE = "legal_representative"
    SENDER = "sender"


class FallEventKind(enum.StrEnum):
    """The timeline kinds this record writes. A string column, not an enum: every Fachbereich
    module adds its own kinds (decision, payment, Rechtswahrungsanzeige) without a migration."""

    CASE_OPENED = "case_opened"
    EINGANG_ATTACHED = "eingang_attached"
    DOCUMENT_FILED = "document_filed"
    ASSIGNED = "assigned"
    STATUS_CHANGED = "status_changed"
    NOTE_ADDED = "note_added"
    PARTY_CHANGED = "party_changed"
    DEADLINE_SET = "deadline_set"
    DEADLINE_DONE = "deadline_done"
    DEADLINE_REOPENED = "deadline_reopened"


# Keyed by kind; a Fachbereich module adds the kinds it writes with register_event_labels.
FALL_EVENT_LABELS: dict[str, LazyString] = {
    FallEventKind.CASE_OPENED: _l("Case opened"),
    FallEventKind.EINGANG_ATTACHED: _l("Item received"),
    FallEventKind.DOCUMENT_FILED: _l("Document filed"),
    FallEventKind.ASSIGNED: _l("Responsibility changed"),
    FallEventKind.STATUS_CHANGED: _l("Status changed"),
    FallEventKind.NOTE_ADDED: _l("Note added"),
    FallEventKind.PARTY_CHANGED: _l("Party details changed"),
    FallEventKind.DEADLINE_SET: _l("Follow-up date set"),
    FallEventKind.DEADLINE_DONE: _l("Follow-up done"),
    FallEventKind.DEADLINE_REOPENED: _l("Follow-up reopened"),
}


def register_event_labels(labels: Mapping[str, LazyString]) -> None:
    """Name the timeline kinds a module writes, so the timeline never shows a raw kind."""
    FALL_EVENT_LABELS.update(labels)

# The case's life: open -> decided -> paying -> closed; any open state may be suspended and
# resumed into the state it had. A closed case stays closed (a new application is a new case).
ALLOWED_TRANSITIONS: dict[FallStatus, frozenset[FallStatus]] = {
    FallStatus.OPEN: frozenset({FallStatus.DECIDED, FallStatus.CLOSED, FallStatus.SUSPENDED}),
    FallStatus.DECIDED: frozenset({FallStatus.PAYING, FallStatus.CLOSED, FallStatus.SUSPENDED}),
    FallStatus.PAYING: frozenset({FallStatus.CLOSED, FallStatus.SUSPENDED}),
    FallStatus.SUSPENDED: frozenset(),  # left only by resuming, into the state it came from
    FallStatus.CLOSED: frozenset(),
}

FALL_STATUS_LABELS = {
    FallStatus.OPEN: _l("open"),
    FallStatus.DECIDED: _l("decided"),
    FallStatus.PAYING: _l("paying"),
    FallStatus.CLOSED: _l("closed"),
    FallStatus.SUSPENDED: _l("suspended"),
}

PARTY_ROLE_LABELS = {
    PartyRole.CHILD: _l("Child"),
    PartyRole.APPLICANT: _l("Applicant"),
    PartyRole.OTHER_PARENT: _l("Other parent"),
    PartyRole.LEGAL_REPRESENTATIVE: _l("Legal representative"),
    PartyRole.SENDER: _l("Sender"),
}

# "UV-2026-00042": the Fachbereich's prefix, the year the case was opened, a running number.
AKTENZEICHEN_PATTERN = re.compile(r"\b([A-Z]{2,12})-(\d{4})-(\d{5,9})\b")

_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})


def name_key(name: str) -> str:
    """Fold a name for matching: case, umlaut spellings (ä/ae, ß/ss), accents, hyphens, spaces.

    "Müller-Lüdenscheidt", "MUELLER-LUEDENSCHEIDT" and "mueller ludenscheidt" differ only in
    the last one's missing e; the first two get the same key. Stored beside the name and indexed,
    so a match is an equality lookup, never a scan.
    """
    folded = name.casefold().translate(_UMLAUTS)
    decomposed = unicodedata.normalize("NFKD", folded)
    return "".join(char for char in decomposed if char.isalnum())[:100]


class Fall(Base):
    """One case of one Fachbereich."""

    __tablename__ = "faelle"

    id: Mapped[int] = mapped_column(primary_key=True)
    aktenzeichen: Mapped[str] = mapped_column(String(30), unique=True)
    fachbereich_id: Mapped[int] = mapped_column(ForeignKey("fachbereiche.id"))
    title: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[FallStatus] = mapped_column(str_enum(FallStatus, "fall_status"),
                                               default=FallStatus.OPEN)
    # Empty: the case lies in the Fachbereich's pool until someone takes it.
    responsible_staff_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff.id", ondelete="SET NULL"))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Optimistic locking: an UPDATE from a page that read an older version changes nothing and
    # raises StaleDataError, so two caseworkers never silently overwrite each other.
    version: Mapped[int] = mapped_column(Integer, default=1)
    # While suspended: since when (to move the open deadlines on resume) and the state to resume.
    suspended_at: Mapped[date | None] = mapped_column(Date)
    suspended_from: Mapped[FallStatus | None] = mapped_column(
        str_enum(FallStatus, "fall_suspended_from"))

    fachbereich: Mapped[Fachbereich] = relationship(lazy="joined")
    responsible: Mapped[Staff | None] = relationship(lazy="joined")
    parties: Mapped[list[Party]] = relationship(
        back_populates="fall", cascade="all, delete-orphan", lazy="selectin",
        order_by="Party.id")

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012  (SQLAlchemy reads it once)
    __table_args__ = (
        CheckConstraint("(status = 'closed') = (closed_at IS NOT NULL)",
                        name="closed_has_closed_at"),
        CheckConstraint("version >= 1", name="version_positive"),
        CheckConstraint("(status = 'suspended') = (suspended_at IS NOT NULL)",
                        name="suspended_has_since"),
        CheckConstraint("(status = 'suspended') = (suspended_from IS NOT NULL)",
                        name="suspended_has_resume_state"),
        CheckConstraint("suspended_from IS NULL OR suspended_from NOT IN ('suspended', 'closed')",
                        name="suspended_from_open_state"),
        CheckConstraint("length(aktenzeichen) > 0", name="aktenzeichen_present"),
        Index("ix_faelle_fachbereich_status", "fachbereich_id", "status"),
        Index("ix_faelle_responsible", "responsible_staff_id"),
    )

    def __repr__(self) -> str:
        return f"<Fall {self.aktenzeichen}>"


class Party(Base):
    """A person in a case, in one role. The same person in two cases is two rows."""

    __tablename__ = "parties"

    id: Mapped[int] = mapped_column(primary_key=True)
    fall_id: Mapped[int] = mapped_column(ForeignKey("faelle.id", ondelete="CASCADE"))
    role: Mapped[PartyRole] = mapped_column(str_enum(PartyRole, "party_role"))
    first_name: Mapped[str] = mapped_column(String(100), default="")
    last_name: Mapped[str] = mapped_column(String(100))
    # Folded copies of the names (see ``name_key``), kept in step by the validators below.
    first_name_key: Mapped[str] = mapped_column(String(100), default="")
    last_name_key: Mapped[str] = mapped_column(String(100), default="")
    birth_date: Mapped[date | None] = mapped_column(Date)
    address: Mapped[str] = mapped_column(Text, default="")
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    iban: Mapped[str | None] = mapped_column(String(34))
    account_holder: Mapped[str | None] = mapped_column(String(100))

    fall: Mapped[Fall] = relationship(back_populates="parties")

    __table_args__ = (
        CheckConstraint("length(last_name) > 0", name="last_name_present"),
        Index("ix_parties_fall", "fall_id"),
        # Matching: the child by name and date of birth, the applicant by name.
        Index("ix_parties_last_name_key_birth_date", "last_name_key", "birth_date"),
        Index("ix_parties_last_name_key_first_name_key", "last_name_key", "first_name_key"),
    )

    @validates("first_name")
    def _fold_first_name(self, _key: str, value: str) -> str:
        self.first_name_key = name_key(value)
        return value

    @validates("last_name")
    def _fold_last_name(self, _key: str, value: str) -> str:
        self.last_name_key = name_key(value)
        return value

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class FallEvent(Base):
    """One entry of a case's timeline. ``summary`` holds nothing the case does not hold already."""

    __tablename__ = "fall_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    fall_id: Mapped[int] = mapped_column(ForeignKey("faelle.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(40))
    summary: Mapped[str] = mapped_column(Text, default="")
    actor_name: Mapped[str] = mapped_column(String(200))
    # The intake item and the document an event is about; kept when either is deleted later
    # (retention), so the timeline still shows that something arrived.
    eingang_id: Mapped[int | None] = mapped_column(ForeignKey("eingaenge.id",
                                                              ondelete="SET NULL"))
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id",
                                                               ondelete="SET NULL"))

    __table_args__ = (
        CheckConstraint("length(kind) > 0", name="kind_present"),
        Index("ix_fall_events_fall_at", "fall_id", "at"),
        Index("ix_fall_events_eingang", "eingang_id"),
    )

    @property
    def label(self) -> str:
        # StrEnum members hash like their value, so a plain string finds its label.
        known = FALL_EVENT_LABELS.get(self.kind)
        return str(known) if known is not None else self.kind


class AktenzeichenCounter(Base):
    """The last number given per Fachbereich and year.

    Incremented with an UPDATE whose row lock is held until commit, so two clerks opening cases
    at the same moment get consecutive numbers, never the same one; a rolled-back opening
    rolls its number back too.
    """

    __tablename__ = "aktenzeichen_counters"

    fachbereich_id: Mapped[int] = mapped_column(ForeignKey("fachbereiche.id",
                                                           ondelete="CASCADE"),
                                                primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (CheckConstraint("last_number >= 0", name="last_number_not_negative"),)


# The fields of a party that are versioned: a change writes a new PartyVersion row, never an
# UPDATE of an old one, so "which bank account did we pay to in March" stays answerable.
PARTY_VERSIONED_FIELDS = ("first_name", "last_name", "birth_date", "address", "email", "phone",
                          "iban", "account_holder")


class PartyVersion(Base):
    """One state of a party's contact and bank data, valid from ``valid_from`` on."""

    __tablename__ = "party_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    changed_by_name: Mapped[str] = mapped_column(String(200))
    first_name: Mapped[str] = mapped_column(String(100), default="")
    last_name: Mapped[str] = mapped_column(String(100))
    birth_date: Mapped[date | None] = mapped_column(Date)
    address: Mapped[str] = mapped_column(Text, default="")
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    iban: Mapped[str | None] = mapped_column(String(34))
    account_holder: Mapped[str | None] = mapped_column(String(100))

    __table_args__ = (
        UniqueConstraint("party_id", "number", name="uq_party_versions_party_number"),
        CheckConstraint("number >= 1", name="number_positive"),
    )


class DocumentOrigin(enum.StrEnum):
    ONLINE = "online"          # sent by a citizen through the portal
    CLEARING = "clearing"      # paper mail scanned in, or an item without portal account
    STAFF_UPLOAD = "staff_upload"
    GENERATED = "generated"    # a letter or Bescheid the office produced


DOCUMENT_ORIGIN_LABELS = {
    DocumentOrigin.ONLINE: _l("Online submission"),
    DocumentOrigin.CLEARING: _l("Clearing office"),
    DocumentOrigin.STAFF_UPLOAD: _l("Uploaded by staff"),
    DocumentOrigin.GENERATED: _l("Generated letter"),
}


class CaseDocument(Base):
    """A document in a case's E-Akte: one version of one document series.

    A new version is a new row (and a new blob) with the same ``series_id`` and the next
    ``version``; the old one is never overwritten, so what a Bescheid relied on stays readable.
    """

    __tablename__ = "case_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    fall_id: Mapped[int] = mapped_column(ForeignKey("faelle.id", ondelete="CASCADE"))
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    # The id of the series' first version (its own id for a first version).
    series_id: Mapped[int | None] = mapped_column(ForeignKey("case_documents.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)
    origin: Mapped[DocumentOrigin] = mapped_column(str_enum(DocumentOrigin, "document_origin"))
    # Free text per Fachbereich ("Geburtsurkunde", "Bescheid"), like the timeline kinds.
    kind: Mapped[str] = mapped_column(String(60), default="")
    title: Mapped[str] = mapped_column(String(200))
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    filed_by_name: Mapped[str] = mapped_column(String(200))
    eingang_id: Mapped[int | None] = mapped_column(ForeignKey("eingaenge.id",
                                                              ondelete="SET NULL"))

    document: Mapped[Document] = relationship(lazy="joined")

    __table_args__ = (
        UniqueConstraint("fall_id", "document_id", name="uq_case_documents_fall_document"),
        UniqueConstraint("series_id", "version", name="uq_case_documents_series_version"),
        CheckConstraint("version >= 1", name="version_positive"),
        CheckConstraint("length(title) > 0", name="title_present"),
        Index("ix_case_documents_fall_filed", "fall_id", "filed_at"),
    )


class Vermerk(Base):
    """A note on a case. Append-only: a correction is a new note, never an edit."""

    __tablename__ = "vermerke"

    id: Mapped[int] = mapped_column(primary_key=True)
    fall_id: Mapped[int] = mapped_column(ForeignKey("faelle.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    author_name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    text: Mapped[str] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint("length(text) > 0", name="text_present"),
        Index("ix_vermerke_fall_created", "fall_id", "created_at"),
    )


class Wiedervorlage(Base):
    """A follow-up date on a case: due date, reason, owner; done or not."""

    __tablename__ = "wiedervorlagen"

    id: Mapped[int] = mapped_column(primary_key=True)
    fall_id: Mapped[int] = mapped_column(ForeignKey("faelle.id", ondelete="CASCADE"))
    due_date: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(300))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_by_name: Mapped[str | None] = mapped_column(String(200))

    owner: Mapped[Staff | None] = relationship(lazy="joined")

    __table_args__ = (
        CheckConstraint("length(reason) > 0", name="reason_present"),
        CheckConstraint("(done_at IS NULL) = (done_by_name IS NULL)", name="done_has_who"),
        Index("ix_wiedervorlagen_owner_open_due", "owner_id", "done_at", "due_date"),
        Index("ix_wiedervorlagen_fall", "fall_id", "due_date"),
    )


class AccessKind(enum.StrEnum):
    CASE_VIEW = "case_view"
    DOCUMENT_DOWNLOAD = "document_download"
    DOCUMENT_PREVIEW = "document_preview"


ACCESS_KIND_LABELS = {
    AccessKind.CASE_VIEW: _l("Case file viewed"),
    AccessKind.DOCUMENT_DOWNLOAD: _l("Document downloaded"),
    AccessKind.DOCUMENT_PREVIEW: _l("Document viewed"),
}


class AccessLogEntry(Base):
    """One look (or attempted look) by staff into a case file (§ 35 SGB I).

    Separate from the audit log, which records changes: this records reads. Append-only; the
    mapper refuses updates and deletes (see backoffice.access). Names and the Aktenzeichen are
    copied so the entry stays readable after the case or the staff member is gone.
    """

    __tablename__ = "access_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    staff_name: Mapped[str] = mapped_column(String(200))
    fall_id: Mapped[int | None] = mapped_column(ForeignKey("faelle.id", ondelete="SET NULL"))
    aktenzeichen: Mapped[str] = mapped_column(String(30))
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id",
                                                               ondelete="SET NULL"))
    what: Mapped[AccessKind] = mapped_column(str_enum(AccessKind, "access_kind"))
    granted: Mapped[bool] = mapped_column(Boolean)

    __table_args__ = (
        Index("ix_access_log_at", "at", "id"),
        Index("ix_access_log_staff_at", "staff_id", "at"),
        Index("ix_access_log_aktenzeichen_at", "aktenzeichen", "at"),
    )
