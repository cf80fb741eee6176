"""Every figure, recomputed in plain Python from the rows, against the SQL aggregate."""

from __future__ import annotations

import math
import statistics
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from amtsweg.clock import BERLIN
from amtsweg.extensions import db
from amtsweg.staff.models import Fachbereich, Staff
from backoffice.decisions.models import Decision, DecisionKind, DecisionStatus
from backoffice.models import Fall, Party, PartyRole, Wiedervorlage
from backoffice.uvg.calculation import age_band
from backoffice.uvg.models import UvgChild, UvgChildStatus, UvgEndReason, UvgEntitlement
from backoffice.uvg.recovery_models import UvgRecovery
from clearing.models import Eingang, EingangKind
from ihv.models import Booking, BookingStatus, Direction, OrderStatus, Sollstellung
from reports import figures
from reports.figures import Period, Scope
from tests.reports.data import generate

PERIODS = [
    Period(date(2025, 1, 1), date(2026, 1, 1)),  # a year
    Period(date(2025, 4, 1), date(2025, 7, 1)),  # a quarter
    Period(date(2025, 3, 1), date(2025, 4, 1)),  # a month across the change to summer time
]
TODAY = date(2026, 11, 26)


@pytest.fixture
def office(app: Flask) -> Any:
    with app.app_context():
        generate(seed=7, cases=80)
        uvg_id = db.session.scalar(select(Fachbereich.id).where(Fachbereich.code == "uvg"))
        yield {"uvg": uvg_id}


def _scopes(office: Any) -> list[Scope]:
    return [Scope(None), Scope(frozenset({office["uvg"]})), Scope(frozenset({999}))]


def _all(model: Any) -> list[Any]:
    return list(db.session.scalars(select(model)))


def _in_scope(fall_id: int | None, scope: Scope, falls: dict[int, Fall]) -> bool:
    if scope.fachbereich_ids is None:
        return True
    return fall_id is not None and falls[fall_id].fachbereich_id in scope.fachbereich_ids


def _falls() -> dict[int, Fall]:
    return {fall.id: fall for fall in _all(Fall)}


def _within(moment: datetime, period: Period) -> bool:
    return period.start_utc <= moment < period.end_utc


def _p(values: list[float], fraction: float) -> float | None:
    """Linear interpolation (PostgreSQL's percentile_cont), written out independently."""
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100 if fraction != 0.5 else 2, method="inclusive")[
        int(fraction * (100 if fraction != 0.5 else 2)) - 1]


@pytest.mark.parametrize("period", PERIODS)
def test_uvg_figures_match_recomputation(office: Any, period: Period) -> None:
    falls = _falls()
    children = {child.id: child for child in _all(UvgChild)}
    for scope in _scopes(office):
        # Children receiving UVG at the end of the period, by age band.
        month = period.last_month
        expected_bands: Counter[str] = Counter(
            age_band(children[e.uvg_child_id].birth_date, month) for e in _all(UvgEntitlement)
            if e.month == month and not e.superseded and e.paid_cents > 0
            and _in_scope(e.fall_id, scope, falls))
        table = figures.children_by_age_band(period, scope)
        assert table.meta["bands"] == {k: v for k, v in expected_bands.items() if v}
        assert [row[1] for row in table.rows] == [expected_bands[b] for b in figures.AGE_BANDS] \
            + [sum(expected_bands.values())]

        # New applications by status.
        expected_apps = Counter(
            str(c.status) for c in children.values() if c.application_date is not None
            and period.start <= c.application_date < period.end
            and _in_scope(c.fall_id, scope, falls))
        table = figures.new_applications(period, scope)
        assert table.meta["by_status"] == dict(expected_apps)
        assert table.rows[-1][1] == sum(expected_apps.values())

        # Decisions by kind, UVG cases only.
        expected_kinds = Counter(
            str(d.kind) for d in _all(Decision) if d.status is DecisionStatus.ISSUED
            and d.issued_at is not None and _within(d.issued_at, period)
            and falls[d.fall_id].fachbereich_id == office["uvg"]
            and _in_scope(d.fall_id, scope, falls))
        table = figures.decisions_by_kind(period, scope)
        assert table.meta["by_kind"] == dict(expected_kinds)
        assert [row[1] for row in table.rows[:-1]] == [expected_kinds[str(k)]
                                                       for k in DecisionKind]

        # Ended by reason.
        expected_ended = Counter(
            str(c.end_reason) for c in children.values() if c.status is UvgChildStatus.ENDED
            and c.ended_on is not None and period.start <= c.ended_on < period.end
            and _in_scope(c.fall_id, scope, falls))
        table = figures.ended_by_reason(period, scope)
        assert table.meta["by_reason"] == dict(expected_ended)
        assert [row[1] for row in table.rows[:-1]] == [expected_ended[str(r)]
                                                       for r in UvgEndReason]


def _uvg_money_expected(period: Period, scope: Scope, falls: dict[int, Fall]
                        ) -> tuple[Counter[str], Counter[str], Counter[str]]:
    orders = {order.id: order for order in _all(Sollstellung)}
    ordered: Counter[str] = Counter()
    booked: Counter[str] = Counter()
    for order in orders.values():
        if (order.source == "uvg" and order.direction is Direction.AUSZAHLUNG
                and order.status in figures.SOLL_STATUSES
                and period.start <= order.due_date < period.end
                and _in_scope(order.fall_id, scope, falls)):
            ordered[order.due_date.strftime("%Y-%m")] += order.amount_cents
            booked[order.due_date.strftime("%Y-%m")] += order.booked_cents
    # Recovered: what was booked on recovery claims (matched or assigned), less any excess,
    # by booking day; read from the bookings themselves, not from the receipts the SQL reads.
    recovered: Counter[str] = Counter()
    for booking in _all(Booking):
        if booking.sollstellung_id is None or booking.status is BookingStatus.UNCLEAR:
            continue
        order = orders[booking.sollstellung_id]
        if (order.source == "uvg-rueckgriff" and order.direction is Direction.ANNAHME
                and period.start <= booking.booking_date < period.end
                and _in_scope(order.fall_id, scope, falls)):
            recovered[booking.booking_date.strftime("%Y-%m")] += (booking.amount_cents
                                                                  - booking.excess_cents)
    return ordered, booked, recovered


@pytest.mark.parametrize("period", PERIODS)
def test_uvg_money_and_quote_match_recomputation(office: Any, period: Period) -> None:
    falls = _falls()
    for scope in _scopes(office):
        ordered, booked, recovered = _uvg_money_expected(period, scope, falls)
        table = figures.uvg_money(period, scope)
        assert len(table.rows) == len(period.months()) + 1
        for month, row in zip(period.months(), table.rows, strict=False):
            key = month.strftime("%Y-%m")
            assert row[1:] == (ordered[key], booked[key], recovered[key])
        assert table.rows[-1][1:] == (sum(ordered.values()), sum(booked.values()),
                                      sum(recovered.values()))
        quote = figures.rueckgriffquote(period, scope)
        for row in quote.rows:
            year = int(row[0])
            _o, paid, got = _uvg_money_expected(Period(date(year, 1, 1), date(year + 1, 1, 1)),
                                                scope, falls)
            assert row[1] == sum(paid.values())
            assert row[2] == sum(got.values())
            if sum(paid.values()):
                assert row[3] == round(100 * sum(got.values()) / sum(paid.values()), 1)
            else:
                assert row[3] is None
    # The generated data must exercise the figures, or the comparison proves nothing.
    ordered, booked, recovered = _uvg_money_expected(PERIODS[0], Scope(None), falls)
    assert sum(ordered.values())
    assert sum(booked.values())
    assert sum(recovered.values())


@pytest.mark.parametrize("period", PERIODS)
def test_recovery_impossible_matches_recomputation(office: Any, period: Period) -> None:
    falls = _falls()
    for scope in _scopes(office):
        month = period.last_month
        active = {e.fall_id for e in _all(UvgEntitlement) if e.month == month
                  and not e.superseded and e.paid_cents > 0
                  and _in_scope(e.fall_id, scope, falls)}
        section_7a = {r.fall_id for r in _all(UvgRecovery) if r.fall_id in active
                      and r.section_7a}
        with_parent = {p.fall_id for p in _all(Party) if p.role is PartyRole.OTHER_PARENT}
        table = figures.recovery_impossible(period, scope)
        assert [row[1] for row in table.rows] == [len(section_7a), len(active - with_parent),
                                                   len(active)]


def _berlin_week(moment: datetime) -> str:
    local = moment.astimezone(BERLIN)
    year, week, _ = local.isocalendar()
    return f"{year}-W{week:02d}"


@pytest.mark.parametrize("period", PERIODS)
def test_work_figures_match_recomputation(office: Any, period: Period) -> None:
    falls = _falls()
    for scope in _scopes(office):
        eingaenge = [e for e in _all(Eingang) if scope.fachbereich_ids is None
                     or e.fachbereich_id in scope.fachbereich_ids]
        expected = Counter((_berlin_week(e.received_at), str(e.kind), e.service_code or "")
                           for e in eingaenge if _within(e.received_at, period))
        assert figures.weekly_counts(period, scope) == expected
        by_kind = figures.items_per_week_by_kind(period, scope)
        weeks = sorted({week for week, _kind, _service in expected})
        assert [row[0] for row in by_kind.rows[:-1]] == weeks
        for row in by_kind.rows[:-1]:
            assert list(row[1:-1]) == [sum(n for (w, k, _s), n in expected.items()
                                           if w == row[0] and k == kind.value)
                                       for kind in EingangKind]
            assert row[-1] == sum(n for (w, _k, _s), n in expected.items() if w == row[0])
        by_service = figures.items_per_week_by_service(period, scope)
        assert by_service.rows[-1][-1] == sum(expected.values())
        services = sorted({s for _w, _k, s in expected})
        assert list(by_service.rows[-1][1:-1]) == [
            sum(n for (_w, _k, s), n in expected.items() if s == service)
            for service in services]

        hours = sorted((e.routed_at - e.received_at).total_seconds() / 3600 for e in eingaenge
                       if e.routed_at is not None and e.routed_by_id is not None
                       and _within(e.routed_at, period))
        routing = figures.routing_durations(period, scope)
        assert routing.count == len(hours)
        _close(routing.median, statistics.median(hours) if hours else None)
        _close(routing.p90, _p(hours, 0.9))

        by_id = {e.id: e for e in eingaenge}
        issued = [d for d in _all(Decision) if d.status is DecisionStatus.ISSUED]
        days = []
        for eingang in by_id.values():
            if eingang.fall_id is None or eingang.kind is not EingangKind.NEUANTRAG:
                continue
            times = [d.issued_at for d in issued if d.fall_id == eingang.fall_id
                     and d.issued_at is not None and d.issued_at >= eingang.received_at]
            if times and _within(min(times), period):
                days.append((min(times) - eingang.received_at).total_seconds() / 86400)
        days.sort()
        deciding = figures.decision_durations(period, scope)
        assert deciding.count == len(days)
        _close(deciding.median, statistics.median(days) if days else None)
        _close(deciding.p90, _p(days, 0.9))

        day = period.last_day
        cutoff = figures.berlin_midnight(day + timedelta(days=1))
        names = {fb.id: fb.name for fb in _all(Fachbereich)}
        open_by: Counter[str] = Counter()
        late_by: Counter[str] = Counter()
        for item in _all(Wiedervorlage):
            if not _in_scope(item.fall_id, scope, falls):
                continue
            if item.created_at < cutoff and (item.done_at is None or item.done_at >= cutoff):
                name = names[falls[item.fall_id].fachbereich_id]
                open_by[name] += 1
                late_by[name] += item.due_date < day
        table = figures.deadlines_per_fachbereich(period, scope, today=TODAY)
        assert {row[0]: (row[1], row[2]) for row in table.rows[:-1]} == {
            name: (open_by[name], late_by[name]) for name in open_by}

        staff_names = {s.id: s.full_name for s in _all(Staff)}
        load: Counter[str | None] = Counter(
            staff_names.get(fall.responsible_staff_id) if fall.responsible_staff_id else None
            for fall in falls.values() if fall.opened_at < cutoff
            and (fall.closed_at is None or fall.closed_at >= cutoff)
            and _in_scope(fall.id, scope, falls))
        table = figures.caseload_per_caseworker(period, scope, today=TODAY)
        got = {(row[0] if isinstance(row[0], str) else None): row[1] for row in table.rows[:-1]}
        assert got == dict(load)
        assert table.rows[-1][1] == sum(load.values())


@pytest.mark.parametrize("period", PERIODS)
def test_money_figures_match_recomputation(office: Any, period: Period) -> None:
    falls = _falls()
    for scope in _scopes(office):
        orders = [o for o in _all(Sollstellung) if _in_scope(o.fall_id, scope, falls)]
        expected: dict[tuple[str, str, str], list[int]] = {}
        for order in orders:
            if (order.status in figures.SOLL_STATUSES
                    and period.start <= order.due_date < period.end):
                key = (order.haushaltsstelle, str(order.direction),
                       order.due_date.strftime("%m/%Y"))
                sums = expected.setdefault(key, [0, 0, 0])
                sums[0] += order.amount_cents
                sums[1] += order.booked_cents
                sums[2] += order.open_cents
        table = figures.soll_ist(period, scope)
        labels = {str(label): str(direction) for direction, label
                  in figures.DIRECTION_LABELS.items()}
        got = {(row[0], labels[str(row[1])], row[2]): list(row[3:]) for row in table.rows[:-1]}
        assert got == expected

        waiting: Counter[str] = Counter()
        waiting_sums: Counter[str] = Counter()
        for order in orders:
            if order.status in figures.WAITING_STATUSES:
                waiting[str(order.status)] += 1
                waiting_sums[str(order.status)] += order.amount_cents
        table = figures.orders_waiting(period, scope)
        assert [row[1:] for row in table.rows] == [
            (waiting[str(s)], waiting_sums[str(s)]) for s in figures.WAITING_STATUSES]

        unclear = [b for b in _all(Booking) if b.status is BookingStatus.UNCLEAR]
        table = figures.unmatched_receipts(period, scope)
        for direction, row in zip(Direction, table.rows, strict=True):
            mine = [b.amount_cents for b in unclear if b.direction is direction]
            if scope.office_wide:
                assert row[1:] == (len(mine), sum(mine))
            else:
                assert row[1:] == (0, 0)
    assert any(o.status in figures.SOLL_STATUSES for o in _all(Sollstellung))
    assert OrderStatus.DRAFT in {o.status for o in _all(Sollstellung)}


def test_empty_period_gives_zeros(app: Flask) -> None:
    with app.app_context():
        period = Period(date(2031, 1, 1), date(2031, 2, 1))
        scope = Scope(None)
        for table in (*figures.uvg_tables(period, scope), *figures.work_tables(period, scope),
                      *figures.money_tables(period, scope)):
            for row in table.rows:
                assert all(value in (0, None) for value in row[1:]
                           if not isinstance(value, str)), (table.key, row)


def test_percentile_cont_interpolates_like_postgresql() -> None:
    assert figures.percentile_cont([], 0.5) is None
    assert figures.percentile_cont([4.0], 0.9) == 4.0
    assert figures.percentile_cont([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert math.isclose(figures.percentile_cont([0.0, 10.0], 0.9) or 0, 9.0)
    assert math.isclose(figures.percentile_cont(list(map(float, range(11))), 0.9) or 0, 9.0)


def test_iso_week_uses_berlin_time() -> None:
    # 23:30 UTC on Sunday 28 Dec 2025 is Monday 00:30 in Berlin: ISO week 1 of 2026.
    assert figures.iso_week(datetime(2025, 12, 28, 23, 30, tzinfo=UTC)) == "2026-W01"
    assert figures.iso_week(datetime(2025, 12, 28, 22, 30, tzinfo=UTC)) == "2025-W52"


def _close(got: float | None, expected: float | None) -> None:
    if expected is None:
        assert got is None
    else:
        assert got is not None
        assert math.isclose(got, expected, rel_tol=1e-6, abs_tol=1e-3)


@pytest.mark.parametrize("period", PERIODS)
def test_quote_from_the_period_sums_equals_the_quote_queried_alone(office: Any,
                                                                   period: Period) -> None:
    scope = Scope(None)
    tables = {table.key: table for table in figures.uvg_tables(period, scope)}
    assert tables["uvg_quote"].rows == figures.rueckgriffquote(period, scope).rows
