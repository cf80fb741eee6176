"""The load scenario of bench/load.py, short: every kind of request runs, and none fails.

It runs the benchmark's own ``main`` against real servers on loopback (gunicorn with two gthread
workers, moto's S3 server, a locust child process) on a database of its own: a fresh one on the
test PostgreSQL server when ``AMTSWEG_TEST_DATABASE_URL`` is set, else a SQLite file in WAL mode
shared by both workers. Passwords are hashed with the test suite's cheap argon2 parameters, as in
every other test; the full run in bench/ keeps the production ones.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

from bench.load import QUEUE, QUEUE_NEXT, SCENARIO_KINDS, SIGN_IN, SUBMIT, main
from tests.conftest import POSTGRES_URL


@contextmanager
def own_database(tmp_path: Path) -> Iterator[str]:
    """An empty database for this test alone, dropped afterwards."""
    if not POSTGRES_URL:
        yield f"sqlite:///{tmp_path / 'load.sqlite3'}"
        return
    parts = urlsplit(POSTGRES_URL)
    name = f"amtsweg_load_test_{secrets.token_hex(4)}"
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_every_request_kind_runs_under_load_without_an_error(tmp_path: Path) -> None:
    results_file = tmp_path / "load.json"
    with own_database(tmp_path) as database_url:
        status = main(["--seconds", "5", "--users", "6", "--baseline-seconds", "2",
                       "--workers", "2", "--threads", "4", "--citizens", "30",
                       "--submissions", "0", "--queue-items", "55", "--cases", "2",
                       "--pdf-kb", "100", "--app-env", "test",
                       "--database-url", database_url, "--json", str(results_file)])
    results = json.loads(results_file.read_text())

    assert results["errors"] == 0, results["scenario"]["problems"]
    assert status == 0
    kinds = results["scenario"]["kinds"]
    answered = {name for name, kind in kinds.items() if kind["count"] > kind["errors"]}
    assert set(SCENARIO_KINDS) - answered == set()
    assert results["baseline"]["total"]["count"] > 0
    # Every user finished its round at the end: each submit answered is one submission in the
    # database, and the workers' own timing saw exactly the requests the clients made.
    submissions = results["submissions"]
    assert submissions["answered"] == submissions["in_database"] == kinds[SUBMIT]["count"] > 0
    # That timing saw the SQL of every request, and the files going to the S3 server: the
    # upload, and the receipt PDF stored on its first download (the submit stores no file).
    server = results["server"]
    for endpoint in ("POST /antrag/unterhaltsvorschuss/<public_id>/unterlagen",
                     "GET /konto/antraege/<public_id>/eingangsbestaetigung.pdf"):
        assert server[endpoint]["s3_ms"] > 0
        assert server[endpoint]["statements"] > 0
    assert server["POST /antrag/unterhaltsvorschuss/<public_id>/absenden"]["statements"] > 0
    pages = kinds[QUEUE]["count"] + kinds[QUEUE_NEXT]["count"]
    assert server["GET /intern/clearing/"]["count"] == pages
    assert server["POST /konto/anmelden"]["count"] == kinds[SIGN_IN]["count"]
    assert server["POST /konto/anmelden"]["hashing_ms"] > 0
