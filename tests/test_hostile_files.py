"""Hostile files at every place a file comes into the office, through the real pages.

Each entry point (the UVG documents page, the general request, the four follow-ups, the answer
to the office's request in the postbox, the clearing office's paper intake, the caseworker's
upload into the E-Akte) gets every hostile file, with clamd scanning as in production. Each file
is either refused with its reason on the page, the rest of the form kept as typed, and nothing
new in the database or the blob store; or it is neutralised: stored under a cleaned name with
the type its bytes have. After every post, the blob store holds exactly the blobs that rows
point to: no orphan, nothing missing.

One app per entry point serves all hostile files (its setup is the costly part); every test
counts what it adds, so the tests on one app do not depend on each other's outcome. A static
test keeps the list of entry points complete: a new upload form or a new caller of storage
fails it until it is added here.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape
from pypdf import PdfWriter
from pypdf.generic import DictionaryObject, NameObject, TextStringObject
from sqlalchemy import func, select
from werkzeug.test import TestResponse

# Every model must be registered before the session fixture builds the PostgreSQL schema.
import amtsweg.postbox.models  # noqa: F401
import backoffice.models  # noqa: F401
import clearing.models  # noqa: F401
import portal.models  # noqa: F401
import storage.models  # noqa: F401
from amtsweg.app import create_app
from amtsweg.audit.models import ActorKind
from amtsweg.audit.services import Actor
from amtsweg.citizens.models import Citizen
from amtsweg.db import utcnow
from amtsweg.extensions import db
from amtsweg.fachbereiche import fachbereich_by_code, seed_fachbereiche
from amtsweg.passwords import hash_password
from amtsweg.staff.models import Role, Staff, StaffRole
from backoffice.models import CaseDocument
from clearing.models import Eingang, EingangDocument
from clearing.services import request_from_citizen
from portal.models import Draft, DraftDocument, Submission, SubmissionDocument
from storage.blobstore import KEY_PATTERN, S3BlobStore
from storage.models import Document
from tests.backoffice.conftest import case_factory
from tests.conftest import _empty_all, make_settings, sign_in_citizen, sign_in_staff
from tests.portal.uvg.conftest import Wizard, child_answers, fill_all
from tests.storage.clamd import EICAR, ClamdProcess, start_clamd
from tests.storage.conftest import bomb_png, image_bytes, pdf_bytes, s3_url_for, start_moto
from tests.storage.test_scanner import pdf_with_content

# --- the hostile files ------------------------------------------------------------------------


@dataclass(frozen=True)
class Refused:
    """The file is turned away; ``message`` is what the page says (German, the default)."""

    message: str


@dataclass(frozen=True)
class Neutralised:
    """The file is taken, under a name made safe and with the type its bytes have."""

    filename: str
    media_type: str


@dataclass(frozen=True)
class Hostile:
    content: bytes
    filename: str
    outcome: Refused | Neutralised
    # How a form that takes several files names a refused one in its message, if not as sent.
    shown_as: str | None = None


def pdf_with_embedded_program() -> bytes:
    """A valid PDF that carries a Windows program as an attached file (/EmbeddedFiles)."""
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.add_attachment("rechnung.exe", b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def pdf_with_javascript() -> bytes:
    """A valid PDF that runs JavaScript as soon as a reader opens it (/OpenAction /JS)."""
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.root_object[NameObject("/OpenAction")] = DictionaryObject({
        NameObject("/S"): NameObject("/JavaScript"),
        NameObject("/JS"): TextStringObject("app.launchURL('https://angreifer.example/', true);"),
    })
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def not_accepted(kind: str) -> Refused:
    return Refused("Es können nur PDF-, JPEG- oder PNG-Dateien angenommen werden. "
                   f"Diese Datei ist {kind}.")


PDF = "application/pdf"
PNG = "image/png"
EMPTY = Refused("Die Datei ist leer.")
WINDOWS_PROGRAM = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 500
LINUX_PROGRAM = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 500
WEB_PAGE = (b"<!DOCTYPE html><html><body><script>fetch('/konto/antraege')</script>"
            b"</body></html>")
LONG_STEM = ("Einkommensnachweis-Maerz-" * 20)[:496]
ACTIVE_CONTENT = Refused("Die PDF-Datei enthält eingebettete Dateien oder Skripte "
                         "(JavaScript) und kann nicht angenommen werden.")

HOSTILE_FILES = [
    # The EICAR file itself is text to the type check; inside a valid PDF only clamd finds it.
    pytest.param(Hostile(EICAR, "antrag.pdf", not_accepted("eine Textdatei")), id="eicar"),
    pytest.param(Hostile(pdf_with_content(EICAR, compress=True), "lohnabrechnung.pdf",
                         Refused("Die Datei enthält Schadsoftware (Eicar-Test-Signature")),
                 id="eicar-in-pdf"),
    # Extensions that lie, both ways.
    pytest.param(Hostile(WINDOWS_PROGRAM, "rechnung.pdf", not_accepted("ein Windows-Programm")),
                 id="exe-named-pdf"),
    pytest.param(Hostile(LINUX_PROGRAM, "bescheid.pdf", not_accepted("ein Programm")),
                 id="elf-named-pdf"),
    pytest.param(Hostile(WEB_PAGE, "kontoauszug.pdf", not_accepted("eine Webseite (HTML)")),
                 id="html-named-pdf"),
    pytest.param(Hostile(image_bytes("PNG"), "meldebescheinigung.pdf",
                         Neutralised("meldebescheinigung.png", PNG)), id="png-named-pdf"),
    pytest.param(Hostile(pdf_bytes(), "ausweis.jpg", Neutralised("ausweis.pdf", PDF)),
                 id="pdf-named-jpg"),
    # Active content in an otherwise valid PDF.
    pytest.param(Hostile(pdf_with_embedded_program(), "urkunde.pdf", ACTIVE_CONTENT),
                 id="pdf-with-embedded-exe"),
    pytest.param(Hostile(pdf_with_javascript(), "urkunde.pdf", ACTIVE_CONTENT),
                 id="pdf-with-javascript"),
    pytest.param(Hostile(bomb_png(), "foto.png", Refused(
        "Das Bild hat zu viele Bildpunkte. Bitte senden Sie es mit einer geringeren Auflösung.")),
        id="decompression-bomb-png"),
    pytest.param(Hostile(b"", "leer.txt", EMPTY), id="empty-file"),
    pytest.param(Hostile(b"", "antrag.pdf", EMPTY), id="zero-byte-pdf"),
    pytest.param(Hostile(pdf_bytes(pages=0), "antrag.pdf",
                         Refused("Die PDF-Datei enthält keine Seiten.")), id="pdf-without-pages"),
    # Names: only ever shown, never a path, never carrying control or direction characters.
    pytest.param(Hostile(pdf_bytes(), "../../etc/passwd.pdf", Neutralised("passwd.pdf", PDF)),
                 id="path-traversal-name"),
    pytest.param(Hostile(pdf_bytes(), "C:\\x\\y.pdf", Neutralised("y.pdf", PDF)),
                 id="windows-path-name"),
    pytest.param(Hostile(pdf_bytes(), "Lohn\x00ab\x1b[2Jrech\x07nung\x7f\u202efdp.pdf",
                         Neutralised("Lohnab[2Jrechnungfdp.pdf", PDF)),
                 id="control-characters-and-nul-in-name"),
    pytest.param(Hostile(pdf_bytes(), LONG_STEM + ".pdf",
                         Neutralised(LONG_STEM[:196] + ".pdf", PDF)), id="500-character-name"),
    # A refused file's name is shown back in some messages: escaped, without control characters.
    pytest.param(Hostile(WINDOWS_PROGRAM, "<b>beleg</b>\x00\x1b\u202efdp.exe",
                         not_accepted("ein Windows-Programm"), shown_as="<b>beleg</b>fdp.exe"),
                 id="hostile-name-on-refused-file"),
]


# --- what the browser sends and sees ----------------------------------------------------------


BOUNDARY = "----amtsweg-hostile"


def quoted(filename: str) -> str:
    # A quoted-string with quoted pairs (RFC 2045), so the app gets exactly the name given:
    # unescaped, "C:\x\y.pdf" would arrive as "C:xy.pdf" and prove nothing about paths.
    return filename.replace("\\", "\\\\").replace('"', '\\"')


def multipart(fields: Sequence[tuple[str, str]],
              files: Sequence[tuple[str, str, bytes]]) -> bytes:
    """Encode a form as a browser does, in memory (``files``: field name, file name, bytes)."""
    parts = [f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
             f"{value}\r\n".encode() for name, value in fields]
    for name, filename, content in files:
        parts.append(f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"; '
                     f'filename="{quoted(filename)}"\r\nContent-Type: application/octet-stream'
                     "\r\n\r\n".encode() + content + b"\r\n")
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


class FileForms(HTMLParser):
    """The values of each upload form on a page, as a browser would send them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[list[tuple[str, str]]] = []
        self._form: list[tuple[str, str]] | None = None
        self._has_file = False
        self._select: str | None = None
        self._options: list[tuple[str, bool]] = []
        self._textarea: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {key: value or "" for key, value in attrs}
        if tag == "form":
            self._form, self._has_file = [], False
        elif self._form is None:
            return
        elif tag == "input":
            kind, name = attr.get("type", "text"), attr.get("name", "")
            if kind == "file":
                self._has_file = True
            elif kind in {"checkbox", "radio"}:
                if "checked" in attr:
                    self._form.append((name, attr.get("value", "on")))
            elif kind not in {"submit", "button", "reset", "image"} and name:
                self._form.append((name, attr.get("value", "")))
        elif tag == "select":
            self._select, self._options = attr.get("name", ""), []
        elif tag == "option" and self._select is not None:
            self._options.append((attr.get("value", ""), "selected" in attr))
        elif tag == "textarea":
            self._textarea, self._text = attr.get("name", ""), []

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if self._form is None:
            return
        if tag == "select" and self._select is not None:
            chosen = [value for value, selected in self._options if selected]
            if chosen or self._options:
                self._form.append((self._select, (chosen or [self._options[0][0]])[0]))
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            text = "".join(self._text)
            # HTML drops one newline right after <textarea>.
            self._form.append((self._textarea, text.removeprefix("\r").removeprefix("\n")))
            self._textarea = None
        elif tag == "form":
            if self._has_file:
                self.forms.append(self._form)
            self._form = None


def upload_form(page: str) -> dict[str, str]:
    parser = FileForms()
    parser.feed(page)
    assert len(parser.forms) == 1, "expected exactly one upload form on the page"
    return dict(parser.forms[0])


# --- one entry point, ready to take files -------------------------------------------------------


@dataclass
class EntryPoint:
    app: Flask
    client: FlaskClient
    path: str
    file_field: str
    # What the person typed besides the file; a refusal must give it all back.
    typed: dict[str, str]
    # Rows that tie a stored document to what it came with.
    link: type[Any]
    refused_status: int
    several_files: bool
    extra: dict[str, str] = field(default_factory=dict)  # the clicked button, not kept
    draft_id: int | None = None
    s3_url: str | None = None


def post_files(entry: EntryPoint, files: Sequence[tuple[str, bytes]]) -> TestResponse:
    """Fill the form on the entry point's page as a person would and send it with ``files``."""
    values = upload_form(entry.client.get(entry.path).get_data(as_text=True))
    values.update(entry.typed)
    values.update(entry.extra)
    body = multipart(list(values.items()),
                     [(entry.file_field, name, content) for name, content in files])
    return entry.client.post(entry.path, data=body,
                             content_type=f"multipart/form-data; boundary={BOUNDARY}")


def blob_keys(entry: EntryPoint) -> set[str]:
    if entry.s3_url is not None:
        store = S3BlobStore.from_url(entry.s3_url)
        if not store.client.bucket_exists(store.bucket):  # made on the first upload
            return set()
        return {str(item.object_name)
                for item in store.client.list_objects(store.bucket, recursive=True)}
    root: Path = entry.app.config["AMTSWEG"].instance_path / "documents"
    found = {str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()}
    assert all(KEY_PATTERN.fullmatch(key) for key in found), found  # no temporary leftovers
    return found


COUNTED: tuple[type[Any], ...] = (Document, Submission, Eingang, SubmissionDocument,
                                  DraftDocument, EingangDocument, CaseDocument)


@dataclass(frozen=True)
class Snapshot:
    counts: dict[str, int]
    blobs: frozenset[str]
    last_document_id: int


def snapshot(entry: EntryPoint) -> Snapshot:
    with entry.app.app_context():
        row = db.session.execute(select(
            *(select(func.count()).select_from(model).scalar_subquery() for model in COUNTED),
            select(func.max(Document.id)).scalar_subquery())).one()
        keys = set(db.session.scalars(select(Document.storage_key)))
    counts = {model.__name__: int(value) for model, value in zip(COUNTED, row, strict=False)}
    last = int(row[-1] or 0)
    blobs = blob_keys(entry)
    # Blob and row never part company: no orphan blob, no row without its blob.
    assert blobs == keys, {"orphan blobs": blobs - keys, "rows without blob": keys - blobs}
    return Snapshot(counts, frozenset(blobs), last)


def draft_answers(entry: EntryPoint) -> dict[str, Any]:
    with entry.app.app_context():
        draft = db.session.get(Draft, entry.draft_id)
        assert draft is not None
        return dict(draft.answers)


def newly_linked(entry: EntryPoint, after_id: int) -> list[Document]:
    with entry.app.app_context():
        documents = list(db.session.scalars(
            select(Document).join(entry.link, entry.link.document_id == Document.id)
            .where(Document.id > after_id).order_by(Document.id)))
        db.session.expunge_all()
        return documents


# --- building each entry point on its own app ---------------------------------------------------


PORTAL_FILES = "attachments"
CLEAN_COMPANION = ("begleitschreiben.pdf", pdf_bytes())
CLERK = Actor(ActorKind.STAFF, None, "clearing-test")
SUBJECT = 'Unterhalt für Lea – "dringend" <bitte> & schnell'
TEXT = "Anbei der Nachweis.\nZeile zwei mit <b>Spitzen</b> & Umlauten: äöüß"


def make_citizen(email: str) -> Citizen:
    citizen = Citizen(email=email, password_hash=hash_password("richtig-langes-Passwort-1"),
                      email_verified_at=utcnow(), session_epoch=0)
    db.session.add(citizen)
    db.session.commit()
    db.session.refresh(citizen)
    db.session.expunge(citizen)
    return citizen


def make_staff(username: str, role: Role, fachbereiche: tuple[str, ...]) -> Staff:
    staff = Staff(username=username, full_name=f"Erika {username.title()}",
                  password_hash=hash_password("richtig-langes-Passwort-1"), active=True,
                  failed_logins=0, session_epoch=0)
    staff.role_rows = [StaffRole(role=role)]
    staff.fachbereiche = [found for code in fachbereiche
                          if (found := fachbereich_by_code(code)) is not None]
    db.session.add(staff)
    db.session.commit()
    db.session.refresh(staff)
    db.session.expunge(staff)
    return staff


def signed_in_citizen(app: Flask) -> tuple[FlaskClient, Citizen]:
    client = app.test_client()
    with app.app_context():
        citizen = make_citizen("maria@example.org")
    sign_in_citizen(client, citizen)
    return client, citizen


def first_submission(app: Flask, client: FlaskClient) -> Submission:
    """A general request with a clean file, sent through its page: the thing to follow up on."""
    entry = EntryPoint(app, client, "/anfrage", PORTAL_FILES,
                       {"topic": "leistung:beistandschaft", "subject": "Frage",
                        "message": "Meine Frage"},
                       SubmissionDocument, 200, True)
    response = post_files(entry, [CLEAN_COMPANION])
    assert response.status_code == 302, response.get_data(as_text=True)
    public_id = response.headers["Location"].split("/")[-2]
    with app.app_context():
        submission = db.session.scalar(select(Submission).where(
            Submission.public_id == public_id))
        assert submission is not None
        db.session.expunge(submission)
        return submission


def uvg_documents(app: Flask) -> EntryPoint:
    client, citizen = signed_in_citizen(app)
    wizard = Wizard(client, citizen)
    wizard.start(child_answers("Lea", 6))
    fill_all(wizard)
    with app.app_context():
        draft = wizard.draft()
        assert draft is not None
        draft_id = draft.id
    return EntryPoint(app, client, wizard.url("unterlagen"), "file_birth_certificate__k1",
                      {"later_maintenance_title": "y"}, DraftDocument, 200, False,
                      extra={"action": "upload"}, draft_id=draft_id)


def general_request(app: Flask) -> EntryPoint:
    client, _citizen = signed_in_citizen(app)
    return EntryPoint(app, client, "/anfrage", PORTAL_FILES,
                      {"topic": "leistung:beistandschaft", "subject": SUBJECT, "message": TEXT,
                       "phone": "09521 123456"}, SubmissionDocument, 200, True)


FOLLOW_UP_TYPED = {
    "nachreichen": {"note": TEXT},
    "nachricht": {"message": TEXT},
    "veraenderung": {"what_changed": "einkommen", "since": "01.03.2025", "description": TEXT},
    "widerspruch": {"decision": SUBJECT, "reason": TEXT},
}


def follow_up(action: str) -> Callable[[Flask], EntryPoint]:
    def build(app: Flask) -> EntryPoint:
        client, _citizen = signed_in_citizen(app)
        original = first_submission(app, client)
        return EntryPoint(app, client, f"/konto/antraege/{original.public_id}/{action}",
                          PORTAL_FILES, FOLLOW_UP_TYPED[action], SubmissionDocument, 200, True)

    return build


def postbox_answer(app: Flask) -> EntryPoint:
    client, _citizen = signed_in_citizen(app)
    original = first_submission(app, client)
    with app.app_context():
        eingang = db.session.get(Eingang, original.eingang_id)
        assert eingang is not None
        message = request_from_citizen(eingang, "Bitte Geburtsurkunde nachreichen",
                                       "Uns fehlt die Geburtsurkunde Ihres Kindes.", CLERK)
        db.session.commit()
        public_id = message.public_id
    return EntryPoint(app, client, f"/konto/postfach/{public_id}", PORTAL_FILES,
                      {"message": TEXT}, SubmissionDocument, 200, True)


def paper_intake(app: Flask) -> EntryPoint:
    client = app.test_client()
    with app.app_context():
        clerk = make_staff("clerk", Role.CLEARING, ())
    sign_in_staff(client, clerk)
    return EntryPoint(app, client, "/intern/clearing/papiereingang", "scan", {
        "letter_kind": "widerspruch", "service": "uvg", "sender_name": "Max <Mustermann>",
        "sender_address": "Weg 2\n97437 Haßfurt", "sender_email": "max@example.org",
        "received_on": "03.03.2025", "note": TEXT}, EingangDocument, 400, False)


def e_akte(app: Flask) -> EntryPoint:
    client = app.test_client()
    with app.app_context():
        caseworker = make_staff("sachb", Role.CASEWORKER, ("uvg",))
        fall = case_factory(app)(responsible=db.session.get_one(Staff, caseworker.id))
        fall_id = fall.id
    sign_in_staff(client, caseworker)
    return EntryPoint(app, client, f"/intern/faelle/{fall_id}/dokumente/neu", "file",
                      {"title": "Schreiben <der Mutter>", "kind": "Nachweis", "replaces": ""},
                      CaseDocument, 400, False)


# (name, builder, on the S3 server rather than the filesystem)
ENTRY_POINTS: list[tuple[str, Callable[[Flask], EntryPoint], bool]] = [
    ("uvg-documents", uvg_documents, False),
    ("general-request", general_request, True),
    ("nachreichen", follow_up("nachreichen"), False),
    ("nachricht", follow_up("nachricht"), False),
    ("veraenderung", follow_up("veraenderung"), False),
    ("widerspruch", follow_up("widerspruch"), False),
    ("postbox-answer", postbox_answer, False),
    ("paper-intake", paper_intake, False),
    ("e-akte", e_akte, True),
]


@pytest.fixture(scope="module")
def clamd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClamdProcess]:
    """A real clamd (as tests/storage/test_scanner.py starts it) for every app of this module."""
    process = start_clamd(tmp_path_factory.mktemp("clamd"))
    yield process
    process.stop()


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    server, endpoint = start_moto()
    yield endpoint
    server.stop()


@pytest.fixture(scope="module", params=ENTRY_POINTS, ids=[name for name, *_ in ENTRY_POINTS])
def entry(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
          postgres_schema: str | None, clamd: ClamdProcess) -> Iterator[EntryPoint]:
    name, build, on_s3 = request.param
    overrides: dict[str, Any] = {"clamav_url": clamd.unix_url}
    if on_s3:
        overrides["storage_url"] = s3_url_for(request.getfixturevalue("s3_endpoint"))
    settings = make_settings(tmp_path_factory.mktemp(name), postgres_schema, **overrides)
    app = create_app(settings)
    with app.app_context():
        if postgres_schema is None:
            db.create_all()
        seed_fachbereiche()
        db.session.commit()
    built = build(app)
    built.s3_url = overrides.get("storage_url")
    yield built
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    if postgres_schema is not None:
        _empty_all(postgres_schema)


# --- every place a file comes in is here ---------------------------------------------------------


PROJECT = Path(__file__).resolve().parent.parent
APP_PACKAGES = ("amtsweg", "portal", "clearing", "backoffice", "ihv", "reports")
FOLLOW_UPS = ["nachreichen", "nachricht", "veraenderung", "widerspruch"]
# Each module that hands a file to storage, and the entry points above that cover it.
UPLOADING_MODULES = {
    "portal/uvg/views.py": ["uvg-documents"],
    "portal/followups.py": ["general-request", *FOLLOW_UPS, "postbox-answer"],
    "clearing/views.py": ["paper-intake"],
    "backoffice/views.py": ["e-akte"],
    # Not an upload: the Rückgriff letters the office draws itself.
    "backoffice/uvg/recovery.py": [],
}
UPLOAD_FORMS = {
    "portal/uvg/documents.html": ["uvg-documents"],
    "portal/general_request.html": ["general-request"],
    "portal/_follow_up.html": FOLLOW_UPS,
    "portal/postbox_message.html": ["postbox-answer"],
    "clearing/paper.html": ["paper-intake"],
    "backoffice/upload.html": ["e-akte"],
}
HANDS_FILES_TO_STORAGE = re.compile(r"\b(?:store_upload|store_field_upload)\(|\brequest\.files\b")


def test_every_upload_in_the_code_is_an_entry_point_here() -> None:
    """A new upload form or a new caller of storage fails here until it gets its hostile files
    (the IHV imports are read from the transport directory by a command, not uploaded)."""
    modules = {str(path.relative_to(PROJECT)) for package in APP_PACKAGES
               for path in (PROJECT / package).rglob("*.py")
               if HANDS_FILES_TO_STORAGE.search(path.read_text(encoding="utf-8"))}
    templates = PROJECT / "templates"
    forms = {str(path.relative_to(templates)) for path in templates.rglob("*.html")
             if "multipart/form-data" in path.read_text(encoding="utf-8")}

    assert modules == set(UPLOADING_MODULES)
    assert forms == set(UPLOAD_FORMS)
    covered = [name for names in [*UPLOADING_MODULES.values(), *UPLOAD_FORMS.values()]
               for name in names]
    assert set(covered) == {name for name, *_ in ENTRY_POINTS}


# --- the proof ------------------------------------------------------------------------------


CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202e]")


@pytest.mark.parametrize("hostile", HOSTILE_FILES)
def test_a_hostile_file_is_refused_or_neutralised(entry: EntryPoint, hostile: Hostile) -> None:
    files = [(hostile.filename, hostile.content)]
    if entry.several_files:
        # A good file sent along must not stay behind when its companion is refused.
        files.insert(0, CLEAN_COMPANION)
    answers = draft_answers(entry) if entry.draft_id is not None else None
    before = snapshot(entry)

    response = post_files(entry, files)

    after = snapshot(entry)
    page = response.get_data(as_text=True)
    outcome = hostile.outcome
    if isinstance(outcome, Refused):
        assert response.status_code == entry.refused_status, page
        assert outcome.message in page
        if entry.several_files:
            label = hostile.shown_as or hostile.filename
            assert f"{escape(label)}: {outcome.message}" in page
        assert "<title>Fehler:" in page
        assert "Es gibt ein Problem" in page
        assert not CONTROL.search(page), "a control character reached the page"
        assert "<b>beleg" not in page
        kept = upload_form(page)
        assert {name: kept.get(name) for name in entry.typed} == entry.typed
        assert after == before
        if answers is not None:
            assert draft_answers(entry) == {**answers, "documents_later": ["maintenance_title"]}
        return
    assert response.status_code == 302, page
    stored = newly_linked(entry, before.last_document_id)
    expected = [CLEAN_COMPANION[0], outcome.filename] if entry.several_files else [
        outcome.filename]
    assert [document.filename for document in stored] == expected
    assert stored[-1].media_type == outcome.media_type
    assert stored[-1].size == len(hostile.content)
    assert len(after.blobs - before.blobs) == after.counts["Document"] - before.counts["Document"]
