"""Demo data for payments and recovery: a granted UVG case with a liable parent, this month's
payment run, and the Rechtswahrungsanzeige and Anhörung on that case.

Called by the lead's demo loader after ``backoffice.uvg.case_demo.load_demo`` (whose granted
case is paid by the same run); the caller commits.
"""

from __future__ import annotations

from datetime import date, timedelta

from amtsweg.audit.services import SYSTEM
from amtsweg.clock import berlin_today
from amtsweg.fachbereiche import fachbereich_by_code
from backoffice.models import Fall, PartyRole
from backoffice.services import PartyData, open_case
from backoffice.uvg import case_services
from backoffice.uvg.case_demo import grant_for_demo
from backoffice.uvg.payments import RunReport, run_payments
from backoffice.uvg.recovery import send_anhoerung, send_rechtswahrungsanzeige


def _granted_case_with_liable_parent(today: date) -> Fall:
    fachbereich = fachbereich_by_code(case_services.UVG_CODE)
    if fachbereich is None:
        raise RuntimeError("Seed the Fachbereiche first (amtsweg.fachbereiche).")
    fall = open_case(
        fachbereich=fachbereich, responsible=None, actor=SYSTEM, source_eingang_id=None,
        title="Antrag auf Unterhaltsvorschuss (Papier)",
        parties=[PartyData("child", "Lea", "Demo", (today - timedelta(days=5 * 365))
                           .isoformat()),
                 PartyData("applicant", "Sabine", "Demo", "1990-07-01",
                           "Hauptstraße 1\n97437 Haßfurt"),
                 PartyData("other_parent", "Jan", "Schmidt", "1988-01-01",
                           "Lindenweg 5\n97437 Haßfurt")])
    grant_for_demo(fall, "Sabine Demo", "Nachweis in der Papierakte geprüft", today)
    return fall


def load_demo(today: date | None = None) -> RunReport:
    """Open the demo recovery case, pay this month for every granted UVG case (the month
    before comes as a back payment, § 4 UVG) and write the first two recovery letters."""
    today = today or berlin_today()
    fall = _granted_case_with_liable_parent(today)
    report = run_payments(today.replace(day=1), SYSTEM, today=today)
    parent = next(p for p in fall.parties if p.role is PartyRole.OTHER_PARENT)
    send_rechtswahrungsanzeige(fall, parent, today, SYSTEM, today=today)
    send_anhoerung(fall, parent, today, today + timedelta(days=14), SYSTEM, today=today)
    return report
