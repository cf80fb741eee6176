"""Demo of the transfer: one round trip through the simulated treasury, and one booking on the
Klärungsliste, so the transfer pages show something on a first try-out.

Run after ``ihv.demo.load_demo`` (which leaves an ordered order to send). Idempotent: once a
transfer exists nothing is done again. Commits itself (each step of the transfer does).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from flask import current_app
from sqlalchemy import select

from amtsweg.config import Settings
from amtsweg.extensions import db
from ihv.models import Transfer
from ihv.transfer import format as fmt
from ihv.transfer import receive, send, simulator

DEMO_TODAY = date(2026, 3, 31)


class DemoRefused(RuntimeError):
    pass


def load_demo() -> bool:
    """Send, simulate and receive once; return False if a transfer existed already."""
    settings: Settings = current_app.config["AMTSWEG"]
    if settings.is_production:
        raise DemoRefused("demo data is never loaded in production")
    if db.session.scalar(select(Transfer.id).limit(1)) is not None:
        return False
    send.send_transfers(settings)
    simulator.simulate(settings.ihv_outbox_dir, settings.ihv_inbox_dir,
                       scenario=simulator.Scenario(), today=DEMO_TODAY,
                       adapter=settings.ihv_adapter)
    _unclear_booking(settings)
    receive.receive_files(settings)
    return True


def _unclear_booking(settings: Settings) -> None:
    # A payer who wrote the child's name instead of the Kassenzeichen: a case for the list.
    record = fmt.BookingRecord("DEMO-KLAERUNG-1", "Unterhalt Lea Beispiel Maerz", "annahme",
                               15_000, date(2026, 3, 12), "Thomas Beispiel",
                               "Unterhalt Lea Beispiel Maerz")
    header = fmt.Header("LFF", "Landesamt fuer Finanzen", 900_001, datetime.now(UTC), 1,
                        record.amount_cents)
    settings.ihv_inbox_dir.mkdir(parents=True, exist_ok=True)
    with (settings.ihv_inbox_dir / "LFF-IST-DEMO.xml").open("wb") as handle:
        fmt.write_bookings(handle, header, [record])
