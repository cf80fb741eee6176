"""Clearing fixtures: the app with the clearing blueprint, clerks, leads and queue items."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from amtsweg.audit.services import SYSTEM
from amtsweg.extensions import db
from amtsweg.staff.models import Role, Staff
from clearing.models import Eingang, EingangKind
from clearing.services import Sender, create_eingang
from tests.conftest import sign_in_staff


@pytest.fixture
def clerk(create_staff: Callable[..., Staff]) -> Staff:
    return create_staff("clerk", roles=(Role.CLEARING,), fachbereiche=(),
                        full_name="Clara Clearing")


@pytest.fixture
def other_clerk(create_staff: Callable[..., Staff]) -> Staff:
    return create_staff("clerk2", roles=(Role.CLEARING,), fachbereiche=(),
                        full_name="Otto Zweiter")


@pytest.fixture
def lead(create_staff: Callable[..., Staff]) -> Staff:
    return create_staff("lead", roles=(Role.LEAD,), fachbereiche=(), full_name="Lena Leitung")


@pytest.fixture
def caseworker(create_staff: Callable[..., Staff]) -> Staff:
    return create_staff("sachb", roles=(Role.CASEWORKER,), fachbereiche=("uvg",),
                        full_name="Sabine Sachbearbeiterin")


@pytest.fixture
def as_staff(client: FlaskClient) -> Callable[[Staff], FlaskClient]:
    def sign_in(staff: Staff) -> FlaskClient:
        sign_in_staff(client, staff)
        return client

    return sign_in


PARTIES = [
    {"role": "applicant", "first_name": "Maria", "last_name": "Muster",
     "birth_date": "1990-04-01", "address": "Hauptstr. 1, 97437 Musterstadt"},
    {"role": "child", "first_name": "Lea", "last_name": "Muster", "birth_date": "2019-02-01",
     "address": None},
]


@pytest.fixture
def make_eingang(app: Flask) -> Callable[..., int]:
    """Put an item into the queue and return its id."""

    def factory(*, kind: EingangKind = EingangKind.NEUANTRAG, subject: str = "Antrag auf UVG",
                service_code: str | None = "uvg", sender: str = "Maria Muster",
                citizen_id: int | None = None, received_at: datetime | None = None,
                payload: dict[str, Any] | None = None, related_id: int | None = None,
                message: str = "") -> int:
        with app.app_context():
            related = db.session.get(Eingang, related_id) if related_id else None
            eingang = create_eingang(
                kind=kind, subject=subject, sender=Sender(sender, None, citizen_id),
                actor=SYSTEM, service_code=service_code, message=message,
                payload=payload if payload is not None else {
                    "parties": PARTIES,
                    "summary": [{"title": "Ihr Kind", "rows": [["Vorname", "Lea <b>"]]}],
                    "answers": {"child": {"first_name": "Lea"}}},
                related=related)
            if received_at is not None:
                eingang.received_at = received_at
            db.session.commit()
            return eingang.id

    return factory
