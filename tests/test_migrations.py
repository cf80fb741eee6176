"""The Alembic revisions build exactly the schema the models describe, on SQLite and PostgreSQL,
seed the Fachbereiche, and go back down cleanly."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.engine import make_url

from amtsweg.app import create_app
from amtsweg.db import Base
from amtsweg.extensions import db
from amtsweg.fachbereiche import DEFAULT_FACHBEREICHE
from amtsweg.staff.models import Fachbereich
from tests.conftest import POSTGRES_URL, _normalise, make_settings


@pytest.fixture
def empty_database_url(tmp_path: Path) -> Iterator[str]:
    if not POSTGRES_URL:
        yield f"sqlite:///{tmp_path / 'migrations.sqlite3'}"
        return
    url = make_url(_normalise(POSTGRES_URL))
    name = f"{url.database}_migrations"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_upgrade_matches_models_and_downgrade_empties(tmp_path: Path,
                                                     empty_database_url: str) -> None:
    app = create_app(make_settings(tmp_path, empty_database_url))
    with app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(
                connection, opts={"compare_type": True}), Base.metadata)
        assert diff == []
        seeded = set(db.session.execute(
            select(Fachbereich.code, Fachbereich.name, Fachbereich.retention_years)))
        assert seeded == {tuple(seed) for seed in DEFAULT_FACHBEREICHE}
        db.session.remove()
        downgrade(revision="base")
        tables = set(inspect(db.engine).get_table_names()) - {"alembic_version"}
        assert tables == set()
        db.engine.dispose()
