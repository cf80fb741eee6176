"""IHV transfer at payment-run scale: orders out (file built and validated), IST bookings in
(validated, matched, booked), beside plain XML writing and raw inserts of the same rows.

Run: .venv/bin/python -m bench.ihv [--counts 10000,100000] [--no-memory] [--keep]
Needs PostgreSQL (AMTSWEG_BENCH_POSTGRES, default postgresql://postgres@127.0.0.1:5432). For each
count it creates the database ``amtsweg_bench_ihv``, fills it by COPY with that many ordered
payment orders (three colleagues as creator, Feststellerin and Anordnungsbefugter), and drops it
again at the end unless ``--keep``.

Measured for each count, in the same run:

- ``send``: ``ihv.transfer.send.send_transfers`` (claim, stream the XML, validate it against the
  XSD in two streaming passes, keep it in the blob store, deliver to the drop directory, mark the
  orders transmitted) — beside ``plain XML``: the same rows from a server-side cursor written with
  lxml ``xmlfile`` and nothing else (no checks, no validation, no state);
- ``receive``: ``ihv.transfer.receive.receive_files`` on an IST file with one booking per order
  (validate, match by Kassenzeichen, book, audit) — beside ``raw insert``: the same bookings
  COPYed into the table, unmatched.

Wall time without tracemalloc; then (unless ``--no-memory``) the same two steps again on a fresh
fill with tracemalloc on, for the peak of Python allocations, and the growth of the process's
resident memory (which also sees libxml2). Flat peaks from 10k to 100k show that the file is
streamed and the orders are handled a chunk at a time.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import os  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from datetime import UTC, date, datetime  # noqa: E402

import psycopg  # noqa: E402
from flask import Flask  # noqa: E402
from lxml import etree  # noqa: E402

DATABASE = "amtsweg_bench_ihv"
SERVER = os.environ.get("AMTSWEG_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
IBANS = ["DE89370400440532013000", "DE02120300000000202051", "DE02500105170137075030",
         "DE12500105170648489890", "DE88100900001234567892"]
HAUSHALTSSTELLE = "70 55/101 38-1"


def admin_execute(sql: str) -> None:
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as connection:
        connection.execute(sql)


def raw_url() -> str:
    return f"{SERVER}/{DATABASE}"


def make_app() -> Flask:
    from amtsweg.app import create_app
    from amtsweg.config import load_settings

    instance = Path(tempfile.mkdtemp(prefix="amtsweg-bench-ihv-"))
    settings = load_settings({
        "AMTSWEG_ENV": "test", "AMTSWEG_INSTANCE_PATH": str(instance),
        "AMTSWEG_SECRET_KEY": "b" * 40,
        "AMTSWEG_DATABASE_URL": f"{SERVER}/{DATABASE}",
    })
    return create_app(settings)


def fresh_database(app: Flask | None) -> Flask:
    if app is not None:
        from amtsweg.extensions import db

        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    admin_execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    admin_execute(f"CREATE DATABASE {DATABASE}")
    app = make_app()
    import amtsweg.app  # noqa: F401  (every model)
    from amtsweg.extensions import db
    from amtsweg.fachbereiche import seed_fachbereiche
    from amtsweg.staff.models import Role, Staff, StaffRole

    with app.app_context():
        db.create_all()
        seed_fachbereiche()
        for name, role in (("sb", Role.CASEWORKER), ("fest", Role.FESTSTELLER),
                           ("anord", Role.ANORDNER)):
            staff = Staff(username=name, full_name=name, password_hash="x", active=True,
                          failed_logins=0, session_epoch=0)
            staff.role_rows = [StaffRole(role=role)]
            db.session.add(staff)
        db.session.commit()
    return app


def fill_orders(count: int) -> None:
    """``count`` ordered payment orders, as a UVG payment run leaves them, by COPY."""
    from ihv.codes import make_kassenzeichen

    now = datetime.now(UTC)
    columns = ("kassenzeichen, direction, status, recurrence, amount_cents, due_date, "
               "haushaltsstelle, party_name, party_street, party_postcode, party_city, iban, "
               "purpose, source, version, created_by_id, created_at, festgestellt_by_id, "
               "festgestellt_at, angeordnet_by_id, angeordnet_at, booked_cents")
    with psycopg.connect(raw_url()) as connection, connection.cursor() as cursor:
        with cursor.copy(f"COPY sollstellungen ({columns}) FROM STDIN") as copy:
            for number in range(1, count + 1):
                kz = make_kassenzeichen(2026, number)
                copy.write_row((kz, "auszahlung", "angeordnet", "recurring",
                                22_700 + number % 17_000, date(2026, 3, 1), HAUSHALTSSTELLE,
                                f"Elternteil {number}", "Hauptstraße 1", "97437", "Haßfurt",
                                IBANS[number % len(IBANS)], f"{kz} UVG 03/2026", "bench", 1,
                                1, now, 2, now, 3, now, 0))
        connection.commit()
        # What autovacuum does within a minute of a payment run in production; without it the
        # planner knows nothing of the 100,000 new rows.
        connection.execute("ANALYZE sollstellungen")


# --- measuring -----------------------------------------------------------------------------------


def _rss() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@dataclass
class Figures:
    seconds: float
    rss_growth: int = 0
    python_peak: int = 0


@contextmanager
def rss_sampler() -> Iterator[list[int]]:
    samples = [_rss()]
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.02):
            samples.append(_rss())

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield samples
    finally:
        stop.set()
        thread.join()
        samples.append(_rss())


def measure(action: Callable[[], object], *, memory: bool) -> Figures:
    if memory:
        tracemalloc.start()
        tracemalloc.reset_peak()
    with rss_sampler() as samples:
        started = time.perf_counter()
        action()
        seconds = time.perf_counter() - started
    figures = Figures(seconds, max(samples) - samples[0])
    if memory:
        figures.python_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return figures


# --- the steps -----------------------------------------------------------------------------------


def send_step(app: Flask) -> Callable[[], object]:
    def run() -> object:
        from ihv.transfer import send

        with app.app_context():
            report = send.send_transfers(app.config["AMTSWEG"])
            assert report.sent == [1], report
            assert not report.failed, report
            return report

    return run


def plain_xml_step(count: int, target: Path) -> Callable[[], object]:
    """The baseline: the same rows written as XML by lxml, nothing checked or recorded."""

    def run() -> object:
        with psycopg.connect(raw_url()) as connection, connection.cursor(name="rows") as cursor:
            cursor.itersize = 2000
            cursor.execute("SELECT id, kassenzeichen, direction, amount_cents, due_date, "
                           "haushaltsstelle, party_name, iban, purpose FROM sollstellungen "
                           "ORDER BY id")
            with target.open("wb") as handle, etree.xmlfile(handle, encoding="utf-8") as xf:
                xf.write_declaration()
                with xf.element("Transfer"):
                    for row in cursor:
                        element = etree.Element("Order")
                        for name, value in zip(("OrderId", "Kassenzeichen", "Direction",
                                                "AmountCents", "DueDate", "Haushaltsstelle",
                                                "Name", "Iban", "Purpose"), row, strict=True):
                            etree.SubElement(element, name).text = str(value)
                        xf.write(element)
        return target

    return run


def bookings_file(app: Flask, count: int) -> None:
    """The treasury's IST file: every order paid in full on its due date (not timed)."""
    from ihv.transfer import format as fmt

    inbox: Path = app.config["AMTSWEG"].ihv_inbox_dir
    inbox.mkdir(parents=True, exist_ok=True)
    with psycopg.connect(raw_url()) as connection, connection.cursor(name="rows") as cursor:
        cursor.itersize = 2000
        total = connection.execute("SELECT coalesce(sum(amount_cents), 0) FROM sollstellungen"
                                   ).fetchone()
        cursor.execute("SELECT kassenzeichen, amount_cents, party_name FROM sollstellungen "
                       "ORDER BY id")
        header = fmt.Header("LFF", "Landesamt", 1, datetime.now(UTC), count,
                            int(total[0]) if total else 0)
        records = (fmt.BookingRecord(f"IST-{i:09d}", kz, "auszahlung", cents, date(2026, 3, 1),
                                     name, kz) for i, (kz, cents, name) in enumerate(cursor))
        with (inbox / "LFF-IST-00000001.xml").open("wb") as handle:
            fmt.write_bookings(handle, header, records)


def receive_step(app: Flask, count: int) -> Callable[[], object]:
    def run() -> object:
        from ihv.transfer import receive

        with app.app_context():
            report = receive.receive_files(app.config["AMTSWEG"])
            assert report.matched == count, report
            assert not report.rejected, report
            return report

    return run


def raw_insert_step(count: int) -> Callable[[], object]:
    """The baseline: the same bookings COPYed into the table, no checks, no matching."""

    def run() -> object:
        with psycopg.connect(raw_url()) as connection, connection.cursor() as cursor:
            import_id = cursor.execute(
                "INSERT INTO ihv_imports (kind, status, file_name, sha256, record_count, "
                "control_sum_cents, imported_at) VALUES ('bookings', 'imported', 'raw', "
                "md5(random()::text) || md5(random()::text), %s, 0, now()) RETURNING id",
                (count,)).fetchone()
            assert import_id is not None
            with cursor.copy("COPY ihv_bookings (import_id, reference, source, direction, "
                             "kassenzeichen, amount_cents, booking_date, counterparty, purpose, "
                             "status, excess_cents) FROM STDIN") as copy:
                for number in range(count):
                    copy.write_row((import_id[0], f"RAW-{number:09d}", "camt053", "auszahlung",
                                    "KZ", 100, date(2026, 3, 1), "", "", "unclear", 0))
            connection.commit()
        return None

    return run


def run_count(count: int, memory: bool, app: Flask | None) -> tuple[Flask, dict[str, Figures]]:
    app = fresh_database(app)
    fill_orders(count)
    results: dict[str, Figures] = {}
    plain = Path(tempfile.mkdtemp(prefix="amtsweg-bench-plain-")) / "plain.xml"
    steps: list[tuple[str, Callable[[], object]]] = [
        ("send", send_step(app)), ("plain XML", plain_xml_step(count, plain)),
        ("receive", receive_step(app, count)), ("raw insert", raw_insert_step(count))]
    for name, step in steps:
        if name == "receive":
            bookings_file(app, count)
        results[name] = measure(step, memory=memory)
        # Progress as it comes: a long run that is stopped still leaves its figures.
        figures = results[name]
        print(f"  {count:>7,} {name:<10} {'tracemalloc' if memory else 'timed':<11} "
              f"{figures.seconds:8.1f} s  py peak {mib(figures.python_peak):>6} MiB  "
              f"RSS +{mib(figures.rss_growth):>6} MiB", flush=True)
    return app, results


def mib(value: int) -> str:
    return f"{value / (1024 * 1024):.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--counts", default="10000,100000",
                        help="comma-separated numbers of orders (and bookings)")
    parser.add_argument("--no-memory", action="store_true", help="skip the tracemalloc pass")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    counts = [int(part) for part in args.counts.split(",") if part.strip()]

    app: Flask | None = None
    timing: dict[int, dict[str, Figures]] = {}
    memory: dict[int, dict[str, Figures]] = {}
    try:
        for count in counts:
            app, timing[count] = run_count(count, False, app)
            if not args.no_memory:
                app, memory[count] = run_count(count, True, app)
    finally:
        if app is not None and not args.keep:
            from amtsweg.extensions import db

            with app.app_context():
                db.session.remove()
                db.engine.dispose()
            admin_execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")

    print("\nTimes in seconds (no tracemalloc); rate per second; ratio = ours / baseline.\n")
    print("| count | send s | plain XML s | ratio | receive s | raw insert s | ratio | "
          "send/s | receive/s |")
    print("|------:|-------:|------------:|------:|----------:|-------------:|------:|"
          "-------:|----------:|")
    for count, f in timing.items():
        print(f"| {count:,} | {f['send'].seconds:.1f} | {f['plain XML'].seconds:.2f} | "
              f"{f['send'].seconds / f['plain XML'].seconds:.1f} | "
              f"{f['receive'].seconds:.1f} | {f['raw insert'].seconds:.2f} | "
              f"{f['receive'].seconds / f['raw insert'].seconds:.1f} | "
              f"{count / f['send'].seconds:,.0f} | {count / f['receive'].seconds:,.0f} |")
    if memory:
        print("\nPeak memory in MiB: Python allocations (tracemalloc peak) / growth of the "
              "resident set during the step.\n")
        print("| count | send py | send RSS | plain py | plain RSS | receive py | receive RSS |"
              " raw py | raw RSS |")
        print("|------:|--------:|---------:|---------:|----------:|-----------:|------------:|"
              "-------:|--------:|")
        for count, f in memory.items():
            cells = " | ".join(f"{mib(f[name].python_peak)} | {mib(f[name].rss_growth)}"
                               for name in ("send", "plain XML", "receive", "raw insert"))
            print(f"| {count:,} | {cells} |")


if __name__ == "__main__":
    main()
