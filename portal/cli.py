"""``amtsweg portal …``: batch jobs of the citizen side."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from portal.drafts import expire_drafts

portal_group = click.Group("portal", help="Jobs of the citizen portal (drafts).")


@portal_group.command("expire-drafts")
@with_appcontext
def expire_drafts_command() -> None:
    """Remind citizens of drafts about to expire (once) and delete expired drafts with their
    files. Idempotent; safe to start on several nodes at once."""
    report = expire_drafts()
    click.echo(f"reminded: {report.reminded}, deleted: {report.deleted}")
