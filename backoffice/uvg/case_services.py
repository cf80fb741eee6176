"""Every write of the UVG case: take the children over, confirm facts, check, calculate, decide,
change. Each writes its audit entry and its timeline event; callers commit.

backoffice sits below clearing and portal: the application's answers are read from the intake
table and the portal's document list by their names only, never imported.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException
from sqlalchemy import JSON, column, select, table

from amtsweg.audit.services import SYSTEM, Actor, record
from amtsweg.clock import BERLIN, berlin_today
from amtsweg.db import UTCDateTime, utcnow
from amtsweg.extensions import db
from amtsweg.staff.models import Staff
from amtsweg.translate import gettext as _
from amtsweg.translate import lazy_gettext as _l
from backoffice.decisions.models import Decision, DecisionKind, DecisionStatus
from backoffice.decisions.services import (
    DecisionDraft,
    DecisionRefused,
    create_decision,
    decision_issued,
    decision_issuing,
)
from backoffice.models import (
    CaseDocument,
    Fall,
    Party,
    PartyRole,
    name_key,
    register_event_labels,
)
from backoffice.services import add_event
from backoffice.uvg import bescheid, eligibility
from backoffice.uvg.calculation import (
    Calculation,
    CalculationError,
    CalculationInput,
    Income,
    completes_year_of_life,
    earliest_month,
    last_entitled_day,
)
from backoffice.uvg.models import (
    CONDITION_STATE_LABELS,
    ConditionState,
    UvgCalculation,
    UvgChange,
    UvgChangeKind,
    UvgChild,
    UvgChildStatus,
    UvgConditionAssessment,
    UvgDecisionChild,
    UvgEndReason,
    UvgEntitlement,
    UvgOutcome,
)
from backoffice.uvg.payment_models import UvgPayment, UvgPaymentKind
from backoffice.uvg.payments import haushaltsstelle, paid_by_month
from ihv.codes import format_kassenzeichen
from ihv.models import Direction, OrderStatus, Sollstellung
from ihv.services import OrderError, cancel_order, create_order

UVG_CODE = "uvg"
SYSTEM_ACTOR = SYSTEM
SOURCE = "uvg"
# The calculation's own ceiling (backoffice.uvg.calculation): 100,000 EUR a month is no typo.
MAX_AMOUNT_CENTS = 100_000 * 100
MAX_NOTE = 2000
# A change is reported for what happened or is about to happen; half a year ahead is planning,
# not a change (and would decide months nobody can foresee).
MAX_CHANGE_AHEAD_DAYS = 183
# Orders the treasury has not received yet: these can simply be cancelled (ihv.services).
_NOT_SENT = (OrderStatus.DRAFT, OrderStatus.FESTGESTELLT, OrderStatus.ANGEORDNET)


class UvgEventKind:
    """Timeline kinds of the UVG case (FallEvent.kind is a free string by design)."""

    CHECK_STARTED = "uvg_check_started"
    FACTS_CONFIRMED = "uvg_facts_confirmed"
    CONDITION_ASSESSED = "uvg_condition_assessed"
    CALCULATED = "uvg_calculated"
    GRANTED = "uvg_granted"
    REFUSED = "uvg_refused"
    CHANGE_REPORTED = "uvg_change_reported"
    CHANGED = "uvg_changed"
    ENDED = "uvg_ended"
    BACK_PAYMENT = "uvg_back_payment"
    RECOVERY = "uvg_recovery"


register_event_labels({
    UvgEventKind.CHECK_STARTED: _l("UVG check started (Prüfung)"),
    UvgEventKind.FACTS_CONFIRMED: _l("UVG facts confirmed"),
    UvgEventKind.CONDITION_ASSESSED: _l("UVG condition assessed"),
    UvgEventKind.CALCULATED: _l("UVG calculated"),
    UvgEventKind.GRANTED: _l("Bewilligung"),
    UvgEventKind.REFUSED: _l("Ablehnung"),
    UvgEventKind.CHANGE_REPORTED: _l("Change reported (Änderung)"),
    UvgEventKind.CHANGED: _l("Änderung decided"),
    UvgEventKind.ENDED: _l("Einstellung"),
    UvgEventKind.BACK_PAYMENT: _l("Back payment (Nachzahlung)"),
    UvgEventKind.RECOVERY: _l("Rückforderung (§ 5 UVG)"),
})


class UvgRefused(ValueError):
    """The step is not possible; the message says why, in the user's language."""


def first_of_month(day: date) -> date:
    return day.replace(day=1)


def add_months(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def euro(cents: int) -> str:
    """German money format: 1.234,56 €."""
    sign = "-" if cents < 0 else ""
    euros, rest = divmod(abs(cents), 100)
    return f"{sign}{euros:,}".replace(",", ".") + f",{rest:02d} €"


def german_date(day: date) -> str:
    return day.strftime("%d.%m.%Y")


def is_uvg_case(fall: Fall) -> bool:
    return fall.fachbereich.code == UVG_CODE


# --- reading the application ------------------------------------------------------------------

_eingaenge = table("eingaenge", column("id"), column("fall_id"), column("kind"),
                   column("service_code"), column("payload", JSON),
                   column("received_at", UTCDateTime()))
_submissions = table("submissions", column("id"), column("eingang_id"))
_submission_documents = table("submission_documents", column("submission_id"),
                              column("document_id"), column("requirement"))


@dataclass(frozen=True)
class Application:
    """The online application a case was opened from: its answers and when it arrived."""

    answers: Mapping[str, Any]
    received_on: date | None
    eingang_id: int | None

    def children(self) -> list[Mapping[str, Any]]:
        found = self.answers.get("children")
        return [child for child in found if isinstance(child, Mapping)] \
            if isinstance(found, list) else []

    def child(self, key: str | None) -> Mapping[str, Any]:
        return next((child for child in self.children() if child.get("id") == key), {})


def application_of(fall: Fall) -> Application:
    """The first UVG application routed to the case; empty answers for a paper case."""
    row = db.session.execute(
        select(_eingaenge.c.id, _eingaenge.c.payload, _eingaenge.c.received_at)
        .where(_eingaenge.c.fall_id == fall.id, _eingaenge.c.kind == "neuantrag")
        .order_by(_eingaenge.c.received_at, _eingaenge.c.id).limit(1)).first()
    if row is None:
        return Application({}, None, None)
    payload = row.payload if isinstance(row.payload, Mapping) else {}
    answers = payload.get("answers")
    received = row.received_at.astimezone(BERLIN).date() if row.received_at else None
    return Application(answers if isinstance(answers, Mapping) else {}, received, row.id)


def evidence_of(fall: Fall) -> dict[str, list[int]]:
    """Application document requirement ("birth_certificate:k1") -> E-Akte entries (ids)."""
    rows = db.session.execute(
        select(_submission_documents.c.requirement, CaseDocument.id)
        .join(_submissions, _submissions.c.id == _submission_documents.c.submission_id)
        .join(_eingaenge, _eingaenge.c.id == _submissions.c.eingang_id)
        .join(CaseDocument, (CaseDocument.document_id == _submission_documents.c.document_id)
              & (CaseDocument.fall_id == fall.id))
        .where(_eingaenge.c.fall_id == fall.id))
    found: dict[str, list[int]] = {}
    for requirement, case_document_id in rows:
        found.setdefault(str(requirement), []).append(int(case_document_id))
    return found


def _part(source: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    found = source.get(key)
    return found if isinstance(found, Mapping) else {}


def _cents(value: object) -> int:
    """An amount from the answers, or 0 for anything our form cannot have stored."""
    if isinstance(value, bool) or not isinstance(value, int):
        return 0
    return value if 0 <= value <= MAX_AMOUNT_CENTS else 0


def _iso(value: object) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _match_child(party: Party, application: Application) -> Mapping[str, Any]:
    for child in application.children():
        person = _part(child, "person")
        if (name_key(str(person.get("first_name") or "")) == party.first_name_key
                and name_key(str(person.get("last_name") or "")) == party.last_name_key
                and _iso(person.get("birth_date")) == party.birth_date):
            return child
    return {}


@dataclass(frozen=True)
class SharedAmounts:
    """Monthly amounts an application with several children names for all of them together."""

    maintenance_cents: int = 0
    orphan_benefit_cents: int = 0

    def __bool__(self) -> bool:
        return bool(self.maintenance_cents or self.orphan_benefit_cents)


def _application_amounts(answers: Mapping[str, Any]) -> SharedAmounts:
    other = _part(answers, "other_parent")
    orphan = _part(answers, "orphan")
    # § 2 Abs. 3 Nr. 1 UVG: maintenance the other parent pays is deducted; Nr. 2: orphan
    # benefits are.
    return SharedAmounts(
        _cents(other.get("maintenance_amount"))
        if other.get("maintenance_paid") in ("regular", "irregular") else 0,
        _cents(orphan.get("amount")) if orphan.get("receives") == "yes" else 0)


def amounts_to_split(application: Application) -> SharedAmounts:
    """What the application names for all its children together (nothing when it names one
    child): the caseworker enters each child's share."""
    if len(application.children()) < 2:
        return SharedAmounts()
    return _application_amounts(application.answers)


def _facts_from_answers(child: UvgChild, answers: Mapping[str, Any],
                        child_answers: Mapping[str, Any], applicant: Party | None,
                        amounts: SharedAmounts | None) -> None:
    """Prefill one child's facts. ``amounts`` are the application's deductions when they are
    this child's alone; ``None`` when the application names them for several children."""
    if amounts is not None:
        child.maintenance_cents = amounts.maintenance_cents
        child.orphan_benefit_cents = amounts.orphan_benefit_cents
    school = _part(child_answers, "school")
    if school.get("attends_school") == "no":
        # § 2 Abs. 4 UVG: a child that left general school has its earnings counted; a
        # training allowance makes it a trainee (100 EUR more allowance).
        child.left_school = True
        training = _cents(school.get("training_allowance"))
        child.trainee = training > 0
        child.child_income_cents = min(_cents(school.get("earnings")) + training,
                                       MAX_AMOUNT_CENTS)
    bank = _part(answers, "bank")
    holder = bank.get("account_holder")
    iban = bank.get("iban")
    fallback_name = (applicant.account_holder or applicant.full_name) if applicant else ""
    child.payee_name = (holder if isinstance(holder, str) and holder else fallback_name)[:140]
    raw_iban = iban if isinstance(iban, str) and iban else \
        (applicant.iban if applicant else None)
    child.payee_iban = _normal_iban(raw_iban) if raw_iban else None


def _normal_iban(text: str) -> str | None:
    try:
        return str(IBAN("".join(text.split()).upper()).compact)
    except SchwiftyException:
        return None


# --- the children -----------------------------------------------------------------------------


def children_of(fall: Fall) -> list[UvgChild]:
    return list(db.session.scalars(select(UvgChild).where(UvgChild.fall_id == fall.id)
                                   .order_by(UvgChild.id)))


def child_of(fall: Fall, child_id: int) -> UvgChild | None:
    return db.session.scalar(select(UvgChild).where(UvgChild.id == child_id,
                                                    UvgChild.fall_id == fall.id))


def applicant_of(fall: Fall) -> Party | None:
    return next((party for party in fall.parties if party.role is PartyRole.APPLICANT), None)


@dataclass(frozen=True)
class TakeOverResult:
    created: list[UvgChild]
    without_birth_date: list[str]  # names of child parties that lack a birth date
    # Deductions the application names for all its children together: copied to none of them,
    # since each child's claim is reduced only by what that child gets (§ 2 Abs. 3 UVG). The
    # caseworker enters each child's share before confirming the facts.
    to_split: SharedAmounts = SharedAmounts()


def take_over_children(fall: Fall, actor: Actor) -> TakeOverResult:
    """One UvgChild per child party of the case, prefilled from the application's answers.

    Idempotent: a child already taken over is left as it is. The facts are prefilled only;
    the caseworker confirms them before anything is calculated.
    """
    if not is_uvg_case(fall):
        raise UvgRefused(_("This case does not belong to the Unterhaltsvorschuss."))
    application = application_of(fall)
    existing = {child.party_id for child in children_of(fall)}
    applicant = applicant_of(fall)
    received = application.received_on or fall.opened_at.astimezone(BERLIN).date()
    created: list[UvgChild] = []
    missing: list[str] = []
    to_split = amounts_to_split(application)
    own_amounts = None if to_split else _application_amounts(application.answers)
    for party in fall.parties:
        if party.role is not PartyRole.CHILD or party.id in existing:
            continue
        if party.birth_date is None:
            missing.append(party.full_name)
            continue
        answers_child = _match_child(party, application)
        child = UvgChild(fall_id=fall.id, party_id=party.id, party=party,
                         birth_date=party.birth_date, status=UvgChildStatus.APPLIED,
                         application_date=received,
                         application_key=str(answers_child.get("id"))[:20]
                         if answers_child.get("id") else None)
        _facts_from_answers(child, application.answers, answers_child, applicant, own_amounts)
        db.session.add(child)
        created.append(child)
    db.session.flush()
    if created:
        add_event(fall, UvgEventKind.CHECK_STARTED,
                  ", ".join(child.party.full_name for child in created), actor)
        record(actor, "uvg.children_taken_over", "fall", fall.id,
               after={"children": [child.id for child in created],
                      "from_application": application.eingang_id})
    return TakeOverResult(created, missing, to_split if created else SharedAmounts())


@dataclass(frozen=True)
class ConfirmedFacts:
    """What the caseworker confirms for a child; amounts are monthly, in cents."""

    birth_date: date
    application_date: date
    requested_from: date | None
    maintenance_cents: int
    orphan_benefit_cents: int
    child_income_cents: int
    left_school: bool
    trainee: bool
    payee_name: str
    payee_iban: str
    payee_bic: str = ""


def _facts_view(child: UvgChild) -> dict[str, object]:
    # The IBAN is social data: the audit notes that it changed, the case keeps it.
    return {"birth_date": child.birth_date, "application_date": child.application_date,
            "requested_from": child.requested_from,
            "maintenance_cents": child.maintenance_cents,
            "orphan_benefit_cents": child.orphan_benefit_cents,
            "child_income_cents": child.child_income_cents, "left_school": child.left_school,
            "trainee": child.trainee, "facts_version": child.facts_version,
            "payee_iban_set": child.payee_iban is not None}


def check_child_version(child: UvgChild, expected_version: int | None) -> None:
    if expected_version is not None and child.version != expected_version:
        raise UvgRefused(_("Someone else changed this child's facts in the meantime. "
                           "Please look at the current state and enter your change again."))


def _check_amount(cents: int, label: str) -> None:
    if cents < 0:
        raise UvgRefused(_("%(what)s must not be negative.", what=label))
    if cents > MAX_AMOUNT_CENTS:
        raise UvgRefused(_("%(what)s of more than 100,000 EUR a month is not plausible.",
                           what=label))


def confirm_facts(child: UvgChild, facts: ConfirmedFacts, actor: Actor, *,
                  expected_version: int | None = None, today: date | None = None) -> None:
    """Take the facts as established; a calculation made from older facts is outdated."""
    today = today or berlin_today()
    check_child_version(child, expected_version)
    if child.status is not UvgChildStatus.APPLIED:
        raise UvgRefused(_("The facts of a decided child change only through a reported "
                           "change."))
    if facts.birth_date > today:
        raise UvgRefused(_("The date of birth lies in the future."))
    if facts.application_date > today:
        raise UvgRefused(_("The application cannot have arrived in the future."))
    if facts.application_date < facts.birth_date:
        raise UvgRefused(_("The application cannot have arrived before the child was born."))
    # § 1 Abs. 1 Nr. 1 UVG: nothing once the child has completed its 18th year; § 4 UVG: the
    # earliest month is the one before the application arrived.
    if last_entitled_day(facts.birth_date) < earliest_month(facts.application_date):
        raise UvgRefused(_("The child was already 18 for the whole period that can be "
                           "granted."))
    if facts.requested_from is not None and facts.requested_from > add_months(
            first_of_month(today), 12):
        raise UvgRefused(_("The first month asked for lies more than a year ahead."))
    _check_amount(facts.maintenance_cents, _("Maintenance"))
    _check_amount(facts.orphan_benefit_cents, _("Orphan benefits"))
    _check_amount(facts.child_income_cents, _("The child's income"))
    if (facts.child_income_cents or facts.trainee) and not facts.left_school:
        raise UvgRefused(_("The child's income counts only once the child has left general "
                           "school (§ 2 Abs. 4 UVG). Tick that box or enter no income."))
    iban = _normal_iban(facts.payee_iban) if facts.payee_iban.strip() else None
    if facts.payee_iban.strip() and iban is None:
        raise UvgRefused(_("The IBAN is not valid. Please check it."))
    bic = "".join(facts.payee_bic.split()).upper()
    if bic:
        try:
            bic = str(BIC(bic))
        except SchwiftyException:
            raise UvgRefused(_("The BIC is not valid. Please check it.")) from None
    before = _facts_view(child)
    child.birth_date = facts.birth_date
    child.application_date = facts.application_date
    child.requested_from = first_of_month(facts.requested_from) if facts.requested_from \
        else None
    child.maintenance_cents = facts.maintenance_cents
    child.orphan_benefit_cents = facts.orphan_benefit_cents
    child.child_income_cents = facts.child_income_cents
    child.left_school = facts.left_school
    child.trainee = facts.trainee and facts.left_school
    child.payee_name = " ".join(facts.payee_name.split())[:140]
    child.payee_iban = iban
    child.payee_bic = bic or None
    child.facts_version += 1
    child.facts_confirmed_at = utcnow()
    child.facts_confirmed_by_name = actor.name[:200]
    db.session.flush()
    fall = db.session.get(Fall, child.fall_id)
    assert fall is not None
    add_event(fall, UvgEventKind.FACTS_CONFIRMED, child.party.full_name, actor)
    record(actor, "uvg.facts_confirmed", "uvg_child", child.id, before=before,
           after=_facts_view(child))


# --- the checklist ----------------------------------------------------------------------------


def findings_of(child: UvgChild) -> dict[str, eligibility.Finding]:
    """The latest finding per condition."""
    rows = db.session.scalars(
        select(UvgConditionAssessment).where(UvgConditionAssessment.uvg_child_id == child.id)
        .order_by(UvgConditionAssessment.assessed_at, UvgConditionAssessment.id))
    return {row.condition: eligibility.Finding(row.state, row.note, row.assessed_by_name)
            for row in rows}


def first_month_of(child: UvgChild) -> date:
    """The first month asked for: as requested, never before § 4 UVG or the birth allows."""
    assert child.application_date is not None
    earliest = max(earliest_month(child.application_date), first_of_month(child.birth_date))
    return max(child.requested_from or earliest, earliest)


def checklist_of(child: UvgChild, application: Application,
                 evidence: Mapping[str, Sequence[int]]) -> list[eligibility.ConditionResult]:
    return eligibility.checklist(eligibility.ChildCheck(
        birth_date=child.birth_date,
        reference_month=first_month_of(child) if child.application_date else
        first_of_month(berlin_today()),
        answers=application.answers, child_answers=application.child(child.application_key),
        findings=findings_of(child), evidence=evidence,
        maintenance_cents=child.maintenance_cents))


def assess_condition(child: UvgChild, condition: str, state: ConditionState, note: str,
                     actor: Actor) -> UvgConditionAssessment:
    """Record the caseworker's finding on one condition; the latest finding counts."""
    if condition not in eligibility.CONDITIONS:
        raise UvgRefused(_("Choose one of the conditions of the checklist."))
    note = note.strip()
    if not note:
        raise UvgRefused(_("Write down why: the note is part of the file."))
    if len(note) > MAX_NOTE:
        raise UvgRefused(_("The note is too long: at most %(count)s characters.",
                           count=MAX_NOTE))
    if child.status is not UvgChildStatus.APPLIED:
        raise UvgRefused(_("The check of a decided child changes only through a reported "
                           "change."))
    before = findings_of(child).get(condition)
    row = UvgConditionAssessment(uvg_child_id=child.id, condition=condition, state=state,
                                 note=note, assessed_by_name=actor.name[:200])
    db.session.add(row)
    db.session.flush()
    fall = db.session.get(Fall, child.fall_id)
    assert fall is not None
    add_event(fall, UvgEventKind.CONDITION_ASSESSED,
              f"{child.party.full_name}: {eligibility.CONDITION_LABELS[condition]} – "
              f"{CONDITION_STATE_LABELS[state]}", actor)
    record(actor, "uvg.condition_assessed", "uvg_child", child.id,
           before={"condition": condition, "state": before.state if before else None},
           after={"condition": condition, "state": state, "note_chars": len(note)})
    return row


# --- calculating ------------------------------------------------------------------------------


def end_of_entitlement(child: UvgChild, section_1a: ConditionState) -> date:
    """The last day the child can be entitled: the day it completes its 18th year (§ 1 Abs. 1
    Nr. 1 UVG); its 12th, where § 1 Abs. 1a UVG is not established (checked again then)."""
    if section_1a is ConditionState.MET:
        return last_entitled_day(child.birth_date)
    return completes_year_of_life(child.birth_date, 12)


def _month_json(calculation: Calculation) -> list[dict[str, Any]]:
    return [{"month": month.month.isoformat(), "age_band": month.age_band,
             "table_cents": month.table_cents, "days": month.days,
             "days_in_basis": month.days_in_basis, "gross_cents": month.gross_cents,
             "deductions": [{"kind": d.kind, "cents": d.cents, "legal_basis": d.legal_basis}
                            for d in month.deductions],
             "unrounded_cents": month.unrounded_cents, "paid_cents": month.paid_cents,
             "notes": list(month.notes)}
            for month in calculation.months]


def _income(child: UvgChild) -> Income:
    return Income(maintenance_cents=child.maintenance_cents,
                  orphan_benefit_cents=child.orphan_benefit_cents,
                  child_income_cents=child.child_income_cents)


def _run(inp: CalculationInput, today: date) -> Calculation:
    from backoffice.uvg.calculation import calculate

    try:
        return calculate(inp, today=today)
    except CalculationError as error:
        raise UvgRefused(_(error.msgid, **error.params)) from None


def calculate_child(child: UvgChild, actor: Actor, *, until: date | None = None,
                    today: date | None = None) -> UvgCalculation:
    """Calculate the months from the first month asked for to the end of the entitlement (or
    ``until``) from the confirmed facts, and keep the result for the decision."""
    today = today or berlin_today()
    if not child.facts_confirmed or child.application_date is None:
        raise UvgRefused(_("Confirm the facts of %(name)s before calculating.",
                           name=child.party.full_name))
    if child.status is not UvgChildStatus.APPLIED:
        raise UvgRefused(_("This child has been decided; a change recalculates it."))
    fall = db.session.get(Fall, child.fall_id)
    assert fall is not None
    results = checklist_of(child, application_of(fall), {})
    first = first_month_of(child)
    section_1a = next(r for r in results if r.code == eligibility.SECTION_1A)
    # For a child under 12 the application could not answer § 1 Abs. 1a UVG: the period ends
    # at 12 unless the caseworker has established it already.
    established = section_1a.state is ConditionState.MET and (
        section_1a.from_caseworker or completes_year_of_life(child.birth_date, 12) < first)
    end = end_of_entitlement(child, ConditionState.MET if established else ConditionState.OPEN)
    if end < first:
        raise UvgRefused(_("%(name)s has no entitlement from the first month asked for: the "
                           "child is 12 or older and § 1 Abs. 1a UVG is not established.",
                           name=child.party.full_name))
    last = first_of_month(end)
    if until is not None:
        if first_of_month(until) < first:
            raise UvgRefused(_("The period ends before it starts."))
        last = min(last, first_of_month(until))
    calculation = _run(CalculationInput(
        birth_date=child.birth_date, first_month=first, last_month=last,
        application_date=child.application_date, income=_income(child),
        left_school=child.left_school, trainee=child.trainee,
        end_date=end if end < last_entitled_day(child.birth_date) else None), today)
    row = UvgCalculation(uvg_child_id=child.id, fall_id=child.fall_id, first_month=first,
                         last_month=last, total_cents=calculation.total_cents,
                         months=_month_json(calculation), facts_version=child.facts_version,
                         created_by_name=actor.name[:200])
    db.session.add(row)
    db.session.flush()
    add_event(fall, UvgEventKind.CALCULATED,
              _("%(name)s: %(first)s to %(last)s, %(total)s in total",
                name=child.party.full_name, first=first.strftime("%m/%Y"),
                last=last.strftime("%m/%Y"), total=euro(calculation.total_cents)), actor)
    record(actor, "uvg.calculated", "uvg_child", child.id,
           after={"calculation_id": row.id, "first_month": first, "last_month": last,
                  "total_cents": row.total_cents, "facts_version": child.facts_version})
    return row


def latest_calculation(child: UvgChild) -> UvgCalculation | None:
    return db.session.scalar(select(UvgCalculation).where(UvgCalculation.uvg_child_id == child.id)
                             .order_by(UvgCalculation.id.desc()).limit(1))


def current_calculation(child: UvgChild) -> UvgCalculation | None:
    """The latest calculation, if it was made from the child's current facts."""
    latest = latest_calculation(child)
    return latest if latest is not None and latest.facts_version == child.facts_version \
        else None


# --- deciding ---------------------------------------------------------------------------------

FIRST_DECISIONS = (DecisionKind.BEWILLIGUNG, DecisionKind.TEILBEWILLIGUNG,
                   DecisionKind.ABLEHNUNG)


def prepare_decision(fall: Fall, kind: DecisionKind, actor: Actor) -> Decision:
    """Draft the first decision on the children not yet decided, resting on their calculations.

    Bewilligung: every child eligible and calculated. Teilbewilligung: at least one child
    granted, the others refused for a condition not met or for nothing to pay. Ablehnung:
    every child has a condition not met or nothing to pay. An open condition blocks each.
    """
    if kind not in FIRST_DECISIONS:
        raise UvgRefused(_("Choose Bewilligung, Teilbewilligung or Ablehnung."))
    children = [child for child in children_of(fall) if child.status is UvgChildStatus.APPLIED]
    if not children:
        raise UvgRefused(_("There is no child left to decide on. Take the children over from "
                           "the application first."))
    applicant = applicant_of(fall)
    if applicant is None:
        raise UvgRefused(_("The case names no applicant to address the Bescheid to."))
    application = application_of(fall)
    outcomes: list[tuple[UvgChild, UvgOutcome, UvgCalculation | None]] = []
    not_met: dict[int, tuple[str, ...]] = {}
    for child in children:
        results = checklist_of(child, application, {})
        state = eligibility.overall(results)
        not_met[child.id] = tuple(r.code for r in results if r.state is ConditionState.NOT_MET)
        calculation = current_calculation(child)
        name = child.party.full_name
        if state is ConditionState.OPEN:
            raise UvgRefused(_("Decide the open conditions of %(name)s first.", name=name))
        nothing = calculation is not None and calculation.total_cents == 0
        if state is ConditionState.MET and not nothing:
            if calculation is None:
                raise UvgRefused(_("There is no current calculation for %(name)s: a decision "
                                   "without a calculation is not possible. Calculate first.",
                                   name=name))
            outcomes.append((child, UvgOutcome.GRANTED, calculation))
        else:
            outcomes.append((child, UvgOutcome.REFUSED, calculation))
    granted = [item for item in outcomes if item[1] is UvgOutcome.GRANTED]
    if kind is DecisionKind.BEWILLIGUNG and len(granted) != len(outcomes):
        raise UvgRefused(_("Not every child can be granted: choose Teilbewilligung or "
                           "Ablehnung."))
    if kind is DecisionKind.TEILBEWILLIGUNG and not granted:
        raise UvgRefused(_("No child can be granted: choose Ablehnung."))
    if kind is DecisionKind.ABLEHNUNG and granted:
        raise UvgRefused(_("A condition is met and an amount is due for %(name)s: an "
                           "Ablehnung needs a condition not met (record it in the checklist).",
                           name=granted[0][0].party.full_name))
    texts = bescheid.first_decision_texts(
        [bescheid.ChildOutcome(child.party.full_name, outcome, calculation,
                               ends_at_12=_ends_at_12(child, calculation),
                               not_met=not_met[child.id])
         for child, outcome, calculation in outcomes],
        applicant_received=children[0].application_date)
    decision = create_decision(fall, DecisionDraft(
        kind=kind, subject=texts.subject, tenor=texts.tenor, begruendung=texts.begruendung,
        addressee_party_id=applicant.id, decision_date=None), actor)
    for child, outcome, calculation in outcomes:
        db.session.add(UvgDecisionChild(
            decision_id=decision.id, uvg_child_id=child.id, child=child, outcome=outcome,
            calculation_id=calculation.id if calculation is not None and
            outcome is UvgOutcome.GRANTED else None,
            from_month=calculation.first_month if calculation is not None else None))
    db.session.flush()
    record(actor, "uvg.decision_prepared", "decision", decision.id,
           after={"kind": kind, "children": {child.id: outcome for child, outcome, _c in
                                             outcomes}})
    return decision


def _ends_at_12(child: UvgChild, calculation: UvgCalculation | None) -> bool:
    """The period stops at the 12th birthday (§ 1 Abs. 1a UVG not yet established)."""
    twelve = first_of_month(completes_year_of_life(child.birth_date, 12))
    return calculation is not None and calculation.last_month == twelve


def decision_children(decision: Decision) -> list[UvgDecisionChild]:
    return list(db.session.scalars(select(UvgDecisionChild)
                                   .where(UvgDecisionChild.decision_id == decision.id)
                                   .order_by(UvgDecisionChild.id)))


def _order_refused(error: OrderError) -> DecisionRefused:
    return DecisionRefused(_("The payment order could not be raised: %(reason)s",
                             reason=_(error.message, **error.params)))


def _on_issuing(decision: Decision, *, actor: Actor, today: date, **_kw: object) -> None:
    try:
        _before_issue(decision, actor, today)
    except OrderError as error:
        raise _order_refused(error) from None


def _on_issued(decision: Decision, *, actor: Actor, today: date, **_kw: object) -> None:
    try:
        _after_issue(decision, actor, today)
    except OrderError as error:
        raise _order_refused(error) from None


def _before_issue(decision: Decision, actor: Actor, today: date) -> None:
    """Before a UVG Bescheid is issued: it must rest on current calculations."""
    fall = decision.fall
    if not is_uvg_case(fall):
        return
    if bescheid.TO_COMPLETE in decision.tenor or bescheid.TO_COMPLETE in decision.begruendung:
        raise DecisionRefused(_("Complete the passage marked \"[Bitte …]\" in the text "
                                "before issuing the Bescheid."))
    rows = decision_children(decision)
    # A UVG case nobody has checked on the UVG page yet (no children taken over) is decided
    # like any case; once it has UVG children, money is decided only on a calculation.
    if not rows and children_of(fall):
        if decision.kind is not DecisionKind.ABLEHNUNG:
            raise DecisionRefused(_("A UVG decision needs its calculation: prepare it on the "
                                    "UVG page of the case, where the amounts are "
                                    "calculated."))
        return
    for row in rows:
        if row.outcome in (UvgOutcome.GRANTED, UvgOutcome.CHANGED, UvgOutcome.ENDED):
            calculation = row.calculation
            if calculation is None or calculation.facts_version != row.child.facts_version:
                raise DecisionRefused(_("The facts of %(name)s changed after this decision was "
                                        "prepared: calculate again and prepare a new decision.",
                                        name=row.child.party.full_name))
        if row.outcome is UvgOutcome.GRANTED and row.child.status is not UvgChildStatus.APPLIED:
            raise DecisionRefused(_("%(name)s has been decided already.",
                                    name=row.child.party.full_name))
        if row.outcome is UvgOutcome.RECOVERY:
            _raise_recovery_order(decision, row, actor, today)


def _after_issue(decision: Decision, actor: Actor, today: date) -> None:
    """Once a UVG Bescheid is issued: entitlements, statuses, settlement, timeline."""
    fall = decision.fall
    if not is_uvg_case(fall):
        return
    rows = decision_children(decision)
    if not rows and decision.kind is DecisionKind.ABLEHNUNG:
        for child in children_of(fall):
            if child.status is UvgChildStatus.APPLIED:
                child.status = UvgChildStatus.REFUSED
                add_event(fall, UvgEventKind.REFUSED, child.party.full_name, actor)
        db.session.flush()
        return
    for row in rows:
        child = row.child
        if row.outcome is UvgOutcome.GRANTED:
            assert row.calculation is not None
            _write_entitlements(child, row.calculation, decision, from_month=None)
            child.status = UvgChildStatus.GRANTED
            add_event(fall, UvgEventKind.GRANTED,
                      _("%(name)s: %(total)s from %(first)s", name=child.party.full_name,
                        total=euro(row.calculation.total_cents),
                        first=row.calculation.first_month.strftime("%m/%Y")), actor)
        elif row.outcome is UvgOutcome.REFUSED:
            child.status = UvgChildStatus.REFUSED
            add_event(fall, UvgEventKind.REFUSED, child.party.full_name, actor)
        elif row.outcome in (UvgOutcome.CHANGED, UvgOutcome.ENDED):
            _apply_change(decision, row, actor, today)
    db.session.flush()
    record(actor, "uvg.decision_applied", "decision", decision.id,
           after={"children": {row.uvg_child_id: row.outcome for row in rows}})


def _write_entitlements(child: UvgChild, calculation: UvgCalculation, decision: Decision, *,
                        from_month: date | None) -> None:
    """Entitlement rows for the calculation's months (from ``from_month``), superseding the
    rows they replace; a row is never updated in place."""
    now = utcnow()
    months = [month for month in calculation.months
              if from_month is None or date.fromisoformat(month["month"]) >= from_month]
    replaced_from = from_month or calculation.first_month
    for old in db.session.scalars(select(UvgEntitlement).where(
            UvgEntitlement.uvg_child_id == child.id, UvgEntitlement.superseded.is_(False),
            UvgEntitlement.month >= replaced_from)):
        old.superseded = True
        old.superseded_at = now
    # The partial unique index checks at INSERT: the old rows must be marked first.
    db.session.flush()
    for month in months:
        db.session.add(UvgEntitlement(uvg_child_id=child.id, fall_id=child.fall_id,
                                      month=date.fromisoformat(month["month"]),
                                      paid_cents=int(month["paid_cents"]),
                                      decision_id=decision.id))
    db.session.flush()


def entitlements_of(child: UvgChild) -> list[UvgEntitlement]:
    return list(db.session.scalars(select(UvgEntitlement).where(
        UvgEntitlement.uvg_child_id == child.id, UvgEntitlement.superseded.is_(False))
        .order_by(UvgEntitlement.month)))


# --- changes ----------------------------------------------------------------------------------

ENDING_KINDS = {
    UvgChangeKind.CHILD_MOVED_OUT: UvgEndReason.CHILD_MOVED_OUT,
    UvgChangeKind.PARENT_MARRIED: UvgEndReason.PARENT_MARRIED,
}


@dataclass(frozen=True)
class ReportedChange:
    kind: UvgChangeKind
    effective_on: date
    reported_on: date
    note: str = ""
    # INCOME / MAINTENANCE: the new monthly amounts (None: unchanged)
    maintenance_cents: int | None = None
    orphan_benefit_cents: int | None = None
    child_income_cents: int | None = None
    left_school: bool | None = None
    trainee: bool | None = None
    # MOVE: the child moved abroad with the parent (§ 1 Abs. 1 Nr. 2 UVG: ends the claim)
    abroad: bool = False
    # END: why the benefit ends
    end_reason: UvgEndReason | None = None


def _end_reason(change: ReportedChange) -> UvgEndReason | None:
    if change.kind in ENDING_KINDS:
        return ENDING_KINDS[change.kind]
    if change.kind is UvgChangeKind.MOVE and change.abroad:
        return UvgEndReason.MOVED_ABROAD
    if change.kind is UvgChangeKind.END:
        return change.end_reason or UvgEndReason.OTHER
    return None


def record_change(child: UvgChild, change: ReportedChange, actor: Actor, *,
                  expected_version: int | None = None,
                  today: date | None = None) -> tuple[UvgChange, Decision | None]:
    """Record a reported change and recalculate from the month it takes effect.

    The result is a draft Änderungsbescheid (or Einstellung); issuing it rewrites the months
    and settles what was paid (back payment or Rückforderung). A move inside Germany changes
    no amount: it is recorded, no decision is drafted.
    """
    today = today or berlin_today()
    check_child_version(child, expected_version)
    if child.status is not UvgChildStatus.GRANTED:
        raise UvgRefused(_("Changes are recorded for children with a Bewilligung."))
    current = entitlements_of(child)
    if not current:
        raise UvgRefused(_("There are no decided months for this child."))
    started = current[0].month
    if change.effective_on < started:
        raise UvgRefused(_("The change takes effect before the benefit started "
                           "(%(date)s). Nothing was changed.", date=german_date(started)))
    if change.effective_on > today + timedelta(days=MAX_CHANGE_AHEAD_DAYS):
        raise UvgRefused(_("The change takes effect more than six months ahead. Record it "
                           "when it is closer."))
    if change.reported_on > today:
        raise UvgRefused(_("The day the change was reported cannot be in the future."))
    note = change.note.strip()
    if len(note) > MAX_NOTE:
        raise UvgRefused(_("The note is too long: at most %(count)s characters.",
                           count=MAX_NOTE))
    for value, label in ((change.maintenance_cents, _("Maintenance")),
                         (change.orphan_benefit_cents, _("Orphan benefits")),
                         (change.child_income_cents, _("The child's income"))):
        if value is not None:
            _check_amount(value, label)
    fall = db.session.get(Fall, child.fall_id)
    assert fall is not None
    end_reason = _end_reason(change)
    before = _facts_view(child)
    if change.maintenance_cents is not None:
        child.maintenance_cents = change.maintenance_cents
    if change.orphan_benefit_cents is not None:
        child.orphan_benefit_cents = change.orphan_benefit_cents
    if change.child_income_cents is not None:
        child.child_income_cents = change.child_income_cents
    if change.left_school is not None:
        child.left_school = change.left_school
    if change.trainee is not None:
        child.trainee = change.trainee and child.left_school
    if child.child_income_cents and not child.left_school:
        raise UvgRefused(_("The child's income counts only once the child has left general "
                           "school (§ 2 Abs. 4 UVG). Tick that box or enter no income."))
    child.facts_version += 1
    row = UvgChange(fall_id=fall.id, uvg_child_id=child.id, kind=change.kind,
                    effective_on=change.effective_on, reported_on=change.reported_on,
                    note=note, before=_jsonable(before), after=_jsonable(_facts_view(child)),
                    created_by_name=actor.name[:200])
    db.session.add(row)
    db.session.flush()
    add_event(fall, UvgEventKind.CHANGE_REPORTED,
              _("%(name)s: %(kind)s from %(date)s", name=child.party.full_name,
                kind=row.kind_label, date=german_date(change.effective_on)), actor)
    record(actor, "uvg.change_recorded", "uvg_child", child.id, before=before,
           after={**_facts_view(child), "change_id": row.id, "kind": change.kind,
                  "effective_on": change.effective_on})
    if change.kind is UvgChangeKind.MOVE and end_reason is None:
        return row, None
    from_month = first_of_month(change.effective_on)
    last = current[-1].month
    # An end inside a month is paid for the days until then (§ 2 Abs. 1 S. 3 UVG, 1/30 a day).
    end_date = change.effective_on - timedelta(days=1) if end_reason is not None else None
    if end_reason is not None:
        last = from_month
    else:
        # The recalculation keeps the decided end: a Bewilligung up to the 12th year (§ 1
        # Abs. 1a UVG not established) ends inside that month and pays it by the day.
        twelve = completes_year_of_life(child.birth_date, 12)
        if first_of_month(twelve) == last and twelve < last_entitled_day(child.birth_date):
            end_date = twelve
    calculation = _run(CalculationInput(
        birth_date=child.birth_date, first_month=from_month, last_month=max(last, from_month),
        application_date=child.application_date, income=_income(child),
        left_school=child.left_school, trainee=child.trainee, end_date=end_date), today)
    calc_row = UvgCalculation(uvg_child_id=child.id, fall_id=fall.id, first_month=from_month,
                              last_month=max(last, from_month),
                              total_cents=calculation.total_cents,
                              months=_month_json(calculation), facts_version=child.facts_version,
                              created_by_name=actor.name[:200])
    db.session.add(calc_row)
    db.session.flush()
    applicant = applicant_of(fall)
    if applicant is None:
        raise UvgRefused(_("The case names no applicant to address the Bescheid to."))
    kind = DecisionKind.AUFHEBUNG if end_reason is not None else DecisionKind.AENDERUNG
    texts = bescheid.change_texts(kind, child.party.full_name, row, end_reason, calc_row)
    decision = create_decision(fall, DecisionDraft(
        kind=kind, subject=texts.subject, tenor=texts.tenor, begruendung=texts.begruendung,
        addressee_party_id=applicant.id, decision_date=None), actor)
    db.session.add(UvgDecisionChild(
        decision_id=decision.id, uvg_child_id=child.id, child=child,
        outcome=UvgOutcome.ENDED if end_reason is not None else UvgOutcome.CHANGED,
        calculation_id=calc_row.id, change_id=row.id, from_month=from_month))
    row.decision_id = decision.id
    if end_reason is not None:
        row.after = {**row.after, "end_reason": end_reason.value}
    db.session.flush()
    return row, decision


def _jsonable(values: Mapping[str, object]) -> dict[str, object]:
    return {key: value.isoformat() if isinstance(value, date) else value
            for key, value in values.items()}


def changes_of(fall: Fall) -> list[UvgChange]:
    return list(db.session.scalars(select(UvgChange).where(UvgChange.fall_id == fall.id)
                                   .order_by(UvgChange.id)))


def _apply_change(decision: Decision, row: UvgDecisionChild, actor: Actor, today: date) -> None:
    child = row.child
    change = db.session.get(UvgChange, row.change_id) if row.change_id else None
    assert row.calculation is not None
    assert row.from_month is not None
    assert change is not None
    fall = decision.fall
    _write_entitlements(child, row.calculation, decision, from_month=row.from_month)
    staff = _staff_of(actor)
    if row.outcome is UvgOutcome.ENDED:
        reason_value = change.after.get("end_reason") or UvgEndReason.OTHER.value
        child.status = UvgChildStatus.ENDED
        child.end_reason = UvgEndReason(str(reason_value))
        child.ended_on = change.effective_on - timedelta(days=1)
        _cancel_unsent_orders(fall, child, row.from_month, staff)
        add_event(fall, UvgEventKind.ENDED,
                  _("%(name)s: ends on %(date)s", name=child.party.full_name,
                    date=german_date(child.ended_on)), actor)
    else:
        add_event(fall, UvgEventKind.CHANGED,
                  _("%(name)s: new amounts from %(month)s", name=child.party.full_name,
                    month=row.from_month.strftime("%m/%Y")), actor)
    _settle(decision, row, change, actor, staff, today)


def _staff_of(actor: Actor) -> Staff | None:
    return db.session.get(Staff, actor.id) if actor.kind == "staff" and actor.id else None


def _cancel_unsent_orders(fall: Fall, child: UvgChild, from_month: date,
                          staff: Staff | None) -> None:
    """Ending stops what has not left yet: monthly orders for months from the end month on
    that the treasury has not received are cancelled (a paid month is settled instead)."""
    order_ids = select(UvgPayment.sollstellung_id).where(
        UvgPayment.uvg_child_id == child.id, UvgPayment.month >= from_month,
        UvgPayment.kind == UvgPaymentKind.MONTHLY.value)
    orders = db.session.scalars(select(Sollstellung).where(
        Sollstellung.id.in_(order_ids), Sollstellung.status.in_(_NOT_SENT),
        Sollstellung.transfer_id.is_(None)))
    for order in orders:
        cancel_order(staff, order, f"Einstellung Unterhaltsvorschuss {fall.aktenzeichen}")


def _settle(decision: Decision, row: UvgDecisionChild, change: UvgChange, actor: Actor,
            staff: Staff | None, today: date) -> None:
    """Compare the new months with what went out: underpaid months are paid in one back
    payment; overpaid ones are claimed back by a Rückforderungsbescheid (§ 5 UVG)."""
    child = row.child
    assert row.from_month is not None
    paid = paid_by_month(child.id)
    new = {entitlement.month: entitlement.paid_cents for entitlement in entitlements_of(child)}
    months = {month for month in paid if month >= row.from_month}
    if child.status is UvgChildStatus.ENDED:
        # An ended child gets no further monthly run: the days up to the end are settled here,
        # the last (part) month too when its monthly order was cancelled unsent.
        months |= {month for month, cents in new.items() if month >= row.from_month and cents}
    under = {month: new.get(month, 0) - paid.get(month, 0) for month in sorted(months)
             if new.get(month, 0) > paid.get(month, 0)}
    over = {month: paid.get(month, 0) - new.get(month, 0) for month in sorted(months)
            if paid.get(month, 0) > new.get(month, 0)}
    fall = decision.fall
    if under:
        total = sum(under.values())
        order = create_order(
            staff, direction=Direction.AUSZAHLUNG, amount_cents=total, due_date=today,
            haushaltsstelle=haushaltsstelle(Direction.AUSZAHLUNG),
            party_name=child.payee_name or child.party.full_name, iban=child.payee_iban,
            bic=child.payee_bic, fall_id=fall.id, source=SOURCE,
            source_key=f"uvg:nachzahlung:{child.id}:{change.id}",
            period_start=min(under), period_end=_month_end(max(under)))
        for month, cents in under.items():
            db.session.add(UvgPayment(uvg_child_id=child.id, fall_id=fall.id, month=month,
                                      sollstellung_id=order.id, amount_cents=cents,
                                      kind=UvgPaymentKind.BACK_PAYMENT))
        change.back_payment_order_id = order.id
        add_event(fall, UvgEventKind.BACK_PAYMENT,
                  _("%(name)s: %(amount)s (Kassenzeichen %(kz)s)", name=child.party.full_name,
                    amount=euro(total), kz=format_kassenzeichen(order.kassenzeichen)), actor)
    change.difference_cents = sum(under.values()) - sum(over.values())
    if over:
        _draft_recovery(decision, child, change, over, actor)
    db.session.flush()


def _month_end(month: date) -> date:
    return add_months(month, 1) - timedelta(days=1)


def _draft_recovery(decision: Decision, child: UvgChild, change: UvgChange,
                    over: Mapping[date, int], actor: Actor) -> Decision:
    """The Rückforderungsbescheid (§ 5 UVG) as a draft of its own: the caseworker hears the
    parent (§ 24 SGB X) and checks § 5's conditions before issuing it; issuing raises the
    receivable order."""
    fall = decision.fall
    total = sum(over.values())
    texts = bescheid.recovery_texts(child.party.full_name, change, over)
    recovery = create_decision(fall, DecisionDraft(
        kind=DecisionKind.AENDERUNG, subject=texts.subject, tenor=texts.tenor,
        begruendung=texts.begruendung, addressee_party_id=decision.addressee_party_id,
        decision_date=None), actor, refers_to=decision)
    db.session.add(UvgDecisionChild(decision_id=recovery.id, uvg_child_id=child.id,
                                    child=child, outcome=UvgOutcome.RECOVERY,
                                    change_id=change.id, from_month=min(over),
                                    amount_cents=total))
    change.recovery_decision_id = recovery.id
    db.session.flush()
    return recovery


def overpaid_months(row: UvgDecisionChild) -> dict[date, int]:
    """The months a recovery claims back and by how much (from the change's settlement)."""
    child = row.child
    paid = paid_by_month(child.id)
    new = {entitlement.month: entitlement.paid_cents for entitlement in entitlements_of(child)}
    assert row.from_month is not None
    return {month: paid[month] - new.get(month, 0) for month in sorted(paid)
            if month >= row.from_month and paid[month] > new.get(month, 0)}


def _raise_recovery_order(decision: Decision, row: UvgDecisionChild, actor: Actor,
                          today: date) -> None:
    """Issuing a Rückforderungsbescheid: the receivable order against the caring parent, so
    the Kassenzeichen is printed on the letter."""
    child = row.child
    change = db.session.get(UvgChange, row.change_id) if row.change_id else None
    assert change is not None
    if change.recovery_order_id is not None:
        return
    over = overpaid_months(row)
    total = sum(over.values())
    if total <= 0:
        raise DecisionRefused(_("Nothing is overpaid any more: this Rückforderung is not "
                                "needed."))
    fall = decision.fall
    payer = next((party for party in fall.parties
                  if party.id == decision.addressee_party_id), None)
    # § 37 SGB X: due once notified; a month for the payer to pay is the office's practice.
    order = create_order(
        _staff_of(actor), direction=Direction.ANNAHME, amount_cents=total,
        due_date=today + timedelta(days=30),
        haushaltsstelle=haushaltsstelle(Direction.ANNAHME),
        party_name=(payer.full_name if payer else child.payee_name)[:200],
        party_street=(payer.address.splitlines()[0] if payer and payer.address else "")[:200],
        fall_id=fall.id, source=SOURCE, source_key=f"uvg:rueckforderung:{child.id}:{change.id}",
        period_start=min(over), period_end=_month_end(max(over)))
    for month, cents in over.items():
        db.session.add(UvgPayment(uvg_child_id=child.id, fall_id=fall.id, month=month,
                                  sollstellung_id=order.id, amount_cents=-cents,
                                  kind=UvgPaymentKind.RECOVERY_OF_OVERPAYMENT))
    change.recovery_order_id = order.id
    row.amount_cents = total
    add_event(fall, UvgEventKind.RECOVERY,
              _("%(name)s: %(amount)s claimed back (Kassenzeichen %(kz)s)",
                name=child.party.full_name, amount=euro(total),
                kz=format_kassenzeichen(order.kassenzeichen)), actor)
    db.session.flush()
    record(actor, "uvg.recovery_ordered", "uvg_change", change.id,
           after={"order_id": order.id, "amount_cents": total,
                  "months": [month.isoformat() for month in over]})


def recovery_order_of(decision: Decision) -> Sollstellung | None:
    row = db.session.scalar(select(UvgChange).where(UvgChange.recovery_decision_id ==
                                                    decision.id))
    if row is None or row.recovery_order_id is None:
        return None
    return db.session.get(Sollstellung, row.recovery_order_id)


def open_drafts(fall: Fall) -> list[Decision]:
    """Drafts prepared on the UVG page that still wait to be issued."""
    ids = select(UvgDecisionChild.decision_id)
    return list(db.session.scalars(select(Decision).where(
        Decision.fall_id == fall.id, Decision.status == DecisionStatus.DRAFT,
        Decision.id.in_(ids)).order_by(Decision.id)))


def connect_signals() -> None:
    """Subscribe to the decisions' issue signals (weakly held: keep module-level refs)."""
    decision_issuing.connect(_on_issuing)
    decision_issued.connect(_on_issued)


connect_signals()
