"""Upload checks: pure functions on streams and names, no Flask.

Every upload is treated as hostile until proven otherwise: the type comes from the bytes (never
from the name or the browser's Content-Type), PDFs must parse, images must decode, and the name
a browser sends is only ever shown, never used as a path.
"""

from __future__ import annotations

import io
import re
import tempfile
import unicodedata
import warnings
from dataclasses import dataclass
from typing import IO, Any

from flask_babel import LazyString
from PIL import Image
from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

from amtsweg.translate import lazy_gettext as _l

PDF = "application/pdf"
JPEG = "image/jpeg"
PNG = "image/png"
ACCEPTED_MEDIA_TYPES = (PDF, JPEG, PNG)
EXTENSIONS = {PDF: "pdf", JPEG: "jpg", PNG: "png"}
_EXTENSION_ALIASES = {PDF: {"pdf"}, JPEG: {"jpg", "jpeg"}, PNG: {"png"}}

CHUNK_SIZE = 1024 * 1024
SNIFF_BYTES = 1024
MAX_FILENAME_LENGTH = 200
FALLBACK_STEM = "dokument"

# A 600-dpi colour scan of an A4 page has about 35 million pixels. Anything far beyond is a
# decompression bomb: a few kilobytes of PNG that would expand to gigabytes in memory.
MAX_IMAGE_PIXELS = 60_000_000
Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS

# What a PDF reader may run or hand to the operating system: scripts, launch actions, files
# carried inside the PDF, multimedia, XFA forms (which bring their own scripts). A citizen's PDF
# is opened on a caseworker's machine; none of this is needed to read a document.
_ACTIVE_PDF_KEYS = frozenset({"/JS", "/JavaScript", "/EmbeddedFiles", "/EmbeddedFile", "/EF",
                              "/RichMedia", "/XFA"})
_ACTIVE_PDF_ACTIONS = frozenset({"/JavaScript", "/Launch", "/RichMediaExecute"})
# Page content, fonts, images and the structure tree never carry actions, and are what makes a
# scan large: the walk does not load them. /Parent and /P only lead back up.
_INERT_PDF_KEYS = frozenset({"/Parent", "/P", "/Contents", "/Resources", "/DR", "/Thumb",
                             "/Metadata", "/StructTreeRoot", "/PieceInfo"})
MAX_PDF_OBJECTS_WALKED = 50_000

_SPOOL_IN_MEMORY_BYTES = 512 * 1024
_RESERVED_CHARACTERS = re.compile(r'[<>:"/\\|?*]')
_WINDOWS_DEVICE_NAMES = frozenset(
    {"CON", "PRN", "AUX", "NUL"} | {f"COM{i}" for i in range(1, 10)}
    | {f"LPT{i}" for i in range(1, 10)})


class RejectedUpload(Exception):
    """The upload cannot be accepted; ``message`` is a translatable text for the person."""

    def __init__(self, message: LazyString) -> None:
        # Kept lazy: it is translated where it is shown, in the person's language.
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return str(self.message)


@dataclass
class CheckedUpload:
    """An upload that passed every check, at position 0 of ``spool``: the upload's own stream
    when it could be read at random (the file the request received it into), else a temporary
    copy."""

    spool: IO[bytes]
    media_type: str
    size: int
    filename: str


def too_large(max_bytes: int) -> RejectedUpload:
    mb = max(1, max_bytes // (1024 * 1024))
    return RejectedUpload(_l("The file is too large. Files may be at most %(mb)s MB.", mb=mb))


def spool_limited(stream: IO[bytes], max_bytes: int) -> tuple[IO[bytes], int]:
    """Copy ``stream`` to a temporary file, refusing as soon as it passes ``max_bytes``.

    Checks need random access (a PDF's cross-reference table sits at the end), and the blob
    store must never hold a file that has not passed them; so a stream that cannot seek goes
    to a local temporary file first, in chunks, never whole into memory.
    """
    spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY_BYTES)  # noqa: SIM115
    size = 0
    try:
        while chunk := stream.read(CHUNK_SIZE):
            size += len(chunk)
            if size > max_bytes:
                raise too_large(max_bytes)
            spool.write(chunk)
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return spool, size


def _seekable_size(stream: IO[bytes]) -> int | None:
    """The size of a stream that can seek, or ``None`` for one that must be spooled first.

    Before the view runs, every uploaded file is already in a file that can seek: the one the
    request received it into in the document store, or Werkzeug's temporary file (in memory
    when small). A second copy cost as much as storing the file.
    """
    try:
        if not stream.seekable():
            return None
        size = stream.seek(0, io.SEEK_END)
        stream.seek(0)
    except (AttributeError, OSError, ValueError):
        return None
    return size


def describe_kind(head: bytes) -> LazyString:
    """Name, for the person, what a refused file most likely is."""
    stripped = head.lstrip().lower()
    if head.startswith(b"MZ"):
        return _l("a Windows program")
    if head.startswith(b"\x7fELF"):
        return _l("a program")
    if stripped.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<script")):
        return _l("a web page (HTML)")
    if head.startswith(b"PK\x03\x04"):
        return _l("a ZIP archive or an Office document")
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return _l("an older Office document")
    if head.startswith((b"GIF87a", b"GIF89a")):
        return _l("a GIF image")
    if head[:4] in {b"II*\x00", b"MM\x00*"}:
        return _l("a TIFF image")
    if head[4:12] in {b"ftypheic", b"ftypheix", b"ftypmif1"}:
        return _l("a HEIC photo")
    if _looks_like_text(head):
        return _l("a text file")
    return _l("of an unknown type")


def _looks_like_text(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return b"\x00" not in head


def sniff_media_type(head: bytes) -> str:
    """Return the media type from the first bytes, or refuse anything but PDF, JPEG, PNG."""
    if not head:
        raise RejectedUpload(_l("The file is empty."))
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    # ISO 32000-1, 7.5.2: the header is "%PDF-"; readers accept it within the first 1024 bytes.
    if b"%PDF-" in head[:SNIFF_BYTES]:
        return PDF
    raise RejectedUpload(_l("Only PDF, JPEG or PNG files can be accepted. This file is %(kind)s.",
                            kind=describe_kind(head)))


def check_pdf(stream: IO[bytes]) -> None:
    """Refuse a PDF that is truncated, encrypted, pageless or does not parse."""
    stream.seek(0, 2)
    length = stream.tell()
    stream.seek(max(0, length - SNIFF_BYTES))
    # ISO 32000-1, 7.5.5: a complete file ends with "%%EOF"; a cut-off upload does not.
    if b"%%EOF" not in stream.read():
        raise RejectedUpload(_l("The PDF file is damaged and cannot be read."))
    stream.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader = PdfReader(stream, strict=False)
            encrypted = reader.is_encrypted
            page_count = 0 if encrypted else _walk_pages(reader)
            active = False if encrypted else _has_active_content(reader)
    except Exception:  # a hostile PDF can make the parser raise nearly anything
        raise RejectedUpload(_l("The PDF file is damaged and cannot be read.")) from None
    finally:
        stream.seek(0)
    if encrypted:
        raise RejectedUpload(_l("The PDF file is protected by a password. Please send it "
                                "without password protection."))
    if page_count < 1:
        raise RejectedUpload(_l("The PDF file has no pages."))
    if active:
        raise RejectedUpload(_l("The PDF file contains embedded files or scripts (JavaScript) "
                                "and cannot be accepted. Please save or print it as a new PDF "
                                "and send that file."))


def _walk_pages(reader: PdfReader) -> int:
    # Touch every page's box: a page tree that points at missing objects fails here, not later
    # when a caseworker opens the file.
    count = 0
    for page in reader.pages:
        _ = page.mediabox.width
        count += 1
    return count


def _has_active_content(reader: PdfReader) -> bool:
    """Look through everything reachable from the catalogue, except page content and
    resources, for scripts, launch actions and embedded files (also in annotations, outlines,
    form fields and the document's open and additional actions)."""
    seen: set[tuple[int, int]] = set()
    pending: list[Any] = [reader.trailer["/Root"]]
    walked = 0
    while pending:
        item = pending.pop()
        if isinstance(item, IndirectObject):
            if (item.idnum, item.generation) in seen:
                continue
            seen.add((item.idnum, item.generation))
            item = item.get_object()
        walked += 1
        if walked > MAX_PDF_OBJECTS_WALKED:
            # Far more than any letter or scan has: a file built to keep the check busy.
            raise ValueError("too many objects")
        if isinstance(item, DictionaryObject):
            if not _ACTIVE_PDF_KEYS.isdisjoint(item.keys()):
                return True
            action = item.get("/S")
            if isinstance(action, IndirectObject):
                action = action.get_object()
            if action in _ACTIVE_PDF_ACTIONS or item.get("/Subtype") == "/FileAttachment":
                return True
            pending.extend(value for key, value in item.items() if key not in _INERT_PDF_KEYS)
        elif isinstance(item, ArrayObject):
            pending.extend(item)
    return False


def check_image(stream: IO[bytes], media_type: str) -> None:
    """Refuse an image that does not fully decode, or that would decode to too many pixels."""
    expected_format = "PNG" if media_type == PNG else "JPEG"
    try:
        with warnings.catch_warnings():
            # Over the limit Pillow only warns; over twice the limit it raises. Both are refused.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(stream, formats=[expected_format]) as image:
                image.load()
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise RejectedUpload(_l("The image has too many pixels. Please send it at a lower "
                                "resolution.")) from None
    except Exception:  # truncated or corrupt data makes the decoder raise many kinds of error
        raise RejectedUpload(_l("The image file is damaged and cannot be read.")) from None
    finally:
        stream.seek(0)


def check_content(stream: IO[bytes]) -> str:
    """Sniff and verify the spooled file; return its media type."""
    head = stream.read(SNIFF_BYTES)
    stream.seek(0)
    media_type = sniff_media_type(head)
    if media_type == PDF:
        check_pdf(stream)
    else:
        check_image(stream, media_type)
    return media_type


def inspect_upload(stream: IO[bytes], filename: str | None, max_bytes: int) -> CheckedUpload:
    """Run every check on an upload; raise :class:`RejectedUpload` with a clear message.

    A stream that can seek is checked in place and handed on as ``spool`` (the caller closes
    it); any other is copied first. The content's SHA-256 is taken once, by the blob store.
    """
    size = _seekable_size(stream)
    if size is not None and size > max_bytes:
        raise too_large(max_bytes)
    spool, size = (stream, size) if size is not None else spool_limited(stream, max_bytes)
    try:
        if size == 0:
            raise RejectedUpload(_l("The file is empty."))
        media_type = check_content(spool)
    except BaseException:
        if spool is not stream:
            spool.close()
        raise
    return CheckedUpload(spool=spool, media_type=media_type, size=size,
                         filename=sanitise_filename(filename or "", media_type))


def sanitise_filename(name: str, media_type: str) -> str:
    """Make a browser-supplied name safe to show and to offer as a download name.

    The extension always follows the sniffed type, so "rechnung.exe" that is really a PDF is
    offered as "rechnung.pdf" and nothing is ever opened with the wrong program.
    """
    extension = EXTENSIONS[media_type]
    name = unicodedata.normalize("NFC", name)
    # Browsers on Windows send full paths; "..\\..\\x" must not name a directory anywhere.
    name = re.split(r"[/\\]", name)[-1]
    # Cc: control characters (NUL, newline); Cf: format characters, among them the
    # right-to-left override that makes "rechnung‮fdp.exe" look like "rechnungexe.pdf".
    name = "".join(ch for ch in name if unicodedata.category(ch) not in {"Cc", "Cf", "Zl", "Zp"})
    name = _RESERVED_CHARACTERS.sub("", name)
    name = " ".join(name.split())
    stem, given_extension = _split_extension(name)
    if given_extension.lower() in _EXTENSION_ALIASES[media_type]:
        extension = given_extension.lower()
    stem = stem.lstrip(". ").rstrip(". ")
    if not stem or stem.upper() in _WINDOWS_DEVICE_NAMES:
        stem = FALLBACK_STEM
    stem = stem[: MAX_FILENAME_LENGTH - len(extension) - 1].rstrip(". ") or FALLBACK_STEM
    return f"{stem}.{extension}"


def _split_extension(name: str) -> tuple[str, str]:
    stem, dot, extension = name.rpartition(".")
    if dot and stem and re.fullmatch(r"[A-Za-z0-9]{1,5}", extension):
        return stem, extension
    return name, ""
