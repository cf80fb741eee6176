"""Staff identities, their roles and their Fachbereiche."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    Integer,
    String,
    Table,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from amtsweg.db import Base, UTCDateTime, str_enum, utcnow


class Role(enum.StrEnum):
    CLEARING = "clearing"
    CASEWORKER = "caseworker"
    FESTSTELLER = "feststeller"
    ANORDNER = "anordner"
    LEAD = "lead"
    ADMIN = "admin"
    AUDITOR = "auditor"


staff_fachbereiche = Table(
    "staff_fachbereiche",
    Base.metadata,
    Column("staff_id", ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True),
    Column("fachbereich_id", ForeignKey("fachbereiche.id", ondelete="CASCADE"), primary_key=True),
)


class Fachbereich(Base):
    """A department of the office. Data, not code: a new one is a row."""

    __tablename__ = "fachbereiche"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    # Years after the case closed (retention, DOMAIN.md §2; StMAS AMS VI 5/7273/1/03).
    retention_years: Mapped[int] = mapped_column(Integer, default=10)

    __table_args__ = (CheckConstraint("retention_years BETWEEN 1 AND 100", name="retention"),)

    def __repr__(self) -> str:
        return f"<Fachbereich {self.code}>"


class StaffRole(Base):
    __tablename__ = "staff_roles"

    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"),
                                          primary_key=True)
    role: Mapped[Role] = mapped_column(
        str_enum(Role, "role", length=20),
        primary_key=True,
    )


class Staff(Base):
    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    # Last TOTP time step used, so a code cannot be replayed within its window.
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Bumped on logout-everywhere, password change, deactivation: older sessions stop working.
    session_epoch: Mapped[int] = mapped_column(Integer, default=0)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    role_rows: Mapped[list[StaffRole]] = relationship(cascade="all, delete-orphan",
                                                      lazy="selectin")
    fachbereiche: Mapped[list[Fachbereich]] = relationship(secondary=staff_fachbereiche,
                                                           lazy="selectin",
                                                           order_by=Fachbereich.name)

    __table_args__ = (
        CheckConstraint("failed_logins >= 0", name="failed_logins_not_negative"),
        UniqueConstraint("email"),
    )

    @property
    def roles(self) -> frozenset[Role]:
        return frozenset(row.role for row in self.role_rows)

    def has_role(self, *roles: Role) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def fachbereich_ids(self) -> frozenset[int]:
        return frozenset(fb.id for fb in self.fachbereiche)

    def __repr__(self) -> str:
        return f"<Staff {self.username}>"
