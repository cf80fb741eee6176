"""The second factor: login step, replay protection, set-up, the office-wide requirement."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient

from amtsweg.app import create_app
from amtsweg.config import Settings
from amtsweg.db import utcnow
from amtsweg.extensions import db
from amtsweg.fachbereiche import seed_fachbereiche
from amtsweg.passwords import hash_password
from amtsweg.staff.models import Role, Staff, StaffRole
from tests.amtsweg.staff.conftest import audit_entries, log_in, post_form, reload_staff
from tests.conftest import PASSWORD, sign_in_staff
from tests.conftest import _empty_all as empty_all

SECRET = pyotp.random_base32()
WRONG_CODE_DE = "Der Code ist nicht richtig."


def _code(secret: str = SECRET, step_offset: int = 0) -> str:
    totp = pyotp.TOTP(secret)
    return totp.generate_otp(totp.timecode(utcnow()) + step_offset)


def test_password_alone_does_not_sign_in_when_totp_is_set_up(
        client: FlaskClient, create_staff: Callable[..., Staff]) -> None:
    create_staff("mueller", totp_secret=SECRET)
    response = log_in(client, "mueller")
    assert response.headers["Location"] == "/intern/anmelden/code"
    # Between the steps every staff page still refuses.
    assert client.get("/intern/").status_code == 302
    assert client.get("/intern/verwaltung/mitarbeitende").status_code == 302
    page = client.get("/intern/anmelden/code").get_data(as_text=True)
    assert "Sicherheitscode eingeben" in page
    assert 'autocomplete="one-time-code"' in page


def test_correct_code_signs_in_and_cannot_be_replayed(
        app: Flask, client: FlaskClient, create_staff: Callable[..., Staff]) -> None:
    staff = create_staff("mueller", totp_secret=SECRET)
    log_in(client, "mueller")
    code = _code()
    response = post_form(client, "/intern/anmelden/code", {"code": code})
    assert response.headers["Location"] == "/intern/"
    assert client.get("/intern/").status_code == 200
    assert reload_staff(app, staff.id).totp_last_step is not None
    # Someone who saw the code over the shoulder tries it in another browser at once.
    other = app.test_client()
    log_in(other, "mueller")
    replay = post_form(other, "/intern/anmelden/code", {"code": code})
    assert WRONG_CODE_DE in replay.get_data(as_text=True)
    assert other.get("/intern/").status_code == 302
    # An older code from the previous step is refused as well.
    previous = post_form(other, "/intern/anmelden/code", {"code": _code(step_offset=-1)})
    assert WRONG_CODE_DE in previous.get_data(as_text=True)


@pytest.mark.parametrize("code", ["", "12345", "abcdef", "1" * 500, "<b>123456</b>"])
def test_malformed_codes_get_a_clear_message(
        client: FlaskClient, create_staff: Callable[..., Staff], code: str) -> None:
    create_staff("mueller", totp_secret=SECRET)
    log_in(client, "mueller")
    response = post_form(client, "/intern/anmelden/code", {"code": code})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Geben Sie den 6-stelligen Code aus Ihrer Authenticator-App ein." in page
    assert "<b>123456</b>" not in page


def test_wrong_codes_count_towards_the_lock(
        app: Flask, client: FlaskClient, create_staff: Callable[..., Staff]) -> None:
    staff = create_staff("mueller", totp_secret=SECRET)
    log_in(client, "mueller")
    wrong = "000000" if _code() != "000000" else "111111"
    for _ in range(app.config["AMTSWEG"].login_max_failures):
        response = post_form(client, "/intern/anmelden/code", {"code": wrong})
    assert response.headers["Location"] == "/intern/anmelden"
    assert "gesperrt" in client.get("/intern/anmelden").get_data(as_text=True)
    assert reload_staff(app, staff.id).locked_until is not None
    reasons = [(e.after or {}).get("reason") for e in audit_entries(app, "staff.login_failed")]
    assert reasons[-1] == "totp"


def test_code_step_without_password_step_goes_back_to_login(client: FlaskClient) -> None:
    response = client.get("/intern/anmelden/code")
    assert response.headers["Location"] == "/intern/anmelden"


def _secret_from_page(page: str) -> str:
    match = re.search(r'<code class="totp-secret">([A-Z2-7]+)</code>', page)
    assert match
    return match.group(1)


def test_setup_shows_inline_svg_and_secret_and_stores_only_after_a_correct_code(
        app: Flask, client: FlaskClient, create_staff: Callable[..., Staff]) -> None:
    staff = create_staff("mueller")
    log_in(client, "mueller")
    response = client.get("/intern/zwei-faktor")
    page = response.get_data(as_text=True)
    assert '<svg role="img" aria-label="QR-Code für Ihre Authenticator-App"' in page
    assert "<script" not in page.split("</head>", 1)[1]
    assert "data:" not in page
    secret = _secret_from_page(page)
    wrong_code = "000000" if _code(secret) != "000000" else "111111"
    wrong = post_form(client, "/intern/zwei-faktor", {"code": wrong_code})
    assert WRONG_CODE_DE in wrong.get_data(as_text=True)
    assert reload_staff(app, staff.id).totp_secret is None
    # Every visit of the page makes a new secret; the one on the latest page counts.
    token_page = client.get("/intern/zwei-faktor").get_data(as_text=True)
    secret = _secret_from_page(token_page)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', token_page)
    assert token
    done = client.post("/intern/zwei-faktor", data={"csrf_token": token.group(1),
                                                    "code": _code(secret)})
    assert done.headers["Location"] == "/intern/"
    stored = reload_staff(app, staff.id)
    assert stored.totp_secret == secret
    [entry] = audit_entries(app, "staff.totp_enabled")
    assert entry.after is not None
    assert entry.after["totp_enabled"] is True
    assert secret not in str(entry.after) + str(entry.before)
    home = client.get("/intern/").get_data(as_text=True)
    assert "Zweiter Faktor" in home


def test_setup_when_already_set_up_redirects(
        client: FlaskClient, create_staff: Callable[..., Staff]) -> None:
    staff = create_staff("mueller", totp_secret=SECRET)
    sign_in_staff(client, staff)
    assert client.get("/intern/zwei-faktor").headers["Location"] == "/intern/"


@pytest.fixture
def totp_required_app(settings_factory: Callable[..., Settings],
                      postgres_schema: str | None) -> Iterator[Flask]:
    app = create_app(settings_factory(staff_totp_required=True))
    with app.app_context():
        if postgres_schema is None:
            db.create_all()
        seed_fachbereiche()
        db.session.commit()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    if postgres_schema is not None:
        empty_all(postgres_schema)


def test_required_totp_sends_to_setup_and_blocks_everything_else(
        totp_required_app: Flask) -> None:
    app = totp_required_app
    with app.app_context():
        staff = Staff(username="neu", full_name="Nina Neu", active=True, failed_logins=0,
                      password_hash=hash_password(PASSWORD), session_epoch=0)
        staff.role_rows = [StaffRole(role=Role.ADMIN)]
        db.session.add(staff)
        db.session.commit()
        staff_id = staff.id
    client = app.test_client()
    response = log_in(client, "neu")
    assert response.headers["Location"] == "/intern/zwei-faktor"
    for path in ("/intern/", "/intern/passwort", "/intern/verwaltung/mitarbeitende",
                 "/intern/protokoll/"):
        assert client.get(path).headers["Location"].startswith("/intern/anmelden"), path
    page = client.get("/intern/zwei-faktor").get_data(as_text=True)
    assert "Dieses Amt verlangt einen zweiten Faktor" in page
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert token
    done = client.post("/intern/zwei-faktor", data={"csrf_token": token.group(1),
                                                    "code": _code(_secret_from_page(page))})
    assert done.headers["Location"] == "/intern/"
    assert client.get("/intern/").status_code == 200
    assert reload_staff(app, staff_id).totp_secret is not None
    assert len(audit_entries(app, "staff.login")) == 1
