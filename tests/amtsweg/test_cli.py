"""The `amtsweg` entry point: check, demo-data, db upgrade."""

from __future__ import annotations

import json
from pathlib import Path

from flask.cli import ScriptInfo
from flask_migrate import upgrade
from sqlalchemy import func, select

from amtsweg.app import create_app
from amtsweg.citizens.models import Citizen
from amtsweg.cli import main
from amtsweg.demo import DEMO_CITIZEN_EMAIL, DEMO_PASSWORD, DEMO_STAFF
from amtsweg.extensions import db
from amtsweg.passwords import verify_password
from amtsweg.postbox.models import PostboxKind
from amtsweg.staff.models import Role, Staff
from portal.models import Submission
from portal.status import DECIDED, bescheide_for, submission_status
from tests.conftest import make_settings


def _invoke(app, *args: str):
    from click.testing import CliRunner

    return CliRunner().invoke(main, list(args), obj=ScriptInfo(create_app=lambda: app))


def _migrated_app(tmp_path: Path, **overrides):
    app = create_app(make_settings(tmp_path, f"sqlite:///{tmp_path / 'cli.sqlite3'}", **overrides))
    with app.app_context():
        upgrade()
    return app


def test_check_prints_config_without_secrets_and_every_dependency_ok(tmp_path: Path) -> None:
    app = _migrated_app(tmp_path)
    result = _invoke(app, "check")
    assert result.exit_code == 0, result.output
    config_text, _, checks = result.output.partition("\nok  ")
    config = json.loads(config_text)
    assert config["secret_key"] == "***"
    assert "t" * 40 not in result.output
    lines = ("ok  " + checks).strip().splitlines()
    names = [line.split(":")[0].split(None, 1)[1] for line in lines]
    assert names == ["database", "migrations", "storage", "mail", "rate limits", "KERN assets"]
    assert all(line.startswith("ok  ") for line in lines)


def test_check_fails_when_migrations_are_missing(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path, f"sqlite:///{tmp_path / 'empty.sqlite3'}"))
    result = _invoke(app, "check")
    assert result.exit_code == 1
    assert "FAIL  migrations" in result.output


def test_demo_data_loads_once_and_prints_logins(tmp_path: Path) -> None:
    app = _migrated_app(tmp_path)
    first = _invoke(app, "demo-data", "--if-empty")
    assert first.exit_code == 0, first.output
    for username, *_ in DEMO_STAFF:
        assert username in first.output
    assert DEMO_PASSWORD in first.output
    second = _invoke(app, "demo-data", "--if-empty")
    assert second.exit_code == 0
    assert "already present" in second.output
    with app.app_context():
        assert db.session.scalar(select(func.count(Staff.id))) == len(DEMO_STAFF)
        admin = db.session.scalar(select(Staff).where(Staff.username == "admin"))
        assert admin is not None
        assert admin.roles == {Role.ADMIN}
        assert verify_password(admin.password_hash, DEMO_PASSWORD)
        # The demo citizen's own application went all the way: "entschieden", the Bescheid in
        # the postbox (loaded once: the second run added nothing).
        citizen = db.session.scalar(select(Citizen).where(Citizen.email == DEMO_CITIZEN_EMAIL))
        assert citizen is not None
        [submission] = db.session.scalars(
            select(Submission).where(Submission.citizen_id == citizen.id)).all()
        [bescheid] = bescheide_for([submission], citizen.id).values()
        assert bescheid.kind is PostboxKind.BESCHEID
        assert submission_status(submission, bescheid) is DECIDED


def test_demo_data_is_refused_in_production(tmp_path: Path) -> None:
    app = _migrated_app(tmp_path)
    app.config["AMTSWEG"] = app.config["AMTSWEG"].with_overrides(environment="production")
    result = _invoke(app, "demo-data")
    assert result.exit_code == 1
    assert "never loaded in production" in result.output
