"""Where a submission stands, in plain words, and its timeline for "Meine Anträge".

The citizen sees the queue's states in everyday German; clerks' names and internal notes never
appear. Status changes are read from the intake item's audit entries (every change there records
its new ``status``), so the timeline needs no history table of its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, select

from amtsweg.audit.models import AuditEntry
from amtsweg.clock import berlin_today
from amtsweg.extensions import db
from amtsweg.postbox.models import PostboxKind, PostboxMessage
from amtsweg.postbox.services import messages_about
from amtsweg.translate import gettext as _
from amtsweg.translate import lazy_gettext as _l
from backoffice.decisions.models import Decision, DecisionStatus
from backoffice.models import Fall
from clearing.models import Eingang, EingangKind, EingangStatus, RejectionReason
from portal.models import Submission


@dataclass(frozen=True)
class StatusWord:
    label: Any
    explanation: Any
    badge: str  # KERN badge variant: info, warning, success, danger


STATUS_WORDS: dict[EingangStatus, StatusWord] = {
    EingangStatus.NEW: StatusWord(
        _l("received"), _l("Your submission has arrived and waits to be checked."), "info"),
    EingangStatus.IN_TRIAGE: StatusWord(
        _l("being checked"), _l("An employee is checking your submission."), "info"),
    EingangStatus.WAITING_FOR_CITIZEN: StatusWord(
        _l("documents requested"),
        _l("We need something from you. Please look in your postbox."), "warning"),
    EingangStatus.ROUTED: StatusWord(
        _l("being processed"),
        _l("The responsible department is working on your submission."), "success"),
    EingangStatus.REJECTED: StatusWord(
        _l("closed / rejected"),
        _l("We could not process your submission. Please read our letter in your postbox."),
        "danger"),
}

KIND_WORDS: dict[EingangKind, Any] = {
    EingangKind.NEUANTRAG: _l("Application"),
    EingangKind.NACHREICHUNG: _l("Documents sent later"),
    EingangKind.VERAENDERUNG: _l("Change reported (Veränderungsmitteilung)"),
    EingangKind.WIDERSPRUCH: _l("Widerspruch"),
    EingangKind.NACHRICHT: _l("Message"),
    EingangKind.ANTWORT: _l("Answer to our request"),
    EingangKind.PAPIEREINGANG: _l("Letter"),
}


# The last of the plain status words (eingegangen … entschieden). The queue knows nothing of
# it: a routed item is decided once its case has issued a Bescheid to this citizen.
DECIDED = StatusWord(
    _l("decided"),
    _l("We have decided. The Bescheid is in your postbox; it says how you can object."),
    "success")

# What the office answers with a Bescheid; a message or documents sent later are not decided.
_DECIDED_BY_BESCHEID = frozenset({EingangKind.NEUANTRAG, EingangKind.VERAENDERUNG,
                                  EingangKind.WIDERSPRUCH})


def status_word(status: EingangStatus) -> StatusWord:
    return STATUS_WORDS[status]


def _sent_to(citizen_id: int, fall_ids: list[int]) -> tuple[ColumnElement[bool], ...]:
    """Issued Bescheide of these cases delivered to this citizen's postbox (the decision and
    its message joined): never one addressed to anybody else."""
    return (PostboxMessage.id == Decision.postbox_message_id,
            Decision.fall_id.in_(fall_ids), Decision.status == DecisionStatus.ISSUED,
            PostboxMessage.citizen_id == citizen_id)


def _decidable(item: Submission) -> bool:
    return (item.kind in _DECIDED_BY_BESCHEID and item.eingang.status is EingangStatus.ROUTED
            and item.eingang.fall_id is not None)


def bescheide_since(original: Submission, citizen_id: int) -> list[PostboxMessage]:
    """The Bescheide the case of ``original`` sent this citizen since it arrived, oldest first.
    A Bescheid is addressed to the case, not to an intake item."""
    fall_id = original.eingang.fall_id
    if fall_id is None:
        return []
    return list(db.session.scalars(
        select(PostboxMessage).where(*_sent_to(citizen_id, [fall_id]),
                                     PostboxMessage.created_at >= original.submitted_at)
        .order_by(PostboxMessage.created_at, PostboxMessage.id)))


def decided_by(submission: Submission, since: list[PostboxMessage]) -> PostboxMessage | None:
    """The Bescheid that decided ``submission``, from ``bescheide_since`` it (the latest)."""
    return since[-1] if since and _decidable(submission) else None


def bescheide_for(submissions: Iterable[Submission],
                  citizen_id: int) -> dict[int, PostboxMessage]:
    """Submission id -> the latest Bescheid its case sent to this citizen after it arrived.

    Only Bescheide in the citizen's own postbox count: a case's decisions addressed to someone
    else (the other parent) never show here.
    """
    decidable = [item for item in submissions if _decidable(item)]
    if not decidable:
        return {}
    fall_ids = sorted({item.eingang.fall_id for item in decidable if item.eingang.fall_id})
    rows = db.session.execute(
        select(Decision.fall_id, PostboxMessage).where(*_sent_to(citizen_id, fall_ids))
        .order_by(PostboxMessage.created_at, PostboxMessage.id)).all()
    found: dict[int, PostboxMessage] = {}
    for item in decidable:
        later = [message for fall_id, message in rows
                 if fall_id == item.eingang.fall_id and message.created_at >= item.submitted_at]
        if later:
            found[item.id] = later[-1]
    return found


def latest_bescheid_named(original: Submission, citizen_id: int) -> str | None:
    """The latest Bescheid the case sent this citizen, named as a Widerspruch names it."""
    fall_id = original.eingang.fall_id
    if fall_id is None:
        return None
    found = db.session.execute(
        select(Decision.subject, Decision.decision_date, Fall.aktenzeichen)
        .where(*_sent_to(citizen_id, [fall_id]), Fall.id == Decision.fall_id)
        .order_by(Decision.issued_at.desc(), Decision.id.desc()).limit(1)).first()
    if found is None or found.decision_date is None:
        return None
    return _("%(subject)s of %(date)s, file number %(aktenzeichen)s", subject=found.subject,
             date=found.decision_date.strftime("%d.%m.%Y"), aktenzeichen=found.aktenzeichen)


@dataclass(frozen=True)
class Objection:
    """How a citizen objects to a Bescheid in the postbox: until when, and from which of their
    submissions (``None`` when the case did not start online)."""

    deadline: date | None
    submission: Submission | None

    @property
    def period_over(self) -> bool:
        return self.deadline is not None and self.deadline < berlin_today()


def objection_to(message: PostboxMessage) -> Objection | None:
    """For a Bescheid in the citizen's postbox; ``None`` for any other message."""
    if message.kind is not PostboxKind.BESCHEID:
        return None
    decision = db.session.scalar(select(Decision).where(
        Decision.postbox_message_id == message.id, Decision.status == DecisionStatus.ISSUED))
    if decision is None:
        return None
    original = db.session.scalar(
        select(Submission).join(Eingang, Eingang.id == Submission.eingang_id)
        .where(Eingang.fall_id == decision.fall_id, Submission.citizen_id == message.citizen_id,
               Submission.parent_id.is_(None))
        .order_by(Submission.submitted_at, Submission.id).limit(1))
    return Objection(decision.objection_deadline, original)


def submission_status(submission: Submission, bescheid: PostboxMessage | None) -> StatusWord:
    return DECIDED if bescheid is not None else status_word(submission.eingang.status)


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    label: Any
    detail: str = ""
    submission: Submission | None = None
    message: PostboxMessage | None = None


def _status_changes(eingang_id: int) -> list[TimelineEntry]:
    entries = db.session.scalars(
        select(AuditEntry).where(AuditEntry.object_type == "eingang",
                                 AuditEntry.object_id == str(eingang_id))
        .order_by(AuditEntry.at, AuditEntry.id))
    changes = []
    for entry in entries:
        raw = str((entry.after or {}).get("status"))
        if raw in EingangStatus._value2member_map_:
            word = STATUS_WORDS[EingangStatus(raw)]
            changes.append(TimelineEntry(entry.at, _l("Status: %(status)s", status=word.label)))
    return changes


def _message_entries(messages: Iterable[PostboxMessage]) -> list[TimelineEntry]:
    labels = {PostboxKind.REQUEST: _l("Request from the office"),
              PostboxKind.BESCHEID: _l("Bescheid"),
              PostboxKind.LETTER: _l("Letter from the office"),
              PostboxKind.RECEIPT: _l("Receipt")}
    return [TimelineEntry(message.created_at, labels[message.kind], message.subject,
                          message=message) for message in messages]


def timeline(original: Submission, follow_ups: list[Submission], citizen_id: int,
             bescheide: list[PostboxMessage]) -> list[TimelineEntry]:
    """Everything that happened to a submission, oldest first; ``bescheide`` are those
    ``bescheide_since`` it."""
    entries = [TimelineEntry(original.submitted_at, _l("Submitted"), original.reference,
                             submission=original)]
    entries += [TimelineEntry(item.submitted_at, KIND_WORDS[item.kind], item.reference,
                              submission=item) for item in follow_ups]
    entries += _status_changes(original.eingang_id)
    eingang_ids = [original.eingang_id, *(item.eingang_id for item in follow_ups)]
    messages = messages_about(eingang_ids, citizen_id)
    shown = {message.id for message in messages}
    messages += [message for message in bescheide if message.id not in shown]
    entries += _message_entries(messages)
    return sorted(entries, key=lambda entry: entry.at)


def rejection_letter(original: Submission, citizen_id: int) -> PostboxMessage | None:
    """The office's latest letter about a rejected item: it carries the reason, if one was
    written."""
    if original.eingang.status is not EingangStatus.REJECTED:
        return None
    letters = [message for message in messages_about([original.eingang_id], citizen_id)
               if message.kind is PostboxKind.LETTER]
    return letters[-1] if letters else None


# What the citizen is told about a rejection. Spam gets no explanation; "other" always has the
# office's own text (the database requires it).
_REJECTION_WORDS: dict[RejectionReason, Any] = {
    RejectionReason.DUPLICATE: _l("You had already sent us the same."),
    RejectionReason.NOT_OUR_OFFICE: _l("Another authority is responsible for this matter."),
}


def rejection_reason(eingang: Eingang) -> str | None:
    if eingang.status is not EingangStatus.REJECTED or eingang.rejection_reason is None:
        return None
    if eingang.rejection_reason is RejectionReason.OTHER:
        return eingang.rejection_text or None
    word = _REJECTION_WORDS.get(eingang.rejection_reason)
    return str(word) if word is not None else None
