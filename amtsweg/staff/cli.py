"""``amtsweg staff …`` and ``amtsweg fachbereich …``: the same services as the admin pages."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, NoReturn

import click
from flask.cli import with_appcontext

from amtsweg.audit.services import SYSTEM
from amtsweg.extensions import db
from amtsweg.fachbereiche import fachbereich_by_code
from amtsweg.staff import services
from amtsweg.staff.models import Fachbereich, Role, Staff
from amtsweg.staff.services import StaffDetails, StaffError

staff_group = click.Group("staff", help="Manage staff accounts.")
fachbereich_group = click.Group("fachbereich", help="Manage Fachbereiche.")

ROLE_HELP = "Role (repeatable): " + ", ".join(role.value for role in Role)


def _fail(message: str) -> NoReturn:
    db.session.rollback()
    raise click.ClickException(message)


def _find_staff(username: str) -> Staff:
    staff = services.staff_by_username(username)
    if staff is None:
        _fail(f"No staff member with the username {username!r}.")
    return staff


def _run(action: Callable[[], Any]) -> Any:
    try:
        return action()
    except StaffError as error:
        _fail(str(error))


def _roles(names: tuple[str, ...]) -> set[Role]:
    result: set[Role] = _run(lambda: services.parse_roles(names))
    return result


def _fachbereiche(codes: tuple[str, ...]) -> list[Fachbereich]:
    result: list[Fachbereich] = _run(lambda: services.fachbereiche_by_codes(codes))
    return result


def _read_password(from_stdin: bool) -> str | None:
    if not from_stdin:
        return None
    # Only the first line: a trailing newline from `echo` is not part of the password.
    return sys.stdin.readline().rstrip("\r\n")


@staff_group.command("create")
@click.option("--username", required=True)
@click.option("--full-name", required=True)
@click.option("--email", default=None)
@click.option("--role", "roles", multiple=True, help=ROLE_HELP)
@click.option("--fachbereich", "codes", multiple=True, help="Fachbereich code (repeatable).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@with_appcontext
def create_command(username: str, full_name: str, email: str | None, roles: tuple[str, ...],
                   codes: tuple[str, ...], password_stdin: bool) -> None:
    """Create a staff account; print a generated password unless one is given on stdin."""
    details = StaffDetails(full_name=full_name, email=email, roles=_roles(roles),
                           fachbereiche=_fachbereiche(codes))
    password = _read_password(password_stdin)
    staff, initial = _run(lambda: services.create_staff(username, details, SYSTEM, password))
    click.echo(f"Created staff member {staff.username} (id {staff.id}).")
    if password is None:
        click.echo(f"Initial password (shown once): {initial}")


@staff_group.command("list")
@with_appcontext
def list_command() -> None:
    """List every staff account with roles, Fachbereiche and status."""
    for staff in services.search_staff():
        status = "active" if staff.active else "inactive"
        if services.is_locked(staff):
            status += ",locked"
        roles = ",".join(sorted(role.value for role in staff.roles)) or "-"
        codes = ",".join(sorted(fb.code for fb in staff.fachbereiche)) or "-"
        click.echo(f"{staff.username}\t{staff.full_name}\t{roles}\t{codes}\t{status}")


@staff_group.command("set-roles")
@click.argument("username")
@click.option("--role", "roles", multiple=True, help=ROLE_HELP)
@with_appcontext
def set_roles_command(username: str, roles: tuple[str, ...]) -> None:
    """Replace the roles of USERNAME (no --role: no roles)."""
    staff = _find_staff(username)
    wanted = _roles(roles)
    _run(lambda: services.set_roles(staff, wanted, SYSTEM))
    click.echo(f"Roles of {staff.username}: {', '.join(sorted(wanted)) or '-'}")


@staff_group.command("set-fachbereiche")
@click.argument("username")
@click.option("--fachbereich", "codes", multiple=True, help="Fachbereich code (repeatable).")
@with_appcontext
def set_fachbereiche_command(username: str, codes: tuple[str, ...]) -> None:
    """Replace the Fachbereiche of USERNAME (no --fachbereich: none)."""
    staff = _find_staff(username)
    fachbereiche = _fachbereiche(codes)
    _run(lambda: services.set_fachbereiche(staff, fachbereiche, SYSTEM))
    click.echo(f"Fachbereiche of {staff.username}: "
               f"{', '.join(sorted(fb.code for fb in fachbereiche)) or '-'}")


def _simple(name: str, action: Callable[[Staff, Any], None], done: str) -> None:
    @staff_group.command(name)
    @click.argument("username")
    @with_appcontext
    def command(username: str) -> None:
        staff = _find_staff(username)
        _run(lambda: action(staff, SYSTEM))
        click.echo(done.format(username=staff.username))

    command.__doc__ = done.format(username="USERNAME")


_simple("deactivate", services.deactivate_staff, "Deactivated {username}; sessions ended.")
_simple("activate", services.activate_staff, "Activated {username}.")
_simple("unlock", services.unlock_staff, "Unlocked {username}.")
_simple("reset-totp", services.reset_totp, "Reset the second factor of {username}.")


@staff_group.command("reset-password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the new password from standard input.")
@with_appcontext
def reset_password_command(username: str, password_stdin: bool) -> None:
    """Set a new password for USERNAME (generated and printed unless given on stdin)."""
    staff = _find_staff(username)
    password = _read_password(password_stdin)
    new_password = _run(lambda: services.reset_password(staff, SYSTEM, password))
    click.echo(f"Password of {staff.username} reset; sessions ended.")
    if password is None:
        click.echo(f"New password (shown once): {new_password}")


@fachbereich_group.command("list")
@with_appcontext
def fachbereich_list_command() -> None:
    """List the Fachbereiche with code, name and retention years."""
    for fachbereich in services.all_fachbereiche():
        click.echo(f"{fachbereich.code}\t{fachbereich.name}\t{fachbereich.retention_years}")


@fachbereich_group.command("create")
@click.option("--code", required=True)
@click.option("--name", required=True)
@click.option("--retention-years", type=click.IntRange(1, 100), default=10, show_default=True)
@with_appcontext
def fachbereich_create_command(code: str, name: str, retention_years: int) -> None:
    """Create a Fachbereich."""
    fachbereich = _run(lambda: services.create_fachbereich(code, name, retention_years, SYSTEM))
    click.echo(f"Created Fachbereich {fachbereich.code}.")


@fachbereich_group.command("rename")
@click.argument("code")
@click.option("--name", required=True)
@click.option("--retention-years", type=click.IntRange(1, 100), default=None)
@with_appcontext
def fachbereich_rename_command(code: str, name: str, retention_years: int | None) -> None:
    """Rename the Fachbereich CODE (and optionally change its retention period)."""
    fachbereich = fachbereich_by_code(code.strip().lower())
    if fachbereich is None:
        _fail(f"No Fachbereich with the code {code!r}.")
    years = retention_years if retention_years is not None else fachbereich.retention_years
    _run(lambda: services.update_fachbereich(fachbereich, name, years, SYSTEM))
    click.echo(f"Fachbereich {fachbereich.code} is now called {fachbereich.name!r}.")
