"""Factories for decisions: a case routed from a citizen's submission, a paper case, drafts.

The lead registers the ``decisions`` blueprint at integration; until then the tests register it
(and the case pages it links to) on each test's app.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

import amtsweg.office.models  # noqa: F401  (schema for PostgreSQL's session fixture)
import backoffice.decisions.models
import backoffice.retention  # noqa: F401
from amtsweg.audit.services import SYSTEM
from amtsweg.citizens.models import Citizen
from amtsweg.extensions import db
from amtsweg.fachbereiche import fachbereich_by_code
from amtsweg.staff.models import Role, Staff
from backoffice.decisions.models import Decision, DecisionKind
from backoffice.decisions.services import DecisionDraft, create_decision
from backoffice.models import Fall, PartyRole
from clearing.models import EingangKind
from clearing.triage import RouteTarget, claim, route
from portal.services import Party, submit


@pytest.fixture
def caseworker(create_staff: Callable[..., Staff]) -> Staff:
    return create_staff("sachbearbeiterin", roles=(Role.CASEWORKER,), fachbereiche=("uvg",),
                        full_name="Erika Sachbearbeiterin")


@pytest.fixture
def clerk(create_staff: Callable[..., Staff]) -> Staff:
    return create_staff("clearing", roles=(Role.CLEARING,), fachbereiche=("uvg",))


APPLICANT = Party("applicant", "Sabine", "Müller", "1990-07-01",
                  "Hauptstraße 1\n97437 Haßfurt")
CHILD = Party("child", "Lea", "Müller", "2018-03-14")


def submit_and_route(citizen: Citizen, clerk: Staff, *, key: str = "antrag-0001-abcdef"
                     ) -> tuple[Fall, Any]:
    """The real path: the citizen submits in the portal, a clerk routes it to a new UVG case."""
    citizen = db.session.merge(citizen)
    submission = submit(citizen=citizen, kind=EingangKind.NEUANTRAG,
                        title="Antrag auf Unterhaltsvorschuss", idempotency_key=key,
                        sender_name="Sabine Müller", service_code="uvg",
                        parties=[CHILD, APPLICANT])
    eingang_id = submission.eingang.id
    staff = db.session.merge(clerk)
    claimed = claim(eingang_id, staff)
    fachbereich = fachbereich_by_code("uvg")
    assert fachbereich is not None
    routed = route(eingang_id, claimed.version, RouteTarget(fachbereich.id), staff)
    db.session.commit()
    fall = db.session.get(Fall, routed.fall_id)
    assert fall is not None
    return fall, submission


def applicant_of(fall: Fall) -> int:
    return next(party.id for party in fall.parties if party.role is PartyRole.APPLICANT)


def draft_for(fall: Fall, **overrides: Any) -> Decision:
    values: dict[str, Any] = {
        "kind": DecisionKind.ABLEHNUNG,
        "subject": "Bescheid über Unterhaltsvorschuss für Lea Müller",
        "tenor": "Ihr Antrag vom 3.11.2026 auf Unterhaltsvorschuss wird abgelehnt.",
        "begruendung": "Nach § 1 Abs. 3 UVG besteht kein Anspruch, weil Sie mit dem anderen "
                       "Elternteil zusammenleben.",
        "addressee_party_id": applicant_of(fall),
        "decision_date": date(2026, 11, 20),
    }
    values.update(overrides)
    decision = create_decision(fall, DecisionDraft(**values), SYSTEM)
    db.session.commit()
    return decision
