"""The statistics page for one year over 100,000 cases and 1,000,000 payments, beside its SQL.

Run: .venv/bin/python -m bench.stats [--cases 100000] [--payments 1000000] [--requests 10]
     [--keep] [--reuse]
Needs PostgreSQL (AMTSWEG_BENCH_POSTGRES, default postgresql://postgres@127.0.0.1:5432). It
creates the database ``amtsweg_bench_stats``, fills it with COPY (cases with a child and the
other parent, UVG children and their entitlements for every month of the year, decisions,
intake items, follow-ups, payment orders with their IST bookings, recovery claims with receipts,
unmatched bookings) and drops it again unless ``--keep``.

It prints the server time p50/p95 of the whole dashboard for the year (Flask test client: the
whole WSGI stack, session, form, every figure, charts, Jinja) as an office-wide user, and of the
aggregate statements the page ran, replayed on a raw psycopg connection; and the ratio.
Target: dashboard p95 <= 1 s and <= 2x the raw aggregates.
"""

from __future__ import annotations

import argparse
import json
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
from flask import Flask  # noqa: E402
from sqlalchemy import event  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402

DATABASE = "amtsweg_bench_stats"
SERVER = os.environ.get("AMTSWEG_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
TARGET_P95_MS = 1000.0
TARGET_RATIO = 2.0
YEAR = 2025
HST_OUT, HST_IN = "10 07/681 01-5", "10 07/119 01-4"
END_REASONS = ["age_18", "age_12_without_1a", "parent_married", "parents_together",
               "child_moved_out", "moved_abroad", "maintenance_paid", "no_cooperation", "other"]
DECISION_KINDS = ["bewilligung", "teilbewilligung", "ablehnung", "aufhebung", "aenderung"]
EINGANG_KINDS = ["neuantrag", "nachreichung", "veraenderungsmitteilung", "widerspruch",
                 "nachricht", "papiereingang"]
SERVICES = ["uvg", "wohngeld", "beistandschaft", "wjh", None]


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

    instance = Path(tempfile.mkdtemp(prefix="amtsweg-bench-stats-"))
    return create_app(load_settings({
        "AMTSWEG_ENV": "test", "AMTSWEG_INSTANCE_PATH": str(instance),
        "AMTSWEG_SECRET_KEY": "b" * 40, "AMTSWEG_DATABASE_URL": database_url(),
    }))


def build_schema(app: Flask, colleagues: int = 40) -> tuple[int, list[int], list[int]]:
    """Tables, Fachbereiche, caseworkers and two finance staff; return (admin, workers, finance)."""
    import amtsweg.app  # noqa: F401  (every model)
    from amtsweg.extensions import db
    from amtsweg.fachbereiche import fachbereich_by_code, seed_fachbereiche
    from amtsweg.staff.models import Role, Staff, StaffRole

    with app.app_context():
        db.create_all()
        seed_fachbereiche()
        uvg = fachbereich_by_code("uvg")

        def add(username: str, role: Role) -> int:
            staff = Staff(username=username, full_name=f"Bench {username}", password_hash="x",
                          active=True, failed_logins=0, session_epoch=0)
            staff.role_rows = [StaffRole(role=role)]
            staff.fachbereiche = [uvg] if uvg is not None else []
            db.session.add(staff)
            db.session.flush()
            return staff.id

        workers = [add(f"sb{number}", Role.CASEWORKER) for number in range(colleagues)]
        finance = [add("fest", Role.FESTSTELLER), add("anord", Role.ANORDNER)]
        admin = add("admin", Role.ADMIN)
        db.session.commit()
        return admin, workers, finance


def kept_admin() -> int:
    """The benchmark's admin in a database kept by an earlier run."""
    with psycopg.connect(raw_url()) as connection:
        row = connection.execute("SELECT id FROM staff WHERE username = 'admin'").fetchone()
    if row is None:
        raise SystemExit(f"no kept database {DATABASE}: run once with --keep first")
    return int(row[0])


def _months(first: date, count: int) -> Iterator[date]:
    month = first
    for _ in range(count):
        yield month
        month = date(month.year + (month.month == 12), month.month % 12 + 1, 1)


def generate(cases: int, payments: int, workers: list[int], finance: list[int],
             seed: int = 11) -> None:
    """COPY everything the figures read."""
    rng = random.Random(seed)
    start = datetime(YEAR - 1, 1, 1, tzinfo=UTC)
    with psycopg.connect(raw_url()) as connection:
        areas = [row[0] for row in connection.execute("SELECT id FROM fachbereiche ORDER BY id")]
        uvg_row = connection.execute("SELECT id FROM fachbereiche WHERE code = 'uvg'").fetchone()
        assert uvg_row is not None
        uvg = uvg_row[0]
        uvg_cases: list[int] = []
        with connection.cursor() as cursor, cursor.copy(
                "COPY faelle (id, aktenzeichen, fachbereich_id, title, status, "
                "responsible_staff_id, opened_at, closed_at, version) FROM STDIN") as copy:
            for fall_id in range(1, cases + 1):
                area = uvg if fall_id % 2 else rng.choice(areas)
                if area == uvg:
                    uvg_cases.append(fall_id)
                opened = start + timedelta(minutes=rng.randrange(3 * 365 * 1440))
                closed = opened + timedelta(days=rng.randrange(30, 900)) \
                    if rng.random() < 0.3 else None
                copy.write_row((fall_id, f"B-{fall_id:08d}", area, "Antrag",
                                "closed" if closed else "open",
                                rng.choice([None, *workers]), opened, closed, 1))
        with connection.cursor() as cursor, cursor.copy(
                "COPY parties (id, fall_id, role, first_name, last_name, first_name_key, "
                "last_name_key, birth_date, address) FROM STDIN") as copy:
            for fall_id in range(1, cases + 1):
                born = date(2008, 1, 1) + timedelta(days=rng.randrange(6500))
                copy.write_row((2 * fall_id - 1, fall_id, "child", "Lea", "Muster", "lea",
                                "muster", born, ""))
                if rng.random() < 0.8:
                    copy.write_row((2 * fall_id, fall_id, "other_parent", "Max", "Muster",
                                    "max", "muster", None, ""))
        with connection.cursor() as cursor, cursor.copy(
                "COPY decisions (id, fall_id, status, kind, subject, tenor, begruendung, "
                "rechtsbehelfsbelehrung, addressee_name, addressee_address, decision_date, "
                "created_at, created_by_name, issued_at, issued_by_name, delivery, "
                "bekanntgabe_on, objection_deadline, instruction_defective, version) "
                "FROM STDIN") as copy:
            for fall_id in range(1, cases + 1):
                issued = start + timedelta(minutes=rng.randrange(3 * 365 * 1440))
                copy.write_row((fall_id, fall_id, "issued", rng.choice(DECISION_KINDS), "", "",
                                "", "", "", "", issued.date(), issued, "sb", issued, "sb",
                                "postbox", issued.date(), issued.date() + timedelta(days=30),
                                False, 1))
        with connection.cursor() as cursor, cursor.copy(
                "COPY eingaenge (kind, status, service_code, subject, received_at, sender_name, "
                "message, payload, fachbereich_id, fall_id, routed_at, routed_by_id, "
                "rejection_text, version) FROM STDIN") as copy:
            for fall_id in range(1, cases + 1):
                received = start + timedelta(minutes=rng.randrange(3 * 365 * 1440))
                copy.write_row(("neuantrag", "routed", rng.choice(SERVICES), "Antrag", received,
                                "", "", "{}", uvg if fall_id % 2 else areas[0], fall_id,
                                received + timedelta(hours=rng.randrange(1, 120)),
                                rng.choice(workers), "", 1))
                copy.write_row((rng.choice(EINGANG_KINDS), "routed", rng.choice(SERVICES),
                                "Post", received + timedelta(days=rng.randrange(1, 200)), "", "",
                                "{}", uvg if fall_id % 2 else areas[0], fall_id,
                                received + timedelta(days=rng.randrange(1, 200), hours=5),
                                None, "", 1))
        with connection.cursor() as cursor, cursor.copy(
                "COPY wiedervorlagen (fall_id, due_date, reason, owner_id, created_at, done_at, "
                "done_by_name) FROM STDIN") as copy:
            for fall_id in range(1, cases + 1, 3):
                created = start + timedelta(minutes=rng.randrange(3 * 365 * 1440))
                done = created + timedelta(days=rng.randrange(1, 90)) \
                    if rng.random() < 0.6 else None
                copy.write_row((fall_id, (created + timedelta(days=rng.randrange(1, 60))).date(),
                                "Prüfen", rng.choice(workers), created, done,
                                "sb" if done else None))
        # UVG: one child per UVG case, entitlements for 24 months, one payment order a month.
        with connection.cursor() as cursor, cursor.copy(
                "COPY uvg_children (id, fall_id, party_id, birth_date, status, end_reason, "
                "ended_on, application_date, payee_name, maintenance_cents, "
                "orphan_benefit_cents, child_income_cents, left_school, trainee, facts_version, "
                "created_at, version) FROM STDIN") as copy:
            for fall_id in uvg_cases:
                ended = rng.random() < 0.2
                copy.write_row((fall_id, fall_id, 2 * fall_id - 1,
                                date(2008, 1, 1) + timedelta(days=rng.randrange(6500)),
                                "ended" if ended else "granted",
                                rng.choice(END_REASONS) if ended else None,
                                (start + timedelta(days=rng.randrange(730))).date()
                                if ended else None,
                                (start + timedelta(days=rng.randrange(1000))).date(), "P", 0, 0,
                                0, False, False, 1, start, 1))
        per_child = max(1, payments // max(len(uvg_cases), 1))
        first_month = date(YEAR - 1, 1, 1)
        with connection.cursor() as cursor, cursor.copy(
                "COPY uvg_entitlements (uvg_child_id, fall_id, month, paid_cents, decision_id, "
                "superseded, created_at) FROM STDIN") as copy:
            for fall_id in uvg_cases:
                for month in _months(first_month, 24):
                    copy.write_row((fall_id, fall_id, month, rng.choice([22700, 29900, 39400]),
                                    fall_id, False, start))
        order_id = 0
        booked_orders: list[tuple[int, str, int, date]] = []
        with connection.cursor() as cursor, cursor.copy(
                "COPY sollstellungen (id, kassenzeichen, direction, status, recurrence, "
                "amount_cents, due_date, haushaltsstelle, party_name, party_street, "
                "party_postcode, party_city, iban, purpose, fall_id, source, version, "
                "created_at, festgestellt_by_id, angeordnet_by_id, booked_cents) "
                "FROM STDIN") as copy:
            for fall_id in uvg_cases:
                for month in _months(first_month, per_child):
                    order_id += 1
                    status = "booked" if rng.random() < 0.9 else rng.choice(
                        ["draft", "festgestellt", "angeordnet", "transmitted", "cancelled"])
                    ordered = status not in ("draft", "cancelled")
                    amount = rng.choice([22700, 29900, 39400])
                    kz = f"B{order_id:012d}"
                    copy.write_row((order_id, kz, "auszahlung", status, "recurring", amount,
                                    month, HST_OUT, "Payee", "", "", "", "DE02120300000000202051",
                                    kz, fall_id, "uvg", 1, start,
                                    finance[0] if ordered else None,
                                    finance[1] if ordered and status != "festgestellt" else None,
                                    amount if status == "booked" else 0))
                    if status == "booked":
                        booked_orders.append((order_id, kz, amount, month))
            recovery_orders: list[tuple[int, int, str, int, date]] = []
            for fall_id in uvg_cases[::3]:
                order_id += 1
                amount = rng.randrange(10000, 200000)
                due = first_month + timedelta(days=rng.randrange(700))
                kz = f"B{order_id:012d}"
                copy.write_row((order_id, kz, "annahme", "transmitted", "one_off", amount, due,
                                HST_IN, "Payer", "", "", "", None, kz, fall_id,
                                "uvg-rueckgriff", 1, start, finance[0], finance[1], 0))
                recovery_orders.append((fall_id, order_id, kz, amount, due))
        import_row = connection.execute(
            "INSERT INTO ihv_imports (kind, status, file_name, sha256, record_count, "
            "control_sum_cents, imported_at) VALUES ('bookings', 'imported', 'bench.xml', "
            "%s, 0, 0, now()) RETURNING id", ("b" * 64,)).fetchone()
        assert import_row is not None
        booking_id = 0
        receipts: list[tuple[int, int, int, date]] = []
        with connection.cursor() as cursor, cursor.copy(
                "COPY ihv_bookings (id, import_id, reference, source, direction, kassenzeichen, "
                "amount_cents, booking_date, counterparty, purpose, status, sollstellung_id, "
                "excess_cents) FROM STDIN") as copy:
            for oid, kz, amount, day in booked_orders:
                booking_id += 1
                copy.write_row((booking_id, import_row[0], f"R{booking_id}", "bookings",
                                "auszahlung", kz, amount,
                                day + timedelta(days=rng.randrange(0, 5)), "", "", "matched",
                                oid, 0))
            for fall_id, oid, kz, amount, due in recovery_orders:
                booking_id += 1
                part, day = amount // 3, due + timedelta(days=20)
                copy.write_row((booking_id, import_row[0], f"R{booking_id}", "bookings",
                                "annahme", kz, part, day, "", "", "matched", oid, 0))
                receipts.append((fall_id, booking_id, part, day))
            for number in range(2000):
                booking_id += 1
                copy.write_row((booking_id, import_row[0], f"U{number}", "bookings", "annahme",
                                "??", rng.randrange(100, 50000),
                                first_month + timedelta(days=rng.randrange(700)), "", "",
                                "unclear", None, 0))
        with connection.cursor() as cursor, cursor.copy(
                "COPY uvg_recoveries (id, fall_id, party_id, employer, receives_sgb2, "
                "net_income_cents, income_note, created_at, updated_at, version) "
                "FROM STDIN") as copy:
            for fall_id, *_rest in recovery_orders:
                copy.write_row((fall_id, fall_id, 2 * fall_id - 1, "", rng.random() < 0.4,
                                rng.choice([None, 0, 150000]), "", start, start, 1))
        with connection.cursor() as cursor, cursor.copy(
                "COPY uvg_recovery_claims (id, recovery_id, fall_id, sollstellung_id, "
                "kassenzeichen, first_month, last_month, amount_cents, due_date, created_at, "
                "created_by_name) FROM STDIN") as copy:
            for fall_id, oid, kz, amount, due in recovery_orders:
                copy.write_row((fall_id, fall_id, fall_id, oid, kz, first_month, first_month,
                                amount, due, start, "sb"))
        with connection.cursor() as cursor, cursor.copy(
                "COPY uvg_recovery_receipts (claim_id, fall_id, booking_id, amount_cents, "
                "booking_date, created_at) FROM STDIN") as copy:
            for fall_id, bid, part, day in receipts:
                copy.write_row((fall_id, fall_id, bid, part, day, start))
        for table in ("faelle", "parties", "decisions", "uvg_children", "sollstellungen",
                      "ihv_bookings", "uvg_recoveries", "uvg_recovery_claims"):
            sql = (f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                   f"(SELECT max(id) FROM {table}))")  # (fixed table names)
            connection.execute(sql)
        connection.commit()
        connection.execute("ANALYZE")
        connection.commit()


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


def timed(action: Callable[[], object], requests: int, warmup: int = 2) -> tuple[float, float]:
    for _ in range(warmup):
        action()
    samples = []
    for _ in range(requests):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p95 * 1000


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


def measure(app: Flask, staff_id: int, path: str, requests: int) -> dict[str, float]:
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
    p50, p95 = timed(real, requests)
    raw_p50, raw_p95 = timed(raw_sql_runner(statements), requests)
    return {"p50": p50, "p95": p95, "raw_p50": raw_p50, "raw_p95": raw_p95,
            "statements": len(statements)}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--payments", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=10)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", action="store_true",
                        help="measure on the database an earlier run kept (--keep)")
    args = parser.parse_args()
    if not args.reuse:
        admin_execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        admin_execute(f"CREATE DATABASE {DATABASE}")
    try:
        app = make_app()
        started = time.perf_counter()
        if args.reuse:
            admin = kept_admin()
        else:
            admin, workers, finance = build_schema(app)
            generate(args.cases, args.payments, workers, finance)
        with psycopg.connect(raw_url()) as connection:
            counts = {table: connection.execute(
                f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608  (fixed names)
                      for table in ("faelle", "sollstellungen", "ihv_bookings",
                                    "uvg_entitlements", "eingaenge")}
        print(f"generated in {time.perf_counter() - started:.0f} s: "
              + ", ".join(f"{table} {row[0] if row else 0:,}" for table, row in counts.items()))
        pages = {
            "year, whole office": f"/intern/statistik/?period=year&year={YEAR}",
            "month, whole office": f"/intern/statistik/?period=month&year={YEAR}&month=6",
            "CSV, Soll/Ist year": f"/intern/statistik/tabelle/soll_ist.csv?period=year&year={YEAR}",
        }
        print(f"\n{args.requests} requests each after 2 warm-up; times in ms; ratio = app p95 / "
              "raw SQL p95 (the same statements on a raw psycopg connection)\n")
        print("| request             | app p50 | app p95 | sql p50 | sql p95 | ratio | stmts | "
              "target |")
        print("|---------------------|--------:|--------:|--------:|--------:|------:|------:|"
              "--------|")
        results = {}
        for name, path in pages.items():
            figures = measure(app, admin, path, args.requests)
            results[name] = figures
            ratio = figures["p95"] / figures["raw_p95"]
            within = ratio <= TARGET_RATIO and figures["p95"] <= TARGET_P95_MS
            print(f"| {name:<19} | {figures['p50']:7.1f} | {figures['p95']:7.1f} | "
                  f"{figures['raw_p50']:7.1f} | {figures['raw_p95']:7.1f} | {ratio:5.2f} | "
                  f"{int(figures['statements']):>5} | {'OK' if within else 'MISSED'} |")
        if os.environ.get("AMTSWEG_BENCH_JSON"):
            print(json.dumps(results))
    finally:
        if not args.keep:
            from amtsweg.extensions import db

            if "app" in locals():
                with app.app_context():
                    db.engine.dispose()
            admin_execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")


if __name__ == "__main__":
    main()
