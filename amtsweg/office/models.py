"""One row of the office's letter data, and one legal-remedy text per Fachbereich."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from amtsweg.db import Base, UTCDateTime, utcnow


class OfficeProfile(Base):
    """What every letter prints about the office. A single row (id 1); absent until an admin
    saves, and until then the defaults come from ``settings.office``."""

    __tablename__ = "office_profile"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    street: Mapped[str] = mapped_column(String(200))
    postcode: Mapped[str] = mapped_column(String(10))
    city: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str] = mapped_column(String(60))
    email: Mapped[str] = mapped_column(String(254))
    opening_hours: Mapped[str] = mapped_column(Text, default="")
    letterhead: Mapped[str] = mapped_column(Text, default="")
    iban: Mapped[str] = mapped_column(String(34), default="")
    bic: Mapped[str] = mapped_column(String(11), default="")
    bank_name: Mapped[str] = mapped_column(String(200), default="")
    widerspruchsbehoerde_name: Mapped[str] = mapped_column(String(200), default="")
    widerspruchsbehoerde_address: Mapped[str] = mapped_column(Text, default="")
    court_name: Mapped[str] = mapped_column(String(200), default="")
    court_address: Mapped[str] = mapped_column(Text, default="")
    signature_line: Mapped[str] = mapped_column(String(200), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_name: Mapped[str] = mapped_column(String(200), default="")
    # Optimistic locking: two admins saving at once never silently overwrite each other.
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012
    __table_args__ = (
        CheckConstraint("id = 1", name="single_row"),
        CheckConstraint("length(name) > 0", name="name_present"),
    )


class RemedyText(Base):
    """The Rechtsbehelfsbelehrung template of one Fachbereich (§ 36 SGB X), as the office
    worded and checked it. Absent: the built-in default is used and flagged as unchecked."""

    __tablename__ = "office_remedy_texts"

    fachbereich_id: Mapped[int] = mapped_column(
        ForeignKey("fachbereiche.id", ondelete="CASCADE"), primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_name: Mapped[str] = mapped_column(String(200), default="")

    __table_args__ = (CheckConstraint("length(text) > 0", name="text_present"),)
