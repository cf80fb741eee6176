"""Every write of the citizen side that reaches the office: one submission, one queue item."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from flask import Response, current_app, render_template
from flask_babel import force_locale, get_locale
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from amtsweg.audit.services import SYSTEM, record
from amtsweg.citizens.models import Citizen
from amtsweg.config import Settings
from amtsweg.db import utcnow
from amtsweg.extensions import commit_keeping_loaded, db
from amtsweg.mail import queue_mail
from amtsweg.postbox.models import PostboxMessage
from amtsweg.sessions import citizen_actor
from amtsweg.translate import gettext as _
from clearing.models import Eingang, EingangKind
from clearing.services import Sender, create_eingang
from portal.models import Submission, SubmissionDocument
from portal.receipt import ReceiptDocument, SummarySection, render_receipt
from portal.references import make_reference
from storage.models import Document
from storage.services import document_response, store_generated


@dataclass(frozen=True)
class Party:
    """A person named in a submission, in the roles cases know (see backoffice parties)."""

    role: str  # "child", "applicant", "other_parent", "legal_representative", "sender"
    first_name: str
    last_name: str
    birth_date: str | None = None  # ISO date
    address: str | None = None


def queue_payload(answers: dict[str, Any], summary: Sequence[SummarySection],
                  parties: Sequence[Party]) -> dict[str, Any]:
    return {
        "answers": answers,
        "summary": [{"title": str(section.title),
                     "rows": [[str(label), str(value)] for label, value in section.rows]}
                    for section in summary],
        "parties": [asdict(party) for party in parties],
        # The language the citizen wrote in: the summary's labels are in it, so is the receipt.
        "locale": str(get_locale() or "de"),
    }


@dataclass(frozen=True)
class AttachedDocument:
    document: Document
    requirement: str
    label: str


def new_public_id() -> str:
    return secrets.token_urlsafe(18)


def _settings() -> Settings:
    settings: Settings = current_app.config["AMTSWEG"]
    return settings


def find_by_idempotency_key(key: str) -> Submission | None:
    return db.session.scalar(select(Submission).where(Submission.idempotency_key == key))


def submit(
    *,
    citizen: Citizen,
    kind: EingangKind,
    title: str,
    idempotency_key: str,
    sender_name: str,
    service_code: str | None = None,
    answers: dict[str, Any] | None = None,
    summary: Sequence[SummarySection] = (),
    documents: Sequence[AttachedDocument] = (),
    message: str = "",
    parent: Submission | None = None,
    postbox_message: PostboxMessage | None = None,
    parties: Sequence[Party] = (),
) -> Submission:
    """Freeze what the citizen sent, put it into the clearing queue and queue the confirmation
    mail — all in one transaction, which this function commits. The receipt PDF is drawn from
    what is frozen here the first time it is asked for (:func:`receipt_document`).

    The same ``idempotency_key`` (a draft's id, or the one-time key a form carried) always
    yields the same single submission: a double click or a replayed POST creates nothing new.
    The unique key decides, not a lookup first: a replay is rare; its insert fails (at the
    flush on SQLite, at the commit on PostgreSQL) and takes the transaction with it.

    The queue item's payload keeps the raw ``answers``, the ``summary`` exactly as the citizen
    checked it (what clerks read in triage), and the ``parties`` named in it (so clearing can
    match existing cases and open a new one without knowing each form's questions).
    """
    actor = citizen_actor(citizen)
    related = parent.eingang if parent is not None else None
    if postbox_message is not None and postbox_message.eingang_id is not None:
        related = db.session.get(Eingang, postbox_message.eingang_id)
    submitted_at = utcnow()
    submission_id = _reserved_submission_id()
    reference = (make_reference(submitted_at.year, submission_id)
                 if submission_id is not None else None)
    eingang = create_eingang(
        kind=kind, subject=title, actor=actor, service_code=service_code,
        payload=queue_payload(answers or {}, summary, parties),
        message=message, related=related, reference=reference,
        sender=Sender(name=sender_name, email=citizen.email, citizen_id=citizen.id),
        documents=[(item.document, item.label) for item in documents],
    )
    submission = Submission(
        id=submission_id, public_id=new_public_id(),
        reference=reference or f"pending-{new_public_id()}",
        citizen_id=citizen.id, service_code=service_code, kind=kind, title=title[:200],
        answers=answers or {}, submitted_at=submitted_at, eingang=eingang,
        parent_id=parent.id if parent else None,
        postbox_message_id=postbox_message.id if postbox_message else None,
        idempotency_key=idempotency_key,
    )
    submission.documents = [SubmissionDocument(document=item.document,
                                               requirement=item.requirement, label=item.label)
                            for item in documents]
    db.session.add(submission)
    try:
        if reference is None:
            # The reference is made from the id the insert gives: a flush first.
            db.session.flush()
            submission.reference = make_reference(submitted_at.year, submission.id)
            eingang.reference = submission.reference
        if postbox_message is not None:
            postbox_message.replied_at = utcnow()
        record(actor, "submission.submitted", "submission", submission,
               after=lambda: {"reference": submission.reference, "kind": kind,
                              "service_code": service_code, "eingang_id": eingang.id,
                              "documents": [d.document.id for d in documents]})
        _queue_confirmation(citizen, submission)
        # The confirmation page's address comes from the submission just written: no reload.
        commit_keeping_loaded()
    except IntegrityError:
        # A replay, or two requests raced with the same key: the first submission stands.
        db.session.rollback()
        winner = find_by_idempotency_key(idempotency_key)
        if winner is None:
            raise
        return winner
    return submission


def _reserved_submission_id() -> int | None:
    """The new submission's id before its insert, where the database hands ids out ahead.

    On PostgreSQL the id comes from the table's sequence, so the reference made from it is
    known at once: the queue item and the submission are inserted with it and every row of a
    submission is written once, in the one flush of the commit. Both tables index the
    reference, so setting it by an UPDATE after the insert rewrote each row and every one of
    its indexes. SQLite has no sequence: there the insert gives the id (``None`` here).
    """
    if db.session.get_bind().dialect.name != "postgresql":
        return None
    next_id: int = db.session.execute(_NEXT_SUBMISSION_ID).scalar_one()
    return next_id


_NEXT_SUBMISSION_ID = select(func.nextval(func.pg_get_serial_sequence("submissions", "id")))


def receipt_document(submission: Submission) -> Document:
    """The submission's receipt (Eingangsbestätigung), drawn and stored the first time it is
    asked for: by the citizen's download, or when the item is filed in a case's E-Akte.

    It is drawn only from what the submission froze — the summary the citizen checked (kept in
    its queue item), its documents with their SHA-256, the time of receipt — in the language
    the citizen submitted in, so it reads the same whenever it is drawn. Drawing it inside the
    submission was a tenth of the work of a UVG application's two last requests, for a file
    many citizens never open. The caller commits.
    """
    if submission.receipt_document_id is None:
        _file_receipt(submission)
    return db.session.get_one(Document, submission.receipt_document_id)


def receipt_response(submission: Submission) -> Response:
    """The receipt download of both confirmation pages (the portal's and the UVG form's)."""
    document = receipt_document(submission)
    # Drawn and stored on the first download; a commit with nothing to write after that.
    commit_keeping_loaded()
    return document_response(document)


def receipt_document_id_of_eingang(eingang_id: int) -> int | None:
    """The receipt of the submission behind a queue item (drawn now if need be); None for
    paper mail, which has no submission."""
    submission = db.session.scalar(select(Submission).where(Submission.eingang_id == eingang_id))
    return receipt_document(submission).id if submission is not None else None


def _file_receipt(submission: Submission) -> None:
    payload = submission.eingang.payload
    summary = [SummarySection(section["title"], [(row[0], row[1]) for row in section["rows"]])
               for section in payload.get("summary") or []]
    documents = [ReceiptDocument(item.label, item.document) for item in submission.documents]
    savepoint = db.session.begin_nested()
    try:
        with force_locale(payload.get("locale") or "de"):
            pdf = render_receipt(_settings().office, submission, summary, documents)
            document = store_generated(
                pdf, f"Eingangsbestaetigung-{submission.reference}.pdf", "application/pdf", SYSTEM)
        # Two first downloads at once each draw one; the first to set the column wins.
        filed: Any = db.session.execute(
            update(Submission).where(Submission.id == submission.id,
                                     Submission.receipt_document_id.is_(None))
            .values(receipt_document_id=document.id)
            .execution_options(synchronize_session=False))
    except BaseException:
        savepoint.rollback()
        raise
    if filed.rowcount != 1:
        savepoint.rollback()  # takes this drawing's row and blob; the other one stands
        db.session.refresh(submission, ["receipt_document_id"])
        return
    record(SYSTEM, "submission.receipt_filed", "submission", submission.id,
           after={"document_id": document.id})
    savepoint.commit()
    set_committed_value(submission, "receipt_document_id", document.id)


def _queue_confirmation(citizen: Citizen, submission: Submission) -> None:
    # Only the reference and a link: a mail may pass through many hands (no social data).
    settings = _settings()
    body = render_template("mail/submission_received.txt", reference=submission.reference,
                           link=f"{settings.base_url}/konto/antraege/{submission.public_id}",
                           office=settings.office)
    queue_mail(citizen.email, _("Your submission %(reference)s has arrived",
                                reference=submission.reference), body)
