"""Alembic environment: runs inside the Flask app, so the database URL comes from AMTSWEG_*."""

from __future__ import annotations

import logging
from collections import Counter
from logging.config import fileConfig
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from flask import current_app
from sqlalchemy.engine import Connection

from amtsweg.db import UTCDateTime

config = context.config
if config.config_file_name is not None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")

db = current_app.extensions["migrate"].db
target_metadata = db.metadatas[None]


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Write our UTC timestamp type as the plain column type it stores, so revisions never
    import application code (a revision must still run after the code moved on)."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations_offline() -> None:
    url = db.engine.url.render_as_string(hide_password=False)
    # SQLite cannot ALTER most things in place: batch mode copies the table, same result.
    context.configure(url=url, literal_binds=True, target_metadata=target_metadata,
                      compare_type=True, render_as_batch=url.startswith("sqlite"),
                      render_item=render_item)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    def skip_empty(ctx, revision, directives):  # type: ignore[no-untyped-def]
        if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
            directives[:] = []
            logger.info("No changes in schema detected.")

    engine = db.engine
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as connection:
        if sqlite:
            _sqlite_foreign_keys(connection, "OFF")
        try:
            context.configure(connection=connection, process_revision_directives=skip_empty,
                              target_metadata=target_metadata, compare_type=True,
                              render_as_batch=sqlite, render_item=render_item)
            with context.begin_transaction():
                context.run_migrations()
                if sqlite:
                    _refuse_dangling_references(connection)
        finally:
            if sqlite:
                _sqlite_foreign_keys(connection, "ON")


def _sqlite_foreign_keys(connection: Connection, state: Literal["ON", "OFF"]) -> None:
    """Switch SQLite's foreign key enforcement for this connection (the app switches it on).

    A batch migration rebuilds a table: it copies the rows to a new table, drops the old one
    and renames the copy. With enforcement on, that drop would delete the rows pointing at the
    old table (ON DELETE CASCADE) or fail; SQLite's own procedure for such changes switches it
    off first (https://www.sqlite.org/lang_altertable.html#otheralter). The pragma does nothing
    inside a transaction: whatever a failed migration left open is rolled back first.
    """
    connection.rollback()
    connection.exec_driver_sql(f"PRAGMA foreign_keys = {state}")
    connection.commit()


def _refuse_dangling_references(connection: Connection) -> None:
    """Fail the upgrade if a reference points at no row once the migrations ran without
    enforcement: the app must not start on such data. Names tables only, never row content."""
    # One result row per broken key of a row: count the rows.
    dangling = Counter(str(table) for table, _rowid in {
        (row[0], row[1]) for row in connection.exec_driver_sql("PRAGMA foreign_key_check")})
    if dangling:
        tables = ", ".join(f"{table} ({count} row{'s' if count > 1 else ''})"
                           for table, count in sorted(dangling.items()))
        raise RuntimeError(f"rows whose foreign keys point at no row: {tables} "
                           f"(PRAGMA foreign_key_check lists them)")


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
