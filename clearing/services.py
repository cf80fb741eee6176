"""Every write to the intake queue, each with its audit entry."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import update

from amtsweg.audit.services import SYSTEM, Actor, record
from amtsweg.citizens.models import Citizen
from amtsweg.config import Settings
from amtsweg.db import utcnow
from amtsweg.extensions import db
from amtsweg.postbox.models import PostboxKind, PostboxMessage
from amtsweg.postbox.services import post_message
from clearing.models import Eingang, EingangDocument, EingangKind, EingangStatus
from storage.models import Document


@dataclass(frozen=True)
class Sender:
    name: str
    email: str | None = None
    citizen_id: int | None = None


def create_eingang(
    *,
    kind: EingangKind,
    subject: str,
    sender: Sender,
    actor: Actor,
    service_code: str | None = None,
    payload: dict[str, Any] | None = None,
    message: str = "",
    documents: Sequence[tuple[Document, str]] = (),
    related: Eingang | None = None,
    reference: str | None = None,
) -> Eingang:
    """Put one item into the queue (status ``new``); the caller flushes or commits.

    Every submission of the portal and every paper item comes through here, so the queue is the
    one place where everything that reached the office can be found.
    """
    eingang = Eingang(
        kind=kind, subject=subject[:200], service_code=service_code, reference=reference,
        citizen_id=sender.citizen_id, sender_name=sender.name[:200], sender_email=sender.email,
        message=message, payload=payload or {},
        related_eingang_id=related.id if related is not None else None,
    )
    eingang.documents = [EingangDocument(document=document, label=label[:200])
                         for document, label in documents]
    db.session.add(eingang)
    # No flush of its own: the entry reads the ids once the caller's next flush wrote the rows.
    record(actor, "eingang.created", "eingang", eingang,
           after=lambda: {"kind": kind, "service_code": service_code, "reference": reference,
                          "documents": [document.id for document, _ in documents],
                          "related_eingang_id": eingang.related_eingang_id})
    if related is not None and related.status is EingangStatus.ROUTED and related.fall_id:
        db.session.flush()
        _route_follow_up(eingang, related)
    return eingang


def _route_follow_up(eingang: Eingang, related: Eingang) -> None:
    """A follow-up of an item already in a case goes straight to that case (issue 4, part 5):
    the caseworker, not the clearing office, decides about a Nachreichung or Widerspruch."""
    from backoffice.models import Fall
    from backoffice.services import attach_to_case

    fall = db.session.get(Fall, related.fall_id)
    if fall is None:
        return
    eingang.status = EingangStatus.ROUTED
    eingang.fachbereich_id = related.fachbereich_id
    eingang.fall_id = fall.id
    eingang.target_staff_id = related.target_staff_id
    eingang.routed_at = utcnow()
    attach_to_case(fall, eingang_id=eingang.id, summary=eingang.subject, actor=SYSTEM,
                   document_ids=[attached.document_id for attached in eingang.documents])
    record(SYSTEM, "eingang.routed_automatically", "eingang", eingang.id,
           before={"status": EingangStatus.NEW},
           after={"status": EingangStatus.ROUTED, "fachbereich_id": eingang.fachbereich_id,
                  "fall_id": fall.id, "follows_eingang_id": related.id})


class NoCitizenAccount(ValueError):
    """The item did not come through the portal, so there is no postbox to ask through."""


class WrongStatus(ValueError):
    """The item is not in a status that allows this step."""


# Where a request to the citizen may start: an item still open in the queue.
_REQUESTABLE = frozenset({EingangStatus.NEW, EingangStatus.IN_TRIAGE,
                          EingangStatus.WAITING_FOR_CITIZEN})


def _set_status(eingang: Eingang, status: EingangStatus, actor: Actor, action: str,
                **details: Any) -> None:
    before = eingang.status
    eingang.status = status
    # The citizen's timeline reads status changes from these entries (key "status").
    record(actor, action, "eingang", eingang.id, before={"status": before},
           after={"status": status, **details})


def request_from_citizen(eingang: Eingang, subject: str, body: str,
                         actor: Actor) -> PostboxMessage:
    """Ask the sender for documents or information through their postbox; the caller commits.

    The item waits for the citizen until the answer arrives (``mark_answered``).
    """
    if eingang.status not in _REQUESTABLE:
        raise WrongStatus(f"cannot ask the citizen about an item in status {eingang.status}")
    citizen = db.session.get(Citizen, eingang.citizen_id) if eingang.citizen_id else None
    if citizen is None:
        raise NoCitizenAccount("the item has no citizen account to write to")
    message = post_message(citizen=citizen, kind=PostboxKind.REQUEST, subject=subject,
                           body=body, sender_name=_office_sender(), actor=actor,
                           eingang_id=eingang.id, reply_allowed=True)
    _set_status(eingang, EingangStatus.WAITING_FOR_CITIZEN, actor, "eingang.citizen_asked",
                postbox_message_id=message.id)
    return message


def mark_answered(eingang: Eingang, actor: Actor) -> None:
    """The citizen answered a request: put a waiting item back into the queue as ``new``.

    An item a clerk has moved on meanwhile (routed, rejected) keeps its status; the answer is
    its own new item, linked to this one, either way.
    """
    eingang.answered_at = utcnow()
    if eingang.status is EingangStatus.WAITING_FOR_CITIZEN:
        _set_status(eingang, EingangStatus.NEW, actor, "eingang.answered",
                    answered_at=eingang.answered_at)


def _office_sender() -> str:
    settings: Settings = current_app.config["AMTSWEG"]
    return settings.office.short_name


def detach_citizen(citizen_id: int, actor: Actor) -> int:
    """A deleted account's items stay in the queue, without the link to the account.

    The foreign key would unlink them on its own (ON DELETE SET NULL, on both databases); done
    here first, so the audit log says how many items lost the link.
    """
    result = db.session.execute(
        update(Eingang).where(Eingang.citizen_id == citizen_id).values(citizen_id=None)
        .execution_options(synchronize_session=False))
    detached = int(getattr(result, "rowcount", 0) or 0)
    if detached:
        record(actor, "eingang.detached_from_account", "citizen", citizen_id,
               after={"eingaenge": detached})
    return detached
