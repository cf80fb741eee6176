"""Outgoing mail as an outbox.

``queue_mail`` only adds a row to the caller's transaction. Once that transaction commits, the
mail is handed to the transport right away (an ``after_commit`` hook), so a rolled-back action
never sends mail and a committed one never loses it. If the transport fails (SMTP down), the row
stays pending with a growing backoff and the user's action still succeeds; ``amtsweg mail send``
drains whatever is left. Transports: one .eml file per message (``file:///dir``, the default) or
SMTP (``smtp://`` / ``smtps://``).
"""

from __future__ import annotations

import logging
import os
import smtplib
import ssl
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.charset import QP, Charset
from email.header import Header
from email.message import Message
from email.utils import format_datetime, formataddr, make_msgid, parseaddr
from functools import cache
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from email_validator import EmailNotValidError, validate_email
from flask import Flask, current_app, has_app_context
from sqlalchemy import Update, event, func, select, text, update
from sqlalchemy.orm import Session, SessionTransaction

from amtsweg.audit.services import Actor, record
from amtsweg.config import Settings, parse_smtp_url
from amtsweg.db import innermost_transaction, take_made_within, utcnow
from amtsweg.extensions import db
from amtsweg.mail_models import MailStatus, OutboundMail

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
# While one node delivers a row, the row is not due for the others (the claim is this lease).
CLAIM_LEASE = timedelta(minutes=10)
SMTP_TIMEOUT_SECONDS = 15
_QUEUED = "amtsweg_mail_queued"
_QUEUED_CLAIMED = "amtsweg_mail_queued_claimed"


class InvalidRecipient(ValueError):
    """The address is not a single valid e-mail address (e.g. a header injection attempt)."""


class Transport(Protocol):
    def send(self, message: Message) -> None: ...

    def check(self) -> str: ...


@dataclass(frozen=True)
class DeliveryReport:
    sent: int
    retrying: int
    failed: int


# --- transports --------------------------------------------------------------------------------


class FileTransport:
    """Write each message as one .eml file: the embedded default, and readable in tests."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def send(self, message: Message) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        stamp = utcnow().strftime("%Y%m%dT%H%M%S%f")
        # Write then rename, so a reader never sees half a message.
        fd, temporary = tempfile.mkstemp(dir=self.directory, prefix=".", suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            fh.write(message.as_bytes())
        os.replace(temporary, self.directory / f"{stamp}-{uuid.uuid4().hex[:12]}.eml")

    def check(self) -> str:
        self.directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=self.directory):
            pass
        return f"files in {self.directory} (writable)"


@cache
def tls_context() -> ssl.SSLContext:
    """The verifying TLS context of every SMTP connection this process makes.

    Making one loads the system's CA certificates (about 25 ms of CPU), so it is made once, and
    never for plain SMTP. A context serves any number of connections; a changed CA store takes
    effect when the process restarts.
    """
    return ssl.create_default_context()


class SmtpTransport:
    def __init__(self, url: str) -> None:
        self.location = parse_smtp_url(url)

    @contextmanager
    def _connection(self) -> Iterator[smtplib.SMTP]:
        where = self.location
        smtp: smtplib.SMTP
        if where.ssl:
            smtp = smtplib.SMTP_SSL(where.host, where.port, timeout=SMTP_TIMEOUT_SECONDS,
                                    context=tls_context())
        else:
            smtp = smtplib.SMTP(where.host, where.port, timeout=SMTP_TIMEOUT_SECONDS)
        try:
            smtp.ehlo()
            if where.starttls:
                smtp.starttls(context=tls_context())
                smtp.ehlo()
            if where.username and where.password:
                smtp.login(where.username, where.password)
            yield smtp
        finally:
            try:
                smtp.quit()
            except smtplib.SMTPException:
                smtp.close()

    def send(self, message: Message) -> None:
        with self._connection() as smtp:
            smtp.send_message(message)

    def check(self) -> str:
        with self._connection() as smtp:
            code, _ = smtp.noop()
            if code != 250:
                raise smtplib.SMTPResponseException(code, b"NOOP refused")
        return f"smtp {self.location.host}:{self.location.port} (NOOP ok)"


def transport_for(mail_url: str) -> Transport:
    parts = urlsplit(mail_url)
    if parts.scheme == "file":
        return FileTransport(Path(unquote(parts.path)))
    return SmtpTransport(mail_url)


# --- queueing ----------------------------------------------------------------------------------


def checked_recipient(address: str) -> str:
    """Return ``address`` normalised, or raise: one plain address, no header tricks."""
    if any(char in address for char in "\r\n,;<>"):
        # "a@b.de\r\nBcc: x@y.de" would add recipients if it reached a header.
        raise InvalidRecipient("recipient contains header syntax")
    try:
        result = validate_email(address, check_deliverability=False)
    except EmailNotValidError as error:
        raise InvalidRecipient(str(error)) from None
    return result.normalized.lower()


def _one_line(text: str, limit: int) -> str:
    return " ".join(text.split())[:limit]


def queue_mail(to: str, subject: str, body: str) -> OutboundMail:
    """Add a mail to the current transaction; it is delivered after the commit.

    The row is born claimed by this process (its first attempt, under the lease): the request
    that commits it delivers it right away without claiming it in a transaction of its own. If
    the process dies first, the lease runs out and ``amtsweg mail send`` delivers it.
    """
    now = utcnow()
    mail = OutboundMail(recipient=checked_recipient(to), subject=_one_line(subject, 200),
                        body=body, status=MailStatus.PENDING, attempts=1,
                        next_attempt_at=now + CLAIM_LEASE, created_at=now)
    session = db.session()
    session.add(mail)
    # With the savepoint it was queued in: a savepoint rolled back takes only its own mail.
    session.info.setdefault(_QUEUED, []).append((mail, innermost_transaction(session)))
    return mail


@dataclass(frozen=True)
class _Claimed:
    """What delivery needs of a row this process holds (taken before the commit expires it)."""

    id: int
    recipient: str
    subject: str
    body: str
    attempts: int


_Queued = tuple[OutboundMail, SessionTransaction | None]
_Held = tuple[_Claimed, SessionTransaction | None]


def _collect_flushed(session: Session, _context: Any) -> None:
    queued: list[_Queued] = session.info.get(_QUEUED, [])
    held: list[_Held] = session.info.setdefault(_QUEUED_CLAIMED, [])
    held.extend((_Claimed(mail.id, mail.recipient, mail.subject, mail.body, mail.attempts), made_in)
                for mail, made_in in queued if mail.id is not None)
    session.info[_QUEUED] = [(mail, made_in) for mail, made_in in queued if mail.id is None]


def _forget_rolled_back(session: Session, rolled_back: SessionTransaction) -> None:
    if not rolled_back.nested:
        session.info.pop(_QUEUED, None)
        session.info.pop(_QUEUED_CLAIMED, None)
        return
    # A savepoint's rows are gone with it; mail queued before it still goes out after the commit.
    take_made_within(session, _QUEUED, rolled_back, _made_in)
    take_made_within(session, _QUEUED_CLAIMED, rolled_back, _made_in)


def _made_in(entry: _Queued | _Held) -> SessionTransaction | None:
    return entry[1]


def _deliver_after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint released: the outer transaction may still roll back
    claimed = [mail for mail, _made_in in session.info.pop(_QUEUED_CLAIMED, [])]
    if not claimed or not has_app_context():
        return
    try:
        settings = _settings()
        transport = transport_for(settings.mail_url)
        # Each outcome is one statement that commits itself: no BEGIN, SET and COMMIT around it,
        # three round trips to the database fewer for every request that sends a mail.
        with db.engine.connect() as connection:
            autocommit = connection.execution_options(isolation_level="AUTOCOMMIT")
            for mail in claimed:
                _status, outcome = _send(transport, settings.mail_sender, mail)
                autocommit.execute(_recorded(mail.id, outcome, autocommit.dialect.name))
    except Exception:  # the action has committed; the outbox keeps the mail for the next run
        log.exception("mail delivery after commit failed; the mail stays in the outbox")


def _install_session_hooks() -> None:
    from flask_sqlalchemy.session import Session as FlaskSession

    if event.contains(FlaskSession, "after_commit", _deliver_after_commit):
        return
    event.listen(FlaskSession, "after_flush_postexec", _collect_flushed)
    event.listen(FlaskSession, "after_commit", _deliver_after_commit)
    event.listen(FlaskSession, "after_soft_rollback", _forget_rolled_back)


# --- delivery ----------------------------------------------------------------------------------


def _settings() -> Settings:
    settings: Settings = current_app.config["AMTSWEG"]
    return settings


# The body as quoted-printable UTF-8: readable in the raw file, safe for any relay.
_BODY_CHARSET = Charset("utf-8")
_BODY_CHARSET.body_encoding = QP


def _encoded(name: str, text: str) -> str:
    return text if text.isascii() else Header(text, "utf-8", header_name=name).encode()


def _message(mail: _Claimed, sender: str) -> Message:
    # The classic (compat32) message classes: the default policy's EmailMessage parses every
    # header it is given back into objects, which cost more than the rest of a delivery. The
    # headers are encoded here instead (RFC 2047 for anything not ASCII).
    message = Message()
    message.set_payload(mail.body, _BODY_CHARSET)  # text/plain, MIME-Version, encoding
    name, address = parseaddr(sender)
    message["From"] = formataddr((name, address), charset="utf-8") if address else sender
    message["To"] = mail.recipient
    message["Subject"] = _encoded("Subject", mail.subject)
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = make_msgid(domain=address.rpartition("@")[2] or None)
    message["Auto-Submitted"] = "auto-generated"
    return message


def backoff(attempts: int) -> timedelta:
    """1, 2, 4 … minutes, at most six hours: an SMTP outage is retried without hammering."""
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 360))


def _is_permanent(error: Exception) -> bool:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return True
    return isinstance(error, smtplib.SMTPResponseException) and error.smtp_code >= 500


def _relaxed_commit(session: Session) -> None:
    """Let this transaction's commit return before PostgreSQL has flushed it to disk.

    The outbox's own bookkeeping (claimed, sent, retry later) may be lost in a server crash
    without harm: delivery is at-least-once already, and a lost "sent" mark only means one more
    copy of a notice that carries no social data. Waiting for the disk twice per mail doubled
    the cost of every request that sends one. The mail row itself is written by the caller's
    transaction, with a full commit.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL synchronous_commit TO OFF"))


def _claim(session: Session, mail_id: int, now: datetime, seen_attempts: int | None) -> bool:
    """Take one pending row for this process; False if it is not due or another took it."""
    _relaxed_commit(session)
    condition = [OutboundMail.id == mail_id, OutboundMail.status == MailStatus.PENDING]
    if seen_attempts is None:
        condition.append(OutboundMail.next_attempt_at <= now)
    else:
        # Skipping the backoff: whoever bumps ``attempts`` first wins the row.
        condition.append(OutboundMail.attempts == seen_attempts)
    result = session.execute(
        update(OutboundMail).where(*condition)
        .values(next_attempt_at=now + CLAIM_LEASE, attempts=OutboundMail.attempts + 1)
        .execution_options(synchronize_session=False))
    session.commit()
    return bool(getattr(result, "rowcount", 0) == 1)


def _deliver_one(session: Session, transport: Transport, sender: str, mail_id: int,
                 seen_attempts: int | None) -> MailStatus | None:
    if not _claim(session, mail_id, utcnow(), seen_attempts):
        return None  # sent already, or another node holds it
    # Read in the transaction that records the outcome: one commit per mail after the claim.
    row = session.execute(
        select(OutboundMail.recipient, OutboundMail.subject, OutboundMail.body,
               OutboundMail.attempts).where(OutboundMail.id == mail_id)).one()
    return _attempt(session, transport, sender, _Claimed(mail_id, *row))


def _attempt(session: Session, transport: Transport, sender: str,
             mail: _Claimed) -> MailStatus:
    """Send a mail this process holds and record the outcome with a relaxed commit (in the
    transaction the caller may have begun by reading the row)."""
    status, outcome = _send(transport, sender, mail)
    session.execute(_recorded(mail.id, outcome, session.get_bind().dialect.name))
    session.commit()
    return status


def _send(transport: Transport, sender: str, mail: _Claimed) -> tuple[MailStatus, dict[str, Any]]:
    """Hand a mail to the transport; the status and the row's new values."""
    try:
        transport.send(_message(mail, sender))
    except (OSError, smtplib.SMTPException) as error:
        give_up = _is_permanent(error) or mail.attempts >= MAX_ATTEMPTS
        status = MailStatus.FAILED if give_up else MailStatus.PENDING
        # The class and the server's answer only; never the body.
        log.warning("mail %s not delivered (attempt %s): %s", mail.id, mail.attempts,
                    type(error).__name__)
        return status, {"status": status,
                        "last_error": f"{type(error).__name__}: {error}"[:500],
                        "next_attempt_at": utcnow() + backoff(mail.attempts)}
    return MailStatus.SENT, {"status": MailStatus.SENT, "sent_at": utcnow(), "last_error": None,
                             "body": ""}


def _recorded(mail_id: int, outcome: dict[str, Any], dialect: str) -> Update:
    """The outcome as one UPDATE.

    On PostgreSQL its condition also relaxes the commit of the transaction it runs in (see
    :func:`_relaxed_commit`): ``set_config(..., true)`` holds until that transaction ends,
    which is the statement's own commit in autocommit mode, or the caller's commit.
    """
    statement = (update(OutboundMail).where(OutboundMail.id == mail_id).values(**outcome)
                 .execution_options(synchronize_session=False))
    if dialect == "postgresql":
        statement = statement.where(
            func.set_config("synchronous_commit", "off", True) == "off")
    return statement


def deliver(*, ignore_backoff: bool = False, limit: int = 500) -> DeliveryReport:
    """Deliver every due mail; safe to run on several nodes at once.

    Runs in its own session, never in the caller's transaction. ``ignore_backoff`` also takes
    rows that wait for their next attempt (after an SMTP outage was fixed).
    """
    settings = _settings()
    transport = transport_for(settings.mail_url)
    counts = {MailStatus.SENT: 0, MailStatus.PENDING: 0, MailStatus.FAILED: 0}
    with Session(db.engine, expire_on_commit=False) as session:
        for mail_id, seen_attempts in _due(session, ignore_backoff, limit):
            status = _deliver_one(session, transport, settings.mail_sender, mail_id,
                                  seen_attempts)
            if status is not None:
                counts[status] += 1
    return DeliveryReport(sent=counts[MailStatus.SENT], retrying=counts[MailStatus.PENDING],
                          failed=counts[MailStatus.FAILED])


def _due(session: Session, ignore_backoff: bool, limit: int) -> list[tuple[int, int | None]]:
    query = (select(OutboundMail.id, OutboundMail.attempts)
             .where(OutboundMail.status == MailStatus.PENDING)
             .order_by(OutboundMail.id).limit(limit))
    if not ignore_backoff:
        query = query.where(OutboundMail.next_attempt_at <= utcnow())
    rows = session.execute(query).all()
    session.commit()
    return [(mail_id, attempts if ignore_backoff else None) for mail_id, attempts in rows]


def count_by_status() -> dict[MailStatus, int]:
    rows = db.session.execute(
        select(OutboundMail.status, func.count()).group_by(OutboundMail.status))
    counts = dict.fromkeys(MailStatus, 0)
    counts.update(dict(rows.all()))
    return counts


def requeue_failed(mail_id: int, actor: Actor) -> bool:
    """Put a failed mail back into the outbox with fresh attempts."""
    row = db.session.get(OutboundMail, mail_id)
    if row is None or row.status is not MailStatus.FAILED:
        return False
    row.status = MailStatus.PENDING
    row.attempts = 0
    row.next_attempt_at = utcnow()
    record(actor, "mail.requeued", "mail", row.id, before={"status": "failed"},
           after={"status": "pending"})
    db.session.commit()
    return True


# --- application wiring ------------------------------------------------------------------------


def init_app(app: Flask, settings: Settings) -> None:
    app.extensions["amtsweg_mail_url"] = settings.mail_url
    _install_session_hooks()


def check_connection(app: Flask) -> str:
    """Connect and NOOP (SMTP) or check the directory is writable (files); raise if not."""
    return transport_for(app.extensions["amtsweg_mail_url"]).check()
