"""GET /healthz: 200 with every part ok, 503 naming the part that fails."""

from pathlib import Path

from flask.testing import FlaskClient

from amtsweg.app import create_app


def test_healthy(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok", "storage": "ok"}


def test_database_down_is_named_and_pages_say_503(settings_factory, tmp_path: Path) -> None:
    unreachable = (f"sqlite:///{tmp_path / 'no-such-dir' / 'x.sqlite3'}")
    app = create_app(settings_factory(database_url=unreachable))
    client = app.test_client()
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json == {"status": "unavailable", "database": "unavailable",
                             "storage": "ok"}


def test_database_down_gives_a_503_page_not_a_traceback(settings_factory, tmp_path: Path) -> None:
    unreachable = (f"sqlite:///{tmp_path / 'no-such-dir' / 'x.sqlite3'}")
    app = create_app(settings_factory(database_url=unreachable))
    client = app.test_client()
    # A signed-in visitor makes every request look up the account in the database.
    with client.session_transaction() as session:
        session["staff"] = {"id": 1, "epoch": 0, "seen": 9e9, "auth_at": 0}
    response = client.get("/")
    assert response.status_code == 503
    page = response.get_data(as_text=True)
    assert "vorübergehend nicht verfügbar" in page
    assert "Traceback" not in page
    assert "OperationalError" not in page
