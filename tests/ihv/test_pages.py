"""The Kasse pages as finance staff and caseworkers use them: access by role, the two queues with
bulk approval, the order page, cancellation, the new order on a case, and the timeline."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape
from sqlalchemy import select

from amtsweg.db import utcnow
from amtsweg.extensions import db
from amtsweg.staff.models import Role, Staff
from backoffice.models import AccessKind, AccessLogEntry, Fall, FallEvent
from ihv import services
from ihv.models import Direction, OrderStatus, Sollstellung
from tests.backoffice.support import post, text
from tests.conftest import sign_in_citizen, sign_in_staff
from tests.ihv.conftest import order_kwargs

# NUL never reaches a form (amtsweg.request drops it); ESC stands for the control characters.
HOSTILE = ["", "   ", "x" * 20_000, "Text\x1bmit ESC", "<script>alert(1)</script>"]


@pytest.fixture
def make_order(app: Flask) -> Callable[..., int]:
    def factory(creator: Staff | None = None, *, establish_by: Staff | None = None,
                order_by: Staff | None = None, **overrides: Any) -> int:
        with app.app_context():
            actor = db.session.get(Staff, creator.id) if creator else None
            order = services.create_order(actor, **order_kwargs(**overrides))
            if establish_by is not None:
                services.feststellen(db.session.get_one(Staff, establish_by.id), order, 1)
            if order_by is not None:
                services.anordnen(db.session.get_one(Staff, order_by.id), order, 1)
            db.session.commit()
            return order.id

    return factory


def _order(app: Flask, order_id: int) -> Sollstellung:
    with app.app_context():
        order = db.session.get_one(Sollstellung, order_id)
        db.session.expunge(order)
        return order


def _as(client: FlaskClient, staff: Staff) -> FlaskClient:
    sign_in_staff(client, staff)
    return client


# --- access --------------------------------------------------------------------------------

PAGES = ["/intern/kasse/", "/intern/kasse/feststellung", "/intern/kasse/anordnung",
         "/intern/kasse/abgleich", "/intern/kasse/abgleich.xlsx",
         "/intern/kasse/abgleich/kassenzeichen.csv"]


@pytest.mark.parametrize("path", PAGES)
def test_anonymous_visitors_are_sent_to_the_login(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302
    assert "/intern/anmelden" in response.headers["Location"]


@pytest.mark.parametrize("path", PAGES)
def test_citizens_are_sent_to_the_staff_login(client: FlaskClient,
                                              create_citizen: Callable[..., Any],
                                              path: str) -> None:
    sign_in_citizen(client, create_citizen())
    response = client.get(path)
    assert response.status_code == 302
    assert "/intern/anmelden" in response.headers["Location"]


@pytest.mark.parametrize("path", PAGES)
def test_caseworkers_get_403_on_the_finance_pages(client: FlaskClient,
                                                  finance: dict[str, Staff], path: str) -> None:
    assert _as(client, finance["caseworker"]).get(path).status_code == 403


def test_each_queue_needs_its_own_role(client: FlaskClient, finance: dict[str, Staff]) -> None:
    _as(client, finance["anordner"])
    assert client.get("/intern/kasse/feststellung").status_code == 403
    assert client.get("/intern/kasse/anordnung").status_code == 200
    _as(client, finance["feststeller"])
    assert client.get("/intern/kasse/anordnung").status_code == 403
    assert client.get("/intern/kasse/feststellung").status_code == 200
    assert client.get("/intern/kasse/").status_code == 200


def test_the_overview_shows_counts_and_sums(client: FlaskClient, finance: dict[str, Staff],
                                            make_order: Callable[..., int]) -> None:
    make_order(finance["caseworker"])
    make_order(finance["caseworker"], amount_cents=10_000)
    page = text(_as(client, finance["feststeller"]).get("/intern/kasse/"))
    row = re.search(r'data-status="draft">(.*?)</tr>', page, re.S)
    assert row is not None
    assert ">2<" in row.group(1)
    assert "327,00" in row.group(1)


# --- the queues ----------------------------------------------------------------------------


def test_the_feststellung_queue_leaves_out_own_orders(
        client: FlaskClient, finance: dict[str, Staff], make_order: Callable[..., int]) -> None:
    theirs = make_order(finance["caseworker"], party_name="Anna Andere")
    make_order(finance["feststeller"], party_name="Eigene Erika")
    page = text(_as(client, finance["feststeller"]).get("/intern/kasse/feststellung"))
    assert "Anna Andere" in page
    assert "Eigene Erika" not in page
    assert f'value="{theirs}:1"' in page
    assert "1 Sollstellung" in page or "1 order" in page


def test_bulk_feststellung_shows_the_total_then_establishes(
        app: Flask, client: FlaskClient, finance: dict[str, Staff],
        make_order: Callable[..., int]) -> None:
    first = make_order(finance["caseworker"], amount_cents=10_000)
    second = make_order(finance["caseworker"], amount_cents=5_050)
    _as(client, finance["feststeller"])
    review = post(client, "/intern/kasse/feststellung", "/intern/kasse/feststellung/auswahl",
                  {"order": [f"{first}:1", f"{second}:1"]})
    assert review.status_code == 200
    page = text(review)
    assert "150,50" in page
    assert _order(app, first).status == OrderStatus.DRAFT  # nothing done before confirming
    selection = re.search(r'name="selection"[^>]*value="([^"]*)"', page)
    assert selection is not None
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert token is not None
    done = client.post("/intern/kasse/feststellung/bestaetigen",
                       data={"csrf_token": token.group(1), "selection": selection.group(1)})
    assert done.status_code == 200
    assert "150,50" in text(done)
    assert _order(app, first).status == OrderStatus.FESTGESTELLT
    assert _order(app, second).festgestellt_by_id == finance["feststeller"].id


def test_check_all_shown_takes_every_listed_order(
        app: Flask, client: FlaskClient, finance: dict[str, Staff],
        make_order: Callable[..., int]) -> None:
    ids = [make_order(finance["caseworker"]) for _ in range(3)]
    _as(client, finance["feststeller"])
    review = post(client, "/intern/kasse/feststellung", "/intern/kasse/feststellung/auswahl",
                  {"all": "1", "shown": [f"{order_id}:1" for order_id in ids]})
    assert "681,00" in text(review)


def test_a_stale_selection_is_left_out(app: Flask, client: FlaskClient,
                                       finance: dict[str, Staff],
                                       make_order: Callable[..., int]) -> None:
    order_id = make_order(finance["caseworker"])
    with app.app_context():
        services.update_order(None, db.session.get_one(Sollstellung, order_id),
                              amount_cents=30_000)
        db.session.commit()
    _as(client, finance["feststeller"])
    review = text(post(client, "/intern/kasse/feststellung", "/intern/kasse/feststellung/auswahl",
                       {"order": f"{order_id}:1"}))
    assert "changed or was handled" in review or "zwischenzeitlich" in review
    done = post(client, "/intern/kasse/feststellung", "/intern/kasse/feststellung/bestaetigen",
                {"selection": f"{order_id}:1"})
    assert done.status_code == 200
    assert _order(app, order_id).status == OrderStatus.DRAFT


@pytest.mark.parametrize("selection", ["abc", "1:x", "1;2", "-1:1", "9" * 20 + ":1"])
def test_a_malformed_selection_is_a_bad_request(client: FlaskClient, finance: dict[str, Staff],
                                                selection: str) -> None:
    _as(client, finance["feststeller"])
    response = post(client, "/intern/kasse/feststellung", "/intern/kasse/feststellung/auswahl",
                    {"order": selection})
    assert response.status_code == 400


def test_an_empty_selection_goes_back_with_a_message(client: FlaskClient,
                                                     finance: dict[str, Staff]) -> None:
    _as(client, finance["feststeller"])
    response = post(client, "/intern/kasse/feststellung", "/intern/kasse/feststellung/auswahl",
                    {}, follow_redirects=True)
    assert "Select at least one order" in text(response) or "mindestens" in text(response)


def test_bulk_without_csrf_is_refused(app: Flask, client: FlaskClient, finance: dict[str, Staff],
                                      make_order: Callable[..., int]) -> None:
    order_id = make_order(finance["caseworker"])
    _as(client, finance["feststeller"])
    response = client.post("/intern/kasse/feststellung/bestaetigen",
                           data={"selection": f"{order_id}:1"})
    assert response.status_code == 400
    assert _order(app, order_id).status == OrderStatus.DRAFT


def test_unknown_step_is_404(client: FlaskClient, finance: dict[str, Staff]) -> None:
    _as(client, finance["both"])
    assert post(client, "/intern/kasse/feststellung", "/intern/kasse/zahlung/auswahl",
                {"order": "1:1"}).status_code == 404


def test_the_anordnung_needs_a_fresh_login(client: FlaskClient,
                                           finance: dict[str, Staff]) -> None:
    _as(client, finance["anordner"])
    with client.session_transaction() as session:
        session["staff"] = {**session["staff"],
                            "auth_at": (utcnow() - timedelta(minutes=11)).timestamp()}
    response = client.get("/intern/kasse/anordnung")
    assert response.status_code == 302
    assert "/intern/bestaetigen" in response.headers["Location"]


def test_the_anordnung_queue_leaves_out_what_the_viewer_established(
        client: FlaskClient, finance: dict[str, Staff], make_order: Callable[..., int]) -> None:
    make_order(finance["caseworker"], establish_by=finance["both"], party_name="Selbst Geprueft")
    make_order(finance["caseworker"], establish_by=finance["feststeller"],
               party_name="Fremd Geprueft")
    page = text(_as(client, finance["both"]).get("/intern/kasse/anordnung"))
    assert "Fremd Geprueft" in page
    assert "Selbst Geprueft" not in page


def test_bulk_anordnung(app: Flask, client: FlaskClient, finance: dict[str, Staff],
                        make_order: Callable[..., int]) -> None:
    order_id = make_order(finance["caseworker"], establish_by=finance["feststeller"])
    _as(client, finance["anordner"])
    post(client, "/intern/kasse/anordnung", "/intern/kasse/anordnung/auswahl",
         {"order": f"{order_id}:1"})
    done = post(client, "/intern/kasse/anordnung", "/intern/kasse/anordnung/bestaetigen",
                {"selection": f"{order_id}:1"})
    assert done.status_code == 200
    assert _order(app, order_id).status == OrderStatus.ANGEORDNET


# --- one order -----------------------------------------------------------------------------


def test_the_order_page_shows_every_field_and_the_history(
        client: FlaskClient, finance: dict[str, Staff], make_order: Callable[..., int]) -> None:
    order_id = make_order(finance["caseworker"], establish_by=finance["feststeller"])
    page = text(_as(client, finance["anordner"]).get(f"/intern/kasse/{order_id}"))
    for expected in ("KZ-2026-", "227,00", "70 55/101 38-1", "Sabine Müller",
                     "DE89370400440532013000", "COBADEFFXXX", "01.03.2026",
                     finance["feststeller"].full_name, finance["caseworker"].full_name):
        assert expected in page
    assert 'action="/intern/kasse/' in page  # the Anordnung button is there


def test_single_feststellung_from_the_order_page(app: Flask, client: FlaskClient,
                                                 finance: dict[str, Staff],
                                                 make_order: Callable[..., int]) -> None:
    order_id = make_order(finance["caseworker"])
    page = f"/intern/kasse/{order_id}"
    _as(client, finance["feststeller"])
    response = post(client, page, f"{page}/feststellen", {"version": "1"})
    assert response.status_code == 302
    assert _order(app, order_id).status == OrderStatus.FESTGESTELLT


@pytest.mark.parametrize("version", ["2", "", "abc", "-1", "9" * 30])
def test_a_stale_or_broken_version_is_refused(app: Flask, client: FlaskClient,
                                              finance: dict[str, Staff],
                                              make_order: Callable[..., int],
                                              version: str) -> None:
    order_id = make_order(finance["caseworker"])
    page = f"/intern/kasse/{order_id}"
    _as(client, finance["feststeller"])
    response = post(client, page, f"{page}/feststellen", {"version": version},
                    follow_redirects=True)
    assert response.status_code == 200
    assert _order(app, order_id).status == OrderStatus.DRAFT


def test_self_approval_through_the_page_is_refused(app: Flask, client: FlaskClient,
                                                   finance: dict[str, Staff],
                                                   make_order: Callable[..., int]) -> None:
    order_id = make_order(finance["both"])
    page = f"/intern/kasse/{order_id}"
    _as(client, finance["both"])
    assert "/feststellen" not in text(client.get(page))
    response = post(client, page, f"{page}/feststellen", {"version": "1"},
                    follow_redirects=True)
    assert "created or changed yourself" in text(response) or "selbst" in text(response)
    assert _order(app, order_id).status == OrderStatus.DRAFT


def test_wrong_role_on_single_steps_is_403(client: FlaskClient, finance: dict[str, Staff],
                                           make_order: Callable[..., int]) -> None:
    order_id = make_order(finance["caseworker"])
    page = f"/intern/kasse/{order_id}"
    _as(client, finance["anordner"])
    assert post(client, page, f"{page}/feststellen", {"version": "1"}).status_code == 403
    _as(client, finance["feststeller"])
    assert post(client, page, f"{page}/anordnen", {"version": "1"}).status_code == 403


def test_an_unknown_order_is_404(client: FlaskClient, finance: dict[str, Staff]) -> None:
    assert _as(client, finance["feststeller"]).get("/intern/kasse/999999").status_code == 404


@pytest.mark.parametrize("reason", HOSTILE)
def test_cancel_with_a_bad_reason_keeps_the_order(app: Flask, client: FlaskClient,
                                                  finance: dict[str, Staff],
                                                  make_order: Callable[..., int],
                                                  reason: str) -> None:
    order_id = make_order(finance["caseworker"])
    page = f"/intern/kasse/{order_id}"
    _as(client, finance["feststeller"])
    response = post(client, page, f"{page}/stornieren", {"reason": reason})
    if reason.startswith("<script>"):
        assert response.status_code == 302  # a harmless text, stored as typed
        assert _order(app, order_id).status == OrderStatus.CANCELLED
        assert "<script>alert" not in text(client.get(page))
        return
    assert response.status_code == 400
    assert "error-summary" in text(response)
    assert _order(app, order_id).status == OrderStatus.DRAFT


# --- the case side -------------------------------------------------------------------------


@pytest.fixture
def fall_id(app: Flask, create_case: Callable[..., Fall]) -> int:
    with app.app_context():
        return create_case().id


def test_a_caseworker_raises_an_order_on_a_case(app: Flask, client: FlaskClient,
                                                finance: dict[str, Staff], fall_id: int) -> None:
    page = f"/intern/faelle/{fall_id}/sollstellung/neu"
    _as(client, finance["caseworker"])
    assert client.get(page).status_code == 200
    response = post(client, page, page, {
        "direction": "auszahlung", "amount": "1.234,56", "due_date": "01.04.2026",
        "haushaltsstelle": "7055/10138-1", "party_name": "Sabine Müller",
        "iban": "DE89 3704 0044 0532 0130 00", "bic": "COBADEFFXXX"})
    assert response.status_code == 302
    with app.app_context():
        order = db.session.scalar(select(Sollstellung).where(Sollstellung.fall_id == fall_id))
        assert order is not None
        assert order.amount_cents == 123_456
        assert order.haushaltsstelle == "70 55/101 38-1"
        assert order.created_by_id == finance["caseworker"].id
    case_page = text(client.get(f"/intern/faelle/{fall_id}"))
    assert "1.234,56" in case_page
    assert f"/intern/kasse/{order.id}" in case_page
    # The caseworker may open the order of their case, but not the finance pages.
    assert client.get(f"/intern/kasse/{order.id}").status_code == 200


@pytest.mark.parametrize(("field_name", "value"), [
    ("amount", "0"), ("amount", "-5"), ("amount", "abc"), ("amount", "99999999999"),
    ("amount", "12,345"), ("amount", ""),
    ("iban", "DE89370400440532013001"), ("iban", "<script>"), ("iban", ""),
    ("bic", "DEUTXXFF"), ("bic", "BNPAFRPPXXX"),
    ("purpose", "x" * 141), ("purpose", "Ohne Kassenzeichen"),
    ("haushaltsstelle", "70 55/101 38"), ("haushaltsstelle", ""),
    ("due_date", "31.02.2026"), ("due_date", ""),
    ("party_name", ""), ("party_name", "x" * 20_000), ("party_name", "Text\x1bmit ESC"),
    ("direction", "geschenk"),
    ("period_end", "01.01.2026"),
])
def test_bad_input_on_the_new_order_form(app: Flask, client: FlaskClient,
                                         finance: dict[str, Staff], fall_id: int,
                                         field_name: str, value: str) -> None:
    page = f"/intern/faelle/{fall_id}/sollstellung/neu"
    data = {"direction": "auszahlung", "amount": "227,00", "due_date": "01.04.2026",
            "haushaltsstelle": "70 55/101 38-1", "party_name": "Sabine Müller",
            "iban": "DE89370400440532013000", "bic": "COBADEFFXXX",
            "period_start": "01.03.2026", "period_end": "31.03.2026", field_name: value}
    _as(client, finance["caseworker"])
    response = post(client, page, page, data)
    assert response.status_code == 400
    body = text(response)
    assert "error-summary" in body
    if value and "\x1b" not in value and len(value) < 200 and field_name != "direction":
        assert str(escape(value)) in body  # the input is kept, escaped
    with app.app_context():
        assert db.session.scalar(select(Sollstellung.id)) is None


def test_other_fachbereich_cannot_raise_orders(app: Flask, client: FlaskClient,
                                               create_staff: Callable[..., Staff],
                                               fall_id: int) -> None:
    stranger = create_staff("wohngeld1", fachbereiche=("wohngeld",))
    _as(client, stranger)
    assert client.get(f"/intern/faelle/{fall_id}/sollstellung/neu").status_code == 403


def test_other_fachbereich_cannot_see_the_order(app: Flask, client: FlaskClient,
                                                create_staff: Callable[..., Staff],
                                                make_order: Callable[..., int],
                                                fall_id: int) -> None:
    order_id = make_order(fall_id=fall_id)
    stranger = create_staff("wohngeld2", fachbereiche=("wohngeld",))
    assert _as(client, stranger).get(f"/intern/kasse/{order_id}").status_code == 403
    loose = make_order()
    assert client.get(f"/intern/kasse/{loose}").status_code == 403
    # The refused look at the case's order is in the access log, like a guessed case URL.
    with app.app_context():
        entries = db.session.execute(select(
            AccessLogEntry.staff_id, AccessLogEntry.fall_id, AccessLogEntry.what,
            AccessLogEntry.granted)).all()
    assert [tuple(entry) for entry in entries] == [
        (stranger.id, fall_id, AccessKind.CASE_VIEW, False)]


def test_finance_staff_cannot_raise_orders_on_cases(client: FlaskClient,
                                                    finance: dict[str, Staff],
                                                    fall_id: int) -> None:
    _as(client, finance["feststeller"])
    assert client.get(f"/intern/faelle/{fall_id}/sollstellung/neu").status_code == 403


def test_the_timeline_shows_ordering_and_booking(app: Flask, finance: dict[str, Staff],
                                                 make_order: Callable[..., int],
                                                 fall_id: int) -> None:
    from ihv.models import Booking, BookingStatus, ImportedFile, ImportKind, ImportStatus
    from ihv.models import Transfer as TransferModel

    order_id = make_order(finance["caseworker"], fall_id=fall_id, direction=Direction.ANNAHME,
                          iban=None, bic=None, establish_by=finance["feststeller"],
                          order_by=finance["anordner"])
    with app.app_context():
        order = db.session.get_one(Sollstellung, order_id)
        transfer = TransferModel(sequence_number=1, file_name="t.xml", blob_key="k",
                                 sha256="0" * 64, order_count=1, control_sum_cents=1)
        imported = ImportedFile(kind=ImportKind.BOOKINGS, status=ImportStatus.IMPORTED,
                                file_name="i.xml", sha256="1" * 64)
        db.session.add_all([transfer, imported])
        db.session.flush()
        services.mark_transmitted([order], transfer)
        booking = Booking(import_id=imported.id, reference="R1", source=ImportKind.BOOKINGS,
                          direction=Direction.ANNAHME, kassenzeichen=order.kassenzeichen,
                          amount_cents=22_700, booking_date=order.due_date,
                          status=BookingStatus.MATCHED)
        db.session.add(booking)
        db.session.flush()
        services.apply_booking(order, booking)
        db.session.commit()
        kinds = list(db.session.scalars(select(FallEvent.kind).where(
            FallEvent.fall_id == fall_id).order_by(FallEvent.id)))
    assert "receivable_ordered" in kinds
    assert "receipt_booked" in kinds


def test_nav_shows_kasse_only_to_finance(client: FlaskClient, finance: dict[str, Staff]) -> None:
    assert 'href="/intern/kasse/"' in text(_as(client, finance["feststeller"]).get(
        "/intern/kasse/"))
    page = text(_as(client, finance["caseworker"]).get("/intern/faelle/"))
    assert 'href="/intern/kasse/"' not in page


def test_roles_fixture_sanity(finance: dict[str, Staff]) -> None:
    assert finance["both"].has_role(Role.FESTSTELLER, Role.ANORDNER)


# --- changing an order ---------------------------------------------------------------------


def test_changing_an_established_order_voids_its_feststellung(
        app: Flask, client: FlaskClient, finance: dict[str, Staff],
        make_order: Callable[..., int], fall_id: int) -> None:
    order_id = make_order(finance["caseworker"], fall_id=fall_id,
                          establish_by=finance["feststeller"])
    page = f"/intern/kasse/{order_id}/bearbeiten"
    _as(client, finance["caseworker"])
    form = text(client.get(page))
    assert 'value="227,00"' in form
    response = post(client, page, page, {
        "version": "1", "amount": "250,00", "due_date": "01.03.2026",
        "haushaltsstelle": "70 55/101 38-1", "party_name": "Sabine Müller",
        "iban": "DE89370400440532013000", "bic": "COBADEFFXXX", "purpose": ""})
    assert response.status_code == 302
    order = _order(app, order_id)
    assert order.amount_cents == 25_000
    assert order.status == OrderStatus.DRAFT
    assert order.version == 2
    assert order.festgestellt_by_id is None
    assert order.purpose.startswith(order.kassenzeichen)


@pytest.mark.parametrize(("field_name", "value"), [
    ("version", "1x"), ("amount", "-1"), ("iban", "DE89370400440532013001"),
    ("purpose", "y" * 141), ("haushaltsstelle", "1/2-3"),
])
def test_bad_or_stale_changes_are_refused(app: Flask, client: FlaskClient,
                                          finance: dict[str, Staff],
                                          make_order: Callable[..., int], fall_id: int,
                                          field_name: str, value: str) -> None:
    order_id = make_order(finance["caseworker"], fall_id=fall_id)
    page = f"/intern/kasse/{order_id}/bearbeiten"
    data = {"version": "1", "amount": "300,00", "due_date": "01.03.2026",
            "haushaltsstelle": "70 55/101 38-1", "party_name": "Sabine Müller",
            "iban": "DE89370400440532013000", field_name: value}
    _as(client, finance["caseworker"])
    response = post(client, page, page, data)
    assert response.status_code == 400
    assert "error-summary" in text(response)
    assert _order(app, order_id).amount_cents == 22_700


def test_a_sent_order_cannot_be_changed(app: Flask, client: FlaskClient,
                                        finance: dict[str, Staff],
                                        make_order: Callable[..., int]) -> None:
    from ihv.models import Transfer as TransferModel

    order_id = make_order(finance["caseworker"], establish_by=finance["feststeller"],
                          order_by=finance["anordner"])
    with app.app_context():
        transfer = TransferModel(sequence_number=1, file_name="t.xml", blob_key="k",
                                 sha256="0" * 64, order_count=1, control_sum_cents=1)
        db.session.add(transfer)
        db.session.flush()
        services.mark_transmitted([db.session.get_one(Sollstellung, order_id)], transfer)
        db.session.commit()
    _as(client, finance["feststeller"])
    response = client.get(f"/intern/kasse/{order_id}/bearbeiten")
    assert response.status_code == 302
    page = text(client.get(f"/intern/kasse/{order_id}"))
    assert "/bearbeiten" not in page
    change = post(client, f"/intern/kasse/{order_id}", f"/intern/kasse/{order_id}/stornieren",
                  {"reason": "Kind verzogen"})
    assert change.status_code == 302
    with app.app_context():
        change_order = db.session.scalar(select(Sollstellung).where(
            Sollstellung.replaces_id == order_id))
        assert change_order is not None
        assert change.headers["Location"].endswith(f"/intern/kasse/{change_order.id}")
