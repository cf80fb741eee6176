"""Fixtures: a real database (SQLite, or PostgreSQL when AMTSWEG_TEST_DATABASE_URL is set),
an app per test, and factories that read like the office's day."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, make_url

from amtsweg.app import create_app
from amtsweg.citizens.models import Citizen
from amtsweg.config import Settings, load_settings
from amtsweg.db import Base, utcnow
from amtsweg.extensions import db
from amtsweg.fachbereiche import fachbereich_by_code, seed_fachbereiche
from amtsweg.passwords import hash_password
from amtsweg.staff.models import Role, Staff, StaffRole


def _for_this_worker(url: str) -> str:
    """Under pytest-xdist each worker gets its own database beside the configured one (tests
    empty every table after themselves, which would pull the rows from under another worker)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not url or not worker:
        return url
    parsed = make_url(url)
    return parsed.set(database=f"{parsed.database}_{worker}").render_as_string(
        hide_password=False)


POSTGRES_URL = _for_this_worker(os.environ.get("AMTSWEG_TEST_DATABASE_URL", "").strip())
PASSWORD = "richtig-langes-Passwort-1"


def _normalise(url: str) -> str:
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


@pytest.fixture(scope="session")
def postgres_schema() -> Iterator[str | None]:
    """On PostgreSQL: build the schema once for the whole run; tests truncate afterwards."""
    if not POSTGRES_URL:
        yield None
        return
    url = _normalise(POSTGRES_URL)
    _create_database_if_missing(url)
    engine = create_engine(url)
    import amtsweg.app  # noqa: F401  (imports every model)

    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    engine.dispose()
    yield url


def _create_database_if_missing(url: str) -> None:
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        exists = connection.exec_driver_sql("SELECT 1 FROM pg_database WHERE datname = %(name)s",
                                            {"name": parsed.database}).first()
        if exists is None:
            connection.exec_driver_sql(f'CREATE DATABASE "{parsed.database}"')
    admin.dispose()


def _empty_all(url: str) -> None:
    """Empty every table and restart the id sequences, as TRUNCATE ... RESTART IDENTITY would.

    DELETE in reverse dependency order is ten times cheaper than TRUNCATE on tables holding a few
    rows (TRUNCATE swaps each table's files), and this runs after every test on PostgreSQL."""
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    deletes = "; ".join(f'DELETE FROM "{name}"' for name in tables)  # noqa: S608  (our own table names)
    restarts = ", ".join(
        f"setval(pg_get_serial_sequence('\"{t.name}\"', 'id'), 1, false)"
        for t in Base.metadata.sorted_tables
        if "id" in t.c and t.c["id"].primary_key)
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql(f"{deletes}; SELECT {restarts}")
    engine.dispose()


def make_settings(tmp_path: Path, database_url: str | None = None, **overrides: Any) -> Settings:
    env = {
        "AMTSWEG_ENV": "test",
        "AMTSWEG_INSTANCE_PATH": str(tmp_path / "instance"),
        "AMTSWEG_SECRET_KEY": "t" * 40,
        "AMTSWEG_DATABASE_URL": database_url or f"sqlite:///{tmp_path / 'test.sqlite3'}",
    }
    return load_settings(env).with_overrides(**overrides)


@pytest.fixture
def settings_factory(tmp_path: Path, postgres_schema: str | None) -> Callable[..., Settings]:
    def factory(**overrides: Any) -> Settings:
        database_url = overrides.pop("database_url", None) or postgres_schema
        return make_settings(tmp_path, database_url, **overrides)

    return factory


@pytest.fixture
def app(settings_factory: Callable[..., Settings], postgres_schema: str | None) -> Iterator[Flask]:
    app = create_app(settings_factory())
    with app.app_context():
        if postgres_schema is None:
            db.create_all()
        seed_fachbereiche()
        db.session.commit()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    if postgres_schema is not None:
        _empty_all(postgres_schema)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def app_ctx(app: Flask) -> Iterator[None]:
    with app.app_context():
        yield


@pytest.fixture
def create_staff(app: Flask) -> Callable[..., Staff]:
    counter = iter(range(1, 10_000))

    def factory(username: str | None = None, *, roles: tuple[Role, ...] = (Role.CASEWORKER,),
                fachbereiche: tuple[str, ...] = ("uvg",), password: str = PASSWORD,
                full_name: str | None = None, active: bool = True,
                totp_secret: str | None = None) -> Staff:
        username = username or f"staff{next(counter)}"
        with app.app_context():
            staff = Staff(username=username, full_name=full_name or f"Erika {username.title()}",
                          password_hash=hash_password(password), active=active,
                          totp_secret=totp_secret, failed_logins=0, session_epoch=0)
            staff.role_rows = [StaffRole(role=role) for role in roles]
            staff.fachbereiche = [fb for code in fachbereiche
                                  if (fb := fachbereich_by_code(code)) is not None]
            db.session.add(staff)
            db.session.commit()
            db.session.refresh(staff)
            db.session.expunge(staff)
            return staff

    return factory


@pytest.fixture
def create_citizen(app: Flask) -> Callable[..., Citizen]:
    counter = iter(range(1, 10_000))

    def factory(email: str | None = None, *, password: str = PASSWORD,
                verified: bool = True) -> Citizen:
        email = email or f"buerger{next(counter)}@example.org"
        with app.app_context():
            citizen = Citizen(email=email.lower(), password_hash=hash_password(password),
                              email_verified_at=utcnow() if verified else None, session_epoch=0)
            db.session.add(citizen)
            db.session.commit()
            db.session.refresh(citizen)
            db.session.expunge(citizen)
            return citizen

    return factory


def csrf_token(client: FlaskClient, path: str) -> str:
    """Fetch ``path`` and return the CSRF token from its form, as a browser would."""
    import re

    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def sign_in_staff(client: FlaskClient, staff: Staff) -> None:
    """Put ``staff`` into the client's session as a completed login would (UI tested elsewhere)."""
    now = utcnow().timestamp()
    with client.session_transaction() as session:
        session.clear()
        session["staff"] = {"id": staff.id, "epoch": staff.session_epoch, "seen": now,
                            "auth_at": now}


def sign_in_citizen(client: FlaskClient, citizen: Citizen) -> None:
    now = utcnow().timestamp()
    with client.session_transaction() as session:
        session.clear()
        session["citizen"] = {"id": citizen.id, "epoch": citizen.session_epoch, "seen": now}
