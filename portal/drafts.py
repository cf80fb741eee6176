"""Every write to drafts: create, save after each page, attach and remove files, delete, expire.

A draft belongs to one citizen and is found only by its public id together with that citizen's
id, so a guessed or foreign id behaves exactly like an unknown one. Its files are documents in
storage; deleting a draft deletes them, submitting hands them over to the submission.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, current_app, render_template, url_for
from flask_babel import format_date
from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import joinedload

from amtsweg.audit.services import SYSTEM, Actor, record
from amtsweg.citizens.models import Citizen
from amtsweg.citizens.signals import citizen_deleted
from amtsweg.config import Settings
from amtsweg.db import utcnow
from amtsweg.extensions import commit_keeping_loaded, db
from amtsweg.mail import queue_mail
from amtsweg.translate import gettext as _
from portal.models import Draft, DraftDocument
from portal.services import new_public_id
from storage.models import Document
from storage.services import delete_document

OBJECT_TYPE = "draft"
# What new_public_id() makes (token_urlsafe); checked before any query, so a hostile id
# (a NUL byte, 10,000 characters) never reaches the database.
_PUBLIC_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")


def _settings() -> Settings:
    settings: Settings = current_app.config["AMTSWEG"]
    return settings


def _expiry(now: datetime) -> datetime:
    return now + timedelta(days=_settings().draft_retention_days)


def is_public_id(value: str) -> bool:
    """Has ``value`` the shape of a public id? Anything else is never looked up."""
    return bool(_PUBLIC_ID.fullmatch(value))


# Every page of an application loads its draft: one statement with its files (not a second
# one for them), built once with the values bound per call.
_OWN_DRAFT = (
    select(Draft).options(joinedload(Draft.documents))
    .where(Draft.public_id == bindparam("public_id"), Draft.citizen_id == bindparam("citizen_id"),
           Draft.service_code == bindparam("service_code"), Draft.expires_at > bindparam("now")))


def find_draft(public_id: str, citizen_id: int, service_code: str) -> Draft | None:
    """The citizen's own, unexpired draft with its files, or ``None`` for anything else."""
    if not is_public_id(public_id):
        return None
    found: Draft | None = db.session.execute(_OWN_DRAFT, {
        "public_id": public_id, "citizen_id": citizen_id, "service_code": service_code,
        "now": utcnow()}).unique().scalar_one_or_none()
    return found


def drafts_of(citizen_id: int) -> list[Draft]:
    """The citizen's unexpired drafts, newest change first (for "Meine Anträge")."""
    return list(db.session.scalars(
        select(Draft).where(Draft.citizen_id == citizen_id, Draft.expires_at > utcnow())
        .order_by(Draft.updated_at.desc(), Draft.id.desc())))


def create_draft(citizen: Citizen, service_code: str, answers: dict[str, Any], step: str,
                 actor: Actor) -> Draft:
    now = utcnow()
    draft = Draft(public_id=new_public_id(), citizen_id=citizen.id, service_code=service_code,
                  answers=copy.deepcopy(answers), last_step=step, created_at=now,
                  updated_at=now, expires_at=_expiry(now))
    db.session.add(draft)
    db.session.flush()
    # The step only: the answers are social data and stay in the draft itself.
    record(actor, "draft.created", OBJECT_TYPE, draft.id,
           after={"service_code": service_code, "step": step})
    db.session.commit()
    return draft


def save_answers(draft: Draft, answers: dict[str, Any], step: str, actor: Actor) -> None:
    """Store the answers after a page; every change moves the expiry date out again.

    ``answers`` is the caller's own changed copy of the draft's answers (its views and services
    take one with ``copy.deepcopy``), stored as it is: a new dict, so the JSON column sees the
    change (in-place edits are not tracked), and no second copy of a long application per page.
    """
    if answers is draft.answers:
        raise ValueError("save_answers needs a changed copy of the answers, not the draft's own")
    now = utcnow()
    draft.answers = answers
    draft.last_step = step
    draft.updated_at = now
    draft.expires_at = _expiry(now)
    draft.reminder_sent_at = None
    record(actor, "draft.saved", OBJECT_TYPE, draft.id, after={"step": step})
    # The page goes on to the next question from these answers: no reload of what was written.
    commit_keeping_loaded()


def attach_document(draft: Draft, document: Document, requirement: str, actor: Actor) -> None:
    """Add a stored upload to the draft (the caller stored it in this transaction).

    The caller commits, once for all files of a page together with the page's answers."""
    draft.documents.append(DraftDocument(document=document, requirement=requirement))
    now = utcnow()
    draft.updated_at = now
    draft.expires_at = _expiry(now)
    draft.reminder_sent_at = None
    # The document may not have its id yet: the entry reads it when it is written.
    record(actor, "draft.document_attached", OBJECT_TYPE, draft.id,
           after=lambda: {"document_id": document.id, "requirement": requirement})


def find_draft_document(draft: Draft, draft_document_id: int) -> DraftDocument | None:
    return next((item for item in draft.documents if item.id == draft_document_id), None)


def remove_document(draft: Draft, item: DraftDocument, actor: Actor) -> None:
    """Take a file off the draft and delete it from storage."""
    record(actor, "draft.document_removed", OBJECT_TYPE, draft.id,
           before={"document_id": item.document_id, "requirement": item.requirement})
    document = item.document
    draft.documents.remove(item)
    db.session.flush()
    delete_document(document, actor)
    draft.updated_at = utcnow()
    db.session.commit()


def _delete_with_files(draft: Draft, actor: Actor, action: str) -> None:
    documents = [item.document for item in draft.documents]
    record(actor, action, OBJECT_TYPE, draft.id,
           before={"service_code": draft.service_code, "documents": [d.id for d in documents]})
    db.session.delete(draft)
    db.session.flush()
    for document in documents:
        delete_document(document, actor)


def delete_draft(draft: Draft, actor: Actor) -> None:
    """Delete the draft and its files."""
    _delete_with_files(draft, actor, "draft.deleted")
    db.session.commit()


def discard_submitted_draft(draft: Draft, actor: Actor) -> bool:
    """Remove the draft's rows in the submitting transaction; the files now belong to the
    submission. Not committed here: ``portal.services.submit`` commits both together, so a
    failed submission leaves the draft as it was.

    False if the draft was gone already: a second request of a double click waits here for the
    first one's commit and then finds no row (nothing is recorded then)."""
    # A statement, not an ORM delete: the rows deleted tell whether this request takes the
    # draft. Its links to the files go with it (draft_documents.draft_id: ON DELETE CASCADE).
    taken = db.session.execute(delete(Draft).where(Draft.id == draft.id)
                               .execution_options(synchronize_session=False))
    db.session.expunge(draft)
    if getattr(taken, "rowcount", 0) != 1:
        return False
    record(actor, "draft.submitted", OBJECT_TYPE, draft.id,
           before={"documents": [item.document_id for item in draft.documents]})
    return True


# --- expiry -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExpiryReport:
    reminded: int
    deleted: int


def reminder_link() -> str:
    """The citizen's list of applications, not the draft itself: a link that names the
    benefit would tell anyone reading the mail what the citizen applies for."""
    base_url = _settings().base_url
    endpoint = ("portal.submissions" if "portal.submissions" in current_app.view_functions
                else "citizens.account")
    with current_app.test_request_context("/", base_url=base_url):
        return url_for(endpoint, _external=True)


def _remind(draft: Draft) -> bool:
    citizen = db.session.get(Citizen, draft.citizen_id)
    if citizen is None:
        return False
    # No answers and no name of the benefit in the mail: mail passes through many hands.
    body = render_template("mail/draft_reminder.txt", link=reminder_link(),
                           expires=format_date(draft.expires_at, "dd.MM.yyyy"),
                           office=_settings().office)
    queue_mail(citizen.email, _("Your unfinished application will be deleted soon"), body)
    draft.reminder_sent_at = utcnow()
    record(SYSTEM, "draft.reminder_sent", OBJECT_TYPE, draft.id,
           after={"expires_at": draft.expires_at})
    return True


def expire_drafts(now: datetime | None = None) -> ExpiryReport:
    """Remind once ``draft_reminder_days`` before the end; delete expired drafts with their files.

    Safe to run again and on several nodes at once: rows are taken with SKIP LOCKED (on
    PostgreSQL), a reminded draft is not reminded again, a deleted one is gone.
    """
    now = now or utcnow()
    settings = _settings()
    expired = db.session.scalars(select(Draft).where(Draft.expires_at <= now)
                                 .order_by(Draft.id).with_for_update(skip_locked=True)).all()
    for draft in expired:
        _delete_with_files(draft, SYSTEM, "draft.expired")
    db.session.commit()
    reminded = 0
    if settings.draft_reminder_days > 0:
        due = db.session.scalars(select(Draft).where(
            Draft.expires_at > now,
            Draft.expires_at <= now + timedelta(days=settings.draft_reminder_days),
            Draft.reminder_sent_at.is_(None)).order_by(Draft.id)
            .with_for_update(skip_locked=True)).all()
        reminded = sum(1 for draft in due if _remind(draft))
        db.session.commit()
    return ExpiryReport(reminded=reminded, deleted=len(expired))


# --- account deletion -------------------------------------------------------------------------


def _delete_drafts_of_deleted_citizen(sender: Flask, *, citizen_id: int, actor: Actor,
                                      **_extra: Any) -> None:
    # Inside the account's deleting transaction: no commit here (see citizens/signals.py).
    drafts = db.session.scalars(select(Draft).where(Draft.citizen_id == citizen_id)).all()
    for draft in drafts:
        _delete_with_files(draft, actor, "draft.deleted")


citizen_deleted.connect(_delete_drafts_of_deleted_citizen)
