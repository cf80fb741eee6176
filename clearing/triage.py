"""The clearing office's writes: claim, release, route, request, reject, bulk, paper intake.

Every step that changes an item first passes one conditional UPDATE (``_take``): it succeeds only
while the item is still held by this clerk in the version the clerk's page showed. Two clerks, two
tabs or a replayed form can therefore never both act; the loser changes nothing and is told why.
Callers commit (or roll back on a :class:`ClearingError`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import LazyString
from sqlalchemy import and_, or_, select, update
from sqlalchemy.engine import CursorResult

from amtsweg.audit.services import SYSTEM, Actor, record
from amtsweg.citizens.models import Citizen
from amtsweg.clock import BERLIN, berlin_today
from amtsweg.config import Settings
from amtsweg.db import utcnow
from amtsweg.extensions import db
from amtsweg.postbox.models import PostboxKind
from amtsweg.postbox.services import post_message
from amtsweg.sessions import staff_actor
from amtsweg.staff.models import Fachbereich, Role, Staff
from amtsweg.translate import lazy_gettext as _l
from backoffice.models import Fall
from backoffice.services import (
    AssignmentRefused,
    assign_case,
    attach_to_case,
    open_case,
    parties_from_payload,
)
from clearing.models import Eingang, EingangKind, EingangStatus, RejectionReason
from clearing.queue import KIND_LABELS, start_of_berlin_day
from clearing.rules import ensure_default_rules, proposed_fachbereich
from clearing.services import NoCitizenAccount, Sender, create_eingang, request_from_citizen
from storage.models import Document

DEFAULT_CLAIM_IDLE_MINUTES = 30
CLEARING_ROLES = (Role.CLEARING, Role.LEAD)


class ClearingError(Exception):
    """A step the item's current state does not allow; ``message`` is for the clerk."""

    def __init__(self, message: LazyString | str) -> None:
        super().__init__(str(message))
        self.message = message


class EingangNotFound(ClearingError):
    def __init__(self) -> None:
        super().__init__(_l("This item does not exist (any more)."))


class HeldByOther(ClearingError):
    def __init__(self, holder: str) -> None:
        super().__init__(_l("%(name)s is working on this item.", name=holder))
        self.holder = holder


class AlreadyDone(ClearingError):
    def __init__(self) -> None:
        super().__init__(_l("This item has already been routed or rejected."))


class NotClaimed(ClearingError):
    def __init__(self) -> None:
        super().__init__(_l("Take over the item first."))


class StaleVersion(ClearingError):
    def __init__(self) -> None:
        super().__init__(_l("Someone else acted on this item meanwhile. Nothing was changed; "
                            "please look at it again."))


def claim_idle() -> timedelta:
    settings: Settings = current_app.config["AMTSWEG"]
    minutes = getattr(settings, "clearing_claim_idle_minutes", DEFAULT_CLAIM_IDLE_MINUTES)
    return timedelta(minutes=int(minutes))


def _rowcount(result: Any) -> int:
    assert isinstance(result, CursorResult)
    return int(result.rowcount)


def find_eingang(eingang_id: int) -> Eingang | None:
    return db.session.get(Eingang, eingang_id)


def _reload(eingang_id: int) -> Eingang:
    eingang = db.session.get(Eingang, eingang_id, populate_existing=True)
    if eingang is None:
        raise EingangNotFound()
    return eingang


def _holder_name(eingang: Eingang) -> str:
    return eingang.claimed_by.full_name if eingang.claimed_by is not None else "?"


# --- claim and release --------------------------------------------------------------------------


def claim(eingang_id: int, staff: Staff, *, now: datetime | None = None) -> Eingang:
    """Take an item for triage: atomically, so of two clerks at once exactly one gets it.

    A new item can be taken, and one whose holder has been idle longer than the idle time.
    """
    now = now or utcnow()
    before = db.session.execute(select(Eingang.status, Eingang.claimed_by_id).where(
        Eingang.id == eingang_id)).first()
    result = db.session.execute(
        update(Eingang)
        .where(Eingang.id == eingang_id,
               or_(Eingang.status == EingangStatus.NEW,
                   and_(Eingang.status == EingangStatus.IN_TRIAGE,
                        or_(Eingang.claimed_by_id == staff.id,
                            Eingang.last_activity_at < now - claim_idle()))))
        .values(status=EingangStatus.IN_TRIAGE, claimed_by_id=staff.id, claimed_at=now,
                last_activity_at=now, version=Eingang.version + 1)
        .execution_options(synchronize_session=False))
    if _rowcount(result) != 1:
        _explain_refused_claim(eingang_id)
    eingang = _reload(eingang_id)
    assert before is not None
    record(staff_actor(staff), "eingang.claimed", "eingang", eingang_id,
           before={"status": before.status, "holder_id": before.claimed_by_id},
           after={"status": eingang.status, "holder_id": staff.id})
    return eingang


def _explain_refused_claim(eingang_id: int) -> None:
    eingang = _reload(eingang_id)
    if eingang.status is EingangStatus.IN_TRIAGE:
        raise HeldByOther(_holder_name(eingang))
    if eingang.status is EingangStatus.WAITING_FOR_CITIZEN:
        raise ClearingError(_l("This item waits for the citizen's answer."))
    raise AlreadyDone()


def release(eingang_id: int, staff: Staff) -> Eingang:
    """Give an item back to the queue: the holder releases their own, a lead anyone's."""
    is_lead = staff.has_role(Role.LEAD)
    holder_condition = (Eingang.claimed_by_id.is_not(None) if is_lead
                        else Eingang.claimed_by_id == staff.id)
    previous = db.session.scalar(select(Eingang.claimed_by_id).where(Eingang.id == eingang_id))
    result = db.session.execute(
        update(Eingang)
        .where(Eingang.id == eingang_id, Eingang.status == EingangStatus.IN_TRIAGE,
               holder_condition)
        .values(status=EingangStatus.NEW, claimed_by_id=None, claimed_at=None,
                version=Eingang.version + 1)
        .execution_options(synchronize_session=False))
    if _rowcount(result) != 1:
        eingang = _reload(eingang_id)
        if eingang.status is EingangStatus.IN_TRIAGE:
            raise HeldByOther(_holder_name(eingang))
        raise NotClaimed()
    eingang = _reload(eingang_id)
    record(staff_actor(staff), "eingang.released", "eingang", eingang_id,
           before={"status": EingangStatus.IN_TRIAGE, "holder_id": previous},
           after={"status": EingangStatus.NEW, "holder_id": None})
    return eingang


def release_expired(*, now: datetime | None = None) -> list[int]:
    """Put every claim idle longer than the idle time back into the queue (``amtsweg clearing
    release-expired``); return the item ids."""
    now = now or utcnow()
    expired = (Eingang.status == EingangStatus.IN_TRIAGE,
               Eingang.last_activity_at < now - claim_idle())
    rows = db.session.execute(select(Eingang.id, Eingang.claimed_by_id).where(*expired)).all()
    released = []
    for eingang_id, holder_id in rows:
        result = db.session.execute(
            update(Eingang).where(Eingang.id == eingang_id, *expired)
            .values(status=EingangStatus.NEW, claimed_by_id=None, claimed_at=None,
                    version=Eingang.version + 1)
            .execution_options(synchronize_session=False))
        if _rowcount(result) == 1:
            record(SYSTEM, "eingang.claim_expired", "eingang", eingang_id,
                   before={"status": EingangStatus.IN_TRIAGE, "holder_id": holder_id},
                   after={"status": EingangStatus.NEW, "holder_id": None})
            released.append(eingang_id)
    return released


# --- the gate every action passes ---------------------------------------------------------------


def _take(eingang_id: int, version: int, staff: Staff) -> Eingang:
    """Hold the item for one action, or raise why not (the rest of the action is then safe)."""
    result = db.session.execute(
        update(Eingang)
        .where(Eingang.id == eingang_id, Eingang.version == version,
               Eingang.status == EingangStatus.IN_TRIAGE, Eingang.claimed_by_id == staff.id)
        .values(version=Eingang.version + 1, last_activity_at=utcnow())
        .execution_options(synchronize_session=False))
    if _rowcount(result) == 1:
        return _reload(eingang_id)
    eingang = _reload(eingang_id)
    if eingang.status in (EingangStatus.ROUTED, EingangStatus.REJECTED):
        raise AlreadyDone()
    if eingang.status is EingangStatus.IN_TRIAGE and eingang.claimed_by_id != staff.id:
        raise HeldByOther(_holder_name(eingang))
    if eingang.status is not EingangStatus.IN_TRIAGE:
        raise NotClaimed()
    raise StaleVersion()


def _clear_claim(eingang: Eingang) -> None:
    eingang.claimed_by_id = None
    eingang.claimed_by = None
    eingang.claimed_at = None


# --- route --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RouteTarget:
    fachbereich_id: int
    fall_id: int | None = None  # None: open a new case
    caseworker_id: int | None = None  # None: the Fachbereich's pool


def route(eingang_id: int, version: int, target: RouteTarget, staff: Staff) -> Eingang:
    """Send the item to a Fachbereich: a new case or an existing one; one transaction."""
    eingang = _take(eingang_id, version, staff)
    _route_taken(eingang, target, staff)
    return eingang


def _route_taken(eingang: Eingang, target: RouteTarget, staff: Staff) -> None:
    fachbereich = db.session.get(Fachbereich, target.fachbereich_id)
    if fachbereich is None:
        raise ClearingError(_l("Choose a Fachbereich."))
    caseworker = _caseworker_of(fachbereich, target.caseworker_id)
    actor = staff_actor(staff)
    if target.fall_id is not None:
        fall_id = _attach_to_existing_case(eingang, target.fall_id, fachbereich, caseworker,
                                           actor)
    else:
        fall_id = _open_new_case(eingang, fachbereich, caseworker, actor)
    before = {"status": eingang.status}
    eingang.status = EingangStatus.ROUTED
    eingang.fachbereich_id = fachbereich.id
    eingang.fall_id = fall_id
    eingang.target_staff_id = caseworker.id if caseworker else None
    eingang.routed_at = utcnow()
    eingang.routed_by_id = staff.id
    _clear_claim(eingang)
    db.session.flush()
    record(actor, "eingang.routed", "eingang", eingang.id, before=before,
           after={"status": eingang.status, "fachbereich_id": fachbereich.id,
                  "fall_id": fall_id, "caseworker_id": eingang.target_staff_id,
                  "new_case": target.fall_id is None})


def _caseworker_of(fachbereich: Fachbereich, caseworker_id: int | None) -> Staff | None:
    if caseworker_id is None:
        return None
    caseworker = db.session.get(Staff, caseworker_id)
    # Only a member may get it: staff see only the Fachbereiche they belong to (§ 35 SGB I).
    if caseworker is None or not caseworker.active or fachbereich.id not in \
            caseworker.fachbereich_ids:
        raise ClearingError(_l("This caseworker does not belong to the chosen Fachbereich."))
    return caseworker


def _open_new_case(eingang: Eingang, fachbereich: Fachbereich, caseworker: Staff | None,
                   actor: Actor) -> int:
    try:
        fall = open_case(fachbereich=fachbereich, parties=parties_from_payload(eingang.payload),
                         responsible=caseworker, actor=actor, source_eingang_id=eingang.id,
                         title=eingang.subject)
    except AssignmentRefused as refusal:
        raise ClearingError(str(refusal)) from None
    _file_documents(fall, eingang, actor)
    return fall.id


def _attach_to_existing_case(eingang: Eingang, fall_id: int, fachbereich: Fachbereich,
                             caseworker: Staff | None, actor: Actor) -> int:
    fall = db.session.get(Fall, fall_id)
    if fall is None or fall.fachbereich_id != fachbereich.id:
        raise ClearingError(_l("There is no case with this number in the chosen Fachbereich."))
    attach_to_case(fall, eingang_id=eingang.id, summary=eingang.subject, actor=actor,
                   document_ids=[attached.document_id for attached in eingang.documents])
    if caseworker is not None:
        try:
            assign_case(fall, caseworker, actor)
        except AssignmentRefused as refusal:
            raise ClearingError(str(refusal)) from None
    return fall.id


def _file_documents(fall: Fall, eingang: Eingang, actor: Actor) -> None:
    # open_case records the arrival; the documents go into the E-Akte with it.
    if eingang.documents:
        attach_to_case(fall, eingang_id=eingang.id, summary=eingang.subject, actor=actor,
                       document_ids=[attached.document_id for attached in eingang.documents])


# --- request from the citizen -------------------------------------------------------------------


def request_information(eingang_id: int, version: int, subject: str, body: str,
                        staff: Staff) -> Eingang:
    """Ask the sender for what is missing; the item waits and returns when they answer."""
    eingang = _take(eingang_id, version, staff)
    try:
        request_from_citizen(eingang, subject, body, staff_actor(staff))
    except NoCitizenAccount:
        raise ClearingError(_l("The sender has no account in the portal. Please write to them "
                               "by post.")) from None
    _clear_claim(eingang)
    return eingang


# --- reject -------------------------------------------------------------------------------------


def reject(eingang_id: int, version: int, reason: RejectionReason, text: str,
           letter: str | None, staff: Staff) -> Eingang:
    """End an item without a case (duplicate, not our office, spam, other), optionally with a
    letter to the sender's postbox."""
    eingang = _take(eingang_id, version, staff)
    if reason is RejectionReason.OTHER and not text.strip():
        raise ClearingError(_l("Describe the reason."))
    citizen = db.session.get(Citizen, eingang.citizen_id) if eingang.citizen_id else None
    if letter and citizen is None:
        raise ClearingError(_l("The sender has no account in the portal, so no letter can be "
                               "put into a postbox. Please write to them by post."))
    actor = staff_actor(staff)
    before = {"status": eingang.status}
    eingang.status = EingangStatus.REJECTED
    eingang.rejection_reason = reason
    eingang.rejection_text = text.strip()
    eingang.rejected_at = utcnow()
    eingang.rejected_by_id = staff.id
    _clear_claim(eingang)
    message_id = None
    if letter and citizen is not None:
        settings: Settings = current_app.config["AMTSWEG"]
        message = post_message(citizen=citizen, kind=PostboxKind.LETTER,
                               subject=str(_l("About your message: %(subject)s",
                                              subject=eingang.subject)),
                               body=letter, sender_name=settings.office.short_name, actor=actor,
                               eingang_id=eingang.id)
        message_id = message.id
    db.session.flush()
    record(actor, "eingang.rejected", "eingang", eingang.id, before=before,
           after={"status": eingang.status, "reason": reason,
                  "postbox_message_id": message_id})
    return eingang


# --- bulk ---------------------------------------------------------------------------------------


@dataclass
class BulkOutcome:
    done: list[Eingang] = field(default_factory=list)
    refused: list[tuple[int, str]] = field(default_factory=list)  # item id, reason


def bulk_route(eingang_ids: Sequence[int], fachbereich_id: int | None,
               staff: Staff) -> BulkOutcome:
    """Route several items, each into a new case: to ``fachbereich_id`` or, when it is None,
    to the Fachbereich its routing rule proposes. Each item stands alone: the valid ones go."""
    outcome = BulkOutcome()
    ensure_default_rules()
    for eingang_id in eingang_ids:
        try:
            with db.session.begin_nested():
                eingang = claim(eingang_id, staff)
                target_id = fachbereich_id or _proposed_id(eingang)
                _route_taken(_take(eingang_id, eingang.version, staff),
                             RouteTarget(target_id), staff)
            outcome.done.append(eingang)
        except ClearingError as refusal:
            outcome.refused.append((eingang_id, str(refusal.message)))
    return outcome


def _proposed_id(eingang: Eingang) -> int:
    proposal = proposed_fachbereich(eingang.service_code)
    if proposal is None:
        raise ClearingError(_l("No Fachbereich is proposed for this service; choose one."))
    return proposal.id


def bulk_assign(eingang_ids: Sequence[int], assignee: Staff, staff: Staff) -> BulkOutcome:
    """Hand several items to one clearing clerk (new ones, idle ones, one's own; a lead any)."""
    if not assignee.active or not assignee.has_role(*CLEARING_ROLES):
        raise ClearingError(_l("Choose a colleague of the clearing office."))
    outcome = BulkOutcome()
    now = utcnow()
    holders: list[Any] = [Eingang.claimed_by_id == staff.id,
                          Eingang.last_activity_at < now - claim_idle()]
    if staff.has_role(Role.LEAD):
        holders.append(Eingang.claimed_by_id.is_not(None))
    for eingang_id in eingang_ids:
        before = db.session.scalar(select(Eingang.claimed_by_id).where(Eingang.id == eingang_id))
        result = db.session.execute(
            update(Eingang)
            .where(Eingang.id == eingang_id,
                   or_(Eingang.status == EingangStatus.NEW,
                       and_(Eingang.status == EingangStatus.IN_TRIAGE, or_(*holders))))
            .values(status=EingangStatus.IN_TRIAGE, claimed_by_id=assignee.id, claimed_at=now,
                    last_activity_at=now, version=Eingang.version + 1)
            .execution_options(synchronize_session=False))
        if _rowcount(result) != 1:
            outcome.refused.append((eingang_id, _refusal_reason(eingang_id)))
            continue
        record(staff_actor(staff), "eingang.assigned", "eingang", eingang_id,
               before={"holder_id": before}, after={"status": EingangStatus.IN_TRIAGE,
                                                    "holder_id": assignee.id})
        outcome.done.append(_reload(eingang_id))
    return outcome


def _refusal_reason(eingang_id: int) -> str:
    try:
        _explain_refused_claim(eingang_id)
    except ClearingError as refusal:
        return str(refusal.message)
    return str(_l("This item cannot be assigned."))


# --- paper intake -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PaperItem:
    letter_kind: EingangKind
    service_code: str | None
    sender_name: str
    sender_address: str
    sender_email: str | None
    received_on: date
    note: str


def create_paper_eingang(item: PaperItem, scan: Document, staff: Staff) -> Eingang:
    """Put a scanned letter into the same queue as the online submissions; the caller commits."""
    if item.received_on > berlin_today():
        raise ClearingError(_l("The date of receipt cannot be in the future."))
    first, _, last = item.sender_name.strip().rpartition(" ")
    payload = {
        "paper": {"letter_kind": item.letter_kind, "address": item.sender_address,
                  "received_on": item.received_on.isoformat(), "note": item.note},
        "parties": [{"role": "sender", "first_name": first, "last_name": last,
                     "birth_date": None, "address": item.sender_address or None}],
    }
    eingang = create_eingang(
        kind=EingangKind.PAPIEREINGANG, subject=_paper_subject(item), actor=staff_actor(staff),
        sender=Sender(name=item.sender_name.strip(), email=item.sender_email or None),
        service_code=item.service_code or None, payload=payload, message=item.note,
        documents=[(scan, str(_l("Scanned letter")))])
    # The day stamped on the letter counts (deadlines run from receipt, § 37 SGB X / § 70 VwGO),
    # not the moment it was scanned.
    if item.received_on < berlin_today():
        eingang.received_at = start_of_berlin_day(item.received_on) + timedelta(hours=12)
    record(staff_actor(staff), "eingang.paper_received", "eingang", eingang,
           after=lambda: {"received_at": eingang.received_at.astimezone(BERLIN),
                          "letter_kind": item.letter_kind})
    return eingang


def _paper_subject(item: PaperItem) -> str:
    return str(_l("Paper mail: %(kind)s", kind=KIND_LABELS[item.letter_kind]))
