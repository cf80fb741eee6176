"""The UVG calculation: what a child is entitled to, month by month, and why.

Pure Python on plain data (no Flask, no database), so the case view, the Bescheid, the payment
run, the calculator page and the command all compute the same figures. Money is integer cents.

Decisions this module takes where the law leaves room, each stated once here:

* Part months (§ 2 Abs. 1 S. 3 UVG, UVG-RL 2.2.1): 1/30 of the table amount per entitled
  calendar day; a whole month is 30/30 whatever its length, and a part month counts at most 30
  days (so a 31-day month entitled from the 2nd pays in full, a February from the 2nd 27/30).
* Deductions in a part month are not pro-rated: § 2 Abs. 3 and 4 UVG deduct the income "in
  demselben Monat", and UVG-RL deducts income in the month it is for. Where only part of a
  month's income belongs to the entitled days, the caseworker enters that part for the month
  (``income_by_month``).
* § 9 Abs. 3 UVG: the amount is first rounded up to whole euros (S. 2), then an amount under
  5 EUR is not paid (S. 3), in the order of the sentences: 4.01 EUR becomes 5 EUR and is paid.
* Fractions of a cent (1/30 of an amount, half of the child's income) always fall in the child's
  favour; the final rounding up to euros makes this exact.
* The conditions of § 1 Abs. 1a and § 1 Abs. 3 UVG are not checked here: that is the
  eligibility checklist's job. ``start_date``/``end_date`` carry its outcome into the months.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from types import MappingProxyType
from typing import Any

from amtsweg.clock import berlin_today
from backoffice.uvg.amounts import (
    TRAINEE_ALLOWANCE_CENTS,
    AmountRow,
    NoAmountsError,
    allowance_row_for,
    amount_row_for,
    first_known_month,
)

__all__ = [
    "AmountRow",
    "Calculation",
    "CalculationError",
    "CalculationInput",
    "Deduction",
    "Income",
    "MonthResult",
    "amounts_for",
    "calculate",
]

DAYS_IN_BASIS = 30  # UVG-RL 2.2.1: 1/30 of the monthly amount per day
MINIMUM_PAYMENT_CENTS = 500  # § 9 Abs. 3 S. 3 UVG
MAX_MONTHLY_CENTS = 100_000 * 100  # no real maintenance or earnings come near; a typo does
MAX_MONTHS = 20 * 12

# Deduction kinds, as stored and shown
MAINTENANCE = "maintenance"
ORPHAN_BENEFIT = "orphan_benefit"
CHILD_INCOME = "child_income"


def N_(msgid: str) -> str:  # the name babel extracts by default
    """Mark an English msgid for extraction; the page translates it when it shows it."""
    return msgid


class CalculationError(ValueError):
    """Bad input. ``msgid`` is an English message to translate, ``params`` fill it in."""

    def __init__(self, msgid: str, **params: Any) -> None:
        self.msgid = msgid
        self.params = params
        super().__init__(msgid % params if params else msgid)


@dataclass(frozen=True)
class Income:
    """What the child receives in a month, in cents."""

    maintenance_cents: int = 0  # § 2 Abs. 3 Nr. 1 UVG
    orphan_benefit_cents: int = 0  # § 2 Abs. 3 Nr. 2 UVG
    child_income_cents: int = 0  # § 2 Abs. 4 UVG: gross earnings, counted once left school


@dataclass(frozen=True)
class CalculationInput:
    birth_date: date
    first_month: date  # first day of the first month asked for
    last_month: date  # first day of the last month asked for
    application_date: date | None = None  # § 4 UVG: nothing before the month before it
    income: Income = Income()  # every month unless overridden
    income_by_month: Mapping[date, Income] = field(
        default_factory=lambda: MappingProxyType({}))
    left_school: bool = False  # § 2 Abs. 4 UVG applies
    trainee: bool = False  # § 2 Abs. 4 S. 2 UVG: 100 EUR more deducted; implies left school
    start_date: date | None = None  # entitlement begins inside a month (pro rata)
    end_date: date | None = None  # entitlement ends inside a month (pro rata)


@dataclass(frozen=True)
class Deduction:
    kind: str  # MAINTENANCE | ORPHAN_BENEFIT | CHILD_INCOME
    cents: int
    legal_basis: str


@dataclass(frozen=True)
class MonthResult:
    month: date
    age_band: str  # "0-5" | "6-11" | "12-17"
    table_cents: int
    days: int  # days entitled, at most DAYS_IN_BASIS
    days_in_basis: int
    gross_cents: int  # table amount × days / 30, fraction of a cent rounded up
    deductions: tuple[Deduction, ...]
    unrounded_cents: int  # gross minus deductions, never negative
    paid_cents: int  # whole euros, 0 or at least 5 EUR
    notes: tuple[str, ...]  # English msgids


@dataclass(frozen=True)
class Calculation:
    months: tuple[MonthResult, ...]
    total_cents: int


# Notes shown beside a month (English msgids, translated by the page)
NOTE_NOT_BORN = N_("The child was not yet born.")
NOTE_BEFORE_APPLICATION = N_(
    "Before the month preceding the application: not paid (§ 4 UVG).")
NOTE_COMPLETED_18 = N_(
    "The child has completed its 18th year of life: the entitlement has ended "
    "(§ 1 Abs. 1 Nr. 1 UVG).")
NOTE_OUTSIDE_PERIOD = N_("Outside the entitlement period.")
NOTE_PART_MONTH = N_(
    "Part month: 1/30 of the monthly amount per entitled day (§ 2 Abs. 1 S. 3 UVG).")
NOTE_BAND_CHANGE = N_(
    "New age band from the start of this month, the month in which the child completes its "
    "6th or 12th year of life (§ 1612a Abs. 3 BGB).")
NOTE_AT_SCHOOL = N_(
    "The child's income is not deducted while the child attends a general-education school "
    "(§ 2 Abs. 4 UVG).")
NOTE_DEDUCTIONS_EXCEED = N_("The deductions reach the monthly amount: nothing to pay.")
NOTE_ROUNDED_UP = N_("Rounded up to whole euros (§ 9 Abs. 3 S. 2 UVG).")
NOTE_UNDER_MINIMUM = N_("Amounts under 5 EUR are not paid (§ 9 Abs. 3 S. 3 UVG).")


def amounts_for(month: date) -> AmountRow:
    """The table row valid in ``month`` (§ 2 Abs. 1 UVG with § 1612a BGB)."""
    try:
        return amount_row_for(month)
    except NoAmountsError:
        raise CalculationError(
            N_("No UVG amounts are known before %(month)s."),
            month=first_known_month().strftime("%m/%Y")) from None


def _anniversary(birth_date: date, years: int) -> date:
    try:
        return birth_date.replace(year=birth_date.year + years)
    except ValueError:  # born on 29 February; the year has no such day
        return date(birth_date.year + years, 3, 1)


def completes_year_of_life(birth_date: date, years: int) -> date:
    """The day at whose end the child completes its ``years``-th year of life.

    §§ 187 Abs. 2 S. 2, 188 Abs. 2 BGB: the birthday counts as the first day, so the year ends
    with the day before the birthday (born 1 March: completed at the end of the last day of
    February; born 29 February: at the end of 28 February in a common year).
    """
    return _anniversary(birth_date, years) - timedelta(days=1)


def _first_of_month(day: date) -> date:
    return day.replace(day=1)


def _month_end(month: date) -> date:
    return _add_months(month, 1) - timedelta(days=1)


def _add_months(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def age_band(birth_date: date, month: date) -> str:
    """§ 1612a Abs. 3 BGB: a band applies from the start of the month in which the child
    completes its 6th (12th) year of life, i.e. the month of the day before the birthday."""
    if month >= _first_of_month(completes_year_of_life(birth_date, 12)):
        return "12-17"
    if month >= _first_of_month(completes_year_of_life(birth_date, 6)):
        return "6-11"
    return "0-5"


def last_entitled_day(birth_date: date) -> date:
    """§ 1 Abs. 1 Nr. 1 UVG: entitled until the child completes its 18th year of life."""
    return completes_year_of_life(birth_date, 18)


def earliest_month(application_date: date) -> date:
    """§ 4 UVG: back to the month before the month the application arrived, no further."""
    return _add_months(_first_of_month(application_date), -1)


# One message per amount and problem, so a caller translates a msgid and nothing nested
_AMOUNT_MESSAGES: dict[str, tuple[str, str, str]] = {
    MAINTENANCE: (
        N_("Maintenance must be an amount in cents."),
        N_("Maintenance must not be negative."),
        N_("Maintenance: more than 100,000 EUR a month is not plausible.")),
    ORPHAN_BENEFIT: (
        N_("Orphan benefits must be an amount in cents."),
        N_("Orphan benefits must not be negative."),
        N_("Orphan benefits: more than 100,000 EUR a month is not plausible.")),
    CHILD_INCOME: (
        N_("The child's income must be an amount in cents."),
        N_("The child's income must not be negative."),
        N_("The child's income: more than 100,000 EUR a month is not plausible.")),
}


def _check_cents(value: int, kind: str) -> None:
    not_cents, negative, too_high = _AMOUNT_MESSAGES[kind]
    if not isinstance(value, int) or isinstance(value, bool):
        raise CalculationError(not_cents)
    if value < 0:
        raise CalculationError(negative)
    if value > MAX_MONTHLY_CENTS:
        raise CalculationError(too_high)


def _check_income(income: Income) -> None:
    _check_cents(income.maintenance_cents, MAINTENANCE)
    _check_cents(income.orphan_benefit_cents, ORPHAN_BENEFIT)
    _check_cents(income.child_income_cents, CHILD_INCOME)


def _validate(inp: CalculationInput, today: date) -> None:
    for month in (inp.first_month, inp.last_month):
        if month.day != 1:
            raise CalculationError(
                N_("A month must be given as its first day, not %(date)s."),
                date=month.isoformat())
    if inp.last_month < inp.first_month:
        raise CalculationError(N_("The period ends before it starts."))
    month_count = ((inp.last_month.year - inp.first_month.year) * 12
                   + inp.last_month.month - inp.first_month.month + 1)
    if month_count > MAX_MONTHS:
        raise CalculationError(N_("The period is longer than 20 years."))
    if inp.birth_date > today:
        raise CalculationError(N_("The birth date lies in the future."))
    if inp.birth_date > _month_end(inp.last_month):
        raise CalculationError(N_("The child is born only after the period."))
    if last_entitled_day(inp.birth_date) < inp.first_month:
        raise CalculationError(
            N_("The child has completed its 18th year of life before the period starts."))
    amounts_for(inp.first_month)
    if inp.start_date is not None and inp.end_date is not None and inp.end_date < inp.start_date:
        raise CalculationError(N_("The entitlement ends before it starts."))
    _check_income(inp.income)
    for month, income in inp.income_by_month.items():
        if month.day != 1 or not inp.first_month <= month <= inp.last_month:
            raise CalculationError(
                N_("Income given for %(date)s, which is not a month of the period."),
                date=month.isoformat())
        _check_income(income)


def _entitled_days(month: date, start: date, end: date) -> int:
    """Days entitled in ``month`` on the 1/30 basis of UVG-RL 2.2.1."""
    month_end = _month_end(month)
    first, last = max(month, start), min(month_end, end)
    if last < first:
        return 0
    if first == month and last == month_end:
        return DAYS_IN_BASIS
    return min((last - first).days + 1, DAYS_IN_BASIS)


def _not_entitled_note(month: date, inp: CalculationInput, earliest: date | None) -> str:
    if _month_end(month) < inp.birth_date:
        return NOTE_NOT_BORN
    if month > last_entitled_day(inp.birth_date):
        return NOTE_COMPLETED_18
    if earliest is not None and month < earliest:
        return NOTE_BEFORE_APPLICATION
    return NOTE_OUTSIDE_PERIOD


def _deductions(income: Income, month: date, counts_child_income: bool,
                trainee: bool) -> tuple[Deduction, ...]:
    found: list[Deduction] = []
    if income.maintenance_cents:
        # § 2 Abs. 3 Nr. 1 UVG: maintenance from the other parent, in full
        found.append(Deduction(MAINTENANCE, income.maintenance_cents, "§ 2 Abs. 3 Nr. 1 UVG"))
    if income.orphan_benefit_cents:
        # § 2 Abs. 3 Nr. 2 UVG: orphan benefits after the death of that parent, in full
        found.append(Deduction(ORPHAN_BENEFIT, income.orphan_benefit_cents,
                               "§ 2 Abs. 3 Nr. 2 UVG"))
    if counts_child_income and income.child_income_cents:
        # § 2 Abs. 4 UVG: gross earnings minus 1/12 of the Arbeitnehmer-Pauschbetrag
        # (§ 9a S. 1 Nr. 1 Buchst. a EStG), a trainee 100 EUR more; half of the rest counts
        net = income.child_income_cents - allowance_row_for(month).monthly_cents
        if trainee:
            net -= TRAINEE_ALLOWANCE_CENTS
        # S. 3: only half counts; a half cent falls in the child's favour
        if net // 2 > 0:
            found.append(Deduction(CHILD_INCOME, net // 2, "§ 2 Abs. 4 UVG"))
    return tuple(found)


def _ceil_div(numerator: int, denominator: int) -> int:
    return -(-numerator // denominator)


@dataclass(frozen=True)
class _Child:
    """What one calculation needs again every month, worked out once."""

    six_from: date  # first month of the 6-11 band
    twelve_from: date  # first month of the 12-17 band
    start: date  # first entitled day
    end: date  # last entitled day
    earliest: date | None  # § 4 UVG
    counts_child_income: bool

    def band(self, month: date) -> str:
        if month >= self.twelve_from:
            return "12-17"
        return "6-11" if month >= self.six_from else "0-5"


def calculate(inp: CalculationInput, *, today: date | None = None) -> Calculation:
    """Every month from ``first_month`` to ``last_month``, with what is paid and why."""
    _validate(inp, today or berlin_today())
    earliest = earliest_month(inp.application_date) if inp.application_date else None
    child = _Child(
        six_from=_first_of_month(completes_year_of_life(inp.birth_date, 6)),
        twelve_from=_first_of_month(completes_year_of_life(inp.birth_date, 12)),
        start=max(d for d in (inp.birth_date, inp.start_date, earliest) if d is not None),
        end=min(d for d in (last_entitled_day(inp.birth_date), inp.end_date) if d is not None),
        earliest=earliest,
        # § 2 Abs. 4 UVG; a trainee has left general-education school
        counts_child_income=inp.left_school or inp.trainee)

    results: list[MonthResult] = []
    month = inp.first_month
    while month <= inp.last_month:
        results.append(_month(month, inp, child))
        month = _add_months(month, 1)
    return Calculation(months=tuple(results), total_cents=sum(r.paid_cents for r in results))


def _month(month: date, inp: CalculationInput, child: _Child) -> MonthResult:
    # § 1612a Abs. 3 BGB, see age_band()
    band = child.band(month)
    table_cents = amounts_for(month).cents_for(band)
    days = _entitled_days(month, child.start, child.end)
    notes: list[str] = []
    if month in (child.six_from, child.twelve_from):
        notes.append(NOTE_BAND_CHANGE)
    if days == 0:
        notes.append(_not_entitled_note(month, inp, child.earliest))
        return MonthResult(month, band, table_cents, 0, DAYS_IN_BASIS, 0, (), 0, 0,
                           tuple(notes))
    if days < DAYS_IN_BASIS:
        notes.append(NOTE_PART_MONTH)
    gross_cents = _ceil_div(table_cents * days, DAYS_IN_BASIS)

    income = inp.income_by_month.get(month, inp.income)
    if income.child_income_cents and not child.counts_child_income:
        notes.append(NOTE_AT_SCHOOL)
    deductions = _deductions(income, month, child.counts_child_income, inp.trainee)
    unrounded = max(0, gross_cents - sum(d.cents for d in deductions))
    if deductions and unrounded == 0:
        notes.append(NOTE_DEDUCTIONS_EXCEED)

    # § 9 Abs. 3 S. 2 UVG: amounts to pay are rounded up to whole euros
    paid = _ceil_div(unrounded, 100) * 100
    if paid != unrounded:
        notes.append(NOTE_ROUNDED_UP)
    # § 9 Abs. 3 S. 3 UVG: amounts under 5 EUR are not paid
    if 0 < paid < MINIMUM_PAYMENT_CENTS:
        paid = 0
        notes.append(NOTE_UNDER_MINIMUM)
    return MonthResult(month, band, table_cents, days, DAYS_IN_BASIS, gross_cents, deductions,
                       unrounded, paid, tuple(notes))
