"""``amtsweg uvg …``: the UVG commands. ``calc`` prints what a child is entitled to, as JSON."""

from __future__ import annotations

import json
import re
import sys
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import click

from amtsweg.clock import berlin_today
from backoffice.uvg.calculation import (
    Calculation,
    CalculationError,
    CalculationInput,
    Income,
    MonthResult,
    calculate,
)
from backoffice.uvg.payments_cli import payment_run_command

_AMOUNT = re.compile(r"^\d{1,9}(\.\d{1,2})?$")


class MonthParam(click.ParamType[date, Any]):
    """A month as YYYY-MM; the value is the first day of that month."""

    name = "YYYY-MM"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> date:
        if isinstance(value, date):
            return value
        text = str(value).strip()
        match = re.fullmatch(r"(\d{4})-(\d{2})", text)
        if not match or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 1900:
            self.fail(f"{text!r} is not a month in the form YYYY-MM, e.g. 2025-03.", param, ctx)
        return date(int(match.group(1)), int(match.group(2)), 1)


class DayParam(click.ParamType[date, Any]):
    name = "YYYY-MM-DD"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> date:
        if isinstance(value, date):
            return value
        text = str(value).strip()
        try:
            day = datetime.strptime(text, "%Y-%m-%d").date()  # noqa: DTZ007  (a date)
        except ValueError:
            self.fail(f"{text!r} is not a date in the form YYYY-MM-DD, e.g. 2019-03-01.",
                      param, ctx)
        if day.year < 1900:
            self.fail(f"{text!r} is not a plausible date.", param, ctx)
        return day


class EuroParam(click.ParamType[int, Any]):
    """A euro amount such as 150 or 150.50; the value is integer cents."""

    name = "EUR"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        text = str(value).strip()
        if text.startswith("-"):
            self.fail(f"{text!r}: an amount must not be negative.", param, ctx)
        if not _AMOUNT.match(text):
            self.fail(f"{text!r} is not an amount in euros such as 150 or 150.50.", param, ctx)
        try:
            return int(Decimal(text) * 100)
        except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
            self.fail(f"{text!r} is not an amount in euros.", param, ctx)


@click.group("uvg")
def uvg_group() -> None:
    """Unterhaltsvorschuss (UVG): calculation and payments."""


uvg_group.add_command(payment_run_command)


@uvg_group.command("calc")
@click.option("--birth-date", "birth_date", type=DayParam(), required=True,
              help="The child's birth date.")
@click.option("--from", "first_month", type=MonthParam(), required=True,
              help="First month to calculate.")
@click.option("--to", "last_month", type=MonthParam(), required=True,
              help="Last month to calculate.")
@click.option("--maintenance", type=EuroParam(), default=0,
              help="Maintenance paid by the other parent per month (§ 2 Abs. 3 Nr. 1 UVG).")
@click.option("--orphan-benefit", "orphan_benefit", type=EuroParam(), default=0,
              help="Orphan benefits per month (§ 2 Abs. 3 Nr. 2 UVG).")
@click.option("--child-income", "child_income", type=EuroParam(), default=None,
              help="The child's gross earnings per month; means the child has left "
                   "general-education school (§ 2 Abs. 4 UVG).")
@click.option("--trainee", is_flag=True, help="The child is a trainee (100 EUR more deducted).")
@click.option("--application-date", "application_date", type=DayParam(), default=None,
              help="The day the application arrived (§ 4 UVG: nothing before the month before).")
def calc_command(birth_date: date, first_month: date, last_month: date, maintenance: int,
                 orphan_benefit: int, child_income: int | None, trainee: bool,
                 application_date: date | None) -> None:
    """Print the UVG amounts per month as JSON, with the conditions of § 1 UVG taken as met."""
    inp = CalculationInput(
        birth_date=birth_date, first_month=first_month, last_month=last_month,
        application_date=application_date,
        income=Income(maintenance_cents=maintenance, orphan_benefit_cents=orphan_benefit,
                      child_income_cents=child_income or 0),
        left_school=child_income is not None, trainee=trainee)
    try:
        result = calculate(inp, today=berlin_today())
    except CalculationError as error:
        # A clear line and the usage exit code, never a traceback.
        click.echo(f"amtsweg uvg calc: error: {error}", err=True)
        sys.exit(2)
    click.echo(json.dumps(calculation_json(result), indent=2, ensure_ascii=False))


def calculation_json(result: Calculation) -> dict[str, Any]:
    """The calculation as the command prints it: whole euros paid, plus the detail in cents."""
    return {"months": [_month_json(month) for month in result.months],
            "total": result.total_cents // 100}


def _month_json(month: MonthResult) -> dict[str, Any]:
    return {
        "month": month.month.strftime("%Y-%m"),
        "amount": month.paid_cents // 100,
        "age_band": month.age_band,
        "table_cents": month.table_cents,
        "days": month.days,
        "days_in_basis": month.days_in_basis,
        "gross_cents": month.gross_cents,
        "deductions": [{"kind": d.kind, "cents": d.cents, "legal_basis": d.legal_basis}
                       for d in month.deductions],
        "unrounded_cents": month.unrounded_cents,
        "paid_cents": month.paid_cents,
        "notes": list(month.notes),
    }
