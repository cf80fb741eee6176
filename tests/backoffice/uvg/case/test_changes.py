"""Reported changes: recalculated from the month they take effect; what was paid is settled by
a back payment or a Rückforderung (§ 5 UVG); an end stops what has not been sent."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select

from amtsweg.audit.services import SYSTEM
from amtsweg.extensions import db
from backoffice.decisions.models import DecisionKind
from backoffice.decisions.services import (
    DecisionDraft,
    DecisionRefused,
    issue_decision,
    update_decision,
)
from backoffice.models import Fall, FallEvent
from backoffice.uvg import case_services as services
from backoffice.uvg.models import (
    UvgChangeKind,
    UvgChildStatus,
    UvgEndReason,
    UvgEntitlement,
)
from backoffice.uvg.payment_models import UvgPayment, UvgPaymentKind
from backoffice.uvg.payments import paid_by_month, run_payments
from ihv.codes import format_kassenzeichen
from ihv.models import Direction, OrderStatus, Sollstellung
from tests.backoffice.uvg.case.conftest import TODAY, confirm, taken_over
from tests.backoffice.uvg.case.test_decisions import pdf_text


def granted_and_paid(fall: Fall) -> Any:
    """Granted from October 2026 (249 EUR a month), December paid by the run with the back
    payment for October and November."""
    child = taken_over(fall)
    confirm(child)
    services.calculate_child(child, SYSTEM, today=TODAY)
    decision = services.prepare_decision(fall, DecisionKind.BEWILLIGUNG, SYSTEM)
    issue_decision(decision, SYSTEM, today=TODAY)
    db.session.commit()
    run_payments(date(2026, 12, 1), SYSTEM, today=TODAY)
    db.session.commit()
    assert paid_by_month(child.id) == {date(2026, 10, 1): 24_900, date(2026, 11, 1): 24_900,
                                       date(2026, 12, 1): 24_900}
    return child


def change(child: Any, kind: UvgChangeKind, effective_on: date, **values: Any) -> Any:
    row, decision = services.record_change(
        child, services.ReportedChange(kind=kind, effective_on=effective_on,
                                       reported_on=TODAY, **values), SYSTEM, today=TODAY)
    db.session.commit()
    return row, decision


def test_more_maintenance_means_an_overpayment_claimed_back_with_its_own_bescheid(
        applied_case: Callable[..., Fall]) -> None:
    fall = applied_case()
    child = granted_and_paid(fall)
    row, decision = change(child, UvgChangeKind.MAINTENANCE, date(2026, 11, 1),
                           maintenance_cents=15_000)
    assert decision is not None
    assert decision.kind is DecisionKind.AENDERUNG
    issue_decision(decision, SYSTEM, today=TODAY)
    db.session.commit()
    # 299 - 150 = 149 EUR from November; November and December were paid with 249 EUR.
    current = {e.month: e.paid_cents for e in services.entitlements_of(child)}
    assert current[date(2026, 10, 1)] == 24_900
    assert current[date(2026, 11, 1)] == 14_900
    assert db.session.scalar(select(func.count(UvgEntitlement.id)).where(
        UvgEntitlement.superseded.is_(True))) == 41
    assert row.difference_cents == -20_000
    assert row.recovery_decision_id is not None
    assert row.back_payment_order_id is None
    recovery = db.session.get(type(decision), row.recovery_decision_id)
    assert recovery is not None
    assert not recovery.is_issued
    assert "§ 5" in recovery.tenor
    # The fault behind a § 5 claim is the caseworker's to write: not issued before.
    with pytest.raises(DecisionRefused, match=r"\[Bitte"):
        issue_decision(recovery, SYSTEM, today=TODAY)
    db.session.rollback()
    assert row.recovery_order_id is None
    update_decision(recovery, DecisionDraft(
        recovery.kind, recovery.subject, recovery.tenor,
        "Sie haben die Unterhaltszahlungen trotz Belehrung nicht mitgeteilt (§ 5 Abs. 1 Nr. 1 "
        "UVG). Sie wurden am 20.11.2026 angehört (§ 24 SGB X).",
        recovery.addressee_party_id, None), SYSTEM)
    issue_decision(recovery, SYSTEM, today=TODAY)
    db.session.commit()
    order = db.session.get(Sollstellung, row.recovery_order_id)
    assert order is not None
    assert order.direction is Direction.ANNAHME
    assert order.amount_cents == 20_000
    assert order.source_key == f"uvg:rueckforderung:{child.id}:{row.id}"
    assert paid_by_month(child.id)[date(2026, 12, 1)] == 14_900
    # Printed as people read it, with its check digits set apart.
    assert format_kassenzeichen(order.kassenzeichen) in pdf_text(recovery.document_id)
    kinds = set(db.session.scalars(select(FallEvent.kind).where(FallEvent.fall_id == fall.id)))
    assert {services.UvgEventKind.CHANGE_REPORTED, services.UvgEventKind.CHANGED,
            services.UvgEventKind.RECOVERY} <= kinds


def test_less_maintenance_means_one_back_payment(applied_case: Callable[..., Fall]) -> None:
    fall = applied_case()
    child = granted_and_paid(fall)
    row, decision = change(child, UvgChangeKind.MAINTENANCE, date(2026, 11, 1),
                           maintenance_cents=0)
    issue_decision(decision, SYSTEM, today=TODAY)
    db.session.commit()
    order = db.session.get(Sollstellung, row.back_payment_order_id)
    assert order is not None
    assert order.direction is Direction.AUSZAHLUNG
    assert order.amount_cents == 2 * 5_000  # November and December, 50 EUR each
    assert order.source == "uvg"
    assert order.source_key == f"uvg:nachzahlung:{child.id}:{row.id}"
    assert row.recovery_decision_id is None
    assert paid_by_month(child.id)[date(2026, 12, 1)] == 29_900


def test_an_end_cancels_the_unsent_month_and_pays_the_days_until_then(
        applied_case: Callable[..., Fall]) -> None:
    fall = applied_case()
    child = granted_and_paid(fall)
    december = db.session.scalar(select(Sollstellung).join(
        UvgPayment, UvgPayment.sollstellung_id == Sollstellung.id).where(
        UvgPayment.month == date(2026, 12, 1), UvgPayment.kind == UvgPaymentKind.MONTHLY))
    assert december is not None
    assert december.status is OrderStatus.DRAFT
    row, decision = change(child, UvgChangeKind.CHILD_MOVED_OUT, date(2026, 12, 10))
    assert decision.kind is DecisionKind.AUFHEBUNG
    issue_decision(decision, SYSTEM, today=TODAY)
    db.session.commit()
    assert child.status is UvgChildStatus.ENDED
    assert child.end_reason is UvgEndReason.CHILD_MOVED_OUT
    assert child.ended_on == date(2026, 12, 9)
    assert db.session.scalar(select(Sollstellung.status).where(
        Sollstellung.id == december.id)) is OrderStatus.CANCELLED
    months = {e.month: e.paid_cents for e in services.entitlements_of(child)}
    assert max(months) == date(2026, 12, 1)
    # 9 of 30 days of 299 EUR = 89,70, less 9/30 of nothing: maintenance 50 stays whole
    # (§ 2 Abs. 3: in the same month) -> 39,70, rounded up to 40 EUR.
    assert months[date(2026, 12, 1)] == row.difference_cents
    back = db.session.get(Sollstellung, row.back_payment_order_id)
    assert back is not None
    assert back.amount_cents == months[date(2026, 12, 1)]
    # The next month's run pays nothing for an ended child.
    run_payments(date(2027, 1, 1), SYSTEM, today=date(2026, 12, 20))
    db.session.commit()
    assert date(2027, 1, 1) not in paid_by_month(child.id)
    assert sum(paid_by_month(child.id).values()) == 2 * 24_900 + months[date(2026, 12, 1)]


@pytest.mark.parametrize(("effective_on", "message"), [
    (date(2026, 9, 30), "before the benefit started|vor Beginn"),
    (date(2027, 7, 1), "six months|sechs Monate"),
])
def test_a_change_outside_the_case_is_refused_and_nothing_changes(
        applied_case: Callable[..., Fall], effective_on: date, message: str) -> None:
    fall = applied_case()
    child = granted_and_paid(fall)
    version = child.facts_version
    with pytest.raises(services.UvgRefused, match=message):
        change(child, UvgChangeKind.MAINTENANCE, effective_on, maintenance_cents=0)
    db.session.rollback()
    assert child.facts_version == version
    assert services.changes_of(fall) == []


def test_a_change_needs_a_granted_child_and_a_plausible_amount(
        applied_case: Callable[..., Fall]) -> None:
    fall = applied_case()
    child = taken_over(fall)
    with pytest.raises(services.UvgRefused):
        change(child, UvgChangeKind.MAINTENANCE, TODAY, maintenance_cents=0)
    db.session.rollback()
    child = granted_and_paid(applied_case())
    with pytest.raises(services.UvgRefused):
        change(child, UvgChangeKind.MAINTENANCE, TODAY, maintenance_cents=-1)


def test_a_move_inside_germany_is_recorded_without_a_decision(
        applied_case: Callable[..., Fall]) -> None:
    child = granted_and_paid(applied_case())
    row, decision = change(child, UvgChangeKind.MOVE, TODAY, note="Neue Anschrift")
    assert decision is None
    assert row.kind is UvgChangeKind.MOVE
    assert child.status is UvgChildStatus.GRANTED


def test_an_einstellung_for_another_reason_keeps_that_reason(
        applied_case: Callable[..., Fall]) -> None:
    child = granted_and_paid(applied_case())
    _row, decision = change(child, UvgChangeKind.END, date(2027, 1, 1),
                            end_reason=UvgEndReason.MAINTENANCE_PAID)
    assert "Unterhalt in voller Höhe" in decision.begruendung
    issue_decision(decision, SYSTEM, today=TODAY)
    db.session.commit()
    assert child.end_reason is UvgEndReason.MAINTENANCE_PAID
    assert child.ended_on == date(2026, 12, 31)
    # Ending on the first of a month: that month is not paid at all.
    months = {e.month: e.paid_cents for e in services.entitlements_of(child)}
    assert months[date(2027, 1, 1)] == 0


def test_income_of_a_child_that_left_school_is_deducted_from_the_change(
        applied_case: Callable[..., Fall]) -> None:
    child = granted_and_paid(applied_case())
    with pytest.raises(services.UvgRefused):
        change(child, UvgChangeKind.INCOME, date(2027, 1, 1), child_income_cents=40_000)
    db.session.rollback()
    _row, decision = change(child, UvgChangeKind.INCOME, date(2027, 1, 1),
                            child_income_cents=40_000, left_school=True)
    issue_decision(decision, SYSTEM, today=TODAY)
    db.session.commit()
    months = {e.month: e.paid_cents for e in services.entitlements_of(child)}
    assert months[date(2026, 12, 1)] == 24_900
    assert months[date(2027, 1, 1)] < 24_900
