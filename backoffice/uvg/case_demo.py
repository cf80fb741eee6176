"""Demo data for the UVG case: one paper case with a granted child, one waiting for its check.

Called by the lead's demo loader after the Fachbereiche exist; the caller commits.
"""

from __future__ import annotations

from datetime import date, timedelta

from amtsweg.audit.services import SYSTEM
from amtsweg.clock import berlin_today
from amtsweg.fachbereiche import fachbereich_by_code
from backoffice.decisions.models import DecisionKind
from backoffice.decisions.services import issue_decision
from backoffice.models import Fall
from backoffice.services import PartyData, open_case
from backoffice.uvg import case_services as services
from backoffice.uvg.models import ConditionState, UvgChild

DEMO_IBAN = "DE89370400440532013000"


def grant_for_demo(fall: Fall, payee_name: str, finding: str, today: date, *,
                   maintenance_cents: int = 0) -> UvgChild:
    """Take the case's first child over, confirm its facts, find every condition met (with
    ``finding`` as the note), calculate and issue the Bewilligung: what a caseworker does."""
    child = services.take_over_children(fall, SYSTEM).created[0]
    services.confirm_facts(child, services.ConfirmedFacts(
        birth_date=child.birth_date, application_date=today, requested_from=None,
        maintenance_cents=maintenance_cents, orphan_benefit_cents=0, child_income_cents=0,
        left_school=False, trainee=False, payee_name=payee_name, payee_iban=DEMO_IBAN),
        SYSTEM, today=today)
    for result in services.checklist_of(child, services.application_of(fall), {}):
        services.assess_condition(child, result.code, ConditionState.MET, finding, SYSTEM)
    services.calculate_child(child, SYSTEM, today=today)
    issue_decision(services.prepare_decision(fall, DecisionKind.BEWILLIGUNG, SYSTEM), SYSTEM,
                   today=today)
    return child


def load_demo(today: date | None = None) -> list[Fall]:
    """Open two UVG cases: Mia Beispiel (granted, 50 EUR maintenance deducted) and Noah
    Muster (children taken over, facts still to confirm). Returns the cases."""
    today = today or berlin_today()
    fachbereich = fachbereich_by_code(services.UVG_CODE)
    if fachbereich is None:
        raise RuntimeError("Seed the Fachbereiche first (amtsweg.fachbereiche).")
    granted = open_case(
        fachbereich=fachbereich, responsible=None, actor=SYSTEM, source_eingang_id=None,
        title="Antrag auf Unterhaltsvorschuss (Papier)",
        parties=[PartyData("child", "Mia", "Beispiel", (today - timedelta(days=7 * 365))
                           .isoformat()),
                 PartyData("applicant", "Petra", "Beispiel", "1989-05-04",
                           "Bahnhofstraße 3\n97437 Haßfurt")])
    # A paper application has no answers: the caseworker checked each condition on paper.
    grant_for_demo(granted, "Petra Beispiel", "Nachweis in der Papierakte geprüft", today,
                   maintenance_cents=5_000)
    waiting = open_case(
        fachbereich=fachbereich, responsible=None, actor=SYSTEM, source_eingang_id=None,
        title="Antrag auf Unterhaltsvorschuss (Papier)",
        parties=[PartyData("child", "Noah", "Muster", (today - timedelta(days=3 * 365))
                           .isoformat()),
                 PartyData("applicant", "Jana", "Muster", "1994-09-12",
                           "Am Markt 7\n97437 Haßfurt")])
    services.take_over_children(waiting, SYSTEM)
    return [granted, waiting]
