"""``amtsweg retention run [--dry-run]``: delete closed cases past their retention period."""

from __future__ import annotations

from datetime import date, datetime

import click
from flask.cli import with_appcontext

from amtsweg.clock import berlin_today
from backoffice.retention import due_cases, run_retention


@click.group("retention")
def retention_group() -> None:
    """Retention of closed cases (DOMAIN.md §2)."""


@retention_group.command("run")
@click.option("--dry-run", is_flag=True, help="Only list what would be deleted.")
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Pretend today is this day (YYYY-MM-DD); for checking a schedule.")
@with_appcontext
def run_command(dry_run: bool, today: datetime | None) -> None:
    """Delete every closed case past its retention period, keeping an anonymous tombstone."""
    day = today.date() if today else berlin_today()
    if dry_run:
        _print_plan(day)
        return
    tombstones = run_retention(day)
    click.echo(f"Deleted {len(tombstones)} case(s); "
               f"{sum(t.documents for t in tombstones)} document(s).")


def _print_plan(day: date) -> None:
    cases = due_cases(day)
    click.echo(f"Dry run for {day.isoformat()}: {len(cases)} case(s) would be deleted.")
    for case in cases:
        plan = case.plan
        rows = ", ".join(f"{name} {len(ids)}" for name, ids in sorted(plan.rows.items()))
        click.echo(f"  {case.aktenzeichen}  {case.fachbereich}  opened {case.year_opened}  "
                   f"closed {case.year_closed}  rows: {rows}  "
                   f"documents {len(plan.document_ids)}")
