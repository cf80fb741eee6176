"""The clearing queue with a million items, beside a bare endpoint running the same SQL.

Run: .venv/bin/python -m bench.queue [--rows 1000000] [--requests 200] [--keep]
Needs PostgreSQL (AMTSWEG_BENCH_POSTGRES, default postgresql://postgres@127.0.0.1:5432). It
creates the database ``amtsweg_bench_queue``, fills it with COPY (most items long routed, a few
thousand open, as in an office that has run for years), and drops it again unless ``--keep``.

For the first queue page and a filtered page (each with its counts on top) it prints the server
time p50/p95 of the real app (Flask test client: the whole WSGI stack, session, forms, Jinja,
no network), of a bare Flask endpoint that runs exactly the SQL the app ran and renders the same
rows in a bare template, and of that SQL alone on a raw connection; and the ratios.
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file is named like the standard library's ``queue``; run as a script, its folder would
# come first on sys.path and shadow it for every library that imports ``queue``.
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from datetime import UTC, datetime, timedelta  # noqa: E402
from typing import Any  # noqa: E402

import psycopg  # noqa: E402
from flask import Flask, render_template_string  # noqa: E402
from sqlalchemy import create_engine, event  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402

DATABASE = "amtsweg_bench_queue"
SERVER = os.environ.get("AMTSWEG_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
TARGET_P95_MS = 50.0
TARGET_RATIO = 2.0

KINDS = [("neuantrag", 30), ("nachreichung", 35), ("veraenderungsmitteilung", 15),
         ("widerspruch", 3), ("nachricht", 12), ("antwort", 3), ("papiereingang", 2)]
SERVICES = ["uvg", "wohngeld", "wjh", "beistandschaft", "sozialhilfe"]
LAST_NAMES = ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
              "Schulz", "Hoffmann", "Özdemir", "Nguyen", "Kowalski", "Weiß"]
FIRST_NAMES = ["Sabine", "Anna", "Thomas", "Mehmet", "Julia", "Olena", "Stefan", "Laura"]

BARE_TEMPLATE = """<!doctype html><title>Queue</title><dl>
{%- for status, count in counts %}<dt>{{ status }}</dt><dd>{{ count }}</dd>{% endfor %}</dl>
<table>{% for row in rows %}<tr>{% for value in row %}<td>{{ value }}</td>{% endfor %}</tr>
{% endfor %}</table>"""


# --- database ------------------------------------------------------------------------------------


def admin_execute(sql: str) -> None:
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as connection:
        connection.execute(sql)


def database_url() -> str:
    return f"{SERVER.replace('postgresql://', 'postgresql+psycopg://', 1)}/{DATABASE}"


def raw_url() -> str:
    return f"{SERVER}/{DATABASE}"


def make_app() -> Flask:
    from amtsweg.app import create_app
    from amtsweg.config import load_settings

    instance = Path(tempfile.mkdtemp(prefix="amtsweg-bench-queue-"))
    settings = load_settings({
        "AMTSWEG_ENV": "test", "AMTSWEG_INSTANCE_PATH": str(instance),
        "AMTSWEG_SECRET_KEY": "b" * 40, "AMTSWEG_DATABASE_URL": database_url(),
    })
    app = create_app(settings)
    if "clearing" not in app.blueprints:
        # Until the composition root mounts clearing itself.
        from clearing.views import bp as clearing_bp

        app.register_blueprint(clearing_bp)
    return app


def build_schema(app: Flask) -> int:
    """Create the tables, the Fachbereiche and one clerk; return the clerk's id."""
    import backoffice.models  # noqa: F401
    import clearing.models  # noqa: F401
    from amtsweg.extensions import db
    from amtsweg.fachbereiche import seed_fachbereiche
    from amtsweg.passwords import hash_password
    from amtsweg.staff.models import Role, Staff, StaffRole

    with app.app_context():
        db.create_all()
        seed_fachbereiche()
        clerk = Staff(username="clerk", full_name="Clara Clearing", password_hash=hash_password(
            "bench-password-long-1"), active=True, failed_logins=0, session_epoch=0)
        clerk.role_rows = [StaffRole(role=Role.CLEARING)]
        db.session.add(clerk)
        db.session.commit()
        return clerk.id


def weighted(rng: random.Random, choices: list[tuple[str, int]]) -> Callable[[], str]:
    values = [value for value, _ in choices]
    weights = [weight for _, weight in choices]
    return lambda: rng.choices(values, weights)[0]


def generate(rows: int, open_items: int, clerk_id: int, seed: int = 4) -> dict[str, int]:
    """COPY ``rows`` items (``open_items`` of them open) and the cases the routed ones went to."""
    rng = random.Random(seed)
    kind = weighted(rng, KINDS)
    now = datetime.now(UTC)
    cases = max(1, rows // 10)
    with psycopg.connect(raw_url()) as connection:
        fachbereiche = [row[0] for row in connection.execute(
            "SELECT id FROM fachbereiche ORDER BY id")]
        with connection.cursor() as cursor, cursor.copy(
                "COPY faelle (aktenzeichen, fachbereich_id, title, status, opened_at, version) "
                "FROM STDIN") as copy:
            for number in range(1, cases + 1):
                copy.write_row((f"UV-{2020 + number % 6}-{number:07d}", rng.choice(fachbereiche),
                                "Antrag", "open", now - timedelta(days=rng.randint(30, 2000)), 1))
        columns = ("kind, status, service_code, subject, reference, received_at, sender_name, "
                   "message, payload, fachbereich_id, fall_id, routed_at, rejection_reason, "
                   "rejection_text, rejected_at, claimed_by_id, claimed_at, last_activity_at, "
                   "version")
        counts = {"routed": 0, "rejected": 0, "new": 0, "in_triage": 0,
                  "waiting_for_citizen": 0}
        with connection.cursor() as cursor, cursor.copy(
                f"COPY eingaenge ({columns}) FROM STDIN") as copy:
            for number in range(rows):
                status = _status(rng, number, rows, open_items)
                counts[status] += 1
                copy.write_row(_item(rng, kind(), status, now, number, cases, fachbereiche,
                                     clerk_id))
        connection.commit()
        connection.execute("ANALYZE")
        connection.commit()
    return counts


def _status(rng: random.Random, number: int, rows: int, open_items: int) -> str:
    if number >= rows - open_items:  # the newest items are the open ones
        return rng.choices(["new", "in_triage", "waiting_for_citizen"], [80, 5, 15])[0]
    return "rejected" if rng.random() < 0.01 else "routed"


def _item(rng: random.Random, kind: str, status: str, now: datetime, number: int, cases: int,
          fachbereiche: list[int], clerk_id: int) -> tuple[Any, ...]:
    is_open = status in {"new", "in_triage", "waiting_for_citizen"}
    age = timedelta(minutes=rng.randint(5, 60 * 24 * 30)) if is_open else timedelta(
        days=rng.randint(31, 5 * 365), minutes=rng.randint(0, 1440))
    received = now - age
    name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
    routed = status == "routed"
    rejected = status == "rejected"
    claimed = status == "in_triage"
    return (
        kind, status, rng.choice(SERVICES), f"{kind.title()} {number}", None, received, name,
        "", json.dumps({"answers": {}, "parties": []}),
        rng.choice(fachbereiche) if routed else None,
        rng.randint(1, cases) if routed else None,
        received + timedelta(days=1) if routed else None,
        "duplicate" if rejected else None, "",
        received + timedelta(days=1) if rejected else None,
        clerk_id if claimed else None,
        now if claimed else None, now if claimed else None, 1,
    )


# --- timing --------------------------------------------------------------------------------------


@contextmanager
def captured_sql(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    statements: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
        statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", capture)


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p95 * 1000


def timed(action: Callable[[], object], requests: int, warmup: int = 10) -> tuple[float, float]:
    for _ in range(warmup):
        action()
    samples = []
    for _ in range(requests):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return percentiles(samples)


def bare_app(statements: list[tuple[str, Any]], main_index: int, count_index: int | None) -> Flask:
    """One endpoint: the same statements on the same kind of pooled connection, bare Jinja."""
    engine = create_engine(database_url(), pool_size=2)
    bare = Flask("bare")

    @bare.get("/")
    def page() -> str:
        with engine.connect() as connection:
            results = [connection.exec_driver_sql(sql, params).all()
                       for sql, params in statements]
            connection.rollback()
        counts = results[count_index] if count_index is not None else []
        return render_template_string(BARE_TEMPLATE, rows=results[main_index], counts=counts)

    return bare


def raw_sql_runner(statements: list[tuple[str, Any]]) -> Callable[[], None]:
    connection = psycopg.connect(raw_url())

    def run() -> None:
        with connection.cursor() as cursor:
            for sql, params in statements:
                cursor.execute(sql, params or None)
                cursor.fetchall()
        connection.rollback()

    return run


def _index_of(statements: list[tuple[str, Any]], needle: str) -> int | None:
    for index, (sql, _params) in enumerate(statements):
        if needle in sql:
            return index
    return None


def measure_page(app: Flask, clerk_id: int, path: str, requests: int) -> dict[str, float]:
    from amtsweg.extensions import db

    client = app.test_client()
    now = datetime.now(UTC).timestamp()
    with client.session_transaction() as session:
        session["staff"] = {"id": clerk_id, "epoch": 0, "seen": now, "auth_at": now}

    def real() -> None:
        response = client.get(path)
        assert response.status_code == 200, (response.status_code, path)

    real()
    with app.app_context():
        engine = db.engine
    with captured_sql(engine) as statements:
        real()
    select_statements = [(sql, params) for sql, params in statements
                         if sql.lstrip().upper().startswith(("SELECT", "WITH"))]
    main = _index_of(select_statements, "ORDER BY eingaenge.received_at")
    counts = _index_of(select_statements, "count(")
    assert main is not None, "the queue query was not found among the statements"
    bare = bare_app(select_statements, main, counts).test_client()
    run_raw = raw_sql_runner(select_statements)
    p50, p95 = timed(real, requests)
    bare_p50, bare_p95 = timed(lambda: bare.get("/"), requests)
    raw_p50, raw_p95 = timed(run_raw, requests)
    return {"p50": p50, "p95": p95, "bare_p50": bare_p50, "bare_p95": bare_p95,
            "raw_p50": raw_p50, "raw_p95": raw_p95, "statements": len(statements),
            "selects": len(select_statements)}


def report(name: str, figures: dict[str, float]) -> None:
    ratio = figures["p95"] / figures["bare_p95"]
    verdict = "OK" if figures["p95"] <= TARGET_P95_MS and ratio <= TARGET_RATIO else "MISSED"
    print(f"| {name:<16} | {figures['p50']:7.1f} | {figures['p95']:7.1f} | "
          f"{figures['bare_p50']:7.1f} | {figures['bare_p95']:7.1f} | {figures['raw_p50']:6.1f} | "
          f"{figures['raw_p95']:6.1f} | {ratio:5.2f} | {int(figures['statements']):>4} | "
          f"{verdict} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--open", type=int, default=3_000, dest="open_items")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", action="store_true", help="use a database kept before")
    args = parser.parse_args()

    if not args.reuse:
        admin_execute(f"DROP DATABASE IF EXISTS {DATABASE}")
        admin_execute(f"CREATE DATABASE {DATABASE}")
    try:
        app = make_app()
        if args.reuse:
            clerk_id = 1
        else:
            clerk_id = build_schema(app)
            started = time.perf_counter()
            counts = generate(args.rows, args.open_items, clerk_id)
            print(f"generated {args.rows:,} items in {time.perf_counter() - started:.0f} s: "
                  + ", ".join(f"{status} {count:,}" for status, count in counts.items()))
        pages = {"first page": "/intern/clearing/",
                 "kind filter": "/intern/clearing/?kind=widerspruch",
                 "service+status": "/intern/clearing/?service=wohngeld&status=new"}
        print(f"\n{args.requests} requests each after 10 warm-up; times in ms; ratio = "
              "app p95 / bare p95; stmts = statements per request\n")
        print("| page             | app p50 | app p95 | bare p50| bare p95| sql p50| sql p95| "
              "ratio | stmts | target |")
        print("|------------------|--------:|--------:|--------:|--------:|-------:|-------:|"
              "------:|-----:|--------|")
        for name, path in pages.items():
            report(name, measure_page(app, clerk_id, path, args.requests))
    finally:
        if not args.keep:
            from amtsweg.extensions import db

            if "app" in locals():
                with app.app_context():
                    db.engine.dispose()
            admin_execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")


if __name__ == "__main__":
    main()
