"""Legal periods of a Bescheid: when it counts as notified, when the objection period ends.

Pure functions on dates (no Flask, no database); the Land comes in as its ISO code
(settings.holiday_state) for the public holidays.
"""

from __future__ import annotations

from datetime import date, timedelta

from dateutil.relativedelta import relativedelta

from backoffice.deadlines import next_working_day

# § 37 Abs. 2 Satz 1 SGB X as amended by the Postrechtsmodernisierungsgesetz: a VA posted from
# 1 January 2025 counts as notified on the 4th day after posting (before: the 3rd day).
FOURTH_DAY_RULE_FROM = date(2025, 1, 1)


def bekanntgabe_by_post(posted_on: date) -> date:
    """The day a Bescheid posted on ``posted_on`` counts as notified (§ 37 Abs. 2 SGB X).

    The fiction is not moved off a weekend or holiday: the BSG holds that § 26 Abs. 3 SGB X does
    not apply to it (BSG 6.5.2010, B 14 AS 12/09 R; to be confirmed by the office's legal
    department). Only the end of the objection period moves (see ``objection_period_end``).
    """
    days = 4 if posted_on >= FOURTH_DAY_RULE_FROM else 3
    return posted_on + timedelta(days=days)


def bekanntgabe_by_portal(provided_on: date) -> date:
    """The day a Bescheid provided in the portal postbox counts as notified.

    § 37 Abs. 2a SGB X: an electronic VA provided for retrieval counts as notified on a fixed day
    after provision. We assume the 2025 change to Abs. 2 (4th day) applies here too; that is
    UNVERIFIED (DOMAIN.md §2 covers only Abs. 2), and the later day is the safe one for the
    citizen's objection period.
    """
    return bekanntgabe_by_post(provided_on)


def add_months(start: date, months: int) -> date:
    """§ 188 Abs. 2 BGB: a period of months ends on the day of the last month with the same
    number as the starting day; § 188 Abs. 3: if that month has no such day (31 Jan + 1 month),
    on its last day (28/29 Feb)."""
    if months < 0:
        raise ValueError("a period runs forwards")
    return start + relativedelta(months=months)


def objection_period_end(bekanntgabe: date, state: str, *, instruction_missing: bool = False
                         ) -> date:
    """The last day to lodge a Widerspruch.

    § 70 Abs. 1 VwGO: one month after Bekanntgabe; § 58 Abs. 2 VwGO: one year when the
    Rechtsbehelfsbelehrung was missing or wrong. § 57 Abs. 2 VwGO with § 222 Abs. 2 ZPO: an end
    on a Saturday, Sunday or public holiday moves to the next working day.
    """
    months = 12 if instruction_missing else 1
    return next_working_day(add_months(bekanntgabe, months), state)


def is_late(received_on: date, period_end: date) -> bool:
    return received_on > period_end
