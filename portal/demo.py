"""Demo data for the citizen side: the demo citizen's online UVG application, routed, checked and
granted, so "Meine Anträge" says "entschieden" and the postbox holds the Bescheid.

Called by the demo loader after the accounts exist and the other demos are in; it commits (the
submission commits itself, as a real one does).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import select

from amtsweg.citizens.models import Citizen
from amtsweg.clock import berlin_today
from amtsweg.extensions import db
from amtsweg.fachbereiche import fachbereich_by_code
from amtsweg.staff.models import Staff
from amtsweg.translate import gettext as _
from backoffice.models import Fall
from backoffice.uvg import case_services as services
from backoffice.uvg.case_demo import DEMO_IBAN, grant_for_demo
from clearing.models import EingangKind
from clearing.triage import RouteTarget, claim, route
from portal.receipt import SummarySection
from portal.services import submit
from portal.uvg import summary


def _answers(today: date) -> dict[str, Any]:
    """One child of five, as the portal stores the answers (ISO dates, amounts in cents)."""
    born = (today - timedelta(days=5 * 365 + 100)).isoformat()
    return {
        "children": [{"id": "k1", "person": {
            "first_name": "Lena", "last_name": "Bürger", "birth_date": born,
            "nationality": "german", "living_since": born}}],
        "applicant": {"first_name": "Sabine", "last_name": "Bürger", "birth_date": "1991-02-17",
                      "street": "Lindenweg 12", "postcode": "97437", "city": "Haßfurt",
                      "email": "buergerin@example.org", "marital_status": "separated",
                      "marital_since": (today - timedelta(days=400)).isoformat(),
                      "lives_with_other_parent": "no"},
        "other_parent": {"first_name": "Tobias", "last_name": "Bürger", "address_known": "no",
                         "maintenance_paid": "no"},
        "orphan": {"receives": "no"},
        "earlier": {"received_before": "no"},
        "benefits": {},
        "bank": {"account_holder": "Sabine Bürger", "iban": DEMO_IBAN},
        "declarations": {"report_changes": True, "repayment": True, "truthful": True,
                         "consent": True},
    }


def load_demo(citizen_email: str, clerk_username: str, today: date | None = None) -> Fall | None:
    """Submit, route, check and grant; the case, or ``None`` without the demo accounts."""
    citizen = db.session.scalar(select(Citizen).where(Citizen.email == citizen_email))
    clerk = db.session.scalar(select(Staff).where(Staff.username == clerk_username))
    fachbereich = fachbereich_by_code(services.UVG_CODE)
    if citizen is None or clerk is None or fachbereich is None:
        return None
    today = today or berlin_today()
    answers = _answers(today)
    sections = [SummarySection(group.title, [(entry.label, entry.value)
                                             for entry in group.entries])
                for group in summary.build_groups(answers, today, citizen.email)]
    submission = submit(citizen=citizen, kind=EingangKind.NEUANTRAG,
                        title=_("Application for Unterhaltsvorschuss"),
                        idempotency_key="demo-uvg-application-of-the-demo-citizen",
                        sender_name="Sabine Bürger", service_code=services.UVG_CODE,
                        answers=answers, summary=sections, parties=summary.parties(answers))
    claimed = claim(submission.eingang_id, clerk)
    routed = route(submission.eingang_id, claimed.version, RouteTarget(fachbereich.id), clerk)
    fall = db.session.get(Fall, routed.fall_id)
    assert fall is not None
    grant_for_demo(fall, "Sabine Bürger", "Nachweise in der E-Akte geprüft", today)
    db.session.commit()
    return fall
