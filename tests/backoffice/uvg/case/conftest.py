"""The UVG case as the office meets it: an online application, routed by clearing, checked,
calculated, decided. Dates are fixed; ``TODAY`` is passed to every service that asks."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest

import amtsweg.office.models  # noqa: F401  (schema for PostgreSQL's session fixture)
import backoffice.decisions.models
import backoffice.uvg.models
import backoffice.uvg.payment_models  # noqa: F401
from amtsweg.audit.services import SYSTEM
from amtsweg.citizens.models import Citizen
from amtsweg.extensions import db
from amtsweg.fachbereiche import fachbereich_by_code
from amtsweg.staff.models import Role, Staff
from backoffice.models import Fall
from backoffice.uvg import case_services as services
from backoffice.uvg.models import UvgChild
from clearing.models import EingangKind
from clearing.queue import start_of_berlin_day
from clearing.triage import RouteTarget, claim, route
from portal.services import AttachedDocument, Party, submit
from storage.services import store_upload
from tests.backoffice.support import pdf

TODAY = date(2026, 11, 26)
IBAN = "DE89370400440532013000"


def answers(**overrides: Any) -> dict[str, Any]:
    """A complete application for one child, Lea (born 14.03.2018), as the portal stores it."""
    values: dict[str, Any] = {
        "children": [{"id": "k1", "person": {
            "first_name": "Lea", "last_name": "Müller", "birth_date": "2018-03-14",
            "nationality": "german", "living_since": "2018-03-14"}}],
        "applicant": {"first_name": "Sabine", "last_name": "Müller",
                      "birth_date": "1990-07-01", "street": "Hauptstraße 1",
                      "postcode": "97437", "city": "Haßfurt", "email": "s@example.org",
                      "marital_status": "separated", "marital_since": "2023-01-01",
                      "lives_with_other_parent": "no"},
        "other_parent": {"first_name": "Tom", "last_name": "Schmidt", "address_known": "no",
                         "maintenance_paid": "irregular", "maintenance_amount": 5000},
        "orphan": {"receives": "no"},
        "earlier": {"received_before": "no"},
        "benefits": {},
        "bank": {"account_holder": "Sabine Müller", "iban": IBAN},
        "declarations": {"report_changes": True, "repayment": True, "truthful": True,
                         "consent": True},
    }
    values.update(overrides)
    return values


APPLICANT = Party("applicant", "Sabine", "Müller", "1990-07-01", "Hauptstraße 1\n97437 Haßfurt")
CHILD = Party("child", "Lea", "Müller", "2018-03-14")


@pytest.fixture
def caseworker(create_staff: Callable[..., Staff]) -> Staff:
    return create_staff("sachbearbeiterin", roles=(Role.CASEWORKER,), fachbereiche=("uvg",),
                        full_name="Erika Sachbearbeiterin")


@pytest.fixture
def clerk(create_staff: Callable[..., Staff]) -> Staff:
    return create_staff("clearing", roles=(Role.CLEARING,), fachbereiche=("uvg",))


@pytest.fixture
def applied_case(app: Any, app_ctx: None, create_citizen: Callable[..., Citizen],
                 clerk: Staff) -> Callable[..., Fall]:
    """Submit an application in the portal and route it to a new UVG case."""
    counter = iter(range(1, 1000))

    def factory(values: dict[str, Any] | None = None, *, with_documents: bool = False,
                parties: tuple[Party, ...] = (CHILD, APPLICANT)) -> Fall:
        number = next(counter)
        citizen = db.session.merge(create_citizen(f"antrag{number}@example.org"))
        documents = []
        if with_documents:
            birth = store_upload(io.BytesIO(pdf("Geburtsurkunde Lea")), "geburtsurkunde.pdf",
                                 SYSTEM)
            separation = store_upload(io.BytesIO(pdf("Trennung")), "trennung.pdf", SYSTEM)
            documents = [AttachedDocument(birth, "birth_certificate:k1", "Geburtsurkunde Lea"),
                         AttachedDocument(separation, "separation_proof", "Trennungsnachweis")]
        submission = submit(citizen=citizen, kind=EingangKind.NEUANTRAG,
                            title="Antrag auf Unterhaltsvorschuss",
                            idempotency_key=f"uvg-antrag-{number:04d}-abcdef",
                            sender_name="Sabine Müller", service_code="uvg",
                            answers=values if values is not None else answers(),
                            documents=documents, parties=list(parties))
        # Arrived on TODAY, not on the day the suite runs: the application date comes from it,
        # and the services refuse an application dated after the TODAY they are given.
        submission.eingang.received_at = start_of_berlin_day(TODAY) + timedelta(hours=12)
        staff = db.session.merge(clerk)
        claimed = claim(submission.eingang.id, staff)
        fachbereich = fachbereich_by_code("uvg")
        assert fachbereich is not None
        routed = route(submission.eingang.id, claimed.version, RouteTarget(fachbereich.id),
                       staff)
        db.session.commit()
        fall = db.session.get(Fall, routed.fall_id)
        assert fall is not None
        return fall

    return factory


def taken_over(fall: Fall) -> UvgChild:
    result = services.take_over_children(fall, SYSTEM)
    db.session.commit()
    return result.created[0]


def confirm(child: UvgChild, **overrides: Any) -> None:
    values: dict[str, Any] = {
        "birth_date": child.birth_date, "application_date": child.application_date,
        "requested_from": None, "maintenance_cents": child.maintenance_cents,
        "orphan_benefit_cents": child.orphan_benefit_cents,
        "child_income_cents": child.child_income_cents, "left_school": child.left_school,
        "trainee": child.trainee, "payee_name": child.payee_name,
        "payee_iban": child.payee_iban or IBAN}
    values.update(overrides)
    services.confirm_facts(child, services.ConfirmedFacts(**values), SYSTEM, today=TODAY)
    db.session.commit()
