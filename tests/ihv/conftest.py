"""Factories for orders: staff with the finance roles and ``create_order(...)`` through the real
service."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from flask import Flask

import amtsweg.postbox.models  # noqa: F401
import backoffice.models  # noqa: F401
import clearing.models  # noqa: F401
import portal.models  # noqa: F401
from amtsweg.extensions import db
from amtsweg.staff.models import Role, Staff
from ihv import services
from ihv.models import Direction, Sollstellung
from tests.backoffice.conftest import case_factory

IBAN = "DE89370400440532013000"
BIC = "COBADEFFXXX"
HAUSHALTSSTELLE = "70 55/101 38-1"


@pytest.fixture
def create_case(app: Flask) -> Callable[..., Any]:
    return case_factory(app)


@pytest.fixture
def finance(create_staff: Callable[..., Staff]) -> dict[str, Staff]:
    """The office's finance people: a caseworker, a Feststellerin, an Anordnungsbefugter."""
    return {
        "caseworker": create_staff("sachbearbeitung", roles=(Role.CASEWORKER,)),
        "feststeller": create_staff("feststellung", roles=(Role.FESTSTELLER,), fachbereiche=()),
        "anordner": create_staff("anordnung", roles=(Role.ANORDNER,), fachbereiche=()),
        "both": create_staff("pruefung", roles=(Role.FESTSTELLER, Role.ANORDNER),
                             fachbereiche=()),
    }


def order_kwargs(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "direction": Direction.AUSZAHLUNG, "amount_cents": 22_700,
        "due_date": date(2026, 3, 1), "haushaltsstelle": HAUSHALTSSTELLE,
        "party_name": "Sabine Müller", "party_street": "Hauptstraße 1",
        "party_postcode": "97437", "party_city": "Haßfurt", "iban": IBAN, "bic": BIC,
    }
    values.update(overrides)
    return values


@pytest.fixture
def create_order(app: Flask) -> Callable[..., Sollstellung]:
    """Raise an order through the service and commit; use inside an app context."""

    def factory(actor: Staff | None = None, **overrides: Any) -> Sollstellung:
        if actor is not None:
            actor = db.session.merge(actor)
        order = services.create_order(actor, **order_kwargs(**overrides))
        db.session.commit()
        return order

    return factory


def staff_in_session(staff: Staff) -> Staff:
    return db.session.merge(staff)
