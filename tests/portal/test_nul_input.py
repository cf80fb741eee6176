"""A NUL character in a text field is dropped before any form sees it (amtsweg.request): the
request goes through on both databases with everything else kept, and files stay byte for
byte as sent."""

from __future__ import annotations

import hashlib

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from amtsweg.extensions import db
from clearing.models import Eingang
from portal.models import Submission
from storage.models import Document
from tests.portal.conftest import pdf_bytes, post_with_files


def test_nul_in_text_is_dropped_and_the_request_goes_through(app: Flask,
                                                              signed_in: FlaskClient) -> None:
    # A PDF with NUL bytes in it: the file must arrive untouched.
    attachment = pdf_bytes() + b"%\x00\x00binary\x00tail\n"
    response = post_with_files(signed_in, "/anfrage", {
        "topic": "leistung:beistandschaft", "subject": "Unterhalt\x00 für Lea",
        "message": "Der Vater\x00 zahlt seit März keinen Unterhalt mehr.\x00"},
        [(attachment, "brief.pdf")])
    assert response.status_code == 302, response.get_data(as_text=True)
    with app.app_context():
        eingang = db.session.scalar(select(Eingang))
        assert eingang is not None
        assert eingang.subject == "Anfrage: Unterhalt für Lea"
        assert eingang.message == "Der Vater zahlt seit März keinen Unterhalt mehr."
        submission = db.session.scalar(select(Submission))
        assert submission is not None
        [letter] = [item.document for item in submission.documents]
        assert letter.sha256 == hashlib.sha256(attachment).hexdigest()
        assert db.session.get(Document, letter.id) is not None


def test_nul_in_a_query_is_dropped(signed_in: FlaskClient) -> None:
    page = signed_in.get("/leistungen?q=Unterhalt%00svorschuss")
    assert page.status_code == 200
    assert "\x00" not in page.get_data(as_text=True)
