"""Upload checks: types from content, PDFs parse, images decode, names safe (no request)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask_babel import force_locale

from storage.checks import (
    JPEG,
    PDF,
    PNG,
    RejectedUpload,
    inspect_upload,
    sanitise_filename,
    sniff_media_type,
)
from tests.storage.conftest import bomb_png, image_bytes, pdf_bytes

MB = 1024 * 1024


@pytest.fixture(autouse=True)
def _english(app: Flask) -> Iterator[None]:
    """The refusals are translated texts, read here in English (their source language): reading
    one needs the app's translations, which this module must not borrow from another test."""
    with app.app_context(), force_locale("en"):
        yield


def refusal(content: bytes, filename: str = "datei.pdf", max_bytes: int = 20 * MB) -> str:
    with pytest.raises(RejectedUpload) as caught:
        inspect_upload(io.BytesIO(content), filename, max_bytes)
    return str(caught.value.message)


@pytest.mark.parametrize(("content", "media_type", "name", "expected_name"), [
    (pdf_bytes(), PDF, "Einkommensnachweis.pdf", "Einkommensnachweis.pdf"),
    (pdf_bytes(pages=3), PDF, "scan.PDF", "scan.pdf"),
    (image_bytes("JPEG"), JPEG, "foto.jpeg", "foto.jpeg"),
    (image_bytes("JPEG"), JPEG, "IMG_0001.JPG", "IMG_0001.jpg"),
    (image_bytes("PNG"), PNG, "bildschirm.png", "bildschirm.png"),
    # The extension follows the content, never the other way round.
    (image_bytes("PNG"), PNG, "eigentlich.pdf", "eigentlich.png"),
])
def test_accepted_files(content: bytes, media_type: str, name: str, expected_name: str) -> None:
    checked = inspect_upload(io.BytesIO(content), name, 20 * MB)

    assert checked.media_type == media_type
    assert checked.size == len(content)
    assert checked.filename == expected_name
    assert checked.spool.read() == content
    checked.spool.close()


def test_empty_file() -> None:
    assert refusal(b"") == "The file is empty."


def test_pdf_with_zero_pages_worth_of_bytes_is_empty() -> None:
    assert refusal(b"", "antrag.pdf") == "The file is empty."


def test_windows_program_renamed_to_pdf() -> None:
    message = refusal(b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 500, "rechnung.pdf")
    assert message == ("Only PDF, JPEG or PNG files can be accepted. "
                       "This file is a Windows program.")


def test_html_renamed_to_png() -> None:
    message = refusal(b"<!DOCTYPE html><html><script>alert(1)</script></html>", "bild.png")
    assert message.endswith("This file is a web page (HTML).")


@pytest.mark.parametrize(("content", "kind"), [
    (b"PK\x03\x04" + b"\x00" * 100, "a ZIP archive or an Office document"),
    (b"GIF89a" + b"\x00" * 100, "a GIF image"),
    (b"Hallo, hier ist mein Antrag.", "a text file"),
    (bytes(range(256)), "of an unknown type"),
])
def test_other_kinds_are_named(content: bytes, kind: str) -> None:
    assert refusal(content).endswith(f"This file is {kind}.")


def test_truncated_pdf() -> None:
    whole = pdf_bytes(pages=2)
    assert refusal(whole[: len(whole) // 2]) == "The PDF file is damaged and cannot be read."


def test_pdf_header_with_garbage_behind_it() -> None:
    assert refusal(b"%PDF-1.7\n" + b"kaputt " * 100 + b"\n%%EOF\n") == (
        "The PDF file is damaged and cannot be read.")


def test_encrypted_pdf() -> None:
    assert refusal(pdf_bytes(password="geheim")).startswith(
        "The PDF file is protected by a password.")


def test_pdf_without_pages() -> None:
    assert refusal(pdf_bytes(pages=0)) == "The PDF file has no pages."


def test_truncated_png() -> None:
    whole = image_bytes("PNG", (300, 300))
    assert refusal(whole[: len(whole) // 2], "bild.png") == (
        "The image file is damaged and cannot be read.")


def test_truncated_jpeg() -> None:
    whole = image_bytes("JPEG", (300, 300))
    assert refusal(whole[: len(whole) // 3], "bild.jpg") == (
        "The image file is damaged and cannot be read.")


@pytest.mark.parametrize("size", [(100_000, 100_000), (8_000, 8_000)])
def test_decompression_bomb_png(size: tuple[int, int]) -> None:
    # 10 billion pixels raise in Pillow; 64 million only warn there. Both are refused.
    assert refusal(bomb_png(*size), "bombe.png") == (
        "The image has too many pixels. Please send it at a lower resolution.")


def test_limit_is_enforced_while_reading() -> None:
    class Endless(io.RawIOBase):
        read_so_far = 0

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
            self.read_so_far += len(buffer)
            buffer[:] = b"\x00" * len(buffer)
            return len(buffer)

    endless = Endless()
    with pytest.raises(RejectedUpload) as caught:
        inspect_upload(endless, "endlos.pdf", 2 * MB)  # type: ignore[arg-type]

    assert str(caught.value.message) == "The file is too large. Files may be at most 2 MB."
    assert endless.read_so_far <= 3 * MB


def test_seekable_upload_is_checked_where_it_lies() -> None:
    # Werkzeug has written the upload to a temporary file already: no second copy is made, and
    # a stream a validator has read from is still checked from its first byte.
    content = pdf_bytes()
    upload = io.BytesIO(content)
    upload.seek(100)

    checked = inspect_upload(upload, "a.pdf", 20 * MB)

    assert checked.spool is upload
    assert checked.size == len(content)
    assert upload.read() == content


def test_seekable_upload_over_the_limit_is_refused_unread() -> None:
    class Counting(io.BytesIO):
        bytes_read = 0

        def read(self, size: int | None = -1) -> bytes:
            data = super().read(size)
            self.bytes_read += len(data)
            return data

    upload = Counting(pdf_bytes() + b"\n" * (3 * MB))
    with pytest.raises(RejectedUpload) as caught:
        inspect_upload(upload, "gross.pdf", 2 * MB)

    assert str(caught.value.message) == "The file is too large. Files may be at most 2 MB."
    assert upload.bytes_read == 0
    assert not upload.closed  # the caller's stream is the caller's to close


def test_stream_that_cannot_seek_is_spooled() -> None:
    content = pdf_bytes()

    class OneWay(io.RawIOBase):
        def __init__(self) -> None:
            self._inner = io.BytesIO(content)

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
            return self._inner.readinto(buffer)

    upload: Any = OneWay()
    checked = inspect_upload(upload, "a.pdf", 20 * MB)

    assert checked.spool is not upload
    assert checked.spool.read() == content
    checked.spool.close()


def test_file_of_exactly_the_limit_is_accepted() -> None:
    content = pdf_bytes()
    inspect_upload(io.BytesIO(content), "a.pdf", len(content)).spool.close()
    with pytest.raises(RejectedUpload):
        inspect_upload(io.BytesIO(content), "a.pdf", len(content) - 1)


def test_sniffing_ignores_the_name_and_wants_bytes() -> None:
    assert sniff_media_type(b"\x89PNG\r\n\x1a\n....") == PNG
    assert sniff_media_type(b"\xff\xd8\xff\xe0") == JPEG
    assert sniff_media_type(b"%PDF-1.4") == PDF


@pytest.mark.parametrize(("given", "expected"), [
    ("../../etc/passwd", "passwd.pdf"),
    ("..\\..\\Windows\\system32\\config.pdf", "config.pdf"),
    ("C:\\Users\\Erika\\Desktop\\Lohnabrechnung März.pdf", "Lohnabrechnung März.pdf"),
    ("antrag\x00.exe.pdf", "antrag.exe.pdf"),
    ("zeile1\nzeile2\r\t.pdf", "zeile1zeile2.pdf"),
    # U+202E turns "rechnung‮fdp.exe" into "rechnungexe.pdf" on screen.
    ("rechnung\u202efdp.exe", "rechnungfdp.pdf"),
    ("\u200bunsichtbar\u2066.pdf", "unsichtbar.pdf"),
    (".htaccess", "htaccess.pdf"),
    ("...", "dokument.pdf"),
    ("", "dokument.pdf"),
    ("   ", "dokument.pdf"),
    ('<script>"a|b?*:c".pdf', "scriptabc.pdf"),
    ("CON.pdf", "dokument.pdf"),
    ("Bescheid.v2", "Bescheid.pdf"),
    ("Bescheid 2024.final.pdf", "Bescheid 2024.final.pdf"),
    ("Mu\u0308ller.pdf", "Müller.pdf"),  # NFD from macOS becomes NFC
])
def test_sanitise_filename(given: str, expected: str) -> None:
    assert sanitise_filename(given, PDF) == expected


def test_sanitise_keeps_at_most_200_characters_and_the_extension() -> None:
    result = sanitise_filename("a" * 500 + ".pdf", PDF)

    assert len(result) == 200
    assert result.endswith("a.pdf")


def test_sanitise_sets_the_extension_from_the_sniffed_type() -> None:
    assert sanitise_filename("foto.exe", JPEG) == "foto.jpg"
    assert sanitise_filename("scan", PNG) == "scan.png"
