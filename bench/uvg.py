"""The UVG calculator over many children, and the monthly payment run over many active cases.

Run: .venv/bin/python -m bench.uvg [--children 100000] [--cases 100000] [--keep]
     [--skip-calculator] [--skip-payment-run]

Calculator: ``backoffice.uvg.calculation.calculate`` for N children over 12 months each (random
birth dates, a third with maintenance, some with income after school), in children per second;
the baseline in the same run is a bare table lookup (amount per age band and month, no rules),
so the ratio says what the rules cost.

Payment run: needs PostgreSQL (AMTSWEG_BENCH_POSTGRES, default postgresql://postgres@127.0.0.1:5432).
It creates the database ``amtsweg_bench_uvg``, fills it with COPY (N decided cases, a granted
child each with its payee account, entitlements for the run month and, for every tenth child,
three earlier months never paid), runs ``run_payments`` for the month (one transaction, the
real code path: keyset chunks, ``ihv.services.create_orders_bulk``, the links, the timeline
events, decided -> paying) and prints its wall time and the process's peak memory. Beside it,
in the same run, the floor: a raw COPY of the very orders the run created (and of their links
and events) into empty copies of the tables, so the ratio says what the run costs above
writing its rows. The database is dropped again unless ``--keep``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import resource
import sys
import tempfile
import time
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

DATABASE = "amtsweg_bench_uvg"
SERVER = os.environ.get("AMTSWEG_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
RUN_MONTH = date(2026, 3, 1)
RUN_TODAY = date(2026, 2, 20)
IBAN = "DE89370400440532013000"


def peak_rss_mb() -> float:
    """The process's peak resident memory since the last ``reset_peak_rss`` (Linux: VmHWM)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def current_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def reset_peak_rss() -> None:
    # Linux: writing 5 to clear_refs resets VmHWM to the current RSS, so the peak measured
    # afterwards is the run's own, not the data generation's before it.
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


# --- calculator ----------------------------------------------------------------------------------


def bench_calculator(children: int, seed: int = 7) -> None:
    from backoffice.uvg.calculation import CalculationInput, Income, amounts_for, calculate

    rng = random.Random(seed)
    first, last = date(2025, 1, 1), date(2025, 12, 1)
    inputs = []
    for _ in range(children):
        birth = date(2008, 1, 1) + timedelta(days=rng.randint(0, 6200))
        school_leaver = birth < date(2010, 1, 1) and rng.random() < 0.3
        inputs.append(CalculationInput(
            birth_date=birth, first_month=first, last_month=last,
            income=Income(maintenance_cents=rng.choice([0, 0, 5_000, 15_000]),
                          child_income_cents=rng.choice([0, 45_000]) if school_leaver else 0),
            left_school=school_leaver))
    today = date(2026, 1, 15)
    months = [date(2025, month, 1) for month in range(1, 13)]

    started = time.perf_counter()
    total = 0
    for inp in inputs:
        total += calculate(inp, today=today).total_cents
    rules = time.perf_counter() - started

    started = time.perf_counter()
    bare = 0
    for inp in inputs:
        for month in months:
            age = month.year - inp.birth_date.year
            row = amounts_for(month)
            bare += row.uvg_cents[0 if age < 6 else 1 if age < 12 else 2]
    lookup = time.perf_counter() - started
    print(f"calculator: {children:,} children x 12 months: {rules:.2f} s, "
          f"{children / rules:,.0f} children/s ({children * 12 / rules:,.0f} months/s); "
          f"bare table lookup {lookup:.2f} s ({children / lookup:,.0f} children/s); "
          f"ratio {rules / lookup:.1f}; sum {total // 100:,} EUR")


# --- payment run ---------------------------------------------------------------------------------


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

    instance = Path(tempfile.mkdtemp(prefix="amtsweg-bench-uvg-"))
    settings = load_settings({
        "AMTSWEG_ENV": "test", "AMTSWEG_INSTANCE_PATH": str(instance),
        "AMTSWEG_SECRET_KEY": "b" * 40, "AMTSWEG_DATABASE_URL": database_url(),
    })
    return create_app(settings)


def _defaults(table_name: str, given: list[str]) -> tuple[list[str], list[Any]]:
    """The columns of ``table_name`` besides ``given`` that have a Python default, and their
    values (so COPY fills what the ORM would, whatever columns the model grows)."""
    from amtsweg.db import Base

    now = datetime.now(UTC)
    names, values = [], []
    for column in Base.metadata.tables[table_name].columns:
        if column.name in given or (column.primary_key and column.name == "id"):
            continue
        default = column.default
        if default is None:
            continue
        names.append(column.name)
        values.append(now if getattr(default, "is_callable", False) else default.arg)  # type: ignore[attr-defined]
    return names, values


def generate(cases: int, seed: int = 11) -> int:
    """COPY the cases, children, decisions and entitlements; return the entitlement count."""
    from backoffice.models import name_key

    rng = random.Random(seed)
    now = datetime.now(UTC)
    entitlements = 0
    with psycopg.connect(raw_url()) as connection:
        uvg = connection.execute("SELECT id FROM fachbereiche WHERE code = 'uvg'").fetchone()
        assert uvg is not None
        fall_cols = ["id", "aktenzeichen", "fachbereich_id", "title", "status", "opened_at",
                     "version"]
        with connection.cursor() as cursor, cursor.copy(
                f"COPY faelle ({', '.join(fall_cols)}) FROM STDIN") as copy:
            for number in range(1, cases + 1):
                copy.write_row((number, f"UV-2025-{number:07d}", uvg[0], "Antrag", "decided",
                                now - timedelta(days=200), 1))
        with connection.cursor() as cursor, cursor.copy(
                "COPY parties (id, fall_id, role, first_name, last_name, first_name_key, "
                "last_name_key, birth_date, address) FROM STDIN") as copy:
            for number in range(1, cases + 1):
                copy.write_row((number, number, "child", "Lea", "Müller", name_key("Lea"),
                                name_key("Müller"),
                                date(2012, 1, 1) + timedelta(days=rng.randint(0, 4000)), ""))
        extra, extra_values = _defaults("decisions", ["id", "fall_id", "status", "kind",
                                                      "created_by_name"])
        with connection.cursor() as cursor, cursor.copy(
                f"COPY decisions (id, fall_id, status, kind, created_by_name"
                f"{''.join(', ' + name for name in extra)}) FROM STDIN") as copy:
            for number in range(1, cases + 1):
                copy.write_row((number, number, "draft", "bewilligung", "Bench", *extra_values))
        given = ["id", "fall_id", "party_id", "birth_date", "status", "payee_name",
                 "payee_iban", "payee_bic"]
        extra, extra_values = _defaults("uvg_children", given)
        with connection.cursor() as cursor, cursor.copy(
                f"COPY uvg_children ({', '.join(given + extra)}) FROM STDIN") as copy:
            for number in range(1, cases + 1):
                copy.write_row((number, number, number, date(2018, 3, 14), "granted",
                                "Sabine Müller", IBAN, "COBADEFFXXX", *extra_values))
        given = ["uvg_child_id", "fall_id", "month", "paid_cents", "decision_id"]
        extra, extra_values = _defaults("uvg_entitlements", given)
        with connection.cursor() as cursor, cursor.copy(
                f"COPY uvg_entitlements ({', '.join(given + extra)}) FROM STDIN") as copy:
            for number in range(1, cases + 1):
                months = [RUN_MONTH]
                if number % 10 == 0:  # granted late: three months never paid
                    months += [date(2025, 12, 1), date(2026, 1, 1), date(2026, 2, 1)]
                for month in months:
                    copy.write_row((number, number, month, rng.choice([22_700, 29_900]),
                                    number, *extra_values))
                    entitlements += 1
        for table in ("faelle", "parties", "decisions", "uvg_children"):
            connection.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608  (fixed names)
                               f"(SELECT max(id) FROM {table}))")
        connection.execute("ANALYZE")
    return entitlements


def _copy_table(connection: psycopg.Connection[Any], source: str, target: str,
                where: str) -> tuple[int, float]:
    """COPY the rows of ``source`` matching ``where`` into the empty ``target``; (rows, s)."""
    connection.execute(f"CREATE TABLE {target} (LIKE {source} INCLUDING ALL)")
    buffer = []
    with connection.cursor() as cursor, cursor.copy(
            f"COPY (SELECT * FROM {source} WHERE {where}) TO STDOUT") as copy:  # noqa: S608
        for block in copy:
            buffer.append(bytes(block))
    started = time.perf_counter()
    with connection.cursor() as cursor, cursor.copy(f"COPY {target} FROM STDIN") as copy:
        for block in buffer:
            copy.write(block)
    connection.commit()
    seconds = time.perf_counter() - started
    rows = connection.execute(f"SELECT count(*) FROM {target}").fetchone()  # noqa: S608
    return (int(rows[0]) if rows else 0), seconds


def bench_payment_run(cases: int) -> None:
    admin_execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    admin_execute(f"CREATE DATABASE {DATABASE}")
    app = make_app()
    from amtsweg.audit.services import SYSTEM
    from amtsweg.extensions import db
    from amtsweg.fachbereiche import seed_fachbereiche
    from backoffice.uvg.payments import run_payments

    with app.app_context():
        db.create_all()
        seed_fachbereiche()
        db.session.commit()
    started = time.perf_counter()
    entitlements = generate(cases)
    print(f"generated {cases:,} active cases, {entitlements:,} entitlements in "
          f"{time.perf_counter() - started:.1f} s")

    with app.app_context():
        rss_before = current_rss_mb()
        reset_peak_rss()
        started = time.perf_counter()
        report = run_payments(RUN_MONTH, SYSTEM, today=RUN_TODAY)
        db.session.commit()
        run_seconds = time.perf_counter() - started
        rss_after = peak_rss_mb()
        again = time.perf_counter()
        second = run_payments(RUN_MONTH, SYSTEM, today=RUN_TODAY)
        db.session.rollback()
        rerun_ms = (time.perf_counter() - again) * 1000
        db.engine.dispose()
    orders = report.monthly_orders + report.back_payment_orders
    print(f"payment run {RUN_MONTH:%Y-%m}: {report.cases:,} cases, {orders:,} orders "
          f"({report.back_payment_orders:,} back payments), {report.sum_cents // 100:,} EUR, "
          f"{report.exception_count} exceptions")
    # Flat memory: the peak above the start must not grow with the number of cases.
    print(f"  wall time {run_seconds:.2f} s ({report.cases / run_seconds:,.0f} cases/s); "
          f"peak RSS during the run {rss_after:.0f} MB (at its start {rss_before:.0f} MB, "
          f"+{rss_after - rss_before:.0f} MB)")
    print(f"  second run for the same month: {'no-op' if second.already_run else 'RAN AGAIN'} "
          f"in {rerun_ms:.0f} ms")

    with psycopg.connect(raw_url()) as connection:
        order_rows, order_seconds = _copy_table(connection, "sollstellungen", "raw_orders",
                                                "source = 'uvg'")
        link_rows, link_seconds = _copy_table(connection, "uvg_payments", "raw_links", "true")
        event_rows, event_seconds = _copy_table(connection, "fall_events", "raw_events",
                                                "kind = 'uvg_payment'")
    raw_all = order_seconds + link_seconds + event_seconds
    print(f"  raw COPY of the same {order_rows:,} orders: {order_seconds:.2f} s "
          f"(ratio run / raw orders {run_seconds / order_seconds:.1f}); with their "
          f"{link_rows:,} links and {event_rows:,} events: {raw_all:.2f} s "
          f"(ratio {run_seconds / raw_all:.1f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--children", type=int, default=100_000)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--skip-calculator", action="store_true")
    parser.add_argument("--skip-payment-run", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    if not args.skip_calculator:
        bench_calculator(args.children)
    if not args.skip_payment_run:
        try:
            bench_payment_run(args.cases)
        finally:
            if not args.keep:
                admin_execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")


if __name__ == "__main__":
    main()
