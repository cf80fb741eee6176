"""Demo orders for a local try-out: something in each approval queue and something to send.

Needs the demo accounts of amtsweg.demo (sachbearbeitung, feststellung, anordnung). Idempotent:
every order has a ``demo:`` source key, so loading twice adds nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from flask import current_app
from sqlalchemy import select

from amtsweg.extensions import db
from amtsweg.staff.models import Staff
from ihv import services
from ihv.models import Direction, OrderStatus, Sollstellung

HAUSHALTSSTELLE_UVG_PAYOUT = "10 07/681 01-4"  # fictitious: Kapitel / Titel / Prüfziffer
HAUSHALTSSTELLE_UVG_RECOVERY = "10 07/119 01-2"

# (key, direction, cents, due date, payee/payer, IBAN, steps done: 0 draft, 1 established,
#  2 ordered)
_DEMO_ORDERS = (
    ("einmalig-1", Direction.AUSZAHLUNG, 15_000, date(2026, 3, 2), "Sabine Beispiel",
     "DE02120300000000202051", 0),
    ("einmalig-2", Direction.AUSZAHLUNG, 8_450, date(2026, 3, 9), "Kita Sonnenschein e. V.",
     "DE89370400440532013000", 0),
    ("einmalig-3", Direction.AUSZAHLUNG, 22_700, date(2026, 3, 2), "Maria Muster",
     "DE02500105170137075030", 1),
    ("rueckforderung-1", Direction.ANNAHME, 45_400, date(2026, 3, 31), "Thomas Beispiel",
     None, 1),
    ("einmalig-4", Direction.AUSZAHLUNG, 30_000, date(2026, 3, 2), "Jonas Weber",
     "DE02100100100006820101", 2),
)


class DemoRefused(RuntimeError):
    pass


def load_demo(fall_ids: Sequence[int] = ()) -> int:
    """Create the demo orders (on ``fall_ids`` in turn, if given); return how many are new.

    The caller commits.
    """
    if current_app.config["AMTSWEG"].is_production:
        raise DemoRefused("demo data is never loaded in production")
    people = {staff.username: staff for staff in db.session.scalars(select(Staff).where(
        Staff.username.in_(["sachbearbeitung", "feststellung", "anordnung"])))}
    if len(people) < 3:
        raise DemoRefused("load the demo accounts first (amtsweg demo-data)")
    created = 0
    for index, (key, direction, cents, due, party, iban, steps) in enumerate(_DEMO_ORDERS):
        source_key = f"demo:{key}"
        if db.session.scalar(select(Sollstellung.id).where(
                Sollstellung.source_key == source_key)) is not None:
            continue
        order = services.create_order(
            people["sachbearbeitung"], direction=direction, amount_cents=cents, due_date=due,
            haushaltsstelle=(HAUSHALTSSTELLE_UVG_PAYOUT if direction == Direction.AUSZAHLUNG
                             else HAUSHALTSSTELLE_UVG_RECOVERY),
            party_name=party, party_street="Marktplatz 1", party_postcode="97437",
            party_city="Haßfurt", iban=iban, source="demo", source_key=source_key,
            fall_id=fall_ids[index % len(fall_ids)] if fall_ids else None)
        if steps >= 1:
            services.feststellen(people["feststellung"], order, order.version)
        if steps >= 2:
            services.anordnen(people["anordnung"], order, order.version)
        assert order.status in (OrderStatus.DRAFT, OrderStatus.FESTGESTELLT,
                                OrderStatus.ANGEORDNET)
        created += 1
    return created
