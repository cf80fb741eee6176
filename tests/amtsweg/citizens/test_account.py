"""The account page, changing the e-mail address and deleting the account."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from amtsweg.audit.models import AuditEntry
from amtsweg.citizens.models import Citizen
from amtsweg.citizens.signals import citizen_deleted
from amtsweg.extensions import db
from tests.amtsweg.mail.support import body_of, link_in, mails_to, path_of, post_form
from tests.conftest import PASSWORD, sign_in_citizen

CHANGE = "/konto/e-mail-aendern"
DELETE = "/konto/loeschen"


def email_of(app: Flask, citizen_id: int) -> str | None:
    with app.app_context():
        citizen = db.session.get(Citizen, citizen_id)
        return None if citizen is None else citizen.email


def test_account_page_shows_address_and_links(client: FlaskClient,
                                              create_citizen: Callable[..., Citizen]) -> None:
    sign_in_citizen(client, create_citizen("konto@example.org"))
    page = client.get("/konto/").get_data(as_text=True)
    assert "<title>Mein Konto" in page
    assert "konto@example.org" in page
    assert "Bestätigt seit" in page
    for href in ('href="/konto/e-mail-aendern"', 'href="/konto/passwort-aendern"',
                 'href="/konto/loeschen"'):
        assert href in page
    assert 'aria-current="page"' in page  # the navigation entry "Mein Konto"


def test_email_changes_only_when_the_new_address_confirms(
        app: Flask, client: FlaskClient, create_citizen: Callable[..., Citizen]) -> None:
    citizen = create_citizen("alt@example.org")
    sign_in_citizen(client, citizen)
    other_device = app.test_client()
    sign_in_citizen(other_device, citizen)

    response = post_form(client, CHANGE, {"email": "Neu@Example.org",
                                          "current_password": PASSWORD})
    assert "Wir haben einen Bestätigungslink an neu@example.org gesendet" in response.get_data(
        as_text=True)
    assert email_of(app, citizen.id) == "alt@example.org"
    [notice] = mails_to(app, "alt@example.org")
    assert notice["Subject"] == "Ihre E-Mail-Adresse soll geändert werden"
    assert "neu@example.org" in body_of(notice)
    [confirm] = mails_to(app, "neu@example.org")
    link = path_of(link_in(confirm))

    assert "neu@example.org" in client.get(link).get_data(as_text=True)
    assert email_of(app, citizen.id) == "alt@example.org"  # opening alone changes nothing
    response = post_form(client, link, {}, follow_redirects=True)
    assert "Ihre E-Mail-Adresse wurde geändert." in response.get_data(as_text=True)
    assert email_of(app, citizen.id) == "neu@example.org"
    assert client.get("/konto/").status_code == 200  # this browser stays signed in
    assert other_device.get("/konto/").status_code == 302
    assert client.get(link).status_code == 400  # used
    with app.app_context():
        entry = db.session.scalar(select(AuditEntry).where(
            AuditEntry.action == "citizen.email_changed"))
        assert entry is not None
        assert entry.before == {"email": "alt@example.org"}


def test_change_email_refuses_wrong_password_and_same_address(
        app: Flask, client: FlaskClient, create_citizen: Callable[..., Citizen]) -> None:
    citizen = create_citizen("bleibt@example.org")
    sign_in_citizen(client, citizen)
    page = post_form(client, CHANGE, {"email": "anders@example.org",
                                      "current_password": "falsch-falsch-1"}).get_data(
        as_text=True)
    assert "Das aktuelle Passwort ist nicht richtig." in page
    assert 'value="anders@example.org"' in page
    page = post_form(client, CHANGE, {"email": "bleibt@example.org",
                                      "current_password": PASSWORD}).get_data(as_text=True)
    assert "Das ist bereits die E-Mail-Adresse Ihres Kontos." in page
    page = post_form(client, CHANGE, {"email": "a@b.de\r\nBcc: x@y.de",
                                      "current_password": PASSWORD}).get_data(as_text=True)
    assert "Bitte geben Sie nur eine E-Mail-Adresse ein" in page
    assert mails_to(app, "anders@example.org") == []
    assert mails_to(app, "bleibt@example.org") == []
    with app.app_context():
        assert db.session.get(Citizen, citizen.id).pending_email is None  # type: ignore[union-attr]


def test_change_to_a_taken_address_reveals_nothing_and_changes_nothing(
        app: Flask, client: FlaskClient, create_citizen: Callable[..., Citizen]) -> None:
    citizen = create_citizen("ich@example.org")
    create_citizen("vergeben@example.org")
    sign_in_citizen(client, citizen)
    response = post_form(client, CHANGE, {"email": "vergeben@example.org",
                                          "current_password": PASSWORD})
    assert "Wir haben einen Bestätigungslink an vergeben@example.org" in response.get_data(
        as_text=True)
    [warning] = mails_to(app, "vergeben@example.org")
    assert warning["Subject"] == "Jemand wollte Ihre E-Mail-Adresse verwenden"
    assert "/konto/e-mail-bestaetigen/" not in body_of(warning)
    assert email_of(app, citizen.id) == "ich@example.org"


def test_reset_password_cancels_a_pending_address_change(
        app: Flask, client: FlaskClient, create_citizen: Callable[..., Citizen]) -> None:
    citizen = create_citizen("gekapert@example.org")
    sign_in_citizen(client, citizen)
    post_form(client, CHANGE, {"email": "angreifer@example.org", "current_password": PASSWORD})
    change_link = path_of(link_in(mails_to(app, "angreifer@example.org")[0]))
    owner = app.test_client()
    post_form(owner, "/konto/passwort-vergessen", {"email": "gekapert@example.org"})
    reset_mail = next(m for m in mails_to(app, "gekapert@example.org")
                      if "passwort-neu" in body_of(m))
    post_form(owner, path_of(link_in(reset_mail)),
              {"password": "mein-neues-Passwort-1", "password_repeat": "mein-neues-Passwort-1"})
    assert owner.get(change_link).status_code == 400
    assert email_of(app, citizen.id) == "gekapert@example.org"


@pytest.fixture
def deleted_ids(app: Flask) -> Iterator[list[int]]:
    received: list[int] = []

    def receiver(sender: Flask, **kwargs: Any) -> None:
        received.append(kwargs["citizen_id"])

    citizen_deleted.connect(receiver, weak=False)
    yield received
    citizen_deleted.disconnect(receiver)


def test_delete_account_needs_password_and_confirmation(
        app: Flask, client: FlaskClient, create_citizen: Callable[..., Citizen],
        deleted_ids: list[int]) -> None:
    citizen = create_citizen("loeschen@example.org")
    sign_in_citizen(client, citizen)
    page = post_form(client, DELETE, {"current_password": PASSWORD}).get_data(as_text=True)
    assert "Bitte bestätigen Sie, dass Sie Ihr Konto löschen möchten." in page
    page = post_form(client, DELETE, {"current_password": "falsch-falsch-1",
                                      "confirm": "y"}).get_data(as_text=True)
    assert "Das aktuelle Passwort ist nicht richtig." in page
    page = post_form(client, DELETE, {"current_password": "<b>x</b>" * 100,
                                      "confirm": "y"}).get_data(as_text=True)
    assert "<b>x</b>" not in page  # a password is never echoed, escaped or not
    assert email_of(app, citizen.id) == "loeschen@example.org"
    assert deleted_ids == []


def test_delete_account_removes_it_signals_and_audits_only_the_id(
        app: Flask, client: FlaskClient, create_citizen: Callable[..., Citizen],
        deleted_ids: list[int]) -> None:
    citizen = create_citizen("tschuess@example.org")
    sign_in_citizen(client, citizen)
    response = post_form(client, DELETE, {"current_password": PASSWORD, "confirm": "y"})
    assert response.status_code == 200
    assert "Ihr Konto wurde gelöscht" in response.get_data(as_text=True)
    assert email_of(app, citizen.id) is None
    assert deleted_ids == [citizen.id]
    assert client.get("/konto/").status_code == 302
    [goodbye] = mails_to(app, "tschuess@example.org")
    assert goodbye["Subject"] == "Ihr Konto wurde gelöscht"
    with app.app_context():
        entry = db.session.scalar(select(AuditEntry).where(
            AuditEntry.action == "citizen.deleted"))
        assert entry is not None
        assert entry.object_id == str(citizen.id)
        assert entry.before is None
        assert entry.after is None
        assert "tschuess" not in entry.actor_name


def test_delete_without_csrf_token_is_refused(app: Flask, client: FlaskClient,
                                              create_citizen: Callable[..., Citizen]) -> None:
    citizen = create_citizen("bleibt-da@example.org")
    sign_in_citizen(client, citizen)
    response = client.post(DELETE, data={"current_password": PASSWORD, "confirm": "y"})
    assert response.status_code == 400
    assert "Ihr Formular ist abgelaufen" in response.get_data(as_text=True)
    assert email_of(app, citizen.id) == "bleibt-da@example.org"
