"""Working-day arithmetic for Wiedervorlagen: weekends and the Land's public holidays are off.

Pure functions on dates (no Flask): the Land comes in as its ISO code (settings.holiday_state).
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays

# Far enough for any follow-up a caseworker sets by hand; beyond it the input is a typo.
MAX_WORKING_DAYS = 1000


@lru_cache(maxsize=16)
def _holidays(state: str) -> holidays.HolidayBase:
    # Expanded per year on demand; cached per Land, so a list page does not rebuild it per row.
    return holidays.country_holidays("DE", subdiv=state)


def is_working_day(day: date, state: str) -> bool:
    return day.weekday() < 5 and day not in _holidays(state)


def add_working_days(start: date, days: int, state: str) -> date:
    """The date ``days`` working days after ``start`` (``start`` itself does not count).

    "In 10 Arbeitstagen" from a Friday before Whit Monday in Bavaria skips the weekend and the
    holiday, as a caseworker counting on the calendar would.
    """
    if not 0 <= days <= MAX_WORKING_DAYS:
        raise ValueError(f"working days out of range: {days}")
    day = start
    remaining = days
    while remaining:
        day += timedelta(days=1)
        if is_working_day(day, state):
            remaining -= 1
    return day


def next_working_day(day: date, state: str) -> date:
    """``day`` itself if people work on it, else the next day they do."""
    while not is_working_day(day, state):
        day += timedelta(days=1)
    return day
