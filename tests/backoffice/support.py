"""Helpers for the case-page tests: a PDF, posting with a page's CSRF token, reading pages."""

from __future__ import annotations

import io
import re
from typing import Any

from flask.testing import FlaskClient
from reportlab.pdfgen import canvas

from tests.conftest import csrf_token


def pdf(text: str = "Geburtsurkunde") -> bytes:
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer)
    page.drawString(72, 720, text)
    page.save()
    return buffer.getvalue()


def post(client: FlaskClient, page: str, action: str, data: dict[str, Any],
         **kwargs: Any) -> Any:
    """Post ``data`` to ``action`` with the CSRF token of ``page``, as the browser would."""
    return client.post(action, data={"csrf_token": csrf_token(client, page), **data}, **kwargs)


def version_on(page: str) -> str:
    match = re.search(r'name="version"[^>]*value="(\d+)"', page)
    assert match, "no version field on the page"
    return match.group(1)


def text(response: Any) -> str:
    return str(response.get_data(as_text=True))


def stored_pdf_language(document_id: int | None) -> object:
    """The document language (/Lang) a stored PDF declares."""
    from pypdf import PdfReader

    from amtsweg.extensions import db
    from storage.models import Document
    from storage.services import open_document

    document = db.session.get(Document, document_id)
    assert document is not None
    with open_document(document) as stream:
        return PdfReader(io.BytesIO(stream.read())).root_object.get("/Lang")
