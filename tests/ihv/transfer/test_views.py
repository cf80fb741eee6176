"""The transfer pages: who may see them, the resend button, rejected files, the Klärungsliste."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import IO

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from amtsweg.audit.models import AuditEntry
from amtsweg.extensions import db
from amtsweg.staff.models import Role, Staff
from ihv import codes
from ihv.models import Booking, BookingStatus, Direction, Sollstellung, Transfer, TransferStatus
from ihv.transfer import format as fmt
from ihv.transfer import receive, send
from ihv.transfer.transport import TransportError
from tests.backoffice.support import post, text
from tests.conftest import sign_in_staff
from tests.ihv.transfer.support import approved, reload, settings

Factory = Callable[..., Sollstellung]
BASE = "/intern/kasse/uebertragungen"


class DownTransport:
    name = "down"

    def deliver(self, file_name: str, stream: IO[bytes], sha256: str) -> None:
        raise TransportError("gateway unreachable")


def _unclear_booking(app: Flask, create_order: Factory, finance: dict[str, Staff]
                     ) -> tuple[int, str]:
    with app.app_context():
        order = approved(create_order, finance, direction=Direction.ANNAHME, amount_cents=4_000,
                         iban=None, bic=None)
        send.send_transfers(settings())
        inbox = settings().ihv_inbox_dir
        inbox.mkdir(parents=True, exist_ok=True)
        record = fmt.BookingRecord("K1", "Unterhalt Mai Lea", "annahme", 4_000,
                                   date(2026, 5, 3), "Max Muster", "Unterhalt Mai Lea")
        header = fmt.Header("LFF", "LfF", 1, datetime.now(UTC), 1, 4_000)
        with (inbox / "ist.xml").open("wb") as handle:
            fmt.write_bookings(handle, header, [record])
        receive.receive_files(settings())
        booking = db.session.scalar(select(Booking))
        assert booking is not None
        assert booking.status == BookingStatus.UNCLEAR
        return booking.id, order.kassenzeichen


@pytest.mark.parametrize("roles", [(Role.CASEWORKER,), (Role.CLEARING,), (Role.ADMIN,)])
def test_pages_are_closed_to_non_finance_staff(client: FlaskClient,
                                               create_staff: Callable[..., Staff],
                                               roles: tuple[Role, ...]) -> None:
    sign_in_staff(client, create_staff(roles=roles))
    for path in ("/", "/eingaenge", "/klaerungsliste"):
        assert client.get(BASE + path).status_code == 403


def test_anonymous_is_sent_to_the_login(client: FlaskClient) -> None:
    response = client.get(BASE + "/")
    assert response.status_code == 302
    assert "/intern/anmelden" in response.headers["Location"]


def test_auditor_reads_but_cannot_resend_or_assign(app: Flask, client: FlaskClient,
                                                   create_staff: Callable[..., Staff],
                                                   create_order: Factory,
                                                   finance: dict[str, Staff]) -> None:
    booking_id, _ = _unclear_booking(app, create_order, finance)
    sign_in_staff(client, create_staff(roles=(Role.AUDITOR,), fachbereiche=()))
    assert client.get(BASE + "/klaerungsliste").status_code == 200
    assert client.get(f"{BASE}/klaerungsliste/{booking_id}").status_code == 403
    assert post(client, BASE + "/", f"{BASE}/1/erneut-senden", {}).status_code == 403


def test_failed_transfer_shows_its_error_and_can_be_sent_again(
        app: Flask, client: FlaskClient, create_order: Factory,
        finance: dict[str, Staff]) -> None:
    with app.app_context():
        approved(create_order, finance)
        send.send_transfers(settings(), DownTransport())
        transfer_id = db.session.scalar(select(Transfer.id))
    sign_in_staff(client, finance["anordner"])

    page = text(client.get(BASE + "/"))
    assert "gateway unreachable" in page
    assert 'id="failed"' in page

    response = post(client, BASE + "/", f"{BASE}/{transfer_id}/erneut-senden", {},
                    follow_redirects=True)

    assert response.status_code == 200
    with app.app_context():
        transfer = db.session.get(Transfer, transfer_id)
        assert transfer is not None
        assert transfer.status == TransferStatus.SENT
        assert (settings().ihv_outbox_dir / transfer.file_name).exists()
        actions = list(db.session.scalars(select(AuditEntry.action).where(
            AuditEntry.actor_id == finance["anordner"].id)))
        assert "ihv.transfer_resend_requested" in actions
        assert "ihv.transfer_sent" in actions
    assert 'id="failed"' not in text(client.get(BASE + "/"))


def test_resend_without_csrf_token_is_refused(app: Flask, client: FlaskClient,
                                              create_order: Factory,
                                              finance: dict[str, Staff]) -> None:
    with app.app_context():
        approved(create_order, finance)
        send.send_transfers(settings(), DownTransport())
        transfer_id = db.session.scalar(select(Transfer.id))
    sign_in_staff(client, finance["anordner"])
    assert client.post(f"{BASE}/{transfer_id}/erneut-senden").status_code == 400
    with app.app_context():
        assert db.session.scalar(select(Transfer.status)) == TransferStatus.FAILED


def test_transfer_page_and_file_download(app: Flask, client: FlaskClient,
                                         create_order: Factory,
                                         finance: dict[str, Staff]) -> None:
    with app.app_context():
        order = approved(create_order, finance, amount_cents=12_345)
        send.send_transfers(settings())
        transfer = db.session.scalar(select(Transfer))
        assert transfer is not None
        transfer_id, sha = transfer.id, transfer.sha256
    sign_in_staff(client, finance["feststeller"])
    page = text(client.get(f"{BASE}/{transfer_id}"))
    assert codes.format_kassenzeichen(order.kassenzeichen) in page
    assert sha in page
    download = client.get(f"{BASE}/{transfer_id}/datei")
    import hashlib

    assert hashlib.sha256(download.data).hexdigest() == sha
    assert client.get(f"{BASE}/999999").status_code == 404


def test_rejected_file_shows_its_report(app: Flask, client: FlaskClient,
                                        finance: dict[str, Staff]) -> None:
    with app.app_context():
        inbox = settings().ihv_inbox_dir
        inbox.mkdir(parents=True, exist_ok=True)
        (inbox / "kaputt.xml").write_bytes(b"<?xml version='1.0'?><Bookings>")
        receive.receive_files(settings())
    sign_in_staff(client, finance["feststeller"])
    listing = text(client.get(BASE + "/eingaenge"))
    assert "kaputt.xml" in listing
    import re

    match = re.search(r'eingaenge/(\d+)"', listing)
    assert match
    detail = text(client.get(f"{BASE}/eingaenge/{match.group(1)}"))
    assert 'id="report"' in detail
    assert "unknown document" in detail


def test_assign_unclear_booking_by_hand(app: Flask, client: FlaskClient, create_order: Factory,
                                        finance: dict[str, Staff]) -> None:
    booking_id, kassenzeichen = _unclear_booking(app, create_order, finance)
    sign_in_staff(client, finance["feststeller"])
    page = f"{BASE}/klaerungsliste/{booking_id}"
    assert "Unterhalt Mai Lea" in text(client.get(BASE + "/klaerungsliste"))

    response = post(client, page, page, {"kassenzeichen": codes.format_kassenzeichen(
        kassenzeichen), "note": "Zahlerin hat den Namen statt des Kassenzeichens angegeben."})

    assert response.status_code == 302
    with app.app_context():
        booking = db.session.get(Booking, booking_id)
        assert booking is not None
        assert booking.status == BookingStatus.ASSIGNED
        assert booking.assigned_by_id == finance["feststeller"].id
        order = db.session.get(Sollstellung, booking.sollstellung_id)
        assert order is not None
        assert order.booked_cents == 4_000
        entry = db.session.scalar(select(AuditEntry).where(
            AuditEntry.action == "ihv.booking_assigned"))
        assert entry is not None
        assert entry.actor_id == finance["feststeller"].id
    assert "Nothing to clarify" in text(client.get(BASE + "/klaerungsliste")) or \
        "Nichts zu klären" in text(client.get(BASE + "/klaerungsliste"))


@pytest.mark.parametrize(("value", "message"), [
    ("", "Kassenzeichen"),
    ("KZ-2026-00000001-00", "Kassenzeichen"),
    ("x" * 500, "Kassenzeichen"),
    ("<script>alert(1)</script>", "Kassenzeichen"),
])
def test_assign_refuses_bad_kassenzeichen_and_keeps_input(
        app: Flask, client: FlaskClient, create_order: Factory, finance: dict[str, Staff],
        value: str, message: str) -> None:
    booking_id, _ = _unclear_booking(app, create_order, finance)
    sign_in_staff(client, finance["feststeller"])
    page = f"{BASE}/klaerungsliste/{booking_id}"

    response = post(client, page, page, {"kassenzeichen": value, "note": "Notiz bleibt"})

    assert response.status_code == 400
    body = text(response)
    assert "error-summary" in body
    assert "Notiz bleibt" in body
    assert "<script>alert(1)</script>" not in body
    with app.app_context():
        booking = db.session.get(Booking, booking_id)
        assert booking is not None
        assert booking.status == BookingStatus.UNCLEAR


def test_assign_to_a_kassenzeichen_without_sent_order(app: Flask, client: FlaskClient,
                                                       create_order: Factory,
                                                       finance: dict[str, Staff]) -> None:
    booking_id, _ = _unclear_booking(app, create_order, finance)
    with app.app_context():
        draft = create_order(finance["caseworker"], direction=Direction.ANNAHME, iban=None,
                             bic=None)
        kz = draft.kassenzeichen
    sign_in_staff(client, finance["feststeller"])
    page = f"{BASE}/klaerungsliste/{booking_id}"

    response = post(client, page, page, {"kassenzeichen": kz, "note": ""})

    assert response.status_code == 400
    assert "error-summary" in text(response)
    with app.app_context():
        assert reload(draft).booked_cents == 0


def test_assign_with_control_characters_in_note(app: Flask, client: FlaskClient,
                                                create_order: Factory,
                                                finance: dict[str, Staff]) -> None:
    booking_id, kassenzeichen = _unclear_booking(app, create_order, finance)
    sign_in_staff(client, finance["feststeller"])
    page = f"{BASE}/klaerungsliste/{booking_id}"
    response = post(client, page, page, {"kassenzeichen": kassenzeichen, "note": "a\x1bb"})
    assert response.status_code == 400
    response = post(client, page, page, {"kassenzeichen": kassenzeichen, "note": "n" * 501})
    assert response.status_code == 400
