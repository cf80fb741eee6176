"""The monthly payment run: one recurring order per child and month, one back payment for the
months before, nothing twice, exceptions reported, the timeline and the case status moved."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from flask import Flask
from sqlalchemy import func, select

from amtsweg.audit.models import AuditEntry
from amtsweg.audit.services import SYSTEM
from amtsweg.extensions import db
from backoffice.models import Fall, FallEvent, FallStatus, PartyRole
from backoffice.services import PartyData, change_status
from backoffice.uvg.models import UvgChildStatus
from backoffice.uvg.payment_models import (
    UvgPayment,
    UvgPaymentKind,
    UvgPaymentRun,
    UvgPaymentSeries,
)
from backoffice.uvg.payments import (
    PaymentRunRefused,
    due_date_for,
    paid_by_month,
    parse_month,
    run_payments,
)
from ihv.models import Direction, OrderStatus, Recurrence, Sollstellung
from ihv.services import cancel_order
from tests.backoffice.uvg.money.support import grant, months

MARCH = date(2026, 3, 1)
TODAY = date(2026, 2, 20)  # the run for March is made in February, in advance


def _orders() -> list[Sollstellung]:
    return list(db.session.scalars(select(Sollstellung).order_by(Sollstellung.id)))


def test_pays_the_month_in_advance_with_one_recurring_order(
        app_ctx: None, create_case: Callable[..., Fall]) -> None:
    fall = create_case()
    child = grant(fall, months(date(2026, 3, 1), 3))
    db.session.commit()

    report = run_payments(MARCH, SYSTEM, today=TODAY)
    db.session.commit()

    assert (report.cases, report.children, report.monthly_orders,
            report.back_payment_orders) == (1, 1, 1, 0)
    assert report.sum_cents == 22_700
    [order] = _orders()
    assert order.direction is Direction.AUSZAHLUNG
    assert order.recurrence is Recurrence.RECURRING
    assert order.amount_cents == 22_700
    assert order.source == "uvg"
    assert order.source_key == f"uvg:{child.id}:2026-03"
    assert order.iban == "DE89370400440532013000"
    assert order.party_name == "Sabine Müller"
    # § 9 Abs. 3 UVG, monatlich im Voraus: Monday 2 March 2026 is the month's first working day.
    assert order.due_date == date(2026, 3, 2)
    assert (order.period_start, order.period_end) == (MARCH, date(2026, 3, 31))
    assert order.purpose.startswith(order.kassenzeichen)
    assert "03/2026" in order.purpose
    assert fall.aktenzeichen in order.purpose
    series = db.session.scalar(select(UvgPaymentSeries)
                               .where(UvgPaymentSeries.uvg_child_id == child.id))
    assert series is not None
    assert series.kassenzeichen == order.kassenzeichen
    assert paid_by_month(child.id) == {MARCH: 22_700}
    assert db.session.get(Fall, fall.id).status is FallStatus.OPEN  # type: ignore[union-attr]


def test_next_month_uses_the_same_kassenzeichen(
        app_ctx: None, create_case: Callable[..., Fall]) -> None:
    fall = create_case()
    child = grant(fall, months(MARCH, 3))
    db.session.commit()
    run_payments(MARCH, SYSTEM, today=TODAY)
    db.session.commit()
    run_payments(date(2026, 4, 1), SYSTEM, today=date(2026, 3, 25))
    db.session.commit()

    first, second = _orders()
    assert first.kassenzeichen == second.kassenzeichen
    assert second.source_key == f"uvg:{child.id}:2026-04"
    assert paid_by_month(child.id) == {MARCH: 22_700, date(2026, 4, 1): 22_700}


def test_back_months_become_one_order(app_ctx: None,
                                      create_case: Callable[..., Fall]) -> None:
    """A decision in March granting from November: four months before March in one order."""
    fall = create_case()
    child = grant(fall, months(date(2025, 11, 1), 6), cents=29_900)
    db.session.commit()

    report = run_payments(MARCH, SYSTEM, today=TODAY)
    db.session.commit()

    assert (report.monthly_orders, report.back_payment_orders) == (1, 1)
    assert report.back_payment_cents == 4 * 29_900
    assert report.sum_cents == 5 * 29_900
    monthly, back = sorted(_orders(), key=lambda order: order.amount_cents)
    assert back.amount_cents == 4 * 29_900
    assert back.source_key == f"uvg:nachzahlung:{child.id}:2026-03"
    assert (back.period_start, back.period_end) == (date(2025, 11, 1), date(2026, 2, 28))
    # One child, one series: the back payment carries the child's Kassenzeichen too.
    assert back.kassenzeichen == monthly.kassenzeichen
    assert back.purpose.startswith(back.kassenzeichen)
    assert "Nachzahlung" in back.purpose
    kinds = db.session.execute(select(UvgPayment.kind, func.count()).group_by(UvgPayment.kind))
    assert dict(kinds.all()) == {UvgPaymentKind.MONTHLY: 1, UvgPaymentKind.BACK_PAYMENT: 4}
    assert sum(paid_by_month(child.id).values()) == 5 * 29_900


def test_running_twice_creates_nothing_new(app_ctx: None,
                                           create_case: Callable[..., Fall]) -> None:
    fall = create_case()
    grant(fall, months(date(2026, 1, 1), 3))
    db.session.commit()
    run_payments(MARCH, SYSTEM, today=TODAY)
    db.session.commit()
    before = (len(_orders()), db.session.scalar(select(func.count()).select_from(UvgPayment)),
              db.session.scalar(select(func.count()).select_from(FallEvent)))

    again = run_payments(MARCH, SYSTEM, today=TODAY)
    db.session.commit()

    assert again.already_run
    assert (len(_orders()), db.session.scalar(select(func.count()).select_from(UvgPayment)),
            db.session.scalar(select(func.count()).select_from(FallEvent))) == before
    assert db.session.scalar(select(func.count()).select_from(UvgPaymentRun)) == 1


def test_a_later_run_pays_only_what_is_still_unpaid(
        app_ctx: None, create_case: Callable[..., Fall]) -> None:
    fall = create_case()
    child = grant(fall, months(date(2026, 1, 1), 4))
    db.session.commit()
    run_payments(MARCH, SYSTEM, today=TODAY)
    db.session.commit()

    report = run_payments(date(2026, 4, 1), SYSTEM, today=date(2026, 3, 20))
    db.session.commit()

    assert (report.monthly_orders, report.back_payment_orders) == (1, 0)
    assert sorted(paid_by_month(child.id)) == months(date(2026, 1, 1), 4)


def test_a_cancelled_order_counts_as_unpaid(app_ctx: None,
                                            create_case: Callable[..., Fall]) -> None:
    fall = create_case()
    child = grant(fall, months(MARCH, 2))
    db.session.commit()
    run_payments(MARCH, SYSTEM, today=TODAY)
    db.session.commit()
    [order] = _orders()
    cancel_order(None, order, "Konto falsch")
    db.session.commit()

    assert paid_by_month(child.id) == {}
    report = run_payments(date(2026, 4, 1), SYSTEM, today=date(2026, 3, 20))
    db.session.commit()
    # March again, as a back payment, and April.
    assert (report.monthly_orders, report.back_payment_orders) == (1, 1)
    assert paid_by_month(child.id) == {MARCH: 22_700, date(2026, 4, 1): 22_700}


def test_who_is_paid(app_ctx: None, create_case: Callable[..., Fall]) -> None:
    """Only granted children of cases neither closed nor suspended; superseded months and
    months of 0 EUR are not paid."""
    paid = create_case()
    grant(paid, [MARCH])
    applied = create_case()
    grant(applied, [MARCH]).status = UvgChildStatus.APPLIED
    zero = create_case()
    grant(zero, [MARCH], cents=0)
    suspended = create_case()
    grant(suspended, [MARCH])
    closed = create_case()
    grant(closed, [MARCH])
    superseded = create_case()
    old = grant(superseded, [MARCH])
    db.session.commit()
    change_status(suspended, FallStatus.SUSPENDED, SYSTEM)
    change_status(closed, FallStatus.CLOSED, SYSTEM)
    from amtsweg.db import utcnow
    from backoffice.uvg.models import UvgEntitlement

    for row in db.session.scalars(select(UvgEntitlement)
                                  .where(UvgEntitlement.uvg_child_id == old.id)):
        row.superseded = True
        row.superseded_at = utcnow()
    db.session.commit()

    report = run_payments(MARCH, SYSTEM, today=TODAY)
    db.session.commit()

    assert report.cases == 1
    assert [order.fall_id for order in _orders()] == [paid.id]


def test_exceptions_are_reported_and_the_rest_is_paid(
        app_ctx: None, create_case: Callable[..., Fall]) -> None:
    good = create_case()
    grant(good, [MARCH])
    no_iban = create_case()
    grant(no_iban, [MARCH], iban=None)
    bad_iban = create_case()
    grant(bad_iban, [MARCH], iban="DE00370400440532013000")
    db.session.commit()

    report = run_payments(MARCH, SYSTEM, today=TODAY)
    db.session.commit()

    assert report.cases == 1
    assert report.exception_count == 2
    reasons = {item["aktenzeichen"]: item["reason"] for item in report.exceptions}
    assert reasons == {no_iban.aktenzeichen: "missing_iban",
                       bad_iban.aktenzeichen: "invalid_iban"}
    run = db.session.scalar(select(UvgPaymentRun))
    assert run is not None
    assert run.exception_count == 2
    assert run.finished_at is not None


def test_timeline_one_event_per_case_and_status_paying(
        app_ctx: None, create_case: Callable[..., Fall]) -> None:
    twins = (PartyData("child", "Lea", "Müller", "2018-03-14"),
             PartyData("child", "Tom", "Müller", "2018-03-14"),
             PartyData("applicant", "Sabine", "Müller", "1990-07-01", "Hauptstraße 1"))
    fall = create_case(twins)
    for party in [p for p in fall.parties if p.role is PartyRole.CHILD]:
        grant(fall, months(date(2026, 2, 1), 2), party=party)
    fall.status = FallStatus.DECIDED
    db.session.commit()

    run_payments(MARCH, SYSTEM, today=TODAY)
    db.session.commit()

    events = list(db.session.scalars(select(FallEvent).where(FallEvent.fall_id == fall.id,
                                                             FallEvent.kind == "uvg_payment")))
    assert len(events) == 1
    assert "03/2026: 454,00 EUR" in events[0].summary
    assert "02/2026–02/2026: 454,00 EUR" in events[0].summary
    assert events[0].label != "uvg_payment"
    db.session.expire_all()
    assert db.session.get(Fall, fall.id).status is FallStatus.PAYING  # type: ignore[union-attr]
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)
                             .where(AuditEntry.action == "uvg.payment_run")) == 1


def test_many_cases_in_chunks(app_ctx: None, create_case: Callable[..., Fall]) -> None:
    """Chunks end at case boundaries; every child is paid once."""
    falls = [create_case() for _ in range(7)]
    for fall in falls:
        grant(fall, [date(2026, 2, 1), MARCH])
    db.session.commit()

    report = run_payments(MARCH, SYSTEM, today=TODAY, chunk_size=3)
    db.session.commit()

    assert (report.cases, report.monthly_orders, report.back_payment_orders) == (7, 7, 7)
    assert len({order.kassenzeichen for order in _orders()}) == 7
    assert db.session.scalar(select(func.count()).select_from(FallEvent)
                             .where(FallEvent.kind == "uvg_payment")) == 7


@pytest.mark.parametrize("text", ["2026-13", "2026-3", "März", "", "2026-03-01", "1999-12",
                                  "2026-00", "'; DROP TABLE faelle; --", "9" * 500])
def test_malformed_months_are_refused(app: Flask, text: str) -> None:
    with app.test_request_context(), pytest.raises(PaymentRunRefused):
        parse_month(text)


def test_a_month_far_ahead_is_refused(app_ctx: None, create_case: Callable[..., Fall]) -> None:
    grant(create_case(), [date(2026, 5, 1)])
    db.session.commit()
    with pytest.raises(PaymentRunRefused, match="2026-05"):
        run_payments(date(2026, 5, 1), SYSTEM, today=TODAY)
    db.session.rollback()
    assert _orders() == []
    assert db.session.scalar(select(func.count()).select_from(UvgPaymentRun)) == 0


def test_due_dates() -> None:
    # 1 May 2026 is a Friday and a holiday: the 4th (Monday).
    assert due_date_for(date(2026, 5, 1), date(2026, 4, 20), "BY") == date(2026, 5, 4)
    # A run late in the month: the next working day after today, never a day in the past.
    assert due_date_for(date(2026, 3, 1), date(2026, 3, 13), "BY") == date(2026, 3, 16)
    # 1 November 2026 is a Sunday (and Allerheiligen): Monday the 2nd.
    assert due_date_for(date(2026, 11, 1), date(2026, 10, 30), "BY") == date(2026, 11, 2)


def test_order_refused_is_never_left_half(app_ctx: None,
                                          create_case: Callable[..., Fall]) -> None:
    """An order the run cannot place (a payee name of control characters) is an exception,
    never a failed run."""
    fall = create_case()
    grant(fall, [MARCH], payee="\x07\x08")
    db.session.commit()
    report = run_payments(MARCH, SYSTEM, today=TODAY)
    db.session.commit()
    assert report.exception_count == 1
    assert _orders() == []
    assert OrderStatus.DRAFT  # orders of a run start in draft (four eyes follow in ihv)
