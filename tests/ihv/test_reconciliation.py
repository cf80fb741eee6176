"""Soll, Ist and open per Kassenzeichen, case, Haushaltsstelle and month; CSV and XLSX exports
parse back to the same figures."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook

from amtsweg.extensions import db
from amtsweg.staff.models import Staff
from backoffice.models import Fall
from ihv import reconciliation, services
from ihv.models import (
    Booking,
    BookingStatus,
    Direction,
    ImportedFile,
    ImportKind,
    ImportStatus,
    Sollstellung,
    Transfer,
)
from ihv.reconciliation import ReconciliationFilter
from tests.conftest import sign_in_staff
from tests.ihv.conftest import order_kwargs


@pytest.fixture
def ledger(app: Flask, finance: dict[str, Staff],
           create_case: Callable[..., Fall]) -> dict[str, Any]:
    """Three ordered orders (two on one case), one draft, one cancelled, with bookings."""
    with app.app_context():
        fall = create_case()
        festst = db.session.get_one(Staff, finance["feststeller"].id)
        anord = db.session.get_one(Staff, finance["anordner"].id)

        def ordered(**overrides: Any) -> Sollstellung:
            order = services.create_order(None, **order_kwargs(**overrides))
            services.feststellen(festst, order, 1)
            services.anordnen(anord, order, 1)
            return order

        march = ordered(fall_id=fall.id, amount_cents=22_700, due_date=date(2026, 3, 1))
        april = ordered(fall_id=fall.id, amount_cents=22_700, due_date=date(2026, 4, 1),
                        kassenzeichen=march.kassenzeichen)
        claim = ordered(direction=Direction.ANNAHME, iban=None, bic=None, amount_cents=50_000,
                        due_date=date(2026, 3, 15), haushaltsstelle="70 55/119 01-3",
                        party_name="Thomas Unterhaltspflichtig")
        services.create_order(None, **order_kwargs(amount_cents=99_900))  # a draft: no Soll
        dropped = services.create_order(None, **order_kwargs(amount_cents=88_800))
        services.cancel_order(None, dropped, "Irrtum")
        transfer = Transfer(sequence_number=1, file_name="t.xml", blob_key="k", sha256="0" * 64,
                            order_count=3, control_sum_cents=1)
        imported = ImportedFile(kind=ImportKind.BOOKINGS, status=ImportStatus.IMPORTED,
                                file_name="i.xml", sha256="1" * 64)
        db.session.add_all([transfer, imported])
        db.session.flush()
        services.mark_transmitted([march, april, claim], transfer)
        for number, (order, amount) in enumerate([(march, 22_700), (claim, 20_000)]):
            booking = Booking(import_id=imported.id, reference=f"R{number}",
                              source=ImportKind.BOOKINGS, direction=order.direction,
                              kassenzeichen=order.kassenzeichen, amount_cents=amount,
                              booking_date=order.due_date, status=BookingStatus.MATCHED)
            db.session.add(booking)
            db.session.flush()
            services.apply_booking(order, booking)
        db.session.commit()
        return {"fall_id": fall.id, "aktenzeichen": fall.aktenzeichen,
                "series": march.kassenzeichen, "claim": claim.kassenzeichen}


def _by_key(grouping: str, where: ReconciliationFilter) -> dict[tuple[str, Direction], Any]:
    return {(row.key, row.direction): row for row in reconciliation.rows(grouping, where)}


def test_soll_ist_open_per_kassenzeichen(app: Flask, ledger: dict[str, Any]) -> None:
    with app.app_context():
        rows = _by_key("kassenzeichen", ReconciliationFilter())
    series = rows[(ledger["series"], Direction.AUSZAHLUNG)]
    assert (series.count, series.soll_cents, series.ist_cents, series.open_cents) == (
        2, 45_400, 22_700, 22_700)
    claim = rows[(ledger["claim"], Direction.ANNAHME)]
    assert (claim.soll_cents, claim.ist_cents, claim.open_cents) == (50_000, 20_000, 30_000)
    assert len(rows) == 2  # neither the draft nor the cancelled order count


def test_per_case_haushaltsstelle_and_month(app: Flask, ledger: dict[str, Any]) -> None:
    with app.app_context():
        cases = _by_key("case", ReconciliationFilter())
        places = _by_key("haushaltsstelle", ReconciliationFilter())
        months = _by_key("month", ReconciliationFilter())
        totals = reconciliation.totals(ReconciliationFilter())
    assert cases[(ledger["aktenzeichen"], Direction.AUSZAHLUNG)].soll_cents == 45_400
    assert cases[("", Direction.ANNAHME)].soll_cents == 50_000
    assert places[("70 55/101 38-1", Direction.AUSZAHLUNG)].count == 2
    assert places[("70 55/119 01-3", Direction.ANNAHME)].open_cents == 30_000
    assert months[("03.2026", Direction.AUSZAHLUNG)].soll_cents == 22_700
    assert months[("04.2026", Direction.AUSZAHLUNG)].open_cents == 22_700
    assert months[("03.2026", Direction.ANNAHME)].ist_cents == 20_000
    assert totals[Direction.AUSZAHLUNG].open_cents == 22_700
    assert totals[Direction.ANNAHME].open_cents == 30_000


def test_filters(app: Flask, ledger: dict[str, Any]) -> None:
    with app.app_context():
        april = _by_key("kassenzeichen", ReconciliationFilter(month_from=date(2026, 4, 1),
                                                              month_to=date(2026, 4, 1)))
        by_case = _by_key("kassenzeichen", ReconciliationFilter(
            aktenzeichen=ledger["aktenzeichen"].lower()))
        by_place = _by_key("case", ReconciliationFilter(haushaltsstelle="7055/11901-3"))
        by_kz = reconciliation.totals(ReconciliationFilter(kassenzeichen=ledger["claim"]))
    assert april[(ledger["series"], Direction.AUSZAHLUNG)].soll_cents == 22_700
    assert list(by_case) == [(ledger["series"], Direction.AUSZAHLUNG)]
    assert list(by_place) == [("", Direction.ANNAHME)]
    assert list(by_kz) == [Direction.ANNAHME]


def _client(client: FlaskClient, finance: dict[str, Staff]) -> FlaskClient:
    sign_in_staff(client, finance["feststeller"])
    return client


def test_the_page_shows_all_four_tables(client: FlaskClient, finance: dict[str, Staff],
                                        ledger: dict[str, Any]) -> None:
    page = _client(client, finance).get("/intern/kasse/abgleich").get_data(as_text=True)
    for table in ("kassenzeichen", "case", "haushaltsstelle", "month"):
        assert f'id="table-{table}"' in page
    assert "454,00" in page
    assert ledger["aktenzeichen"] in page


@pytest.mark.parametrize(("name", "value"), [
    ("haushaltsstelle", "70 55/101"), ("month_from", "13.2026"), ("month_from", "2026-03"),
    ("month_to", "x" * 500), ("kassenzeichen", "KZ20260000012375"),
    ("aktenzeichen", "A\x1bB"),
])
def test_bad_filters_are_explained_not_crashed(client: FlaskClient, finance: dict[str, Staff],
                                               name: str, value: str) -> None:
    response = _client(client, finance).get("/intern/kasse/abgleich", query_string={name: value})
    assert response.status_code == 400
    assert "error-summary" in response.get_data(as_text=True)
    assert client.get("/intern/kasse/abgleich.xlsx",
                      query_string={name: value}).status_code == 400


def test_months_in_the_wrong_order_are_refused(client: FlaskClient,
                                               finance: dict[str, Staff]) -> None:
    response = _client(client, finance).get("/intern/kasse/abgleich", query_string={
        "month_from": "04.2026", "month_to": "03.2026"})
    assert response.status_code == 400


def test_csv_export_parses_back(client: FlaskClient, finance: dict[str, Staff],
                                ledger: dict[str, Any]) -> None:
    response = _client(client, finance).get("/intern/kasse/abgleich/kassenzeichen.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    body = response.get_data(as_text=True)
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff")), delimiter=";"))
    assert rows[0] == ["Kassenzeichen", "Richtung", "Anzahl", "Soll (EUR)", "Ist (EUR)",
                       "Offen (EUR)"]
    assert [ledger["series"], "Auszahlung", "2", "454,00", "227,00", "227,00"] in rows
    assert [ledger["claim"], "Annahme", "1", "500,00", "200,00", "300,00"] in rows


@pytest.mark.parametrize(("cell", "safe"), [
    ("=HYPERLINK(1)", "'=HYPERLINK(1)"), ("+1", "'+1"), ("-1", "'-1"), ("@SUM(A1)", "'@SUM(A1)"),
    ("KZ20260000012374", "KZ20260000012374"), ("", ""),
])
def test_csv_cells_cannot_become_formulas(cell: str, safe: str) -> None:
    assert reconciliation._safe_cell(cell) == safe


def test_unknown_csv_table_is_404(client: FlaskClient, finance: dict[str, Staff]) -> None:
    assert _client(client, finance).get("/intern/kasse/abgleich/nix.csv").status_code == 404


def test_xlsx_export_has_a_sheet_per_table_with_euro_numbers(
        client: FlaskClient, finance: dict[str, Staff], ledger: dict[str, Any]) -> None:
    response = _client(client, finance).get("/intern/kasse/abgleich.xlsx")
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.get_data()))
    assert workbook.sheetnames == ["Kassenzeichen", "Fälle", "Haushaltsstellen", "Monate"]
    sheet = workbook["Kassenzeichen"]
    header = [cell.value for cell in sheet[1]]
    assert header == ["Kassenzeichen", "Richtung", "Anzahl", "Soll (EUR)", "Ist (EUR)",
                      "Offen (EUR)"]
    rows = {row[0].value: row for row in sheet.iter_rows(min_row=2)}
    series = rows[ledger["series"]]
    assert [cell.value for cell in series[1:]] == ["Auszahlung", 2, 454, 227, 227]
    assert "€" in series[3].number_format
    months = [row[0].value for row in workbook["Monate"].iter_rows(min_row=2)]
    assert "03.2026" in months


def test_the_case_view_shows_the_balance(client: FlaskClient, finance: dict[str, Staff],
                                         ledger: dict[str, Any]) -> None:
    sign_in_staff(client, finance["caseworker"])
    page = client.get(f"/intern/faelle/{ledger['fall_id']}").get_data(as_text=True)
    assert 'id="zahlungen"' in page
    assert "454,00" in page
    assert "/sollstellung/neu" in page
