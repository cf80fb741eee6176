"""``amtsweg ihv …``: the transfer to the state treasury and back, and its simulator.

Every command is safe to start on several nodes at once and to run again after a crash.
"""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from amtsweg.clock import berlin_today
from amtsweg.config import Settings
from amtsweg.extensions import db
from ihv.models import Transfer, TransferStatus
from ihv.transfer import receive, send, sepa, simulator


def _settings() -> Settings:
    settings: Settings = current_app.config["AMTSWEG"]
    return settings


@click.group("ihv")
def ihv_group() -> None:
    """Transfer of payment and receivable orders to the treasury (IHV) and back."""


@ihv_group.command("send")
@click.option("--max-orders", type=click.IntRange(1, 10_000_000), default=None,
              help="At most this many orders per file (several files if more wait).")
@with_appcontext
def send_command(max_orders: int | None) -> None:
    """Send every ordered order not yet sent; first finish what an earlier run left."""
    settings = _settings()
    try:
        report = send.send_transfers(settings, max_orders=max_orders)
    except (send.SendError, sepa.SepaError) as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from None
    for order_id, kassenzeichen, reason in report.held_back:
        click.echo(f"held back: order {order_id} ({kassenzeichen}): {reason}", err=True)
    for sequence, message in report.failed:
        click.echo(f"FAILED transfer {sequence}: {message}", err=True)
    click.echo(f"prepared {len(report.prepared)}, sent {len(report.sent)}, failed "
               f"{len(report.failed)}, held back {len(report.held_back)} "
               f"(adapter {settings.ihv_adapter}, out: {settings.ihv_outbox_dir})")
    if report.failed:
        raise SystemExit(1)


@ihv_group.command("receive")
@with_appcontext
def receive_command() -> None:
    """Import the acknowledgement, booking and statement files waiting in the inbox."""
    settings = _settings()
    report = receive.receive_files(settings)
    for name, message in report.rejected:
        click.echo(f"REJECTED {name}: {message}", err=True)
    click.echo(f"imported {len(report.imported)} file(s), rejected {len(report.rejected)}, "
               f"already seen {len(report.duplicates)}; orders acknowledged "
               f"{report.acknowledged}, refused by the treasury {report.refused_orders}; "
               f"bookings matched {report.matched}, unclear {report.unclear}, already known "
               f"{report.skipped_known}")
    if report.rejected:
        raise SystemExit(1)


@ihv_group.command("simulate")
@click.option("--scenario", "scenario_file", type=click.Path(exists=True, dir_okay=False,
                                                             path_type=Path),
              help="TOML or JSON file with the scenario (see docs/ihv-format.md).")
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="The simulated date; payouts due up to it are executed.")
@click.option("--receivables", type=click.Choice(simulator.RECEIVABLE_MODES), default=None,
              help="How payers pay receivable orders.")
@click.option("--partial-percent", type=click.IntRange(1, 99), default=None)
@click.option("--seed", type=int, default=None, help="Seed for --receivables random.")
@click.option("--known-haushaltsstelle", "known", multiple=True,
              help="Accept only these Haushaltsstellen (repeat the option).")
@click.option("--accept-invalid-account", is_flag=True, default=False,
              help="Do not reject orders whose IBAN is invalid.")
@with_appcontext
def simulate_command(scenario_file: Path | None, today: object, receivables: str | None,
                     partial_percent: int | None, seed: int | None, known: tuple[str, ...],
                     accept_invalid_account: bool) -> None:
    """Play the treasury: take the transfer files, write acknowledgements and IST bookings."""
    settings = _settings()
    overrides: dict[str, object] = {"receivables": receivables,
                                    "partial_percent": partial_percent, "seed": seed}
    if known:
        overrides["known_haushaltsstellen"] = list(known)
    if accept_invalid_account:
        overrides["reject_invalid_account"] = False
    try:
        scenario = simulator.load_scenario(scenario_file, **overrides)
    except simulator.ScenarioError as error:
        raise click.ClickException(str(error)) from None
    # The office's calendar day, not the server's UTC day.
    simulated_today = (today.date() if today is not None  # type: ignore[attr-defined]
                       else berlin_today())
    report = simulator.simulate(settings.ihv_outbox_dir, settings.ihv_inbox_dir,
                                scenario=scenario, today=simulated_today,
                                adapter=settings.ihv_adapter)
    for name, message in report.refused_files:
        click.echo(f"refused {name}: {message}", err=True)
    click.echo(f"took {len(report.transfers)} transfer file(s): accepted {report.accepted}, "
               f"rejected {report.rejected}; bookings written {report.bookings}, payments "
               f"waiting for their due date {report.waiting}; files: "
               f"{', '.join(report.written) or '-'}")


@ihv_group.command("transfers")
@click.option("--failed", is_flag=True, help="Only transfers whose delivery failed.")
@with_appcontext
def transfers_command(failed: bool) -> None:
    """List the transfers (newest first) with their state and last error."""
    query = select(Transfer).order_by(Transfer.sequence_number.desc()).limit(50)
    if failed:
        query = query.where(Transfer.status == TransferStatus.FAILED)
    for transfer in db.session.scalars(query):
        click.echo(f"{transfer.sequence_number:>8}  {transfer.status.value:<9} "
                   f"{transfer.order_count:>7} orders  {_euro(transfer.control_sum_cents):>16}"
                   f" EUR  {transfer.file_name}  {transfer.last_error or ''}")


def _euro(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"
