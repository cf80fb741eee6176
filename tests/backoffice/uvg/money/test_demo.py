"""The demo loader for payments and recovery runs on top of the UVG case demo."""

from __future__ import annotations

from sqlalchemy import func, select

from amtsweg.extensions import db
from backoffice.uvg import case_demo, money_demo
from backoffice.uvg.recovery_models import UvgRecovery, UvgRecoveryLetter
from ihv.models import Sollstellung


def test_demo_pays_both_granted_cases_and_writes_letters(app_ctx: None) -> None:
    case_demo.load_demo()
    report = money_demo.load_demo()
    db.session.commit()

    assert report.cases == 2
    assert report.exception_count == 0
    assert (db.session.scalar(select(func.count()).select_from(Sollstellung)) or 0) >= 2
    recovery = db.session.scalar(select(UvgRecovery))
    assert recovery is not None
    assert recovery.rechtswahrungsanzeige_on is not None
    assert db.session.scalar(select(func.count()).select_from(UvgRecoveryLetter)) == 2


def test_three_monthly_runs_after_a_real_decision(app_ctx: None) -> None:
    """The case module's Bewilligung (with 50 EUR maintenance deducted) paid by three runs:
    every decided month is paid exactly once, under one Kassenzeichen."""
    from datetime import date, timedelta

    from amtsweg.audit.services import SYSTEM
    from backoffice.uvg.models import UvgChild, UvgEntitlement
    from backoffice.uvg.payments import next_month, paid_by_month, run_payments

    today = date(2026, 1, 10)
    case_demo.load_demo(today=today)
    db.session.commit()
    month = today.replace(day=1)
    for _ in range(3):
        report = run_payments(month, SYSTEM, today=month - timedelta(days=5))
        db.session.commit()
        assert report.exception_count == 0
        month = next_month(month)
    child = db.session.scalar(select(UvgChild).where(UvgChild.status == "granted"))
    assert child is not None
    decided = {row.month: row.paid_cents for row in db.session.scalars(
        select(UvgEntitlement).where(UvgEntitlement.uvg_child_id == child.id,
                                     ~UvgEntitlement.superseded,
                                     UvgEntitlement.month < month))}
    assert paid_by_month(child.id) == decided
    assert len(decided) == 4  # December (§ 4 UVG: the month before the application) to March
    kassenzeichen = set(db.session.scalars(select(Sollstellung.kassenzeichen)
                                           .where(Sollstellung.fall_id == child.fall_id)))
    assert len(kassenzeichen) == 1
