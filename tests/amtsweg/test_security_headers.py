"""Security headers on every response, error pages in German, health answers."""

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from amtsweg.security import CONTENT_SECURITY_POLICY


@pytest.mark.parametrize("path", ["/", "/healthz", "/does-not-exist", "/static/css/amtsweg.css",
                                  "/assets/kern/kern.min.css"])
def test_every_response_carries_the_headers(client: FlaskClient, path: str) -> None:
    with client.get(path) as response:
        headers = response.headers
        assert headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "same-origin"


def test_csp_is_self_only_without_unsafe_inline() -> None:
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY
    assert "unsafe-eval" not in CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY
    sources = re.findall(r"https?://|\*", CONTENT_SECURITY_POLICY)
    assert sources == []


def test_pages_have_no_inline_script_or_style_and_no_third_party_urls(client: FlaskClient) -> None:
    page = client.get("/").get_data(as_text=True)
    assert "<script>" not in page
    assert not re.search(r"<script(?![^>]*\bsrc=)", page)
    assert "style=" not in page
    assert "<style" not in page
    assert not re.search(r'(?:src|href)="(?:https?:)?//', page)


def test_html_is_not_cached(client: FlaskClient) -> None:
    assert client.get("/").headers["Cache-Control"] == "no-store"


def test_session_cookie_is_httponly_samesite_and_secure_when_configured(
        settings_factory, postgres_schema) -> None:
    from amtsweg.app import create_app

    app = create_app(settings_factory(secure_cookies=True))
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    client = app.test_client()
    # Changing the language writes the session, so the cookie is set.
    response = client.post("/sprache", data={"locale": "en"})
    assert response.status_code == 400  # no CSRF token: refused
    with client.session_transaction() as session:
        session["locale"] = "en"
    cookie = client.get_cookie("amtsweg_session")
    assert cookie is not None
    assert (cookie.secure, cookie.http_only, cookie.same_site) == (True, True, "Lax")
    response = client.get("/")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_unknown_page_is_a_german_404_in_the_layout(client: FlaskClient) -> None:
    response = client.get("/gibt-es-nicht")
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert "Seite nicht gefunden" in page
    assert 'class="site-header' in page


def test_csrf_failure_gives_a_friendly_page(client: FlaskClient) -> None:
    response = client.post("/sprache", data={"locale": "en", "next": "/"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Formular ist abgelaufen" in page
    assert "Traceback" not in page
    with client.session_transaction() as session:
        assert "locale" not in session


def test_body_over_the_limit_gives_413_page_naming_the_limit(client: FlaskClient,
                                                             app: Flask) -> None:
    too_big = b"x" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    response = client.post("/sprache", data=too_big,
                           headers={"Content-Type": "application/octet-stream"})
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert "höchstens 20 MB" in page


def test_unexpected_error_is_a_500_page_without_traceback(app: Flask) -> None:
    @app.get("/_boom")
    def boom() -> str:
        raise RuntimeError("secret detail")

    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = app.test_client().get("/_boom")
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "etwas schiefgegangen" in page
    assert "secret detail" not in page
    assert "Traceback" not in page


def test_language_switch_to_english_and_back(client: FlaskClient) -> None:
    from tests.conftest import csrf_token

    token = csrf_token(client, "/")
    response = client.post("/sprache", data={"csrf_token": token, "locale": "en", "next": "/"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    page = client.get("/").get_data(as_text=True)
    assert '<html lang="en">' in page
    assert "Deutsch" in page
    response = client.post("/sprache", data={"csrf_token": token, "locale": "de",
                                             "next": "https://evil.example/"})
    assert response.headers["Location"] == "/"  # no open redirect
    assert '<html lang="de">' in client.get("/").get_data(as_text=True)
