"""Virus scanning of uploads against a real clamd: clean files pass, EICAR is refused with its
signature named and nothing stored, an unreachable scanner refuses uploads and fails /healthz,
and with scanning off (the embedded default) no scanner is involved at all."""

from __future__ import annotations

import io
import json
import logging
import socket
import struct
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from flask.cli import ScriptInfo
from flask.testing import FlaskClient
from PIL import Image, PngImagePlugin
from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, NameObject
from sqlalchemy import func, select

from amtsweg.app import create_app
from amtsweg.audit.models import AuditEntry
from amtsweg.audit.services import SYSTEM
from amtsweg.cli import main
from amtsweg.config import Settings
from amtsweg.extensions import db
from amtsweg.sessions import citizen_actor
from bench.submit import write_pdf
from storage.blobstore import S3BlobStore, get_blobstore
from storage.checks import RejectedUpload
from storage.models import Document
from storage.scanner import (
    EXTENSION_KEY,
    HEALTH_CHECK_NAME,
    ClamdAddress,
    ClamdScanner,
    ScanLimitExceeded,
    ScannerError,
    ScannerUnavailable,
    ScanResult,
    get_scanner,
    parse_clamd_url,
    parse_reply,
    scanner_from_url,
)
from storage.services import store_upload
from tests.conftest import sign_in_citizen
from tests.storage.clamd import EICAR, EICAR_SIGNATURE, STREAM_MAX_MB, ClamdProcess, start_clamd
from tests.storage.conftest import image_bytes, pdf_bytes, test_bp
from tests.storage.test_views import blob_files, document_count, post_upload

MB = 1024 * 1024
INFECTED_MESSAGE = "Die Datei enthält Schadsoftware ({signature}) und wurde nicht angenommen."
TRY_LATER_MESSAGE = ("Die Datei kann gerade nicht auf Viren geprüft werden und wurde nicht "
                     "angenommen. Bitte versuchen Sie es später noch einmal.")


@pytest.fixture(scope="session")
def clamd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClamdProcess]:
    """One real clamd for the whole run (a unix socket and a TCP port on loopback)."""
    process = start_clamd(tmp_path_factory.mktemp("clamd"))
    yield process
    process.stop()


@pytest.fixture
def build_app(settings_factory: Callable[..., Settings],
              app: Flask) -> Iterator[Callable[..., Flask]]:
    """Apps on the same database and storage as ``app`` (which built the schema), with other
    settings, and the test upload page registered."""
    built: list[Flask] = []

    def build(**overrides: Any) -> Flask:
        variant = create_app(settings_factory(**overrides))
        variant.register_blueprint(test_bp)
        built.append(variant)
        return variant

    yield build
    for variant in built:
        with variant.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def scanning_app(build_app: Callable[..., Flask], clamd: ClamdProcess) -> Flask:
    return build_app(clamav_url=clamd.unix_url)


# --- files ------------------------------------------------------------------------------------


def pdf_with_content(content: bytes, *, compress: bool) -> bytes:
    """A valid one-page PDF whose page content stream carries ``content``."""
    writer = PdfWriter()
    page = writer.add_blank_page(width=595, height=842)
    stream = DecodedStreamObject()
    stream.set_data(b"BT ET\n% " + content + b"\n")
    page[NameObject("/Contents")] = writer._add_object(
        stream.flate_encode() if compress else stream)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def png_with_text(text: bytes) -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", text.decode("ascii"))
    buffer = io.BytesIO()
    Image.new("RGB", (20, 20), (0, 90, 160)).save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


def jpeg_with_comment(comment: bytes) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (20, 20), (0, 90, 160)).save(buffer, format="JPEG", comment=comment)
    return buffer.getvalue()


def infected_message(signature: str) -> str:
    return INFECTED_MESSAGE.format(signature=signature)


def count(model: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


CLEAN_FILES = [
    pytest.param(pdf_bytes(), "bescheid.pdf", "application/pdf", id="pdf"),
    pytest.param(image_bytes("JPEG"), "ausweis.jpg", "image/jpeg", id="jpeg"),
    pytest.param(image_bytes("PNG"), "meldebescheinigung.png", "image/png", id="png"),
]

# Each is a file the type checks accept; only the scanner stands between it and the store.
INFECTED_FILES = [
    pytest.param(pdf_with_content(EICAR, compress=False), "antrag.pdf", id="pdf-plain-stream"),
    pytest.param(pdf_with_content(EICAR, compress=True), "antrag.pdf", id="pdf-flate-stream"),
    pytest.param(png_with_text(EICAR), "foto.png", id="png-text-chunk"),
    pytest.param(jpeg_with_comment(EICAR), "foto.jpg", id="jpeg-comment"),
]


# --- the scanner on its own -------------------------------------------------------------------


@pytest.mark.parametrize("transport", ["unix", "tcp"])
def test_clamd_scanner_tells_clean_from_infected(clamd: ClamdProcess, transport: str) -> None:
    scanner = scanner_from_url(clamd.unix_url if transport == "unix" else clamd.tcp_url)

    scanner.check()
    assert scanner.scan(io.BytesIO(pdf_bytes())) == ScanResult(clean=True)
    infected = scanner.scan(io.BytesIO(EICAR))
    assert not infected.clean
    assert infected.signature is not None
    assert infected.signature.startswith(EICAR_SIGNATURE)


def test_eicar_in_a_compressed_pdf_stream_is_found(clamd: ClamdProcess) -> None:
    content = pdf_with_content(EICAR, compress=True)
    assert EICAR not in content  # only a scanner that decodes the PDF can see it

    result = ClamdScanner.from_url(clamd.unix_url).scan(io.BytesIO(content))

    assert not result.clean


def test_scan_starts_at_the_current_position(clamd: ClamdProcess) -> None:
    stream = io.BytesIO(EICAR + b"\n" + b"harmless text")
    stream.seek(len(EICAR) + 1)

    assert ClamdScanner.from_url(clamd.unix_url).scan(stream).clean


def test_a_stream_over_clamds_limit_is_reported_as_such(clamd: ClamdProcess,
                                                        tmp_path: Path) -> None:
    big = write_pdf(tmp_path / "gross.pdf", (STREAM_MAX_MB + 1) * MB)

    with big.open("rb") as stream, pytest.raises(ScanLimitExceeded, match="StreamMaxLength"):
        ClamdScanner.from_url(clamd.unix_url).scan(stream)


def test_a_large_file_is_scanned_in_chunks_not_in_memory(clamd: ClamdProcess,
                                                         tmp_path: Path) -> None:
    size = 20 * MB
    large = write_pdf(tmp_path / "scan.pdf", size)
    scanner = ClamdScanner.from_url(clamd.unix_url)

    tracemalloc.start()
    try:
        with large.open("rb") as stream:
            result = scanner.scan(stream)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert result.clean
    assert peak < size // 20, f"peak {peak} bytes while scanning {size} bytes"


def test_an_unreachable_clamd_is_unavailable(tmp_path: Path) -> None:
    scanner = ClamdScanner(ClamdAddress(unix_path=str(tmp_path / "nobody.ctl")))

    with pytest.raises(ScannerUnavailable):
        scanner.check()
    with pytest.raises(ScannerUnavailable):
        scanner.scan(io.BytesIO(pdf_bytes()))


def test_a_clamd_that_never_answers_times_out(tmp_path: Path) -> None:
    # A socket that accepts connections into its backlog and never reads: a hung daemon.
    path = tmp_path / "hung.ctl"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as hung:
        hung.bind(str(path))
        hung.listen(4)
        scanner = ClamdScanner(ClamdAddress(unix_path=str(path)), connect_timeout=0.3,
                               scan_timeout=0.3)
        started = time.monotonic()
        with pytest.raises(ScannerUnavailable, match="TimeoutError"):
            scanner.scan(io.BytesIO(pdf_bytes()))
        with pytest.raises(ScannerUnavailable):
            scanner.check()
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(("reply", "expected"), [
    (b"stream: OK\x00", ScanResult(clean=True)),
    (b"stream: Eicar-Test-Signature FOUND\x00", ScanResult(False, "Eicar-Test-Signature")),
    (b"stream: Win.Test.EICAR_HDB-1 FOUND\n", ScanResult(False, "Win.Test.EICAR_HDB-1")),
    (b"stream: Evil\x1b[31m.Sig FOUND\x00", ScanResult(False, "Evil[31m.Sig")),
    (b"stream:  FOUND\x00", ScanResult(False, "unknown")),
])
def test_parse_reply_results(reply: bytes, expected: ScanResult) -> None:
    assert parse_reply(reply) == expected


@pytest.mark.parametrize(("reply", "error"), [
    (b"INSTREAM size limit exceeded. ERROR\x00", ScanLimitExceeded),
    (b"stream: Can't allocate memory ERROR\x00", ScannerError),
    (b"", ScannerUnavailable),
    (b"UNKNOWN COMMAND\x00", ScannerUnavailable),
    (b"\xff\xfe garbage", ScannerUnavailable),
])
def test_parse_reply_errors(reply: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        parse_reply(reply)


@pytest.mark.parametrize(("url", "address"), [
    ("unix:///run/clamav/clamd.ctl", ClamdAddress(unix_path="/run/clamav/clamd.ctl")),
    ("tcp://scanner.intern:3311", ClamdAddress(host="scanner.intern", port=3311)),
    ("tcp://127.0.0.1", ClamdAddress(host="127.0.0.1", port=3310)),
])
def test_clamd_urls(url: str, address: ClamdAddress) -> None:
    assert parse_clamd_url(url) == address


@pytest.mark.parametrize("url", ["", "http://clamd:3310", "unix://", "tcp://", "clamd.ctl"])
def test_wrong_clamd_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match="clamd URL"):
        scanner_from_url(url)


# --- uploads through storage ------------------------------------------------------------------


@pytest.mark.parametrize(("content", "filename", "media_type"), CLEAN_FILES)
def test_clean_files_are_scanned_and_stored(scanning_app: Flask, content: bytes, filename: str,
                                            media_type: str) -> None:
    with scanning_app.app_context():
        document = store_upload(io.BytesIO(content), filename, SYSTEM)
        db.session.commit()

        assert document.media_type == media_type
        assert get_blobstore().exists(document.storage_key)
        assert count(Document) == 1


@pytest.mark.parametrize(("content", "filename"), INFECTED_FILES)
def test_infected_files_are_refused_with_the_signature_and_nothing_is_stored(
        scanning_app: Flask, create_citizen: Callable[..., Any], content: bytes,
        filename: str) -> None:
    citizen = create_citizen()
    with scanning_app.app_context():
        with pytest.raises(RejectedUpload) as refusal:
            store_upload(io.BytesIO(content), filename, citizen_actor(citizen))
        db.session.commit()

        message = str(refusal.value.message)
        assert message.startswith("Die Datei enthält Schadsoftware (Eicar-Test-Signature")
        assert message.endswith(") und wurde nicht angenommen.")
        assert count(Document) == 0
        assert count(AuditEntry) == 0
    assert blob_files(scanning_app) == []


def test_the_eicar_file_itself_named_as_an_image_is_refused(scanning_app: Flask) -> None:
    # The type check refuses it before the scanner is asked; either way it is never stored.
    with scanning_app.app_context():
        with pytest.raises(RejectedUpload, match="Es können nur PDF-, JPEG- oder PNG-Dateien"):
            store_upload(io.BytesIO(EICAR), "urlaubsfoto.png", SYSTEM)
        assert count(Document) == 0
    assert blob_files(scanning_app) == []


def test_infected_file_never_reaches_s3(build_app: Callable[..., Flask], clamd: ClamdProcess,
                                        s3_url: str) -> None:
    s3_app = build_app(clamav_url=clamd.tcp_url, storage_url=s3_url)
    with s3_app.app_context():
        with pytest.raises(RejectedUpload, match="Schadsoftware"):
            store_upload(io.BytesIO(pdf_with_content(EICAR, compress=True)), "a.pdf", SYSTEM)
        clean_key = store_upload(io.BytesIO(pdf_bytes()), "b.pdf", SYSTEM).storage_key
        db.session.commit()
        assert count(Document) == 1

    store = S3BlobStore.from_url(s3_url)
    keys = [obj.object_name for obj in store.client.list_objects(store.bucket, recursive=True)]
    assert keys == [clean_key]


def test_a_large_upload_is_scanned_and_stored_without_loading_it(
        scanning_app: Flask, tmp_path: Path) -> None:
    size = 20 * MB - 4096  # just under the default upload limit of 20 MB
    large = write_pdf(tmp_path / "kontoauszuege.pdf", size)

    with scanning_app.app_context():
        tracemalloc.start()
        try:
            with large.open("rb") as upload:
                document = store_upload(upload, large.name, SYSTEM)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        db.session.commit()

        assert document.size == large.stat().st_size
    assert peak < size // 4, f"peak {peak} bytes while storing {size} bytes"


def test_a_file_over_clamds_limit_is_refused_clearly(
        build_app: Callable[..., Flask], clamd: ClamdProcess, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    # A misconfiguration (upload limit above clamd's StreamMaxLength) must not let files through.
    generous = build_app(clamav_url=clamd.unix_url, max_upload_bytes=(STREAM_MAX_MB + 5) * MB)
    big = write_pdf(tmp_path / "gross.pdf", (STREAM_MAX_MB + 1) * MB)

    with generous.app_context(), big.open("rb") as upload:
        with pytest.raises(RejectedUpload, match="zu groß für die Virenprüfung"):
            store_upload(upload, "gross.pdf", SYSTEM)
        assert count(Document) == 0
    assert blob_files(generous) == []
    assert "StreamMaxLength" in caplog.text


# --- scanning switched off ------------------------------------------------------------------


def test_scanning_is_off_by_default(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        assert get_scanner() is None
        assert EXTENSION_KEY not in app.extensions
        # Not scanned, so not refused: the embedded setup trusts its own few users.
        document = store_upload(io.BytesIO(pdf_with_content(EICAR, compress=False)), "a.pdf",
                                SYSTEM)
        db.session.commit()
        assert document.id is not None

    health = json.loads(client.get("/healthz").data)
    assert HEALTH_CHECK_NAME not in health


# --- clamd down -------------------------------------------------------------------------------


def test_uploads_are_refused_and_health_fails_while_clamd_is_down(
        build_app: Callable[..., Flask], create_citizen: Callable[..., Any], tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "clamd").mkdir()
    own_clamd = start_clamd(tmp_path / "clamd")
    try:
        scanning = build_app(clamav_url=own_clamd.unix_url)
        client = scanning.test_client()
        healthy = client.get("/healthz")
        assert healthy.status_code == 200
        assert json.loads(healthy.data)[HEALTH_CHECK_NAME] == "ok"
    finally:
        own_clamd.stop()

    down = client.get("/healthz")
    assert down.status_code == 503
    assert json.loads(down.data)[HEALTH_CHECK_NAME] == "unavailable"
    assert json.loads(down.data)["storage"] == "ok"

    sign_in_citizen(client, create_citizen())
    with caplog.at_level(logging.ERROR, logger="storage.services"):
        response = post_upload(client, pdf_bytes(), "nachweis.pdf", title="Mein Titel")

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert TRY_LATER_MESSAGE in page
    assert 'value="Mein Titel"' in page
    assert document_count(scanning) == 0
    assert blob_files(scanning) == []
    failures = [r.getMessage() for r in caplog.records if r.name == "storage.services"]
    assert failures == ["virus scan failed: ScannerUnavailable"]  # the class, no path, no file


def _check_command(app: Flask) -> Result:
    return CliRunner().invoke(main, ["check"], obj=ScriptInfo(create_app=lambda: app))


def test_amtsweg_check_lists_the_virus_scanner(build_app: Callable[..., Flask],
                                               clamd: ClamdProcess, tmp_path: Path) -> None:
    reachable = _check_command(build_app(clamav_url=clamd.unix_url)).output
    unreachable = _check_command(
        build_app(clamav_url=f"unix://{tmp_path / 'missing.ctl'}")).output

    assert "ok    virus scanner: reachable" in reachable
    assert "FAIL  virus scanner: ScannerUnavailable" in unreachable


# --- through a form page ----------------------------------------------------------------------


def test_infected_upload_on_a_form_page_shows_the_message_on_the_field(
        scanning_app: Flask, create_citizen: Callable[..., Any]) -> None:
    client = scanning_app.test_client()
    sign_in_citizen(client, create_citizen())

    response = post_upload(client, pdf_with_content(EICAR, compress=True), "lohnabrechnung.pdf",
                           title="Lohn <März>")

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<title>Fehler:" in page
    assert 'href="#document"' in page
    assert "Die Datei enthält Schadsoftware (Eicar-Test-Signature" in page
    assert 'value="Lohn &lt;März&gt;"' in page
    assert document_count(scanning_app) == 0
    assert blob_files(scanning_app) == []


def test_clean_upload_on_a_form_page_is_stored(scanning_app: Flask,
                                               create_citizen: Callable[..., Any]) -> None:
    client = scanning_app.test_client()
    sign_in_citizen(client, create_citizen())

    response = post_upload(client, image_bytes("PNG"), "foto.png")

    assert response.status_code == 302
    assert document_count(scanning_app) == 1


def test_chunks_are_length_prefixed_big_endian(tmp_path: Path) -> None:
    """What clamd receives, byte for byte: a listener on a real socket records it."""
    path = tmp_path / "recorder.ctl"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(str(path))
        listener.listen(1)
        received = bytearray()

        def record() -> None:
            connection, _ = listener.accept()
            with connection:
                while len(received) < len(b"zINSTREAM") + 1 + 4 + 3 + 4:
                    data = connection.recv(65536)
                    if not data:
                        break
                    received.extend(data)
                connection.sendall(b"stream: OK\x00")

        thread = threading.Thread(target=record)
        thread.start()
        result = ClamdScanner(ClamdAddress(unix_path=str(path))).scan(io.BytesIO(b"abc"))
        thread.join(timeout=5)

    assert result.clean
    assert bytes(received) == b"zINSTREAM\x00" + struct.pack(">I", 3) + b"abc" + b"\x00" * 4
