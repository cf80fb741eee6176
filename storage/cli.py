"""``amtsweg storage sweep``: blobs that no row names, listed or deleted."""

from __future__ import annotations

from datetime import timedelta

import click
from flask.cli import with_appcontext

from storage.blobstore import get_blobstore
from storage.sweep import SweepRefused, sweep


@click.group("storage")
def storage_group() -> None:
    """The document blob store."""


@storage_group.command("sweep")
@click.option("--older-than-hours", "hours", type=click.IntRange(min=1), default=24,
              show_default=True, help="Only blobs written at least this long ago.")
@click.option("--delete", is_flag=True, help="Delete them (without it, only list them).")
@click.option("--force", is_flag=True,
              help="Delete even when no row names any blob (an empty database, on purpose).")
@with_appcontext
def sweep_command(hours: int, delete: bool, force: bool) -> None:
    """Find blobs that no document or transfer file names (left by a process killed between
    writing a file and committing its row), and temporary files of writes cut off mid-way;
    with --delete, delete them."""
    try:
        report = sweep(get_blobstore(), grace=timedelta(hours=hours), delete=delete, force=force)
    except SweepRefused as refusal:
        raise click.ClickException(f"{refusal}: is this the right database? Nothing was "
                                   "deleted; --force deletes them anyway.") from None
    click.echo(f"{report.considered} blob(s) older than {hours} h, "
               f"{len(report.orphans)} named by no row.")
    if report.unfinished:
        click.echo(f"{len(report.unfinished)} temporary file(s) of writes cut off before they "
                   f"finished, older than {hours} h.")
    if delete:
        click.echo(f"Deleted {report.deleted}" + (
            f" and {len(report.unfinished)} temporary file(s)." if report.unfinished else "."))
        return
    for name in [*report.orphans, *report.unfinished]:
        click.echo(f"  {name}")
    if report.orphans or report.unfinished:
        click.echo("Nothing deleted (dry run); --delete deletes them.")
