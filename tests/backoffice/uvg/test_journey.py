"""The whole UVG path of issue 7, end to end, with the real services and the IHV simulator.

Sabine Müller applies online for her daughter Lea (born 14.03.2018, 8 years old: the age band
6–11, 2026 table amount 299 EUR); Lea's father Tom Schmidt pays 50 EUR maintenance a month.
Clearing routes the application to a new UVG case; the caseworker checks, calculates and grants;
the Bescheid reaches Sabine's postbox. Three monthly runs (December 2026, January and February
2027) pay, each order established and ordered by two other people, sent to the treasury,
simulated and booked back on the case. In February the father's maintenance rises to 150 EUR
from January: the Änderung and a Rückforderung (§ 5 UVG) follow. The office tells the father
his liability (Rechtswahrungsanzeige, § 7 Abs. 2 UVG), demands payment, and the treasury books a
part of it. The case then shows paid out, claimed, recovered and open, and its timeline each
step.

Dates are fixed and passed as ``today`` to every service that asks, so the test reads as the
office's calendar; the clock only stamps the timeline entries.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

# The whole schema must be known before PostgreSQL's session fixture builds it.
import amtsweg.office.models
import amtsweg.postbox.models  # noqa: F401
import backoffice.decisions.models
import backoffice.uvg.models
import backoffice.uvg.payment_models
import backoffice.uvg.recovery_models  # noqa: F401
import clearing.models  # noqa: F401
import ihv.models  # noqa: F401
import portal.models  # noqa: F401
from amtsweg.audit.models import AuditEntry
from amtsweg.citizens.models import Citizen
from amtsweg.extensions import db
from amtsweg.fachbereiche import fachbereich_by_code
from amtsweg.postbox.models import PostboxKind, PostboxMessage
from amtsweg.sessions import staff_actor
from amtsweg.staff.models import Role, Staff
from backoffice.decisions.models import Decision, DecisionKind, Delivery
from backoffice.decisions.services import DecisionDraft, issue_decision, update_decision
from backoffice.models import Fall, FallEvent, FallStatus, PartyRole
from backoffice.uvg import case_services as services
from backoffice.uvg import eligibility, recovery
from backoffice.uvg.models import ConditionState, UvgChangeKind, UvgChild, UvgChildStatus
from backoffice.uvg.payment_models import UvgPayment, UvgPaymentKind
from backoffice.uvg.payments import paid_by_month, run_payments
from backoffice.uvg.recovery_models import LetterKind, UvgRecoveryLetter, UvgRecoveryReceipt
from clearing.models import EingangKind
from clearing.triage import RouteTarget, claim, route
from ihv import services as ihv_services
from ihv.codes import format_kassenzeichen
from ihv.models import Booking, BookingStatus, Direction, OrderStatus, Sollstellung
from ihv.services import OrderError
from ihv.transfer import receive, send
from portal.services import Party, submit
from storage.models import Document
from storage.services import open_document
from tests.backoffice.uvg.money.support import office_with_bank
from tests.ihv.transfer.support import settings, simulate

T = TypeVar("T")
IBAN = "DE89370400440532013000"
APPLIED_ON = date(2026, 11, 10)  # the application arrives: § 4 UVG allows October on
DECIDED_ON = date(2026, 11, 26)
RWA_ON = date(2026, 12, 3)  # the Rechtswahrungsanzeige (§ 7 Abs. 2 UVG)
CHANGE_ON = date(2027, 2, 10)  # the mother reports the higher maintenance
DEMAND_ON = date(2027, 2, 15)  # the Zahlungsaufforderung to the father
DEMAND_DUE = date(2027, 3, 15)
PARTIAL_PERCENT = 40  # the simulated father pays 40 % of the demand


def _answers() -> dict[str, Any]:
    """A complete application for Lea as the portal's wizard stores it."""
    return {
        "children": [{"id": "k1", "person": {
            "first_name": "Lea", "last_name": "Müller", "birth_date": "2018-03-14",
            "nationality": "german", "living_since": "2018-03-14"}}],
        "applicant": {"first_name": "Sabine", "last_name": "Müller",
                      "birth_date": "1990-07-01", "street": "Hauptstraße 1",
                      "postcode": "97437", "city": "Haßfurt", "email": "sabine@example.org",
                      "marital_status": "separated", "marital_since": "2023-01-01",
                      "lives_with_other_parent": "no"},
        "other_parent": {"first_name": "Tom", "last_name": "Schmidt", "address_known": "yes",
                         "maintenance_paid": "regular", "maintenance_amount": 5000},
        "orphan": {"receives": "no"},
        "earlier": {"received_before": "no"},
        "benefits": {},
        "bank": {"account_holder": "Sabine Müller", "iban": IBAN},
        "declarations": {"report_changes": True, "repayment": True, "truthful": True,
                         "consent": True},
    }


PARTIES = [
    Party("child", "Lea", "Müller", "2018-03-14"),
    Party("applicant", "Sabine", "Müller", "1990-07-01", "Hauptstraße 1\n97437 Haßfurt"),
    Party("other_parent", "Tom", "Schmidt", "1988-01-01", "Lindenweg 5\n97437 Haßfurt"),
]


def _pdf_text(document_id: int | None) -> str:
    assert document_id is not None
    document = db.session.get(Document, document_id)
    assert document is not None
    with open_document(document) as stream:
        reader = PdfReader(io.BytesIO(stream.read()))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def _kinds(fall: Fall) -> list[str]:
    return list(db.session.scalars(select(FallEvent.kind).where(FallEvent.fall_id == fall.id)
                                   .order_by(FallEvent.id)))


def _summaries(fall: Fall, kind: str) -> list[str]:
    return list(db.session.scalars(select(FallEvent.summary).where(
        FallEvent.fall_id == fall.id, FallEvent.kind == kind).order_by(FallEvent.id)))


def _orders(direction: Direction) -> list[Sollstellung]:
    return list(db.session.scalars(select(Sollstellung).where(Sollstellung.direction == direction)
                                   .order_by(Sollstellung.id)))


class Office:
    """The people of the journey: a clearing clerk, the UVG caseworker, and the two finance
    people who establish (Feststellung) and order (Anordnung) what the caseworker raised."""

    def __init__(self, create_staff: Callable[..., Staff]) -> None:
        self.clerk = create_staff("clearing", roles=(Role.CLEARING,))
        self.caseworker = create_staff("sachbearbeiterin", roles=(Role.CASEWORKER,),
                                       full_name="Erika Sachbearbeiterin")
        self.feststeller = create_staff("feststellung", roles=(Role.FESTSTELLER,),
                                        fachbereiche=())
        self.anordner = create_staff("anordnung", roles=(Role.ANORDNER,), fachbereiche=())

    def staff(self, person: Staff) -> Staff:
        return db.session.merge(person)

    def approve(self, orders: list[Sollstellung]) -> None:
        """Four eyes (Art. 70 BayHO): the caseworker raised them, two others sign."""
        for order in orders:
            ihv_services.feststellen(self.staff(self.feststeller), order, order.version)
            ihv_services.anordnen(self.staff(self.anordner), order, order.version)
        db.session.commit()


def _round_trip(today: date, **scenario: Any) -> receive.ReceiveReport:
    """Send what is ordered, let the simulated treasury work on ``today``, read its answer."""
    sent = send.send_transfers(settings())
    assert not sent.failed
    assert not sent.held_back
    simulate(today, **scenario)
    report = receive.receive_files(settings())
    assert not report.rejected
    return report


def _reload(model: type[T], ident: int | None) -> T:
    """Send and receive empty the session (they stream thousands of orders): read again."""
    row = db.session.get(model, ident)
    assert row is not None
    return row


def _apply(citizen: Citizen, office: Office) -> Fall:
    """The citizen submits; the clerk claims the item and routes it to a new UVG case."""
    submission = submit(citizen=citizen, kind=EingangKind.NEUANTRAG,
                        title="Antrag auf Unterhaltsvorschuss",
                        idempotency_key="uvg-journey-0001-abcdef", sender_name="Sabine Müller",
                        service_code="uvg", answers=_answers(), documents=[], parties=PARTIES)
    clerk = office.staff(office.clerk)
    claimed = claim(submission.eingang.id, clerk)
    fachbereich = fachbereich_by_code("uvg")
    assert fachbereich is not None
    routed = route(submission.eingang.id, claimed.version, RouteTarget(fachbereich.id), clerk)
    db.session.commit()
    fall = db.session.get(Fall, routed.fall_id)
    assert fall is not None
    return fall


def _grant(fall: Fall, office: Office) -> tuple[UvgChild, Decision]:
    """The caseworker takes Lea over, confirms the facts, calculates and grants."""
    actor = staff_actor(office.staff(office.caseworker))
    [child] = services.take_over_children(fall, actor).created
    # The application's answers reach the facts: 50 EUR maintenance (§ 2 Abs. 3 Nr. 1 UVG).
    assert child.maintenance_cents == 5_000
    assert child.payee_iban == IBAN
    services.confirm_facts(child, services.ConfirmedFacts(
        birth_date=child.birth_date, application_date=APPLIED_ON, requested_from=None,
        maintenance_cents=child.maintenance_cents,
        orphan_benefit_cents=child.orphan_benefit_cents,
        child_income_cents=child.child_income_cents, left_school=child.left_school,
        trainee=child.trainee, payee_name=child.payee_name, payee_iban=IBAN), actor,
        today=DECIDED_ON)
    # The check: every condition of § 1 UVG the answers establish is met; § 1 Abs. 1a (only
    # for children of 12 and over) does not stand in the way of an 8-year-old.
    states = {result.code: result.state for result in services.checklist_of(
        child, services.application_of(fall), services.evidence_of(fall))}
    assert ConditionState.OPEN not in states.values(), states
    assert ConditionState.NOT_MET not in states.values(), states
    assert {eligibility.AGE, eligibility.LIVES_WITH_APPLICANT, eligibility.NOT_WITH_OTHER_PARENT,
            eligibility.NOT_MARRIED, eligibility.RESIDENCE} <= set(states)
    services.calculate_child(child, actor, today=DECIDED_ON)
    decision = services.prepare_decision(fall, DecisionKind.BEWILLIGUNG, actor)
    issue_decision(decision, actor, today=DECIDED_ON)
    db.session.commit()
    return child, decision


Paid = tuple[int, OrderStatus, int, str]  # amount, status, booked, Kassenzeichen


def _pay_month(month: date, run_on: date, booked_on: date, office: Office) -> list[Paid]:
    """One monthly run, its orders approved, sent, paid by the treasury and booked back."""
    caseworker = office.staff(office.caseworker)
    before = {order.id for order in _orders(Direction.AUSZAHLUNG)}
    run_payments(month, staff_actor(caseworker), staff=caseworker, today=run_on)
    db.session.commit()
    new = [order for order in _orders(Direction.AUSZAHLUNG) if order.id not in before]
    assert all(order.status is OrderStatus.DRAFT for order in new)
    office.approve(new)
    for order in new:
        assert (order.status, order.created_by_id, order.festgestellt_by_id,
                order.angeordnet_by_id) == (OrderStatus.ANGEORDNET, office.caseworker.id,
                                            office.feststeller.id, office.anordner.id)
    ids = [order.id for order in new]
    _round_trip(booked_on)
    return [(order.amount_cents, order.status, order.booked_cents, order.kassenzeichen)
            for order in (_reload(Sollstellung, ident) for ident in ids)]


def test_an_application_goes_all_the_way_to_a_partial_recovery(
        app_ctx: None, create_staff: Callable[..., Staff],
        create_citizen: Callable[..., Citizen]) -> None:
    office = Office(create_staff)
    office_with_bank()
    db.session.commit()
    citizen = db.session.merge(create_citizen("sabine@example.org"))

    # --- the application, through clearing, to a new case ---------------------------------
    fall = _apply(citizen, office)
    assert fall.fachbereich.code == "uvg"
    assert {party.role for party in fall.parties} == {
        PartyRole.CHILD, PartyRole.APPLICANT, PartyRole.OTHER_PARENT}

    # --- check, calculation, Bewilligung ------------------------------------------------------
    child, bewilligung = _grant(fall, office)
    fall_id, child_id = fall.id, child.id
    assert child.status is UvgChildStatus.GRANTED
    assert fall.status is FallStatus.DECIDED
    months = {e.month: e.paid_cents for e in services.entitlements_of(child)}
    # § 4 UVG: applied in November, so from October 2026; § 1 Abs. 1a UVG not yet shown, so
    # until March 2030, the month Lea completes her 12th year: October 2026 to March 2030 is
    # 3 + 12 + 12 + 12 + 3 = 42 months. 299 EUR (age band 6–11) less 50 EUR maintenance
    # (§ 2 Abs. 3 Nr. 1 UVG) = 249 EUR.
    assert min(months) == date(2026, 10, 1)
    assert max(months) == date(2030, 3, 1)
    assert len(months) == 42
    assert months[date(2026, 10, 1)] == months[date(2027, 2, 1)] == 24_900

    # --- the Bescheid in the citizen's postbox -------------------------------------------------
    assert bewilligung.delivery is Delivery.POSTBOX
    message = db.session.get(PostboxMessage, bewilligung.postbox_message_id)
    assert message is not None
    assert message.citizen_id == citizen.id
    assert message.kind is PostboxKind.BESCHEID
    assert message.document_id == bewilligung.document_id
    assert bewilligung.subject in message.subject
    text = _pdf_text(message.document_id)
    assert "ab 10/2026 bis längstens 03/2030 bewilligt" in text  # the period
    assert "Berechnung für Lea Müller (§ 9 Abs. 2 UVG)" in text
    # Each row: period, age band, table amount, days, entitlement, each deduction with its
    # legal basis, amount paid. March 2030: 394 EUR (12–17) x 13/30 days up to the 12th
    # birthday = 170.74, less 50 = 120.74, rounded up to 121 EUR (§ 9 Abs. 3 UVG).
    assert ("10/2026 – 02/2030 6–11 Jahre 299,00 € 30/30 299,00 € Unterhalt des anderen "
            "Elternteils 50,00 € (§ 2 Abs. 3 Nr. 1 UVG) 249,00 €") in text
    assert ("03/2030 12–17 Jahre 394,00 € 13/30 170,74 € Unterhalt des anderen Elternteils "
            "50,00 € (§ 2 Abs. 3 Nr. 1 UVG) 121,00 €") in text
    assert "Rechtsbehelfsbelehrung" in text

    # --- three monthly runs ----------------------------------------------------------------
    # December, paid in advance (§ 9 Abs. 3 UVG) from the run of 26 November; October and
    # November become one back payment: 2 x 249 = 498 EUR.
    december = _pay_month(date(2026, 12, 1), DECIDED_ON, date(2026, 12, 1), office)
    assert sorted(paid[0] for paid in december) == [24_900, 49_800]
    fall = _reload(Fall, fall_id)
    # The Rechtswahrungsanzeige goes to the father early in December.
    father = next(p for p in fall.parties if p.role is PartyRole.OTHER_PARENT)
    caseworker = office.staff(office.caseworker)
    letter = recovery.send_rechtswahrungsanzeige(fall, father, RWA_ON, staff_actor(caseworker),
                                                 today=RWA_ON)
    db.session.commit()
    letter_document_id = letter.document_id
    january = _pay_month(date(2027, 1, 1), date(2026, 12, 20), date(2027, 1, 4), office)
    february = _pay_month(date(2027, 2, 1), date(2027, 1, 20), date(2027, 2, 1), office)
    assert [paid[0] for paid in january + february] == [24_900, 24_900]
    payouts = december + january + february
    fall, child = _reload(Fall, fall_id), _reload(UvgChild, child_id)
    caseworker = office.staff(office.caseworker)
    # Each order booked by the treasury in full.
    assert all(status is OrderStatus.BOOKED for _amount, status, _booked, _kz in payouts)
    assert [booked for _amount, _status, booked, _kz in payouts] == [
        amount for amount, _status, _booked, _kz in payouts]
    # The monthly orders and the back payment share the child's Kassenzeichen (one series).
    assert len({kz for _amount, _status, _booked, kz in payouts}) == 1
    # 498 + 249 + 249 + 249 = 1,245 EUR, October to February, 249 each.
    assert paid_by_month(child.id) == {date(2026, 10, 1): 24_900, date(2026, 11, 1): 24_900,
                                       date(2026, 12, 1): 24_900, date(2027, 1, 1): 24_900,
                                       date(2027, 2, 1): 24_900}
    assert fall.status is FallStatus.PAYING

    # --- a change with overpayment ------------------------------------------------------------
    change, aenderung = services.record_change(child, services.ReportedChange(
        kind=UvgChangeKind.MAINTENANCE, effective_on=date(2027, 1, 1), reported_on=CHANGE_ON,
        maintenance_cents=15_000), staff_actor(caseworker), today=CHANGE_ON)
    assert aenderung is not None
    issue_decision(aenderung, staff_actor(caseworker), today=CHANGE_ON)
    db.session.commit()
    assert aenderung.delivery is Delivery.POSTBOX
    text = _pdf_text(aenderung.document_id)
    assert "ab 01/2027 neu festgesetzt" in text
    # 299 - 150 = 149 EUR a month from January 2027. The decided end stays: March 2030 is
    # 394 x 13/30 = 170.74, less 150 = 20.74, rounded up to 21 EUR (§ 9 Abs. 3 UVG).
    assert ("01/2027 – 02/2030 6–11 Jahre 299,00 € 30/30 299,00 € Unterhalt des anderen "
            "Elternteils 150,00 € (§ 2 Abs. 3 Nr. 1 UVG) 149,00 €") in text
    assert ("03/2030 12–17 Jahre 394,00 € 13/30 170,74 € Unterhalt des anderen Elternteils "
            "150,00 € (§ 2 Abs. 3 Nr. 1 UVG) 21,00 €") in text
    months = {e.month: e.paid_cents for e in services.entitlements_of(child)}
    assert (len(months), months[date(2027, 1, 1)], months[date(2030, 3, 1)]) == (
        42, 14_900, 2_100)
    # 299 - 150 = 149 EUR from January; January and February went out with 249 each:
    # 2 x (249 - 149) = 200 EUR overpaid.
    assert change.difference_cents == -20_000
    rueckforderung = db.session.get(Decision, change.recovery_decision_id)
    assert rueckforderung is not None
    # § 5 Abs. 1 UVG: the caseworker states the ground of the claim before issuing.
    update_decision(rueckforderung, DecisionDraft(
        rueckforderung.kind, rueckforderung.subject, rueckforderung.tenor,
        "Sie haben die höheren Unterhaltszahlungen nicht mitgeteilt (§ 5 Abs. 1 Nr. 1 UVG). "
        "Sie wurden am 10.02.2027 angehört (§ 24 SGB X).",
        rueckforderung.addressee_party_id, None), staff_actor(caseworker))
    issue_decision(rueckforderung, staff_actor(caseworker), today=CHANGE_ON)
    db.session.commit()
    back = db.session.get(Sollstellung, change.recovery_order_id)
    assert back is not None
    assert (back.direction, back.amount_cents) == (Direction.ANNAHME, 20_000)
    assert back.party_name == "Sabine Müller"
    assert (back.period_start, back.period_end) == (date(2027, 1, 1), date(2027, 2, 28))
    assert format_kassenzeichen(back.kassenzeichen) in _pdf_text(rueckforderung.document_id)
    # Net of the Rückforderung, January and February paid 149 EUR each.
    assert paid_by_month(child.id)[date(2027, 1, 1)] == 14_900
    assert paid_by_month(child.id)[date(2027, 2, 1)] == 14_900

    # --- the Zahlungsaufforderung to the father -------------------------------------------------
    father = next(p for p in fall.parties if p.role is PartyRole.OTHER_PARENT)
    file = recovery.recovery_of(fall, father)
    assert file is not None
    assert file.rechtswahrungsanzeige_on == RWA_ON
    letter_text = _pdf_text(letter_document_id)
    assert all(part in letter_text for part in (
        "Tom Schmidt", "Lindenweg 5", "03.12.2026", fall.aktenzeichen, "Lea Müller", "§ 7"))
    demand = recovery.demand_payment(fall, father, DEMAND_ON, DEMAND_DUE,
                                     staff_actor(caseworker), staff=caseworker, today=DEMAND_ON)
    db.session.commit()
    # § 7 Abs. 2 UVG: claims for the past run from the month of the Rechtswahrungsanzeige,
    # December 2026; October and November are not claimed. December 249 + January 149 +
    # February 149 (net of the mother's Rückforderung, § 7 Abs. 1: up to what was paid)
    # = 547 EUR.
    assert (demand.first_month, demand.last_month) == (date(2026, 12, 1), date(2027, 2, 1))
    assert demand.amount_cents == 54_700
    claim_order = db.session.get(Sollstellung, demand.sollstellung_id)
    assert claim_order is not None
    assert (claim_order.direction, claim_order.amount_cents, claim_order.due_date) == (
        Direction.ANNAHME, 54_700, DEMAND_DUE)
    assert claim_order.party_name == "Tom Schmidt"
    demand_letter = db.session.scalar(select(UvgRecoveryLetter).where(
        UvgRecoveryLetter.claim_id == demand.id))
    assert demand_letter is not None
    assert demand_letter.kind is LetterKind.ZAHLUNGSAUFFORDERUNG
    demand_text = _pdf_text(demand_letter.document_id)
    assert all(part in demand_text for part in (
        format_kassenzeichen(claim_order.kassenzeichen), "547,00", "12/2026", "02/2027",
        "15.03.2027", "03.12.2026"))

    # --- the treasury collects: the mother repays in full, the father in part -----------------
    # Four eyes: the caseworker who raised the demand may not establish it herself.
    with pytest.raises(OrderError):
        ihv_services.feststellen(caseworker, claim_order, claim_order.version)
    db.session.rollback()
    demand_id, claim_order_id, back_id = demand.id, claim_order.id, back.id
    office.approve([_reload(Sollstellung, back_id), _reload(Sollstellung, claim_order_id)])
    _round_trip(DEMAND_DUE, receivables="full",
                kassenzeichen={claim_order.kassenzeichen: "partial"},
                partial_percent=PARTIAL_PERCENT)
    fall = _reload(Fall, fall_id)
    claim_order, back = _reload(Sollstellung, claim_order_id), _reload(Sollstellung, back_id)
    # 40 % of 547 EUR = 218.80 EUR booked; the claim stays open for the rest.
    assert (claim_order.status, claim_order.booked_cents) == (OrderStatus.ACKNOWLEDGED, 21_880)
    assert (back.status, back.booked_cents) == (OrderStatus.BOOKED, 20_000)
    [receipt] = db.session.scalars(select(UvgRecoveryReceipt))
    assert (receipt.claim_id, receipt.amount_cents, receipt.booking_date) == (
        demand_id, 21_880, DEMAND_DUE)
    assert db.session.scalar(select(func.count()).select_from(Booking).where(
        Booking.status != BookingStatus.MATCHED)) == 0

    # --- the case's figures ----------------------------------------------------------------
    numbers = recovery.figures(fall)
    # Paid out 1,245 EUR (the mother's repayment does not undo a payment); claimed from the
    # father 547 EUR; recovered 218.80 EUR (the mother's 200 EUR are no § 7 recovery);
    # open 547 - 218.80 = 328.20 EUR.
    assert (numbers.paid_out_cents, numbers.claimed_cents, numbers.recovered_cents,
            numbers.open_cents) == (124_500, 54_700, 21_880, 32_820)
    assert db.session.scalar(select(func.count()).select_from(UvgPayment).where(
        UvgPayment.kind == UvgPaymentKind.RECOVERY_OF_OVERPAYMENT)) == 2

    # --- the timeline ------------------------------------------------------------------------
    kinds = _kinds(fall)
    assert kinds.count("eingang_attached") == 1  # Antrag gestellt
    assert kinds.count("bescheid_issued") == 3  # Bewilligung, Änderung, Rückforderung
    assert kinds.count(services.UvgEventKind.GRANTED) == 1
    assert kinds.count("uvg_payment") == 3  # one per monthly run
    assert kinds.count("payment_booked") == 4  # back payment + three months
    assert kinds.count(recovery.RecoveryEventKind.RECHTSWAHRUNGSANZEIGE) == 1
    assert kinds.count(recovery.RecoveryEventKind.INVERZUGSETZUNG) == 1
    assert kinds.count(recovery.RecoveryEventKind.RECEIPT) == 1
    # The father's receipt is told once, by the recovery; the generic entry is the mother's.
    assert _summaries(fall, "receipt_booked") == [
        f"{format_kassenzeichen(back.kassenzeichen)} – 200,00 €, 12.03.2027"]
    steps = ["eingang_attached", services.UvgEventKind.GRANTED, "uvg_payment",
             recovery.RecoveryEventKind.RECHTSWAHRUNGSANZEIGE, services.UvgEventKind.CHANGED,
             services.UvgEventKind.RECOVERY, recovery.RecoveryEventKind.INVERZUGSETZUNG,
             recovery.RecoveryEventKind.RECEIPT]
    positions = [kinds.index(step) for step in steps]
    assert positions == sorted(positions), kinds
    [booked_receipt] = _summaries(fall, recovery.RecoveryEventKind.RECEIPT)
    assert "218,80" in booked_receipt
    assert "15.03.2027" in booked_receipt
    [rwa] = _summaries(fall, recovery.RecoveryEventKind.RECHTSWAHRUNGSANZEIGE)
    assert "03.12.2026" in rwa
    assert "547,00" in _summaries(fall, recovery.RecoveryEventKind.INVERZUGSETZUNG)[0]
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "uvg.payment_run")) == 3
