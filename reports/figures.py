"""Every figure of the statistics page, as SQL aggregates over the real records.

Each figure is one function ``(period, scope) -> Table``; the page, the charts and every export
read the same ``Table``, so what is shown is what is downloaded. Amounts stay integer cents up
to the moment they are formatted.

Percentiles: PostgreSQL computes them with ``percentile_cont`` (linear interpolation). SQLite
has no percentile function; there one query fetches the durations already sorted by the
database and ``percentile_cont`` below interpolates exactly as PostgreSQL does, so both
databases give the same figure.

Figures that describe a state ("open deadlines", "caseload", "children receiving UVG") are taken
at the end of the period (or today, for a period still running). Figures the records only hold
as a current state (orders waiting for approval, unmatched receipts, § 7a flags) say so in
their note.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from flask import g, has_request_context
from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    func,
    literal,
    or_,
    select,
    true,
)

from amtsweg.clock import BERLIN, berlin_today
from amtsweg.extensions import db
from amtsweg.staff.models import Fachbereich, Staff
from amtsweg.translate import lazy_gettext as _l
from backoffice.decisions.models import DECISION_KIND_LABELS, Decision, DecisionKind, DecisionStatus
from backoffice.models import Fall, Party, PartyRole, Wiedervorlage
from backoffice.uvg.calculation import age_band
from backoffice.uvg.models import (
    UVG_CHILD_STATUS_LABELS,
    UVG_END_REASON_LABELS,
    UvgChild,
    UvgChildStatus,
    UvgEndReason,
    UvgEntitlement,
)
from backoffice.uvg.payments import SOURCE as UVG_PAYMENT_SOURCE
from backoffice.uvg.recovery_models import UvgRecovery, UvgRecoveryReceipt
from clearing.models import Eingang, EingangKind
from clearing.queue import KIND_LABELS
from ihv.models import Booking, BookingStatus, Direction, OrderStatus, Sollstellung

UVG_CODE = "uvg"
AGE_BANDS = ("0-5", "6-11", "12-17")

# An order is part of the Soll once it is angeordnet (Art. 70 BayHO: only an ordered payment may
# leave); drafts and established orders are still waiting for approval.
SOLL_STATUSES = (OrderStatus.ANGEORDNET, OrderStatus.TRANSMITTED, OrderStatus.ACKNOWLEDGED,
                 OrderStatus.BOOKED)
WAITING_STATUSES = (OrderStatus.DRAFT, OrderStatus.FESTGESTELLT, OrderStatus.ANGEORDNET)


# --- periods and scope --------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """Calendar days ``start`` up to, not including, ``end`` (both Europe/Berlin days)."""

    start: date
    end: date

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    @property
    def last_month(self) -> date:
        return self.last_day.replace(day=1)

    @property
    def start_utc(self) -> datetime:
        return berlin_midnight(self.start)

    @property
    def end_utc(self) -> datetime:
        return berlin_midnight(self.end)

    def months(self) -> list[date]:
        months, month = [], self.start.replace(day=1)
        while month < self.end:
            months.append(month)
            month = next_month(month)
        return months

    def years(self) -> list[int]:
        return list(range(self.start.year, self.last_day.year + 1))

    def state_day(self, today: date) -> date:
        """The day a state figure is taken: the period's last day, or today while it runs."""
        return min(self.last_day, today)


def berlin_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=BERLIN).astimezone(UTC)


def next_month(month: date) -> date:
    return date(month.year + (month.month == 12), month.month % 12 + 1, 1)


@dataclass(frozen=True)
class Scope:
    """Whose records count: the Fachbereiche chosen (and allowed), or the whole office.

    ``fachbereich_ids`` None means the whole office, including what belongs to no case yet
    (unrouted items, manual orders, unmatched receipts); only office-wide roles get it.
    """

    fachbereich_ids: frozenset[int] | None

    @property
    def office_wide(self) -> bool:
        return self.fachbereich_ids is None


def _fall_in_scope(fall_id: Any, scope: Scope) -> ColumnElement[bool]:
    if scope.fachbereich_ids is None:
        return true()
    condition: ColumnElement[bool] = fall_id.in_(select(Fall.id).where(
        Fall.fachbereich_id.in_(sorted(scope.fachbereich_ids))))
    return condition


def uvg_fachbereich_id() -> int | None:
    return db.session.scalar(select(Fachbereich.id).where(Fachbereich.code == UVG_CODE))


def uvg_in_scope(scope: Scope) -> bool:
    uvg_id = uvg_fachbereich_id()
    return uvg_id is not None and (scope.fachbereich_ids is None
                                   or uvg_id in scope.fachbereich_ids)


def _dialect() -> str:
    return db.session.get_bind().dialect.name


# --- the table every figure returns -------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    label: Any  # a lazy string
    kind: str  # text | count | cents | hours | days | percent


@dataclass
class Table:
    key: str
    title: Any
    columns: tuple[Column, ...]
    rows: list[tuple[Any, ...]]
    note: Any = ""
    # How the chart beside the table is drawn: "bar" over (label column, value column), or
    # "line" over the label column and every numeric column, or None for no chart.
    chart: str | None = None
    chart_value_columns: tuple[int, ...] = (1,)
    # The last row sums the others (left out of the chart, whose scale it would flatten).
    has_total: bool = False
    meta: dict[str, Any] = field(default_factory=dict)


def _text(label: Any) -> Column:
    return Column(label, "text")


def _count(label: Any) -> Column:
    return Column(label, "count")


def _cents(label: Any) -> Column:
    return Column(label, "cents")


# --- percentiles --------------------------------------------------------------------------------


def percentile_cont(sorted_values: Sequence[float], fraction: float) -> float | None:
    """PostgreSQL's percentile_cont: linear interpolation between the two nearest ranks."""
    if not sorted_values:
        return None
    position = fraction * (len(sorted_values) - 1)
    lower = math.floor(position)
    upper = min(lower + 1, len(sorted_values) - 1)
    weight = position - lower
    return sorted_values[lower] + (sorted_values[upper] - sorted_values[lower]) * weight


@dataclass(frozen=True)
class Durations:
    count: int
    median: float | None
    p90: float | None


def _durations(start: Any, stop: Any, unit_seconds: int,
               where: Callable[[Select[Any]], Select[Any]],
               source: Any | None = None) -> Durations:
    """Median and 90th percentile of ``stop - start`` in the given unit, over ``where``."""
    if _dialect() == "postgresql":
        seconds = func.extract("epoch", stop - start) / unit_seconds
        query = select(func.count(), func.percentile_cont(0.5).within_group(seconds),
                       func.percentile_cont(0.9).within_group(seconds))
        if source is not None:
            query = query.select_from(source)
        count, median, p90 = db.session.execute(where(query)).one()
        return Durations(int(count), None if median is None else float(median),
                         None if p90 is None else float(p90))
    # SQLite: julianday differences in days, sorted by the database, interpolated here.
    value = (func.julianday(stop) - func.julianday(start)) * (86400.0 / unit_seconds)
    query = select(value.label("value"))
    if source is not None:
        query = query.select_from(source)
    values = [float(v) for v in db.session.scalars(where(query).order_by(value))]
    return Durations(len(values), percentile_cont(values, 0.5), percentile_cont(values, 0.9))


# --- UVG figures (DOMAIN.md §1.6) ---------------------------------------------------------------


def children_by_age_band(period: Period, scope: Scope) -> Table:
    """Children receiving UVG at the end of the period, by age band.

    A child counts when it has a current (not superseded) entitlement above zero for the last
    month of the period. The age band is the calculation's own (§ 1612a Abs. 3 BGB via
    ``age_band``); the database counts per birth date, the band is assigned per birth date.
    """
    month = period.last_month
    rows = db.session.execute(
        select(UvgChild.birth_date, func.count())
        .select_from(UvgEntitlement)
        .join(UvgChild, UvgChild.id == UvgEntitlement.uvg_child_id)
        .where(UvgEntitlement.month == month, UvgEntitlement.superseded.is_(False),
               UvgEntitlement.paid_cents > 0, _fall_in_scope(UvgEntitlement.fall_id, scope))
        .group_by(UvgChild.birth_date))
    bands: Counter[str] = Counter()
    for birth_date, count in rows:
        bands[age_band(birth_date, month)] += int(count)
    table_rows: list[tuple[Any, ...]] = [(_band_label(band), bands[band]) for band in AGE_BANDS]
    table_rows.append((_l("Total"), sum(bands.values())))
    return Table("uvg_children", _l("Children receiving UVG at the end of the period"),
                 (_text(_l("Age")), _count(_l("Children"))), table_rows,
                 note=_l("Children with a payable entitlement for %(month)s.",
                         month=month.strftime("%m/%Y")),
                 chart="bar", meta={"month": month, "bands": dict(bands)}, has_total=True)


def _band_label(band: str) -> Any:
    low, high = band.split("-")
    return _l("%(low)s to %(high)s years", low=low, high=high)


def new_applications(period: Period, scope: Scope) -> Table:
    """Children whose UVG application arrived in the period (§ 4 UVG date), by present status."""
    rows = dict(db.session.execute(
        select(UvgChild.status, func.count())
        .where(UvgChild.application_date >= period.start, UvgChild.application_date < period.end,
               _fall_in_scope(UvgChild.fall_id, scope))
        .group_by(UvgChild.status)).all())
    table_rows: list[tuple[Any, ...]] = [
        (UVG_CHILD_STATUS_LABELS[status], int(rows.get(status, 0))) for status in UvgChildStatus]
    table_rows.append((_l("Total"), sum(int(v) for v in rows.values())))
    return Table("uvg_applications", _l("New applications (children)"),
                 (_text(_l("Status today")), _count(_l("Children"))), table_rows, chart="bar",
                 note=_l("Counted by the day the application arrived; status as of today."),
                 meta={"by_status": {str(k): int(v) for k, v in rows.items()}}, has_total=True)


def decisions_by_kind(period: Period, scope: Scope) -> Table:
    """Decisions issued in the period on UVG cases, by kind."""
    uvg_id = uvg_fachbereich_id()
    rows = dict(db.session.execute(
        select(Decision.kind, func.count())
        .join(Fall, Fall.id == Decision.fall_id)
        .where(Decision.status == DecisionStatus.ISSUED, Decision.issued_at >= period.start_utc,
               Decision.issued_at < period.end_utc, Fall.fachbereich_id == uvg_id,
               _fall_in_scope(Decision.fall_id, scope))
        .group_by(Decision.kind)).all())
    table_rows: list[tuple[Any, ...]] = [
        (DECISION_KIND_LABELS[kind], int(rows.get(kind, 0))) for kind in DecisionKind]
    table_rows.append((_l("Total"), sum(int(v) for v in rows.values())))
    return Table("uvg_decisions", _l("Decisions issued, by kind"),
                 (_text(_l("Kind")), _count(_l("Decisions"))), table_rows, chart="bar",
                 meta={"by_kind": {str(k): int(v) for k, v in rows.items()}}, has_total=True)


def ended_by_reason(period: Period, scope: Scope) -> Table:
    """Children whose benefit ended in the period (last entitled day), by reason."""
    rows = dict(db.session.execute(
        select(UvgChild.end_reason, func.count())
        .where(UvgChild.status == UvgChildStatus.ENDED, UvgChild.ended_on >= period.start,
               UvgChild.ended_on < period.end, _fall_in_scope(UvgChild.fall_id, scope))
        .group_by(UvgChild.end_reason)).all())
    table_rows: list[tuple[Any, ...]] = [
        (UVG_END_REASON_LABELS[reason], int(rows.get(reason, 0))) for reason in UvgEndReason]
    table_rows.append((_l("Total"), sum(int(v) for v in rows.values())))
    return Table("uvg_ended", _l("Ended cases, by reason"),
                 (_text(_l("Reason")), _count(_l("Children"))), table_rows, chart="bar",
                 meta={"by_reason": {str(k): int(v) for k, v in rows.items()}}, has_total=True)


def _month_of(column: Any) -> Any:
    if _dialect() == "postgresql":
        return func.to_char(column, "YYYY-MM")
    return func.strftime("%Y-%m", column)


OrderMonthRow = tuple[str, str, str, str, int, int, int]


# The key in flask.g of the rows below, per (period, scope); the dashboard hands the same dict
# to the threads of its sections (reports.views), so the pass runs once per request.
ORDER_ROWS_CACHE = "reports_order_rows"


def order_month_rows(period: Period, scope: Scope) -> list[OrderMonthRow]:
    """Orders angeordnet or later and due in the period, summed per Haushaltsstelle,
    direction, source and due month: (hst, direction, source, "YYYY-MM", soll, ist, open).

    The Soll/Ist table and the UVG amounts both read these rows; within one request the rows
    are computed once (one pass over what may be a million orders a year).
    """
    cache: dict[Any, list[OrderMonthRow]] | None = (
        g.setdefault(ORDER_ROWS_CACHE, {}) if has_request_context() else None)
    if cache is not None and (period, scope) in cache:
        return cache[(period, scope)]
    month = _month_of(Sollstellung.due_date)
    open_part = case((Sollstellung.amount_cents > Sollstellung.booked_cents,
                      Sollstellung.amount_cents - Sollstellung.booked_cents), else_=literal(0))
    rows: list[OrderMonthRow] = [
        (hst, str(direction), source, key, int(soll), int(ist), int(still_open))
        for hst, direction, source, key, soll, ist, still_open in db.session.execute(
            select(Sollstellung.haushaltsstelle, Sollstellung.direction, Sollstellung.source,
                   month, func.sum(Sollstellung.amount_cents),
                   func.sum(Sollstellung.booked_cents), func.sum(open_part))
            .where(Sollstellung.status.in_(SOLL_STATUSES), Sollstellung.due_date >= period.start,
                   Sollstellung.due_date < period.end,
                   _fall_in_scope(Sollstellung.fall_id, scope))
            .group_by(Sollstellung.haushaltsstelle, Sollstellung.direction,
                      Sollstellung.source, month))]
    if cache is not None:
        cache[(period, scope)] = rows
    return rows


def uvg_paid_by_month(period: Period, scope: Scope) -> tuple[dict[str, int], dict[str, int]]:
    """UVG payment orders due in the period, by due month: what was ordered (angeordnet or
    later) and what the treasury booked on those orders (IST)."""
    ordered: dict[str, int] = defaultdict(int)
    booked: dict[str, int] = defaultdict(int)
    for _hst, direction, source, key, soll, ist, _open in order_month_rows(period, scope):
        if source == UVG_PAYMENT_SOURCE and direction == Direction.AUSZAHLUNG.value:
            ordered[key] += soll
            booked[key] += ist
    return dict(ordered), dict(booked)


def uvg_recovered_by_month(period: Period, scope: Scope) -> dict[str, int]:
    """Money the treasury booked on recovery claims against liable parents (§ 7 UVG), by
    booking month.

    Read from the recovery module's receipts: each is one IST booking matched to a claim, less
    what exceeded the claim (that excess stays with the booking until it is clarified).
    """
    month = _month_of(UvgRecoveryReceipt.booking_date)
    return {key: int(total) for key, total in db.session.execute(
        select(month, func.sum(UvgRecoveryReceipt.amount_cents))
        .where(UvgRecoveryReceipt.booking_date >= period.start,
               UvgRecoveryReceipt.booking_date < period.end,
               _fall_in_scope(UvgRecoveryReceipt.fall_id, scope))
        .group_by(month))}


def uvg_money(period: Period, scope: Scope) -> Table:
    ordered, booked = uvg_paid_by_month(period, scope)
    recovered = uvg_recovered_by_month(period, scope)
    rows: list[tuple[Any, ...]] = []
    for month in period.months():
        key = month.strftime("%Y-%m")
        rows.append((month.strftime("%m/%Y"), ordered.get(key, 0), booked.get(key, 0),
                     recovered.get(key, 0)))
    rows.append((_l("Total"), sum(ordered.values()), sum(booked.values()),
                 sum(recovered.values())))
    return Table("uvg_money", _l("UVG amounts paid out and recovered"),
                 (_text(_l("Month")), _cents(_l("Paid out (ordered)")),
                  _cents(_l("Paid out (booked)")), _cents(_l("Recovered (booked)"))), rows,
                 note=_l("Paid out: UVG payment orders due in the month, ordered (angeordnet or "
                         "later) and booked by the treasury on them (IST). Recovered: IST "
                         "bookings on claims against liable parents (§ 7 UVG), by booking day."),
                 chart="line", chart_value_columns=(1, 2, 3), has_total=True,
                 meta={"booked": booked, "recovered": recovered})


def rueckgriffquote(period: Period, scope: Scope,
                    booked_in_period: tuple[dict[str, int], dict[str, int]] | None = None
                    ) -> Table:
    """Recovered ÷ paid out in the same calendar year (BMFSFJ definition, DOMAIN.md §1.6).

    Both sides are IST: what the treasury booked on the UVG payment orders due in the year, and
    on recovery claims in the year. A year still running gives the quote so far.
    """
    rows: list[tuple[Any, ...]] = []
    for year in period.years():
        whole_year = Period(date(year, 1, 1), date(year + 1, 1, 1))
        if (booked_in_period is not None and period.start <= whole_year.start
                and whole_year.end <= period.end):
            # The period's monthly sums already hold the whole year: no second pass.
            by_month = tuple({k: v for k, v in part.items() if k.startswith(f"{year}-")}
                             for part in booked_in_period)
        else:
            by_month = (uvg_paid_by_month(whole_year, scope)[1],
                        uvg_recovered_by_month(whole_year, scope))
        paid = sum(by_month[0].values())
        recovered = sum(by_month[1].values())
        quote = round(100 * recovered / paid, 1) if paid else None
        rows.append((str(year), paid, recovered, quote))
    return Table("uvg_quote", _l("Rückgriffquote (recovered ÷ paid out per calendar year)"),
                 (_text(_l("Calendar year")), _cents(_l("Paid out (booked)")),
                  _cents(_l("Recovered (booked)")), Column(_l("Rückgriffquote"), "percent")),
                 rows, chart="bar", chart_value_columns=(3,),
                 note=_l("As the federal statistics define it: recovery income of a calendar "
                         "year divided by the benefit spending of the same year."))


def recovery_impossible(period: Period, scope: Scope) -> Table:
    """Cases receiving UVG at the end of the period in which recovery cannot be pursued."""
    month = period.last_month
    active = (select(UvgEntitlement.fall_id)
              .where(UvgEntitlement.month == month, UvgEntitlement.superseded.is_(False),
                     UvgEntitlement.paid_cents > 0,
                     _fall_in_scope(UvgEntitlement.fall_id, scope))
              .distinct().subquery())
    # § 7a UVG: not pursued while the parent receives SGB II and has no income of his own.
    section_7a = (select(UvgRecovery.fall_id)
                  .where(UvgRecovery.receives_sgb2.is_(True),
                         or_(UvgRecovery.net_income_cents.is_(None),
                             UvgRecovery.net_income_cents == 0))
                  .distinct().subquery())
    with_parent = (select(Party.fall_id).where(Party.role == PartyRole.OTHER_PARENT)
                   .distinct().subquery())
    # Left joins (hashed once) rather than a lookup per case: one pass for all three counts.
    total, section_7a_count, no_parent = db.session.execute(
        select(func.count(), func.count(section_7a.c.fall_id),
               func.count().filter(with_parent.c.fall_id.is_(None)))
        .select_from(active)
        .outerjoin(section_7a, section_7a.c.fall_id == active.c.fall_id)
        .outerjoin(with_parent, with_parent.c.fall_id == active.c.fall_id)).one()
    rows: list[tuple[Any, ...]] = [
        (_l("§ 7a UVG: the liable parent receives SGB II and has no income"),
         int(section_7a_count or 0)),
        (_l("The liable parent is not known (no other parent in the case)"), int(no_parent or 0)),
        (_l("Cases receiving UVG (for comparison)"), int(total or 0)),
    ]
    return Table("uvg_recovery_impossible", _l("Cases where recovery is impossible, by reason"),
                 (_text(_l("Reason")), _count(_l("Cases"))), rows, chart="bar",
                 note=_l("Cases with a payable entitlement for %(month)s. The § 7a facts are "
                         "the recovery file's current ones. Further reasons of the federal "
                         "statistics (whereabouts unknown, parent unable to pay) are not "
                         "recorded yet.", month=month.strftime("%m/%Y")))


# --- work figures --------------------------------------------------------------------------------


def _eingang_in_scope(scope: Scope) -> ColumnElement[bool]:
    if scope.fachbereich_ids is None:
        return true()
    return Eingang.fachbereich_id.in_(sorted(scope.fachbereich_ids))


def iso_week(moment: datetime) -> str:
    year, week, _ = moment.astimezone(BERLIN).isocalendar()
    return f"{year}-W{week:02d}"


def weekly_counts(period: Period, scope: Scope) -> Counter[tuple[str, str, str]]:
    """Items arriving per ISO week (Europe/Berlin), kind and service: one query."""
    where = (Eingang.received_at >= period.start_utc, Eingang.received_at < period.end_utc,
             _eingang_in_scope(scope))
    counts: Counter[tuple[str, str, str]] = Counter()
    if _dialect() == "postgresql":
        week = func.to_char(func.timezone(BERLIN.key, Eingang.received_at),
                            'IYYY-"W"IW')
        for week_key, kind, service, count in db.session.execute(
                select(week, Eingang.kind, Eingang.service_code, func.count())
                .where(*where).group_by(week, Eingang.kind, Eingang.service_code)):
            counts[(week_key, str(kind), service or "")] += int(count)
    else:
        # SQLite knows no time zones: count per UTC hour, then place each hour in its Berlin
        # week here (a year is at most 8,784 hours per kind and service).
        hour = func.strftime("%Y-%m-%d %H", Eingang.received_at)
        for hour_key, kind, service, count in db.session.execute(
                select(hour, Eingang.kind, Eingang.service_code, func.count())
                .where(*where).group_by(hour, Eingang.kind, Eingang.service_code)):
            moment = datetime.strptime(hour_key, "%Y-%m-%d %H").replace(tzinfo=UTC)
            counts[(iso_week(moment), str(kind), service or "")] += int(count)
    return counts


def _weekly_table(period: Period, scope: Scope, by: str,
                  counts: Counter[tuple[str, str, str]] | None = None) -> Table:
    """Weeks as rows, kinds (or services) as columns: 53 rows a year, not thousands."""
    counts = weekly_counts(period, scope) if counts is None else counts
    if by == "kind":
        keys: list[str] = [kind.value for kind in EingangKind]
        labels: list[Any] = [KIND_LABELS.get(kind, kind.value) for kind in EingangKind]
    else:
        keys = sorted({service for (_w, _k, service) in counts})
        labels = [service or _l("No service given") for service in keys]
    cells: dict[str, Counter[str]] = defaultdict(Counter)
    for (week_key, kind, service), count in counts.items():
        cells[week_key][kind if by == "kind" else service] += count
    rows: list[tuple[Any, ...]] = [
        (week_key, *(cells[week_key][key] for key in keys), sum(cells[week_key].values()))
        for week_key in sorted(cells)]
    rows.append((_l("Total"), *(sum(cells[w][key] for w in cells) for key in keys),
                 sum(counts.values())))
    per_week = [(week_key, sum(cells[week_key].values())) for week_key in sorted(cells)]
    title = (_l("Items arriving per week, by kind") if by == "kind"
             else _l("Items arriving per week, by service"))
    return Table(f"items_per_week_{by}", title,
                 (_text(_l("Week")), *(_count(label) for label in labels),
                  _count(_l("Total"))), rows, chart="bar" if by == "kind" else None,
                 has_total=True, meta={"counts": dict(counts), "per_week": per_week})


def items_per_week_by_kind(period: Period, scope: Scope) -> Table:
    return _weekly_table(period, scope, "kind")


def items_per_week_by_service(period: Period, scope: Scope) -> Table:
    return _weekly_table(period, scope, "service")


def routing_durations(period: Period, scope: Scope) -> Durations:
    """Hours from arrival to routing, for items a clerk routed in the period.

    Follow-ups the system routed to their case by itself are left out (as on the clearing
    overview): they would pull the figures towards zero.
    """
    return _durations(Eingang.received_at, Eingang.routed_at, 3600, lambda query: query.where(
        Eingang.routed_at >= period.start_utc, Eingang.routed_at < period.end_utc,
        Eingang.routed_by_id.is_not(None), _eingang_in_scope(scope)), source=Eingang)


def decision_durations(period: Period, scope: Scope) -> Durations:
    """Days from an application's arrival to the first decision on its case, for first
    decisions issued in the period.

    An online application's Eingang is written in the same transaction as its submission, so
    its ``received_at`` is the submission time (reports may not import the portal's model).
    Paper mail arrives as kind ``papiereingang`` and is not an application yet: left out.
    """
    # Only cases with a decision issued in the period can have their first one in it: the
    # join then runs for those, not for every application ever received.
    decided_in_period = select(Decision.fall_id).where(
        Decision.status == DecisionStatus.ISSUED, Decision.issued_at >= period.start_utc,
        Decision.issued_at < period.end_utc)
    pairs = (select(Eingang.received_at.label("submitted_at"),
                    func.min(Decision.issued_at).label("decided_at"))
             .join(Decision, and_(Decision.fall_id == Eingang.fall_id,
                                  Decision.status == DecisionStatus.ISSUED,
                                  Decision.issued_at >= Eingang.received_at))
             .where(Eingang.kind == EingangKind.NEUANTRAG,
                    Eingang.fall_id.in_(decided_in_period), _eingang_in_scope(scope))
             .group_by(Eingang.id, Eingang.received_at)
             .subquery())
    return _durations(pairs.c.submitted_at, pairs.c.decided_at, 86400, lambda query: query.where(
        pairs.c.decided_at >= period.start_utc, pairs.c.decided_at < period.end_utc),
        source=pairs)


def processing_times(period: Period, scope: Scope) -> Table:
    routing = routing_durations(period, scope)
    deciding = decision_durations(period, scope)
    rows: list[tuple[Any, ...]] = [
        (_l("Arrival to routing (hours)"), routing.count, routing.median, routing.p90),
        (_l("Application to first decision (days)"), deciding.count, deciding.median,
         deciding.p90),
    ]
    return Table("processing_times", _l("Processing times"),
                 (_text(_l("Measure")), _count(_l("Items")), Column(_l("Median"), "decimal"),
                  Column(_l("90th percentile"), "decimal")), rows,
                 note=_l("Routing: items a clerk routed in the period. Decision: "
                         "applications whose first decision was issued in the period."),
                 meta={"routing": routing, "deciding": deciding})


def deadlines_per_fachbereich(period: Period, scope: Scope, today: date | None = None) -> Table:
    """Follow-ups open at the end of the period (or today) and those of them overdue."""
    day = period.state_day(today or berlin_today())
    cutoff = berlin_midnight(day + timedelta(days=1))
    open_at = and_(Wiedervorlage.created_at < cutoff,
                   or_(Wiedervorlage.done_at.is_(None), Wiedervorlage.done_at >= cutoff))
    rows = db.session.execute(
        select(Fachbereich.name, func.count(),
               func.count().filter(Wiedervorlage.due_date < day))
        .select_from(Wiedervorlage)
        .join(Fall, Fall.id == Wiedervorlage.fall_id)
        .join(Fachbereich, Fachbereich.id == Fall.fachbereich_id)
        .where(open_at, _fall_in_scope(Wiedervorlage.fall_id, scope))
        .group_by(Fachbereich.name).order_by(Fachbereich.name)).all()
    table_rows: list[tuple[Any, ...]] = [(name, int(n), int(late)) for name, n, late in rows]
    table_rows.append((_l("Total"), sum(r[1] for r in rows), sum(r[2] for r in rows)))
    return Table("deadlines", _l("Open and overdue follow-ups per Fachbereich"),
                 (_text(_l("Fachbereich")), _count(_l("Open")), _count(_l("Overdue"))),
                 table_rows, chart="bar", chart_value_columns=(1, 2),
                 note=_l("As of %(day)s.", day=day.strftime("%d.%m.%Y")), meta={"day": day},
                 has_total=True)


def caseload_per_caseworker(period: Period, scope: Scope, today: date | None = None) -> Table:
    """Cases open at the end of the period (or today), by the caseworker responsible now.

    The case records who is responsible now, not who was; for a past period the count uses
    today's responsibility.
    """
    day = period.state_day(today or berlin_today())
    cutoff = berlin_midnight(day + timedelta(days=1))
    rows = db.session.execute(
        select(Staff.full_name, func.count())
        .select_from(Fall)
        .outerjoin(Staff, Staff.id == Fall.responsible_staff_id)
        .where(Fall.opened_at < cutoff, or_(Fall.closed_at.is_(None), Fall.closed_at >= cutoff),
               _fall_in_scope(Fall.id, scope))
        .group_by(Staff.id, Staff.full_name)
        .order_by(func.count().desc(), Staff.full_name)).all()
    table_rows: list[tuple[Any, ...]] = [
        (name if name is not None else _l("Pool (nobody responsible)"), int(n))
        for name, n in rows]
    table_rows.append((_l("Total"), sum(int(n) for _name, n in rows)))
    return Table("caseload", _l("Caseload per caseworker"),
                 (_text(_l("Caseworker")), _count(_l("Open cases"))), table_rows, chart="bar",
                 note=_l("Cases open on %(day)s, by today's responsibility.",
                         day=day.strftime("%d.%m.%Y")), meta={"day": day}, has_total=True)


# --- money figures ------------------------------------------------------------------------------


DIRECTION_LABELS = {Direction.AUSZAHLUNG: _l("Payment"), Direction.ANNAHME: _l("Receivable")}
ORDER_STEP_LABELS = {
    OrderStatus.DRAFT: _l("Waiting for Feststellung (sachlich und rechnerisch richtig)"),
    OrderStatus.FESTGESTELLT: _l("Waiting for Anordnung"),
    OrderStatus.ANGEORDNET: _l("Waiting for transfer to the treasury"),
}


def soll_ist(period: Period, scope: Scope) -> Table:
    """Soll, Ist and open per Haushaltsstelle and due month (as IHV's HÜL-Recherche shows it)."""
    summed: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for hst, direction, _source, key, soll, ist, still_open in order_month_rows(period, scope):
        sums = summed[(hst, direction, key)]
        sums[0] += soll
        sums[1] += ist
        sums[2] += still_open
    rows: list[tuple[str, str, str, int, int, int]] = [
        (hst, direction, key, sums[0], sums[1], sums[2])
        for (hst, direction, key), sums in sorted(summed.items())]
    table_rows: list[tuple[Any, ...]] = [
        (hst, DIRECTION_LABELS[Direction(direction)], _month_label(key), int(soll), int(ist),
         int(still_open)) for hst, direction, key, soll, ist, still_open in rows]
    table_rows.append((_l("Total"), "", "", sum(int(r[3]) for r in rows),
                       sum(int(r[4]) for r in rows), sum(int(r[5]) for r in rows)))
    per_month: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for _hst, _direction, key, soll, ist, _open in rows:
        per_month[key][0] += int(soll)
        per_month[key][1] += int(ist)
    return Table("soll_ist", _l("Soll, Ist and open per Haushaltsstelle and month"),
                 (_text(_l("Haushaltsstelle")), _text(_l("Direction")), _text(_l("Due month")),
                  _cents(_l("Soll")), _cents(_l("Ist")), _cents(_l("Open"))), table_rows,
                 chart="line", chart_value_columns=(3, 4),
                 note=_l("Orders angeordnet or later, by due month; Ist is what the treasury "
                         "booked on them."),
                 meta={"rows": [tuple(r) for r in rows], "per_month": dict(per_month)},
                 has_total=True)


def _month_label(key: str) -> str:
    year, month = key.split("-")
    return f"{month}/{year}"


def orders_waiting(_period: Period, scope: Scope) -> Table:
    """Orders waiting for each approval step now: count and sum."""
    rows = {status: (int(n), int(total or 0)) for status, n, total in db.session.execute(
        select(Sollstellung.status, func.count(), func.sum(Sollstellung.amount_cents))
        .where(Sollstellung.status.in_(WAITING_STATUSES),
               _fall_in_scope(Sollstellung.fall_id, scope))
        .group_by(Sollstellung.status))}
    table_rows: list[tuple[Any, ...]] = [
        (ORDER_STEP_LABELS[status], *rows.get(status, (0, 0))) for status in WAITING_STATUSES]
    return Table("orders_waiting", _l("Orders waiting for each approval step"),
                 (_text(_l("Step")), _count(_l("Orders")), _cents(_l("Sum"))), table_rows,
                 chart="bar", note=_l("As of now, whatever period is chosen."),
                 meta={"by_status": {str(k): v for k, v in rows.items()}})


def unmatched_receipts(_period: Period, scope: Scope) -> Table:
    """IST bookings on the Klärungsliste now (no order found): count and sum, per direction."""
    rows: dict[Direction, tuple[int, int]] = {}
    if scope.office_wide:
        rows = {Direction(direction): (int(n), int(total or 0))
                for direction, n, total in db.session.execute(
                    select(Booking.direction, func.count(), func.sum(Booking.amount_cents))
                    .where(Booking.status == BookingStatus.UNCLEAR)
                    .group_by(Booking.direction))}
    table_rows: list[tuple[Any, ...]] = [
        (DIRECTION_LABELS[direction], *rows.get(direction, (0, 0))) for direction in Direction]
    note = (_l("As of now, whatever period is chosen.") if scope.office_wide else
            _l("Unmatched bookings belong to no case and so to no Fachbereich; they are "
               "counted only for the whole office."))
    return Table("unmatched", _l("Unmatched bookings (Klärungsliste)"),
                 (_text(_l("Direction")), _count(_l("Bookings")), _cents(_l("Sum"))),
                 table_rows, chart=None, note=note)


# --- the sections of the page -------------------------------------------------------------------


UVG_FIGURES = (children_by_age_band, new_applications, decisions_by_kind, ended_by_reason,
               uvg_money, rueckgriffquote, recovery_impossible)
WORK_FIGURES = (items_per_week_by_kind, items_per_week_by_service, processing_times,
                deadlines_per_fachbereich, caseload_per_caseworker)
MONEY_FIGURES = (soll_ist, orders_waiting, unmatched_receipts)


def uvg_tables(period: Period, scope: Scope) -> list[Table]:
    tables: list[Table] = []
    for figure in UVG_FIGURES:
        if figure is rueckgriffquote:
            money = tables[-1]
            tables.append(rueckgriffquote(period, scope,
                                          (money.meta["booked"], money.meta["recovered"])))
        else:
            tables.append(figure(period, scope))
    return tables


FIGURES_BY_KEY: dict[str, Callable[[Period, Scope], Table]] = {
    "uvg_children": children_by_age_band, "uvg_applications": new_applications,
    "uvg_decisions": decisions_by_kind, "uvg_ended": ended_by_reason, "uvg_money": uvg_money,
    "uvg_quote": rueckgriffquote, "uvg_recovery_impossible": recovery_impossible,
    "items_per_week_kind": items_per_week_by_kind,
    "items_per_week_service": items_per_week_by_service, "processing_times": processing_times,
    "deadlines": deadlines_per_fachbereich, "caseload": caseload_per_caseworker,
    "soll_ist": soll_ist, "orders_waiting": orders_waiting, "unmatched": unmatched_receipts,
}
UVG_KEYS = frozenset(list(FIGURES_BY_KEY)[:7])
WORK_KEYS = frozenset(list(FIGURES_BY_KEY)[7:12])


def work_tables(period: Period, scope: Scope) -> list[Table]:
    counts = weekly_counts(period, scope)  # both weekly tables from one query
    return [_weekly_table(period, scope, "kind", counts),
            _weekly_table(period, scope, "service", counts),
            *(figure(period, scope) for figure in WORK_FIGURES[2:])]


def money_tables(period: Period, scope: Scope) -> list[Table]:
    return [figure(period, scope) for figure in MONEY_FIGURES]
