"""Registration, e-mail verification and resending the link, end to end through HTTP."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from amtsweg.audit.models import AuditEntry
from amtsweg.citizens.models import Citizen
from amtsweg.citizens.tokens import Purpose, make_token
from amtsweg.db import utcnow
from amtsweg.extensions import db
from tests.amtsweg.mail.support import comparable, link_in, mails_to, path_of, post_form
from tests.conftest import PASSWORD, csrf_token

REGISTER = "/konto/registrieren"


def register(client: FlaskClient, email: str, **overrides: str) -> object:
    data = {"email": email, "password": PASSWORD, "password_repeat": PASSWORD,
            "privacy_consent": "y", **overrides}
    return post_form(client, REGISTER, data)


def citizen_count(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Citizen)) or 0


def test_registration_verification_and_sign_in(app: Flask, client: FlaskClient) -> None:
    response = register(client, "  Erika.Muster@Example.ORG ")
    page = response.get_data(as_text=True)  # type: ignore[attr-defined]
    assert response.status_code == 200  # type: ignore[attr-defined]
    assert "Bitte prüfen Sie Ihr E-Mail-Postfach" in page
    with app.app_context():
        citizen = db.session.scalar(select(Citizen))
        assert citizen is not None
        assert citizen.email == "erika.muster@example.org"
        assert not citizen.is_verified
    [mail] = mails_to(app, "erika.muster@example.org")
    assert mail["Subject"] == "Bitte bestätigen Sie Ihre E-Mail-Adresse"
    link = link_in(mail)
    assert link.startswith("http://127.0.0.1:5000/konto/bestaetigen/")

    # Opening the link alone changes nothing (mail scanners open links); the button does.
    confirm_page = client.get(path_of(link))
    assert "E-Mail-Adresse bestätigen" in confirm_page.get_data(as_text=True)
    with app.app_context():
        assert not db.session.scalar(select(Citizen)).is_verified  # type: ignore[union-attr]
    response = post_form(client, path_of(link), {}, follow_redirects=True)
    assert "Ihre E-Mail-Adresse ist bestätigt" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Citizen)).is_verified  # type: ignore[union-attr]

    response = post_form(client, "/konto/anmelden",
                         {"email": "erika.muster@example.org", "password": PASSWORD},
                         follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "Mein Konto" in page
    assert "erika.muster@example.org" in page


def test_used_verification_link_is_dead(app: Flask, client: FlaskClient) -> None:
    register(client, "einmal@example.org")
    link = path_of(link_in(mails_to(app, "einmal@example.org")[0]))
    post_form(client, link, {})
    again = client.get(link)
    assert again.status_code == 400
    page = again.get_data(as_text=True)
    assert "Dieser Link kann nicht verwendet werden" in page
    assert "bereits verwendet" in page


def test_expired_verification_link_changes_nothing(app: Flask, client: FlaskClient,
                                                   create_citizen: Callable[..., Citizen]
                                                   ) -> None:
    citizen = create_citizen("spaet@example.org", verified=False)
    with app.app_context():
        fresh = db.session.get(Citizen, citizen.id)
        assert fresh is not None
        token = make_token(fresh, Purpose.VERIFY_EMAIL,
                           issued_at=utcnow() - timedelta(hours=48, minutes=1))
    response = client.get(f"/konto/bestaetigen/{token}")
    assert response.status_code == 400
    assert "Der Link ist abgelaufen" in response.get_data(as_text=True)
    # Pressing the button behind the expired link is refused the same way.
    csrf = csrf_token(client, "/konto/registrieren")
    response = client.post(f"/konto/bestaetigen/{token}", data={"csrf_token": csrf})
    assert response.status_code == 400
    with app.app_context():
        assert not db.session.get(Citizen, citizen.id).is_verified  # type: ignore[union-attr]


def test_tampered_and_misused_tokens_are_refused(app: Flask, client: FlaskClient,
                                                 create_citizen: Callable[..., Citizen]) -> None:
    citizen = create_citizen("ziel@example.org", verified=False)
    with app.app_context():
        fresh = db.session.get(Citizen, citizen.id)
        assert fresh is not None
        verify = make_token(fresh, Purpose.VERIFY_EMAIL)
        reset = make_token(fresh, Purpose.RESET_PASSWORD)
    tampered = verify[:-3] + ("AAA" if not verify.endswith("AAA") else "BBB")
    for path in (f"/konto/bestaetigen/{tampered}", f"/konto/bestaetigen/{reset}",
                 "/konto/bestaetigen/%3Cscript%3Ealert(1)%3C%5Cscript%3E",
                 "/konto/bestaetigen/" + "x" * 3000):
        response = client.get(path)
        assert response.status_code == 400, path
        page = response.get_data(as_text=True)
        assert "Der Link ist nicht gültig" in page
        assert "<script>alert(1)" not in page
    with app.app_context():
        assert not db.session.get(Citizen, citizen.id).is_verified  # type: ignore[union-attr]


def test_known_address_gets_the_same_answer_and_a_warning_mail(
        app: Flask, client: FlaskClient, create_citizen: Callable[..., Citizen]) -> None:
    create_citizen("schon@example.org")
    known = register(client, "schon@example.org", password="ein-anderes-Passwort-9",
                     password_repeat="ein-anderes-Passwort-9")
    unknown = register(client, "neu@example.org")
    known_page = known.get_data(as_text=True)  # type: ignore[attr-defined]
    unknown_page = unknown.get_data(as_text=True)  # type: ignore[attr-defined]
    assert known.status_code == unknown.status_code == 200  # type: ignore[attr-defined]
    assert comparable(known_page, "schon@example.org") == comparable(unknown_page,
                                                                      "neu@example.org")
    assert citizen_count(app) == 2
    [warning] = mails_to(app, "schon@example.org")
    assert warning["Subject"] == "Jemand wollte sich mit Ihrer E-Mail-Adresse registrieren"
    assert "/konto/passwort-vergessen" in warning.get_content()


def test_hostile_and_wrong_input_gets_german_messages_and_changes_nothing(
        app: Flask, client: FlaskClient) -> None:
    cases = {
        "": "Bitte geben Sie Ihre E-Mail-Adresse ein.",
        "a" * 490 + "@example.org": "höchstens 254 Zeichen",
        "a@b.de\r\nBcc: x@y.de": "Bitte geben Sie nur eine E-Mail-Adresse ein",
        "keine-adresse": "im richtigen Format",
        "<b>fett</b>@example.org": "Bitte geben Sie nur eine E-Mail-Adresse ein",
    }
    for email, message in cases.items():
        response = register(client, email)
        page = response.get_data(as_text=True)  # type: ignore[attr-defined]
        assert response.status_code == 200, email  # type: ignore[attr-defined]
        assert "<title>Fehler:" in page
        assert message in page, email
        assert "<b>fett</b>" not in page  # shown escaped, never as markup
    assert citizen_count(app) == 0


def test_password_rules_and_consent(app: Flask, client: FlaskClient) -> None:
    page = register(client, "regel@example.org", password="kurz", password_repeat="kurz",
                    privacy_consent="").get_data(as_text=True)  # type: ignore[attr-defined]
    assert "zwischen 10 und 256 Zeichen" in page
    assert "Bitte bestätigen Sie, dass Sie die Datenschutzhinweise gelesen haben" in page
    assert 'value="regel@example.org"' in page  # the input is kept
    page = register(client, "regel@example.org", password_repeat=PASSWORD + "x"
                    ).get_data(as_text=True)  # type: ignore[attr-defined]
    assert "Die beiden Passwörter stimmen nicht überein" in page
    page = register(client, "regel@example.org", password="p" * 300, password_repeat="p" * 300
                    ).get_data(as_text=True)  # type: ignore[attr-defined]
    assert "zwischen 10 und 256 Zeichen" in page
    assert citizen_count(app) == 0


def test_registration_without_csrf_token_is_refused(app: Flask, client: FlaskClient) -> None:
    response = client.post(REGISTER, data={"email": "csrf@example.org", "password": PASSWORD,
                                           "password_repeat": PASSWORD, "privacy_consent": "y"})
    assert response.status_code == 400
    assert "Ihr Formular ist abgelaufen" in response.get_data(as_text=True)
    assert citizen_count(app) == 0
    assert mails_to(app, "csrf@example.org") == []


def test_resend_verification_answers_alike_and_mails_only_waiting_accounts(
        app: Flask, client: FlaskClient, create_citizen: Callable[..., Citizen]) -> None:
    create_citizen("wartet@example.org", verified=False)
    create_citizen("fertig@example.org", verified=True)
    pages = []
    for email in ("wartet@example.org", "fertig@example.org", "unbekannt@example.org"):
        response = post_form(client, "/konto/bestaetigung-erneut", {"email": email})
        assert response.status_code == 200
        pages.append(comparable(response.get_data(as_text=True), email))
    assert pages[0] == pages[1] == pages[2]
    assert len(mails_to(app, "wartet@example.org")) == 1
    assert mails_to(app, "fertig@example.org") == []
    assert mails_to(app, "unbekannt@example.org") == []


def test_registration_is_audited_without_the_password(app: Flask, client: FlaskClient) -> None:
    register(client, "audit@example.org")
    with app.app_context():
        entry = db.session.scalar(select(AuditEntry).where(
            AuditEntry.action == "citizen.registered"))
        assert entry is not None
        assert PASSWORD not in str(entry.after)
        assert "password" not in str(entry.after)
