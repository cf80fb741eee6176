"""Soll, Ist and open amount per Kassenzeichen, case, Haushaltsstelle and month; exports.

Every figure is one SQL aggregate (GROUP BY in the database), never a loop over orders in
Python: a state-wide service holds millions of orders.

What counts (the treasury's view, "HÜL-Recherche Sollstellungen", DOMAIN.md §3):
- Soll is what has been ordered: orders from Anordnung on. Drafts and established orders are
  not yet a Sollstellung at the Kasse; a rejected order never became one. Of a cancelled order
  only what was booked before it was cancelled remains in the Soll.
- Ist is what was booked against the order (IST bookings matched to it, up to its amount;
  overpayments are kept on the booking and shown on the Klärungsliste, not here).
- Change orders (Änderungsanordnungen) are bookkeeping between office and Kasse, not money:
  they are left out, their effect shows in the order they cancel.
Payments and receivables are never added together: every row is per direction.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    column,
    extract,
    func,
    or_,
    select,
    table,
)

from amtsweg.extensions import db
from ihv import codes
from ihv.models import Direction, OrderStatus, Sollstellung

LIVE = (OrderStatus.ANGEORDNET, OrderStatus.TRANSMITTED, OrderStatus.ACKNOWLEDGED,
        OrderStatus.BOOKED)
PAGE_LIMIT = 500

# The case table, by name only: ihv lies below backoffice and may not import it.
_faelle = table("faelle", column("id"), column("aktenzeichen"))

SOLL = case((Sollstellung.status.in_(LIVE), Sollstellung.amount_cents),
            (Sollstellung.status == OrderStatus.CANCELLED, Sollstellung.booked_cents),
            else_=0)
IST = Sollstellung.booked_cents


@dataclass(frozen=True)
class ReconciliationFilter:
    haushaltsstelle: str | None = None
    month_from: date | None = None  # first day of the first month
    month_to: date | None = None  # first day of the last month
    aktenzeichen: str | None = None
    kassenzeichen: str | None = None
    fall_id: int | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = [
            or_(Sollstellung.status.in_(LIVE),
                # A cancelled order counts only if it had been ordered (it was a Soll once).
                and_(Sollstellung.status == OrderStatus.CANCELLED,
                     Sollstellung.angeordnet_by_id.is_not(None))),
            Sollstellung.replaces_id.is_(None)]
        if self.haushaltsstelle:
            found.append(Sollstellung.haushaltsstelle
                         == codes.normalise_haushaltsstelle(self.haushaltsstelle))
        if self.month_from is not None:
            found.append(Sollstellung.due_date >= self.month_from)
        if self.month_to is not None:
            found.append(Sollstellung.due_date < _next_month(self.month_to))
        if self.kassenzeichen:
            found.append(Sollstellung.kassenzeichen
                         == codes.normalise_kassenzeichen(self.kassenzeichen))
        if self.fall_id is not None:
            found.append(Sollstellung.fall_id == self.fall_id)
        if self.aktenzeichen:
            found.append(Sollstellung.fall_id.in_(
                select(_faelle.c.id).where(func.upper(_faelle.c.aktenzeichen)
                                           == self.aktenzeichen.strip().upper())))
        return found


def _next_month(first: date) -> date:
    return date(first.year + first.month // 12, first.month % 12 + 1, 1)


@dataclass(frozen=True)
class Row:
    key: str
    direction: Direction
    count: int
    soll_cents: int
    ist_cents: int

    @property
    def open_cents(self) -> int:
        return self.soll_cents - self.ist_cents


@dataclass(frozen=True)
class Table:
    name: str  # machine name: kassenzeichen, case, haushaltsstelle, month
    rows: list[Row]
    truncated: bool

    def totals(self) -> dict[Direction, Row]:
        result: dict[Direction, Row] = {}
        for row in self.rows:
            before = result.get(row.direction)
            result[row.direction] = Row("", row.direction,
                                        row.count + (before.count if before else 0),
                                        row.soll_cents + (before.soll_cents if before else 0),
                                        row.ist_cents + (before.ist_cents if before else 0))
        return result


GROUPINGS = ("kassenzeichen", "case", "haushaltsstelle", "month")


def _grouped(grouping: str, where: ReconciliationFilter) -> Select[Any]:
    if grouping == "kassenzeichen":
        key: Any = Sollstellung.kassenzeichen
        order: list[Any] = [Sollstellung.kassenzeichen]
    elif grouping == "case":
        key = func.coalesce(_faelle.c.aktenzeichen, "")
        order = [key]
    elif grouping == "haushaltsstelle":
        key = Sollstellung.haushaltsstelle
        order = [key]
    elif grouping == "month":
        year = extract("year", Sollstellung.due_date)
        month = extract("month", Sollstellung.due_date)
        key = year * 100 + month
        order = [key]
    else:
        raise ValueError(grouping)
    query = select(key.label("key"), Sollstellung.direction, func.count(),
                   func.coalesce(func.sum(SOLL), 0), func.coalesce(func.sum(IST), 0))
    if grouping == "case":
        query = query.select_from(Sollstellung).outerjoin(
            _faelle, _faelle.c.id == Sollstellung.fall_id)
    return (query.where(and_(*where.conditions()))
            .group_by(key, Sollstellung.direction)
            .order_by(*order, Sollstellung.direction))


def _key_text(grouping: str, value: Any) -> str:
    if grouping == "month":
        number = int(value)
        return f"{number % 100:02d}.{number // 100}"
    return str(value) if value is not None else ""


def rows(grouping: str, where: ReconciliationFilter, *, limit: int | None = None) -> Iterator[Row]:
    query = _grouped(grouping, where)
    if limit is not None:
        query = query.limit(limit)
    for key, direction, count, soll, ist in db.session.execute(
            query.execution_options(yield_per=2_000)):
        yield Row(_key_text(grouping, key), Direction(direction), int(count), int(soll),
                  int(ist))


def table_for(grouping: str, where: ReconciliationFilter) -> Table:
    found = list(rows(grouping, where, limit=PAGE_LIMIT + 1))
    return Table(grouping, found[:PAGE_LIMIT], len(found) > PAGE_LIMIT)


def totals(where: ReconciliationFilter) -> dict[Direction, Row]:
    query = (select(Sollstellung.direction, func.count(), func.coalesce(func.sum(SOLL), 0),
                    func.coalesce(func.sum(IST), 0))
             .where(and_(*where.conditions())).group_by(Sollstellung.direction))
    return {Direction(direction): Row("", Direction(direction), int(count), int(soll), int(ist))
            for direction, count, soll, ist in db.session.execute(query)}


def case_balance(fall_id: int) -> dict[Direction, Row]:
    return totals(ReconciliationFilter(fall_id=fall_id))


# --- exports -------------------------------------------------------------------------------

# Column headers of the exports (German: finance staff open them in a spreadsheet as they are).
KEY_HEADERS = {"kassenzeichen": "Kassenzeichen", "case": "Aktenzeichen",
               "haushaltsstelle": "Haushaltsstelle", "month": "Monat (Fälligkeit)"}
SHEET_NAMES = {"kassenzeichen": "Kassenzeichen", "case": "Fälle",
               "haushaltsstelle": "Haushaltsstellen", "month": "Monate"}
DIRECTION_NAMES = {Direction.AUSZAHLUNG: "Auszahlung", Direction.ANNAHME: "Annahme"}
HEADERS = ("Richtung", "Anzahl", "Soll (EUR)", "Ist (EUR)", "Offen (EUR)")


def _euros(cents: int) -> str:
    # German decimal comma: the CSV opens in a German spreadsheet as numbers.
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}{cents // 100},{cents % 100:02d}"


def _safe_cell(text: str) -> str:
    # CSV injection: a cell starting with = + - @ would run as a formula in a spreadsheet.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_lines(grouping: str, where: ReconciliationFilter) -> Iterator[str]:
    """The table as CSV (semicolon, UTF-8 with BOM, as German Excel reads it), streamed."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow([KEY_HEADERS[grouping], *HEADERS])
    yield "\ufeff" + buffer.getvalue()
    for row in rows(grouping, where):
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([_safe_cell(row.key), DIRECTION_NAMES[row.direction], row.count,
                         _euros(row.soll_cents), _euros(row.ist_cents),
                         _euros(row.open_cents)])
        yield buffer.getvalue()


EURO_FORMAT = '#,##0.00 "€";-#,##0.00 "€"'


def xlsx_bytes(where: ReconciliationFilter) -> bytes:
    """A workbook with one sheet per table; amounts as numbers in euros with a euro format."""
    workbook = Workbook(write_only=True)
    for grouping in GROUPINGS:
        sheet = workbook.create_sheet(SHEET_NAMES[grouping])
        sheet.append([KEY_HEADERS[grouping], *HEADERS])
        for row in rows(grouping, where):
            cells: list[Any] = [row.key, DIRECTION_NAMES[row.direction], row.count]
            sheet.append([*cells, *(_euro_cell(sheet, cents) for cents in (
                row.soll_cents, row.ist_cents, row.open_cents))])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _euro_cell(sheet: Any, cents: int) -> Any:
    # A spreadsheet number is a double; cents / 100 is the nearest one to the exact amount.
    cell = WriteOnlyCell(sheet, value=cents / 100)
    cell.number_format = EURO_FORMAT
    return cell
