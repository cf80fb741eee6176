"""Deny by default, staff and citizens kept apart, idle timeout, epoch, fresh login."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from flask import Blueprint, Flask
from flask.testing import FlaskClient

from amtsweg.citizens.models import Citizen
from amtsweg.db import utcnow
from amtsweg.extensions import db
from amtsweg.sessions import guard_staff_blueprint
from amtsweg.staff.auth import fresh_login_required
from amtsweg.staff.models import Role, Staff
from tests.amtsweg.staff.conftest import post_form
from tests.conftest import PASSWORD, csrf_token, sign_in_citizen, sign_in_staff

STAFF_BLUEPRINTS = ("staff_auth", "admin", "audit")
# The steps before a complete login must be reachable without one.
PUBLIC = {"staff_auth.login", "staff_auth.totp", "staff_auth.totp_setup"}


def _staff_routes(app: Flask) -> Iterator[tuple[str, str, str]]:
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] not in STAFF_BLUEPRINTS or rule.endpoint in PUBLIC:
            continue
        path = rule.rule.replace("<int:staff_id>", "1").replace("<int:fachbereich_id>", "1")
        for method in sorted((rule.methods or set()) & {"GET", "POST"}):
            yield rule.endpoint, method, path


def _assert_refused(app: Flask, client: FlaskClient) -> None:
    routes = list(_staff_routes(app))
    assert len(routes) >= 15  # the test must really cover the staff side
    for endpoint, method, path in routes:
        response = client.open(path, method=method,
                               data={"csrf_token": _any_token(client)} if method == "POST"
                               else None)
        assert response.status_code == 302, (endpoint, method, response.status_code)
        assert response.headers["Location"].startswith("/intern/anmelden"), endpoint


def _any_token(client: FlaskClient) -> str:
    return csrf_token(client, "/intern/anmelden")


def test_anonymous_visitors_are_sent_to_login_on_every_staff_route(
        app: Flask, client: FlaskClient, create_staff: Callable[..., Staff]) -> None:
    create_staff()
    _assert_refused(app, client)


def test_a_citizen_session_never_reaches_a_staff_route(
        app: Flask, client: FlaskClient, create_citizen: Callable[..., Citizen],
        create_staff: Callable[..., Staff]) -> None:
    create_staff()
    citizen = create_citizen()
    sign_in_citizen(client, citizen)
    _assert_refused(app, client)


def test_a_staff_session_is_not_a_citizen_session(
        client: FlaskClient, create_staff: Callable[..., Staff]) -> None:
    sign_in_staff(client, create_staff())
    response = client.get("/konto/")
    assert response.headers["Location"].startswith("/konto/anmelden")


def test_idle_session_is_sent_to_login_with_a_message(
        app: Flask, client: FlaskClient, create_staff: Callable[..., Staff]) -> None:
    sign_in_staff(client, create_staff())
    assert client.get("/intern/").status_code == 200
    idle = app.config["AMTSWEG"].staff_idle_minutes
    with client.session_transaction() as session:
        session["staff"] = {**session["staff"],
                            "seen": utcnow().timestamp() - idle * 60 - 5}
    response = client.get("/intern/")
    assert response.headers["Location"].startswith("/intern/anmelden")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Ihre Sitzung ist abgelaufen. Bitte melden Sie sich erneut an." in page
    assert client.get("/intern/").status_code == 302


def test_active_use_keeps_the_session_alive(
        app: Flask, client: FlaskClient, create_staff: Callable[..., Staff]) -> None:
    sign_in_staff(client, create_staff())
    idle = app.config["AMTSWEG"].staff_idle_minutes
    with client.session_transaction() as session:
        session["staff"] = {**session["staff"], "seen": utcnow().timestamp() - idle * 60 + 30}
    assert client.get("/intern/").status_code == 200
    with client.session_transaction() as session:
        assert utcnow().timestamp() - session["staff"]["seen"] < 5


def test_bumping_the_epoch_ends_existing_sessions(
        app: Flask, client: FlaskClient, create_staff: Callable[..., Staff]) -> None:
    staff = create_staff()
    sign_in_staff(client, staff)
    with app.app_context():
        row = db.session.get(Staff, staff.id)
        assert row is not None
        row.session_epoch += 1
        db.session.commit()
    assert client.get("/intern/").status_code == 302


def test_deactivation_by_an_admin_ends_the_persons_sessions(
        app: Flask, create_staff: Callable[..., Staff]) -> None:
    admin = create_staff("chefin", roles=(Role.ADMIN,))
    worker = create_staff("worker")
    worker_client, admin_client = app.test_client(), app.test_client()
    sign_in_staff(worker_client, worker)
    sign_in_staff(admin_client, admin)
    assert worker_client.get("/intern/").status_code == 200
    post_form(admin_client, f"/intern/verwaltung/mitarbeitende/{worker.id}", {},
              action=f"/intern/verwaltung/mitarbeitende/{worker.id}/deaktivieren")
    assert worker_client.get("/intern/").status_code == 302


@pytest.fixture
def app_with_sensitive_route(app: Flask) -> Flask:
    bp = Blueprint("sensitive_test", __name__, url_prefix="/intern/test-sensibel")

    @bp.route("/", methods=["GET", "POST"])
    @fresh_login_required(300)
    def action() -> str:
        return "done"

    guard_staff_blueprint(bp)
    app.register_blueprint(bp)
    return app


def test_fresh_login_required_asks_for_the_password_again(
        app_with_sensitive_route: Flask, create_staff: Callable[..., Staff]) -> None:
    app = app_with_sensitive_route
    client = app.test_client()
    staff = create_staff()
    sign_in_staff(client, staff)
    assert client.get("/intern/test-sensibel/").get_data(as_text=True) == "done"
    with client.session_transaction() as session:
        session["staff"] = {**session["staff"], "auth_at": utcnow().timestamp() - 301}
    response = client.get("/intern/test-sensibel/")
    assert response.headers["Location"] == "/intern/bestaetigen?next=/intern/test-sensibel/"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Passwort bestätigen" in page
    wrong = post_form(client, "/intern/bestaetigen?next=/intern/test-sensibel/",
                      {"password": "falsch-falsch-falsch"})
    assert "Das Passwort ist nicht richtig." in wrong.get_data(as_text=True)
    assert client.get("/intern/test-sensibel/").status_code == 302
    right = post_form(client, "/intern/bestaetigen?next=/intern/test-sensibel/",
                      {"password": PASSWORD})
    assert right.headers["Location"] == "/intern/test-sensibel/"
    assert client.get("/intern/test-sensibel/").get_data(as_text=True) == "done"


def test_reauthentication_ignores_a_foreign_next(
        client: FlaskClient, create_staff: Callable[..., Staff]) -> None:
    sign_in_staff(client, create_staff())
    response = post_form(client, "/intern/bestaetigen?next=https://evil.example/",
                         {"password": PASSWORD})
    assert response.headers["Location"] == "/intern/"


def test_reauthentication_failures_lock_the_account(
        app: Flask, client: FlaskClient, create_staff: Callable[..., Staff]) -> None:
    staff = create_staff()
    sign_in_staff(client, staff)
    for _ in range(app.config["AMTSWEG"].login_max_failures):
        response = post_form(client, "/intern/bestaetigen", {"password": "falsch-falsch-x"})
    assert response.headers["Location"] == "/intern/anmelden"
    assert client.get("/intern/").status_code == 302
