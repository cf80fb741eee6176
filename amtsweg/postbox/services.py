"""Posting into a citizen's postbox and reading it, each write audited."""

from __future__ import annotations

import secrets

from flask import current_app, render_template
from sqlalchemy import delete, func, select

from amtsweg.audit.services import Actor, record
from amtsweg.citizens.models import Citizen
from amtsweg.config import Settings
from amtsweg.db import utcnow
from amtsweg.extensions import db
from amtsweg.mail import queue_mail
from amtsweg.postbox.models import PostboxKind, PostboxMessage
from amtsweg.translate import gettext as _


def post_message(
    *,
    citizen: Citizen,
    kind: PostboxKind,
    subject: str,
    body: str,
    sender_name: str,
    actor: Actor,
    document_id: int | None = None,
    eingang_id: int | None = None,
    reply_allowed: bool = False,
    notify: bool = True,
) -> PostboxMessage:
    """Put a message into the postbox and tell the citizen by mail; the caller commits."""
    message = PostboxMessage(
        public_id=secrets.token_urlsafe(18), citizen_id=citizen.id, kind=kind,
        subject=subject[:200], body=body, sender_name=sender_name[:200],
        document_id=document_id, eingang_id=eingang_id, reply_allowed=reply_allowed,
        created_at=utcnow(),
    )
    db.session.add(message)
    db.session.flush()
    record(actor, "postbox.posted", "postbox_message", message.id,
           after={"citizen_id": citizen.id, "kind": kind, "document_id": document_id,
                  "eingang_id": eingang_id, "reply_allowed": reply_allowed})
    if notify:
        _notify(citizen)
    return message


def _notify(citizen: Citizen) -> None:
    # The mail says only that something is there: the content stays behind the login.
    settings: Settings = current_app.config["AMTSWEG"]
    body = render_template("mail/postbox_notice.txt", office=settings.office,
                           link=f"{settings.base_url}/konto/postfach")
    queue_mail(citizen.email, _("New message in your postbox"), body)


def mark_read(message: PostboxMessage, actor: Actor) -> None:
    if message.read_at is not None:
        return
    message.read_at = utcnow()
    record(actor, "postbox.read", "postbox_message", message.id)


# --- reading ------------------------------------------------------------------------------------


def messages_of(citizen_id: int) -> list[PostboxMessage]:
    """The citizen's messages, newest first."""
    return list(db.session.scalars(
        select(PostboxMessage).where(PostboxMessage.citizen_id == citizen_id)
        .order_by(PostboxMessage.created_at.desc(), PostboxMessage.id.desc())))


def find_message(citizen_id: int, public_id: str) -> PostboxMessage | None:
    """One message by its public id, only if it is this citizen's (else ``None``: a 404)."""
    return db.session.scalar(select(PostboxMessage).where(
        PostboxMessage.public_id == public_id, PostboxMessage.citizen_id == citizen_id))


def unread_count(citizen_id: int) -> int:
    return db.session.scalar(select(func.count(PostboxMessage.id)).where(
        PostboxMessage.citizen_id == citizen_id, PostboxMessage.read_at.is_(None))) or 0


def messages_about(eingang_ids: list[int], citizen_id: int) -> list[PostboxMessage]:
    """The citizen's messages concerning any of these intake items, oldest first."""
    if not eingang_ids:
        return []
    return list(db.session.scalars(
        select(PostboxMessage).where(PostboxMessage.citizen_id == citizen_id,
                                     PostboxMessage.eingang_id.in_(eingang_ids))
        .order_by(PostboxMessage.created_at, PostboxMessage.id)))


# --- account deletion ---------------------------------------------------------------------------


def delete_messages_of(citizen_id: int, actor: Actor) -> int:
    """Delete every message of a deleted account (the office keeps its own copies in the file).

    Callers first detach whatever points at these rows (a submission that answered a request).
    """
    ids = list(db.session.scalars(
        select(PostboxMessage.id).where(PostboxMessage.citizen_id == citizen_id)))
    if ids:
        db.session.execute(delete(PostboxMessage).where(PostboxMessage.id.in_(ids))
                           .execution_options(synchronize_session=False))
        record(actor, "postbox.deleted_with_account", "citizen", citizen_id,
               before={"messages": len(ids)})
    return len(ids)
