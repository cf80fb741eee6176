"""The audit log: who did what to which object, when, with before and after."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from amtsweg.db import Base, UTCDateTime, str_enum, utcnow


class ActorKind(enum.StrEnum):
    STAFF = "staff"
    CITIZEN = "citizen"
    SYSTEM = "system"
    ANONYMOUS = "anonymous"


class AuditEntry(Base):
    """One write to the system. Rows are only ever inserted, never changed or deleted."""

    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_kind: Mapped[ActorKind] = mapped_column(
        str_enum(ActorKind, "actor_kind", length=20))
    # No foreign key: the entry must outlive the account it names (deletion, retention).
    actor_id: Mapped[int | None]
    actor_name: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(80))
    object_type: Mapped[str] = mapped_column(String(60))
    object_id: Mapped[str | None] = mapped_column(String(80))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    remote_addr: Mapped[str | None] = mapped_column(String(45))

    __table_args__ = (
        Index("ix_audit_entries_object", "object_type", "object_id"),
        Index("ix_audit_entries_actor", "actor_kind", "actor_id"),
        Index("ix_audit_entries_at", "at"),
    )
