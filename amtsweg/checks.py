"""Dependency checks for ``amtsweg check``: each names what it tried and what it found."""

from __future__ import annotations

from collections.abc import Iterator

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask
from flask_migrate import Migrate
from sqlalchemy import text

from amtsweg.assets import KERN_DIST
from amtsweg.config import Settings, mask_url_password
from amtsweg.extensions import db

CheckResult = tuple[str, bool, str]


def _database(settings: Settings) -> CheckResult:
    try:
        db.session.execute(text("SELECT 1"))
    except Exception as error:
        db.session.rollback()
        return "database", False, f"{mask_url_password(settings.database_url)}: {error}"
    return "database", True, mask_url_password(settings.database_url)


def _migrations(app: Flask) -> CheckResult:
    migrate: Migrate = app.extensions["migrate"].migrate
    config = migrate.get_config()
    head = ScriptDirectory.from_config(config).get_current_head()
    try:
        with db.engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
    except Exception as error:
        return "migrations", False, str(error)
    if current != head:
        return "migrations", False, f"database at {current}, code at {head}: run amtsweg db upgrade"
    return "migrations", True, f"at head {head}"


def _registered(app: Flask) -> Iterator[CheckResult]:
    for name, check in app.extensions.get("amtsweg_health", {}).items():
        try:
            check()
        except Exception as error:
            yield name, False, f"{type(error).__name__}: {error}"
        else:
            yield name, True, "reachable"


def _mail(app: Flask) -> CheckResult:
    from amtsweg import mail

    try:
        detail = mail.check_connection(app)
    except Exception as error:
        return "mail", False, f"{type(error).__name__}: {error}"
    return "mail", True, detail


def _rate_limits(settings: Settings) -> CheckResult:
    url = settings.ratelimit_storage_url
    if url.startswith("memory"):
        return "rate limits", True, "in memory (one process only; use Redis in production)"
    import redis

    try:
        redis.Redis.from_url(url, socket_timeout=3).ping()
    except Exception as error:
        return "rate limits", False, f"{mask_url_password(url)}: {error}"
    return "rate limits", True, mask_url_password(url)


def _assets() -> CheckResult:
    css = KERN_DIST / "kern.min.css"
    if not css.is_file():
        return "KERN assets", False, f"{css} missing: run make install"
    return "KERN assets", True, str(KERN_DIST)


def run_checks(app: Flask) -> Iterator[CheckResult]:
    settings: Settings = app.config["AMTSWEG"]
    yield _database(settings)
    yield _migrations(app)
    yield from _registered(app)
    yield _mail(app)
    yield _rate_limits(settings)
    yield _assets()
