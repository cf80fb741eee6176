"""The statistics page and its downloads: access, bad input, and exports that parse back."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import select

from amtsweg.clock import berlin_today
from amtsweg.extensions import db
from amtsweg.staff.models import Fachbereich, Role, Staff
from reports import figures
from reports.figures import Period, Scope
from tests.conftest import sign_in_staff
from tests.reports.data import generate

YEAR_2025 = {"period": "year", "year": "2025"}


@pytest.fixture
def filled(app: Flask) -> dict[str, int]:
    with app.app_context():
        generate(seed=3, cases=40)
        return dict(db.session.execute(select(Fachbereich.code, Fachbereich.id)).all())


def _as(client: FlaskClient, create_staff: Callable[..., Staff], *roles: Role,
        fachbereiche: tuple[str, ...] = ("uvg",)) -> Staff:
    staff = create_staff(roles=roles, fachbereiche=fachbereiche)
    sign_in_staff(client, staff)
    return staff


def _text(response: Any) -> str:
    return str(response.get_data(as_text=True))


def test_lead_sees_every_figure_with_chart_and_table(
        client: FlaskClient, create_staff: Callable[..., Staff], filled: dict[str, int]) -> None:
    _as(client, create_staff, Role.LEAD)
    response = client.get("/intern/statistik/", query_string=YEAR_2025)
    assert response.status_code == 200
    page = _text(response)
    for key in ("uvg_children", "uvg_applications", "uvg_decisions", "uvg_ended", "uvg_money",
                "uvg_quote", "uvg_recovery_impossible", "items_per_week_kind",
                "items_per_week_service", "processing_times",
                "deadlines", "caseload", "soll_ist", "orders_waiting", "unmatched"):
        assert f'id="{key}"' in page, key
    assert page.count('role="img"') >= 10
    assert "<title id=" in page
    assert "<desc id=" in page
    # Charts carry no style attribute (strict CSP) and no script.
    svg = "".join(re.findall(r"<svg.*?</svg>", page, flags=re.S))
    assert "style=" not in svg
    assert "<script" not in svg


def test_figures_on_the_page_are_the_sql_figures_in_german_format(
        app: Flask, client: FlaskClient, create_staff: Callable[..., Staff],
        filled: dict[str, int]) -> None:
    _as(client, create_staff, Role.LEAD)
    page = _text(client.get("/intern/statistik/", query_string=YEAR_2025))
    with app.test_request_context():
        money = figures.uvg_money(Period(date(2025, 1, 1), date(2026, 1, 1)),
                                  Scope(frozenset({filled["uvg"]})))
    total_booked = money.rows[-1][2]
    assert total_booked > 100_000
    euros, cents = divmod(total_booked, 100)
    german = f"{euros:,}".replace(",", ".") + f",{cents:02d}"
    assert german in page


def test_access_is_denied_by_default(client: FlaskClient, create_staff: Callable[..., Staff],
                                     filled: dict[str, int]) -> None:
    assert client.get("/intern/statistik/").status_code in (302, 303)
    _as(client, create_staff, Role.CASEWORKER)
    assert client.get("/intern/statistik/").status_code == 403
    assert client.get("/intern/statistik/statistik.xlsx").status_code == 403
    _as(client, create_staff, Role.CLEARING)
    assert client.get("/intern/statistik/jahresbericht/2025.pdf").status_code == 403


def test_a_fachbereich_the_lead_may_not_see_is_refused(
        client: FlaskClient, create_staff: Callable[..., Staff], filled: dict[str, int]) -> None:
    _as(client, create_staff, Role.LEAD, fachbereiche=("uvg",))
    other = filled["wohngeld"]
    assert client.get("/intern/statistik/", query_string={
        **YEAR_2025, "fachbereich": str(other)}).status_code == 403
    assert client.get(f"/intern/statistik/tabelle/caseload.csv?year=2025&fachbereich={other}"
                      ).status_code == 403
    assert client.get(f"/intern/statistik/jahresbericht/2025.pdf?fachbereich={other}"
                      ).status_code == 403
    # Their own one works, and "all" means all of theirs: Wohngeld cases are not counted.
    page = _text(client.get("/intern/statistik/", query_string={**YEAR_2025}))
    assert "Wohngeld" not in page


def test_finance_sees_only_the_money_figures_office_wide(
        client: FlaskClient, create_staff: Callable[..., Staff], filled: dict[str, int]) -> None:
    _as(client, create_staff, Role.FESTSTELLER, fachbereiche=())
    page = _text(client.get("/intern/statistik/", query_string=YEAR_2025))
    assert 'id="soll_ist"' in page
    assert 'id="unmatched"' in page
    assert 'id="caseload"' not in page
    assert 'id="uvg_children"' not in page
    assert client.get("/intern/statistik/jahresbericht/2025.pdf").status_code == 403
    assert client.get("/intern/statistik/tabelle/caseload.csv",
                      query_string=YEAR_2025).status_code == 403
    assert client.get("/intern/statistik/tabelle/soll_ist.csv",
                      query_string=YEAR_2025).status_code == 200


@pytest.mark.parametrize("args", [
    {"period": "year", "year": "abc"},
    {"period": "year", "year": "1800"},
    {"period": "year", "year": "99999999999999999999"},
    {"period": "year", "year": ""},
    {"period": "month", "year": "2025", "month": "13"},
    {"period": "quarter", "year": "2025", "quarter": "0"},
    {"period": "decade"},
    {"period": "range", "date_from": "01.01.1970", "date_to": "31.12.2025"},
    {"period": "range", "date_from": "01.01.2010", "date_to": "31.12.2025"},
    {"period": "range", "date_from": "31.12.2025", "date_to": "01.01.2025"},
    {"period": "range", "date_from": "2025-01-01", "date_to": ""},
    {"period": "range", "date_from": "", "date_to": ""},
    {"period": "range", "date_from": "01.01.2025", "date_to": "31.12.9999"},
    {"period": "year", "year": "2025", "fachbereich": "abc"},
    {"period": "year", "year": "2025", "fachbereich": "99999"},
    {"period": "year", "year": "2025", "fachbereich": "<script>alert(1)</script>"},
    {"period": "year", "year": "2025", "key": "x", "month": "x" * 5000},
])
def test_bad_input_gets_a_message_never_a_500(
        client: FlaskClient, create_staff: Callable[..., Staff], filled: dict[str, int],
        args: dict[str, str]) -> None:
    _as(client, create_staff, Role.ADMIN, fachbereiche=())
    response = client.get("/intern/statistik/", query_string=args)
    assert response.status_code == 200
    page = _text(response)
    if args.get("key") is None:
        assert "error-summary" in page
        assert 'id="uvg_children"' not in page
    assert "<script>alert(1)</script>" not in page
    # The downloads send the user back to the page with the message instead of a file.
    assert client.get("/intern/statistik/statistik.xlsx",
                      query_string=args).status_code in (200, 302)
    assert client.get("/intern/statistik/tabelle/caseload.csv",
                      query_string=args).status_code in (200, 302)


def test_huge_period_is_refused_with_a_clear_message(
        client: FlaskClient, create_staff: Callable[..., Staff], filled: dict[str, int]) -> None:
    _as(client, create_staff, Role.ADMIN, fachbereiche=())
    page = _text(client.get("/intern/statistik/", query_string={
        "period": "range", "date_from": "01.01.2000", "date_to": "31.12.2025"}))
    assert "error-summary" in page
    assert "10" in page


def test_future_and_empty_periods_give_zeros(
        client: FlaskClient, create_staff: Callable[..., Staff], filled: dict[str, int]) -> None:
    _as(client, create_staff, Role.ADMIN, fachbereiche=())
    next_year = str(berlin_today().year + 1)
    response = client.get("/intern/statistik/", query_string={"period": "year",
                                                               "year": next_year})
    assert response.status_code == 200
    assert 'role="status"' in _text(response)
    response = client.get("/intern/statistik/", query_string={"period": "month", "year": "2003",
                                                               "month": "2"})
    assert response.status_code == 200
    assert 'id="uvg_children"' in _text(response)


def test_csv_export_parses_back_for_german_excel(
        app: Flask, client: FlaskClient, create_staff: Callable[..., Staff],
        filled: dict[str, int]) -> None:
    _as(client, create_staff, Role.ADMIN, fachbereiche=())
    response = client.get("/intern/statistik/tabelle/uvg_money.csv", query_string=YEAR_2025)
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment")
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))
    with app.test_request_context():
        table = figures.uvg_money(Period(date(2025, 1, 1), date(2026, 1, 1)), Scope(None))
    assert len(rows) == len(table.rows) + 1
    for got, expected in zip(rows[1:], table.rows, strict=True):
        for cell, value in zip(got[1:], expected[1:], strict=True):
            assert round(float(cell.replace(",", ".")) * 100) == value
    assert client.get("/intern/statistik/tabelle/nothing.csv",
                      query_string=YEAR_2025).status_code == 404


def test_csv_neutralises_formulas(app: Flask) -> None:
    from reports.exports import table_csv
    from reports.figures import Column, Table

    table = Table("t", "T", (Column("Name", "text"), Column("Betrag", "cents")),
                  [("=HYPERLINK(\"http://x\")", 150), ("@SUM(A1)", -5)])
    text = table_csv(table).decode("utf-8-sig")
    assert "'=HYPERLINK" in text
    assert "'@SUM" in text
    assert "1,50" in text
    assert "-0,05" in text


def test_xlsx_export_has_a_sheet_per_table_with_formats(
        app: Flask, client: FlaskClient, create_staff: Callable[..., Staff],
        filled: dict[str, int]) -> None:
    _as(client, create_staff, Role.ADMIN, fachbereiche=())
    response = client.get("/intern/statistik/statistik.xlsx", query_string=YEAR_2025)
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.get_data()))
    assert len(workbook.sheetnames) == 15
    with app.test_request_context():
        table = figures.soll_ist(Period(date(2025, 1, 1), date(2026, 1, 1)), Scope(None))
    sheet = next(workbook[name] for name in workbook.sheetnames if name.startswith("Soll"))
    assert sheet["A3"].font.bold
    total = [row for row in sheet.iter_rows(min_row=4, values_only=True) if row[3] is not None]
    assert round(float(str(total[-1][3])) * 100) == table.rows[-1][3]
    assert "€" in sheet.cell(row=4, column=4).number_format


def test_annual_report_pdf_and_xlsx(app: Flask, client: FlaskClient,
                                    create_staff: Callable[..., Staff],
                                    filled: dict[str, int]) -> None:
    _as(client, create_staff, Role.LEAD)
    response = client.get("/intern/statistik/jahresbericht/2025.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(
        response.get_data())).pages)
    with app.test_request_context():
        scope = Scope(frozenset({filled["uvg"]}))
        period = Period(date(2025, 1, 1), date(2026, 1, 1))
        children = figures.children_by_age_band(period, scope)
        quote = figures.rueckgriffquote(period, scope)
    assert "2025" in text
    assert str(children.rows[-1][1]) in text
    paid = quote.rows[0][1]
    euros, cents = divmod(paid, 100)
    assert f"{euros:,}".replace(",", ".") + f",{cents:02d}" in text
    xlsx = client.get("/intern/statistik/jahresbericht/2025.xlsx")
    workbook = load_workbook(io.BytesIO(xlsx.get_data()))
    assert len(workbook.sheetnames) == len(figures.UVG_FIGURES)
    assert client.get("/intern/statistik/jahresbericht/1999.pdf").status_code == 404
    assert client.get("/intern/statistik/jahresbericht/9999.xlsx").status_code == 404


def test_navigation_entry_for_report_roles_only(
        client: FlaskClient, create_staff: Callable[..., Staff], filled: dict[str, int]) -> None:
    _as(client, create_staff, Role.ANORDNER, fachbereiche=())
    assert "/intern/statistik/" in _text(client.get("/intern/statistik/"))
    _as(client, create_staff, Role.CASEWORKER)
    assert "/intern/statistik/" not in _text(client.get("/intern/faelle/"))
