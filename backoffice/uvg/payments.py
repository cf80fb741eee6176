"""The monthly UVG payment run, and what was paid per child and month.

``amtsweg uvg payment-run --month YYYY-MM`` pays every active child its month through the IHV
module: one recurring payment order per child (one Kassenzeichen per child's series), plus one
back-payment order for earlier months that were granted but never paid. It is built for 100,000
cases in one go: children are read in keyset chunks, orders go through
``ihv.services.create_orders_bulk``, and the links, timeline entries and status changes are bulk
inserts, so memory stays flat whatever the number of cases.

The whole run is one transaction: a crash leaves nothing behind and the run can simply be
started again; two nodes starting the same month at once are serialised by the unique month of
``UvgPaymentRun`` (the second INSERT waits for the first transaction and then fails).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import func, insert, select, tuple_, update
from sqlalchemy.exc import IntegrityError

from amtsweg.audit.services import Actor, record
from amtsweg.clock import berlin_today
from amtsweg.db import utcnow
from amtsweg.extensions import among, db
from amtsweg.staff.models import Staff
from amtsweg.translate import gettext as _
from amtsweg.translate import lazy_gettext as _l
from backoffice.deadlines import is_working_day, next_working_day
from backoffice.models import Fall, FallEvent, FallStatus, register_event_labels
from backoffice.uvg.models import UvgChild, UvgChildStatus, UvgEntitlement
from backoffice.uvg.payment_models import (
    UvgPayment,
    UvgPaymentKind,
    UvgPaymentRun,
    UvgPaymentSeries,
)
from ihv.codes import MAX_PURPOSE_LENGTH, is_sepa_text, make_kassenzeichen, purpose_text
from ihv.models import Direction, OrderStatus, Recurrence, Sollstellung
from ihv.services import (
    OrderError,
    OrderSpec,
    check_bic,
    check_iban,
    create_orders_bulk,
    reserve_kassenzeichen_numbers,
)

SOURCE = "uvg"
CHUNK_SIZE = 2000
# The run report keeps the details of this many exceptions; the count is always complete.
MAX_EXCEPTION_DETAILS = 5000

class PaymentEventKind:
    PAYMENT = "uvg_payment"


register_event_labels({PaymentEventKind.PAYMENT: _l("Payment of Unterhaltsvorschuss")})


class PaymentRunRefused(ValueError):
    """The run cannot start; the message says why, in the user's language."""


EXCEPTION_LABELS = {
    "missing_iban": _l("No IBAN for the payee"),
    "invalid_iban": _l("The payee's IBAN is not valid"),
    "invalid_bic": _l("The payee's BIC is not valid"),
    "missing_payee": _l("No payee name"),
}


@dataclass
class RunReport:
    month: date
    run_id: int | None = None
    already_run: bool = False
    started_at: datetime | None = None
    finished_at: datetime | None = None
    started_by_name: str = ""
    cases: int = 0
    children: int = 0
    monthly_orders: int = 0
    back_payment_orders: int = 0
    sum_cents: int = 0
    back_payment_cents: int = 0
    exceptions: list[dict[str, Any]] = field(default_factory=list)
    exception_count: int = 0

    @classmethod
    def of(cls, run: UvgPaymentRun, *, already_run: bool = False) -> RunReport:
        return cls(month=run.month, run_id=run.id, already_run=already_run,
                   started_at=run.started_at, finished_at=run.finished_at,
                   started_by_name=run.started_by_name, cases=run.cases, children=run.children,
                   monthly_orders=run.monthly_orders,
                   back_payment_orders=run.back_payment_orders, sum_cents=run.sum_cents,
                   back_payment_cents=run.back_payment_cents,
                   exceptions=list(run.exceptions or []),
                   exception_count=run.exception_count)


# --- months and dates -----------------------------------------------------------------------

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def parse_month(text: str) -> date:
    """``YYYY-MM`` as the first of that month; PaymentRunRefused for anything else."""
    match = _MONTH.match(text.strip()) if isinstance(text, str) and len(text) < 20 else None
    if match is None or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 2000:
        raise PaymentRunRefused(_("Enter the month as YYYY-MM, e.g. 2026-03."))
    return date(int(match.group(1)), int(match.group(2)), 1)


def month_label(month: date) -> str:
    return month.strftime("%m/%Y")


def next_month(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1)


def check_month(month: date, today: date) -> None:
    """A run may pay the coming month in advance, never further ahead."""
    if month > next_month(today.replace(day=1)):
        raise PaymentRunRefused(_("The month %(month)s is too far in the future: a payment run "
                                  "pays at most the coming month in advance.",
                                  month=month.strftime("%Y-%m")))


def due_date_for(month: date, today: date, state: str) -> date:
    """The day the treasury pays a month.

    § 9 Abs. 3 UVG: the benefit is paid "monatlich im Voraus", so it is due on the first working
    day of the month it is for (Saturdays, Sundays and the Land's holidays are no working days of
    the treasury). A run made late in the month, or for a month already past, cannot be due
    before it was ordered: then the next working day after today.
    """
    first = next_working_day(month, state)
    earliest = today + timedelta(days=1)
    while not is_working_day(earliest, state):
        earliest += timedelta(days=1)
    return max(first, earliest) if first <= today else first


def haushaltsstelle(direction: Direction) -> str:
    """The office's Buchungsstelle for UVG payments or receipts (AMTSWEG_UVG_HAUSHALTSSTELLE_*)."""
    settings = current_app.config["AMTSWEG"]
    if direction is Direction.AUSZAHLUNG:
        return str(settings.uvg_haushaltsstelle_auszahlung)
    return str(settings.uvg_haushaltsstelle_einnahme)


def monthly_key(child_id: int, month: date) -> str:
    return f"uvg:{child_id}:{month.strftime('%Y-%m')}"


def back_payment_key(child_id: int, month: date) -> str:
    return f"uvg:nachzahlung:{child_id}:{month.strftime('%Y-%m')}"


# --- what was paid --------------------------------------------------------------------------

# Orders that never paid (or will never pay) anything: their months count as unpaid.
_VOID = (OrderStatus.CANCELLED.value, OrderStatus.REJECTED.value)


def paid_by_month(uvg_child_id: int) -> dict[date, int]:
    """What was paid per month for this child, in cents: monthly installments and back payments
    less reclaimed overpayments, counting only orders that were not cancelled or rejected."""
    rows = db.session.execute(
        select(UvgPayment.month, func.sum(UvgPayment.amount_cents))
        .join(Sollstellung, Sollstellung.id == UvgPayment.sollstellung_id)
        .where(UvgPayment.uvg_child_id == uvg_child_id, Sollstellung.status.not_in(_VOID))
        .group_by(UvgPayment.month).order_by(UvgPayment.month))
    return {month: int(total) for month, total in rows if total}


def paid_total_for_case(fall_id: int) -> int:
    """Paid out on the case: the standing payment orders' links, in cents."""
    total = db.session.scalar(
        select(func.coalesce(func.sum(UvgPayment.amount_cents), 0))
        .join(Sollstellung, Sollstellung.id == UvgPayment.sollstellung_id)
        .where(UvgPayment.fall_id == fall_id, Sollstellung.status.not_in(_VOID),
               UvgPayment.kind != UvgPaymentKind.RECOVERY_OF_OVERPAYMENT.value))
    return int(total or 0)


def runs(limit: int = 24) -> list[UvgPaymentRun]:
    return list(db.session.scalars(select(UvgPaymentRun).order_by(UvgPaymentRun.month.desc())
                                    .limit(limit)))


def run_for(month: date) -> UvgPaymentRun | None:
    return db.session.scalar(select(UvgPaymentRun).where(UvgPaymentRun.month == month))


# --- the run --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Child:
    id: int
    fall_id: int
    aktenzeichen: str
    payee_name: str
    iban: str | None
    bic: str | None
    kassenzeichen: str | None


def _active_children(chunk_size: int) -> Iterator[list[_Child]]:
    """Granted children of cases that are neither closed nor suspended, in keyset chunks
    ordered by case, so all children of a case fall into one chunk (one event per case)."""
    last: tuple[int, int] | None = None
    while True:
        query = (select(UvgChild.id, UvgChild.fall_id, Fall.aktenzeichen, UvgChild.payee_name,
                        UvgChild.payee_iban, UvgChild.payee_bic, UvgPaymentSeries.kassenzeichen)
                 .join(Fall, Fall.id == UvgChild.fall_id)
                 .outerjoin(UvgPaymentSeries, UvgPaymentSeries.uvg_child_id == UvgChild.id)
                 .where(UvgChild.status == UvgChildStatus.GRANTED.value,
                        Fall.status.not_in((FallStatus.CLOSED.value,
                                            FallStatus.SUSPENDED.value)))
                 .order_by(UvgChild.fall_id, UvgChild.id).limit(chunk_size))
        if last is not None:
            query = query.where(tuple_(UvgChild.fall_id, UvgChild.id) > tuple_(*last))
        rows = [_Child(*row) for row in db.session.execute(query)]
        if not rows:
            return
        # Move the chunk's end back to a case boundary (unless the chunk is one huge case).
        if len(rows) == chunk_size and rows[0].fall_id != rows[-1].fall_id:
            cut = rows[-1].fall_id
            rows = [row for row in rows if row.fall_id != cut]
        last = (rows[-1].fall_id, rows[-1].id)
        yield rows


def _unpaid_entitlements(child_ids: Sequence[int],
                         month: date) -> dict[int, list[tuple[date, int]]]:
    """Per child: (month, cents) of every decided month up to ``month`` that nothing paid.

    Two set queries on the chunk's children, subtracted here, rather than one NOT EXISTS: on
    tables that grew inside the run (their statistics still say empty) the planner would probe
    the payments once per entitlement, and the run would slow down with every chunk.
    """
    paid = {(child_id, paid_month) for child_id, paid_month in db.session.execute(
        select(UvgPayment.uvg_child_id, UvgPayment.month)
        .join(Sollstellung, Sollstellung.id == UvgPayment.sollstellung_id)
        .where(among(UvgPayment.uvg_child_id, child_ids), UvgPayment.month <= month,
               UvgPayment.kind != UvgPaymentKind.RECOVERY_OF_OVERPAYMENT.value,
               Sollstellung.status.not_in(_VOID)))}
    rows = db.session.execute(
        select(UvgEntitlement.uvg_child_id, UvgEntitlement.month, UvgEntitlement.paid_cents)
        # "NOT superseded", as the partial unique index says it, so the planner can use it.
        .where(among(UvgEntitlement.uvg_child_id, child_ids), ~UvgEntitlement.superseded,
               UvgEntitlement.month <= month, UvgEntitlement.paid_cents > 0)
        .order_by(UvgEntitlement.uvg_child_id, UvgEntitlement.month))
    result: dict[int, list[tuple[date, int]]] = defaultdict(list)
    for child_id, entitled_month, cents in rows:
        if (child_id, entitled_month) not in paid:
            result[child_id].append((entitled_month, cents))
    return result


def _obvious_problem(child: _Child) -> str | None:
    """What is visibly missing for a payment order, without the (slower) IBAN checksum."""
    if not child.iban or not child.iban.strip():
        return "missing_iban"
    if not " ".join(child.payee_name.split()) or any(ord(c) < 32 for c in child.payee_name):
        return "missing_payee"
    return None


def _payee_problem(child: _Child) -> str | None:
    """Why the IHV module would refuse this payee (checked with its own rules), or None."""
    obvious = _obvious_problem(child)
    if obvious is not None:
        return obvious
    try:
        iban = check_iban(child.iban, required=True)
        check_bic(child.bic, iban)
    except OrderError as error:
        return "invalid_bic" if error.field_name == "bic" else "invalid_iban"
    return None


def _month_end(month: date) -> date:
    return next_month(month) - timedelta(days=1)


@dataclass(frozen=True)
class _Link:
    child: _Child
    month: date
    cents: int
    kind: UvgPaymentKind


@dataclass
class _Chunk:
    specs: list[OrderSpec] = field(default_factory=list)
    new_series: list[dict[str, Any]] = field(default_factory=list)
    links: dict[str, list[_Link]] = field(default_factory=dict)


class _RunState:
    def __init__(self, run: UvgPaymentRun, month: date, today: date, state: str) -> None:
        self.run = run
        self.month = month
        # A back payment is owed already: due with the month's installment.
        self.due = due_date_for(month, today, state)
        self.out_hst = haushaltsstelle(Direction.AUSZAHLUNG)
        self.exceptions: list[dict[str, Any]] = []
        self.exception_count = 0
        # A case's children all fall into one chunk: counting per chunk counts each once.
        self.cases = 0
        self.children = 0
        self.monthly_orders = 0
        self.back_payment_orders = 0
        self.sum_cents = 0
        self.back_payment_cents = 0

    def exception(self, child: _Child, reason: str) -> None:
        self.exception_count += 1
        if len(self.exceptions) < MAX_EXCEPTION_DETAILS:
            self.exceptions.append({"fall_id": child.fall_id, "aktenzeichen": child.aktenzeichen,
                                    "uvg_child_id": child.id, "reason": reason})


def _purpose(kassenzeichen: str, *parts: str) -> str:
    """The Verwendungszweck; the run's parts (words, months, Aktenzeichen) are plain ASCII, so
    the transliteration of ``purpose_text`` is needed only if one is not."""
    text = " ".join((kassenzeichen, *parts))
    if len(text) <= MAX_PURPOSE_LENGTH and is_sepa_text(text):
        return text
    return purpose_text(kassenzeichen, *parts)


def _spec(child: _Child, run: _RunState, *, key: str, cents: int, first: date, last: date,
          words: tuple[str, ...], kassenzeichen: str | None) -> OrderSpec:
    return OrderSpec(
        direction=Direction.AUSZAHLUNG, amount_cents=cents, due_date=run.due,
        haushaltsstelle=run.out_hst, party_name=" ".join(child.payee_name.split())[:200],
        iban=child.iban, bic=child.bic or None, fall_id=child.fall_id, source=SOURCE,
        source_key=key, recurrence=Recurrence.RECURRING, kassenzeichen=kassenzeichen,
        # Without a Kassenzeichen yet the IHV module writes its default purpose.
        purpose=(_purpose(kassenzeichen, *words, child.aktenzeichen)
                 if kassenzeichen else None),
        period_start=first, period_end=_month_end(last))


def _plan_child(child: _Child, months: list[tuple[date, int]], run: _RunState,
                chunk: _Chunk) -> None:
    assert child.kassenzeichen is not None
    planned: list[tuple[OrderSpec, tuple[str, ...]]] = []
    current = [(m, cents) for m, cents in months if m == run.month]
    back = [(m, cents) for m, cents in months if m < run.month]
    if current:
        key = monthly_key(child.id, run.month)
        cents = current[0][1]
        words = ("Unterhaltsvorschuss", month_label(run.month))
        planned.append((_spec(child, run, key=key, cents=cents, first=run.month,
                              last=run.month, words=words,
                              kassenzeichen=child.kassenzeichen), words))
        chunk.links[key] = [_Link(child, run.month, cents, UvgPaymentKind.MONTHLY)]
    if back:
        key = back_payment_key(child.id, run.month)
        total = sum(cents for _m, cents in back)
        first, last = back[0][0], back[-1][0]
        words = ("Nachzahlung Unterhaltsvorschuss", f"{month_label(first)}-{month_label(last)}")
        planned.append((_spec(child, run, key=key, cents=total, first=first, last=last,
                              words=words, kassenzeichen=child.kassenzeichen), words))
        chunk.links[key] = [_Link(child, m, cents, UvgPaymentKind.BACK_PAYMENT)
                            for m, cents in back]
    chunk.specs += [spec for spec, _words in planned]


def _event_summary(monthly: int, back: int, first: date | None, last: date | None,
                   month: date) -> str:
    parts = []
    if monthly:
        parts.append(_("%(month)s: %(amount)s", month=month_label(month), amount=euro(monthly)))
    if back and first is not None and last is not None:
        parts.append(_("back payment %(first)s–%(last)s: %(amount)s", first=month_label(first),
                       last=month_label(last), amount=euro(back)))
    return "; ".join(parts)


def euro(cents: int) -> str:
    euros, rest = divmod(abs(cents), 100)
    sign = "-" if cents < 0 else ""
    return f"{sign}{euros:,}".replace(",", ".") + f",{rest:02d} EUR"


def _postgresql() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def _insert_rows(model: Any, rows: list[dict[str, Any]]) -> None:
    """Bulk insert; on PostgreSQL by COPY inside the run's transaction (several times faster
    than multi-row INSERTs for a hundred thousand rows)."""
    if not rows:
        return
    if not _postgresql():
        db.session.execute(insert(model), rows)
        return
    columns = list(rows[0])
    raw = db.session.connection().connection.driver_connection
    assert raw is not None
    with raw.cursor() as cursor, cursor.copy(
            f"COPY {model.__tablename__} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([row[name] for name in columns])


def _orders_by_key(keys: Sequence[str]) -> dict[str, tuple[int, str]]:
    rows = db.session.execute(
        select(Sollstellung.source_key, Sollstellung.id, Sollstellung.kassenzeichen)
        .where(among(Sollstellung.source_key, keys)))
    return {str(key): (order_id, kassenzeichen) for key, order_id, kassenzeichen in rows}


def _with_series(children: list[_Child], run: _RunState, chunk: _Chunk) -> list[_Child]:
    """The children with their series' Kassenzeichen; new series get theirs here, one block
    of running numbers for the whole chunk (one locked counter UPDATE, not one per child)."""
    new = [child for child in children if child.kassenzeichen is None]
    if not new:
        return children
    year = run.due.year
    last = reserve_kassenzeichen_numbers(year, len(new))
    numbers = iter(range(last - len(new) + 1, last + 1))
    now = utcnow()
    result = []
    for child in children:
        if child.kassenzeichen is None:
            child = replace(child, kassenzeichen=make_kassenzeichen(year, next(numbers)))
            chunk.new_series.append({"uvg_child_id": child.id, "fall_id": child.fall_id,
                                     "kassenzeichen": child.kassenzeichen, "created_at": now})
        result.append(child)
    return result


def _place_orders(staff: Staff | None, chunk: _Chunk, run: _RunState) -> None:
    """Raise the chunk's orders. The IHV module validates every row and refuses the whole
    batch for one bad account; the accounts were only checked for presence, so on a refusal
    the chunk is checked child by child, the refused children are reported, and the rest is
    raised (the common case pays the IBAN checksum once, in the IHV module)."""
    try:
        with db.session.begin_nested():
            create_orders_bulk(staff, chunk.specs)
            return
    except OrderError:
        pass
    refused: set[int] = set()
    for key, links in chunk.links.items():
        child = links[0].child
        if child.id not in refused and (problem := _payee_problem(child)) is not None:
            refused.add(child.id)
            run.exception(child, problem)
        if child.id in refused:
            chunk.specs = [spec for spec in chunk.specs if spec.source_key != key]
    chunk.links = {key: links for key, links in chunk.links.items()
                   if links[0].child.id not in refused}
    chunk.new_series = [row for row in chunk.new_series if row["uvg_child_id"] not in refused]
    # Whatever the IHV module still refuses is no payee's fault (a Haushaltsstelle, say): the
    # run stops, and its transaction with it.
    create_orders_bulk(staff, chunk.specs)


def _create_orders(staff: Staff | None, chunk: _Chunk,
                   run: _RunState) -> dict[str, tuple[int, str]]:
    """Raise the chunk's orders; (order id, Kassenzeichen) per source key."""
    _place_orders(staff, chunk, run)
    _insert_rows(UvgPaymentSeries, chunk.new_series)
    return _orders_by_key(list(chunk.links))


def _write_chunk(chunk: _Chunk, run: _RunState, staff: Staff | None, actor: Actor) -> None:
    if not chunk.specs:
        return
    orders = _create_orders(staff, chunk, run)
    now = utcnow()
    payments: list[dict[str, Any]] = []
    # fall_id -> [monthly cents, back cents, first back month, last back month]
    per_case: dict[int, list[Any]] = {}
    for key, links in chunk.links.items():
        if key not in orders:
            run.exception(links[0].child, "order_refused")
            continue
        order_id = orders[key][0]
        payments += [{"uvg_child_id": link.child.id, "fall_id": link.child.fall_id,
                      "month": link.month, "sollstellung_id": order_id,
                      "amount_cents": link.cents, "kind": link.kind.value,
                      "run_id": run.run.id, "created_at": now} for link in links]
        total = sum(link.cents for link in links)
        case = per_case.setdefault(links[0].child.fall_id, [0, 0, None, None])
        run.sum_cents += total
        if links[0].kind is UvgPaymentKind.MONTHLY:
            run.monthly_orders += 1
            case[0] += total
        else:
            run.back_payment_orders += 1
            run.back_payment_cents += total
            case[1] += total
            first, last = links[0].month, links[-1].month
            case[2] = first if case[2] is None else min(case[2], first)
            case[3] = last if case[3] is None else max(case[3], last)
    _insert_rows(UvgPayment, payments)
    paid_cases = sorted(per_case)
    run.cases += len(paid_cases)
    if not paid_cases:
        return
    events = []
    for fall_id in paid_cases:
        monthly, back, first, last = per_case[fall_id]
        events.append({"fall_id": fall_id, "at": now, "kind": PaymentEventKind.PAYMENT,
                       "summary": _event_summary(monthly, back, first, last, run.month),
                       "actor_name": actor.name[:200]})
    _insert_rows(FallEvent, events)
    # decided -> paying with the first payment (the case's life, backoffice.models); the
    # version moves too, so a page showing the old state goes stale.
    moved = db.session.execute(
        update(Fall).where(among(Fall.id, paid_cases), Fall.status == FallStatus.DECIDED.value)
        .values(status=FallStatus.PAYING.value, version=Fall.version + 1)
        .returning(Fall.id).execution_options(synchronize_session=False)).scalars().all()
    if moved:
        # Cases loaded in this session still hold the old status and version: reload them,
        # or their next write would fail the version check (StaleDataError).
        moved_ids = set(moved)
        for loaded in list(db.session.identity_map.values()):
            if isinstance(loaded, Fall) and loaded.id in moved_ids:
                db.session.expire(loaded)
        record(actor, "fall.status_changed_bulk", "uvg_payment_run", run.run.id,
               before={"status": FallStatus.DECIDED.value},
               after={"status": FallStatus.PAYING.value, "fall_ids": list(moved)})


def run_payments(month: date, actor: Actor, *, staff: Staff | None = None,
                 today: date | None = None, chunk_size: int = CHUNK_SIZE) -> RunReport:
    """Pay ``month`` for every active child; the caller commits (the run is one transaction).

    A month already run is not run again: the report says when it ran, and nothing is created.
    """
    today = today or berlin_today()
    check_month(month, today)
    existing = run_for(month)
    if existing is not None:
        return RunReport.of(existing, already_run=True)
    run = UvgPaymentRun(month=month, started_by_name=actor.name[:200], exceptions=[])
    db.session.add(run)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        # Another node inserted the month first and has committed by now.
        db.session.expunge(run)
        existing = run_for(month)
        if existing is None:
            raise PaymentRunRefused(_("Another payment run for this month is in progress."))\
                from None
        return RunReport.of(existing, already_run=True)
    state = _RunState(run, month, today, current_app.config["AMTSWEG"].holiday_state)
    for children in _active_children(chunk_size):
        unpaid = _unpaid_entitlements([child.id for child in children], month)
        chunk = _Chunk()
        payable = []
        for child in children:
            if not unpaid.get(child.id):
                continue
            state.children += 1
            problem = _obvious_problem(child)
            if problem is not None:
                state.exception(child, problem)
            else:
                payable.append(child)
        for child in _with_series(payable, state, chunk):
            _plan_child(child, unpaid[child.id], state, chunk)
        try:
            _write_chunk(chunk, state, staff, actor)
        except OrderError as error:
            raise PaymentRunRefused(_("The IHV module refused the orders: %(error)s",
                                      error=str(error))) from None
    run.cases = state.cases
    run.children = state.children
    run.monthly_orders = state.monthly_orders
    run.back_payment_orders = state.back_payment_orders
    run.sum_cents = state.sum_cents
    run.back_payment_cents = state.back_payment_cents
    run.exception_count = state.exception_count
    run.exceptions = state.exceptions
    run.finished_at = utcnow()
    db.session.flush()
    record(actor, "uvg.payment_run", "uvg_payment_run", run.id,
           after={"month": month, "cases": run.cases, "children": run.children,
                  "monthly_orders": run.monthly_orders,
                  "back_payment_orders": run.back_payment_orders, "sum_cents": run.sum_cents,
                  "exceptions": state.exception_count})
    return RunReport.of(run)


def exception_label(reason: str) -> str:
    if reason == "order_refused":
        return str(_("The IHV module refused the order"))
    label = EXCEPTION_LABELS.get(reason)
    return str(label) if label is not None else reason

