"""Every rule of the UVG calculation against examples worked out by hand (working in comments).

Table amounts (DOMAIN.md §1.1): 2024 230/301/395, 2025 and 2026 227/299/394 EUR.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from backoffice.uvg.amounts import AMOUNT_ROWS, allowance_row_for
from backoffice.uvg.calculation import (
    CHILD_INCOME,
    MAINTENANCE,
    NOTE_AT_SCHOOL,
    NOTE_BAND_CHANGE,
    NOTE_BEFORE_APPLICATION,
    NOTE_COMPLETED_18,
    NOTE_DEDUCTIONS_EXCEED,
    NOTE_NOT_BORN,
    NOTE_PART_MONTH,
    NOTE_UNDER_MINIMUM,
    ORPHAN_BENEFIT,
    Calculation,
    CalculationError,
    CalculationInput,
    Income,
    MonthResult,
    age_band,
    amounts_for,
    calculate,
    completes_year_of_life,
    earliest_month,
    last_entitled_day,
)

TODAY = date(2026, 11, 26)


def calc(birth: date, first: date, last: date | None = None, **kwargs: Any) -> Calculation:
    return calculate(CalculationInput(birth_date=birth, first_month=first,
                                      last_month=last or first, **kwargs), today=TODAY)


def month(birth: date, first: date, **kwargs: Any) -> MonthResult:
    return calc(birth, first, **kwargs).months[0]


# --- amounts by validity period (§ 2 Abs. 1 and 2 UVG, § 1612a BGB, MindUhV) ---------------

@pytest.mark.parametrize(("birth", "when", "band", "euros"), [
    # Mindestunterhalt minus Kindergeld: 2024 480-250=230, 551-250=301, 645-250=395
    (date(2020, 6, 15), date(2024, 1, 1), "0-5", 230),
    (date(2016, 6, 15), date(2024, 12, 1), "6-11", 301),
    (date(2010, 6, 15), date(2024, 7, 1), "12-17", 395),
    # 2025: 482-255=227, 554-255=299, 649-255=394
    (date(2020, 6, 15), date(2025, 1, 1), "0-5", 227),
    (date(2016, 6, 15), date(2025, 6, 1), "6-11", 299),
    (date(2010, 6, 15), date(2025, 12, 1), "12-17", 394),
    # 2026: 486-259=227, 558-259=299, 653-259=394 (both inputs rose by 4 EUR)
    (date(2021, 6, 15), date(2026, 1, 1), "0-5", 227),
    (date(2016, 6, 15), date(2026, 3, 1), "6-11", 299),
    (date(2010, 6, 15), date(2026, 5, 1), "12-17", 394),
])
def test_table_amount_of_the_year_and_band_is_paid_in_full(
        birth: date, when: date, band: str, euros: int) -> None:
    result = month(birth, when)
    assert (result.age_band, result.table_cents, result.days) == (band, euros * 100, 30)
    assert result.gross_cents == result.paid_cents == euros * 100
    assert result.deductions == ()


def test_the_amounts_are_data_one_row_per_year() -> None:
    assert [row.valid_from for row in AMOUNT_ROWS] == [
        date(2024, 1, 1), date(2025, 1, 1), date(2026, 1, 1)]
    assert [row.uvg_cents for row in AMOUNT_ROWS] == [
        (23000, 30100, 39500), (22700, 29900, 39400), (22700, 29900, 39400)]
    # the newest row stays valid until a newer one is added
    assert amounts_for(date(2027, 6, 1)) is AMOUNT_ROWS[-1]


def test_a_year_change_inside_the_period_switches_the_amount() -> None:
    # born 15.06.2020: 0-5 band all along; Dec 2024 230 EUR, Jan 2025 227 EUR
    result = calc(date(2020, 6, 15), date(2024, 12, 1), date(2025, 1, 1))
    assert [m.paid_cents for m in result.months] == [23000, 22700]
    assert result.total_cents == 45700


# --- age bands (§ 1612a Abs. 3 BGB; §§ 187 Abs. 2, 188 Abs. 2 BGB) ---------------------------

def test_a_year_of_life_is_completed_at_the_end_of_the_day_before_the_birthday() -> None:
    assert completes_year_of_life(date(2019, 3, 1), 6) == date(2025, 2, 28)
    assert completes_year_of_life(date(2019, 3, 2), 6) == date(2025, 3, 1)
    # born 29.02.2020: in 2026 there is no 29 February; the year ends with 28 February
    assert completes_year_of_life(date(2020, 2, 29), 6) == date(2026, 2, 28)
    assert completes_year_of_life(date(2020, 2, 29), 4) == date(2024, 2, 28)


@pytest.mark.parametrize(("birth", "before", "change"), [
    # born 01.03.2019: 6th year completed at the end of 28.02.2025 -> 6-11 from February 2025,
    # the month BEFORE the birthday month
    (date(2019, 3, 1), date(2025, 1, 1), date(2025, 2, 1)),
    # born 02.03.2019: completed at the end of 01.03.2025 -> 6-11 from March 2025
    (date(2019, 3, 2), date(2025, 2, 1), date(2025, 3, 1)),
    # born 31.03.2019: completed at the end of 30.03.2025 -> March 2025
    (date(2019, 3, 31), date(2025, 2, 1), date(2025, 3, 1)),
    # born 01.01.2020: completed at the end of 31.12.2025 -> December 2025, a year boundary
    (date(2020, 1, 1), date(2025, 11, 1), date(2025, 12, 1)),
    # born 29.02.2020: completed at the end of 28.02.2026 -> February 2026
    (date(2020, 2, 29), date(2026, 1, 1), date(2026, 2, 1)),
])
def test_band_six_to_eleven_from_the_month_the_sixth_year_is_completed(
        birth: date, before: date, change: date) -> None:
    result = calc(birth, before, change)
    assert [m.age_band for m in result.months] == ["0-5", "6-11"]
    assert [m.paid_cents for m in result.months][-1] == 29900
    assert NOTE_BAND_CHANGE in result.months[-1].notes
    assert NOTE_BAND_CHANGE not in result.months[0].notes


@pytest.mark.parametrize(("birth", "change"), [
    # born 01.09.2013: 12th year completed at the end of 31.08.2025 -> 12-17 from August 2025
    (date(2013, 9, 1), date(2025, 8, 1)),
    # born 15.09.2013: completed at the end of 14.09.2025 -> September 2025
    (date(2013, 9, 15), date(2025, 9, 1)),
])
def test_band_twelve_to_seventeen_from_the_month_the_twelfth_year_is_completed(
        birth: date, change: date) -> None:
    before = date(change.year, change.month - 1, 1)
    assert age_band(birth, before) == "6-11"
    assert age_band(birth, change) == "12-17"
    result = calc(birth, before, change)
    assert [m.paid_cents for m in result.months] == [29900, 39400]


# --- end at 18 (§ 1 Abs. 1 Nr. 1, Abs. 1a UVG) and part months (§ 2 Abs. 1 S. 3) -------------

def test_born_on_the_first_the_last_entitled_day_ends_the_month_before() -> None:
    # born 01.03.2008: 18th year completed at the end of 28.02.2026
    assert last_entitled_day(date(2008, 3, 1)) == date(2026, 2, 28)
    result = calc(date(2008, 3, 1), date(2026, 1, 1), date(2026, 4, 1))
    # February is a whole month (30/30), March and April nothing
    assert [m.paid_cents for m in result.months] == [39400, 39400, 0, 0]
    assert [m.days for m in result.months] == [30, 30, 0, 0]
    assert result.months[2].notes == (NOTE_COMPLETED_18,)
    assert result.total_cents == 78800


def test_the_month_of_the_eighteenth_birthday_is_paid_pro_rata() -> None:
    # born 18.03.2008: last entitled day 17.03.2026 -> 17 days
    # 17 × 394 / 30 = 223.2667 EUR -> gross 223.27 -> rounded up 224 EUR
    result = month(date(2008, 3, 18), date(2026, 3, 1))
    assert (result.days, result.days_in_basis) == (17, 30)
    assert result.gross_cents == 22327
    assert result.paid_cents == 22400
    assert NOTE_PART_MONTH in result.notes


@pytest.mark.parametrize(("kwargs", "when", "days", "gross", "paid"), [
    # start 14.06.2025 (June has 30 days): days 14..30 = 17; 17 × 227 / 30 = 128.633 -> 129
    ({"start_date": date(2025, 6, 14)}, date(2025, 6, 1), 17, 12864, 12900),
    # start 02.02.2025: 27 days of February; 27 × 227 / 30 = 204.30 -> 205
    ({"start_date": date(2025, 2, 2)}, date(2025, 2, 1), 27, 20430, 20500),
    # a whole February is 30/30 although it has 28 days
    ({"start_date": date(2025, 2, 1)}, date(2025, 2, 1), 30, 22700, 22700),
    # end 30.07.2025: 30 days of a 31-day month count 30/30, the full amount
    ({"end_date": date(2025, 7, 30)}, date(2025, 7, 1), 30, 22700, 22700),
    # end 10.07.2025: 10 × 227 / 30 = 75.667 -> gross 75.67 -> 76
    ({"end_date": date(2025, 7, 10)}, date(2025, 7, 1), 10, 7567, 7600),
    # start and end in one month, 10.–19.09.2025: 10 days -> 76
    ({"start_date": date(2025, 9, 10), "end_date": date(2025, 9, 19)}, date(2025, 9, 1), 10,
     7567, 7600),
    # one single day: 1 × 227 / 30 = 7.567 -> 8 EUR, above the 5 EUR minimum
    ({"end_date": date(2025, 8, 1)}, date(2025, 8, 1), 1, 757, 800),
])
def test_part_months_pay_one_thirtieth_per_day(
        kwargs: dict[str, Any], when: date, days: int, gross: int, paid: int) -> None:
    result = month(date(2020, 10, 15), when, **kwargs)
    assert (result.days, result.gross_cents, result.paid_cents) == (days, gross, paid)


def test_the_month_of_birth_is_paid_from_the_day_of_birth() -> None:
    # born 20.05.2025: days 20..31 = 12; 12 × 227 / 30 = 90.80 -> 91 EUR; April: not yet born
    result = calc(date(2025, 5, 20), date(2025, 4, 1), date(2025, 6, 1))
    assert [m.days for m in result.months] == [0, 12, 30]
    assert [m.paid_cents for m in result.months] == [0, 9100, 22700]
    assert result.months[0].notes == (NOTE_NOT_BORN,)


# --- deductions (§ 2 Abs. 3 and 4 UVG) -------------------------------------------------------

@pytest.mark.parametrize(("income", "paid", "kinds"), [
    # 227 - 100 maintenance = 127
    (Income(maintenance_cents=10000), 12700, [MAINTENANCE]),
    # 227 - 50 maintenance - 50 orphan benefits = 127
    (Income(maintenance_cents=5000, orphan_benefit_cents=5000), 12700,
     [MAINTENANCE, ORPHAN_BENEFIT]),
    # 227 - 100.50 = 126.50 -> rounded up 127
    (Income(maintenance_cents=10050), 12700, [MAINTENANCE]),
    # 227 - 225 = 2 EUR -> under 5 EUR, not paid
    (Income(maintenance_cents=22500), 0, [MAINTENANCE]),
    # 227 - 222.50 = 4.50 -> rounded up to 5 EUR first (§ 9 Abs. 3 S. 2), then paid (S. 3)
    (Income(maintenance_cents=22250), 500, [MAINTENANCE]),
    # 227 - 222 = 5 EUR exactly: paid
    (Income(maintenance_cents=22200), 500, [MAINTENANCE]),
    # maintenance above the amount: nothing, never negative
    (Income(maintenance_cents=30000), 0, [MAINTENANCE]),
])
def test_maintenance_and_orphan_benefits_are_deducted_in_full(
        income: Income, paid: int, kinds: list[str]) -> None:
    result = month(date(2021, 4, 10), date(2025, 5, 1), income=income)
    assert result.paid_cents == paid
    assert [d.kind for d in result.deductions] == kinds
    assert all(d.legal_basis.startswith("§ 2 Abs. 3") for d in result.deductions)
    assert result.unrounded_cents == max(0, 22700 - income.maintenance_cents
                                         - income.orphan_benefit_cents)


def test_small_remainder_and_full_deduction_say_why_nothing_is_paid() -> None:
    small = month(date(2021, 4, 10), date(2025, 5, 1), income=Income(maintenance_cents=22500))
    assert NOTE_UNDER_MINIMUM in small.notes
    full = month(date(2021, 4, 10), date(2025, 5, 1), income=Income(maintenance_cents=30000))
    assert NOTE_DEDUCTIONS_EXCEED in full.notes
    assert full.unrounded_cents == 0


def test_arbeitnehmer_pauschbetrag_twelfth_is_data() -> None:
    # 1,230 EUR a year from 2023 (§ 9a S. 1 Nr. 1 Buchst. a EStG) / 12 = 102.50 EUR
    assert allowance_row_for(date(2025, 1, 1)).monthly_cents == 10250
    assert allowance_row_for(date(2026, 12, 1)).monthly_cents == 10250


@pytest.mark.parametrize(("earnings", "trainee", "deducted", "paid"), [
    # 600 - 102.50 = 497.50, half = 248.75; 394 - 248.75 = 145.25 -> 146
    (60000, False, 24875, 14600),
    # trainee: 600 - 102.50 - 100 = 397.50, half = 198.75; 394 - 198.75 = 195.25 -> 196
    (60000, True, 19875, 19600),
    # 102.51 - 102.50 = 0.01, half = 0.005 -> 0 cents in the child's favour: nothing deducted
    (10251, False, None, 39400),
    # trainee earning 150: 150 - 202.50 < 0 -> nothing deducted, never negative
    (15000, True, None, 39400),
    # 1,000 - 102.50 = 897.50, half = 448.75 > 394 -> nothing paid
    (100000, False, 44875, 0),
])
def test_child_income_after_leaving_school_counts_half_after_allowances(
        earnings: int, trainee: bool, deducted: int | None, paid: int) -> None:
    result = month(date(2009, 1, 15), date(2025, 10, 1), left_school=True, trainee=trainee,
                   income=Income(child_income_cents=earnings))
    deductions = [d for d in result.deductions if d.kind == CHILD_INCOME]
    assert [d.cents for d in deductions] == ([] if deducted is None else [deducted])
    assert all(d.legal_basis == "§ 2 Abs. 4 UVG" for d in deductions)
    assert result.paid_cents == paid


def test_child_income_at_school_is_not_deducted() -> None:
    result = month(date(2009, 1, 15), date(2025, 10, 1),
                   income=Income(child_income_cents=60000))
    assert result.deductions == ()
    assert result.paid_cents == 39400
    assert NOTE_AT_SCHOOL in result.notes


def test_a_trainee_has_left_general_school() -> None:
    # 600 - 102.50 - 100 = 397.50 -> 198.75 deducted, as with left_school
    result = month(date(2009, 1, 15), date(2025, 10, 1), trainee=True,
                   income=Income(child_income_cents=60000))
    assert [d.cents for d in result.deductions] == [19875]


def test_all_three_deductions_in_one_month() -> None:
    # 394 - 50 maintenance - 20 orphan benefits - (500 - 102.50) / 2 = 198.75 -> 125.25 -> 126
    result = month(date(2009, 1, 15), date(2025, 10, 1), left_school=True,
                   income=Income(maintenance_cents=5000, orphan_benefit_cents=2000,
                                 child_income_cents=50000))
    assert [(d.kind, d.cents) for d in result.deductions] == [
        (MAINTENANCE, 5000), (ORPHAN_BENEFIT, 2000), (CHILD_INCOME, 19875)]
    assert result.unrounded_cents == 12525
    assert result.paid_cents == 12600


def test_deductions_in_a_part_month_count_in_full() -> None:
    # born 18.03.2008, March 2026: gross 223.27 (17/30 of 394); 100 maintenance in full
    # (not 17/30 of it): 123.27 -> 124
    result = month(date(2008, 3, 18), date(2026, 3, 1), income=Income(maintenance_cents=10000))
    assert result.deductions[0].cents == 10000
    assert result.paid_cents == 12400


def test_income_of_a_single_month_overrides_the_regular_income() -> None:
    # regular 100 maintenance; in March 2025 the father paid 200: 227-100=127, 227-200=27
    result = calc(date(2021, 4, 10), date(2025, 2, 1), date(2025, 4, 1),
                  income=Income(maintenance_cents=10000),
                  income_by_month={date(2025, 3, 1): Income(maintenance_cents=20000)})
    assert [m.paid_cents for m in result.months] == [12700, 2700, 12700]
    assert result.total_cents == 28100


# --- § 4 UVG: no more than one month back --------------------------------------------------

def test_nothing_before_the_month_preceding_the_application() -> None:
    # application arrived 20.05.2025 -> earliest month April 2025
    assert earliest_month(date(2025, 5, 20)) == date(2025, 4, 1)
    assert earliest_month(date(2025, 1, 2)) == date(2024, 12, 1)
    result = calc(date(2021, 4, 10), date(2025, 2, 1), date(2025, 5, 1),
                  application_date=date(2025, 5, 20))
    assert [m.paid_cents for m in result.months] == [0, 0, 22700, 22700]
    assert result.months[0].notes == (NOTE_BEFORE_APPLICATION,)
    assert result.total_cents == 45400


# --- rounding (§ 9 Abs. 3 UVG) and the total -----------------------------------------------

def test_total_is_the_sum_of_the_months_in_whole_euros() -> None:
    # born 18.03.2008: Jan 394 + Feb 394 + Mar 224 (17 days) + Apr 0 = 1,012 EUR
    result = calc(date(2008, 3, 18), date(2026, 1, 1), date(2026, 4, 1))
    assert result.total_cents == 101200
    assert all(m.paid_cents % 100 == 0 for m in result.months)


# --- bad input -----------------------------------------------------------------------------

@pytest.mark.parametrize(("kwargs", "message"), [
    ({"birth_date": date(2027, 1, 1)}, "The birth date lies in the future."),
    ({"birth_date": date(2007, 5, 1)},
     "The child has completed its 18th year of life before the period starts."),
    ({"first_month": date(2025, 6, 1), "last_month": date(2025, 5, 1)},
     "The period ends before it starts."),
    ({"first_month": date(2025, 6, 15)},
     "A month must be given as its first day, not 2025-06-15."),
    ({"last_month": date(2025, 12, 31)},
     "A month must be given as its first day, not 2025-12-31."),
    ({"first_month": date(2024, 1, 1), "last_month": date(2044, 1, 1)},
     "The period is longer than 20 years."),
    ({"first_month": date(2023, 12, 1)}, "No UVG amounts are known before 01/2024."),
    ({"birth_date": date(2026, 10, 1), "first_month": date(2026, 1, 1),
      "last_month": date(2026, 9, 1)}, "The child is born only after the period."),
    ({"income": Income(maintenance_cents=-1)}, "Maintenance must not be negative."),
    ({"income": Income(orphan_benefit_cents=10_000_001)},
     "Orphan benefits: more than 100,000 EUR a month is not plausible."),
    ({"income": Income(child_income_cents=-500)}, "The child's income must not be negative."),
    ({"income_by_month": {date(2024, 1, 1): Income()}},
     "Income given for 2024-01-01, which is not a month of the period."),
    ({"income_by_month": {date(2025, 6, 2): Income()}},
     "Income given for 2025-06-02, which is not a month of the period."),
    ({"income_by_month": {date(2025, 6, 1): Income(maintenance_cents=-5)}},
     "Maintenance must not be negative."),
    ({"start_date": date(2025, 6, 20), "end_date": date(2025, 6, 10)},
     "The entitlement ends before it starts."),
])
def test_bad_input_is_refused_with_a_clear_message(kwargs: dict[str, Any], message: str) -> None:
    values: dict[str, Any] = {"birth_date": date(2020, 1, 1), "first_month": date(2025, 6, 1),
                              "last_month": date(2025, 12, 1), **kwargs}
    with pytest.raises(CalculationError) as caught:
        calculate(CalculationInput(**values), today=TODAY)
    assert str(caught.value) == message
    assert caught.value.msgid  # an English msgid the page translates


def test_a_float_amount_is_refused() -> None:
    with pytest.raises(CalculationError, match="amount in cents"):
        calc(date(2020, 1, 1), date(2025, 6, 1),
             income=Income(maintenance_cents=100.5))  # type: ignore[arg-type]


def test_exactly_twenty_years_is_accepted() -> None:
    # 240 months from 01/2024 to 12/2043; the child born 2024 is entitled all along
    result = calc(date(2024, 1, 1), date(2024, 1, 1), date(2043, 12, 1))
    assert len(result.months) == 240
    assert result.months[-1].paid_cents == 0  # completed its 18th year on 31.12.2041
