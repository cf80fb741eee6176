"""The staff home page and changing one's own password."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from amtsweg.passwords import verify_password
from amtsweg.staff.models import Role, Staff
from tests.amtsweg.staff.conftest import audit_entries, log_in, post_form, reload_staff
from tests.conftest import PASSWORD, sign_in_staff

NEW_PASSWORD = "ein-ganz-neues-Passwort-2"


def test_home_shows_who_i_am_roles_fachbereiche_and_second_factor(
        client: FlaskClient, create_staff: Callable[..., Staff]) -> None:
    staff = create_staff("mueller", roles=(Role.CASEWORKER, Role.FESTSTELLER),
                         fachbereiche=("uvg", "wohngeld"), full_name="Maria <b>Müller</b>")
    log_in(client, "mueller")
    page = client.get("/intern/").get_data(as_text=True)
    assert "Willkommen, Maria &lt;b&gt;Müller&lt;/b&gt;" in page
    assert "<b>Müller</b>" not in page
    assert "Sachbearbeitung" in page
    assert "Feststellung" in page
    assert "Unterhaltsvorschuss" in page
    assert "Wohngeld" in page
    assert "Zweiter Faktor" in page
    assert "aus" in page
    assert 'href="/intern/zwei-faktor"' in page
    assert 'href="/intern/passwort"' in page
    # Staff navigation: the home entry for everyone, admin pages only for admins.
    assert 'href="/intern/verwaltung/mitarbeitende"' not in page
    assert staff.username in page


def test_changing_the_password_keeps_me_signed_in_and_ends_other_sessions(
        app: Flask, client: FlaskClient, create_staff: Callable[..., Staff]) -> None:
    staff = create_staff("mueller")
    log_in(client, "mueller")
    other = app.test_client()
    log_in(other, "mueller")
    response = post_form(client, "/intern/passwort", {
        "current_password": PASSWORD, "new_password": NEW_PASSWORD,
        "confirm_password": NEW_PASSWORD})
    assert response.headers["Location"] == "/intern/"
    assert "Ihr Passwort wurde geändert." in client.get("/intern/").get_data(as_text=True)
    assert other.get("/intern/").status_code == 302
    stored = reload_staff(app, staff.id)
    assert verify_password(stored.password_hash, NEW_PASSWORD)
    [entry] = audit_entries(app, "staff.password_changed")
    assert entry.before is None
    assert entry.after is None


@pytest.mark.parametrize(("data", "message"), [
    ({"current_password": "", "new_password": "", "confirm_password": ""},
     "Geben Sie Ihr aktuelles Passwort ein."),
    ({"current_password": "falsch-falsch", "new_password": NEW_PASSWORD,
      "confirm_password": NEW_PASSWORD}, "Ihr aktuelles Passwort ist nicht richtig."),
    ({"current_password": PASSWORD, "new_password": "kurz", "confirm_password": "kurz"},
     "Das Passwort muss zwischen 10 und 256 Zeichen lang sein."),
    ({"current_password": PASSWORD, "new_password": "x" * 300, "confirm_password": "x" * 300},
     "Das Passwort muss zwischen 10 und 256 Zeichen lang sein."),
    ({"current_password": PASSWORD, "new_password": NEW_PASSWORD,
      "confirm_password": NEW_PASSWORD + "x"}, "Die beiden neuen Passwörter stimmen nicht"),
    ({"current_password": PASSWORD, "new_password": PASSWORD, "confirm_password": PASSWORD},
     "Das neue Passwort muss sich vom aktuellen unterscheiden."),
])
def test_wrong_password_changes_get_a_german_message_and_change_nothing(
        app: Flask, client: FlaskClient, create_staff: Callable[..., Staff],
        data: dict[str, str], message: str) -> None:
    staff = create_staff("mueller")
    sign_in_staff(client, staff)
    response = post_form(client, "/intern/passwort", data)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert message in page
    assert "<title>Fehler:" in page
    stored = reload_staff(app, staff.id)
    assert verify_password(stored.password_hash, PASSWORD)
    assert stored.session_epoch == 0
    assert audit_entries(app, "staff.password_changed") == []
