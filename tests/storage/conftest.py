"""Storage fixtures: a real S3 server (moto in server mode) on loopback, both blob stores, sample
files good and hostile, and a small upload/download blueprint that uses storage as a package
view would."""

from __future__ import annotations

import io
import socket
import struct
import uuid
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Blueprint, Flask, abort, current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from moto.server import ThreadedMotoServer
from PIL import Image
from pypdf import PdfWriter
from wtforms import StringField
from wtforms.validators import InputRequired

# Every model must be registered before the session fixture builds the PostgreSQL schema;
# amtsweg.app imports these only inside create_app (see the report to the lead).
import amtsweg.mail  # noqa: F401
import storage.models  # noqa: F401
from amtsweg.extensions import db
from amtsweg.sessions import current_actor, current_citizen, guard_citizen_blueprint
from storage.blobstore import FileBlobStore, S3BlobStore
from storage.forms import UploadRequired, store_field_upload
from storage.models import Document
from storage.services import document_response

HERE = Path(__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_moto() -> tuple[ThreadedMotoServer, str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    return server, f"127.0.0.1:{port}"


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """One real S3 server for the whole run, on loopback only."""
    server, endpoint = start_moto()
    yield endpoint
    server.stop()


def s3_url_for(endpoint: str) -> str:
    # A fresh bucket per test keeps tests apart without restarting the server.
    return f"s3://testkey:testsecret@{endpoint}/dokumente-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def s3_url(s3_endpoint: str) -> str:
    return s3_url_for(s3_endpoint)


@pytest.fixture
def file_store(tmp_path: Path) -> FileBlobStore:
    return FileBlobStore(tmp_path / "blobs")


@pytest.fixture
def s3_store(s3_url: str) -> S3BlobStore:
    return S3BlobStore.from_url(s3_url)


@pytest.fixture(params=["file", "s3"])
def blobstore(request: pytest.FixtureRequest) -> FileBlobStore | S3BlobStore:
    fixture = "file_store" if request.param == "file" else "s3_store"
    store: FileBlobStore | S3BlobStore = request.getfixturevalue(fixture)
    return store


# --- sample files -----------------------------------------------------------------------------


def pdf_bytes(pages: int = 1, password: str | None = None) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    if password is not None:
        writer.encrypt(password, algorithm="AES-256")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def image_bytes(fmt: str, size: tuple[int, int] = (40, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, format=fmt)
    return buffer.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(
        ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def bomb_png(width: int = 100_000, height: int = 100_000) -> bytes:
    """A valid-looking PNG of a few hundred bytes that claims ten billion pixels."""
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024, 9)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", idat)
            + _png_chunk(b"IEND", b""))


@pytest.fixture
def sample_pdf() -> bytes:
    return pdf_bytes()


# --- an upload page and a download route, as a package's views would use storage ------------


class UploadForm(FlaskForm):
    title = StringField("Title", validators=[InputRequired()])
    document = FileField("Document", validators=[UploadRequired()])


test_bp = Blueprint("storage_test", __name__, url_prefix="/test/dokumente",
                    template_folder=str(HERE / "templates"))
guard_citizen_blueprint(test_bp)


@test_bp.route("/hochladen", methods=["GET", "POST"])
def upload() -> ResponseReturnValue:
    form = UploadForm()
    if form.validate_on_submit():
        document = store_field_upload(form.document, current_actor())
        if document is not None:
            db.session.commit()
            return redirect(url_for("storage_test.download", document_id=document.id))
    max_mb = current_app.config["AMTSWEG"].max_upload_mb
    return render_template("storage_test/upload.html", form=form, max_mb=max_mb)


@test_bp.get("/<int:document_id>")
def download(document_id: int) -> ResponseReturnValue:
    document = db.session.get(Document, document_id)
    citizen = current_citizen()
    # Deny what is not the citizen's own with 404, so ids of other people's files leak nothing.
    if (document is None or citizen is None or document.owner_kind != "citizen"
            or document.owner_id != citizen.id):
        abort(404)
    return document_response(document, inline=request.args.get("ansicht") == "1")


@pytest.fixture
def app(app: Flask) -> Flask:
    app.register_blueprint(test_bp)
    return app


@pytest.fixture
def upload_bytes() -> Callable[..., dict[str, object]]:
    def build(content: bytes, filename: str, title: str = "Nachweis Einkommen",
              token: str = "") -> dict[str, object]:
        return {"csrf_token": token, "title": title,
                "document": (io.BytesIO(content), filename)}

    return build
