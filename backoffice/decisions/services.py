"""Every write to decisions and objections, each with its audit entry; callers commit.

Issuing a Bescheid renders its PDF, files it in the E-Akte, delivers it (portal postbox or
paper), and starts the objection period. backoffice sits below clearing and portal: the intake
table is read by its name only (``eingaenge``), never imported.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from blinker import Namespace
from flask import current_app
from flask_babel import force_locale
from sqlalchemy import column, select, table

from amtsweg.audit.services import Actor, record
from amtsweg.citizens.models import Citizen
from amtsweg.clock import BERLIN, berlin_today
from amtsweg.config import Settings
from amtsweg.db import utcnow
from amtsweg.extensions import db
from amtsweg.office.services import OfficeData, office_data, remedy_text_for
from amtsweg.postbox.models import PostboxKind
from amtsweg.postbox.services import post_message
from amtsweg.translate import gettext as _
from amtsweg.translate import lazy_gettext as _l
from backoffice.decisions.models import (
    Decision,
    DecisionKind,
    DecisionStatus,
    Delivery,
    Widerspruch,
    WiderspruchOutcome,
    WiderspruchStatus,
)
from backoffice.decisions.pdf import BescheidData, BescheidSection, render_bescheid
from backoffice.decisions.periods import (
    bekanntgabe_by_portal,
    bekanntgabe_by_post,
    is_late,
    objection_period_end,
)
from backoffice.models import (
    DocumentOrigin,
    Fall,
    FallEvent,
    FallStatus,
    Party,
    PartyRole,
    register_event_labels,
)
from backoffice.services import add_deadline, add_event, file_document
from storage.services import store_generated

MAX_TEXT = 20_000
MAX_SUBJECT = 200

# The intake table, by name only (see the module docstring).
_eingaenge = table("eingaenge", column("id"), column("fall_id"), column("citizen_id"),
                   column("status"), column("kind"), column("received_at"), column("subject"),
                   column("reference"))


class DecisionEventKind:
    """Timeline kinds this package writes (FallEvent.kind is a free string by design)."""

    DECISION_DRAFTED = "decision_drafted"
    BESCHEID_ISSUED = "bescheid_issued"
    OBJECTION_PERIOD = "objection_period_started"
    WIDERSPRUCH_RECEIVED = "widerspruch_received"
    WIDERSPRUCH_ABHILFE = "widerspruch_abhilfe"
    WIDERSPRUCH_FORWARDED = "widerspruch_forwarded"
    WIDERSPRUCH_OUTCOME = "widerspruch_outcome"


register_event_labels({
    DecisionEventKind.DECISION_DRAFTED: _l("Decision drafted"),
    DecisionEventKind.BESCHEID_ISSUED: _l("Bescheid issued"),
    DecisionEventKind.OBJECTION_PERIOD: _l("Objection period started"),
    DecisionEventKind.WIDERSPRUCH_RECEIVED: _l("Widerspruch received"),
    DecisionEventKind.WIDERSPRUCH_ABHILFE: _l("Widerspruch remedied (Abhilfe)"),
    DecisionEventKind.WIDERSPRUCH_FORWARDED: _l("Widerspruch sent to the Widerspruchsbehörde"),
    DecisionEventKind.WIDERSPRUCH_OUTCOME: _l("Widerspruch decided"),
})


class DecisionRefused(ValueError):
    """The step is not possible; the message says why, in the user's language."""


# Fachbereich modules hook into issuing without the core naming them (backoffice.uvg writes
# its entitlements). ``decision_issuing`` is sent before the PDF is made: a receiver may raise
# DecisionRefused, and the caller's rollback undoes everything. ``decision_issued`` is sent
# once the decision is issued, in the same transaction.
_signals = Namespace()
decision_issuing = _signals.signal("decision-issuing")
decision_issued = _signals.signal("decision-issued")

# Extra parts of a Bescheid (a table of amounts, duties), by the Fachbereich's modules.
_SECTION_PROVIDERS: list[Callable[[Decision], Sequence[BescheidSection]]] = []


def register_bescheid_sections(provider: Callable[[Decision], Sequence[BescheidSection]]
                               ) -> None:
    if provider not in _SECTION_PROVIDERS:
        _SECTION_PROVIDERS.append(provider)


def _sections(decision: Decision) -> list[BescheidSection]:
    return [section for provider in _SECTION_PROVIDERS for section in provider(decision)]


@dataclass(frozen=True)
class DecisionDraft:
    """What a caseworker types into a decision."""

    kind: DecisionKind
    subject: str
    tenor: str
    begruendung: str
    addressee_party_id: int | None
    decision_date: date | None


def _settings() -> Settings:
    settings: Settings = current_app.config["AMTSWEG"]
    return settings


def _timeline(fall: Fall, kind: str, summary: str, actor: Actor, *,
              document_id: int | None = None, eingang_id: int | None = None) -> FallEvent:
    return add_event(fall, kind, summary[:2000], actor, document_id=document_id,
                     eingang_id=eingang_id)


# --- drafts ---------------------------------------------------------------------------------


def _addressee(fall: Fall, party_id: int | None) -> Party | None:
    if party_id is None:
        return None
    return next((party for party in fall.parties if party.id == party_id), None)


def _apply(decision: Decision, fall: Fall, draft: DecisionDraft) -> None:
    if draft.addressee_party_id is not None and _addressee(fall, draft.addressee_party_id) is None:
        # A party id from another case: a forged form, never a choice the page offered.
        raise DecisionRefused(_("Choose the addressee from the people in this case."))
    decision.kind = draft.kind
    decision.subject = draft.subject.strip()[:MAX_SUBJECT]
    decision.tenor = draft.tenor.strip()[:MAX_TEXT]
    decision.begruendung = draft.begruendung.strip()[:MAX_TEXT]
    decision.addressee_party_id = draft.addressee_party_id
    decision.decision_date = draft.decision_date


def _audit_view(decision: Decision) -> dict[str, object]:
    # Tenor and Begründung are social data: the audit keeps their length, the case keeps them.
    return {"kind": decision.kind, "status": decision.status,
            "addressee_party_id": decision.addressee_party_id,
            "decision_date": decision.decision_date, "tenor_chars": len(decision.tenor),
            "begruendung_chars": len(decision.begruendung),
            "refers_to_id": decision.refers_to_id}


def create_decision(fall: Fall, draft: DecisionDraft, actor: Actor, *,
                    refers_to: Decision | None = None) -> Decision:
    """A new draft decision on the case."""
    if fall.status is FallStatus.CLOSED:
        raise DecisionRefused(_("The case is closed; reopen it before deciding."))
    decision = Decision(fall_id=fall.id, fall=fall, status=DecisionStatus.DRAFT,
                        created_by_name=actor.name[:200],
                        refers_to_id=refers_to.id if refers_to is not None else None)
    _apply(decision, fall, draft)
    db.session.add(decision)
    db.session.flush()
    _timeline(fall, DecisionEventKind.DECISION_DRAFTED, decision.kind_label, actor)
    record(actor, "decision.created", "decision", decision.id, after=_audit_view(decision))
    return decision


def update_decision(decision: Decision, draft: DecisionDraft, actor: Actor) -> None:
    """Change a draft; an issued decision is frozen (a correction is a new decision)."""
    _refuse_if_issued(decision)
    before = _audit_view(decision)
    _apply(decision, decision.fall, draft)
    db.session.flush()
    record(actor, "decision.updated", "decision", decision.id, before=before,
           after=_audit_view(decision))


def _refuse_if_issued(decision: Decision) -> None:
    if decision.status is not DecisionStatus.DRAFT:
        raise DecisionRefused(_("This Bescheid has been issued and cannot be changed. "
                                "Make a new decision to correct it."))


# --- issuing --------------------------------------------------------------------------------


def missing_parts(decision: Decision, office: OfficeData, remedy: str) -> list[str]:
    """The names of the required parts the Bescheid lacks (§§ 33, 35, 36 SGB X)."""
    missing: list[str] = []
    addressee = _addressee(decision.fall, decision.addressee_party_id)
    if addressee is None:
        missing.append(_("the addressee"))
    elif not addressee.address.strip():
        missing.append(_("the addressee's address"))
    if decision.decision_date is None:
        missing.append(_("the date of the decision"))
    if not decision.subject.strip():
        missing.append(_("the subject line"))
    if not decision.tenor.strip():
        missing.append(_("the Tenor"))
    # § 35 Abs. 2 Nr. 1 SGB X: no Begründung is needed when an application is granted in full;
    # every other decision must state its essential factual and legal reasons (§ 35 Abs. 1).
    if decision.kind is not DecisionKind.BEWILLIGUNG and not decision.begruendung.strip():
        missing.append(_("the Begründung"))
    # § 36 SGB X: remedy, authority, seat, deadline and form; an unfilled placeholder means the
    # office configuration lacks the authority or the court.
    if not remedy.strip() or "$" in remedy:
        missing.append(_("the Rechtsbehelfsbelehrung"))
    if not (office.name and office.street and office.city):
        missing.append(_("the office's name and address"))
    return missing


def _applicant_citizen(fall: Fall, addressee: Party) -> Citizen | None:
    """The citizen account behind the case's application, if the Bescheid goes to that person.

    Found through the routed intake item's citizen_id. Only a Bescheid addressed to the
    applicant goes to that postbox: a letter to the other parent must never land there.
    """
    if addressee.role is not PartyRole.APPLICANT:
        return None
    citizen_id = db.session.scalar(
        select(_eingaenge.c.citizen_id)
        .where(_eingaenge.c.fall_id == fall.id, _eingaenge.c.status == "routed",
               _eingaenge.c.citizen_id.is_not(None))
        .order_by(_eingaenge.c.received_at, _eingaenge.c.id).limit(1))
    if citizen_id is None:
        return None
    citizen = db.session.get(Citizen, citizen_id)
    return citizen if citizen is not None and citizen.email_verified_at is not None else None


def _case_reference(fall: Fall) -> str:
    """The reference number the applicant was given for the application, if it came online:
    printed beside the Aktenzeichen so the citizen recognises which application this answers."""
    reference = db.session.scalar(
        select(_eingaenge.c.reference)
        .where(_eingaenge.c.fall_id == fall.id, _eingaenge.c.reference.is_not(None))
        .order_by(_eingaenge.c.received_at, _eingaenge.c.id).limit(1))
    return str(reference) if reference else ""


def bescheid_data(decision: Decision, office: OfficeData, remedy: str) -> BescheidData:
    addressee = _addressee(decision.fall, decision.addressee_party_id)
    assert addressee is not None
    assert decision.decision_date is not None
    return BescheidData(
        office_name=office.name, office_address=office.address,
        letterhead_lines=office.letterhead_lines or [office.name, office.address],
        return_address=f"{office.name} · {office.street} · {office.postcode} {office.city}",
        addressee_name=addressee.full_name, addressee_address=addressee.address,
        aktenzeichen=decision.fall.aktenzeichen, decision_date=decision.decision_date,
        subject=decision.subject, tenor=decision.tenor, begruendung=decision.begruendung,
        rechtsbehelfsbelehrung=remedy, signature_line=office.signature_line,
        phone=office.phone, email=office.email, opening_hours=office.opening_hours,
        iban=office.iban, bic=office.bic, bank_name=office.bank_name,
        reference=_case_reference(decision.fall), sections=_sections(decision),
    )


def _file_in_eakte(decision: Decision, pdf: bytes, actor: Actor) -> int:
    filename = f"Bescheid-{decision.fall.aktenzeichen}-{decision.id}.pdf"
    document = store_generated(pdf, filename, "application/pdf", actor)
    file_document(decision.fall, document, origin=DocumentOrigin.GENERATED, kind="Bescheid",
                  title=decision.subject or filename, actor=actor)
    return document.id


def _start_objection_period(decision: Decision, actor: Actor, today: date) -> None:
    """A Wiedervorlage on the last day to object, for the caseworker (or the pool).

    A period already over (a Bescheid recorded afterwards) needs no follow-up: the timeline
    entry of the issue says when it ended.
    """
    assert decision.objection_deadline is not None
    if decision.objection_deadline < today:
        return
    fall = decision.fall
    owner = fall.responsible if fall.responsible is not None and fall.responsible.active \
        else None
    with force_locale("de"):
        reason = _("Objection period ends (Bescheid of %(date)s)",
                   date=_german(decision.decision_date or today))
    add_deadline(fall, due_date=decision.objection_deadline, reason=reason, owner=owner,
                 actor=actor, today=today)


def issue_decision(decision: Decision, actor: Actor, *, posted_on: date | None = None,
                   today: date | None = None) -> Decision:
    """Issue the Bescheid: PDF, E-Akte, delivery, objection period. Refused, naming the part,
    when a required part is missing.

    Delivered to the applicant's postbox when they have a citizen account, else marked for
    posting on paper on ``posted_on`` (default today).
    """
    _refuse_if_issued(decision)
    today = today or berlin_today()
    if decision.decision_date is None:
        # The form says so: an empty date is the day of issuing.
        decision.decision_date = today
    office = office_data()
    remedy = remedy_text_for(decision.fall.fachbereich)
    missing = missing_parts(decision, office, remedy)
    if missing:
        raise DecisionRefused(_("The Bescheid cannot be issued: %(parts)s missing.",
                                parts=", ".join(missing)))
    decision_issuing.send(decision, actor=actor, today=today)
    addressee = _addressee(decision.fall, decision.addressee_party_id)
    assert addressee is not None
    decision.rechtsbehelfsbelehrung = remedy
    decision.addressee_name = addressee.full_name[:200]
    decision.addressee_address = addressee.address
    pdf = render_bescheid(bescheid_data(decision, office, remedy))
    decision.document_id = _file_in_eakte(decision, pdf, actor)
    citizen = _applicant_citizen(decision.fall, addressee)
    if citizen is not None:
        _deliver_to_postbox(decision, citizen, office, actor, today)
    else:
        _mark_for_paper(decision, posted_on or today)
    assert decision.bekanntgabe_on is not None
    decision.objection_deadline = objection_period_end(decision.bekanntgabe_on,
                                                       _settings().holiday_state)
    decision.status = DecisionStatus.ISSUED
    decision.issued_at = utcnow()
    decision.issued_by_name = actor.name[:200]
    if decision.fall.status is FallStatus.OPEN:
        decision.fall.status = FallStatus.DECIDED
    _timeline(decision.fall, DecisionEventKind.BESCHEID_ISSUED, decision.subject, actor,
              document_id=decision.document_id)
    _start_objection_period(decision, actor, today)
    db.session.flush()
    decision_issued.send(decision, actor=actor, today=today)
    record(actor, "decision.issued", "decision", decision.id,
           after={**_audit_view(decision), "document_id": decision.document_id,
                  "delivery": decision.delivery, "posted_on": decision.posted_on,
                  "bekanntgabe_on": decision.bekanntgabe_on,
                  "objection_deadline": decision.objection_deadline})
    return decision


def _german(day: date) -> str:
    return day.strftime("%d.%m.%Y")


def _deliver_to_postbox(decision: Decision, citizen: Citizen, office: OfficeData,
                        actor: Actor, today: date) -> None:
    with force_locale("de"):
        subject = _("Bescheid: %(subject)s", subject=decision.subject)
        body = _("Your Bescheid of %(date)s is attached as a PDF. Please read the "
                 "Rechtsbehelfsbelehrung at its end: it says how and by when you can object.",
                 date=_german(decision.decision_date or today))
    message = post_message(citizen=citizen, kind=PostboxKind.BESCHEID, subject=subject,
                           body=body, sender_name=office.name, actor=actor,
                           document_id=decision.document_id)
    decision.delivery = Delivery.POSTBOX
    decision.postbox_message_id = message.id
    decision.bekanntgabe_on = bekanntgabe_by_portal(today)


def _mark_for_paper(decision: Decision, posted_on: date) -> None:
    decision.delivery = Delivery.PAPER
    decision.posted_on = posted_on
    decision.bekanntgabe_on = bekanntgabe_by_post(posted_on)


def record_posting(decision: Decision, posted_on: date, actor: Actor) -> None:
    """Correct the day a paper Bescheid actually went to the post; the periods follow."""
    if decision.delivery is not Delivery.PAPER or not decision.is_issued:
        raise DecisionRefused(_("Only an issued Bescheid sent on paper has a posting date."))
    before = {"posted_on": decision.posted_on, "objection_deadline": decision.objection_deadline}
    _mark_for_paper(decision, posted_on)
    assert decision.bekanntgabe_on is not None
    decision.objection_deadline = objection_period_end(
        decision.bekanntgabe_on, _settings().holiday_state,
        instruction_missing=decision.instruction_defective)
    db.session.flush()
    record(actor, "decision.posting_recorded", "decision", decision.id, before=before,
           after={"posted_on": posted_on, "objection_deadline": decision.objection_deadline})


def mark_instruction_defective(decision: Decision, actor: Actor) -> None:
    """The Rechtsbehelfsbelehrung turned out missing or wrong: § 58 Abs. 2 VwGO gives one year."""
    if not decision.is_issued or decision.instruction_defective:
        return
    assert decision.bekanntgabe_on is not None
    before = {"objection_deadline": decision.objection_deadline}
    decision.instruction_defective = True
    decision.objection_deadline = objection_period_end(
        decision.bekanntgabe_on, _settings().holiday_state, instruction_missing=True)
    _timeline(decision.fall, DecisionEventKind.OBJECTION_PERIOD,
              _("Objection period until %(date)s (§ 58 VwGO: instruction defective)",
                date=_german(decision.objection_deadline)), actor)
    _start_objection_period(decision, actor, berlin_today())
    db.session.flush()
    record(actor, "decision.instruction_defective", "decision", decision.id, before=before,
           after={"objection_deadline": decision.objection_deadline})


# --- Widerspruch ----------------------------------------------------------------------------


def _objection_audit(widerspruch: Widerspruch) -> dict[str, object]:
    return {"decision_id": widerspruch.decision_id, "eingang_id": widerspruch.eingang_id,
            "received_on": widerspruch.received_on, "late": widerspruch.late,
            "status": widerspruch.status, "outcome": widerspruch.outcome,
            "forwarded_on": widerspruch.forwarded_on, "outcome_on": widerspruch.outcome_on,
            "abhilfe_decision_id": widerspruch.abhilfe_decision_id}


def record_objection(fall: Fall, decision: Decision | None, received_on: date, actor: Actor, *,
                     eingang_id: int | None = None, note: str = "",
                     today: date | None = None) -> Widerspruch:
    """Attach an objection to the issued decision it contests; a late one is flagged."""
    if decision is None:
        raise DecisionRefused(_("An objection must name the Bescheid it objects to. "
                                "Choose the Bescheid."))
    if decision.fall_id != fall.id or not decision.is_issued:
        raise DecisionRefused(_("Objections can only be made against an issued Bescheid of "
                                "this case."))
    if received_on > (today or berlin_today()):
        raise DecisionRefused(_("The date of receipt cannot be in the future."))
    if eingang_id is not None and db.session.scalar(
            select(Widerspruch.id).where(Widerspruch.eingang_id == eingang_id)) is not None:
        raise DecisionRefused(_("This item has already been attached as an objection."))
    assert decision.objection_deadline is not None
    widerspruch = Widerspruch(fall_id=fall.id, decision_id=decision.id, decision=decision,
                              eingang_id=eingang_id, received_on=received_on,
                              late=is_late(received_on, decision.objection_deadline),
                              note=note.strip()[:MAX_TEXT], created_by_name=actor.name[:200])
    db.session.add(widerspruch)
    db.session.flush()
    summary = _("Widerspruch received on %(date)s", date=_german(received_on))
    if widerspruch.late:
        summary += " – " + _("late (period ended %(date)s)",
                             date=_german(decision.objection_deadline))
    _timeline(fall, DecisionEventKind.WIDERSPRUCH_RECEIVED, summary, actor,
              eingang_id=eingang_id)
    record(actor, "widerspruch.recorded", "widerspruch", widerspruch.id,
           after=_objection_audit(widerspruch))
    return widerspruch


def unattached_objection_items(fall: Fall) -> list[tuple[int, datetime, str]]:
    """Intake items of kind Widerspruch routed to the case and not yet attached to a decision."""
    attached = select(Widerspruch.eingang_id).where(Widerspruch.eingang_id.is_not(None))
    rows = db.session.execute(
        select(_eingaenge.c.id, _eingaenge.c.received_at, _eingaenge.c.subject)
        .where(_eingaenge.c.fall_id == fall.id, _eingaenge.c.kind == "widerspruch",
               _eingaenge.c.id.not_in(attached))
        .order_by(_eingaenge.c.received_at))
    return [(row.id, _aware(row.received_at), row.subject) for row in rows]


def _aware(value: datetime | str) -> datetime:
    # Read through a bare table, the column has no UTCDateTime type: SQLite hands back text.
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=ZoneInfo("UTC"))


def attach_objection_item(fall: Fall, eingang_id: int, decision: Decision | None,
                          actor: Actor) -> Widerspruch:
    """Attach a Widerspruch that came through clearing; its day of receipt is the item's."""
    items = {item_id: received for item_id, received, _subject
             in unattached_objection_items(fall)}
    if eingang_id not in items:
        raise DecisionRefused(_("This item is not an open objection of this case."))
    received_on = items[eingang_id].astimezone(BERLIN).date()
    return record_objection(fall, decision, received_on, actor, eingang_id=eingang_id)


def _require_status(widerspruch: Widerspruch, *allowed: WiderspruchStatus) -> None:
    if widerspruch.status not in allowed:
        raise DecisionRefused(_("This step is not possible in the objection's current state."))


def remedy_objection(widerspruch: Widerspruch, actor: Actor) -> Decision:
    """Abhilfe (§ 72 VwGO): a new draft decision referring to the objected one."""
    _require_status(widerspruch, WiderspruchStatus.OPEN)
    objected = widerspruch.decision
    draft = DecisionDraft(
        kind=DecisionKind.AENDERUNG,
        subject=("Abhilfebescheid zum Bescheid vom "
                 f"{_german(objected.decision_date or berlin_today())}"),
        tenor="", begruendung="", addressee_party_id=objected.addressee_party_id,
        decision_date=None)
    before = _objection_audit(widerspruch)
    new_decision = create_decision(objected.fall, draft, actor, refers_to=objected)
    widerspruch.status = WiderspruchStatus.ABGEHOLFEN
    widerspruch.abhilfe_decision_id = new_decision.id
    _timeline(widerspruch.decision.fall, DecisionEventKind.WIDERSPRUCH_ABHILFE,
              _("Abhilfe: a new decision is being prepared"), actor)
    db.session.flush()
    record(actor, "widerspruch.abhilfe", "widerspruch", widerspruch.id, before=before,
           after=_objection_audit(widerspruch))
    return new_decision


def forward_objection(widerspruch: Widerspruch, forwarded_on: date, actor: Actor, *,
                      today: date | None = None) -> None:
    """§ 73 VwGO: the office does not remedy; the Widerspruchsbehörde decides."""
    _require_status(widerspruch, WiderspruchStatus.OPEN)
    if forwarded_on > (today or berlin_today()) or forwarded_on < widerspruch.received_on:
        raise DecisionRefused(_("The forwarding date must lie between the day the objection "
                                "arrived and today."))
    before = _objection_audit(widerspruch)
    widerspruch.status = WiderspruchStatus.FORWARDED
    widerspruch.forwarded_on = forwarded_on
    _timeline(widerspruch.decision.fall, DecisionEventKind.WIDERSPRUCH_FORWARDED,
              _("Sent to the Widerspruchsbehörde on %(date)s", date=_german(forwarded_on)),
              actor)
    db.session.flush()
    record(actor, "widerspruch.forwarded", "widerspruch", widerspruch.id, before=before,
           after=_objection_audit(widerspruch))


def record_outcome(widerspruch: Widerspruch, outcome: WiderspruchOutcome, outcome_on: date,
                   actor: Actor, *, today: date | None = None) -> None:
    """The Widerspruchsbehörde's decision, or a withdrawal (possible at any open stage)."""
    allowed = [WiderspruchStatus.FORWARDED]
    if outcome is WiderspruchOutcome.ZURUECKGENOMMEN:
        allowed.append(WiderspruchStatus.OPEN)
    _require_status(widerspruch, *allowed)
    if outcome_on > (today or berlin_today()) or outcome_on < widerspruch.received_on:
        raise DecisionRefused(_("The date of the outcome must lie between the day the "
                                "objection arrived and today."))
    before = _objection_audit(widerspruch)
    widerspruch.status = WiderspruchStatus.CLOSED
    widerspruch.outcome = outcome
    widerspruch.outcome_on = outcome_on
    _timeline(widerspruch.decision.fall, DecisionEventKind.WIDERSPRUCH_OUTCOME, outcome.value,
              actor)
    db.session.flush()
    record(actor, "widerspruch.outcome", "widerspruch", widerspruch.id, before=before,
           after=_objection_audit(widerspruch))


# --- reading --------------------------------------------------------------------------------


def decisions_of(fall: Fall) -> list[Decision]:
    return list(db.session.scalars(select(Decision).where(Decision.fall_id == fall.id)
                                   .order_by(Decision.created_at, Decision.id)))


def objections_of(fall: Fall) -> list[Widerspruch]:
    return list(db.session.scalars(select(Widerspruch).where(Widerspruch.fall_id == fall.id)
                                   .order_by(Widerspruch.received_on, Widerspruch.id)))


def find_decision(fall: Fall, decision_id: int) -> Decision | None:
    return db.session.scalar(select(Decision).where(Decision.id == decision_id,
                                                    Decision.fall_id == fall.id))


def find_objection(fall: Fall, widerspruch_id: int) -> Widerspruch | None:
    return db.session.scalar(select(Widerspruch).where(Widerspruch.id == widerspruch_id,
                                                       Widerspruch.fall_id == fall.id))
