"""The mail outbox: file and SMTP transports, delivery after commit, retries, the CLI."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.pool import QueuePool

from amtsweg import mail
from amtsweg.citizens.models import Citizen
from amtsweg.db import utcnow
from amtsweg.extensions import db
from amtsweg.mail_cli import mail_group
from amtsweg.mail_models import MailStatus, OutboundMail
from tests.amtsweg.mail.support import (
    SmtpServer,
    body_of,
    free_port,
    link_in,
    path_of,
    post_form,
    read_outbox_files,
)
from tests.conftest import PASSWORD


def outbox(app: Flask) -> list[OutboundMail]:
    with app.app_context():
        rows = list(db.session.scalars(select(OutboundMail).order_by(OutboundMail.id)))
        db.session.expunge_all()
        return rows


def register(app: Flask, email: str) -> int:
    client = app.test_client()
    response = post_form(client, "/konto/registrieren", {
        "email": email, "password": PASSWORD, "password_repeat": PASSWORD,
        "privacy_consent": "y"})
    return response.status_code  # type: ignore[no-any-return]


def test_file_backend_writes_one_eml_after_commit_and_forgets_the_body(app: Flask) -> None:
    with app.app_context():
        mail.queue_mail("Empfang@Example.org", "Betreff\r\nBcc: x@y.de", "Hallo https://x/konto/a")
        assert read_outbox_files(app) == []  # nothing leaves before the commit
        db.session.commit()
    [message] = read_outbox_files(app)
    assert message["To"] == "empfang@example.org"
    assert message["Subject"] == "Betreff Bcc: x@y.de"  # one line: no header smuggled in
    assert message["Bcc"] is None
    assert message["From"] == "Amtsweg <no-reply@musterkreis.example>"
    assert "Hallo" in body_of(message)
    [row] = outbox(app)
    assert row.status is MailStatus.SENT
    assert row.sent_at is not None
    assert row.body == ""  # sign-in links do not lie around after delivery


def test_recording_the_delivery_leaves_every_pooled_connection_transactional(app: Flask) -> None:
    # The outcome is written in autocommit mode, with synchronous_commit off on PostgreSQL:
    # neither may stick to the connection the next request gets from the pool.
    with app.app_context():
        mail.queue_mail("empfang@example.org", "Betreff", "Hallo")
        db.session.commit()
        db.session.remove()
        assert outbox(app)[0].status is MailStatus.SENT
        pool = db.engine.pool
        assert isinstance(pool, QueuePool)
        pooled = [db.engine.connect() for _ in range(pool.checkedin())]
        try:
            assert pooled, "the delivery's connection went back to the pool"
            for connection in pooled:
                assert connection.get_isolation_level() != "AUTOCOMMIT"
                assert connection.connection.dbapi_connection is not None
                if connection.dialect.name == "postgresql":
                    assert connection.exec_driver_sql("SHOW synchronous_commit").scalar() == "on"
                    assert connection.connection.dbapi_connection.autocommit is False
        finally:
            for connection in pooled:
                connection.close()


def test_a_mail_of_a_released_savepoint_waits_for_the_outer_commit(app: Flask) -> None:
    with app.app_context():
        with db.session.begin_nested():
            mail.queue_mail("spaeter@example.org", "Betreff", "Text")
        assert read_outbox_files(app) == []  # the outer transaction may still roll back
        db.session.commit()
    assert [message["To"] for message in read_outbox_files(app)] == ["spaeter@example.org"]


def test_a_savepoint_rolled_back_takes_its_own_mail_and_leaves_the_others(app: Flask) -> None:
    with app.app_context():
        mail.queue_mail("bleibt@example.org", "Betreff", "Text")
        db.session.flush()  # a write first: SQLite's driver begins a transaction only at one
        savepoint = db.session.begin_nested()
        mail.queue_mail("verworfen@example.org", "Betreff", "Text")
        db.session.flush()
        savepoint.rollback()  # one item of a bulk action failed
        db.session.commit()
    # The other mail still goes out right after the commit, not only at the next outbox run.
    assert [message["To"] for message in read_outbox_files(app)] == ["bleibt@example.org"]
    assert [row.recipient for row in outbox(app)] == ["bleibt@example.org"]


def test_rolled_back_transaction_sends_nothing(app: Flask) -> None:
    with app.app_context():
        mail.queue_mail("niemals@example.org", "Betreff", "Text")
        db.session.flush()
        db.session.rollback()
        db.session.commit()
    assert read_outbox_files(app) == []
    assert outbox(app) == []


@pytest.mark.parametrize("address", [
    "a@b.de\r\nBcc: x@y.de", "a@b.de, c@d.de", "Name <a@b.de>", "", "x" * 300 + "@b.de",
    "kein-at-zeichen",
])
def test_queue_mail_refuses_anything_but_one_plain_address(app_ctx: None, address: str) -> None:
    with pytest.raises(mail.InvalidRecipient):
        mail.queue_mail(address, "Betreff", "Text")


def test_registration_mail_reaches_a_real_smtp_server(app_with: Callable[..., Flask],
                                                      smtp: SmtpServer) -> None:
    app = app_with(mail_url=smtp.url)
    assert register(app, "smtp@example.org") == 200
    [received] = smtp.received
    assert received.recipients == ["smtp@example.org"]
    assert received.message["Subject"] == "Bitte bestätigen Sie Ihre E-Mail-Adresse"
    assert "/konto/bestaetigen/" in link_in(received.message)
    assert "Guten Tag," in body_of(received.message)
    assert [row.status for row in outbox(app)] == [MailStatus.SENT]


def test_sender_subject_and_body_beyond_ascii_arrive_intact(app_with: Callable[..., Flask],
                                                            smtp: SmtpServer) -> None:
    app = app_with(mail_url=smtp.url,
                   mail_sender="Jugendamt Müllerstadt <post@jugendamt.example>")
    body = "Grüße aus dem Jugendamt\nZeile = mit Gleichheitszeichen " + "ä" * 120 + "\n"
    with app.app_context():
        mail.queue_mail("eltern@example.org", "Ihr Antrag – Bestätigung", body)
        db.session.commit()
    [received] = smtp.received
    [sender] = received.message["From"].addresses
    assert (sender.display_name, sender.addr_spec) == ("Jugendamt Müllerstadt",
                                                       "post@jugendamt.example")
    assert received.message["Subject"] == "Ihr Antrag – Bestätigung"
    # SMTP carries lines ending in CRLF.
    assert body_of(received.message).replace("\r\n", "\n") == body
    # Every line the relay sees is 7-bit and short (RFC 5322 2.1.1), whatever the text was.
    assert all(line.isascii() and len(line) <= 78 for line in received.raw.splitlines())


def test_smtp_down_at_registration_then_mail_send_delivers_once(
        app_with: Callable[..., Flask]) -> None:
    server = SmtpServer(port=free_port())  # nothing listens on this port yet
    app = app_with(mail_url=server.url)
    assert register(app, "ausfall@example.org") == 200  # the citizen's action succeeds
    [row] = outbox(app)
    assert row.status is MailStatus.PENDING
    assert row.attempts == 1
    assert "ConnectionRefusedError" in (row.last_error or "")
    assert row.next_attempt_at > utcnow()
    with app.app_context():
        assert db.session.scalar(select(Citizen.email)) == "ausfall@example.org"

    runner = app.test_cli_runner()
    result = runner.invoke(mail_group, ["send"])  # still backing off: nothing is due
    assert "sent 0" in result.output

    server.start()
    try:
        result = runner.invoke(mail_group, ["send", "--ignore-backoff"])
        assert result.exit_code == 0, result.output
        assert "sent 1" in result.output
        again = runner.invoke(mail_group, ["send", "--ignore-backoff"])
        assert "sent 0" in again.output
        [received] = server.received
        assert received.recipients == ["ausfall@example.org"]
        link = link_in(received.message)
    finally:
        server.stop()
    [row] = outbox(app)
    assert row.status is MailStatus.SENT
    assert row.attempts == 2
    # The delivered link works.
    client = app.test_client()
    post_form(client, path_of(link), {})
    with app.app_context():
        assert db.session.scalar(select(Citizen.email_verified_at)) is not None


def test_due_mail_is_sent_by_mail_send_after_its_backoff(app_with: Callable[..., Flask],
                                                         smtp: SmtpServer) -> None:
    down = app_with(mail_url=SmtpServer(port=free_port()).url)
    with down.app_context():
        mail.queue_mail("spaeter@example.org", "Betreff", "Text")
        db.session.commit()
        db.session.execute(update(OutboundMail).values(next_attempt_at=utcnow()))
        db.session.commit()
    up = app_with(mail_url=smtp.url)
    result = up.test_cli_runner().invoke(mail_group, ["send"])
    assert result.exit_code == 0, result.output
    assert [r.recipients for r in smtp.received] == [["spaeter@example.org"]]


def test_permanent_refusal_fails_at_once_is_listed_and_can_be_retried(
        app_with: Callable[..., Flask], smtp: SmtpServer) -> None:
    smtp.handler.refuse.add("gibtsnicht@example.org")
    app = app_with(mail_url=smtp.url)
    with app.app_context():
        mail.queue_mail("gibtsnicht@example.org", "Betreff", "Geheimer Link")
        db.session.commit()
    [row] = outbox(app)
    assert row.status is MailStatus.FAILED
    assert "SMTPRecipientsRefused" in (row.last_error or "")

    runner = app.test_cli_runner()
    listing = runner.invoke(mail_group, ["list"])
    assert f"{row.id}" in listing.output
    assert "gibtsnicht@example.org" in listing.output
    assert "Geheimer Link" not in listing.output
    assert "no pending mail" in runner.invoke(mail_group, ["list", "--status", "pending"]).output

    smtp.handler.refuse.clear()
    assert runner.invoke(mail_group, ["retry", str(row.id)]).exit_code == 0
    assert runner.invoke(mail_group, ["retry", "99999"]).exit_code != 0
    result = runner.invoke(mail_group, ["send"])
    assert "sent 1" in result.output
    assert [r.recipients for r in smtp.received] == [["gibtsnicht@example.org"]]


def test_gives_up_after_the_last_attempt(app_with: Callable[..., Flask]) -> None:
    app = app_with(mail_url=SmtpServer(port=free_port()).url)
    with app.app_context():
        mail.queue_mail("nie@example.org", "Betreff", "Text")
        db.session.commit()
        db.session.execute(update(OutboundMail).values(attempts=mail.MAX_ATTEMPTS - 1))
        db.session.commit()
        report = mail.deliver(ignore_backoff=True)
    assert report.failed == 1
    assert [row.status for row in outbox(app)] == [MailStatus.FAILED]


def test_a_claimed_row_cannot_be_claimed_twice(app: Flask) -> None:
    """Two nodes draining at once: the conditional UPDATE lets exactly one have the row."""
    with app.app_context():
        row = mail.queue_mail("einmal@example.org", "Betreff", "Text")
        db.session.info.clear()  # keep it pending: no delivery after this commit
        db.session.commit()
        # The lease of the request that queued it has run out (the process died).
        db.session.execute(update(OutboundMail).values(next_attempt_at=utcnow()))
        db.session.commit()
        now = utcnow()
        with Session(db.engine) as first, Session(db.engine) as second:
            assert mail._claim(first, row.id, now, None) is True
            assert mail._claim(second, row.id, now, None) is False
            assert mail._claim(second, row.id, now, 0) is False  # attempts moved on as well


def test_a_queued_mail_is_held_by_its_request_until_the_lease_runs_out(app: Flask) -> None:
    """The request that commits a mail delivers it; a node draining the outbox at that moment
    must not send it a second time. Should the request die first, the mail waits for its lease."""
    with app.app_context():
        row = mail.queue_mail("gehalten@example.org", "Betreff", "Text")
        db.session.info.clear()  # the request died between its commit and the delivery
        db.session.commit()
        assert mail.deliver() == mail.DeliveryReport(sent=0, retrying=0, failed=0)
        assert read_outbox_files(app) == []
        db.session.execute(update(OutboundMail).values(
            next_attempt_at=utcnow() - mail.CLAIM_LEASE))
        db.session.commit()
        assert mail.deliver().sent == 1
    [message] = read_outbox_files(app)
    assert message["To"] == "gehalten@example.org"
    [row] = outbox(app)
    assert (row.status, row.attempts, row.body) == (MailStatus.SENT, 2, "")


def test_backoff_grows_and_is_capped() -> None:
    minutes = [mail.backoff(n).total_seconds() / 60 for n in (1, 2, 3, 4, 12)]
    assert minutes == [1, 2, 4, 8, 360]


def test_check_connection_file_backend(app: Flask, tmp_path: Path,
                                       app_with: Callable[..., Flask]) -> None:
    assert "writable" in mail.check_connection(app)
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    broken = app_with(mail_url=f"file://{blocker}/mail")
    with pytest.raises(NotADirectoryError):
        mail.check_connection(broken)


def test_check_connection_smtp(app_with: Callable[..., Flask], smtp: SmtpServer) -> None:
    assert "NOOP ok" in mail.check_connection(app_with(mail_url=smtp.url))
    with pytest.raises(ConnectionRefusedError):
        mail.check_connection(app_with(mail_url=SmtpServer(port=free_port()).url))
