"""``amtsweg staff …`` and ``amtsweg fachbereich …``: same services, clear errors."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from click.testing import Result
from flask import Flask
from flask.cli import ScriptInfo

from amtsweg.extensions import db
from amtsweg.fachbereiche import fachbereich_by_code
from amtsweg.passwords import verify_password
from amtsweg.staff.cli import fachbereich_group, staff_group
from amtsweg.staff.models import Role, Staff
from amtsweg.staff.services import staff_by_username
from tests.amtsweg.staff.conftest import audit_entries, reload_staff
from tests.conftest import PASSWORD

GROUPS = {"staff": staff_group, "fachbereich": fachbereich_group}


def run(app: Flask, group: str, *args: str, stdin: str | None = None) -> Result:
    """Invoke ``amtsweg GROUP ARGS`` against this test's app, as the real entry point would."""
    return app.test_cli_runner().invoke(GROUPS[group], list(args), input=stdin,
                                        obj=ScriptInfo(create_app=lambda: app))


def test_create_prints_a_generated_password_that_works(app: Flask) -> None:
    result = run(app, "staff", "create", "--username", "Mueller", "--full-name", "Maria Müller",
                 "--email", "maria@example.org", "--role", "caseworker", "--role", "lead",
                 "--fachbereich", "uvg", "--fachbereich", "wohngeld")
    assert result.exit_code == 0, result.output
    password = result.output.split("Initial password (shown once): ")[1].strip()
    with app.app_context():
        staff = staff_by_username("mueller")
        assert staff is not None
        assert staff.roles == {Role.CASEWORKER, Role.LEAD}
        assert sorted(fb.code for fb in staff.fachbereiche) == ["uvg", "wohngeld"]
        assert verify_password(staff.password_hash, password)
    [entry] = audit_entries(app, "staff.created")
    assert entry.actor_name == "System"


def test_create_with_password_from_stdin_prints_no_password(app: Flask) -> None:
    result = run(app, "staff", "create", "--username", "admin", "--full-name", "Admin",
                 "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output
    assert "password" not in result.output.lower()
    with app.app_context():
        staff = staff_by_username("admin")
        assert staff is not None
        assert verify_password(staff.password_hash, PASSWORD)


@pytest.mark.parametrize(("args", "message"), [
    (["--username", "x1", "--full-name", "X", "--role", "king"], "Unknown role: king"),
    (["--username", "x1", "--full-name", "X", "--fachbereich", "nope"],
     "Unknown Fachbereich: nope"),
    (["--username", "staff1", "--full-name", "X"], "The username staff1 is already taken."),
    (["--username", "a" * 500, "--full-name", "X"], "A username has 2 to 64 characters"),
    (["--username", "x1", "--full-name", "   "], "Enter the full name."),
    (["--username", "x1", "--full-name", "X", "--email", "nope"], "Enter a valid e-mail"),
])
def test_create_errors_are_clear_and_change_nothing(
        app: Flask, create_staff: Callable[..., Staff], args: list[str], message: str) -> None:
    create_staff("staff1")
    result = run(app, "staff", "create", *args)
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output
    assert audit_entries(app, "staff.created") == []


def test_short_password_from_stdin_is_refused(app: Flask) -> None:
    result = run(app, "staff", "create", "--username", "x1", "--full-name", "X",
                 "--password-stdin", stdin="kurz\n")
    assert result.exit_code == 1
    assert "between 10 and 256" in result.output


def test_list_set_roles_and_fachbereiche(app: Flask, create_staff: Callable[..., Staff]) -> None:
    staff = create_staff("mueller", roles=(Role.CASEWORKER,), fachbereiche=("uvg",))
    listing = run(app, "staff", "list")
    assert "mueller\tErika Mueller\tcaseworker\tuvg\tactive" in listing.output
    assert run(app, "staff", "set-roles", "mueller", "--role", "feststeller",
               "--role", "anordner").exit_code == 0
    assert run(app, "staff", "set-fachbereiche", "mueller", "--fachbereich", "asd").exit_code == 0
    with app.app_context():
        row = db.session.get(Staff, staff.id)
        assert row is not None
        assert row.roles == {Role.FESTSTELLER, Role.ANORDNER}
        assert [fb.code for fb in row.fachbereiche] == ["asd"]
    [roles_entry] = audit_entries(app, "staff.roles_changed")
    assert roles_entry.before is not None
    assert roles_entry.before["roles"] == ["caseworker"]
    bad = run(app, "staff", "set-roles", "mueller", "--role", "boss")
    assert bad.exit_code == 1
    assert "Unknown role: boss" in bad.output


def test_unknown_username_is_a_clear_error(app: Flask) -> None:
    for command in ("deactivate", "activate", "unlock", "reset-password", "reset-totp",
                    "set-roles", "set-fachbereiche"):
        result = run(app, "staff", command, "niemand")
        assert result.exit_code == 1, command
        assert "No staff member with the username 'niemand'." in result.output


def test_deactivate_activate_unlock_reset(app: Flask, create_staff: Callable[..., Staff]) -> None:
    staff = create_staff("mueller", totp_secret="JBSWY3DPEHPK3PXP")
    assert run(app, "staff", "deactivate", "mueller").exit_code == 0
    stored = reload_staff(app, staff.id)
    assert not stored.active
    assert stored.session_epoch == 1
    assert run(app, "staff", "activate", "mueller").exit_code == 0
    assert reload_staff(app, staff.id).active
    assert run(app, "staff", "unlock", "mueller").exit_code == 0
    assert run(app, "staff", "reset-totp", "mueller").exit_code == 0
    assert reload_staff(app, staff.id).totp_secret is None
    reset = run(app, "staff", "reset-password", "mueller")
    new_password = reset.output.split("New password (shown once): ")[1].strip()
    assert verify_password(reload_staff(app, staff.id).password_hash, new_password)
    actions = [e.action for e in audit_entries(app)]
    assert actions == ["staff.deactivated", "staff.activated", "staff.unlocked",
                       "staff.totp_reset", "staff.password_reset"]


def test_fachbereich_list_create_rename(app: Flask) -> None:
    assert "uvg\tUnterhaltsvorschuss\t10" in run(app, "fachbereich", "list").output
    created = run(app, "fachbereich", "create", "--code", "pflege", "--name", "Pflegekinder",
                  "--retention-years", "25")
    assert created.exit_code == 0, created.output
    renamed = run(app, "fachbereich", "rename", "pflege", "--name", "Pflegekinderdienst")
    assert renamed.exit_code == 0, renamed.output
    with app.app_context():
        fachbereich = fachbereich_by_code("pflege")
        assert fachbereich is not None
        assert fachbereich.name == "Pflegekinderdienst"
        assert fachbereich.retention_years == 25
    duplicate = run(app, "fachbereich", "create", "--code", "uvg", "--name", "Doppelt")
    assert duplicate.exit_code == 1
    assert "The code uvg is already taken." in duplicate.output
    unknown = run(app, "fachbereich", "rename", "nope", "--name", "X")
    assert unknown.exit_code == 1
    assert "No Fachbereich with the code 'nope'." in unknown.output
    out_of_range = run(app, "fachbereich", "create", "--code", "x1", "--name", "X",
                       "--retention-years", "500")
    assert out_of_range.exit_code == 2
    assert [e.action for e in audit_entries(app)] == ["fachbereich.created",
                                                      "fachbereich.updated"]
