"""Rückgriff (§ 7 UVG): every write to the liable parent's recovery file, each with its audit
entry in the same transaction; callers commit.

The order of things, as a UV-Stelle works (DOMAIN.md §1.5): the Rechtswahrungsanzeige tells the
parent that the child's maintenance claim passes to the Land and that he may be held liable for
the past (§ 7 Abs. 2 UVG) – claims for the past run from its month; the Anhörung gives him the
chance to comment before the claim is made (§ 24 SGB X); the Zahlungsaufforderung asks for the
money under a Kassenzeichen and puts him in default (§ 286 Abs. 1 BGB). While he receives SGB II
and has no income of his own, nothing is pursued (§ 7a UVG). What the treasury books against a
claim comes back through ``ihv.signals.booking_matched``.
"""

from __future__ import annotations

import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from flask_babel import force_locale
from sqlalchemy import func, select

from amtsweg.audit.services import SYSTEM, Actor, record
from amtsweg.clock import berlin_today
from amtsweg.db import utcnow
from amtsweg.extensions import db
from amtsweg.office.services import OfficeData, office_data
from amtsweg.staff.models import Staff
from amtsweg.translate import gettext as _
from amtsweg.translate import lazy_gettext as _l
from backoffice.decisions.pdf import BescheidData
from backoffice.models import DocumentOrigin, Fall, Party, PartyRole, register_event_labels
from backoffice.payments import skip_booking_events_for
from backoffice.services import add_event, file_document, update_party
from backoffice.uvg.letters import AmountRow, LetterBody, render_letter
from backoffice.uvg.models import UvgChild
from backoffice.uvg.payments import (
    euro,
    haushaltsstelle,
    month_label,
    next_month,
    paid_by_month,
    paid_total_for_case,
)
from backoffice.uvg.recovery_models import (
    LetterKind,
    UvgRecovery,
    UvgRecoveryClaim,
    UvgRecoveryClaimMonth,
    UvgRecoveryLetter,
    UvgRecoveryReceipt,
)
from ihv.codes import format_kassenzeichen
from ihv.models import Booking, Direction, OrderStatus, Sollstellung
from ihv.services import OrderError, create_order
from ihv.signals import booking_matched
from storage.services import store_upload

SOURCE = "uvg-rueckgriff"
MAX_ADDRESS = 500
MAX_EMPLOYER = 200
MAX_NOTE = 2000
MAX_INCOME_CENTS = 100_000_000  # 1 million euros a month: beyond it, a typing error
# An Anhörung gives at least two weeks (the usual period for § 24 SGB X) and at most three
# months; a payment is asked for within the same bounds.
MIN_REPLY_DAYS = 14
MAX_PERIOD_DAYS = 92
_VOID = (OrderStatus.CANCELLED.value, OrderStatus.REJECTED.value)


class RecoveryEventKind:
    RECHTSWAHRUNGSANZEIGE = "uvg_rechtswahrungsanzeige"
    ANHOERUNG = "uvg_anhoerung"
    INVERZUGSETZUNG = "uvg_inverzugsetzung"
    RECEIPT = "uvg_recovery_receipt"
    FILE_CHANGED = "uvg_recovery_changed"


register_event_labels({
    RecoveryEventKind.RECHTSWAHRUNGSANZEIGE: _l("Rechtswahrungsanzeige sent"),
    RecoveryEventKind.ANHOERUNG: _l("Anhörung letter sent"),
    RecoveryEventKind.INVERZUGSETZUNG: _l("Demand for payment sent (Inverzugsetzung)"),
    RecoveryEventKind.RECEIPT: _l("Payment received from the liable parent"),
    RecoveryEventKind.FILE_CHANGED: _l("Recovery file changed"),
})


class RecoveryRefused(ValueError):
    """The step is not possible; the message says why, in the user's language."""


# --- reading --------------------------------------------------------------------------------


def liable_parents(fall: Fall) -> list[Party]:
    return [party for party in fall.parties if party.role is PartyRole.OTHER_PARENT]


def liable_parent(fall: Fall, party_id: int) -> Party | None:
    return next((party for party in liable_parents(fall) if party.id == party_id), None)


def recovery_of(fall: Fall, party: Party) -> UvgRecovery | None:
    return db.session.scalar(select(UvgRecovery).where(UvgRecovery.fall_id == fall.id,
                                                       UvgRecovery.party_id == party.id))


def letters_of(recovery: UvgRecovery) -> list[UvgRecoveryLetter]:
    return list(db.session.scalars(
        select(UvgRecoveryLetter).where(UvgRecoveryLetter.recovery_id == recovery.id)
        .order_by(UvgRecoveryLetter.letter_date, UvgRecoveryLetter.id)))


@dataclass(frozen=True)
class ClaimView:
    claim: UvgRecoveryClaim
    status: OrderStatus
    recovered_cents: int

    @property
    def kassenzeichen(self) -> str:
        return format_kassenzeichen(self.claim.kassenzeichen)

    @property
    def open_cents(self) -> int:
        if self.status.value in _VOID:
            return 0
        return max(self.claim.amount_cents - self.recovered_cents, 0)


def claims_of(recovery: UvgRecovery) -> list[ClaimView]:
    received = (select(UvgRecoveryReceipt.claim_id,
                       func.sum(UvgRecoveryReceipt.amount_cents).label("cents"))
                .group_by(UvgRecoveryReceipt.claim_id).subquery())
    rows = db.session.execute(
        select(UvgRecoveryClaim, Sollstellung.status, func.coalesce(received.c.cents, 0))
        .join(Sollstellung, Sollstellung.id == UvgRecoveryClaim.sollstellung_id)
        .outerjoin(received, received.c.claim_id == UvgRecoveryClaim.id)
        .where(UvgRecoveryClaim.recovery_id == recovery.id)
        .order_by(UvgRecoveryClaim.id))
    return [ClaimView(claim, OrderStatus(status), int(cents)) for claim, status, cents in rows]


def receipts_of(recovery: UvgRecovery) -> list[UvgRecoveryReceipt]:
    return list(db.session.scalars(
        select(UvgRecoveryReceipt).join(UvgRecoveryClaim,
                                        UvgRecoveryClaim.id == UvgRecoveryReceipt.claim_id)
        .where(UvgRecoveryClaim.recovery_id == recovery.id)
        .order_by(UvgRecoveryReceipt.booking_date, UvgRecoveryReceipt.id)))


@dataclass(frozen=True)
class Figures:
    """The case's money at a glance: paid out, claimed from the liable parent, recovered, open."""

    paid_out_cents: int
    claimed_cents: int
    recovered_cents: int

    @property
    def open_cents(self) -> int:
        return max(self.claimed_cents - self.recovered_cents, 0)


def figures(fall: Fall) -> Figures:
    claimed = db.session.scalar(
        select(func.coalesce(func.sum(UvgRecoveryClaim.amount_cents), 0))
        .join(Sollstellung, Sollstellung.id == UvgRecoveryClaim.sollstellung_id)
        .where(UvgRecoveryClaim.fall_id == fall.id, Sollstellung.status.not_in(_VOID)))
    recovered = db.session.scalar(
        select(func.coalesce(func.sum(UvgRecoveryReceipt.amount_cents), 0))
        .where(UvgRecoveryReceipt.fall_id == fall.id))
    return Figures(paid_total_for_case(fall.id), int(claimed or 0), int(recovered or 0))


def children_of(fall: Fall) -> list[UvgChild]:
    return list(db.session.scalars(select(UvgChild).where(UvgChild.fall_id == fall.id)
                                   .order_by(UvgChild.id)))


@dataclass(frozen=True)
class ClaimableMonth:
    uvg_child_id: int
    child_name: str
    month: date
    paid_cents: int
    claimed_cents: int  # by earlier claims that stand
    claimable_cents: int


def _claimed(child_ids: list[int]) -> dict[tuple[int, date], int]:
    if not child_ids:
        return {}
    rows = db.session.execute(
        select(UvgRecoveryClaimMonth.uvg_child_id, UvgRecoveryClaimMonth.month,
               func.sum(UvgRecoveryClaimMonth.amount_cents))
        .join(UvgRecoveryClaim, UvgRecoveryClaim.id == UvgRecoveryClaimMonth.claim_id)
        .join(Sollstellung, Sollstellung.id == UvgRecoveryClaim.sollstellung_id)
        .where(UvgRecoveryClaimMonth.uvg_child_id.in_(child_ids),
               Sollstellung.status.not_in(_VOID))
        .group_by(UvgRecoveryClaimMonth.uvg_child_id, UvgRecoveryClaimMonth.month))
    return {(child_id, month): int(cents) for child_id, month, cents in rows}


def claimable_months(fall: Fall, recovery: UvgRecovery, *, today: date | None = None,
                     monthly_cap_cents: int | None = None) -> list[ClaimableMonth]:
    """The months that may be claimed from the liable parent now, per child.

    § 7 Abs. 1 UVG: the claim passes only up to what was paid, so only months paid count, and
    each only up to its payment less what earlier claims asked for it. § 7 Abs. 2 UVG with
    § 1613 Abs. 1 Satz 2 BGB: for the past only from the first of the month in which the
    Rechtswahrungsanzeige was sent. Months not yet begun are not due (§ 1612 Abs. 3 BGB).
    ``monthly_cap_cents``: what the parent owes per month at most, as far as he can pay
    (§ 1603 BGB); the children's months are filled in their order up to it.
    """
    if recovery.rechtswahrungsanzeige_on is None:
        return []
    start = recovery.rechtswahrungsanzeige_on.replace(day=1)
    end = (today or berlin_today()).replace(day=1)
    children = children_of(fall)
    claimed = _claimed([child.id for child in children])
    used_per_month: dict[date, int] = defaultdict(int)
    result: list[ClaimableMonth] = []
    for child in children:
        for month, paid in sorted(paid_by_month(child.id).items()):
            if not start <= month <= end or paid <= 0:
                continue
            already = claimed.get((child.id, month), 0)
            claimable = max(paid - already, 0)
            if monthly_cap_cents is not None:
                room = max(monthly_cap_cents - used_per_month[month], 0)
                claimable = min(claimable, room)
            used_per_month[month] += claimable + already
            result.append(ClaimableMonth(child.id, child.name, month, paid, already, claimable))
    return sorted(result, key=lambda row: (row.month, row.uvg_child_id))


# --- the file -------------------------------------------------------------------------------


@dataclass(frozen=True)
class LiableParentData:
    address: str
    employer: str
    net_income_cents: int | None
    receives_sgb2: bool
    income_note: str


def _check_text(value: str, limit: int, message: str) -> str:
    value = value.replace("\r\n", "\n").strip()
    if len(value) > limit or any(ord(char) < 32 and char not in "\n\t" for char in value):
        raise RecoveryRefused(message)
    return value


def _audit_view(recovery: UvgRecovery) -> dict[str, Any]:
    # Income figures are social data: the audit keeps which facts are known, the file keeps them.
    return {"employer_known": bool(recovery.employer),
            "net_income_known": recovery.net_income_cents is not None,
            "receives_sgb2": recovery.receives_sgb2, "section_7a": recovery.section_7a,
            "rechtswahrungsanzeige_on": recovery.rechtswahrungsanzeige_on}


def open_recovery(fall: Fall, party: Party, actor: Actor) -> UvgRecovery:
    """The parent's recovery file, opened on first use."""
    if party.fall_id != fall.id or party.role is not PartyRole.OTHER_PARENT:
        raise RecoveryRefused(_("Choose the liable parent from the people in this case."))
    existing = recovery_of(fall, party)
    if existing is not None:
        return existing
    recovery = UvgRecovery(fall_id=fall.id, party_id=party.id)
    db.session.add(recovery)
    db.session.flush()
    record(actor, "uvg.recovery_opened", "uvg_recovery", recovery.id,
           after={"fall_id": fall.id, "party_id": party.id})
    return recovery


def save_liable_parent(fall: Fall, party: Party, data: LiableParentData, actor: Actor, *,
                       expected_version: int | None = None) -> UvgRecovery:
    """Record the parent's address and income data; the address stays versioned on the Party."""
    recovery = open_recovery(fall, party, actor)
    if expected_version is not None and expected_version != recovery.version:
        raise RecoveryRefused(_("Someone else changed this file in the meantime. "
                                "Please check the data shown and save again."))
    address = _check_text(data.address, MAX_ADDRESS,
                          _("Enter an address of at most %(max)s characters.", max=MAX_ADDRESS))
    employer = _check_text(data.employer, MAX_EMPLOYER,
                           _("Enter at most %(max)s characters.", max=MAX_EMPLOYER))
    note = _check_text(data.income_note, MAX_NOTE,
                       _("Enter at most %(max)s characters.", max=MAX_NOTE))
    income = data.net_income_cents
    if income is not None and not 0 <= income <= MAX_INCOME_CENTS:
        raise RecoveryRefused(_("Enter a monthly income between 0 and 1,000,000 euros."))
    update_party(fall, party, {"address": address}, actor)
    before = _audit_view(recovery)
    recovery.employer = employer
    recovery.net_income_cents = income
    recovery.receives_sgb2 = data.receives_sgb2
    recovery.income_note = note
    recovery.updated_at = utcnow()
    db.session.flush()
    after = _audit_view(recovery)
    if before != after:
        add_event(fall, RecoveryEventKind.FILE_CHANGED, party.full_name, actor)
    record(actor, "uvg.recovery_updated", "uvg_recovery", recovery.id, before=before,
           after=after)
    return recovery


def _refuse_7a(recovery: UvgRecovery) -> None:
    if recovery.section_7a:
        raise RecoveryRefused(_("§ 7a UVG: the liable parent receives SGB II and has no income "
                                "of his or her own, so the claim is not pursued."))


# --- letters --------------------------------------------------------------------------------


def _german(day: date) -> str:
    return day.strftime("%d.%m.%Y")


def _children_line(fall: Fall) -> str:
    children = children_of(fall)
    return ", ".join(_("%(name)s, born %(date)s", name=child.name, date=_german(child.birth_date))
                     for child in children)


def _letter_data(fall: Fall, party: Party, office: OfficeData, letter_date: date,
                 subject: str) -> BescheidData:
    return BescheidData(
        office_name=office.name, office_address=office.address,
        letterhead_lines=office.letterhead_lines or [office.name, office.address],
        return_address=f"{office.name} · {office.street} · {office.postcode} {office.city}",
        addressee_name=party.full_name, addressee_address=party.address,
        aktenzeichen=fall.aktenzeichen, decision_date=letter_date, subject=subject, tenor="",
        begruendung="", rechtsbehelfsbelehrung="", signature_line=office.signature_line,
        phone=office.phone, email=office.email, opening_hours=office.opening_hours,
        iban=office.iban, bic=office.bic, bank_name=office.bank_name)


def _check_letter(fall: Fall, party: Party, letter_date: date, today: date) -> None:
    if not party.address.strip():
        raise RecoveryRefused(_("Enter the liable parent's address first: the letter needs it."))
    if letter_date > today:
        raise RecoveryRefused(_("The date of the letter must not be in the future."))
    if letter_date < fall.opened_at.date() - timedelta(days=1):
        raise RecoveryRefused(_("The date of the letter must not be before the case was "
                                "opened (%(date)s).", date=_german(fall.opened_at.date())))


def _file_letter(fall: Fall, recovery: UvgRecovery, kind: LetterKind, letter_date: date,
                 pdf: bytes, title: str, actor: Actor, *, deadline: date | None = None,
                 claim_id: int | None = None) -> UvgRecoveryLetter:
    filename = f"{kind.value}-{fall.aktenzeichen}-{letter_date.isoformat()}.pdf"
    document = store_upload(io.BytesIO(pdf), filename, actor)
    entry = file_document(fall, document, origin=DocumentOrigin.GENERATED, kind=title,
                          title=title, actor=actor)
    letter = UvgRecoveryLetter(recovery_id=recovery.id, fall_id=fall.id, kind=kind,
                               letter_date=letter_date, deadline=deadline,
                               document_id=document.id, case_document_id=entry.id,
                               claim_id=claim_id, created_by_name=actor.name[:200])
    db.session.add(letter)
    db.session.flush()
    record(actor, "uvg.recovery_letter", "uvg_recovery", recovery.id,
           after={"kind": kind.value, "letter_id": letter.id, "letter_date": letter_date,
                  "deadline": deadline, "document_id": document.id, "claim_id": claim_id})
    return letter


def send_rechtswahrungsanzeige(fall: Fall, party: Party, letter_date: date, actor: Actor, *,
                               today: date | None = None) -> UvgRecoveryLetter:
    """Write the Rechtswahrungsanzeige and record its date (§ 7 Abs. 2 UVG).

    Sent again (a new address, a lost letter), the earliest date stays: it was then that the
    parent was first told, and the claims for the past run from that month.
    """
    today = today or berlin_today()
    recovery = open_recovery(fall, party, actor)
    _check_letter(fall, party, letter_date, today)
    if not children_of(fall):
        raise RecoveryRefused(_("There is no UVG child in this case yet."))
    office = office_data()
    with force_locale("de"):
        subject = _("Unterhaltsvorschuss: Rechtswahrungsanzeige (§ 7 para. 2 UVG)")
        body = LetterBody(paragraphs=[
            _("The Free State of Bavaria pays Unterhaltsvorschuss under the "
              "Unterhaltsvorschussgesetz (UVG) for: %(children)s.", children=_children_line(fall)),
            _("Under § 7 para. 1 UVG, the child's claim to maintenance against you, together "
              "with the claim to information, passes to the Free State of Bavaria up to the "
              "amount paid."),
            _("We hereby inform you that you may be held liable for this maintenance, for the "
              "past too, from the month in which you receive this letter (§ 7 para. 2 UVG)."),
            _("Please tell us within four weeks about your income and assets and send us "
              "proof (§ 6 para. 1 UVG, § 1605 BGB): your payslips of the last twelve months, "
              "your latest tax assessment and proof of any other income. If you receive "
              "Bürgergeld (SGB II) and have no income of your own, please send us the "
              "Jobcenter's current decision (§ 7a UVG)."),
            _("Please quote the file reference %(aktenzeichen)s in every letter.",
              aktenzeichen=fall.aktenzeichen),
        ])
        title = _("Rechtswahrungsanzeige")
    pdf = render_letter(_letter_data(fall, party, office, letter_date, subject), body)
    letter = _file_letter(fall, recovery, LetterKind.RECHTSWAHRUNGSANZEIGE, letter_date, pdf,
                          title, actor)
    before = recovery.rechtswahrungsanzeige_on
    if before is None or letter_date < before:
        recovery.rechtswahrungsanzeige_on = letter_date
        recovery.updated_at = utcnow()
        db.session.flush()
        record(actor, "uvg.rechtswahrungsanzeige_recorded", "uvg_recovery", recovery.id,
               before={"rechtswahrungsanzeige_on": before},
               after={"rechtswahrungsanzeige_on": letter_date})
    add_event(fall, RecoveryEventKind.RECHTSWAHRUNGSANZEIGE,
              _("%(name)s, letter of %(date)s", name=party.full_name, date=_german(letter_date)),
              actor, document_id=letter.document_id)
    return letter


def _amount_rows(months: list[ClaimableMonth]) -> list[AmountRow]:
    return [AmountRow(row.child_name, month_label(row.month), euro(row.claimable_cents))
            for row in months if row.claimable_cents > 0]


def _check_period(letter_date: date, deadline: date, *, minimum: int) -> None:
    if deadline < letter_date + timedelta(days=minimum):
        raise RecoveryRefused(_("The deadline must be at least %(days)s days after the date "
                                "of the letter.", days=minimum))
    if deadline > letter_date + timedelta(days=MAX_PERIOD_DAYS):
        raise RecoveryRefused(_("The deadline must be at most three months after the date of "
                                "the letter."))


def _claimable_or_refuse(fall: Fall, recovery: UvgRecovery, today: date,
                         monthly_cap_cents: int | None) -> list[ClaimableMonth]:
    _refuse_7a(recovery)
    if recovery.rechtswahrungsanzeige_on is None:
        raise RecoveryRefused(_("Send the Rechtswahrungsanzeige first: claims for the past run "
                                "only from its month (§ 7 para. 2 UVG)."))
    if monthly_cap_cents is not None and not 0 < monthly_cap_cents <= MAX_INCOME_CENTS:
        raise RecoveryRefused(_("Enter the maintenance owed per month as an amount above 0."))
    months = [row for row in claimable_months(fall, recovery, today=today,
                                              monthly_cap_cents=monthly_cap_cents)
              if row.claimable_cents > 0]
    if not months:
        raise RecoveryRefused(_("There is nothing to claim: no month paid since the "
                                "Rechtswahrungsanzeige is still unclaimed."))
    return months


def send_anhoerung(fall: Fall, party: Party, letter_date: date, reply_by: date, actor: Actor, *,
                   monthly_cap_cents: int | None = None,
                   today: date | None = None) -> UvgRecoveryLetter:
    """Hear the parent before the claim is made (§ 24 SGB X), naming months and amounts."""
    today = today or berlin_today()
    recovery = open_recovery(fall, party, actor)
    _check_letter(fall, party, letter_date, today)
    _check_period(letter_date, reply_by, minimum=MIN_REPLY_DAYS)
    months = _claimable_or_refuse(fall, recovery, today, monthly_cap_cents)
    total = sum(row.claimable_cents for row in months)
    office = office_data()
    with force_locale("de"):
        subject = _("Unterhaltsvorschuss: Anhörung before your maintenance is claimed")
        body = LetterBody(
            paragraphs=[
                _("By our letter of %(date)s we informed you that the maintenance claim of "
                  "%(children)s has passed to the Free State of Bavaria as far as "
                  "Unterhaltsvorschuss is paid (§ 7 UVG).",
                  date=_german(recovery.rechtswahrungsanzeige_on or letter_date),
                  children=_children_line(fall)),
                _("We intend to claim from you %(total)s for the months %(first)s to %(last)s, "
                  "as listed below.", total=euro(total), first=month_label(months[0].month),
                  last=month_label(months[-1].month)),
            ],
            table_header=(_("Child"), _("Month"), _("Amount")), rows=_amount_rows(months),
            total_label=_("Total"), total=euro(total),
            closing_paragraphs=[
                _("Before we decide, you have the opportunity to comment on the facts that "
                  "matter for this decision until %(date)s (§ 24 SGB X). If you cannot pay "
                  "this amount, please tell us your income and your obligations and send us "
                  "proof.", date=_german(reply_by)),
                _("If we hear nothing from you by then, we will decide on the basis of the "
                  "information we have."),
            ])
        title = _("Anhörung")
    pdf = render_letter(_letter_data(fall, party, office, letter_date, subject), body)
    letter = _file_letter(fall, recovery, LetterKind.ANHOERUNG, letter_date, pdf, title, actor,
                          deadline=reply_by)
    add_event(fall, RecoveryEventKind.ANHOERUNG,
              _("%(name)s, letter of %(date)s, reply by %(deadline)s", name=party.full_name,
                date=_german(letter_date), deadline=_german(reply_by)),
              actor, document_id=letter.document_id)
    return letter


def _split_address(address: str) -> tuple[str, str, str]:
    """Street, postcode and city from the free-text address ("Hauptstraße 1, 97437 Haßfurt")."""
    parts = [part.strip() for part in address.replace("\n", ",").split(",") if part.strip()]
    street = parts[0] if parts else ""
    rest = " ".join(parts[1:])
    postcode, _space, city = rest.partition(" ")
    if not (postcode.isascii() and postcode.isdigit() and len(postcode) == 5):
        postcode, city = "", rest
    return street[:200], postcode, city[:100]


def demand_payment(fall: Fall, party: Party, letter_date: date, due_date: date, actor: Actor, *,
                   staff: Staff | None, monthly_cap_cents: int | None = None,
                   today: date | None = None) -> UvgRecoveryClaim:
    """Claim the unclaimed months: a receivable order with its Kassenzeichen and the demand
    letter that prints it (the parent pays under it, so the treasury can match the money)."""
    today = today or berlin_today()
    recovery = open_recovery(fall, party, actor)
    _check_letter(fall, party, letter_date, today)
    _check_period(letter_date, due_date, minimum=MIN_REPLY_DAYS)
    office = office_data()
    if not office.iban:
        raise RecoveryRefused(_("The office configuration has no bank account; the demand "
                                "must say where to pay. An administrator enters it under "
                                "Office data."))
    months = _claimable_or_refuse(fall, recovery, today, monthly_cap_cents)
    total = sum(row.claimable_cents for row in months)
    first, last = months[0].month, months[-1].month
    street, postcode, city = _split_address(party.address)
    try:
        order = create_order(
            staff, direction=Direction.ANNAHME, amount_cents=total, due_date=due_date,
            haushaltsstelle=haushaltsstelle(Direction.ANNAHME), party_name=party.full_name,
            party_street=street, party_postcode=postcode, party_city=city,
            fall_id=fall.id, source=SOURCE,
            source_key=f"{SOURCE}:{recovery.id}:{first:%Y-%m}:{last:%Y-%m}:{total}",
            period_start=first, period_end=next_month(last) - timedelta(days=1))
    except OrderError as error:
        raise RecoveryRefused(_(error.message, **error.params)) from None
    if db.session.scalar(select(UvgRecoveryClaim.id)
                         .where(UvgRecoveryClaim.sollstellung_id == order.id)) is not None:
        # The same claim twice (a double click): the order exists and is linked already.
        raise RecoveryRefused(_("This claim has been made already."))
    claim = UvgRecoveryClaim(recovery_id=recovery.id, fall_id=fall.id, sollstellung_id=order.id,
                             kassenzeichen=order.kassenzeichen, first_month=first,
                             last_month=last, amount_cents=total, due_date=due_date,
                             created_by_name=actor.name[:200])
    db.session.add(claim)
    db.session.flush()
    db.session.add_all([UvgRecoveryClaimMonth(claim_id=claim.id, uvg_child_id=row.uvg_child_id,
                                              month=row.month, amount_cents=row.claimable_cents)
                        for row in months])
    kassenzeichen = format_kassenzeichen(order.kassenzeichen)
    with force_locale("de"):
        subject = _("Unterhaltsvorschuss: demand for payment – Kassenzeichen %(kz)s",
                    kz=kassenzeichen)
        body = LetterBody(
            paragraphs=[
                _("The maintenance claim of %(children)s has passed to the Free State of "
                  "Bavaria under § 7 para. 1 UVG as far as Unterhaltsvorschuss was paid. You "
                  "were informed of this by our letter of %(date)s (§ 7 para. 2 UVG).",
                  children=_children_line(fall),
                  date=_german(recovery.rechtswahrungsanzeige_on or letter_date)),
                _("For the months listed below we ask you to pay %(total)s by %(due)s.",
                  total=euro(total), due=_german(due_date)),
            ],
            table_header=(_("Child"), _("Month"), _("Amount")), rows=_amount_rows(months),
            total_label=_("Total"), total=euro(total),
            closing_paragraphs=[
                _("Please transfer the amount to the account of %(bank)s, IBAN %(iban)s, "
                  "BIC %(bic)s, stating the Kassenzeichen %(kz)s. Without the Kassenzeichen "
                  "your payment cannot be assigned.", bank=office.bank_name or office.name,
                  iban=office.iban, bic=office.bic or "–", kz=kassenzeichen),
                _("This letter is a reminder within the meaning of § 286 para. 1 BGB: if you "
                  "do not pay by %(due)s, you are in default, and the claim will be enforced.",
                  due=_german(due_date)),
            ])
        title = _("Demand for payment")
    pdf = render_letter(_letter_data(fall, party, office, letter_date, subject), body)
    letter = _file_letter(fall, recovery, LetterKind.ZAHLUNGSAUFFORDERUNG, letter_date, pdf,
                          title, actor, deadline=due_date, claim_id=claim.id)
    add_event(fall, RecoveryEventKind.INVERZUGSETZUNG,
              _("%(name)s: %(total)s for %(first)s–%(last)s, due %(due)s, Kassenzeichen %(kz)s",
                name=party.full_name, total=euro(total), first=month_label(first),
                last=month_label(last), due=_german(due_date), kz=kassenzeichen),
              actor, document_id=letter.document_id)
    record(actor, "uvg.recovery_claimed", "uvg_recovery", recovery.id,
           after={"claim_id": claim.id, "sollstellung_id": order.id,
                  "kassenzeichen": order.kassenzeichen, "amount_cents": total,
                  "first_month": first, "last_month": last, "due_date": due_date,
                  "months": len(months), "monthly_cap_cents": monthly_cap_cents})
    return claim


# --- receipts from the treasury -------------------------------------------------------------


def book_receipt(booking: Booking, order: Sollstellung) -> UvgRecoveryReceipt | None:
    """Book an IST booking matched to a recovery claim; a booking seen before is a no-op."""
    if order.source != SOURCE:
        return None
    claim = db.session.scalar(select(UvgRecoveryClaim)
                              .where(UvgRecoveryClaim.sollstellung_id == order.id))
    if claim is None:
        return None
    if db.session.scalar(select(UvgRecoveryReceipt.id)
                         .where(UvgRecoveryReceipt.booking_id == booking.id)) is not None:
        return None
    # What exceeds the claim stays with the booking (ihv keeps it visible as excess_cents).
    applied = booking.amount_cents - (booking.excess_cents or 0)
    if applied <= 0:
        return None
    receipt = UvgRecoveryReceipt(claim_id=claim.id, fall_id=claim.fall_id, booking_id=booking.id,
                                 amount_cents=applied, booking_date=booking.booking_date)
    db.session.add(receipt)
    db.session.flush()
    fall = db.session.get(Fall, claim.fall_id)
    if fall is not None:
        add_event(fall, RecoveryEventKind.RECEIPT,
                  _("%(amount)s on %(date)s, Kassenzeichen %(kz)s", amount=euro(applied),
                    date=_german(booking.booking_date),
                    kz=format_kassenzeichen(claim.kassenzeichen)), SYSTEM)
    record(SYSTEM, "uvg.recovery_receipt", "uvg_recovery", claim.recovery_id,
           after={"claim_id": claim.id, "booking_id": booking.id, "amount_cents": applied,
                  "booking_date": booking.booking_date})
    return receipt


def _on_booking_matched(booking: Booking, **kwargs: Any) -> None:
    order = kwargs.get("order")
    if isinstance(order, Sollstellung):
        with force_locale("de"):
            book_receipt(booking, order)


# Connected once, when the module is first imported (the staff app imports it with its pages).
booking_matched.connect(_on_booking_matched)
# This module writes the receipt's timeline entry itself (with the claim): the case's generic
# "payment received" entry for the same booking would show every receipt twice.
skip_booking_events_for(SOURCE)
