"""``amtsweg uvg payment-run --month YYYY-MM``: pay one month of Unterhaltsvorschuss."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from amtsweg.audit.services import SYSTEM
from amtsweg.extensions import db


@click.command("payment-run")
@click.option("--month", "month_text", required=True, metavar="YYYY-MM",
              help="The month to pay, e.g. 2026-03 (at most the coming month).")
@click.option("--today", "today_text", default=None, metavar="YYYY-MM-DD",
              help="Pretend today is this day; for catching up and for tests.")
@with_appcontext
def payment_run_command(month_text: str, today_text: str | None) -> None:
    """Create the payment orders of one month for every active UVG case (idempotent)."""
    from datetime import date

    from backoffice.uvg.payments import (
        PaymentRunRefused,
        RunReport,
        parse_month,
        run_payments,
    )

    try:
        month = parse_month(month_text)
        today = None
        if today_text is not None:
            try:
                today = date.fromisoformat(today_text.strip())
            except ValueError:
                raise PaymentRunRefused("Enter --today as YYYY-MM-DD.") from None
        report: RunReport = run_payments(month, SYSTEM, today=today)
    except PaymentRunRefused as refusal:
        db.session.rollback()
        click.echo(f"amtsweg uvg payment-run: {refusal}", err=True)
        sys.exit(2)
    if report.already_run:
        db.session.rollback()
        click.echo(f"The payment run for {month:%Y-%m} was done already "
                   f"({report.started_at:%Y-%m-%d %H:%M} UTC, {report.started_by_name}); "
                   "nothing new was created.", err=True)
        _print(report)
        sys.exit(1)
    db.session.commit()
    _print(report)


def _print(report: object) -> None:
    from backoffice.uvg.payments import RunReport, euro, exception_label

    assert isinstance(report, RunReport)
    click.echo(f"Payment run {report.month:%Y-%m}")
    click.echo(f"  cases:               {report.cases}")
    click.echo(f"  children:            {report.children}")
    click.echo(f"  monthly orders:      {report.monthly_orders}")
    click.echo(f"  back-payment orders: {report.back_payment_orders} "
               f"({euro(report.back_payment_cents)})")
    click.echo(f"  sum:                 {euro(report.sum_cents)}")
    click.echo(f"  exceptions:          {report.exception_count}")
    for item in report.exceptions[:50]:
        click.echo(f"    {item['aktenzeichen']}  child {item['uvg_child_id']}: "
                   f"{exception_label(str(item['reason']))}")
    if report.exception_count > 50:
        click.echo(f"    … and {report.exception_count - 50} more (see /intern/uvg/zahlungslauf)")
