"""Password reset by expiring single-use link, and changing the password while signed in."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient

from amtsweg.citizens.models import Citizen
from amtsweg.citizens.tokens import Purpose, make_token
from amtsweg.db import utcnow
from amtsweg.extensions import db
from amtsweg.passwords import verify_password
from tests.amtsweg.mail.support import comparable, link_in, mails_to, path_of, post_form
from tests.conftest import PASSWORD, sign_in_citizen

NEW_PASSWORD = "ganz-neues-Passwort-2024"
FORGOT = "/konto/passwort-vergessen"


def password_is(app: Flask, citizen_id: int, password: str) -> bool:
    with app.app_context():
        citizen = db.session.get(Citizen, citizen_id)
        assert citizen is not None
        return verify_password(citizen.password_hash, password)


def test_reset_by_link_ends_every_session_and_the_link(
        app: Flask, client: FlaskClient, create_citizen: Callable[..., Citizen]) -> None:
    citizen = create_citizen("vergessen@example.org")
    other_device = app.test_client()
    sign_in_citizen(other_device, citizen)
    assert other_device.get("/konto/").status_code == 200

    response = post_form(client, FORGOT, {"email": "Vergessen@example.org"})
    assert "Wenn es ein Konto mit der Adresse" in response.get_data(as_text=True)
    [mail] = mails_to(app, "vergessen@example.org")
    assert mail["Subject"] == "Passwort zurücksetzen"
    link = path_of(link_in(mail))

    mismatch = post_form(client, link, {"password": NEW_PASSWORD, "password_repeat": "anders"})
    assert "Die beiden Passwörter stimmen nicht überein" in mismatch.get_data(as_text=True)
    assert password_is(app, citizen.id, PASSWORD)

    response = post_form(client, link, {"password": NEW_PASSWORD,
                                        "password_repeat": NEW_PASSWORD}, follow_redirects=True)
    assert "Bitte melden Sie sich mit dem neuen Passwort an" in response.get_data(as_text=True)
    assert password_is(app, citizen.id, NEW_PASSWORD)
    assert other_device.get("/konto/").status_code == 302  # the old session has ended
    assert client.get(link).status_code == 400  # single use
    assert len(mails_to(app, "vergessen@example.org")) == 2  # plus "your password was changed"


def test_unknown_address_gets_the_same_answer_and_no_mail(
        app: Flask, client: FlaskClient, create_citizen: Callable[..., Citizen]) -> None:
    create_citizen("da@example.org")
    known = post_form(client, FORGOT, {"email": "da@example.org"}).get_data(as_text=True)
    unknown = post_form(client, FORGOT, {"email": "weg@example.org"}).get_data(as_text=True)
    assert comparable(known, "da@example.org") == comparable(unknown, "weg@example.org")
    assert mails_to(app, "weg@example.org") == []


def test_expired_reset_link_changes_nothing(app: Flask, client: FlaskClient,
                                            create_citizen: Callable[..., Citizen]) -> None:
    citizen = create_citizen("abgelaufen@example.org")
    with app.app_context():
        fresh = db.session.get(Citizen, citizen.id)
        assert fresh is not None
        token = make_token(fresh, Purpose.RESET_PASSWORD,
                           issued_at=utcnow() - timedelta(minutes=61))
    response = client.get(f"/konto/passwort-neu/{token}")
    assert response.status_code == 400
    assert "Der Link ist abgelaufen" in response.get_data(as_text=True)
    from tests.conftest import csrf_token

    response = client.post(f"/konto/passwort-neu/{token}", data={
        "csrf_token": csrf_token(client, FORGOT), "password": NEW_PASSWORD,
        "password_repeat": NEW_PASSWORD})
    assert response.status_code == 400
    assert password_is(app, citizen.id, PASSWORD)


def test_older_reset_link_dies_when_the_password_changes(
        app: Flask, client: FlaskClient, create_citizen: Callable[..., Citizen]) -> None:
    citizen = create_citizen("zweimal@example.org")
    post_form(client, FORGOT, {"email": "zweimal@example.org"})
    post_form(client, FORGOT, {"email": "zweimal@example.org"})
    first, second = (path_of(link_in(m)) for m in mails_to(app, "zweimal@example.org"))
    post_form(client, second, {"password": NEW_PASSWORD, "password_repeat": NEW_PASSWORD})
    assert client.get(first).status_code == 400
    assert password_is(app, citizen.id, NEW_PASSWORD)


def test_change_password_keeps_this_session_and_ends_the_others(
        app: Flask, client: FlaskClient, create_citizen: Callable[..., Citizen]) -> None:
    citizen = create_citizen("wechsel@example.org")
    sign_in_citizen(client, citizen)
    other_device = app.test_client()
    sign_in_citizen(other_device, citizen)
    path = "/konto/passwort-aendern"

    wrong = post_form(client, path, {"current_password": "nicht-das-richtige",
                                     "password": NEW_PASSWORD, "password_repeat": NEW_PASSWORD})
    page = wrong.get_data(as_text=True)
    assert "Das aktuelle Passwort ist nicht richtig." in page
    assert "<title>Fehler:" in page
    assert password_is(app, citizen.id, PASSWORD)

    empty = post_form(client, path, {}).get_data(as_text=True)
    assert "Geben Sie Ihr aktuelles Passwort ein." in empty

    response = post_form(client, path, {"current_password": PASSWORD, "password": NEW_PASSWORD,
                                        "password_repeat": NEW_PASSWORD}, follow_redirects=True)
    assert "Auf allen anderen Geräten wurden Sie abgemeldet" in response.get_data(as_text=True)
    assert password_is(app, citizen.id, NEW_PASSWORD)
    assert client.get("/konto/").status_code == 200
    assert other_device.get("/konto/").status_code == 302
    [notice] = mails_to(app, "wechsel@example.org")
    assert notice["Subject"] == "Ihr Passwort wurde geändert"
