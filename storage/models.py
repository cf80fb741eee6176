"""Document metadata: what a blob is, whose it is, and how to check it is still the same."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from amtsweg.db import Base, UTCDateTime, utcnow
from storage.checks import ACCEPTED_MEDIA_TYPES

OWNER_KINDS = ("citizen", "staff", "system")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


class Document(Base):
    """One stored file. The blob lives in the blob store under ``storage_key``."""

    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The sanitised name as the person gave it; shown and offered on download, never a path.
    filename: Mapped[str] = mapped_column(String(255))
    # Sniffed from the content, never taken from the name or the browser.
    media_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    # ``blob_key``: this column names blobs, so ``amtsweg storage sweep`` keeps what it names.
    storage_key: Mapped[str] = mapped_column(String(80), unique=True, info={"blob_key": True})
    owner_kind: Mapped[str] = mapped_column(String(10))
    # No foreign key: a document can belong to a citizen or to a staff member (or the system).
    owner_id: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        CheckConstraint("size > 0", name="size_positive"),
        CheckConstraint(_in("media_type", ACCEPTED_MEDIA_TYPES), name="media_type_accepted"),
        # ltrim with a character set works the same on SQLite and PostgreSQL.
        CheckConstraint("length(sha256) = 64 AND ltrim(sha256, '0123456789abcdef') = ''",
                        name="sha256_hex"),
        CheckConstraint(_in("owner_kind", OWNER_KINDS), name="owner_kind_known"),
        CheckConstraint("owner_kind = 'system' OR owner_id IS NOT NULL", name="owner_named"),
        CheckConstraint("length(filename) > 0", name="filename_present"),
        Index("ix_documents_owner", "owner_kind", "owner_id"),
    )

    def audit_view(self) -> dict[str, object]:
        """The fields an audit entry keeps (no content, and the name only as metadata)."""
        return {"filename": self.filename, "media_type": self.media_type, "size": self.size,
                "sha256": self.sha256, "owner_kind": self.owner_kind, "owner_id": self.owner_id}
