"""``amtsweg mail …``: drain the outbox and show what could not be delivered."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from amtsweg import mail
from amtsweg.audit.services import SYSTEM
from amtsweg.extensions import db
from amtsweg.mail_models import MailStatus, OutboundMail


@click.group("mail")
def mail_group() -> None:
    """Outgoing mail (the outbox)."""


@mail_group.command("send")
@click.option("--ignore-backoff", is_flag=True,
              help="Also send mail that waits for its next attempt (after an outage was fixed).")
@with_appcontext
def send_command(ignore_backoff: bool) -> None:
    """Deliver every due mail. Idempotent; safe to run on several nodes at once."""
    report = mail.deliver(ignore_backoff=ignore_backoff)
    counts = mail.count_by_status()
    click.echo(f"sent {report.sent}, retrying later {report.retrying}, given up {report.failed}; "
               f"outbox: {counts[MailStatus.PENDING]} pending, "
               f"{counts[MailStatus.FAILED]} failed")
    if report.retrying or report.failed:
        raise SystemExit(1)


@mail_group.command("list")
@click.option("--status", "status", type=click.Choice([s.value for s in MailStatus]),
              default=MailStatus.FAILED.value, show_default=True)
@with_appcontext
def list_command(status: str) -> None:
    """Show mails by status (failed by default): id, created, attempts, recipient, last error."""
    rows = db.session.scalars(select(OutboundMail)
                              .where(OutboundMail.status == MailStatus(status))
                              .order_by(OutboundMail.id)).all()
    if not rows:
        click.echo(f"no {status} mail")
        return
    for row in rows:
        # Recipient and error only, never the body: it carries sign-in links.
        click.echo(f"{row.id:>8}  {row.created_at:%Y-%m-%d %H:%M}Z  attempts {row.attempts:<2}  "
                   f"{row.recipient}  {row.last_error or ''}")


@mail_group.command("retry")
@click.argument("mail_id", type=int)
@with_appcontext
def retry_command(mail_id: int) -> None:
    """Put a failed mail back into the outbox; the next ``mail send`` delivers it."""
    if not mail.requeue_failed(mail_id, SYSTEM):
        raise click.ClickException(f"no failed mail with id {mail_id}")
    click.echo(f"mail {mail_id} queued again")
