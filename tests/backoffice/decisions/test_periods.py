"""The legal periods, as tables from the calendar (pure functions, no app)."""

from __future__ import annotations

from datetime import date

import pytest

from backoffice.decisions.periods import (
    add_months,
    bekanntgabe_by_portal,
    bekanntgabe_by_post,
    is_late,
    objection_period_end,
)


@pytest.mark.parametrize(("start", "months", "end"), [
    (date(2025, 1, 31), 1, date(2025, 2, 28)),  # § 188 Abs. 3 BGB: no 31 February
    (date(2024, 1, 31), 1, date(2024, 2, 29)),  # leap year
    (date(2026, 3, 31), 1, date(2026, 4, 30)),
    (date(2026, 1, 30), 1, date(2026, 2, 28)),
    (date(2026, 2, 28), 1, date(2026, 3, 28)),  # § 188 Abs. 2: same number, not month end
    (date(2026, 12, 15), 1, date(2027, 1, 15)),  # across the year
    (date(2024, 2, 29), 12, date(2025, 2, 28)),
])
def test_months_end_on_the_day_with_the_same_number(start: date, months: int,
                                                    end: date) -> None:
    assert add_months(start, months) == end


def test_a_period_never_runs_backwards() -> None:
    with pytest.raises(ValueError, match="forwards"):
        add_months(date(2026, 1, 1), -1)


@pytest.mark.parametrize(("posted", "notified"), [
    (date(2025, 11, 28), date(2025, 12, 2)),  # Friday, across the weekend and the month end
    (date(2025, 2, 27), date(2025, 3, 3)),  # Thursday in February, into March
    (date(2026, 11, 25), date(2026, 11, 29)),  # lands on a Sunday: the fiction is not moved
    (date(2025, 1, 1), date(2025, 1, 5)),  # the first day of the 4th-day rule
    (date(2024, 12, 31), date(2025, 1, 3)),  # posted before 2025: still the 3rd day
])
def test_a_posted_bescheid_counts_as_received_on_the_fourth_day(posted: date,
                                                                notified: date) -> None:
    assert bekanntgabe_by_post(posted) == notified


def test_the_postbox_uses_the_same_fourth_day() -> None:
    assert bekanntgabe_by_portal(date(2026, 11, 26)) == date(2026, 11, 30)


@pytest.mark.parametrize(("notified", "end"), [
    (date(2025, 1, 31), date(2025, 2, 28)),  # Friday
    (date(2025, 12, 2), date(2026, 1, 2)),  # Friday after New Year
    (date(2025, 12, 1), date(2026, 1, 2)),  # 1 January is a holiday
    (date(2025, 12, 6), date(2026, 1, 7)),  # 6 January (Epiphany) is a holiday in Bavaria
    (date(2026, 4, 30), date(2026, 6, 1)),  # 30 May 2026 is a Saturday
    (date(2026, 8, 31), date(2026, 9, 30)),
])
def test_the_objection_period_is_one_month_moved_off_weekends_and_holidays(
        notified: date, end: date) -> None:
    assert objection_period_end(notified, "BY") == end


def test_epiphany_is_no_holiday_in_berlin() -> None:
    assert objection_period_end(date(2025, 12, 6), "BE") == date(2026, 1, 6)


def test_a_missing_instruction_gives_one_year() -> None:
    # § 58 Abs. 2 VwGO; 15 March 2027 is a Monday.
    assert objection_period_end(date(2026, 3, 15), "BY", instruction_missing=True) == \
        date(2027, 3, 15)


def test_posted_on_a_friday_before_the_month_end() -> None:
    notified = bekanntgabe_by_post(date(2025, 11, 28))
    end = objection_period_end(notified, "BY")
    assert end == date(2026, 1, 2)
    assert not is_late(date(2026, 1, 2), end)
    assert is_late(date(2026, 1, 3), end)
