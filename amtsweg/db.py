"""The declarative base every model uses, with a stable constraint naming convention."""

from __future__ import annotations

import enum
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import DateTime, Enum, MetaData
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Session, SessionTransaction
from sqlalchemy.types import TypeDecorator

# Named constraints keep Alembic diffs stable across SQLite and PostgreSQL (indico does the same).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def str_enum(cls: type[enum.Enum], name: str, length: int = 30) -> Enum:
    """A Python enum stored as its values in a VARCHAR with a named CHECK constraint.

    No native database enum: adding a member is then a constraint change, not an ALTER TYPE, and
    SQLite and PostgreSQL hold the same schema. Unknown strings are refused in Python too.
    """
    return Enum(cls, native_enum=False, length=length, create_constraint=True, name=name,
                values_callable=lambda members: [member.value for member in members],
                validate_strings=True)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python.

    SQLite has no time zones; PostgreSQL stores ``timestamptz``. Either way the application
    only ever sees aware UTC datetimes and refuses naive ones, so no local time slips in.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise ValueError("UTCDateTime needs a timezone-aware datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


# --- savepoints -------------------------------------------------------------------------------
# What a transaction leaves for after its end (audit entries, mail to send, blobs to keep or to
# delete) is listed with the transaction it was made in, so a savepoint rolled back can take
# exactly its own part, and one released hands its part to the transaction around it.


def innermost_transaction(session: Session) -> SessionTransaction | None:
    """The savepoint open now, else the transaction itself (``None`` before it begins)."""
    return session.get_nested_transaction() or session.get_transaction()


def made_within(transaction: SessionTransaction | None, ancestor: SessionTransaction) -> bool:
    """Whether ``transaction`` is ``ancestor`` or a savepoint opened inside it."""
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False


Entry = TypeVar("Entry")


def take_made_within(session: Session, key: str, savepoint: SessionTransaction,
                     made_in: Callable[[Entry], SessionTransaction | None]) -> list[Entry]:
    """Remove from the list ``session.info[key]`` the entries made in ``savepoint`` (or in one
    opened inside it) and return them: what a savepoint rolled back takes with it."""
    within: list[Entry] = []
    outside: list[Entry] = []
    for entry in session.info.get(key) or []:
        (within if made_within(made_in(entry), savepoint) else outside).append(entry)
    session.info[key] = outside
    return within
