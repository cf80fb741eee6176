"""Uploading through a real form and downloading through an authorised route; health; 413."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, request
from flask.testing import FlaskClient
from sqlalchemy import func, select

from amtsweg.app import create_app
from amtsweg.config import Settings
from amtsweg.extensions import db
from bench.submit import write_pdf
from storage.blobstore import IncomingFile
from storage.models import Document
from tests.conftest import csrf_token, sign_in_citizen
from tests.storage.conftest import bomb_png, image_bytes, pdf_bytes, start_moto

UPLOAD = "/test/dokumente/hochladen"
BOUNDARY = "----amtsweg-grenze"
MB = 1024 * 1024


def document_count(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Document)) or 0


def blob_files(app: Flask) -> list[str]:
    root = app.config["AMTSWEG"].instance_path / "documents"
    return [str(p) for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.fixture
def citizen_client(client: FlaskClient, create_citizen: Callable[..., Any]) -> FlaskClient:
    sign_in_citizen(client, create_citizen())
    return client


def multipart_body(fields: dict[str, str], filename: str, content: bytes) -> bytes:
    """A multipart body as a browser sends it.

    Built by hand rather than by the test client, whose spooled temp file for large bodies is
    never closed (a ResourceWarning, an error under -W error).
    """
    parts = [f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
             f"{value}\r\n".encode() for name, value in fields.items()]
    quoted = filename.replace("\\", "\\\\").replace('"', '\\"')
    parts.append(f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="document"; '
                 f'filename="{quoted}"\r\nContent-Type: application/octet-stream\r\n\r\n'
                 .encode("utf-8", "surrogateescape") + content + b"\r\n")
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


def post_upload(client: FlaskClient, content: bytes, filename: str,
                title: str = "Nachweis Einkommen") -> Any:
    token = csrf_token(client, UPLOAD)
    body = multipart_body({"csrf_token": token, "title": title}, filename, content)
    return client.post(UPLOAD, data=body,
                       content_type=f"multipart/form-data; boundary={BOUNDARY}")


def test_upload_page_renders_the_field_with_limit_in_german(citizen_client: FlaskClient) -> None:
    page = citizen_client.get(UPLOAD).get_data(as_text=True)

    assert 'type="file"' in page
    assert 'accept="application/pdf,image/jpeg,image/png"' in page
    assert "höchstens 20 MB pro Datei" in page


def test_upload_then_download(app: Flask, citizen_client: FlaskClient) -> None:
    content = pdf_bytes()

    response = post_upload(citizen_client, content, "Kontoauszug März.pdf")

    assert response.status_code == 302
    download = citizen_client.get(response.headers["Location"])
    assert download.status_code == 200
    assert download.data == content
    assert download.mimetype == "application/pdf"
    assert download.headers["Content-Disposition"] == (
        "attachment; filename=\"Kontoauszug Marz.pdf\"; "
        "filename*=UTF-8''Kontoauszug%20M%C3%A4rz.pdf")
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.headers["Cache-Control"] == "private, no-store"
    preview = citizen_client.get(response.headers["Location"] + "?ansicht=1")
    preview.close()
    download.close()
    assert preview.headers["Content-Security-Policy"] == "sandbox"
    assert preview.headers["Content-Disposition"].startswith("inline;")
    assert document_count(app) == 1


HOSTILE = [
    (b"", "leer.pdf", "Die Datei ist leer."),
    (b"MZ\x90\x00" + b"\x00" * 400, "rechnung.pdf",
     "Es können nur PDF-, JPEG- oder PNG-Dateien angenommen werden. "
     "Diese Datei ist ein Windows-Programm."),
    (b"<html><body onload=alert(1)></body></html>", "foto.png",
     "Diese Datei ist eine Webseite (HTML)."),
    (pdf_bytes(pages=2)[:400], "abgeschnitten.pdf",
     "Die PDF-Datei ist beschädigt und kann nicht gelesen werden."),
    (pdf_bytes(password="geheim"), "geschuetzt.pdf",
     "Die PDF-Datei ist mit einem Passwort geschützt."),
    (bomb_png(), "bombe.png", "Das Bild hat zu viele Bildpunkte."),
    # Over 500 KiB: received into the document store, and gone from it with the request.
    (b"MZ\x90\x00" + b"\x00" * MB, "gross.pdf",
     "Es können nur PDF-, JPEG- oder PNG-Dateien angenommen werden. "
     "Diese Datei ist ein Windows-Programm."),
    (b"%PDF-1.7\n" + b"0" * MB, "gross.pdf",
     "Die PDF-Datei ist beschädigt und kann nicht gelesen werden."),
]


@pytest.mark.parametrize(("content", "filename", "message"), HOSTILE)
def test_hostile_uploads_get_a_german_message_and_change_nothing(
        app: Flask, citizen_client: FlaskClient, content: bytes, filename: str,
        message: str) -> None:
    response = post_upload(citizen_client, content, filename, title="Mein Titel <b>")

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<title>Fehler:" in page
    assert 'class="kern-alert kern-alert--danger error-summary"' in page
    assert message.replace('"', "&#34;") in page or message in page
    assert 'href="#document"' in page
    assert 'value="Mein Titel &lt;b&gt;"' in page  # the other input is kept, and escaped
    assert document_count(app) == 0
    assert blob_files(app) == []


@pytest.mark.parametrize("filename", [
    "../../../etc/passwd.pdf", "..\\..\\boot.ini.pdf", "a\x00b.pdf", "\x1b[31mrot.pdf",
    "x" * 500 + ".pdf", "rechnung\u202efdp.exe",
])
def test_hostile_file_names_are_made_harmless(app: Flask, citizen_client: FlaskClient,
                                              filename: str) -> None:
    response = post_upload(citizen_client, pdf_bytes(), filename)

    assert response.status_code == 302
    with app.app_context():
        stored = db.session.scalars(select(Document.filename)).one()
    assert "/" not in stored
    assert "\\" not in stored
    assert all(ch.isprintable() for ch in stored)
    assert "\u202e" not in stored
    assert len(stored) <= 200
    assert stored.endswith(".pdf")


def test_no_file_chosen(app: Flask, citizen_client: FlaskClient) -> None:
    token = csrf_token(citizen_client, UPLOAD)
    response = citizen_client.post(UPLOAD, data={"csrf_token": token, "title": "Titel"},
                                   content_type="multipart/form-data")

    page = response.get_data(as_text=True)
    assert "Bitte wählen Sie eine Datei zum Hochladen aus." in page
    assert document_count(app) == 0


@pytest.fixture
def small_app(settings_factory: Callable[..., Settings], app: Flask) -> Iterator[Flask]:
    """The same database, with an upload limit of 1 MB."""
    from tests.storage.conftest import test_bp

    limited = create_app(settings_factory(max_upload_bytes=1 * MB))
    limited.register_blueprint(test_bp)
    yield limited
    with limited.app_context():
        db.session.remove()
        db.engine.dispose()


def test_file_over_the_limit_but_under_the_body_limit(
        small_app: Flask, create_citizen: Callable[..., Any]) -> None:
    client = small_app.test_client()
    sign_in_citizen(client, create_citizen())

    response = post_upload(client, b"%PDF-1.7\n" + b"0" * (MB + 10), "gross.pdf")

    assert "Die Datei ist zu groß. Dateien dürfen höchstens 1 MB groß sein." in (
        response.get_data(as_text=True))
    assert document_count(small_app) == 0


def test_body_over_the_request_limit_gets_the_413_page_in_german(
        small_app: Flask, create_citizen: Callable[..., Any]) -> None:
    client = small_app.test_client()
    sign_in_citizen(client, create_citizen())

    # 3 MB against a request limit of 1 MB file + 1 MB for the other fields.
    response = post_upload(client, b"%PDF-1.7\n" + b"0" * (3 * MB), "riesig.pdf")

    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert "höchstens 1 MB" in page
    assert document_count(small_app) == 0


def test_other_peoples_documents_are_not_found(
        app: Flask, client: FlaskClient, create_citizen: Callable[..., Any]) -> None:
    owner, stranger = create_citizen(), create_citizen()
    sign_in_citizen(client, owner)
    location = post_upload(client, pdf_bytes(), "a.pdf").headers["Location"]

    sign_in_citizen(client, stranger)
    assert client.get(location).status_code == 404
    with client.session_transaction() as session:
        session.clear()
    assert client.get(location).status_code == 302  # to the sign-in page


def test_image_upload_and_download(citizen_client: FlaskClient) -> None:
    content = image_bytes("JPEG")
    location = post_upload(citizen_client, content, "ausweis.JPEG").headers["Location"]

    download = citizen_client.get(location)

    assert download.mimetype == "image/jpeg"
    assert download.data == content
    assert "filename*=UTF-8''ausweis.jpeg" in download.headers["Content-Disposition"]
    download.close()


def test_healthz_reports_storage_unavailable_when_s3_is_down(
        settings_factory: Callable[..., Settings], app: Flask) -> None:
    server, endpoint = start_moto()
    try:
        s3_app = create_app(settings_factory(storage_url=f"s3://k:s@{endpoint}/gesundheit"))
        client = s3_app.test_client()
        healthy = client.get("/healthz")
        assert healthy.status_code == 200
        assert json.loads(healthy.data)["storage"] == "ok"
    finally:
        server.stop()

    down = client.get("/healthz")

    assert down.status_code == 503
    assert json.loads(down.data)["storage"] == "unavailable"
    assert json.loads(down.data)["database"] == "ok"
    with s3_app.app_context():
        db.engine.dispose()


# --- large uploads arrive in the document store itself ------------------------------------------


def large_pdf(tmp_path: Path, size: int = MB) -> bytes:
    return write_pdf(tmp_path / "gross.pdf", size).read_bytes()


def test_a_large_upload_arrives_in_the_store_and_is_gone_when_no_view_keeps_it(
        app: Flask, tmp_path: Path) -> None:
    content = large_pdf(tmp_path)
    body = multipart_body({"title": "Kontoauszug"}, "gross.pdf", content)

    with app.test_request_context(UPLOAD, method="POST", data=body,
                                  content_type=f"multipart/form-data; boundary={BOUNDARY}"):
        arrived = request.files["document"].stream
        assert isinstance(arrived, IncomingFile)
        assert arrived.temp_path.is_relative_to(app.config["AMTSWEG"].instance_path / "documents")
        assert arrived.read() == content
        assert arrived.sha256 == hashlib.sha256(content).hexdigest()

    assert blob_files(app) == []


def test_a_small_upload_is_not_received_into_the_store(app: Flask) -> None:
    body = multipart_body({"title": "Kontoauszug"}, "klein.pdf", pdf_bytes())

    with app.test_request_context(UPLOAD, method="POST", data=body,
                                  content_type=f"multipart/form-data; boundary={BOUNDARY}"):
        assert not isinstance(request.files["document"].stream, IncomingFile)

    assert blob_files(app) == []


def test_a_large_upload_is_stored_once_where_it_arrived(
        app: Flask, citizen_client: FlaskClient, tmp_path: Path) -> None:
    content = large_pdf(tmp_path, 3 * MB)

    response = post_upload(citizen_client, content, "kontoauszuege.pdf")

    assert response.status_code == 302
    download = citizen_client.get(response.headers["Location"])
    assert download.data == content
    download.close()
    with app.app_context():
        document = db.session.scalars(select(Document)).one()
        assert document.sha256 == hashlib.sha256(content).hexdigest()
        assert document.size == len(content)
        key = document.storage_key
    assert blob_files(app) == [str(app.config["AMTSWEG"].instance_path / "documents" / key)]


def test_a_large_file_sent_where_no_file_is_taken_leaves_nothing(
        app: Flask, client: FlaskClient, tmp_path: Path) -> None:
    body = multipart_body({"email": "a@example.org", "password": "x"}, "gross.pdf",
                          large_pdf(tmp_path))

    response = client.post("/konto/anmelden", data=body,
                           content_type=f"multipart/form-data; boundary={BOUNDARY}")

    assert response.status_code == 400  # no CSRF token: refused, the file never stored
    assert blob_files(app) == []


def test_with_s3_storage_large_uploads_are_spooled_until_checked(
        settings_factory: Callable[..., Settings], s3_url: str, app: Flask,
        tmp_path: Path) -> None:
    s3_app = create_app(settings_factory(storage_url=s3_url))
    body = multipart_body({"title": "Kontoauszug"}, "gross.pdf", large_pdf(tmp_path))

    with s3_app.test_request_context(UPLOAD, method="POST", data=body,
                                     content_type=f"multipart/form-data; boundary={BOUNDARY}"):
        assert not isinstance(request.files["document"].stream, IncomingFile)
    with s3_app.app_context():
        db.engine.dispose()
