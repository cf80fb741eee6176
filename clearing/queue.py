"""Reading the queue: the list with keyset pagination, counts, working-day ages, lead figures."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any

import holidays
from flask_babel import LazyString
from sqlalchemy import Select, func, select, tuple_
from sqlalchemy.orm import defer, joinedload, lazyload

from amtsweg.audit.models import AuditEntry
from amtsweg.clock import BERLIN, berlin_today
from amtsweg.extensions import db
from amtsweg.staff.models import Staff
from amtsweg.translate import lazy_gettext as _l
from clearing.models import OPEN_STATUSES, Eingang, EingangKind, EingangStatus

PAGE_SIZE = 50
# Items older than this many working days stand out in the queue (issue 4: default 2).
WAITING_LIMIT_WORKING_DAYS = 2
AGE_BANDS: tuple[tuple[int, int | None], ...] = ((0, 1), (2, 5), (6, 10), (11, None))


# --- working days -------------------------------------------------------------------------------


@lru_cache(maxsize=16)
def _holidays(state: str) -> holidays.HolidayBase:
    return holidays.country_holidays("DE", subdiv=state)


def is_working_day(day: date, state: str) -> bool:
    return day.weekday() < 5 and day not in _holidays(state)


@lru_cache(maxsize=4096)
def working_days_between(start: date, end: date, state: str) -> int:
    """Working days after ``start`` up to and including ``end`` (received today: 0)."""
    if end <= start:
        return 0
    days = (end - start).days
    return sum(1 for offset in range(1, days + 1)
               if is_working_day(start + timedelta(days=offset), state))


def latest_day_with_age(today: date, age: int, state: str) -> date:
    """The last calendar day whose items are at least ``age`` working days old today."""
    day, counted = today, 0
    while counted < age:
        if is_working_day(day, state):
            counted += 1
        day -= timedelta(days=1)
    return day


def berlin_day(moment: datetime) -> date:
    return moment.astimezone(BERLIN).date()


def start_of_berlin_day(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=BERLIN).astimezone(UTC)


def age_in_working_days(received_at: datetime, state: str, today: date | None = None) -> int:
    return working_days_between(berlin_day(received_at), today or berlin_today(), state)


# --- the list -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueFilter:
    kind: EingangKind | None = None
    service_code: str | None = None
    status: EingangStatus | None = None
    min_age: int | None = None  # working days


@dataclass(frozen=True)
class Cursor:
    """The last row of a page: the next page starts after it (keyset, never OFFSET)."""

    received_at: datetime
    id: int

    def encode(self) -> str:
        return f"{int(self.received_at.timestamp() * 1_000_000)}.{self.id}"

    @classmethod
    def decode(cls, raw: str | None) -> Cursor | None:
        # A hand-edited cursor is ignored, not refused: it is nothing a person typed.
        if not raw or len(raw) > 40:
            return None
        micros, _, ident = raw.partition(".")
        if not micros.isdecimal() or not ident.isdecimal():
            return None
        try:
            moment = datetime.fromtimestamp(int(micros) / 1_000_000, UTC)
        except (OverflowError, OSError, ValueError):
            return None
        return cls(moment, int(ident))


@dataclass(frozen=True)
class QueuePage:
    items: list[Eingang]
    next_cursor: Cursor | None


def _filtered(query: Select[Any], queue_filter: QueueFilter, state: str) -> Select[Any]:
    if queue_filter.kind is not None:
        query = query.where(Eingang.kind == queue_filter.kind)
    if queue_filter.service_code:
        query = query.where(Eingang.service_code == queue_filter.service_code)
    if queue_filter.min_age:
        last_day = latest_day_with_age(berlin_today(), queue_filter.min_age, state)
        query = query.where(Eingang.received_at < start_of_berlin_day(last_day
                                                                      + timedelta(days=1)))
    return query


def queue_page(queue_filter: QueueFilter, cursor: Cursor | None, state: str,
               limit: int = PAGE_SIZE) -> QueuePage:
    """One page of the queue, oldest first; without a status filter only the open items."""
    statuses = (queue_filter.status,) if queue_filter.status else OPEN_STATUSES
    # The list shows the holder's name only: no documents, no holder's roles or Fachbereiche
    # (each would be one more statement per page); and not the answers and message, which are
    # the bulk of a row and only the item's own page shows.
    query = select(Eingang).where(Eingang.status.in_(statuses)).options(
        defer(Eingang.payload, raiseload=True), defer(Eingang.message, raiseload=True),
        lazyload(Eingang.documents),
        joinedload(Eingang.claimed_by).options(lazyload(Staff.role_rows),
                                               lazyload(Staff.fachbereiche)))
    query = _filtered(query, queue_filter, state)
    if cursor is not None:
        query = query.where(tuple_(Eingang.received_at, Eingang.id)
                            > tuple_(cursor.received_at, cursor.id))
    rows = list(db.session.scalars(
        query.order_by(Eingang.received_at, Eingang.id).limit(limit + 1)).unique())
    items = rows[:limit]
    has_more = len(rows) > limit
    next_cursor = Cursor(items[-1].received_at, items[-1].id) if has_more else None
    return QueuePage(items, next_cursor)


def open_counts(queue_filter: QueueFilter, state: str) -> dict[EingangStatus, int]:
    """How many items wait in each open status (routed ones are not counted: there are many)."""
    query = select(Eingang.status, func.count(Eingang.id)).where(
        Eingang.status.in_(OPEN_STATUSES)).group_by(Eingang.status)
    if queue_filter.kind is not None:
        query = query.where(Eingang.kind == queue_filter.kind)
    if queue_filter.service_code:
        query = query.where(Eingang.service_code == queue_filter.service_code)
    if queue_filter.min_age:
        last_day = latest_day_with_age(berlin_today(), queue_filter.min_age, state)
        query = query.where(Eingang.received_at < start_of_berlin_day(last_day
                                                                      + timedelta(days=1)))
    counts = dict.fromkeys(OPEN_STATUSES, 0)
    for status, count in db.session.execute(query):
        counts[EingangStatus(status)] = count
    return counts


def service_codes_in_use() -> list[str]:
    return [code for code in db.session.scalars(
        select(Eingang.service_code).where(Eingang.status.in_(OPEN_STATUSES),
                                           Eingang.service_code.is_not(None))
        .distinct()) if code]


# --- one item's surroundings --------------------------------------------------------------------


def other_items_of_sender(eingang: Eingang, limit: int = 20) -> list[Eingang]:
    if eingang.citizen_id is None:
        return []
    return list(db.session.scalars(
        select(Eingang).where(Eingang.citizen_id == eingang.citizen_id, Eingang.id != eingang.id)
        .order_by(Eingang.received_at.desc(), Eingang.id.desc()).limit(limit)).unique())


def history_of(eingang: Eingang) -> list[AuditEntry]:
    return list(db.session.scalars(
        select(AuditEntry).where(AuditEntry.object_type == "eingang",
                                 AuditEntry.object_id == str(eingang.id))
        .order_by(AuditEntry.id)))


# --- the lead's figures -------------------------------------------------------------------------


@dataclass(frozen=True)
class Durations:
    count: int
    median_hours: float | None
    p90_hours: float | None


def items_per_day_and_kind(days: int = 14) -> list[tuple[date, dict[EingangKind, int]]]:
    today = berlin_today()
    first = today - timedelta(days=days - 1)
    per_day: dict[date, Counter[EingangKind]] = {first + timedelta(days=offset): Counter()
                                                 for offset in range(days)}
    rows = db.session.execute(select(Eingang.received_at, Eingang.kind).where(
        Eingang.received_at >= start_of_berlin_day(first)))
    for received_at, kind in rows:
        day = berlin_day(received_at)
        if day in per_day:
            per_day[day][EingangKind(kind)] += 1
    return [(day, dict(counter)) for day, counter in sorted(per_day.items())]


def waiting_by_age_band(state: str) -> list[tuple[tuple[int, int | None], int]]:
    today = berlin_today()
    ages = [age_in_working_days(received_at, state, today) for received_at in db.session.scalars(
        select(Eingang.received_at).where(Eingang.status.in_(OPEN_STATUSES)))]
    return [(band, sum(1 for age in ages if band[0] <= age and (band[1] is None
                                                                  or age <= band[1])))
            for band in AGE_BANDS]


def routing_durations(days: int = 30) -> Durations:
    """Hours from arrival to routing, over the items clerks routed in the period.

    Computed in Python: SQLite has no percentile function, and a month of routed items is small.
    Follow-ups the system routed by itself are left out; they would pull the figures to zero.
    """
    since = start_of_berlin_day(berlin_today() - timedelta(days=days - 1))
    rows = db.session.execute(select(Eingang.received_at, Eingang.routed_at).where(
        Eingang.routed_at >= since, Eingang.routed_by_id.is_not(None)))
    hours = [(routed_at - received_at).total_seconds() / 3600
             for received_at, routed_at in rows if routed_at is not None]
    return _durations(hours)


def _durations(hours: list[float]) -> Durations:
    if not hours:
        return Durations(0, None, None)
    if len(hours) == 1:
        return Durations(1, hours[0], hours[0])
    p90 = statistics.quantiles(hours, n=10, method="inclusive")[8]
    return Durations(len(hours), statistics.median(hours), p90)


@dataclass(frozen=True)
class Throughput:
    staff_name: str
    week: str  # ISO week, e.g. 2026-W48
    routed: int
    rejected: int


def throughput_per_clerk(weeks: int = 4) -> list[Throughput]:
    since = start_of_berlin_day(berlin_today() - timedelta(weeks=weeks))
    routed = db.session.execute(select(Eingang.routed_by_id, Eingang.routed_at).where(
        Eingang.routed_at >= since, Eingang.routed_by_id.is_not(None)))
    rejected = db.session.execute(select(Eingang.rejected_by_id, Eingang.rejected_at).where(
        Eingang.rejected_at >= since, Eingang.rejected_by_id.is_not(None)))
    table: dict[tuple[int, str], list[int]] = defaultdict(lambda: [0, 0])
    for column, rows in ((0, routed), (1, rejected)):
        for staff_id, moment in rows:
            if staff_id is not None and moment is not None:
                table[(staff_id, _iso_week(moment))][column] += 1
    names = _staff_names(staff_id for staff_id, _ in table)
    return sorted((Throughput(names.get(staff_id, "?"), week, counts[0], counts[1])
                   for (staff_id, week), counts in table.items()),
                  key=lambda row: (row.week, row.staff_name), reverse=True)


def _iso_week(moment: datetime) -> str:
    year, week, _ = berlin_day(moment).isocalendar()
    return f"{year}-W{week:02d}"


def _staff_names(ids: Iterable[int]) -> dict[int, str]:
    wanted = set(ids)
    if not wanted:
        return {}
    return dict(db.session.execute(select(Staff.id, Staff.full_name).where(
        Staff.id.in_(wanted))).all())


# --- labels -------------------------------------------------------------------------------------

KIND_LABELS: dict[EingangKind, LazyString] = {
    EingangKind.NEUANTRAG: _l("Neuantrag"),
    EingangKind.NACHREICHUNG: _l("Nachreichung"),
    EingangKind.VERAENDERUNG: _l("Veränderungsmitteilung"),
    EingangKind.WIDERSPRUCH: _l("Widerspruch"),
    EingangKind.NACHRICHT: _l("Message"),
    EingangKind.ANTWORT: _l("Answer to a request"),
    EingangKind.PAPIEREINGANG: _l("Paper mail"),
}

STATUS_LABELS: dict[EingangStatus, LazyString] = {
    EingangStatus.NEW: _l("new"),
    EingangStatus.IN_TRIAGE: _l("in triage"),
    EingangStatus.WAITING_FOR_CITIZEN: _l("waiting for the citizen"),
    EingangStatus.ROUTED: _l("routed"),
    EingangStatus.REJECTED: _l("rejected"),
}
