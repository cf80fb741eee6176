"""Signing in and out: one generic error, unverified accounts, rate limits, separation."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from amtsweg.audit.models import AuditEntry
from amtsweg.citizens.models import Citizen
from amtsweg.extensions import db
from amtsweg.staff.models import Staff
from tests.amtsweg.mail.support import comparable, post_form
from tests.conftest import PASSWORD, csrf_token, sign_in_citizen, sign_in_staff

LOGIN = "/konto/anmelden"
GENERIC_ERROR = "E-Mail-Adresse oder Passwort sind nicht richtig."


def sign_in(client: FlaskClient, email: str, password: str = PASSWORD, path: str = LOGIN,
            **kwargs: object) -> TestResponse:
    response: TestResponse = post_form(client, path, {"email": email, "password": password},
                                       **kwargs)
    return response


def test_sign_in_and_out(app: Flask, client: FlaskClient,
                         create_citizen: Callable[..., Citizen]) -> None:
    citizen = create_citizen("anna@example.org")
    response = sign_in(client, "ANNA@example.org")
    assert response.status_code == 302
    assert response.headers["Location"] == "/konto/"
    assert "anna@example.org" in client.get("/konto/").get_data(as_text=True)
    with app.app_context():
        actions = list(db.session.scalars(select(AuditEntry.action)))
        assert "citizen.login" in actions
        assert db.session.get(Citizen, citizen.id).last_login_at is not None  # type: ignore[union-attr]
    assert "Abmelden" in client.get("/konto/").get_data(as_text=True)
    response = client.post("/konto/abmelden", data={"csrf_token": csrf_token(client, "/konto/")},
                           follow_redirects=True)
    assert "Sie haben sich abgemeldet." in response.get_data(as_text=True)
    assert client.get("/konto/").status_code == 302


def test_wrong_password_and_unknown_address_look_the_same(
        app: Flask, client: FlaskClient, create_citizen: Callable[..., Citizen]) -> None:
    create_citizen("bekannt@example.org")
    wrong = sign_in(client, "bekannt@example.org", password="falsches-Passwort-1")
    unknown = sign_in(client, "niemand@example.org", password="falsches-Passwort-1")
    for response, email in ((wrong, "bekannt@example.org"), (unknown, "niemand@example.org")):
        assert response.status_code == 200
        page = response.get_data(as_text=True)
        assert GENERIC_ERROR in page
        assert "<title>Fehler:" in page
        assert f'value="{email}"' in page
    assert comparable(wrong.get_data(as_text=True), "bekannt@example.org") == comparable(
        unknown.get_data(as_text=True), "niemand@example.org")
    with app.app_context():
        failures = list(db.session.scalars(select(AuditEntry).where(
            AuditEntry.action == "citizen.login_failed")))
        assert len(failures) == 2
        assert all("@" not in str(entry.after) + str(entry.before) for entry in failures)


def test_unverified_account_gets_a_clear_message_and_no_session(
        client: FlaskClient, create_citizen: Callable[..., Citizen]) -> None:
    create_citizen("offen@example.org", verified=False)
    page = sign_in(client, "offen@example.org").get_data(as_text=True)
    assert "Bitte bestätigen Sie zuerst Ihre E-Mail-Adresse" in page
    assert 'href="/konto/bestaetigung-erneut"' in page
    assert client.get("/konto/").status_code == 302


def test_next_only_to_local_paths(client: FlaskClient,
                                  create_citizen: Callable[..., Citizen]) -> None:
    create_citizen("weiter@example.org")
    response = sign_in(client, "weiter@example.org",
                       path=f"{LOGIN}?next=/konto/passwort-aendern")
    assert response.headers["Location"] == "/konto/passwort-aendern"
    with client.session_transaction() as session:
        session.clear()
    for hostile in ("https://boese.example/", "//boese.example/", "/\\boese.example"):
        response = sign_in(client, "weiter@example.org", path=f"{LOGIN}?next={hostile}")
        assert response.headers["Location"] == "/konto/"
        with client.session_transaction() as session:
            session.clear()


def test_protected_page_sends_to_login_and_back(client: FlaskClient,
                                                create_citizen: Callable[..., Citizen]) -> None:
    create_citizen("zurueck@example.org")
    response = client.get("/konto/e-mail-aendern")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/konto/anmelden?next=")
    response = sign_in(client, "zurueck@example.org", path=response.headers["Location"])
    assert response.headers["Location"] == "/konto/e-mail-aendern"


def test_rate_limit_per_client_address_gives_a_german_429(
        client: FlaskClient, create_citizen: Callable[..., Citizen]) -> None:
    create_citizen("ziel@example.org")
    for attempt in range(10):
        response = sign_in(client, f"raten{attempt}@example.org", password="falsch-falsch-1")
        assert response.status_code == 200
    response = sign_in(client, "ziel@example.org")  # even the right password waits now
    assert response.status_code == 429
    assert "Zu viele Versuche" in response.get_data(as_text=True)
    assert client.get("/konto/").status_code == 302


def test_rate_limit_per_email_counts_failures_from_any_address(
        client: FlaskClient, create_citizen: Callable[..., Citizen]) -> None:
    create_citizen("opfer@example.org")
    for attempt in range(20):
        response = sign_in(client, "opfer@example.org", password="falsch-falsch-1",
                           environ_base={"REMOTE_ADDR": f"10.0.{attempt}.1"})
        assert response.status_code == 200
    response = sign_in(client, "opfer@example.org", environ_base={"REMOTE_ADDR": "10.9.9.9"})
    assert response.status_code == 429
    # Another address from the same client is not affected.
    create_citizen("andere@example.org")
    response = sign_in(client, "andere@example.org", environ_base={"REMOTE_ADDR": "10.9.9.9"})
    assert response.status_code == 302


def test_login_without_csrf_token_is_refused(client: FlaskClient,
                                             create_citizen: Callable[..., Citizen]) -> None:
    create_citizen("csrf@example.org")
    response = client.post(LOGIN, data={"email": "csrf@example.org", "password": PASSWORD})
    assert response.status_code == 400
    assert "Ihr Formular ist abgelaufen" in response.get_data(as_text=True)
    assert client.get("/konto/").status_code == 302


def test_hostile_login_input(client: FlaskClient) -> None:
    for email, password in (("", ""), ("x" * 500 + "@example.org", "p" * 5000),
                            ("a@b.de\r\nBcc: x@y.de", PASSWORD),
                            ("<script>alert(1)</script>", PASSWORD)):
        response = sign_in(client, email, password=password)
        assert response.status_code == 200
        page = response.get_data(as_text=True)
        assert "<title>Fehler:" in page
        assert "<script>alert(1)</script>" not in page


def test_citizen_session_never_reaches_staff_routes(
        client: FlaskClient, create_citizen: Callable[..., Citizen]) -> None:
    sign_in_citizen(client, create_citizen("getrennt@example.org"))
    assert client.get("/konto/").status_code == 200
    response = client.get("/intern/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/intern/anmelden")


def test_staff_session_never_reaches_citizen_routes(
        client: FlaskClient, create_staff: Callable[..., Staff]) -> None:
    sign_in_staff(client, create_staff("sachbearbeitung"))
    response = client.get("/konto/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/konto/anmelden")
