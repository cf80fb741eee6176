"""Kassenzeichen handed out at the same moment never repeat, and two people approving one order
at once cannot both win (real row locks on PostgreSQL; the database lock on SQLite)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date

from flask import Flask
from sqlalchemy import select

from amtsweg.extensions import db
from amtsweg.staff.models import Staff
from ihv import codes, services
from ihv.models import Direction, OrderStatus, Sollstellung
from ihv.services import OrderSpec
from tests.ihv.conftest import HAUSHALTSSTELLE, IBAN, order_kwargs

THREADS = 10
PER_THREAD = 8


def _run(workers: list[Callable[[], None]]) -> list[BaseException]:
    start = threading.Barrier(len(workers))
    errors: list[BaseException] = []

    def wrapped(work: Callable[[], None]) -> None:
        try:
            start.wait()
            work()
        except BaseException as error:  # reported by the test, not lost in the thread
            errors.append(error)

    threads = [threading.Thread(target=wrapped, args=(work,)) for work in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return errors


def test_concurrent_kassenzeichen_are_distinct_and_gapless(app: Flask) -> None:
    handed_out: list[str] = []
    lock = threading.Lock()

    def clerk() -> None:
        with app.app_context():
            for _ in range(PER_THREAD):
                number = services.next_kassenzeichen(2026)
                db.session.commit()
                with lock:
                    handed_out.append(number)

    def run(count: int) -> None:
        with app.app_context():
            services.create_orders_bulk(None, [
                OrderSpec(direction=Direction.AUSZAHLUNG, amount_cents=100,
                          due_date=date(2026, 1, 5), haushaltsstelle=HAUSHALTSSTELLE,
                          party_name="Lauf", iban=IBAN) for _ in range(count)])
            db.session.commit()

    assert _run([clerk] * THREADS + [lambda: run(50), lambda: run(50)]) == []
    with app.app_context():
        bulk = list(db.session.scalars(select(Sollstellung.kassenzeichen)))
    everything = handed_out + bulk
    assert len(everything) == THREADS * PER_THREAD + 100 == len(set(everything))
    assert all(codes.is_valid_kassenzeichen(number) for number in everything)
    running = sorted(int(number[6:14]) for number in everything)
    assert running == list(range(1, len(running) + 1))


def test_two_feststeller_at_once_only_one_wins(app: Flask, finance: dict[str, Staff],
                                               create_staff: Callable[..., Staff]) -> None:
    from amtsweg.staff.models import Role

    second = create_staff("feststellung2", roles=(Role.FESTSTELLER,), fachbereiche=())
    with app.app_context():
        order = services.create_order(None, **order_kwargs())
        db.session.commit()
        order_id = order.id
    outcomes: list[str] = []

    def approver(staff: Staff) -> Callable[[], None]:
        def work() -> None:
            with app.app_context():
                me = db.session.get_one(Staff, staff.id)
                target = db.session.get_one(Sollstellung, order_id)
                try:
                    services.feststellen(me, target, 1)
                    db.session.commit()
                    outcomes.append("won")
                except services.OrderError:
                    db.session.rollback()
                    outcomes.append("refused")
        return work

    assert _run([approver(finance["feststeller"]), approver(second)]) == []
    assert sorted(outcomes) == ["refused", "won"]
    with app.app_context():
        final = db.session.get_one(Sollstellung, order_id)
        assert final.status == OrderStatus.FESTGESTELLT
        assert final.festgestellt_by_id in (finance["feststeller"].id, second.id)
