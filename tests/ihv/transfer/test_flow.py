"""An order from draft through both approvals, send, the simulated treasury and receive to
booked."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import func, select, text

from amtsweg.audit.models import AuditEntry
from amtsweg.extensions import db
from amtsweg.staff.models import Staff
from ihv import codes
from ihv.models import (
    Booking,
    BookingStatus,
    Direction,
    ImportedFile,
    ImportStatus,
    OrderStatus,
    Sollstellung,
    Transfer,
    TransferStatus,
)
from ihv.transfer import format as fmt
from ihv.transfer import receive, send
from storage.blobstore import get_blobstore
from tests.ihv.transfer.support import (
    approved,
    inbox_files,
    reload,
    round_trip,
    settings,
    simulate,
)

pytestmark = pytest.mark.usefixtures("app_ctx")
Factory = Callable[..., Sollstellung]


def test_payout_goes_from_draft_to_booked(create_order: Factory,
                                          finance: dict[str, Staff]) -> None:
    order = approved(create_order, finance, amount_cents=22_700, due_date=date(2026, 3, 1))

    report = send.send_transfers(settings())

    assert report.sent == [1]
    assert not report.failed
    assert not report.held_back
    transfer = db.session.scalar(select(Transfer))
    assert transfer is not None
    assert transfer.status == TransferStatus.SENT
    assert (transfer.order_count, transfer.control_sum_cents) == (1, 22_700)
    delivered = settings().ihv_outbox_dir / transfer.file_name
    with get_blobstore().open(transfer.blob_key) as stored:
        assert delivered.read_bytes() == stored.read()
    assert fmt.validate_file(delivered).header.sequence_number == 1
    assert reload(order).status == OrderStatus.TRANSMITTED

    simulated = simulate(date(2026, 3, 1))
    assert (simulated.accepted, simulated.rejected, simulated.bookings) == (1, 0, 1)
    received = receive.receive_files(settings())

    assert len(received.imported) == 2
    assert not received.rejected
    order = reload(order)
    assert order.status == OrderStatus.BOOKED
    assert order.booked_cents == 22_700
    assert order.acknowledged_at is not None
    booking = db.session.scalar(select(Booking))
    assert booking is not None
    assert booking.status == BookingStatus.MATCHED
    assert booking.sollstellung_id == order.id
    assert inbox_files() == []
    assert len(inbox_files("done")) == 2
    actions = set(db.session.scalars(select(AuditEntry.action)))
    assert {"ihv.transfer_prepared", "ihv.transfer_sent", "ihv.file_imported",
            "ihv.order_acknowledged", "ihv.booking_applied"} <= actions


def test_payout_due_later_waits_for_its_due_date(create_order: Factory,
                                                 finance: dict[str, Staff]) -> None:
    order = approved(create_order, finance, due_date=date(2026, 4, 1))

    round_trip(today=date(2026, 3, 15))
    assert reload(order).status == OrderStatus.ACKNOWLEDGED

    simulate(date(2026, 4, 1))
    receive.receive_files(settings())
    assert reload(order).status == OrderStatus.BOOKED


def test_receivables_paid_in_full_in_part_and_not_at_all(create_order: Factory,
                                                          finance: dict[str, Staff]) -> None:
    full = approved(create_order, finance, direction=Direction.ANNAHME, amount_cents=10_000,
                    iban=None, bic=None)
    part = approved(create_order, finance, direction=Direction.ANNAHME, amount_cents=10_000,
                    iban=None, bic=None)
    unpaid = approved(create_order, finance, direction=Direction.ANNAHME, amount_cents=10_000,
                      iban=None, bic=None)
    scenario: dict[str, Any] = {"receivables": "full",
                "kassenzeichen": {part.kassenzeichen: "partial", unpaid.kassenzeichen: "none"},
                "partial_percent": 30}

    round_trip(**scenario)

    assert (reload(full).status, reload(full).open_cents) == (OrderStatus.BOOKED, 0)
    assert (reload(part).status, reload(part).booked_cents) == (OrderStatus.ACKNOWLEDGED, 3_000)
    assert (reload(unpaid).status, reload(unpaid).booked_cents) == (OrderStatus.ACKNOWLEDGED, 0)


def _bookings_file(records: list[fmt.BookingRecord], sequence: int) -> None:
    header = fmt.Header("LFF", "Landesamt", sequence, datetime.now(UTC), len(records),
                        sum(r.amount_cents for r in records))
    inbox = settings().ihv_inbox_dir
    inbox.mkdir(parents=True, exist_ok=True)
    with (inbox / f"IST-{sequence:04d}.xml").open("wb") as handle:
        fmt.write_bookings(handle, header, records)


def _booking(reference: str, kz: str, cents: int,
             direction: str = "annahme") -> fmt.BookingRecord:
    return fmt.BookingRecord(reference, kz, direction, cents, date(2026, 3, 5), "Max Muster",
                             f"{kz} Rueckforderung")


def test_several_bookings_partial_overpayment_and_typed_kassenzeichen(
        create_order: Factory, finance: dict[str, Staff]) -> None:
    older = approved(create_order, finance, direction=Direction.ANNAHME, amount_cents=5_000,
                     iban=None, bic=None, due_date=date(2026, 2, 1))
    # The second installment of the same series: same Kassenzeichen.
    newer = approved(create_order, finance, direction=Direction.ANNAHME, amount_cents=5_000,
                     iban=None, bic=None, due_date=date(2026, 3, 1),
                     kassenzeichen=older.kassenzeichen)
    send.send_transfers(settings())
    typed = codes.format_kassenzeichen(older.kassenzeichen).lower().replace("-", " ")
    _bookings_file([_booking("B1", typed, 2_000), _booking("B2", older.kassenzeichen, 3_000),
                    _booking("B3", older.kassenzeichen, 5_000),
                    _booking("B4", older.kassenzeichen, 700)], 1)

    report = receive.receive_files(settings())

    assert report.matched == 4
    assert report.unclear == 0
    older, newer = reload(older), reload(newer)
    assert (older.status, older.booked_cents) == (OrderStatus.BOOKED, 5_000)
    assert (newer.status, newer.booked_cents) == (OrderStatus.BOOKED, 5_000)
    excess = db.session.scalar(select(Booking).where(Booking.reference == "B4"))
    assert excess is not None
    assert excess.excess_cents == 700
    assert excess.sollstellung_id == newer.id


def test_unmatched_bookings_go_to_the_klaerungsliste(create_order: Factory,
                                                     finance: dict[str, Staff]) -> None:
    order = approved(create_order, finance, direction=Direction.ANNAHME, amount_cents=5_000,
                     iban=None, bic=None)
    send.send_transfers(settings())
    wrong_check_digit = order.kassenzeichen[:-1] + str((int(order.kassenzeichen[-1]) + 1) % 10)
    _bookings_file([_booking("U1", wrong_check_digit, 5_000),
                    _booking("U2", "Unterhalt Mai", 1_000),
                    _booking("U3", order.kassenzeichen, 900, direction="auszahlung")], 1)

    report = receive.receive_files(settings())

    assert (report.matched, report.unclear) == (0, 3)
    statuses = set(db.session.scalars(select(Booking.status)))
    assert statuses == {BookingStatus.UNCLEAR}
    assert reload(order).booked_cents == 0


def test_same_file_twice_changes_nothing(create_order: Factory,
                                         finance: dict[str, Staff]) -> None:
    order = approved(create_order, finance, direction=Direction.ANNAHME, amount_cents=5_000,
                     iban=None, bic=None)
    send.send_transfers(settings())
    _bookings_file([_booking("D1", order.kassenzeichen, 2_000)], 1)
    content = (settings().ihv_inbox_dir / "IST-0001.xml").read_bytes()
    receive.receive_files(settings())
    (settings().ihv_inbox_dir / "copy-of-IST.xml").write_bytes(content)

    report = receive.receive_files(settings())

    assert report.duplicates == ["copy-of-IST.xml"]
    assert not report.imported
    assert reload(order).booked_cents == 2_000
    assert db.session.scalar(select(func.count()).select_from(Booking)) == 1
    assert db.session.scalar(select(func.count()).select_from(ImportedFile)) == 1


def test_booking_repeated_in_a_later_file_is_booked_once(create_order: Factory,
                                                          finance: dict[str, Staff]) -> None:
    order = approved(create_order, finance, direction=Direction.ANNAHME, amount_cents=5_000,
                     iban=None, bic=None)
    send.send_transfers(settings())
    _bookings_file([_booking("R1", order.kassenzeichen, 2_000)], 1)
    receive.receive_files(settings())
    _bookings_file([_booking("R1", order.kassenzeichen, 2_000),
                    _booking("R2", order.kassenzeichen, 1_000)], 2)

    report = receive.receive_files(settings())

    assert (report.matched, report.skipped_known) == (1, 1)
    assert reload(order).booked_cents == 3_000


def test_treasury_rejects_unknown_haushaltsstelle(create_order: Factory,
                                                  finance: dict[str, Staff]) -> None:
    known = approved(create_order, finance)
    unknown = approved(create_order, finance, haushaltsstelle="11 22/333 44-5")

    round_trip(known_haushaltsstellen=[known.haushaltsstelle])

    assert reload(known).status == OrderStatus.BOOKED
    refused = reload(unknown)
    assert refused.status == OrderStatus.REJECTED
    assert refused.rejection_reason is not None
    assert "11 22/333 44-5" in refused.rejection_reason


def test_order_with_broken_iban_is_held_back_and_never_in_a_file(
        create_order: Factory, finance: dict[str, Staff]) -> None:
    good = approved(create_order, finance)
    broken = approved(create_order, finance)
    # A checksum error that slipped past the form (an old import, a database edit).
    db.session.execute(text("UPDATE sollstellungen SET iban = 'DE89370400440532013001' "
                            "WHERE id = :id"), {"id": broken.id})
    db.session.commit()

    report = send.send_transfers(settings())

    assert [held[0] for held in report.held_back] == [broken.id]
    assert "IBAN" in report.held_back[0][2]
    transfer = db.session.scalar(select(Transfer))
    assert transfer is not None
    assert transfer.order_count == 1
    ids = [o.order_id for o in fmt.iter_orders(settings().ihv_outbox_dir / transfer.file_name)]
    assert ids == [good.id]
    broken = reload(broken)
    assert (broken.status, broken.transfer_id) == (OrderStatus.ANGEORDNET, None)
    # Held back again next time, still not sent.
    again = send.send_transfers(settings())
    assert again.prepared == []
    assert [held[0] for held in again.held_back] == [broken.id]
    assert reload(broken).transfer_id is None


def test_nothing_to_send_uses_no_sequence_number(create_order: Factory,
                                                 finance: dict[str, Staff]) -> None:
    assert send.send_transfers(settings()).prepared == []
    approved(create_order, finance)
    assert send.send_transfers(settings()).prepared == [1]
    assert send.send_transfers(settings()).prepared == []
    approved(create_order, finance)
    assert send.send_transfers(settings()).prepared == [2]


def test_max_orders_splits_into_several_gapless_files(create_order: Factory,
                                                      finance: dict[str, Staff]) -> None:
    orders = [approved(create_order, finance, amount_cents=100 + i) for i in range(5)]

    report = send.send_transfers(settings(), max_orders=2)

    assert report.prepared == [1, 2, 3] == report.sent
    counts = [t.order_count for t in db.session.scalars(
        select(Transfer).order_by(Transfer.sequence_number))]
    assert counts == [2, 2, 1]
    assert {reload(o).status for o in orders} == {OrderStatus.TRANSMITTED}


def test_acknowledgement_and_rejected_import_are_audited(create_order: Factory,
                                                         finance: dict[str, Staff]) -> None:
    approved(create_order, finance)
    send.send_transfers(settings())
    inbox = settings().ihv_inbox_dir
    inbox.mkdir(parents=True, exist_ok=True)
    (inbox / "kaputt.xml").write_bytes(b"<Bookings")

    report = receive.receive_files(settings())

    assert report.rejected
    assert report.rejected[0][0] == "kaputt.xml"
    imported = db.session.scalar(select(ImportedFile))
    assert imported is not None
    assert imported.status == ImportStatus.REJECTED
    assert imported.report
    assert inbox_files("rejected") == ["kaputt.xml"]
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "ihv.file_rejected")) == 1
