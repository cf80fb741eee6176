"""``GET /healthz``: is the database reachable, is the document storage reachable."""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Blueprint, Flask, current_app, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import text

from amtsweg.extensions import db, limiter

log = logging.getLogger(__name__)

bp = Blueprint("health", __name__)

HealthCheck = Callable[[], None]


def register_check(app: Flask, name: str, check: HealthCheck) -> None:
    """Let a lower package (storage) add its own check without ``amtsweg`` importing it."""
    app.extensions.setdefault("amtsweg_health", {})[name] = check


def _check_database() -> None:
    # "SELECT 1" never reads an SQLite file; its schema version lives in the file's header, so
    # asking for it also reports a file that can no longer be read as a database.
    probe = "PRAGMA schema_version" if db.engine.dialect.name == "sqlite" else "SELECT 1"
    db.session.execute(text(probe))


@bp.get("/healthz")
@limiter.exempt
def healthz() -> ResponseReturnValue:
    checks: dict[str, HealthCheck] = {"database": _check_database,
                                      **current_app.extensions.get("amtsweg_health", {})}
    result: dict[str, str] = {}
    for name, check in checks.items():
        try:
            check()
            result[name] = "ok"
        except Exception as error:  # any failure of a dependency makes the whole answer 503
            log.warning("health check %s failed: %s", name, type(error).__name__)
            if name == "database":
                db.session.rollback()
            result[name] = "unavailable"
    healthy = all(state == "ok" for state in result.values())
    status = "ok" if healthy else "unavailable"
    return jsonify({"status": status, **result}), 200 if healthy else 503
