"""Rückgriff (§ 7 UVG): Rechtswahrungsanzeige, Anhörung, the claim with its Kassenzeichen, the
§ 7a stop, receipts booked from the IHV module, and the figures on the case."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from amtsweg.audit.models import AuditEntry
from amtsweg.audit.services import SYSTEM
from amtsweg.db import utcnow
from amtsweg.extensions import db
from amtsweg.sessions import staff_actor
from amtsweg.staff.models import Role, Staff
from backoffice.models import Fall, FallEvent, Party, PartyRole
from backoffice.uvg import recovery
from backoffice.uvg.payments import run_payments
from backoffice.uvg.recovery_models import (
    LetterKind,
    UvgRecoveryClaim,
    UvgRecoveryLetter,
    UvgRecoveryReceipt,
)
from ihv import services as ihv_services
from ihv.codes import format_kassenzeichen
from ihv.models import (
    Booking,
    BookingStatus,
    Direction,
    ImportedFile,
    ImportKind,
    ImportStatus,
    OrderStatus,
    Sollstellung,
    Transfer,
)
from tests.backoffice.support import stored_pdf_language
from tests.backoffice.uvg.money.support import (
    APPLICANT,
    CHILD,
    OFFICE_IBAN,
    OTHER_PARENT,
    grant,
    letter_text,
    months,
    office_with_bank,
)

TODAY = date(2026, 3, 10)


@pytest.fixture
def paid_case(app_ctx: None, create_case: Callable[..., Fall]) -> Fall:
    """Granted from November 2025; November to March paid by the March run."""
    fall = create_case((CHILD, APPLICANT, OTHER_PARENT))
    fall.opened_at = datetime(2025, 10, 20, 9, 0, tzinfo=UTC)  # the application arrived then
    grant(fall, months(date(2025, 11, 1), 6))
    office_with_bank()
    db.session.commit()
    run_payments(date(2026, 3, 1), SYSTEM, today=date(2026, 2, 20))
    db.session.commit()
    return fall


def _parent(fall: Fall) -> Party:
    return next(p for p in fall.parties if p.role is PartyRole.OTHER_PARENT)


def _events(fall: Fall, kind: str) -> list[FallEvent]:
    return list(db.session.scalars(select(FallEvent).where(FallEvent.fall_id == fall.id,
                                                           FallEvent.kind == kind)))


def test_rechtswahrungsanzeige_records_its_date_and_files_the_letter(paid_case: Fall) -> None:
    party = _parent(paid_case)
    letter = recovery.send_rechtswahrungsanzeige(paid_case, party, date(2026, 1, 15), SYSTEM,
                                                 today=TODAY)
    db.session.commit()

    file = recovery.recovery_of(paid_case, party)
    assert file is not None
    assert file.rechtswahrungsanzeige_on == date(2026, 1, 15)
    assert letter.kind is LetterKind.RECHTSWAHRUNGSANZEIGE
    assert letter.case_document_id
    text = letter_text(letter.document_id)
    assert "Jan Schmidt" in text
    assert "Lindenweg 5" in text
    assert paid_case.aktenzeichen in text
    assert "Lea Müller" in text
    assert "§ 7" in text
    assert stored_pdf_language(letter.document_id) == "de-DE"
    assert len(_events(paid_case, "uvg_rechtswahrungsanzeige")) == 1
    # Sent again later (a new address): the earlier date still counts.
    recovery.send_rechtswahrungsanzeige(paid_case, party, date(2026, 2, 20), SYSTEM,
                                        today=TODAY)
    db.session.commit()
    assert file.rechtswahrungsanzeige_on == date(2026, 1, 15)
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "uvg.rechtswahrungsanzeige_recorded")) == 1


def test_claims_only_months_paid_from_the_rechtswahrungsanzeige_on(paid_case: Fall) -> None:
    """§ 7 Abs. 2 UVG: Anzeige on 15 January, so January to March; November and December were
    paid too, but before the parent was told, and are not claimed."""
    party = _parent(paid_case)
    recovery.send_rechtswahrungsanzeige(paid_case, party, date(2026, 1, 15), SYSTEM,
                                        today=TODAY)
    staff_file = recovery.recovery_of(paid_case, party)
    assert staff_file is not None
    rows = recovery.claimable_months(paid_case, staff_file, today=TODAY)
    assert [row.month for row in rows] == months(date(2026, 1, 1), 3)
    assert all(row.claimable_cents == 22_700 for row in rows)

    claim = recovery.demand_payment(paid_case, party, TODAY, date(2026, 4, 10), SYSTEM,
                                    staff=None, today=TODAY)
    db.session.commit()

    assert claim.amount_cents == 3 * 22_700
    assert (claim.first_month, claim.last_month) == (date(2026, 1, 1), date(2026, 3, 1))
    order = db.session.get(Sollstellung, claim.sollstellung_id)
    assert order is not None
    assert order.direction is Direction.ANNAHME
    assert order.source == "uvg-rueckgriff"
    assert order.party_name == "Jan Schmidt"
    assert order.party_postcode == "97437"
    assert order.amount_cents == 3 * 22_700
    assert order.due_date == date(2026, 4, 10)
    assert order.kassenzeichen == claim.kassenzeichen
    letter = db.session.scalar(select(UvgRecoveryLetter).where(
        UvgRecoveryLetter.kind == LetterKind.ZAHLUNGSAUFFORDERUNG))
    assert letter is not None
    assert letter.claim_id == claim.id
    text = letter_text(letter.document_id)
    # The demand asks for money: it prints the Kassenzeichen and the account.
    assert format_kassenzeichen(order.kassenzeichen) in text
    assert "681,00" in text
    assert "01/2026" in text
    assert "03/2026" in text
    assert "DE32700500000000012345" in text.replace(" ", "") or OFFICE_IBAN in text
    [event] = _events(paid_case, "uvg_inverzugsetzung")
    assert "681,00 EUR" in event.summary
    # Nothing is claimed twice.
    with pytest.raises(recovery.RecoveryRefused):
        recovery.demand_payment(paid_case, party, TODAY, date(2026, 4, 10), SYSTEM, staff=None,
                                today=TODAY)
    assert recovery.figures(paid_case).claimed_cents == 3 * 22_700
    assert recovery.figures(paid_case).paid_out_cents == 5 * 22_700


def test_a_cap_limits_each_month(paid_case: Fall) -> None:
    party = _parent(paid_case)
    recovery.send_rechtswahrungsanzeige(paid_case, party, date(2026, 1, 15), SYSTEM,
                                        today=TODAY)
    claim = recovery.demand_payment(paid_case, party, TODAY, date(2026, 4, 10), SYSTEM,
                                    staff=None, monthly_cap_cents=10_000, today=TODAY)
    assert claim.amount_cents == 3 * 10_000


def test_section_7a_stops_recovery_and_says_why(paid_case: Fall) -> None:
    party = _parent(paid_case)
    recovery.save_liable_parent(paid_case, party, recovery.LiableParentData(
        address=party.address, employer="", net_income_cents=None, receives_sgb2=True,
        income_note="Bescheid des Jobcenters vom 2.1.2026"), SYSTEM)
    recovery.send_rechtswahrungsanzeige(paid_case, party, date(2026, 1, 15), SYSTEM,
                                        today=TODAY)
    with pytest.raises(recovery.RecoveryRefused, match="7a"):
        recovery.demand_payment(paid_case, party, TODAY, date(2026, 4, 10), SYSTEM, staff=None,
                                today=TODAY)
    with pytest.raises(recovery.RecoveryRefused, match="7a"):
        recovery.send_anhoerung(paid_case, party, TODAY, date(2026, 4, 10), SYSTEM,
                                today=TODAY)
    # Own income besides SGB II: § 7a no longer applies.
    recovery.save_liable_parent(paid_case, party, recovery.LiableParentData(
        address=party.address, employer="Minijob", net_income_cents=52_000,
        receives_sgb2=True, income_note=""), SYSTEM)
    assert recovery.send_anhoerung(paid_case, party, TODAY, date(2026, 4, 10), SYSTEM,
                                   today=TODAY).deadline == date(2026, 4, 10)


def test_anhoerung_lists_months_and_deadline(paid_case: Fall) -> None:
    party = _parent(paid_case)
    with pytest.raises(recovery.RecoveryRefused, match="Rechtswahrungsanzeige"):
        recovery.send_anhoerung(paid_case, party, TODAY, date(2026, 4, 10), SYSTEM,
                                today=TODAY)
    recovery.send_rechtswahrungsanzeige(paid_case, party, date(2026, 2, 2), SYSTEM, today=TODAY)
    letter = recovery.send_anhoerung(paid_case, party, TODAY, date(2026, 3, 31), SYSTEM,
                                     today=TODAY)
    db.session.commit()
    text = letter_text(letter.document_id)
    assert "31.03.2026" in text
    assert "02/2026" in text
    assert "454,00" in text
    assert "§ 24 SGB X" in text
    assert len(_events(paid_case, "uvg_anhoerung")) == 1


@pytest.mark.parametrize(("letter_date", "deadline", "message"), [
    (date(2026, 3, 11), date(2026, 4, 10), "Zukunft"),
    (TODAY, date(2026, 3, 20), "mindestens 14 Tage"),
    (TODAY, date(2026, 7, 1), "höchstens drei Monate"),
])
def test_bad_dates_are_refused(paid_case: Fall, letter_date: date, deadline: date,
                               message: str) -> None:
    party = _parent(paid_case)
    recovery.send_rechtswahrungsanzeige(paid_case, party, date(2026, 1, 15), SYSTEM,
                                        today=TODAY)
    with pytest.raises(recovery.RecoveryRefused, match=message):
        recovery.demand_payment(paid_case, party, letter_date, deadline, SYSTEM, staff=None,
                                today=TODAY)
    assert db.session.scalar(select(func.count()).select_from(UvgRecoveryClaim)) == 0


def test_no_letter_without_an_address(paid_case: Fall) -> None:
    party = _parent(paid_case)
    party.address = ""
    with pytest.raises(recovery.RecoveryRefused, match="Anschrift"):
        recovery.send_rechtswahrungsanzeige(paid_case, party, TODAY, SYSTEM, today=TODAY)


def test_bad_parent_data_is_refused(paid_case: Fall) -> None:
    party = _parent(paid_case)
    for data in (
        recovery.LiableParentData("x" * 501, "", None, False, ""),
        recovery.LiableParentData("Weg 1\x00", "", None, False, ""),
        recovery.LiableParentData("Weg 1", "", -1, False, ""),
        recovery.LiableParentData("Weg 1", "", 100_000_001, False, ""),
        recovery.LiableParentData("Weg 1", "y" * 201, None, False, ""),
    ):
        with pytest.raises(recovery.RecoveryRefused):
            recovery.save_liable_parent(paid_case, party, data, SYSTEM)
        db.session.rollback()
    applicant = next(p for p in paid_case.parties if p.role is PartyRole.APPLICANT)
    with pytest.raises(recovery.RecoveryRefused):
        recovery.open_recovery(paid_case, applicant, SYSTEM)


def test_receipts_from_the_treasury_are_booked_on_the_case(
        paid_case: Fall, create_staff: Callable[..., Staff]) -> None:
    """The whole path through the IHV module: four eyes, transfer, an IST booking matched by
    Kassenzeichen, the booking_matched signal, the receipt on the case."""
    creator = db.session.merge(create_staff("sb", roles=(Role.CASEWORKER,)))
    feststeller = db.session.merge(create_staff("fs", roles=(Role.FESTSTELLER,)))
    anordner = db.session.merge(create_staff("ao", roles=(Role.ANORDNER,)))
    party = _parent(paid_case)
    recovery.send_rechtswahrungsanzeige(paid_case, party, date(2026, 1, 15),
                                        staff_actor(creator), today=TODAY)
    claim = recovery.demand_payment(paid_case, party, TODAY, date(2026, 4, 10),
                                    staff_actor(creator), staff=creator, today=TODAY)
    db.session.commit()
    order = db.session.get(Sollstellung, claim.sollstellung_id)
    assert order is not None
    ihv_services.feststellen(feststeller, order, order.version)
    ihv_services.anordnen(anordner, order, order.version)
    transfer = Transfer(sequence_number=1, file_name="t1.xml", blob_key="k", sha256="0" * 64,
                        order_count=1, control_sum_cents=order.amount_cents)
    db.session.add(transfer)
    db.session.flush()
    ihv_services.mark_transmitted([order], transfer)
    imported = ImportedFile(kind=ImportKind.BOOKINGS, status=ImportStatus.IMPORTED,
                            file_name="ist.xml", sha256="1" * 64)
    db.session.add(imported)
    db.session.flush()
    booking = Booking(import_id=imported.id, reference="B1", source=ImportKind.BOOKINGS,
                      direction=Direction.ANNAHME, kassenzeichen=order.kassenzeichen,
                      amount_cents=30_000, booking_date=date(2026, 4, 2),
                      status=BookingStatus.MATCHED)
    db.session.add(booking)
    db.session.flush()
    ihv_services.apply_booking(order, booking)
    db.session.commit()

    [receipt] = db.session.scalars(select(UvgRecoveryReceipt))
    assert receipt.amount_cents == 30_000
    assert receipt.claim_id == claim.id
    numbers = recovery.figures(paid_case)
    assert (numbers.paid_out_cents, numbers.claimed_cents, numbers.recovered_cents,
            numbers.open_cents) == (113_500, 68_100, 30_000, 38_100)
    [event] = _events(paid_case, "uvg_recovery_receipt")
    assert "300,00 EUR" in event.summary
    assert "02.04.2026" in event.summary
    # The same booking signalled again (a replayed import) is not booked twice.
    recovery.book_receipt(booking, order)
    assert db.session.scalar(select(func.count()).select_from(UvgRecoveryReceipt)) == 1
    assert order.status is OrderStatus.TRANSMITTED
    assert utcnow()  # the receipt's event carries the system actor's time
