"""The one path from the portal into the office: submit() freezes and queues; the receipt is
drawn from what it froze when it is first asked for."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from flask import Flask
from flask_babel import force_locale
from pypdf import PdfReader
from sqlalchemy import event, func, select, update
from sqlalchemy.orm import Session

import amtsweg.postbox.models  # noqa: F401  (tables for create_all)
import portal.models  # noqa: F401
from amtsweg.audit.models import AuditEntry
from amtsweg.db import utcnow
from amtsweg.extensions import db
from amtsweg.mail_models import OutboundMail
from clearing.models import Eingang, EingangKind, EingangStatus
from portal.models import Submission
from portal.receipt import SummarySection
from portal.references import is_valid_reference, make_reference
from portal.services import receipt_document, submit
from storage.blobstore import get_blobstore
from storage.models import Document
from storage.services import open_document


def test_reference_numbers_carry_a_check_digit() -> None:
    reference = make_reference(2026, 123)
    assert reference.startswith("AW-2026-0000123-")
    assert is_valid_reference(reference)
    wrong = reference[:-1] + str((int(reference[-1]) + 1) % 10)
    assert not is_valid_reference(wrong)
    swapped = "AW-2026-0000132-" + reference[-1]
    assert not is_valid_reference(swapped)
    assert not is_valid_reference("AW-26-1-1")


@pytest.mark.usefixtures("app_ctx")
def test_submit_queues_one_item_with_receipt_and_mail(app: Flask, create_citizen) -> None:
    citizen = db.session.merge(create_citizen())
    sections = [SummarySection("Ihr Kind", [("Vorname", "Lea <b>"), ("Geburtsdatum", "1.2.2019")])]
    title = "Antrag auf Unterhaltsvorschuss"
    first = submit(citizen=citizen, kind=EingangKind.NEUANTRAG, title=title,
                   idempotency_key="draft-abc", sender_name="Maria Muster", service_code="uvg",
                   answers={"child": "Lea"}, summary=sections)
    again = submit(citizen=citizen, kind=EingangKind.NEUANTRAG, title=title,
                   idempotency_key="draft-abc", sender_name="Maria Muster", service_code="uvg")
    assert again.id == first.id
    assert db.session.scalar(select(func.count(Submission.id))) == 1
    eingang = db.session.scalar(select(Eingang))
    assert eingang is not None
    assert (eingang.status, eingang.kind, eingang.reference) == (
        EingangStatus.NEW, EingangKind.NEUANTRAG, first.reference)
    assert is_valid_reference(first.reference)
    with open_document(_receipt(first)) as stream:
        text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(stream.read())).pages)
    assert first.reference in text
    assert "Lea <b>" in text
    mails = db.session.scalars(select(OutboundMail)).all()
    assert len(mails) == 1
    assert first.reference in mails[0].subject


@pytest.mark.usefixtures("app_ctx")
def test_the_reference_is_made_from_the_submissions_id_on_both_databases(create_citizen) -> None:
    citizen = db.session.merge(create_citizen())
    submissions = [submit(citizen=citizen, kind=EingangKind.NACHRICHT, title="Frage",
                          idempotency_key=f"key-{number}", sender_name="Maria Muster")
                   for number in range(3)]
    for submission in submissions:
        assert submission.reference == make_reference(submission.submitted_at.year,
                                                      submission.id)
        assert submission.eingang is not None
        assert submission.eingang.reference == submission.reference
    assert len({submission.id for submission in submissions}) == 3


@pytest.mark.usefixtures("app_ctx")
def test_on_postgresql_each_row_of_a_submission_is_written_once(create_citizen) -> None:
    if db.engine.dialect.name != "postgresql":
        pytest.skip("only PostgreSQL hands out the id before the insert")
    citizen = db.session.merge(create_citizen())
    statements: list[str] = []

    def remember(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", remember)
    try:
        submit(citizen=citizen, kind=EingangKind.NACHRICHT, title="Frage",
               idempotency_key="once", sender_name="Maria Muster")
    finally:
        event.remove(db.engine, "before_cursor_execute", remember)
    written = [statement.split("(")[0].split(" SET")[0].strip() for statement in statements
               if statement.startswith(("INSERT INTO eingaenge", "INSERT INTO submissions ",
                                        "UPDATE eingaenge", "UPDATE submissions"))]
    # Inserted with the reference: no second write of either row (both index the reference).
    assert written == ["INSERT INTO eingaenge", "INSERT INTO submissions"]


def _receipt(submission: Submission) -> Document:
    document = receipt_document(submission)
    db.session.commit()
    return document


@pytest.mark.usefixtures("app_ctx")
def test_the_receipt_is_drawn_once_in_the_language_of_the_submission(create_citizen) -> None:
    citizen = db.session.merge(create_citizen())
    with force_locale("en"):
        submission = submit(citizen=citizen, kind=EingangKind.NACHRICHT, title="Question",
                            idempotency_key="in-english", sender_name="Maria Muster",
                            summary=[SummarySection("Your message", [("Subject", "Hello")])])
    assert submission.receipt_document_id is None
    assert db.session.scalar(select(func.count(Document.id))) == 0

    with force_locale("de"):  # downloaded, or filed in a case, by someone reading German
        receipt = _receipt(submission)
    with open_document(receipt) as stream:
        reader = PdfReader(io.BytesIO(stream.read()))
    text = " ".join(page.extract_text() for page in reader.pages)
    assert "Receipt of your submission" in text
    assert "Your message" in text
    assert reader.root_object.get("/Lang") == "en"

    db.session.expire_all()
    again = receipt_document(db.session.get_one(Submission, submission.id))
    assert again.id == receipt.id
    assert db.session.scalar(select(func.count(Document.id))) == 1
    actions = db.session.scalars(select(AuditEntry.action).where(
        AuditEntry.action == "submission.receipt_filed")).all()
    assert actions == ["submission.receipt_filed"]


@pytest.mark.usefixtures("app_ctx")
def test_a_receipt_filed_meanwhile_by_another_request_stands(create_citizen) -> None:
    citizen = db.session.merge(create_citizen())
    submission = submit(citizen=citizen, kind=EingangKind.NACHRICHT, title="Frage",
                        idempotency_key="two-downloads", sender_name="Maria Muster")
    assert submission.receipt_document_id is None
    # Another request draws and commits its receipt while this one still holds the old row.
    with Session(db.engine) as other:
        theirs = Document(filename="Eingangsbestaetigung.pdf", media_type="application/pdf",
                          size=1, sha256="0" * 64, storage_key="other", owner_kind="system")
        other.add(theirs)
        other.flush()
        other.execute(update(Submission).where(Submission.id == submission.id)
                      .values(receipt_document_id=theirs.id))
        other.commit()
        theirs_id = theirs.id
    found = receipt_document(submission)
    db.session.commit()

    assert found.id == theirs_id
    assert submission.receipt_document_id == theirs_id
    # This request's drawing went with its savepoint: no second row, no entry naming it.
    assert db.session.scalar(select(func.count(Document.id))) == 1
    assert db.session.scalar(select(func.count(AuditEntry.id)).where(
        AuditEntry.action == "submission.receipt_filed")) == 0
    assert list(get_blobstore().keys_written_before(utcnow() + timedelta(days=1))) == []


@pytest.mark.usefixtures("app_ctx")
def test_the_receipt_keeps_every_character_of_long_and_hostile_answers(create_citizen) -> None:
    # An answer without a single space is cut between characters to fit its column; markup and
    # PDF syntax in an answer are text, nothing else.
    citizen = db.session.merge(create_citizen())
    unbroken = "Z" * 2_500
    hostile = "(</para>) \\ %%EOF <font color=red>x</font>"
    rows = [(f"Frage {number}", f"Antwort {number}") for number in range(120)]
    sections = [SummarySection("Lange Antworten", [("Ohne Leerzeichen", unbroken),
                                                   ("Mit Auszeichnung", hostile)]),
                SummarySection("Viele Fragen", rows)]
    submission = submit(citizen=citizen, kind=EingangKind.NACHRICHT, title="Lang",
                        idempotency_key="long-answers", sender_name="Maria Muster",
                        summary=sections)
    with open_document(_receipt(submission)) as stream:
        reader = PdfReader(io.BytesIO(stream.read()))
        text = "".join(page.extract_text() for page in reader.pages)
    squeezed = "".join(text.split())
    assert unbroken in squeezed
    assert "".join(hostile.split()) in squeezed
    assert "Antwort119" in squeezed
    assert len(reader.pages) >= 3
    # Written in the citizen's language, and marked so for screen readers.
    assert reader.root_object.get("/Lang") == "de"
    # Each page says which of how many it is, so a missing page shows.
    total = len(reader.pages)
    for number, page in enumerate(reader.pages, start=1):
        footer = " ".join(page.extract_text().split())
        assert f"Seite {number} von {total}" in footer, footer[-120:]
