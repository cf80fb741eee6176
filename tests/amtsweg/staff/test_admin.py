"""The admin pages: staff accounts, roles, memberships, Fachbereiche; every write audited."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from amtsweg.db import utcnow
from amtsweg.extensions import db
from amtsweg.fachbereiche import fachbereich_by_code
from amtsweg.passwords import verify_password
from amtsweg.staff.models import Fachbereich, Role, Staff
from tests.amtsweg.staff.conftest import audit_entries, log_in, post_form, reload_staff
from tests.conftest import PASSWORD, csrf_token, sign_in_staff

NEW = "/intern/verwaltung/mitarbeitende/neu"


def _fb_id(app: Flask, code: str) -> int:
    with app.app_context():
        fachbereich = fachbereich_by_code(code)
        assert fachbereich is not None
        return fachbereich.id


def _staff_count(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Staff)) or 0


def _shown_password(page: str) -> str:
    match = re.search(r'<code class="one-time-password">([^<]+)</code>', page)
    assert match
    return match.group(1)


@pytest.mark.parametrize("roles", [(Role.CASEWORKER,), (Role.AUDITOR,), (Role.LEAD,), ()])
def test_admin_pages_are_403_for_staff_without_admin_role(
        app: Flask, client: FlaskClient, create_staff: Callable[..., Staff],
        roles: tuple[Role, ...]) -> None:
    sign_in_staff(client, create_staff(roles=roles))
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("admin."):
            continue
        path = rule.rule.replace("<int:staff_id>", "1").replace("<int:fachbereich_id>", "1")
        method = "GET" if "GET" in (rule.methods or set()) else "POST"
        data = {"csrf_token": _token(client)} if method == "POST" else None
        response = client.open(path, method=method, data=data)
        assert response.status_code == 403, rule.endpoint


def _token(client: FlaskClient) -> str:
    return csrf_token(client, "/intern/")


def test_staff_list_shows_roles_fachbereiche_and_status_and_searches(
        app: Flask, admin_client: FlaskClient, create_staff: Callable[..., Staff]) -> None:
    create_staff("mueller", full_name="Maria Müller", roles=(Role.CLEARING,),
                 fachbereiche=("uvg",))
    locked = create_staff("schulz", full_name="Stefan Schulz", active=False)
    with app.app_context():
        row = db.session.get(Staff, locked.id)
        assert row is not None
        row.locked_until = utcnow() + timedelta(minutes=5)
        db.session.commit()
    page = admin_client.get("/intern/verwaltung/mitarbeitende").get_data(as_text=True)
    assert "Maria Müller" in page
    assert "Clearing-Stelle" in page
    assert "Unterhaltsvorschuss" in page
    assert "deaktiviert" in page
    assert "gesperrt" in page
    found = admin_client.get("/intern/verwaltung/mitarbeitende?q=MÜLL").get_data(as_text=True)
    assert "Maria Müller" in found
    assert "Stefan Schulz" not in found
    by_username = admin_client.get("/intern/verwaltung/mitarbeitende?q=schu").get_data(
        as_text=True)
    assert "Stefan Schulz" in by_username
    assert "Maria Müller" not in by_username
    wildcard = admin_client.get("/intern/verwaltung/mitarbeitende?q=%25").get_data(as_text=True)
    assert "Ihre Suche ergab keine Treffer." in wildcard
    too_long = admin_client.get("/intern/verwaltung/mitarbeitende?q=" + "x" * 500)
    assert too_long.status_code == 200
    assert "Geben Sie höchstens 100 Zeichen ein." in too_long.get_data(as_text=True)


def test_create_staff_shows_a_one_time_password_that_works(
        app: Flask, admin_client: FlaskClient) -> None:
    uvg = _fb_id(app, "uvg")
    response = post_form(admin_client, NEW, {
        "username": "Neu.Kollegin", "full_name": "  Nora   <i>Neu</i> ",
        "email": "Nora@Example.org",
        "role_caseworker": "y", "role_anordner": "y", f"fb_{uvg}": "y"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Das Konto neu.kollegin wurde angelegt." in page
    password = _shown_password(page)
    assert len(password) == 16
    with app.app_context():
        staff = db.session.scalar(select(Staff).where(Staff.username == "neu.kollegin"))
        assert staff is not None
        assert staff.full_name == "Nora <i>Neu</i>"
        assert staff.email == "nora@example.org"
        assert staff.roles == {Role.CASEWORKER, Role.ANORDNER}
        assert [fb.code for fb in staff.fachbereiche] == ["uvg"]
        assert verify_password(staff.password_hash, password)
    [entry] = audit_entries(app, "staff.created")
    assert entry.after is not None
    assert entry.after["roles"] == ["anordner", "caseworker"]
    assert password not in str(entry.after)
    # The edit page shows the name escaped and never the password again.
    edit = admin_client.get(f"/intern/verwaltung/mitarbeitende/{entry.object_id}")
    edit_page = edit.get_data(as_text=True)
    assert "Nora &lt;i&gt;Neu&lt;/i&gt;" in edit_page
    assert password not in edit_page
    # The new colleague can sign in with it.
    assert log_in(app.test_client(), "neu.kollegin", password).status_code == 302


@pytest.mark.parametrize(("data", "message"), [
    ({"username": "", "full_name": ""}, "Geben Sie einen Benutzernamen ein."),
    ({"username": "", "full_name": ""}, "Geben Sie den vollständigen Namen ein."),
    ({"username": "u" * 500, "full_name": "Ok"}, "höchstens 64 Zeichen"),
    ({"username": "ok", "full_name": "N" * 500}, "höchstens 200 Zeichen"),
    ({"username": "<script>", "full_name": "Ok"}, "Ein Benutzername hat 2 bis 64 Zeichen"),
    ({"username": "jürgen", "full_name": "Ok"}, "Ein Benutzername hat 2 bis 64 Zeichen"),
    ({"username": "admina", "full_name": "Doppelt"}, "Der Benutzername admina ist bereits"),
    ({"username": "ok", "full_name": "Ok", "email": "kein-at"}, "gültige E-Mail-Adresse"),
    ({"username": "ok", "full_name": "Ok", "email": "a@" + "b" * 300 + ".de"},
     "gültige E-Mail-Adresse"),
])
def test_wrong_new_staff_input_gets_a_german_message_and_creates_nothing(
        app: Flask, admin_client: FlaskClient, data: dict[str, str], message: str) -> None:
    before = _staff_count(app)
    response = post_form(admin_client, NEW, data)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert message in page
    assert "<title>Fehler:" in page
    assert "<script>" not in page.split("</head>")[1]
    assert _staff_count(app) == before
    assert audit_entries(app, "staff.created") == []


def test_duplicate_email_is_refused(
        app: Flask, admin_client: FlaskClient, create_staff: Callable[..., Staff]) -> None:
    existing = create_staff("mueller")
    with app.app_context():
        row = db.session.get(Staff, existing.id)
        assert row is not None
        row.email = "m@example.org"
        db.session.commit()
    response = post_form(admin_client, NEW, {"username": "neu", "full_name": "Neu",
                                             "email": "M@example.org"})
    assert "Diese E-Mail-Adresse wird bereits" in response.get_data(as_text=True)


def test_edit_roles_and_memberships_is_audited_with_before_and_after(
        app: Flask, admin_client: FlaskClient, create_staff: Callable[..., Staff]) -> None:
    staff = create_staff("mueller", roles=(Role.CASEWORKER,), fachbereiche=("uvg",))
    path = f"/intern/verwaltung/mitarbeitende/{staff.id}"
    page = admin_client.get(path).get_data(as_text=True)
    assert re.search(r'<input checked[^>]*name="role_caseworker"', page)
    assert not re.search(r'<input checked[^>]*name="role_lead"', page)
    wohngeld = _fb_id(app, "wohngeld")
    response = post_form(admin_client, path, {"full_name": "Maria Müller",
                                              "role_lead": "y", f"fb_{wohngeld}": "y"})
    assert response.headers["Location"] == path
    with app.app_context():
        stored = db.session.get(Staff, staff.id)
        assert stored is not None
        assert stored.roles == {Role.LEAD}
        assert [fb.code for fb in stored.fachbereiche] == ["wohngeld"]
    [entry] = audit_entries(app, "staff.updated")
    assert entry.before is not None
    assert entry.after is not None
    assert entry.before["roles"] == ["caseworker"]
    assert entry.after["roles"] == ["lead"]
    assert entry.before["fachbereiche"] == ["uvg"]
    assert entry.after["fachbereiche"] == ["wohngeld"]
    assert entry.actor_name == "admina"


def test_unknown_fachbereich_checkbox_is_ignored(
        app: Flask, admin_client: FlaskClient, create_staff: Callable[..., Staff]) -> None:
    staff = create_staff("mueller", fachbereiche=())
    path = f"/intern/verwaltung/mitarbeitende/{staff.id}"
    post_form(admin_client, path, {"full_name": "Maria", "fb_99999": "y", "role_god": "y"})
    with app.app_context():
        stored = db.session.get(Staff, staff.id)
        assert stored is not None
        assert stored.fachbereiche == []
        assert stored.roles == frozenset()


def test_admin_cannot_remove_own_admin_role_or_deactivate_self(
        app: Flask, admin_client: FlaskClient, admin: Staff) -> None:
    path = f"/intern/verwaltung/mitarbeitende/{admin.id}"
    response = post_form(admin_client, path, {"full_name": "Anna Admin", "role_caseworker": "y"})
    assert "Sie können Ihrem eigenen Konto die Administrationsrolle nicht entziehen." in \
        response.get_data(as_text=True)
    deactivate = post_form(admin_client, path, {}, action=f"{path}/deaktivieren",
                           follow_redirects=True)
    assert "Sie können Ihr eigenes Konto nicht deaktivieren." in deactivate.get_data(
        as_text=True)
    stored = reload_staff(app, admin.id)
    assert stored.active
    with app.app_context():
        row = db.session.get(Staff, admin.id)
        assert row is not None
        assert row.roles == {Role.ADMIN}
    assert audit_entries(app, "staff.updated") == []
    assert audit_entries(app, "staff.deactivated") == []


def test_deactivate_reactivate_unlock_reset_password_and_totp(
        app: Flask, admin_client: FlaskClient, create_staff: Callable[..., Staff]) -> None:
    staff = create_staff("mueller", totp_secret="JBSWY3DPEHPK3PXP")
    path = f"/intern/verwaltung/mitarbeitende/{staff.id}"
    with app.app_context():
        row = db.session.get(Staff, staff.id)
        assert row is not None
        row.locked_until = utcnow() + timedelta(minutes=10)
        row.failed_logins = 3
        db.session.commit()

    post_form(admin_client, path, {}, action=f"{path}/deaktivieren")
    assert not reload_staff(app, staff.id).active
    post_form(admin_client, path, {}, action=f"{path}/aktivieren")
    assert reload_staff(app, staff.id).active
    response = post_form(admin_client, path, {}, action=f"{path}/entsperren",
                         follow_redirects=True)
    assert "Das Konto wurde entsperrt." in response.get_data(as_text=True)
    unlocked = reload_staff(app, staff.id)
    assert unlocked.locked_until is None
    assert unlocked.failed_logins == 0

    reset = post_form(admin_client, path, {}, action=f"{path}/passwort-zuruecksetzen")
    password = _shown_password(reset.get_data(as_text=True))
    assert verify_password(reload_staff(app, staff.id).password_hash, password)
    assert not verify_password(reload_staff(app, staff.id).password_hash, PASSWORD)

    post_form(admin_client, path, {}, action=f"{path}/zwei-faktor-zuruecksetzen")
    assert reload_staff(app, staff.id).totp_secret is None

    actions = [entry.action for entry in audit_entries(app)
               if entry.object_type == "staff" and entry.object_id == str(staff.id)]
    assert actions == ["staff.deactivated", "staff.activated", "staff.unlocked",
                       "staff.password_reset", "staff.totp_reset"]
    for entry in audit_entries(app):
        assert password not in str(entry.after)
        assert "JBSWY3DPEHPK3PXP" not in str(entry.before) + str(entry.after)


def test_admin_writes_without_csrf_token_are_refused(
        app: Flask, admin_client: FlaskClient, create_staff: Callable[..., Staff]) -> None:
    staff = create_staff("mueller")
    path = f"/intern/verwaltung/mitarbeitende/{staff.id}"
    assert admin_client.post(f"{path}/deaktivieren").status_code == 400
    response = admin_client.post(NEW, data={"username": "neu", "full_name": "Neu"})
    assert response.status_code == 400
    assert "Ihr Formular ist abgelaufen" in response.get_data(as_text=True)
    assert reload_staff(app, staff.id).active
    assert _staff_count(app) == 2


def test_unknown_staff_id_is_404(admin_client: FlaskClient) -> None:
    assert admin_client.get("/intern/verwaltung/mitarbeitende/999999").status_code == 404


# --- Fachbereiche --------------------------------------------------------------------------


def test_fachbereich_list_create_and_rename(app: Flask, admin_client: FlaskClient) -> None:
    page = admin_client.get("/intern/verwaltung/fachbereiche").get_data(as_text=True)
    assert "Unterhaltsvorschuss" in page
    assert "Vormundschaft" in page
    response = post_form(admin_client, "/intern/verwaltung/fachbereiche/neu",
                         {"code": "Pflege", "name": "Pflegekinderdienst",
                          "retention_years": "25"})
    assert response.headers["Location"] == "/intern/verwaltung/fachbereiche"
    with app.app_context():
        created = fachbereich_by_code("pflege")
        assert created is not None
        assert created.retention_years == 25
        created_id = created.id
    path = f"/intern/verwaltung/fachbereiche/{created_id}"
    assert 'value="Pflegekinderdienst"' in admin_client.get(path).get_data(as_text=True)
    post_form(admin_client, path, {"name": "Pflegekinder- und Adoptionsdienst",
                                   "retention_years": "30"})
    with app.app_context():
        renamed = db.session.get(Fachbereich, created_id)
        assert renamed is not None
        assert renamed.name == "Pflegekinder- und Adoptionsdienst"
        assert renamed.code == "pflege"
    [entry] = audit_entries(app, "fachbereich.updated")
    assert entry.before == {"code": "pflege", "name": "Pflegekinderdienst",
                            "retention_years": 25}
    assert entry.after is not None
    assert entry.after["retention_years"] == 30


@pytest.mark.parametrize(("data", "message"), [
    ({"code": "", "name": "", "retention_years": ""}, "Geben Sie ein Kürzel ein."),
    ({"code": "x1", "name": "", "retention_years": "10"}, "Geben Sie den Namen des"),
    ({"code": "x1", "name": "N", "retention_years": ""}, "als ganze Zahl von Jahren"),
    ({"code": "x1", "name": "N", "retention_years": "zehn"}, "zwischen 1 und 100 Jahren"),
    ({"code": "x1", "name": "N", "retention_years": "0"}, "zwischen 1 und 100 Jahren"),
    ({"code": "x1", "name": "N", "retention_years": "101"}, "zwischen 1 und 100 Jahren"),
    ({"code": "x1", "name": "N", "retention_years": "9" * 40}, "zwischen 1 und 100 Jahren"),
    ({"code": "uvg", "name": "Neu", "retention_years": "10"}, "Das Kürzel uvg ist bereits"),
    ({"code": "x1", "name": "Wohngeld", "retention_years": "10"}, "mit diesem Namen besteht"),
    ({"code": "<b>", "name": "N", "retention_years": "10"}, "Ein Kürzel hat 2 bis 40 Zeichen"),
    ({"code": "c" * 300, "name": "N", "retention_years": "10"}, "höchstens 40 Zeichen"),
    ({"code": "x1", "name": "N" * 300, "retention_years": "10"}, "höchstens 120 Zeichen"),
])
def test_wrong_fachbereich_input_gets_a_message_and_changes_nothing(
        app: Flask, admin_client: FlaskClient, data: dict[str, str], message: str) -> None:
    with app.app_context():
        before = db.session.scalar(select(func.count()).select_from(Fachbereich))
    response = post_form(admin_client, "/intern/verwaltung/fachbereiche/neu", data)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert message in page
    assert "<title>Fehler:" in page
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Fachbereich)) == before
    assert audit_entries(app, "fachbereich.created") == []


def test_html_in_a_fachbereich_name_is_shown_escaped(
        app: Flask, admin_client: FlaskClient) -> None:
    post_form(admin_client, "/intern/verwaltung/fachbereiche/neu",
              {"code": "test", "name": "<script>alert(1)</script> Hilfe",
               "retention_years": "10"})
    page = admin_client.get("/intern/verwaltung/fachbereiche").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Hilfe" in page
    assert "<script>alert(1)</script>" not in page
