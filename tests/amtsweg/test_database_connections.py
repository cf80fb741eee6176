"""Pooled connections the database dropped while idle are replaced before a request uses them."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import create_engine, text
from sqlalchemy.engine.interfaces import DBAPIConnection

from amtsweg import app as app_module
from amtsweg.extensions import db
from tests.conftest import POSTGRES_URL

pytestmark = pytest.mark.skipif(not POSTGRES_URL, reason="dropping a server's connection "
                                                         "needs PostgreSQL")


def _backend_pid() -> int:
    pid: int = db.session.execute(text("SELECT pg_backend_pid()")).scalar_one()
    db.session.commit()  # the connection goes back to the pool
    return pid


def _drop(pid: int) -> None:
    other = create_engine(db.engine.url)
    with other.connect() as connection:
        connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    other.dispose()


def test_a_connection_dropped_while_idle_is_replaced_unnoticed(
        app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    with app.app_context():
        pid = _backend_pid()
        _drop(pid)
        monkeypatch.setattr(app_module, "IDLE_PING_SECONDS", 0.0)  # it sat idle long enough
        assert _backend_pid() != pid  # the ping found it dead; a fresh one answered


def test_only_a_connection_that_sat_idle_is_pinged(app: Flask,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    with app.app_context():
        dialect = db.engine.dialect
        pings: list[object] = []
        real_ping = dialect.do_ping

        def counting_ping(dbapi_connection: DBAPIConnection) -> bool:
            pings.append(dbapi_connection)
            return real_ping(dbapi_connection)

        monkeypatch.setattr(dialect, "do_ping", counting_ping)
        first = _backend_pid()
        assert _backend_pid() == first
        assert pings == []  # back in use at once: no round trip for a ping
        monkeypatch.setattr(app_module, "IDLE_PING_SECONDS", 0.0)
        assert _backend_pid() == first
        assert len(pings) == 1
