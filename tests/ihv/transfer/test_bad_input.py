"""Bad files: each is rejected whole with a clear report, and nothing of it is applied."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from amtsweg.extensions import db
from amtsweg.staff.models import Staff
from ihv.models import (
    Booking,
    Direction,
    ImportedFile,
    ImportKind,
    ImportStatus,
    OrderStatus,
    Sollstellung,
    Transfer,
)
from ihv.transfer import format as fmt
from ihv.transfer import receive, send
from tests.ihv.transfer.support import approved, inbox_files, reload, settings

pytestmark = pytest.mark.usefixtures("app_ctx")
Factory = Callable[..., Sollstellung]
NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def _bytes(write: Callable[..., None], *args: object) -> bytes:
    import io

    buffer = io.BytesIO()
    write(buffer, *args)
    return buffer.getvalue()


def _bookings(kz: str, amounts: list[int], sequence: int = 1, count: int | None = None,
              total: int | None = None) -> bytes:
    records = [fmt.BookingRecord(f"R{sequence}-{i}", kz, "annahme", cents, date(2026, 3, 1))
               for i, cents in enumerate(amounts)]
    header = fmt.Header("LFF", "LfF", sequence, NOW, len(records) if count is None else count,
                        sum(amounts) if total is None else total)
    return _bytes(fmt.write_bookings, header, records)


def _ack(order: Sollstellung, transfer_sequence: int = 1, sequence: int = 1,
         kz: str | None = None, amount: int | None = None, order_id: int | None = None) -> bytes:
    record = fmt.AckRecord(order_id or order.id, kz or order.kassenzeichen,
                           amount or order.amount_cents, True)
    header = fmt.Header("LFF", "LfF", sequence, NOW, 1, record.amount_cents)
    return _bytes(fmt.write_acknowledgement, header, transfer_sequence, [record])


def _drop(name: str, content: bytes) -> Path:
    inbox = settings().ihv_inbox_dir
    inbox.mkdir(parents=True, exist_ok=True)
    path = inbox / name
    path.write_bytes(content)
    return path


def _receivable(create_order: Factory, finance: dict[str, Staff]) -> Sollstellung:
    order = approved(create_order, finance, direction=Direction.ANNAHME, amount_cents=5_000,
                     iban=None, bic=None)
    send.send_transfers(settings())
    return reload(order)


def _assert_rejected_whole(name: str, fragment: str) -> None:
    report = receive.receive_files(settings())
    assert [n for n, _ in report.rejected] == [name], report
    message = report.rejected[0][1]
    assert fragment.lower() in message.lower(), message
    imported = db.session.scalar(select(ImportedFile).where(ImportedFile.file_name == name))
    assert imported is not None
    assert imported.status == ImportStatus.REJECTED
    assert imported.report == message
    assert db.session.scalar(select(func.count()).select_from(Booking)) == 0
    assert name in inbox_files("rejected")


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<Bookings xmlns="urn:amtsweg:ihv:1" version="1">&lol3;</Bookings>"""
XXE = b"""<?xml version="1.0"?>
<!DOCTYPE b [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<Bookings xmlns="urn:amtsweg:ihv:1" version="1"><Header>&xxe;</Header></Bookings>"""


@pytest.mark.parametrize(("mangle", "fragment"), [
    (lambda data: data[: len(data) // 2], "not a valid file"),
    (lambda data: data[:-3], "not a valid file"),
    (lambda data: data.replace(b"<Reference>", b"<Reference><<", 1), "not a valid file"),
    (lambda data: data.replace(b"<AmountCents>2000", b"<AmountCents>20.00", 1), "Cents"),
    (lambda data: data.replace(b"<Direction>annahme", b"<Direction>gift", 1), "Direction"),
    (lambda data: data.replace(b"<ControlSumCents>5000", b"<ControlSumCents>5001", 1),
     "control sum"),
    (lambda data: data.replace(b"<Count>2", b"<Count>3", 1), "announces 3 records"),
    (lambda data: data.replace(b"<AmountCents>3000", b"<AmountCents>3001", 1), "control sum"),
    (lambda data: b"", "empty"),
    (lambda data: b"\xff\xfe\x00garbage", "not a valid file"),
    (lambda data: BILLION_LAUGHS, "DOCTYPE"),
    (lambda data: XXE, "DOCTYPE"),
    (lambda data: data.replace(b"urn:amtsweg:ihv:1", b"urn:other", 1), "unknown document"),
])
def test_broken_booking_file(create_order: Factory, finance: dict[str, Staff],
                             mangle: Callable[[bytes], bytes], fragment: str) -> None:
    order = _receivable(create_order, finance)
    _drop("IST.xml", mangle(_bookings(order.kassenzeichen, [2_000, 3_000])))

    _assert_rejected_whole("IST.xml", fragment)
    assert reload(order).booked_cents == 0


def test_a_booking_that_would_fail_rolls_back_the_whole_file(
        create_order: Factory, finance: dict[str, Staff]) -> None:
    """A duplicate reference surfaces only while applying: the good bookings before it go too."""
    order = _receivable(create_order, finance)
    records = [fmt.BookingRecord("SAME", order.kassenzeichen, "annahme", 1_000, date(2026, 3, 1)),
               fmt.BookingRecord("SAME", order.kassenzeichen, "annahme", 1_000, date(2026, 3, 1))]
    header = fmt.Header("LFF", "LfF", 1, NOW, 2, 2_000)
    _drop("IST.xml", _bytes(fmt.write_bookings, header, records))

    _assert_rejected_whole("IST.xml", "twice")
    assert reload(order).booked_cents == 0


def test_duplicate_sequence_number(create_order: Factory, finance: dict[str, Staff]) -> None:
    order = _receivable(create_order, finance)
    _drop("IST-1.xml", _bookings(order.kassenzeichen, [1_000], sequence=7))
    receive.receive_files(settings())
    _drop("IST-2.xml", _bookings(order.kassenzeichen, [2_000], sequence=7) + b"\n")

    report = receive.receive_files(settings())

    assert report.rejected
    assert "sequence number 7" in report.rejected[0][1]
    assert reload(order).booked_cents == 1_000


def test_a_transfer_file_in_the_inbox_is_refused(create_order: Factory,
                                                 finance: dict[str, Staff]) -> None:
    approved(create_order, finance)
    send.send_transfers(settings())
    transfer = db.session.scalar(select(Transfer))
    assert transfer is not None
    own = (settings().ihv_outbox_dir / transfer.file_name).read_bytes()
    _drop("echo.xml", own)
    _assert_rejected_whole("echo.xml", "transfer file")


@pytest.mark.parametrize(("change", "fragment"), [
    ({"kz": "KZ20260000009991"}, "unknown order"),
    ({"order_id": 999_999}, "unknown order"),
    ({"amount": 1}, "does not match"),
    ({"transfer_sequence": 42}, "never sent"),
])
def test_acknowledgement_that_does_not_fit(create_order: Factory, finance: dict[str, Staff],
                                           change: dict[str, object], fragment: str) -> None:
    order = approved(create_order, finance)
    send.send_transfers(settings())
    other = approved(create_order, finance)
    send.send_transfers(settings())
    order, other = reload(order), reload(other)
    _drop("QUITT.xml", _ack(order, **change))  # type: ignore[arg-type]

    _assert_rejected_whole("QUITT.xml", fragment)
    assert reload(order).status == OrderStatus.TRANSMITTED
    assert db.session.scalar(select(ImportedFile.kind)) == ImportKind.ACKNOWLEDGEMENT


def test_acknowledgement_for_an_order_of_another_transfer(create_order: Factory,
                                                          finance: dict[str, Staff]) -> None:
    first = approved(create_order, finance)
    send.send_transfers(settings())
    second = approved(create_order, finance)
    send.send_transfers(settings())
    _drop("QUITT.xml", _ack(reload(second), transfer_sequence=1))

    _assert_rejected_whole("QUITT.xml", "was not in transfer 1")
    assert reload(first).status == reload(second).status == OrderStatus.TRANSMITTED


def test_oversized_file(create_order: Factory, finance: dict[str, Staff],
                        monkeypatch: pytest.MonkeyPatch) -> None:
    order = _receivable(create_order, finance)
    monkeypatch.setattr(receive, "MAX_IMPORT_BYTES", 100)
    _drop("IST.xml", _bookings(order.kassenzeichen, [1_000]))
    _assert_rejected_whole("IST.xml", "more than the 100 accepted")


def test_the_same_rejected_file_again_is_not_recorded_twice(create_order: Factory,
                                                             finance: dict[str, Staff]) -> None:
    _drop("a.xml", b"<nope")
    receive.receive_files(settings())
    _drop("b.xml", b"<nope")
    report = receive.receive_files(settings())
    assert report.duplicates == ["b.xml"]
    assert db.session.scalar(select(func.count()).select_from(ImportedFile)) == 1
