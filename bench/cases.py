"""Case lists, search and a case view over 100,000 cases, beside a bare endpoint (same SQL).

Run: .venv/bin/python -m bench.cases [--cases 100000] [--events 1000000] [--requests 200] [--keep]
Needs PostgreSQL (AMTSWEG_BENCH_POSTGRES, default postgresql://postgres@127.0.0.1:5432). It
creates the database ``amtsweg_bench_cases``, fills it with COPY (cases, two parties each, a
million timeline events, a document in the E-Akte for every fifth event, open follow-ups) and
drops it again unless ``--keep``.

For "Meine Fälle", the pool, a name search and the view of one case with 500 events it prints the
server time p50/p95 of the real app (Flask test client: the whole WSGI stack, session, forms,
Jinja, the access-log write of the case view), of a bare Flask endpoint that runs exactly the
statements the app ran (the access-log INSERT and its commit too) and renders every row they
returned in a bare template, and of that SQL alone on a raw connection; and the ratios.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

# bench/ holds a ``queue.py``; run as a script, this folder would come first on sys.path and
# shadow the standard library's ``queue`` for psycopg.
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from flask import Flask, render_template_string  # noqa: E402
from sqlalchemy import create_engine, event  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402

DATABASE = "amtsweg_bench_cases"
SERVER = os.environ.get("AMTSWEG_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
TARGET_CASE_VIEW_P95_MS = 100.0
TARGET_RATIO = 2.0
BIG_CASE_EVENTS = 500

LAST_NAMES = ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
              "Schulz", "Hoffmann", "Özdemir", "Nguyen", "Kowalski", "Weiß", "Krüger", "Wolf",
              "Neumann", "Schwarz", "Zimmermann", "Braun", "Hofmann", "Hartmann", "Lange",
              "Schmitt", "Werner", "Krause", "Meier", "Lehmann", "Schmid", "Schulze"]
FIRST_NAMES = ["Sabine", "Anna", "Thomas", "Mehmet", "Julia", "Olena", "Stefan", "Laura", "Lea",
               "Noah", "Mia", "Ben", "Emma", "Paul", "Lina", "Finn"]
EVENT_KINDS = ["eingang_attached", "document_filed", "note_added", "deadline_set",
               "status_changed", "assigned", "decision_issued", "payment_booked"]

BARE_TEMPLATE = """<!doctype html><title>Bare</title>
{%- for rows in results %}<table>{% for row in rows %}<tr>{% for value in row %}<td>{{ value }}</td>
{%- endfor %}</tr>{% endfor %}</table>{% endfor %}"""


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

    instance = Path(tempfile.mkdtemp(prefix="amtsweg-bench-cases-"))
    settings = load_settings({
        "AMTSWEG_ENV": "test", "AMTSWEG_INSTANCE_PATH": str(instance),
        "AMTSWEG_SECRET_KEY": "b" * 40, "AMTSWEG_DATABASE_URL": database_url(),
    })
    app = create_app(settings)
    if "backoffice" not in app.blueprints:
        # Until the composition root mounts the case pages itself.
        from backoffice.views import bp

        app.register_blueprint(bp)
    return app


def build_schema(app: Flask, colleagues: int = 40) -> tuple[int, list[int]]:
    """Tables, Fachbereiche and caseworkers; return the benchmark caseworker's id and all ids."""
    import amtsweg.app  # noqa: F401  (every model)
    from amtsweg.extensions import db
    from amtsweg.fachbereiche import fachbereich_by_code, seed_fachbereiche
    from amtsweg.staff.models import Role, Staff, StaffRole

    with app.app_context():
        db.create_all()
        seed_fachbereiche()
        uvg = fachbereich_by_code("uvg")
        ids = []
        for number in range(colleagues):
            staff = Staff(username=f"sb{number}", full_name=f"Sachbearbeitung {number}",
                          password_hash="x", active=True, failed_logins=0, session_epoch=0)
            staff.role_rows = [StaffRole(role=Role.CASEWORKER)]
            staff.fachbereiche = [uvg] if uvg is not None else []
            db.session.add(staff)
            db.session.flush()
            ids.append(staff.id)
        db.session.commit()
        return ids[0], ids


def generate(cases: int, events: int, staff_ids: list[int], seed: int = 5) -> int:
    """COPY the cases and everything in them; return the id of the case with 500 events."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    with psycopg.connect(raw_url()) as connection:
        fachbereiche = [row[0] for row in connection.execute(
            "SELECT id FROM fachbereiche ORDER BY id")]
        uvg = connection.execute("SELECT id FROM fachbereiche WHERE code = 'uvg'").fetchone()
        assert uvg is not None
        with connection.cursor() as cursor, cursor.copy(
                "COPY faelle (aktenzeichen, fachbereich_id, title, status, responsible_staff_id, "
                "opened_at, version) FROM STDIN") as copy:
            for number in range(1, cases + 1):
                # Half of the cases are UVG (the Fachbereich measured), the rest spread out.
                area = uvg[0] if number % 2 else rng.choice(fachbereiche)
                holder = (rng.choice(staff_ids) if area == uvg[0] and rng.random() < 0.7
                          else None)
                copy.write_row((f"UV-{2015 + number % 11}-{number:07d}", area, "Antrag",
                                "open", holder, now - timedelta(days=rng.randint(1, 3650)), 1))
        with connection.cursor() as cursor, cursor.copy(
                "COPY parties (fall_id, role, first_name, last_name, first_name_key, "
                "last_name_key, birth_date, address) FROM STDIN") as copy:
            from backoffice.models import name_key

            for fall_id in range(1, cases + 1):
                last = rng.choice(LAST_NAMES)
                for role, born in (("child", date(2010, 1, 1)), ("applicant", date(1975, 1, 1))):
                    first = rng.choice(FIRST_NAMES)
                    copy.write_row((fall_id, role, first, last, name_key(first), name_key(last),
                                    born + timedelta(days=rng.randint(0, 4000)),
                                    "Hauptstraße 1, 97437 Musterstadt"))
        big_case = 1  # odd: a UVG case
        connection.execute("UPDATE faelle SET responsible_staff_id = %s WHERE id = %s",
                           (staff_ids[0], big_case))
        document_every = 5
        with connection.cursor() as cursor, cursor.copy(
                "COPY documents (filename, media_type, size, sha256, storage_key, owner_kind, "
                "owner_id, created_at) FROM STDIN") as copy:
            for number in range(1, events // document_every + 1):
                copy.write_row((f"dokument-{number}.pdf", "application/pdf", 12345, "0" * 64,
                                f"bench/{number:012d}", "system", None, now))
        with connection.cursor() as cursor, cursor.copy(
                "COPY fall_events (fall_id, at, kind, summary, actor_name, document_id) "
                "FROM STDIN") as copy:
            for number in range(events):
                fall_id = big_case if number < BIG_CASE_EVENTS else rng.randint(2, cases)
                document = (number // document_every + 1
                            if number % document_every == 0 else None)
                copy.write_row((fall_id, now - timedelta(minutes=rng.randint(1, 5_000_000)),
                                rng.choice(EVENT_KINDS), "Eintrag im Verlauf", "sb0", document))
        connection.execute(
            "INSERT INTO case_documents (fall_id, document_id, series_id, version, origin, kind, "
            "title, filed_at, filed_by_name) SELECT fall_id, document_id, NULL, 1, 'clearing', "
            "'', 'Dokument', at, actor_name FROM fall_events WHERE document_id IS NOT NULL")
        connection.execute("UPDATE case_documents SET series_id = id")
        with connection.cursor() as cursor, cursor.copy(
                "COPY wiedervorlagen (fall_id, due_date, reason, owner_id, created_at) "
                "FROM STDIN") as copy:
            today = now.date()
            for fall_id in range(1, cases + 1, 7):
                copy.write_row((fall_id, today + timedelta(days=rng.randint(-10, 60)),
                                "Nachweis anfordern", rng.choice(staff_ids), now))
        connection.commit()
        connection.execute("ANALYZE")
        connection.commit()
    return big_case


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


def timed_side_by_side(actions: list[Callable[[], object]], requests: int,
                       warmup: int = 10) -> list[tuple[float, float]]:
    """p50 and p95 of each action, run in turns (app, bare, SQL, app, ...).

    Taking turns request by request, not one block after the other, lets all of them meet the
    same moments of a shared machine: a busy second slows each alike, and the ratio holds.
    """
    for _ in range(warmup):
        for action in actions:
            action()
    samples: list[list[float]] = [[] for _ in actions]
    for _ in range(requests):
        for action, times in zip(actions, samples, strict=True):
            started = time.perf_counter()
            action()
            times.append(time.perf_counter() - started)
    return [percentiles(times) for times in samples]


def bare_app(statements: list[tuple[str, Any]]) -> Flask:
    """One endpoint: the same statements on the same kind of pooled connection, bare Jinja."""
    engine = create_engine(database_url(), pool_size=2)
    bare = Flask("bare")

    @bare.get("/")
    def page() -> str:
        results = []
        with engine.connect() as connection:
            for sql, params in statements:
                result = connection.exec_driver_sql(sql, params)
                results.append(result.all() if result.returns_rows else [])
            connection.commit()
        return render_template_string(BARE_TEMPLATE, results=results)

    return bare


def raw_sql_runner(statements: list[tuple[str, Any]]) -> Callable[[], None]:
    connection = psycopg.connect(raw_url())

    def run() -> None:
        with connection.cursor() as cursor:
            for sql, params in statements:
                cursor.execute(sql, params or None)
                if cursor.description is not None:
                    cursor.fetchall()
        connection.commit()

    return run


def measure_page(app: Flask, staff_id: int, path: str, requests: int) -> dict[str, float]:
    from amtsweg.extensions import db

    client = app.test_client()
    now = datetime.now(UTC).timestamp()
    with client.session_transaction() as session:
        session["staff"] = {"id": staff_id, "epoch": 0, "seen": now, "auth_at": now}

    def real() -> None:
        response = client.get(path)
        assert response.status_code == 200, (response.status_code, path)

    real()
    with app.app_context():
        engine = db.engine
    with captured_sql(engine) as statements:
        real()
    bare = bare_app(statements).test_client()
    run_raw = raw_sql_runner(statements)
    (p50, p95), (bare_p50, bare_p95), (raw_p50, raw_p95) = timed_side_by_side(
        [real, lambda: bare.get("/"), run_raw], requests)
    return {"p50": p50, "p95": p95, "bare_p50": bare_p50, "bare_p95": bare_p95,
            "raw_p50": raw_p50, "raw_p95": raw_p95, "statements": len(statements)}


def report(name: str, figures: dict[str, float], target_ms: float | None) -> None:
    ratio = figures["p95"] / figures["bare_p95"]
    within = ratio <= TARGET_RATIO and (target_ms is None or figures["p95"] <= target_ms)
    print(f"| {name:<16} | {figures['p50']:7.1f} | {figures['p95']:7.1f} | "
          f"{figures['bare_p50']:7.1f} | {figures['bare_p95']:7.1f} | {figures['raw_p50']:6.1f} | "
          f"{figures['raw_p95']:6.1f} | {ratio:5.2f} | {int(figures['statements']):>5} | "
          f"{'OK' if within else 'MISSED'} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()

    admin_execute(f"DROP DATABASE IF EXISTS {DATABASE}")
    admin_execute(f"CREATE DATABASE {DATABASE}")
    try:
        app = make_app()
        staff_id, staff_ids = build_schema(app)
        started = time.perf_counter()
        big_case = generate(args.cases, args.events, staff_ids)
        print(f"generated {args.cases:,} cases, {args.events:,} events, "
              f"{args.events // 5:,} documents in {time.perf_counter() - started:.0f} s")
        # The empty search form runs no case query: its time is the app shell alone (session
        # and identity, CSRF, Babel, the layout with its navigation), the floor of every page.
        pages = {"shell (no query)": ("/intern/faelle/suche", None),
                 "Meine Fälle": ("/intern/faelle/", None),
                 "pool": ("/intern/faelle/pool", None),
                 "search (name)": ("/intern/faelle/suche?q=M%C3%BCller", None),
                 "case, 500 events": (f"/intern/faelle/{big_case}", TARGET_CASE_VIEW_P95_MS)}
        print(f"\n{args.requests} requests each after 10 warm-up; times in ms; ratio = "
              "app p95 / bare p95; stmts = statements per request\n")
        print("| page             | app p50 | app p95 | bare p50| bare p95| sql p50| sql p95| "
              "ratio | stmts | target |")
        print("|------------------|--------:|--------:|--------:|--------:|-------:|-------:|"
              "------:|------:|--------|")
        for name, (path, target) in pages.items():
            report(name, measure_page(app, staff_id, path, args.requests), target)
    finally:
        if not args.keep:
            from amtsweg.extensions import db

            if "app" in locals():
                with app.app_context():
                    db.engine.dispose()
            admin_execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")


if __name__ == "__main__":
    main()
