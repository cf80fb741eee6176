"""Staff sign-in: one answer for every wrong login, lock after repeated failures, audit."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient

from amtsweg.clock import BERLIN
from amtsweg.db import utcnow
from amtsweg.extensions import db
from amtsweg.staff.models import Staff
from tests.amtsweg.staff.conftest import audit_entries, log_in, post_form, reload_staff
from tests.conftest import PASSWORD, csrf_token

GENERIC = "Benutzername oder Passwort ist nicht richtig."


def test_login_page_is_german_and_renders_fields_through_macros(client: FlaskClient) -> None:
    page = client.get("/intern/anmelden").get_data(as_text=True)
    assert "<title>Anmeldung für Mitarbeitende" in page
    assert 'autocomplete="username"' in page
    assert 'autocomplete="current-password"' in page
    assert 'class="kern-form-input__input' in page


def test_correct_login_lands_on_home_and_is_audited(
        app: Flask, client: FlaskClient, create_staff: Callable[..., Staff]) -> None:
    staff = create_staff("mueller")
    response = log_in(client, "mueller")
    assert response.status_code == 302
    assert response.headers["Location"] == "/intern/"
    home = client.get("/intern/").get_data(as_text=True)
    assert "Willkommen, Erika Mueller" in home
    assert reload_staff(app, staff.id).last_login_at is not None
    [entry] = audit_entries(app, "staff.login")
    assert entry.actor_name == "mueller"
    assert entry.object_id == str(staff.id)


def test_username_is_case_insensitive_and_trimmed(
        client: FlaskClient, create_staff: Callable[..., Staff]) -> None:
    create_staff("mueller")
    assert log_in(client, "  MUELLER ").status_code == 302


def test_wrong_password_and_unknown_user_get_the_same_message(
        app: Flask, client: FlaskClient, create_staff: Callable[..., Staff]) -> None:
    create_staff("mueller")
    wrong_password = log_in(client, "mueller", "falsch-falsch-falsch")
    unknown_user = log_in(client, "niemand", PASSWORD)
    for response in (wrong_password, unknown_user):
        page = response.get_data(as_text=True)
        assert response.status_code == 200
        assert GENERIC in page
        assert "<title>Fehler:" in page
    # The typed user name stays; the password is never sent back.
    assert 'value="mueller"' in wrong_password.get_data(as_text=True)
    assert "falsch-falsch-falsch" not in wrong_password.get_data(as_text=True)
    failures = audit_entries(app, "staff.login_failed")
    assert [(entry.after or {}).get("reason") for entry in failures] == ["password", "unknown_user"]
    # Neither the typed password nor an unknown user name lands in the log.
    dumped = json.dumps([entry.after for entry in failures])
    assert "falsch" not in dumped
    assert "niemand" not in dumped


def test_inactive_account_gets_the_generic_message(
        client: FlaskClient, create_staff: Callable[..., Staff]) -> None:
    create_staff("ehemalig", active=False)
    response = log_in(client, "ehemalig")
    assert GENERIC in response.get_data(as_text=True)
    assert client.get("/intern/").status_code == 302


def test_empty_fields_get_clear_messages(client: FlaskClient) -> None:
    response = log_in(client, "", "")
    page = response.get_data(as_text=True)
    assert "Geben Sie Ihren Benutzernamen ein." in page
    assert "Geben Sie Ihr Passwort ein." in page
    assert 'href="#username"' in page


def test_oversized_and_hostile_usernames_get_the_generic_message(
        app: Flask, client: FlaskClient) -> None:
    for username in ("a" * 500, "<script>alert(1)</script>", "' OR 1=1 --", "ümlaut\u202e"):
        response = log_in(client, username, "x" * 5000)
        page = response.get_data(as_text=True)
        assert response.status_code == 200
        assert GENERIC in page
        assert "<script>alert(1)</script>" not in page


def test_lock_after_max_failures_names_the_time_in_berlin(
        app: Flask, client: FlaskClient, create_staff: Callable[..., Staff]) -> None:
    staff = create_staff("mueller")
    max_failures = app.config["AMTSWEG"].login_max_failures
    for _ in range(max_failures - 1):
        assert GENERIC in log_in(client, "mueller", "falsch-falsch").get_data(as_text=True)
    locked_page = log_in(client, "mueller", "falsch-falsch").get_data(as_text=True)
    assert "Ihr Konto ist nach zu vielen fehlgeschlagenen Anmeldeversuchen gesperrt" in locked_page
    locked = reload_staff(app, staff.id)
    assert locked.locked_until is not None
    berlin = locked.locked_until.astimezone(BERLIN)
    assert berlin.strftime("%d.%m.%Y, %H:%M") in locked_page
    # Even the right password does not open a locked account.
    still_locked = log_in(client, "mueller", PASSWORD)
    assert "gesperrt" in still_locked.get_data(as_text=True)
    assert client.get("/intern/").status_code == 302
    assert len(audit_entries(app, "staff.locked")) == 1
    assert len(audit_entries(app, "staff.login_refused_locked")) == 1


def test_lock_expires_and_a_success_resets_the_counter(
        app: Flask, client: FlaskClient, create_staff: Callable[..., Staff]) -> None:
    staff = create_staff("mueller")
    log_in(client, "mueller", "falsch-falsch")
    log_in(client, "mueller", "falsch-falsch")
    assert reload_staff(app, staff.id).failed_logins == 2
    with app.app_context():
        row = db.session.get(Staff, staff.id)
        assert row is not None
        row.locked_until = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert log_in(client, "mueller").status_code == 302
    fresh = reload_staff(app, staff.id)
    assert fresh.failed_logins == 0
    assert fresh.locked_until is None


def test_next_is_honoured_only_for_local_paths(
        client: FlaskClient, create_staff: Callable[..., Staff]) -> None:
    create_staff("mueller")
    token_page = "/intern/anmelden?next=/intern/passwort"
    response = post_form(client, token_page, {"username": "mueller", "password": PASSWORD})
    assert response.headers["Location"] == "/intern/passwort"
    client.post("/intern/abmelden", data={"csrf_token": _token(client)})
    for hostile in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        response = post_form(client, f"/intern/anmelden?next={hostile}",
                             {"username": "mueller", "password": PASSWORD})
        assert response.headers["Location"] == "/intern/"
        client.post("/intern/abmelden", data={"csrf_token": _token(client)})


def _token(client: FlaskClient) -> str:
    return csrf_token(client, "/intern/")


def test_logout_ends_the_session_and_is_audited(
        app: Flask, client: FlaskClient, create_staff: Callable[..., Staff]) -> None:
    create_staff("mueller")
    log_in(client, "mueller")
    response = client.post("/intern/abmelden", data={"csrf_token": _token(client)},
                           follow_redirects=True)
    assert "Sie wurden abgemeldet." in response.get_data(as_text=True)
    assert client.get("/intern/").status_code == 302
    assert len(audit_entries(app, "staff.logout")) == 1


def test_login_without_csrf_token_is_refused_and_changes_nothing(
        app: Flask, client: FlaskClient, create_staff: Callable[..., Staff]) -> None:
    staff = create_staff("mueller")
    response = client.post("/intern/anmelden", data={"username": "mueller",
                                                     "password": PASSWORD})
    assert response.status_code == 400
    assert "Ihr Formular ist abgelaufen" in response.get_data(as_text=True)
    assert client.get("/intern/").status_code == 302
    assert reload_staff(app, staff.id).last_login_at is None
    assert audit_entries(app, "staff.login") == []


def test_logout_without_csrf_token_keeps_the_session(
        client: FlaskClient, create_staff: Callable[..., Staff]) -> None:
    create_staff("mueller")
    log_in(client, "mueller")
    assert client.post("/intern/abmelden").status_code == 400
    assert client.get("/intern/").status_code == 200


def test_login_posts_are_rate_limited(
        client: FlaskClient) -> None:
    token = _login_token(client)
    statuses = [client.post("/intern/anmelden", data={"csrf_token": token, "username": "x",
                                                      "password": "y"}).status_code
                for _ in range(31)]
    assert statuses[:30] == [200] * 30
    refused = client.post("/intern/anmelden", data={"csrf_token": token, "username": "x",
                                                    "password": "y"})
    assert statuses[30] == 429
    assert refused.status_code == 429
    assert "Zu viele Versuche" in refused.get_data(as_text=True)
    # Reading the page is not limited: only guessing is.
    assert client.get("/intern/anmelden").status_code == 200


def _login_token(client: FlaskClient) -> str:
    return csrf_token(client, "/intern/anmelden")


def test_outdated_password_hash_is_upgraded_on_login(
        app: Flask, client: FlaskClient, create_staff: Callable[..., Staff]) -> None:
    from argon2 import PasswordHasher

    staff = create_staff("mueller")
    with app.app_context():
        row = db.session.get(Staff, staff.id)
        assert row is not None
        row.password_hash = PasswordHasher(time_cost=2, memory_cost=16,
                                           parallelism=1).hash(PASSWORD)
        db.session.commit()
        old_hash = row.password_hash
    assert log_in(client, "mueller").status_code == 302
    assert reload_staff(app, staff.id).password_hash != old_hash
