"""Portal fixtures: a signed-in citizen, sample files good and hostile, and the office's side
(asking a citizen for documents) as the clearing office will do it."""

from __future__ import annotations

import io
import os
import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, NameObject
from sqlalchemy import func, select

# Every model must be known before the PostgreSQL schema is built for the session.
import amtsweg.postbox.models  # noqa: F401
import clearing.models  # noqa: F401
import portal.models  # noqa: F401
from amtsweg.audit.models import ActorKind
from amtsweg.audit.services import Actor
from amtsweg.citizens.models import Citizen
from amtsweg.extensions import db
from amtsweg.postbox.models import PostboxMessage
from clearing.models import Eingang
from clearing.services import request_from_citizen
from portal.models import Submission
from tests.amtsweg.mail.support import app_with, smtp, smtp_server
from tests.conftest import sign_in_citizen

__all__ = ["app_with", "smtp", "smtp_server"]

CLERK = Actor(ActorKind.STAFF, None, "clearing-test")
KEY = re.compile(r'name="idempotency_key"[^>]*value="([^"]+)"')
TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def pdf_bytes(pages: int = 1, padding: int = 0) -> bytes:
    """A valid PDF; ``padding`` filler bytes make it as large as needed."""
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    if padding:
        # Filler in a comment of the first page's content: the PDF stays valid and carries no
        # attached file (the upload checks refuse those).
        filler = DecodedStreamObject()
        filler.set_data(b"% " + os.urandom(padding // 2 + 1).hex().encode()[:padding])
        writer.pages[0][NameObject("/Contents")] = writer._add_object(filler)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (30, 120, 200)).save(buffer, format="PNG")
    return buffer.getvalue()


def form_fields(client: FlaskClient, path: str) -> dict[str, str]:
    """The CSRF token and the one-time key of the form on ``path``, as a browser sends them."""
    page = client.get(path).get_data(as_text=True)
    token, key = TOKEN.search(page), KEY.search(page)
    assert token, f"no form on {path}"
    assert key, f"no one-time key on {path}"
    return {"csrf_token": token.group(1), "idempotency_key": key.group(1)}


BOUNDARY = "----amtsweg-portal-test"


def multipart_body(fields: dict[str, Any], files: list[tuple[bytes, str]]) -> bytes:
    """Encode the form as a browser does, in memory (the test client would spool large bodies
    to temporary files it never closes)."""
    parts: list[bytes] = []
    for name, value in fields.items():
        parts.append(f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                     .encode() + str(value).encode() + b"\r\n")
    for content, filename in files or [(b"", "")]:
        parts.append(f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="attachments"; '
                     f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
                     .encode() + content + b"\r\n")
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


def post_with_files(client: FlaskClient, path: str, data: dict[str, Any],
                    files: list[tuple[bytes, str]] | None = None,
                    fields: dict[str, str] | None = None, **kwargs: Any) -> Any:
    """Post the form on ``path`` with its CSRF token and one-time key (unless ``fields``)."""
    body = multipart_body({**(fields or form_fields(client, path)), **data}, files or [])
    return client.post(path, data=body,
                       content_type=f"multipart/form-data; boundary={BOUNDARY}", **kwargs)


def count(model: type[Any]) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


@pytest.fixture
def citizen(create_citizen: Callable[..., Citizen]) -> Citizen:
    return create_citizen("maria@example.org")


@pytest.fixture
def signed_in(client: FlaskClient, citizen: Citizen) -> FlaskClient:
    sign_in_citizen(client, citizen)
    return client


@pytest.fixture
def other_client(app: Flask, create_citizen: Callable[..., Citizen]) -> FlaskClient:
    """A second citizen in their own browser."""
    other = app.test_client()
    sign_in_citizen(other, create_citizen("fremd@example.org"))
    return other


@pytest.fixture
def send_request(app: Flask, signed_in: FlaskClient) -> Callable[..., Submission]:
    """Send a general request through the page and return (a detached copy of) its submission."""

    def send(subject: str = "Frage zur Beistandschaft",
             message: str = "Ich habe eine Frage zur Beistandschaft.",
             files: list[tuple[bytes, str]] | None = None,
             topic: str = "leistung:beistandschaft") -> Submission:
        response = post_with_files(signed_in, "/anfrage",
                                   {"topic": topic, "subject": subject, "message": message},
                                   files if files is not None else [(pdf_bytes(), "brief.pdf")])
        assert response.status_code == 302, response.get_data(as_text=True)
        public_id = response.headers["Location"].split("/")[-2]
        with app.app_context():
            submission = db.session.scalar(select(Submission).where(
                Submission.public_id == public_id))
            assert submission is not None
            db.session.expunge_all()
        return submission

    return send


@pytest.fixture
def office_asks(app: Flask) -> Callable[..., PostboxMessage]:
    """The clearing office asks the sender of an item for documents."""

    def ask(eingang_id: int, subject: str = "Bitte Geburtsurkunde nachreichen",
            body: str = "Uns fehlt die Geburtsurkunde Ihres Kindes.") -> PostboxMessage:
        with app.app_context():
            eingang = db.session.get(Eingang, eingang_id)
            assert eingang is not None
            message = request_from_citizen(eingang, subject, body, CLERK)
            db.session.commit()
            db.session.refresh(message)
            db.session.expunge(message)
            return message

    return ask
