"""``amtsweg``: the one entry point for every command (a Flask CLI group)."""

from __future__ import annotations

import json
import sys
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from amtsweg.config import ConfigError, Settings


def _create_app() -> Flask:
    from amtsweg.app import create_app

    try:
        return create_app()
    except ConfigError as error:
        # One clear line naming the variable, not a traceback.
        click.echo(f"amtsweg: configuration error: {error}", err=True)
        sys.exit(2)


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False,
             load_dotenv=False, set_debug_flag=False)
def main() -> None:
    """Amtsweg – software for the youth and social welfare office."""


@main.command("check")
@with_appcontext
def check_command() -> None:
    """Print the resolved configuration (secrets masked) and check every dependency."""
    from amtsweg.checks import run_checks

    settings: Settings = current_app.config["AMTSWEG"]
    click.echo(json.dumps(settings.public_view(), indent=2, ensure_ascii=False, default=str))
    failures = 0
    for name, ok, detail in run_checks(current_app):
        failures += not ok
        click.echo(f"{'ok  ' if ok else 'FAIL'}  {name}: {detail}")
    if failures:
        raise SystemExit(1)


@main.command("demo-data")
@click.option("--if-empty", is_flag=True, help="Only load when no staff account exists yet.")
@with_appcontext
def demo_data_command(if_empty: bool) -> None:
    """Load demo accounts and print the demo logins."""
    from amtsweg.demo import DemoRefused, load_demo_data

    try:
        logins = load_demo_data(only_if_empty=if_empty)
        if logins:
            _load_module_demos()
    except DemoRefused as error:
        raise click.ClickException(str(error)) from None
    _print_logins(logins)


def _load_module_demos() -> None:
    """Cases, payments and orders to look at: two UVG cases (one granted and paid, one waiting
    for its check), a recovery file with its first letters, orders in every approval step, one
    transfer through the treasury simulator and back, and last the demo citizen's own online
    application, granted (so no payment run above includes it)."""
    from amtsweg.demo import DEMO_CITIZEN_EMAIL
    from amtsweg.extensions import db
    from backoffice.uvg.case_demo import load_demo as load_uvg_cases
    from backoffice.uvg.money_demo import load_demo as load_uvg_money
    from ihv.demo import load_demo as load_orders
    from ihv.transfer.demo import load_demo as load_transfer
    from portal.demo import load_demo as load_citizen_application

    cases = load_uvg_cases()
    db.session.commit()
    load_uvg_money()
    db.session.commit()
    load_orders(fall_ids=[case.id for case in cases])
    db.session.commit()
    load_transfer()
    db.session.commit()
    load_citizen_application(DEMO_CITIZEN_EMAIL, "clearing")


def _print_logins(logins: list[dict[str, Any]]) -> None:
    if not logins:
        click.echo("Demo data already present; logins as printed when it was loaded "
                   "(see README, 'Demo logins').")
        return
    click.echo("Demo logins:")
    for login in logins:
        click.echo(f"  {login['kind']:<8} {login['login']:<32} {login['password']:<20} "
                   f"{login['description']}")


def _register_subcommands() -> None:
    from amtsweg.mail_cli import mail_group
    from amtsweg.staff.cli import fachbereich_group, staff_group
    from backoffice.cli import retention_group
    from backoffice.uvg.cli import uvg_group
    from clearing.cli import clearing_group
    from ihv.cli import ihv_group
    from portal.cli import portal_group
    from storage.cli import storage_group

    main.add_command(clearing_group)
    main.add_command(mail_group)
    main.add_command(portal_group)
    main.add_command(retention_group)
    main.add_command(staff_group)
    main.add_command(storage_group)
    main.add_command(fachbereich_group)
    main.add_command(ihv_group)
    main.add_command(uvg_group)


_register_subcommands()
