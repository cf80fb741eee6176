"""Services for what a citizen sends besides an application: a general request, follow-ups on
a submission, and answers to the office's requests. Each ends in ``portal.services.submit``,
the one path into the clearing queue, which commits.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select, update
from werkzeug.datastructures import FileStorage

from amtsweg.audit.services import Actor, record
from amtsweg.citizens.models import Citizen
from amtsweg.citizens.signals import citizen_deleted
from amtsweg.extensions import db
from amtsweg.fachbereiche import DEFAULT_FACHBEREICHE
from amtsweg.postbox.models import PostboxMessage
from amtsweg.postbox.services import delete_messages_of
from amtsweg.sessions import citizen_actor
from amtsweg.translate import gettext as _
from clearing.models import Eingang, EingangKind
from clearing.services import detach_citizen, mark_answered
from portal.catalogue import get_leistung
from portal.forms import CHANGE_KINDS, FACHBEREICH_PREFIX, LEISTUNG_PREFIX
from portal.models import Submission
from portal.receipt import SummarySection
from portal.services import AttachedDocument, find_by_idempotency_key, submit
from storage.blobstore import StorageUnavailable
from storage.checks import RejectedUpload
from storage.forms import STORAGE_UNAVAILABLE
from storage.services import store_upload

ATTACHMENT_REQUIREMENT = "attachment"


class RefusedFiles(Exception):
    """At least one file was refused; nothing was sent. ``reasons`` name each file."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = reasons


@dataclass(frozen=True)
class Outgoing:
    """What the citizen typed, ready for the queue and the receipt."""

    kind: EingangKind
    title: str
    message: str
    answers: dict[str, Any]
    rows: Sequence[tuple[str, str]]
    service_code: str | None = None


def scoped_key(citizen: Citizen, form_key: str) -> str:
    # The key a form carried is only unique per citizen: a key seen by one account can never
    # fetch another account's submission.
    return f"c{citizen.id}-{form_key}"


def sender_name(citizen: Citizen) -> str:
    return citizen.display_name or citizen.email


def store_attachments(files: Sequence[FileStorage], owner: Actor) -> list[AttachedDocument]:
    """Check and store every file; raise :class:`RefusedFiles` naming each refused one.

    The caller rolls back on refusal, which deletes the blobs of the files already stored.
    """
    documents: list[AttachedDocument] = []
    reasons: list[str] = []
    for upload in files:
        try:
            document = store_upload(upload.stream, upload.filename, owner)
        except RejectedUpload as refusal:
            # The name is shown back escaped by the template; it never becomes a path.
            reasons.append(_("%(name)s: %(reason)s", name=shown_name(upload.filename),
                             reason=str(refusal.message)))
            continue
        except StorageUnavailable:
            # Nothing of this file was stored; the form comes back with every other input.
            reasons.append(_("%(name)s: %(reason)s", name=shown_name(upload.filename),
                             reason=str(STORAGE_UNAVAILABLE)))
            continue
        documents.append(AttachedDocument(document, ATTACHMENT_REQUIREMENT, document.filename))
    if reasons:
        db.session.rollback()
        raise RefusedFiles(reasons)
    return documents


def shown_name(filename: str | None) -> str:
    """The name of a refused file as it can be shown: without control characters (NUL, ESC)
    and without direction overrides, which would turn the reason after the name around."""
    name = "".join(ch for ch in filename or ""
                   if unicodedata.category(ch) not in {"Cc", "Cf", "Zl", "Zp"})
    return name[:100]


def already_sent(citizen: Citizen, form_key: str) -> Submission | None:
    return find_by_idempotency_key(scoped_key(citizen, form_key))


# --- what each form sends ----------------------------------------------------------------------


def _topic(topic: str) -> tuple[str | None, str | None, str]:
    """(service code, Fachbereich code, label) for a topic chosen on the request form."""
    if topic.startswith(LEISTUNG_PREFIX):
        found = get_leistung(topic.removeprefix(LEISTUNG_PREFIX))
        if found is not None:
            return found.code, found.fachbereich_code, str(found.title)
    if topic.startswith(FACHBEREICH_PREFIX):
        code = topic.removeprefix(FACHBEREICH_PREFIX)
        names = {seed.code: seed.name for seed in DEFAULT_FACHBEREICHE}
        if code in names:
            return None, code, names[code]
    return None, None, _("I don't know")


def general_request(topic: str, subject: str, message: str, phone: str) -> Outgoing:
    service_code, fachbereich_code, topic_label = _topic(topic)
    title = _("Request: %(subject)s", subject=subject)
    return Outgoing(
        kind=EingangKind.NACHRICHT, title=title, message=message, service_code=service_code,
        # The Fachbereich the citizen named is a hint for the clearing office, not a routing.
        answers={"topic": topic, "fachbereich_hint": fachbereich_code, "subject": subject,
                 "message": message, "phone": phone},
        rows=[(_("Topic"), topic_label), (_("Subject"), subject), (_("Message"), message),
              (_("Phone number for questions"), phone or "–")])


def _nachreichung(original: Submission, values: dict[str, Any]) -> Outgoing:
    note = values.get("note") or ""
    return Outgoing(kind=EingangKind.NACHREICHUNG, message=note, answers={"note": note},
                    title=_("Documents for: %(title)s", title=original.title),
                    rows=[(_("Note"), note or "–")], service_code=original.service_code)


def _nachricht(original: Submission, values: dict[str, Any]) -> Outgoing:
    text = values.get("message") or ""
    return Outgoing(kind=EingangKind.NACHRICHT, message=text, answers={"message": text},
                    title=_("Message on: %(title)s", title=original.title),
                    rows=[(_("Message"), text)], service_code=original.service_code)


def _veraenderung(original: Submission, values: dict[str, Any]) -> Outgoing:
    kind = str(values.get("what_changed") or "")
    since: date = values["since"]
    description = values.get("description") or ""
    label = str(dict(CHANGE_KINDS).get(kind, kind))
    return Outgoing(
        kind=EingangKind.VERAENDERUNG, message=description,
        answers={"what_changed": kind, "since": since.isoformat(), "description": description},
        title=_("Change reported for: %(title)s", title=original.title),
        rows=[(_("What has changed?"), label), (_("Since when?"), since.strftime("%d.%m.%Y")),
              (_("Describe the change"), description)], service_code=original.service_code)


def _widerspruch(original: Submission, values: dict[str, Any]) -> Outgoing:
    decision = values.get("decision") or ""
    reason = values.get("reason") or ""
    return Outgoing(
        kind=EingangKind.WIDERSPRUCH, message=reason,
        answers={"decision": decision, "reason": reason},
        title=_("Widerspruch against: %(decision)s", decision=decision),
        rows=[(_("Which decision do you object to?"), decision),
              (_("Why do you object?"), reason)], service_code=original.service_code)


_FOLLOW_UPS: dict[str, Callable[[Submission, dict[str, Any]], Outgoing]] = {
    "nachreichen": _nachreichung, "nachricht": _nachricht, "veraenderung": _veraenderung,
    "widerspruch": _widerspruch,
}


def follow_up_outgoing(action: str, original: Submission, values: dict[str, Any]) -> Outgoing:
    return _FOLLOW_UPS[action](original, values)


def send(citizen: Citizen, form_key: str, outgoing: Outgoing, files: Sequence[FileStorage],
         *, parent: Submission | None = None,
         postbox_message: PostboxMessage | None = None) -> Submission:
    """Store the files and submit; a key seen before returns its submission unchanged."""
    key = scoped_key(citizen, form_key)
    existing = find_by_idempotency_key(key)
    if existing is not None:
        return existing
    documents = store_attachments(files, citizen_actor(citizen))
    return submit(citizen=citizen, kind=outgoing.kind, title=outgoing.title,
                  idempotency_key=key, sender_name=sender_name(citizen),
                  service_code=outgoing.service_code, answers=outgoing.answers,
                  summary=[SummarySection(outgoing.title, outgoing.rows)],
                  documents=documents, message=outgoing.message, parent=parent,
                  postbox_message=postbox_message)


def send_follow_up(citizen: Citizen, original: Submission, form_key: str, outgoing: Outgoing,
                   files: Sequence[FileStorage]) -> Submission:
    """A follow-up on a submission: its own queue item, linked to the original's."""
    return send(citizen, form_key, outgoing, files, parent=original)


def answer_request(citizen: Citizen, message: PostboxMessage, form_key: str, text: str,
                   files: Sequence[FileStorage]) -> Submission:
    """The citizen's answer to a request: back to the queue, the asking item marked answered."""
    existing = find_by_idempotency_key(scoped_key(citizen, form_key))
    if existing is not None:
        return existing
    asking = db.session.get(Eingang, message.eingang_id) if message.eingang_id else None
    if asking is not None:
        # In the same transaction as the answer, which submit() commits.
        mark_answered(asking, citizen_actor(citizen))
    original = _submission_of(citizen, asking)
    title = _("Answer: %(subject)s", subject=message.subject)
    outgoing = Outgoing(kind=EingangKind.ANTWORT, title=title, message=text,
                        answers={"message": text, "request": message.public_id},
                        rows=[(_("Your answer"), text)],
                        service_code=original.service_code if original else None)
    return send(citizen, form_key, outgoing, files, parent=original, postbox_message=message)


def _submission_of(citizen: Citizen, eingang: Eingang | None) -> Submission | None:
    if eingang is None:
        return None
    submission = db.session.scalar(select(Submission).where(
        Submission.eingang_id == eingang.id, Submission.citizen_id == citizen.id))
    if submission is None:
        return None
    return submission.parent or submission


# --- account deletion ---------------------------------------------------------------------------


def forget_citizen(_sender: object, *, citizen_id: int, actor: Actor, **_extra: Any) -> None:
    """When an account is deleted, its postbox goes with it and its submissions stay.

    Submissions are the office's record of what arrived (kept under the retention rules), so
    they lose only the link to the account and to the postbox messages that are deleted now.
    The caller commits.
    """
    result = db.session.execute(
        update(Submission).where(Submission.citizen_id == citizen_id)
        .values(citizen_id=None, postbox_message_id=None)
        .execution_options(synchronize_session=False))
    detached = int(getattr(result, "rowcount", 0) or 0)
    if detached:
        record(actor, "submission.detached_from_account", "citizen", citizen_id,
               after={"submissions": detached})
    delete_messages_of(citizen_id, actor)
    detach_citizen(citizen_id, actor)


citizen_deleted.connect(forget_citizen)
