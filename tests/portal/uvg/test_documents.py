"""The documents page: uploads follow the answers, refusals stay on their field, files go again."""

from __future__ import annotations

import re
from collections.abc import Callable

from flask import Flask
from sqlalchemy import func, select

from amtsweg.citizens.models import Citizen
from amtsweg.extensions import db
from portal.models import DraftDocument, Submission
from storage.blobstore import get_blobstore
from storage.models import Document
from tests.conftest import sign_in_citizen
from tests.portal.uvg.conftest import (
    BOUNDARY,
    DECLARATIONS,
    Wizard,
    child_answers,
    fill_all,
    multipart_body,
    token,
)
from tests.storage.conftest import bomb_png, pdf_bytes

WINDOWS_PROGRAM = b"MZ\x90\x00" + b"\x00" * 200


def _ready(wizard: Wizard) -> None:
    wizard.start(child_answers("Lea", 6))
    fill_all(wizard)


def test_a_refused_file_shows_its_reason_and_keeps_the_others(app: Flask,
                                                              wizard: Wizard) -> None:
    _ready(wizard)
    wizard.csrf = token(wizard.client)
    body = multipart_body(
        {"csrf_token": wizard.csrf, "action": "upload", "later_maintenance_title": "y"},
        {"file_birth_certificate__k1": ("urkunde.pdf", pdf_bytes()),
         "file_meldebescheinigung": ("melde.pdf", WINDOWS_PROGRAM),
         "file_separation_proof": ("leer.pdf", b"")})
    response = wizard.client.post(wizard.url("unterlagen"), data=body,
                                  content_type=f"multipart/form-data; boundary={BOUNDARY}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<title>Fehler:" in page
    assert "Diese Datei ist ein Windows-Programm" in page
    assert "Die Datei ist leer." in page
    box = re.search(r'<input[^>]*name="later_maintenance_title"[^>]*>', page)
    assert box is not None
    assert "checked" in box.group(0)
    with app.app_context():
        kept = db.session.scalars(select(DraftDocument)).all()
        assert [item.requirement for item in kept] == ["birth_certificate:k1"]
        assert db.session.scalar(select(func.count(Document.id))) == 1
        draft = wizard.draft()
        assert draft is not None
        assert draft.answers["documents_later"] == ["maintenance_title"]


def test_a_decompression_bomb_is_refused(app: Flask, wizard: Wizard) -> None:
    _ready(wizard)
    response = wizard.upload("meldebescheinigung", bomb_png(), "foto.png")
    assert response.status_code == 200
    assert "Fehler:" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(Document.id))) == 0


def test_an_oversized_file_is_refused_with_the_limit(
        app: Flask, app_with: Callable[..., Flask],
        create_citizen: Callable[..., Citizen]) -> None:
    small = app_with(max_upload_bytes=1024 * 1024)
    client = small.test_client()
    citizen = create_citizen("klein@example.org")
    sign_in_citizen(client, citizen)
    wizard = Wizard(client, citizen)
    _ready(wizard)
    response = wizard.upload("meldebescheinigung", b"%PDF-1.4\n" + b"0" * (1024 * 1024 + 10),
                             "gross.pdf")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Die Datei ist zu groß. Dateien dürfen höchstens 1 MB groß sein." in page
    with small.app_context():
        assert db.session.scalar(select(func.count(Document.id))) == 0


def test_a_file_can_be_removed_again(app: Flask, wizard: Wizard) -> None:
    _ready(wizard)
    wizard.upload("birth_certificate:k1", pdf_bytes(), "urkunde.pdf")
    with app.app_context():
        item = db.session.scalar(select(DraftDocument))
        assert item is not None
        item_id, key = item.id, item.document.storage_key
        assert get_blobstore().exists(key)
    page = wizard.client.get(wizard.url("unterlagen")).get_data(as_text=True)
    assert "urkunde.pdf" in page
    download = wizard.client.get(wizard.url(f"unterlagen/{item_id}"))
    assert download.status_code == 200
    assert download.data.startswith(b"%PDF")
    download.close()
    response = wizard.post(wizard.url(f"unterlagen/{item_id}/entfernen"))
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(func.count(Document.id))) == 0
        assert not get_blobstore().exists(key)
    assert wizard.post(wizard.url(f"unterlagen/{item_id}/entfernen")).status_code == 404


def test_another_citizens_files_answer_404(app: Flask, wizard: Wizard,
                                           other_wizard: Wizard) -> None:
    _ready(wizard)
    wizard.upload("birth_certificate:k1", pdf_bytes(), "urkunde.pdf")
    with app.app_context():
        item = db.session.scalar(select(DraftDocument))
        assert item is not None
        item_id = item.id
    other_wizard.start()
    # Their own draft with my file's id, and my draft with theirs: both unknown.
    assert other_wizard.client.get(other_wizard.url(f"unterlagen/{item_id}")).status_code == 404
    assert other_wizard.post(other_wizard.url(f"unterlagen/{item_id}/entfernen")
                             ).status_code == 404
    other_wizard.public_id = wizard.public_id
    assert other_wizard.client.get(other_wizard.url(f"unterlagen/{item_id}")).status_code == 404
    with app.app_context():
        assert db.session.scalar(select(func.count(DraftDocument.id))) == 1


def test_missing_documents_block_sending_and_are_named(app: Flask, wizard: Wizard) -> None:
    _ready(wizard)
    wizard.upload("birth_certificate:k1", pdf_bytes(), "urkunde.pdf")
    wizard.page("unterlagen", {})
    wizard.page("erklaerungen", DECLARATIONS)
    response = wizard.post(wizard.url("absenden"))
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<title>Fehler:" in page
    for label in ("Meldebescheinigung", "Nachweis über Trennung oder Scheidung",
                  "Nachweis über den Unterhalt"):
        assert f"später nach“ an: {label}" in page, label
    assert "Geburtsurkunde von Lea" not in page.split("Unterlagen, die noch fehlen")[1]
    with app.app_context():
        assert db.session.scalar(select(func.count(Submission.id))) == 0
        assert wizard.draft() is not None
