"""Office configuration: admins only, audited, IBAN checked, read by every letter."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from amtsweg.audit.models import AuditEntry
from amtsweg.extensions import db
from amtsweg.fachbereiche import fachbereich_by_code
from amtsweg.office.models import OfficeProfile, RemedyText
from amtsweg.office.services import (
    DEFAULT_REMEDY_TEXT,
    office_data,
    remedy_text_for,
    render_remedy,
)
from amtsweg.staff.models import Role, Staff
from tests.amtsweg.mail.support import post_form
from tests.conftest import csrf_token, sign_in_staff

PAGE = "/intern/verwaltung/amt/"

VALID = {
    "name": "Landratsamt Haßberge – Kreisjugendamt", "street": "Am Herrenhof 1",
    "postcode": "97437", "city": "Haßfurt", "phone": "09521 27-0",
    "email": "poststelle@hassberge.example", "opening_hours": "Mo–Fr 8–12 Uhr",
    "letterhead": "Landratsamt Haßberge\nKreisjugendamt", "bank_name": "Sparkasse Ostunterfranken",
    "iban": "de02 1203 0000 0000 2020 51", "bic": "BYLADEM1001",
    "widerspruchsbehoerde_name": "Regierung von Unterfranken",
    "widerspruchsbehoerde_address": "Peterplatz 9, 97070 Würzburg",
    "court_name": "Bayerischen Verwaltungsgericht Würzburg",
    "court_address": "Burkarderstraße 26, 97082 Würzburg", "signature_line": "Im Auftrag",
}


@pytest.fixture
def admin(create_staff: Callable[..., Staff]) -> Staff:
    return create_staff("admin", roles=(Role.ADMIN,), fachbereiche=())


def test_defaults_come_from_the_settings_until_an_admin_saves(app: Flask, app_ctx: None
                                                              ) -> None:
    data = office_data()
    assert data.name == app.config["AMTSWEG"].office.name
    assert not data.saved_by_office
    assert "Regierung von Unterfranken" in remedy_text_for(fachbereich_by_code("uvg"))  # type: ignore[arg-type]


def test_an_admin_saves_and_the_change_is_audited(app_ctx: None, client: FlaskClient,
                                                  admin: Staff) -> None:
    sign_in_staff(client, admin)
    page = client.get(PAGE)
    assert page.status_code == 200
    assert "Dies sind die Vorgaben aus den Servereinstellungen" in page.get_data(as_text=True)

    response = post_form(client, PAGE, VALID)
    assert response.status_code == 302
    data = office_data()
    assert data.saved_by_office
    assert data.iban == "DE02120300000000202051"
    assert data.letterhead_lines == ["Landratsamt Haßberge", "Kreisjugendamt"]
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "office.saved"))
    assert entry is not None
    assert entry.actor_id == admin.id
    assert entry.after is not None
    assert entry.after["city"] == "Haßfurt"
    # A second save changes the one row, never adds one.
    assert post_form(client, PAGE, {**VALID, "city": "Haßfurt am Main"}).status_code == 302
    assert db.session.scalar(select(func.count(OfficeProfile.id))) == 1


@pytest.mark.parametrize(("field", "value", "message"), [
    ("iban", "DE02 1203 0000 0000 2020 52", "Geben Sie eine gültige IBAN ein"),
    ("iban", "XX00 0000", "Geben Sie eine gültige IBAN ein"),
    ("bic", "NOTABIC", "Geben Sie eine gültige BIC"),
    ("name", "", "Geben Sie den Namen der Behörde ein."),
    ("email", "keine-adresse", "Geben Sie eine E-Mail-Adresse"),
    ("court_name", "x" * 201, "Geben Sie höchstens 200 Zeichen ein."),
])
def test_bad_input_is_refused_with_the_input_kept(app_ctx: None, client: FlaskClient,
                                                  admin: Staff, field: str, value: str,
                                                  message: str) -> None:
    sign_in_staff(client, admin)
    response = post_form(client, PAGE, {**VALID, field: value})
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "<title>Fehler:" in text
    assert message in text
    assert "Sparkasse Ostunterfranken" in text
    assert db.session.scalar(select(func.count(OfficeProfile.id))) == 0


@pytest.mark.parametrize("roles", [(Role.CASEWORKER,), (Role.LEAD,), (Role.AUDITOR,),
                                   (Role.CLEARING,)])
def test_only_admins_may_open_or_save(app_ctx: None, client: FlaskClient,
                                      create_staff: Callable[..., Staff],
                                      roles: tuple[Role, ...]) -> None:
    sign_in_staff(client, create_staff(roles=roles))
    assert client.get(PAGE).status_code == 403
    # A valid token from the staff member's own password page: the refusal is the role's.
    token = csrf_token(client, "/intern/passwort")
    assert client.post(PAGE, data={"csrf_token": token, **VALID}).status_code == 403
    uvg = fachbereich_by_code("uvg")
    assert uvg is not None
    assert client.get(f"{PAGE}belehrung/{uvg.id}").status_code == 403
    assert db.session.scalar(select(func.count(OfficeProfile.id))) == 0


def test_anonymous_visitors_are_sent_to_sign_in(client: FlaskClient) -> None:
    response = client.get(PAGE)
    assert response.status_code == 302


def test_the_remedy_text_is_flagged_until_the_office_saves_its_own(
        app_ctx: None, client: FlaskClient, admin: Staff) -> None:
    sign_in_staff(client, admin)
    uvg = fachbereich_by_code("uvg")
    assert uvg is not None
    path = f"{PAGE}belehrung/{uvg.id}"
    page = client.get(path).get_data(as_text=True)
    assert "nicht geprüft" in page
    assert "nach Ihrer Wahl entweder Widerspruch einlegen" in page

    text = DEFAULT_REMEDY_TEXT.replace("Gegen diesen Bescheid", "Gegen diesen geprüften Bescheid")
    assert post_form(client, path, {"text": text}).status_code == 302
    row = db.session.get(RemedyText, uvg.id)
    assert row is not None
    assert "geprüften" in remedy_text_for(uvg)
    assert "nicht geprüft" not in client.get(path).get_data(as_text=True)
    empty = post_form(client, path, {"text": "   "})
    assert empty.status_code == 400
    assert "Geben Sie den Text der Rechtsbehelfsbelehrung ein." in empty.get_data(as_text=True)
    assert client.get(f"{PAGE}belehrung/999999").status_code == 404


def test_placeholders_cannot_reach_python_objects(app_ctx: None) -> None:
    # A str.format template could read attributes ({office.__class__}); $-templates cannot.
    rendered = render_remedy("$court_name {court_name.__class__} ${nope}", office_data())
    assert rendered.startswith("Bayerischen Verwaltungsgericht Würzburg {court_name.__class__}")
    assert "${nope}" in rendered
