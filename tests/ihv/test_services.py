"""Orders through their life: creation, four eyes, edits, cancellation, transfer feedback."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from amtsweg.audit.models import AuditEntry
from amtsweg.extensions import db
from amtsweg.staff.models import Staff
from ihv import codes, services
from ihv.models import (
    Booking,
    BookingStatus,
    Direction,
    ImportedFile,
    ImportKind,
    ImportStatus,
    OrderStatus,
    Recurrence,
    Sollstellung,
    Transfer,
    TransferStatus,
)
from ihv.services import OrderError, OrderSpec, StaleOrder
from ihv.signals import booking_matched, order_state_changed
from tests.ihv.conftest import HAUSHALTSSTELLE, IBAN

pytestmark = pytest.mark.usefixtures("app_ctx")
Factory = Callable[..., Sollstellung]


def _m(staff: Staff) -> Staff:
    return db.session.merge(staff)


def _status(order: Sollstellung) -> OrderStatus:
    # Read through a function: mypy would otherwise keep the status narrowed by an earlier assert.
    return order.status


def _approved(create_order: Factory, finance: dict[str, Staff], **overrides: Any) -> Sollstellung:
    order = create_order(finance["caseworker"], **overrides)
    services.feststellen(_m(finance["feststeller"]), order, order.version)
    services.anordnen(_m(finance["anordner"]), order, order.version)
    db.session.commit()
    return order


def _transfer(sequence: int = 1) -> Transfer:
    transfer = Transfer(sequence_number=sequence, file_name=f"t{sequence}.xml", blob_key="k",
                        sha256="0" * 64, order_count=1, control_sum_cents=1,
                        status=TransferStatus.PREPARED)
    db.session.add(transfer)
    db.session.flush()
    return transfer


def _booking(order: Sollstellung, amount: int, reference: str) -> Booking:
    imported = db.session.scalar(select(ImportedFile).where(ImportedFile.file_name == "ist.xml"))
    if imported is None:
        imported = ImportedFile(kind=ImportKind.BOOKINGS, status=ImportStatus.IMPORTED,
                                file_name="ist.xml", sha256="1" * 64)
        db.session.add(imported)
        db.session.flush()
    booking = Booking(import_id=imported.id, reference=reference, source=ImportKind.BOOKINGS,
                      direction=order.direction, kassenzeichen=order.kassenzeichen,
                      amount_cents=amount, booking_date=date(2026, 3, 2),
                      status=BookingStatus.MATCHED)
    db.session.add(booking)
    db.session.flush()
    return booking


# --- creating ------------------------------------------------------------------------------


def test_create_order_hands_out_a_valid_kassenzeichen_and_purpose(
        create_order: Factory, finance: dict[str, Staff]) -> None:
    order = create_order(finance["caseworker"])
    assert codes.is_valid_kassenzeichen(order.kassenzeichen)
    assert order.kassenzeichen.startswith("KZ2026")
    assert order.purpose.startswith(order.kassenzeichen)
    assert "Sabine Mueller" in order.purpose
    assert order.status == OrderStatus.DRAFT
    assert order.version == 1
    assert order.iban == IBAN
    assert order.haushaltsstelle == HAUSHALTSSTELLE
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "ihv.order_created"))
    assert entry is not None
    assert entry.actor_name == "sachbearbeitung"
    assert entry.object_id == str(order.id)


def test_consecutive_orders_get_distinct_kassenzeichen(create_order: Factory) -> None:
    numbers = {create_order().kassenzeichen for _ in range(5)}
    assert len(numbers) == 5


def test_source_key_makes_create_order_idempotent(create_order: Factory) -> None:
    first = create_order(source="uvg", source_key="uvg:42:2026-03")
    again = create_order(source="uvg", source_key="uvg:42:2026-03", amount_cents=99)
    assert again.id == first.id
    assert again.amount_cents == 22_700
    assert db.session.scalar(select(func.count()).select_from(Sollstellung)) == 1


def test_a_recurring_series_keeps_its_kassenzeichen(create_order: Factory) -> None:
    first = create_order(recurrence=Recurrence.RECURRING)
    second = create_order(recurrence=Recurrence.RECURRING, kassenzeichen=first.kassenzeichen,
                          due_date=date(2026, 4, 1))
    assert second.kassenzeichen == first.kassenzeichen
    grouped = codes.format_kassenzeichen(first.kassenzeichen)
    third = create_order(kassenzeichen=grouped)
    assert third.kassenzeichen == first.kassenzeichen


@pytest.mark.parametrize(("overrides", "field_name"), [
    ({"iban": "DE89370400440532013001"}, "iban"),  # wrong checksum
    ({"iban": "DE8937040044053201300"}, "iban"),  # too short
    ({"iban": "<script>"}, "iban"),
    ({"iban": None}, "iban"),  # a payout without an account
    ({"iban": "DE89 3704 0044 0532 0130 00" * 5}, "iban"),
    ({"bic": "DEUTXXFF"}, "bic"),  # no such country
    ({"bic": "COBADEF"}, "bic"),
    ({"bic": "BNPAFRPPXXX"}, "bic"),  # French bank, German IBAN
    ({"purpose": "x" * 141}, "purpose"),
    ({"purpose": "Zahlung ohne Kassenzeichen"}, "purpose"),
    ({"haushaltsstelle": "70 55/101 38"}, "haushaltsstelle"),
    ({"haushaltsstelle": "7O 55/101 38-1"}, "haushaltsstelle"),
    ({"haushaltsstelle": ""}, "haushaltsstelle"),
    ({"kassenzeichen": "KZ20260000012375"}, "kassenzeichen"),  # check digits wrong
    ({"kassenzeichen": "AW-2026-0000123-4"}, "kassenzeichen"),
    ({"amount_cents": 0}, "amount"),
    ({"amount_cents": -100}, "amount"),
    ({"amount_cents": 10**12}, "amount"),
    ({"amount_cents": 12.5}, "amount"),
    ({"amount_cents": True}, "amount"),
    ({"party_name": "   "}, "party_name"),
    ({"party_name": "A" * 201}, "party_name"),
    ({"party_name": "Null\x00Byte"}, "party_name"),
    ({"period_start": date(2026, 3, 31), "period_end": date(2026, 3, 1)}, "period_end"),
])
def test_bad_input_is_refused_and_nothing_is_written(create_order: Factory,
                                                     overrides: dict[str, Any],
                                                     field_name: str) -> None:
    with pytest.raises(OrderError) as caught:
        create_order(**overrides)
    assert caught.value.field_name == field_name
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Sollstellung)) == 0


def test_a_receivable_order_needs_no_account(create_order: Factory) -> None:
    order = create_order(direction=Direction.ANNAHME, iban=None, bic=None,
                         party_name="Thomas Müller")
    assert order.iban is None
    assert order.direction == Direction.ANNAHME


def test_a_refused_order_uses_no_number(create_order: Factory) -> None:
    first = create_order()
    with pytest.raises(OrderError):
        create_order(iban="DE00")
    db.session.rollback()
    second = create_order()
    number = int(first.kassenzeichen[6:14])
    assert int(second.kassenzeichen[6:14]) == number + 1


# --- bulk ----------------------------------------------------------------------------------


def _specs(count: int, prefix: str = "run") -> list[OrderSpec]:
    return [OrderSpec(direction=Direction.AUSZAHLUNG, amount_cents=22_700 + index,
                      due_date=date(2026, 3, 1), haushaltsstelle=HAUSHALTSSTELLE,
                      party_name=f"Kind {index}", iban=IBAN, source="uvg",
                      source_key=f"{prefix}:{index}", recurrence=Recurrence.RECURRING,
                      period_start=date(2026, 3, 1), period_end=date(2026, 3, 31))
            for index in range(count)]


def test_bulk_creates_5000_orders_with_distinct_valid_kassenzeichen(
        finance: dict[str, Staff]) -> None:
    created = services.create_orders_bulk(_m(finance["caseworker"]), _specs(5_000))
    db.session.commit()
    assert created == 5_000
    numbers = list(db.session.scalars(select(Sollstellung.kassenzeichen)))
    assert len(set(numbers)) == 5_000
    assert all(codes.is_valid_kassenzeichen(number) for number in numbers[::97])
    total = db.session.scalar(select(func.sum(Sollstellung.amount_cents)))
    assert total == sum(22_700 + index for index in range(5_000))
    purpose = db.session.scalar(select(Sollstellung.purpose).where(Sollstellung.source_key
                                                                   == "run:7"))
    assert purpose is not None
    assert "03.2026 Kind 7" in purpose
    entries = list(db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "ihv.orders_created_bulk")))
    assert len(entries) == 1
    assert entries[0].after is not None
    assert entries[0].after["count"] == 5_000


def test_bulk_skips_existing_source_keys_and_duplicates(finance: dict[str, Staff]) -> None:
    assert services.create_orders_bulk(None, _specs(10)) == 10
    db.session.commit()
    specs = [*_specs(15), *_specs(3)]
    assert services.create_orders_bulk(None, specs) == 5
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Sollstellung)) == 15


def test_bulk_with_a_bad_row_names_it(finance: dict[str, Staff]) -> None:
    specs = _specs(4)
    specs[2] = OrderSpec(**{**specs[2].__dict__, "iban": "DE89370400440532013001"})
    with pytest.raises(OrderError) as caught:
        services.create_orders_bulk(None, specs)
    assert caught.value.params["row"] == 3
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Sollstellung)) == 0


# --- four eyes -----------------------------------------------------------------------------


def test_the_four_eyes_path(create_order: Factory, finance: dict[str, Staff]) -> None:
    seen: list[tuple[OrderStatus, OrderStatus]] = []

    def on_change(order: Sollstellung, old: OrderStatus, new: OrderStatus) -> None:
        seen.append((old, new))

    order = create_order(finance["caseworker"])
    with order_state_changed.connected_to(on_change):
        services.feststellen(_m(finance["feststeller"]), order, 1)
        services.anordnen(_m(finance["anordner"]), order, 1)
    db.session.commit()
    assert order.status == OrderStatus.ANGEORDNET
    assert order.festgestellt_by_id == finance["feststeller"].id
    assert order.angeordnet_by_id == finance["anordner"].id
    assert seen == [(OrderStatus.DRAFT, OrderStatus.FESTGESTELLT),
                    (OrderStatus.FESTGESTELLT, OrderStatus.ANGEORDNET)]
    actions = list(db.session.scalars(select(AuditEntry.action).where(
        AuditEntry.object_id == str(order.id)).order_by(AuditEntry.id)))
    assert actions == ["ihv.order_created", "ihv.order_festgestellt", "ihv.order_angeordnet"]


def test_nobody_establishes_their_own_order(create_order: Factory,
                                            finance: dict[str, Staff]) -> None:
    order = create_order(finance["both"])
    with pytest.raises(OrderError, match="created or changed yourself"):
        services.feststellen(_m(finance["both"]), order, 1)


def test_nobody_orders_what_they_established(create_order: Factory,
                                             finance: dict[str, Staff]) -> None:
    order = create_order(finance["caseworker"])
    services.feststellen(_m(finance["both"]), order, 1)
    with pytest.raises(OrderError, match="established"):
        services.anordnen(_m(finance["both"]), order, 1)


def test_roles_are_required(create_order: Factory, finance: dict[str, Staff]) -> None:
    order = create_order()
    with pytest.raises(OrderError, match="role"):
        services.feststellen(_m(finance["anordner"]), order, 1)
    services.feststellen(_m(finance["feststeller"]), order, 1)
    with pytest.raises(OrderError, match="role"):
        services.anordnen(_m(finance["caseworker"]), order, 1)


def test_anordnung_needs_the_feststellung_first(create_order: Factory,
                                               finance: dict[str, Staff]) -> None:
    order = create_order()
    with pytest.raises(OrderError, match="established order"):
        services.anordnen(_m(finance["anordner"]), order, 1)


def test_a_stale_version_is_refused(create_order: Factory, finance: dict[str, Staff]) -> None:
    order = create_order(finance["caseworker"])
    services.update_order(_m(finance["caseworker"]), order, amount_cents=30_000)
    db.session.commit()
    with pytest.raises(StaleOrder):
        services.feststellen(_m(finance["feststeller"]), order, 1)
    services.feststellen(_m(finance["feststeller"]), order, 2)
    assert order.status == OrderStatus.FESTGESTELLT


def test_a_change_voids_the_approvals(create_order: Factory, finance: dict[str, Staff]) -> None:
    order = _approved(create_order, finance)
    services.update_order(_m(finance["caseworker"]), order, iban="DE02120300000000202051")
    db.session.commit()
    assert order.status == OrderStatus.DRAFT
    assert order.version == 2
    assert order.festgestellt_by_id is None
    assert order.angeordnet_by_id is None
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "ihv.order_changed"))
    assert entry is not None
    assert entry.after is not None
    assert entry.after["approvals_voided"] is True
    assert entry.after["changed"] == ["iban"]


def test_the_editor_cannot_approve_the_change(create_order: Factory,
                                              finance: dict[str, Staff]) -> None:
    order = create_order(finance["caseworker"])
    services.update_order(_m(finance["feststeller"]), order, amount_cents=25_000)
    with pytest.raises(OrderError, match="created or changed yourself"):
        services.feststellen(_m(finance["feststeller"]), order, order.version)


def test_an_unchanged_update_writes_nothing(create_order: Factory) -> None:
    order = create_order()
    services.update_order(None, order, amount_cents=22_700)
    assert order.version == 1


def test_an_update_with_bad_values_is_refused(create_order: Factory) -> None:
    order = create_order()
    with pytest.raises(OrderError):
        services.update_order(None, order, iban="DE89370400440532013001")
    with pytest.raises(OrderError):
        services.update_order(None, order, kassenzeichen="KZ20260000012374")


@pytest.mark.parametrize("column", ["festgestellt_by_id", "changed_by_id"])
def test_the_database_refuses_self_approval(create_order: Factory, finance: dict[str, Staff],
                                            column: str) -> None:
    order = create_order(finance["caseworker"])
    me = finance["caseworker"].id
    order.status = OrderStatus.FESTGESTELLT
    order.festgestellt_by_id = me
    if column == "changed_by_id":
        order.festgestellt_by_id = finance["feststeller"].id
        order.changed_by_id = finance["feststeller"].id
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_the_database_refuses_an_anordnung_by_the_feststeller(
        create_order: Factory, finance: dict[str, Staff]) -> None:
    order = create_order(finance["caseworker"])
    order.status = OrderStatus.ANGEORDNET
    order.festgestellt_by_id = finance["both"].id
    order.angeordnet_by_id = finance["both"].id
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_the_database_refuses_an_order_without_approvals(create_order: Factory) -> None:
    order = create_order()
    order.status = OrderStatus.ANGEORDNET
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_bulk_approval_reports_refusals(create_order: Factory, finance: dict[str, Staff]) -> None:
    mine = create_order(finance["feststeller"])
    others = [create_order(finance["caseworker"]) for _ in range(3)]
    pairs = [(order.id, order.version) for order in [*others, mine]]
    pairs[1] = (pairs[1][0], 7)  # the page showed an old version
    result = services.feststellen_many(_m(finance["feststeller"]), [*pairs, (999_999, 1)])
    db.session.commit()
    assert result.done == [others[0].id, others[2].id]
    assert result.sum_cents == 2 * 22_700
    assert {order_id for order_id, _message, _params in result.refused} == {
        others[1].id, mine.id, 999_999}
    assert db.session.get(Sollstellung, others[1].id).status == OrderStatus.DRAFT  # type: ignore[union-attr]
    second = services.anordnen_many(_m(finance["anordner"]),
                                    [(others[0].id, 1), (others[2].id, 1)])
    db.session.commit()
    assert second.count == 2


# --- cancelling ----------------------------------------------------------------------------


def test_cancel_before_transmission(create_order: Factory, finance: dict[str, Staff]) -> None:
    order = _approved(create_order, finance)
    services.cancel_order(_m(finance["caseworker"]), order, "Antrag zurückgenommen")
    db.session.commit()
    assert order.status == OrderStatus.CANCELLED
    assert order.open_cents == 0
    assert order.cancel_reason == "Antrag zurückgenommen"
    with pytest.raises(OrderError):
        services.cancel_order(None, order, "noch einmal")


def test_cancel_needs_a_reason(create_order: Factory) -> None:
    with pytest.raises(OrderError):
        services.cancel_order(None, create_order(), "  ")


def test_cancel_after_transmission_goes_through_a_change_order(
        create_order: Factory, finance: dict[str, Staff]) -> None:
    order = _approved(create_order, finance)
    services.mark_transmitted([order], _transfer(1))
    services.mark_acknowledged(order, datetime(2026, 3, 1, tzinfo=UTC))
    db.session.commit()
    change = services.cancel_order(_m(finance["caseworker"]), order, "Kind verzogen")
    db.session.commit()
    assert change.replaces_id == order.id
    assert change.status == OrderStatus.DRAFT
    assert change.kassenzeichen == order.kassenzeichen
    assert change.amount_cents == 22_700
    assert order.status == OrderStatus.ACKNOWLEDGED  # the treasury still acts on it
    with pytest.raises(OrderError, match="already under way"):
        services.cancel_order(None, order, "doppelt")
    services.feststellen(_m(finance["feststeller"]), change, 1)
    services.anordnen(_m(finance["anordner"]), change, 1)
    services.mark_transmitted([change], _transfer(2))
    db.session.commit()
    db.session.refresh(order)
    assert _status(order) == OrderStatus.CANCELLED
    assert order.cancel_reason == "Kind verzogen"
    with pytest.raises(OrderError):
        services.update_order(None, order, amount_cents=1)


# --- feedback from the treasury -------------------------------------------------------------


def test_transmit_is_idempotent_and_blocks_edits(create_order: Factory,
                                                 finance: dict[str, Staff]) -> None:
    order = _approved(create_order, finance)
    transfer = _transfer()
    assert services.mark_transmitted([order], transfer) == 1
    assert services.mark_transmitted([order], transfer) == 0
    db.session.commit()
    db.session.refresh(order)
    assert order.status == OrderStatus.TRANSMITTED
    assert order.transfer_id == transfer.id
    with pytest.raises(OrderError, match="sent to the treasury"):
        services.update_order(None, order, amount_cents=1)


def test_an_order_claimed_by_a_transfer_cannot_be_changed(
        create_order: Factory, finance: dict[str, Staff]) -> None:
    order = _approved(create_order, finance)
    order.transfer_id = _transfer().id
    db.session.commit()
    with pytest.raises(OrderError):
        services.update_order(None, order, amount_cents=1)


def test_rejection_ends_the_order(create_order: Factory, finance: dict[str, Staff]) -> None:
    order = _approved(create_order, finance)
    services.mark_transmitted([order], _transfer())
    services.mark_rejected(order, "Konto erloschen", datetime(2026, 3, 1, tzinfo=UTC))
    db.session.commit()
    assert order.status == OrderStatus.REJECTED
    assert order.rejection_reason == "Konto erloschen"
    assert order.open_cents == 0
    with pytest.raises(OrderError):
        services.mark_acknowledged(order, datetime(2026, 3, 2, tzinfo=UTC))


def test_partial_full_and_excess_bookings(create_order: Factory,
                                          finance: dict[str, Staff]) -> None:
    order = _approved(create_order, finance, direction=Direction.ANNAHME, iban=None, bic=None,
                      amount_cents=10_000)
    services.mark_transmitted([order], _transfer())
    services.mark_acknowledged(order, datetime(2026, 3, 1, tzinfo=UTC))
    matched: list[tuple[Booking, Sollstellung]] = []

    def on_match(booking: Booking, order: Sollstellung) -> None:
        matched.append((booking, order))

    with booking_matched.connected_to(on_match):
        first = _booking(order, 4_000, "B1")
        services.apply_booking(order, first)
        assert order.status == OrderStatus.ACKNOWLEDGED
        assert order.open_cents == 6_000
        second = _booking(order, 7_500, "B2")
        services.apply_booking(order, second)
        third = _booking(order, 100, "B3")
        services.apply_booking(order, third)
    db.session.commit()
    assert _status(order) == OrderStatus.BOOKED
    assert order.booked_cents == 10_000
    assert second.excess_cents == 1_500
    assert third.excess_cents == 100
    assert order.open_cents == 0
    assert [booking.reference for booking, _order in matched] == ["B1", "B2", "B3"]


def test_a_booking_for_a_cancelled_order_stays_unclear(create_order: Factory,
                                                       finance: dict[str, Staff]) -> None:
    order = create_order()
    services.cancel_order(None, order, "Irrtum")
    booking = _booking(order, 22_700, "B9")
    services.apply_booking(order, booking)
    db.session.commit()
    assert booking.status == BookingStatus.UNCLEAR
    assert booking.sollstellung_id is None
    assert order.booked_cents == 0


def test_orders_for_case(create_order: Factory, create_case: Callable[..., Any]) -> None:
    fall = create_case()
    mine = create_order(fall_id=fall.id)
    create_order()
    assert [order.id for order in services.orders_for_case(fall.id)] == [mine.id]
