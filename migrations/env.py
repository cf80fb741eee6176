"""Alembic environment: runs inside the Flask app, so the database URL comes from AMTSWEG_*."""

from __future__ import annotations

import logging
from logging.config import fileConfig
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from flask import current_app

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
    with engine.connect() as connection:
        context.configure(connection=connection, process_revision_directives=skip_empty,
                          target_metadata=target_metadata, compare_type=True,
                          render_as_batch=engine.dialect.name == "sqlite",
                          render_item=render_item)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
