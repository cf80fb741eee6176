"""Helpers for the staff tests: sign in through the real form, read the audit log."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from amtsweg.audit.models import AuditEntry
from amtsweg.extensions import db
from amtsweg.staff.models import Role, Staff
from tests.conftest import PASSWORD, csrf_token, sign_in_staff


def post_form(client: FlaskClient, form_path: str, data: dict[str, Any],
              action: str | None = None, **kwargs: Any) -> Any:
    """Post ``data`` to ``action`` (default ``form_path``) with the token a browser would send."""
    token = csrf_token(client, form_path)
    return client.post(action or form_path, data={"csrf_token": token, **data}, **kwargs)


def log_in(client: FlaskClient, username: str, password: str = PASSWORD,
           **kwargs: Any) -> Any:
    return post_form(client, "/intern/anmelden", {"username": username, "password": password},
                     **kwargs)


def audit_entries(app: Flask, action: str | None = None) -> list[AuditEntry]:
    with app.app_context():
        query = select(AuditEntry).order_by(AuditEntry.id)
        if action is not None:
            query = query.where(AuditEntry.action == action)
        entries = list(db.session.scalars(query))
        for entry in entries:
            db.session.expunge(entry)
        return entries


def reload_staff(app: Flask, staff_id: int) -> Staff:
    with app.app_context():
        staff = db.session.get(Staff, staff_id)
        assert staff is not None
        db.session.expunge(staff)
        return staff


@pytest.fixture
def admin(create_staff: Callable[..., Staff]) -> Staff:
    return create_staff("admina", roles=(Role.ADMIN,), full_name="Anna Admin")


@pytest.fixture
def admin_client(client: FlaskClient, admin: Staff) -> FlaskClient:
    sign_in_staff(client, admin)
    return client


@pytest.fixture
def csrf_app(app: Flask) -> Flask:
    """The app with CSRF protection as in production (it is on in tests too; this checks it)."""
    assert app.config.get("WTF_CSRF_ENABLED", True) is True
    return app
