"""``amtsweg clearing …``: batch jobs of the clearing office."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

clearing_group = click.Group("clearing", help="Jobs of the clearing office (claims, rules).")


@clearing_group.command("release-expired")
@with_appcontext
def release_expired_command() -> None:
    """Put every claim idle longer than the idle time back into the queue."""
    from amtsweg.extensions import db
    from clearing.triage import release_expired

    released = release_expired()
    db.session.commit()
    click.echo(f"{len(released)} claim(s) released.")


@clearing_group.command("seed-rules")
@with_appcontext
def seed_rules_command() -> None:
    """Add the default routing rules that are missing (never changes an edited rule)."""
    from amtsweg.extensions import db
    from clearing.rules import ensure_default_rules

    added = ensure_default_rules()
    db.session.commit()
    click.echo(f"{added} routing rule(s) added.")
