"""Error pages in the site's layout, in German, for every status a visitor can meet."""

from __future__ import annotations

import logging

from flask import Flask, render_template, request
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DatabaseError, DataError, InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError, ServiceUnavailable

from amtsweg.extensions import db

log = logging.getLogger(__name__)

HANDLED = (400, 403, 404, 405, 413, 429, 500, 503)


def _render(status: int, **context: object) -> ResponseReturnValue:
    return render_template(f"errors/{status}.html", status=status, **context), status


def _http_error(error: HTTPException) -> ResponseReturnValue:
    status = error.code or 500
    if status not in HANDLED:
        return error
    return _render(status)


def _csrf_error(error: CSRFError) -> ResponseReturnValue:
    # An expired or missing token: say so plainly and let the visitor go back and send again.
    log.info("CSRF check failed on %s %s", request.method, request.path)
    return render_template("errors/csrf.html", status=400), 400


def _database_down(error: Exception) -> ResponseReturnValue:
    # Log the class only: a statement's parameters may carry social data.
    log.error("database unavailable: %s", type(error).__name__)
    db.session.rollback()
    return _render(503, reason="database")


def _database_error(error: DatabaseError) -> ResponseReturnValue:
    # The driver's plain DatabaseError, no subclass of it, is what SQLite raises for a file that
    # cannot be read as a database ("file is not a database", "disk image is malformed"): the
    # database is unavailable, as when a server is down. Integrity and programming errors stay
    # 500s.
    if type(error) is DatabaseError:
        return _database_down(error)
    return _unexpected(error)


def _input_refused_by_database(error: DataError) -> ResponseReturnValue:
    # PostgreSQL refuses what SQLite stores: a NUL byte in text, a number beyond its column.
    # A form that let such a value through gets "bad request", and nothing of the request is
    # kept; the class alone is logged, the value may be social data.
    log.warning("input refused by the database on %s %s: %s", request.method, request.path,
                type(error.orig).__name__)
    db.session.rollback()
    return _render(400)


def _unexpected(error: Exception) -> ResponseReturnValue:
    if isinstance(error, HTTPException):
        return _http_error(error)
    log.exception("unhandled error on %s %s", request.method, request.path)
    db.session.rollback()
    return _render(500)


def init_app(app: Flask) -> None:
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(OperationalError, _database_down)
    app.register_error_handler(InterfaceError, _database_down)
    app.register_error_handler(DatabaseError, _database_error)
    app.register_error_handler(DataError, _input_refused_by_database)
    app.register_error_handler(InternalServerError, lambda e: _render(500))
    app.register_error_handler(ServiceUnavailable, lambda e: _render(503))
    app.register_error_handler(Exception, _unexpected)
