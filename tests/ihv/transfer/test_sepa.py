"""The SEPA adapter: pain.001.001.09 out (valid against the official XSD), camt.053 back in."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from flask import Flask
from lxml import etree
from sqlalchemy import select

from amtsweg.audit.services import SYSTEM
from amtsweg.extensions import db
from amtsweg.office.services import office_form_values, save_office_data
from amtsweg.staff.models import Staff
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
from ihv.transfer import receive, send, sepa
from tests.ihv.transfer.support import approved, reload, settings, simulate

Factory = Callable[..., Sollstellung]
OFFICE_IBAN = "DE02120300000000202051"
NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


@pytest.fixture
def sepa_ctx(app: Flask) -> Iterator[None]:
    app.config["AMTSWEG"] = app.config["AMTSWEG"].with_overrides(ihv_adapter="sepa")
    with app.app_context():
        values = office_form_values()
        values.update(iban=OFFICE_IBAN, bic="BYLADEM1001", bank_name="DKB")
        save_office_data(values, SYSTEM)
        db.session.commit()
        yield


def _pain_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(sepa.PAIN_XSD)))


@pytest.mark.usefixtures("sepa_ctx")
def test_payouts_leave_as_a_valid_pain001_and_come_back_booked_by_camt053(
        create_order: Factory, finance: dict[str, Staff]) -> None:
    first = approved(create_order, finance, amount_cents=22_700, party_name="Jörg Weiß")
    second = approved(create_order, finance, amount_cents=29_900, due_date=date(2026, 3, 2))
    receivable = approved(create_order, finance, direction=Direction.ANNAHME,
                          amount_cents=5_000, iban=None, bic=None)

    report = send.send_transfers(settings())

    assert report.sent == [1]
    transfer = db.session.scalar(select(Transfer))
    assert transfer is not None
    assert transfer.adapter == "sepa"
    path = settings().ihv_outbox_dir / transfer.file_name
    document = etree.parse(str(path))
    assert _pain_schema().validate(document), _pain_schema().error_log
    ns = {"p": sepa.PAIN_NS}
    assert document.findtext(".//p:GrpHdr/p:NbOfTxs", namespaces=ns) == "2"
    assert document.findtext(".//p:GrpHdr/p:CtrlSum", namespaces=ns) == "526.00"
    assert document.findtext(".//p:DbtrAcct/p:Id/p:IBAN", namespaces=ns) == OFFICE_IBAN
    assert "Joerg Weiss" in path.read_text() or "Jorg Weiss" in path.read_text()
    # The receivable rode along: released with the transfer, not in the credit transfer file.
    assert reload(receivable).status == OrderStatus.TRANSMITTED
    assert transfer.order_count == 3

    simulate(date(2026, 3, 5))
    received = receive.receive_files(settings())

    assert not received.rejected
    assert received.matched == 2
    assert reload(first).status == reload(second).status == OrderStatus.BOOKED
    imported = db.session.scalar(select(ImportedFile))
    assert imported is not None
    assert imported.kind == ImportKind.CAMT053


def _camt(path: Path, entries: list[sepa.CamtEntry], sequence: int = 1) -> None:
    sepa.write_camt053(path, entries, account_iban=OFFICE_IBAN, statement_id=f"S{sequence}",
                       sequence_number=sequence, created=NOW)


@pytest.mark.usefixtures("sepa_ctx")
def test_camt_credits_match_receivables_by_kassenzeichen_in_the_remittance(
        create_order: Factory, finance: dict[str, Staff]) -> None:
    approved(create_order, finance)  # a payout, so the transfer goes out
    receivable = approved(create_order, finance, direction=Direction.ANNAHME,
                          amount_cents=5_000, iban=None, bic=None)
    send.send_transfers(settings())
    kz = receivable.kassenzeichen
    typed = f"Unterhalt Lea {kz[:2]} {kz[2:6]}-{kz[6:10]} {kz[10:]} Danke"
    inbox = settings().ihv_inbox_dir
    inbox.mkdir(parents=True, exist_ok=True)
    _camt(inbox / "camt.xml", [
        sepa.CamtEntry("C1", True, 3_000, date(2026, 3, 3), typed, "NOTPROVIDED", "Max Muster"),
        sepa.CamtEntry("C2", True, 999, date(2026, 3, 3), "Spende", "NOTPROVIDED", "Anonym")])

    report = receive.receive_files(settings())

    assert (report.matched, report.unclear) == (1, 1)
    assert reload(receivable).booked_cents == 3_000
    unclear = db.session.scalar(select(Booking).where(Booking.status == BookingStatus.UNCLEAR))
    assert unclear is not None
    assert unclear.purpose == "Spende"


@pytest.mark.parametrize(("mangle", "fragment"), [
    (lambda data: data.replace(b'Ccy="EUR"', b'Ccy="USD"', 1), "EUR"),
    (lambda data: data.replace(b"<NbOfNtries>1", b"<NbOfNtries>2", 1), "announces 2"),
    (lambda data: data.replace(b"<Sum>30.00", b"<Sum>31.00", 1), "sum"),
    (lambda data: data.replace(b"<CdtDbtInd>CRDT", b"<CdtDbtInd>XXXX", 1), "CRDT or DBIT"),
    (lambda data: data.replace(b"<Amt Ccy=\"EUR\">30.00", b"<Amt Ccy=\"EUR\">-30.00", 1),
     "not a positive"),
    (lambda data: data[:-40], "not a valid file"),
    # "²" is a digit to str.isdigit() but no number to int().
    (lambda data: re.sub(rb"<ElctrncSeqNb>\d+", "<ElctrncSeqNb>²".encode(), data, count=1),
     "ElctrncSeqNb"),
    (lambda data: b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
     b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">&e;</Document>',
     "DOCTYPE"),
])
@pytest.mark.usefixtures("sepa_ctx")
def test_broken_statement_is_rejected_whole(mangle: Callable[[bytes], bytes],
                                            fragment: str) -> None:
    inbox = settings().ihv_inbox_dir
    inbox.mkdir(parents=True, exist_ok=True)
    _camt(inbox / "camt.xml", [sepa.CamtEntry("C1", True, 3_000, date(2026, 3, 3),
                                              "KZ", "NOTPROVIDED", "Max")])
    path = inbox / "camt.xml"
    path.write_bytes(mangle(path.read_bytes()))

    report = receive.receive_files(settings())

    assert report.rejected, report
    assert fragment.lower() in report.rejected[0][1].lower(), report
    assert db.session.scalar(select(Booking.id)) is None
    imported = db.session.scalar(select(ImportedFile))
    assert imported is not None
    assert imported.status == ImportStatus.REJECTED


@pytest.mark.usefixtures("sepa_ctx")
def test_statement_sequence_number_is_imported_once() -> None:
    inbox = settings().ihv_inbox_dir
    inbox.mkdir(parents=True, exist_ok=True)
    _camt(inbox / "a.xml", [sepa.CamtEntry("C1", True, 100, date(2026, 3, 3), "x", "", "M")], 4)
    receive.receive_files(settings())
    _camt(inbox / "b.xml", [sepa.CamtEntry("C2", True, 100, date(2026, 3, 3), "x", "", "M")], 4)
    report = receive.receive_files(settings())
    assert report.rejected
    assert "sequence number 4" in report.rejected[0][1]


@pytest.mark.usefixtures("sepa_ctx")
def test_without_the_office_account_nothing_is_built(create_order: Factory,
                                                     finance: dict[str, Staff]) -> None:
    values = office_form_values()
    values["iban"] = ""
    save_office_data(values, SYSTEM)
    db.session.commit()
    order = approved(create_order, finance)
    with pytest.raises(sepa.SepaError, match="IBAN"):
        send.send_transfers(settings())
    db.session.rollback()
    assert db.session.scalar(select(Transfer.id)) is None
    assert reload(order).transfer_id is None
