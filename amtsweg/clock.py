"""The office's day: one time zone for every "today" in the application.

Dates in the law, in letters and in deadlines are days in Germany, not UTC: a notice dated
today, a month's payment or a deadline that ends today all mean the calendar day in Berlin.
This module names that zone once. It imports only the standard library, so every package may
use it without an import cycle.
"""

from datetime import date, datetime
from zoneinfo import ZoneInfo

BERLIN = ZoneInfo("Europe/Berlin")


def berlin_today() -> date:
    """Today's date in Berlin, the day the office works on."""
    return datetime.now(BERLIN).date()
