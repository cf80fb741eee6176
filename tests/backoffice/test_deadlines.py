"""Working days with the Land's public holidays (pure, no app)."""

from __future__ import annotations

from datetime import date

import pytest

from backoffice.deadlines import add_working_days, is_working_day, next_working_day


@pytest.mark.parametrize(("start", "days", "state", "expected"), [
    # Friday before Whit Monday 2026 (25 May): the weekend and the holiday do not count.
    (date(2026, 5, 22), 1, "BY", date(2026, 5, 26)),
    # Epiphany (6 January) is a holiday in Bavaria, not in Berlin.
    (date(2027, 1, 5), 1, "BY", date(2027, 1, 7)),
    (date(2027, 1, 5), 1, "BE", date(2027, 1, 6)),
    # Corpus Christi (4 June 2026) is a holiday in Bavaria, not in Berlin.
    (date(2026, 6, 3), 1, "BY", date(2026, 6, 5)),
    (date(2026, 6, 3), 1, "BE", date(2026, 6, 4)),
    # Two weeks of working days across Christmas and New Year (24 and 31 December are
    # working days; 25, 26 December and 1 January are not).
    (date(2026, 12, 18), 10, "BY", date(2027, 1, 5)),
    (date(2026, 3, 2), 0, "BY", date(2026, 3, 2)),
])
def test_working_days_skip_weekends_and_the_lands_holidays(start: date, days: int, state: str,
                                                           expected: date) -> None:
    assert add_working_days(start, days, state) == expected


def test_a_negative_or_absurd_number_of_days_is_refused() -> None:
    with pytest.raises(ValueError, match="out of range"):
        add_working_days(date(2026, 1, 1), -1, "BY")
    with pytest.raises(ValueError, match="out of range"):
        add_working_days(date(2026, 1, 1), 10_000, "BY")


def test_next_working_day_moves_off_holidays_and_weekends() -> None:
    assert not is_working_day(date(2026, 10, 3), "BY")  # Tag der Deutschen Einheit, Saturday
    assert next_working_day(date(2026, 12, 25), "BY") == date(2026, 12, 28)
    assert next_working_day(date(2026, 12, 23), "BY") == date(2026, 12, 23)
