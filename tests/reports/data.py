"""Generated office data for the statistics tests, written straight through the models.

Dates spread over 2024-10 .. 2026-03 so that every period boundary of 2025 has records on both
sides of it (a figure that leaks across a boundary shows up as a mismatch).
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from amtsweg.extensions import db
from amtsweg.passwords import hash_password
from amtsweg.staff.models import Fachbereich, Role, Staff, StaffRole
from backoffice.decisions.models import Decision, DecisionKind, DecisionStatus, Delivery
from backoffice.models import Fall, FallStatus, Party, PartyRole, Wiedervorlage
from backoffice.uvg.models import UvgChild, UvgChildStatus, UvgEndReason, UvgEntitlement
from backoffice.uvg.recovery_models import UvgRecovery, UvgRecoveryClaim, UvgRecoveryReceipt
from clearing.models import Eingang, EingangKind, EingangStatus
from ihv.models import (
    Booking,
    BookingStatus,
    Direction,
    ImportedFile,
    ImportKind,
    ImportStatus,
    OrderStatus,
    Sollstellung,
)
from portal.models import Submission

FIRST = datetime(2024, 10, 1, tzinfo=UTC)
SPAN_DAYS = 540
HAUSHALTSSTELLEN = ("10 07/681 01-5", "10 07/119 01-4", "05 01/531 01-2")
SERVICES = ("uvg", "wohngeld", None)


def _moment(rng: random.Random) -> datetime:
    return FIRST + timedelta(seconds=rng.randrange(SPAN_DAYS * 86400))


def _day(rng: random.Random) -> date:
    return _moment(rng).date()


def _staff(username: str, roles: tuple[Role, ...], areas: list[Fachbereich]) -> Staff:
    staff = Staff(username=username, full_name=f"Erika {username.title()}",
                  password_hash=hash_password("x" * 20), active=True, failed_logins=0,
                  session_epoch=0)
    staff.role_rows = [StaffRole(role=role) for role in roles]
    staff.fachbereiche = areas
    db.session.add(staff)
    return staff


def generate(seed: int = 1, cases: int = 60) -> None:
    """Fill the database with ``cases`` cases and everything around them; commit."""
    rng = random.Random(seed)
    areas = list(db.session.scalars(select(Fachbereich).order_by(Fachbereich.id)))
    uvg = next(area for area in areas if area.code == "uvg")
    other = next(area for area in areas if area.code == "wohngeld")
    workers = [_staff(f"gen{i}", (Role.CASEWORKER,), [uvg, other]) for i in range(3)]
    feststeller = _staff("genfest", (Role.FESTSTELLER,), [])
    anordner = _staff("genanord", (Role.ANORDNER,), [])
    db.session.flush()
    imported = ImportedFile(kind=ImportKind.BOOKINGS, status=ImportStatus.IMPORTED,
                            file_name="gen.xml", sha256=f"{seed:064d}")
    db.session.add(imported)
    db.session.flush()
    booking_no = 0

    def book(order: Sollstellung | None, amount: int, when: date, status: BookingStatus,
             direction: Direction, excess: int = 0) -> Booking:
        nonlocal booking_no
        booking_no += 1
        row = Booking(
            import_id=imported.id, reference=f"B{seed}-{booking_no}", source=ImportKind.BOOKINGS,
            direction=direction, kassenzeichen=order.kassenzeichen if order else "UNBEKANNT",
            amount_cents=amount, booking_date=when, status=status,
            sollstellung_id=order.id if order else None, excess_cents=excess)
        db.session.add(row)
        db.session.flush()
        return row

    order_no = 0

    def order(fall: Fall | None, source: str, direction: Direction, amount: int, due: date,
              status: OrderStatus, hst: str) -> Sollstellung:
        nonlocal order_no
        order_no += 1
        approved = status not in (OrderStatus.DRAFT,)
        ordered = status not in (OrderStatus.DRAFT, OrderStatus.FESTGESTELLT,
                                 OrderStatus.CANCELLED)
        row = Sollstellung(
            kassenzeichen=f"KZ{seed}{order_no:07d}", direction=direction, status=status,
            amount_cents=amount, due_date=due, haushaltsstelle=hst, party_name="Gen",
            iban="DE02120300000000202051", purpose=f"KZ{seed}{order_no:07d}",
            fall_id=fall.id if fall else None, source=source,
            festgestellt_by_id=feststeller.id if approved else None,
            angeordnet_by_id=anordner.id if ordered else None)
        db.session.add(row)
        db.session.flush()
        return row

    for number in range(cases):
        area = uvg if rng.random() < 0.75 else other
        opened = _moment(rng)
        closed = opened + timedelta(days=rng.randrange(1, 400)) if rng.random() < 0.3 else None
        fall = Fall(aktenzeichen=f"GEN-{seed}-{number:05d}", fachbereich_id=area.id,
                    status=FallStatus.CLOSED if closed else FallStatus.OPEN,
                    responsible_staff_id=rng.choice([None, *[w.id for w in workers]]),
                    opened_at=opened, closed_at=closed)
        db.session.add(fall)
        db.session.flush()
        child_party = Party(fall_id=fall.id, role=PartyRole.CHILD, first_name="Kind",
                            last_name=f"Gen{number}",
                            birth_date=date(2008, 1, 1) + timedelta(days=rng.randrange(6500)))
        db.session.add(child_party)
        if rng.random() < 0.7:
            db.session.add(Party(fall_id=fall.id, role=PartyRole.OTHER_PARENT, last_name="Vater"))
        for _ in range(rng.randrange(0, 3)):
            created = _moment(rng)
            done = created + timedelta(days=rng.randrange(1, 60)) if rng.random() < 0.5 else None
            db.session.add(Wiedervorlage(
                fall_id=fall.id, due_date=(created + timedelta(days=rng.randrange(-5, 40))).date(),
                reason="Prüfen", created_at=created, done_at=done,
                done_by_name="Gen" if done else None))
        db.session.flush()

        # The intake item that opened it, and (mostly) an online submission behind it.
        received = opened - timedelta(hours=rng.randrange(1, 200))
        routed_by = rng.choice([None, workers[0].id, workers[1].id])
        eingang = Eingang(kind=EingangKind.NEUANTRAG, status=EingangStatus.ROUTED,
                          service_code=rng.choice(SERVICES), subject="Antrag",
                          received_at=received, fachbereich_id=area.id, fall_id=fall.id,
                          routed_at=opened, routed_by_id=routed_by)
        db.session.add(eingang)
        db.session.flush()
        if rng.random() < 0.8:
            db.session.add(Submission(public_id=f"p{seed}-{number}", reference=f"R{seed}-{number}",
                                      service_code=eingang.service_code,
                                      kind=EingangKind.NEUANTRAG, title="Antrag",
                                      submitted_at=received, eingang_id=eingang.id))
        decisions: list[Decision] = []
        for _ in range(rng.randrange(0, 3)):
            issued = opened + timedelta(hours=rng.randrange(-48, 2000))
            status = DecisionStatus.ISSUED if rng.random() < 0.85 else DecisionStatus.DRAFT
            decision = Decision(
                fall_id=fall.id, status=status, kind=rng.choice(list(DecisionKind)),
                created_by_name="Gen", issued_at=issued if status is DecisionStatus.ISSUED
                else None,
                delivery=Delivery.POSTBOX if status is DecisionStatus.ISSUED else None,
                bekanntgabe_on=issued.date() if status is DecisionStatus.ISSUED else None,
                objection_deadline=issued.date() + timedelta(days=30)
                if status is DecisionStatus.ISSUED else None,
                decision_date=issued.date() if status is DecisionStatus.ISSUED else None)
            db.session.add(decision)
            decisions.append(decision)
        db.session.flush()

        if area is not uvg:
            if rng.random() < 0.5:
                order(fall, "manual", Direction.AUSZAHLUNG, rng.randrange(1, 90000),
                      _day(rng), rng.choice(list(OrderStatus)), HAUSHALTSSTELLEN[2])
            continue

        # The UVG part: one child, entitlements, payment orders and bookings, recovery.
        child_status = rng.choice(list(UvgChildStatus))
        ended_on = _day(rng) if child_status is UvgChildStatus.ENDED else None
        child = UvgChild(fall_id=fall.id, party_id=child_party.id,
                         birth_date=child_party.birth_date, status=child_status,
                         end_reason=rng.choice(list(UvgEndReason)) if ended_on else None,
                         ended_on=ended_on,
                         application_date=_day(rng) if rng.random() < 0.9 else None)
        db.session.add(child)
        db.session.flush()
        recovery = UvgRecovery(fall_id=fall.id, party_id=child_party.id,
                               receives_sgb2=rng.random() < 0.6,
                               net_income_cents=rng.choice([None, 0, 120000]))
        if rng.random() < 0.6:
            db.session.add(recovery)
            db.session.flush()
        decision_id = decisions[0].id if decisions else None
        if decision_id is None:
            decision = Decision(fall_id=fall.id, kind=DecisionKind.BEWILLIGUNG,
                                created_by_name="Gen")
            db.session.add(decision)
            db.session.flush()
            decision_id = decision.id
        month = date(2024, 10, 1) + timedelta(days=rng.randrange(200))
        month = month.replace(day=1)
        for _ in range(rng.randrange(3, 18)):
            paid = rng.choice([0, 22700, 29900, 39400])
            if rng.random() < 0.15:
                db.session.add(UvgEntitlement(uvg_child_id=child.id, fall_id=fall.id,
                                              month=month, paid_cents=paid + 100,
                                              decision_id=decision_id, superseded=True,
                                              superseded_at=opened))
            db.session.add(UvgEntitlement(uvg_child_id=child.id, fall_id=fall.id, month=month,
                                          paid_cents=paid, decision_id=decision_id))
            if paid:
                payment = order(fall, "uvg", Direction.AUSZAHLUNG, paid, month,
                                rng.choice(list(OrderStatus)), HAUSHALTSSTELLEN[0])
                if payment.status in (OrderStatus.BOOKED, OrderStatus.ACKNOWLEDGED):
                    when = month + timedelta(days=rng.randrange(0, 40))
                    book(payment, paid, when, BookingStatus.MATCHED, Direction.AUSZAHLUNG)
                    payment.booked_cents = paid
            month = date(month.year + (month.month == 12), month.month % 12 + 1, 1)
        if rng.random() < 0.6:
            claim = order(fall, "uvg-rueckgriff", Direction.ANNAHME, rng.randrange(5000, 90000),
                          _day(rng), rng.choice([OrderStatus.TRANSMITTED, OrderStatus.BOOKED,
                                                 OrderStatus.CANCELLED]), HAUSHALTSSTELLEN[1])
            if recovery.id is None:
                db.session.add(recovery)
                db.session.flush()
            claim_row = UvgRecoveryClaim(
                recovery_id=recovery.id, fall_id=fall.id, sollstellung_id=claim.id,
                kassenzeichen=claim.kassenzeichen, first_month=date(2025, 1, 1),
                last_month=date(2025, 3, 1), amount_cents=claim.amount_cents,
                due_date=claim.due_date, created_by_name="Gen")
            db.session.add(claim_row)
            db.session.flush()
            for _ in range(rng.randrange(0, 3)):
                part = rng.randrange(1000, 20000)
                excess = min(rng.choice([0, 0, 500]), part - 1)
                booking_status = rng.choice(list(MATCHED_OR_UNCLEAR))
                booking = book(claim, part, _day(rng), booking_status, Direction.ANNAHME,
                               excess=excess)
                claim.booked_cents += part
                if booking_status is not BookingStatus.UNCLEAR:
                    # What the recovery module writes when the booking is matched to the claim.
                    db.session.add(UvgRecoveryReceipt(
                        claim_id=claim_row.id, fall_id=fall.id, booking_id=booking.id,
                        amount_cents=part - excess, booking_date=booking.booking_date))
    # Bookings nobody could match, and items that never reached a case.
    for _ in range(5):
        book(None, rng.randrange(100, 50000), _day(rng), BookingStatus.UNCLEAR,
             rng.choice(list(Direction)))
    for number in range(20):
        db.session.add(Eingang(kind=rng.choice(list(EingangKind)), status=EingangStatus.NEW,
                               service_code=rng.choice(SERVICES), subject=f"Offen {number}",
                               received_at=_moment(rng)))
    db.session.commit()


MATCHED_OR_UNCLEAR = (BookingStatus.MATCHED, BookingStatus.ASSIGNED, BookingStatus.UNCLEAR)
