"""Amtsweg IHV exchange format, version 1: streaming writer, validating reader.

Pure: no Flask, no database. The format is documented in ``docs/ihv-format.md`` and defined by
``ihv/schemas/amtsweg-ihv-1.xsd``. Files are written element by element (``etree.xmlfile``) and
read element by element (``etree.iterparse``, each element dropped once read), so memory stays
flat however many orders a file holds.

Every file that comes in is hostile until proven otherwise: the parser resolves no entities,
loads no DTD, reaches no network and refuses huge text nodes, and a file that carries a
DOCTYPE at all is refused before parsing (billion laughs, external entities: XXE).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import IO, Any

from lxml import etree

NS = "urn:amtsweg:ihv:1"
VERSION = "1"
SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas"
SCHEMA_PATH = SCHEMA_DIR / "amtsweg-ihv-1.xsd"

TRANSFER = "Transfer"
ACKNOWLEDGEMENT = "Acknowledgement"
BOOKINGS = "Bookings"
RECORD_ELEMENT = {TRANSFER: "Order", ACKNOWLEDGEMENT: "Record", BOOKINGS: "Booking"}

# A DOCTYPE may only stand in the prolog; looking at the first 64 KiB finds any a parser would
# act on (a longer prolog of comments is not a file we accept anyway).
_PROLOG_BYTES = 64 * 1024
_DTD_MARKERS = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


class FormatError(ValueError):
    """The file is not a valid document of this format; the message says what and where."""


def q(name: str) -> str:
    return f"{{{NS}}}{name}"


@dataclass(frozen=True)
class Header:
    sender_id: str
    sender_name: str
    sequence_number: int
    created_at: datetime
    count: int
    control_sum_cents: int


@dataclass(frozen=True)
class OrderRecord:
    order_id: int
    kassenzeichen: str
    direction: str
    amount_cents: int
    due_date: date
    haushaltsstelle: str
    party_name: str
    party_street: str
    party_postcode: str
    party_city: str
    iban: str | None
    bic: str | None
    purpose: str
    replaces_order_id: int | None = None


@dataclass(frozen=True)
class AckRecord:
    order_id: int
    kassenzeichen: str
    amount_cents: int
    accepted: bool
    reason: str | None = None


@dataclass(frozen=True)
class BookingRecord:
    reference: str
    kassenzeichen: str
    direction: str
    amount_cents: int
    booking_date: date
    counterparty: str = ""
    purpose: str = ""


@dataclass(frozen=True)
class ValidatedFile:
    """What a validated file's header says (and what its records were checked to add up to)."""

    kind: str  # TRANSFER, ACKNOWLEDGEMENT or BOOKINGS
    header: Header
    # Acknowledgement only: the office's transfer the file answers.
    transfer_sequence_number: int | None = None


@cache
def schema() -> etree.XMLSchema:
    # The schema is ours, read from the package; still parsed without network or entities.
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    return etree.XMLSchema(etree.parse(str(SCHEMA_PATH), parser))


def utc_timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- writing ------------------------------------------------------------------------------------


def _sub(parent: etree._Element, name: str, text: object | None) -> None:
    if text is None or text == "":
        return
    etree.SubElement(parent, q(name)).text = str(text)


def _header_element(header: Header) -> etree._Element:
    element = etree.Element(q("Header"), nsmap={None: NS})
    sender = etree.SubElement(element, q("Sender"))
    _sub(sender, "Id", header.sender_id)
    _sub(sender, "Name", header.sender_name)
    _sub(element, "SequenceNumber", header.sequence_number)
    _sub(element, "CreatedAt", utc_timestamp(header.created_at))
    _sub(element, "Count", header.count)
    etree.SubElement(element, q("ControlSumCents")).text = str(header.control_sum_cents)
    return element


def order_element(record: OrderRecord) -> etree._Element:
    element = etree.Element(q("Order"), nsmap={None: NS})
    _sub(element, "OrderId", record.order_id)
    _sub(element, "Kassenzeichen", record.kassenzeichen)
    _sub(element, "Direction", record.direction)
    _sub(element, "AmountCents", record.amount_cents)
    _sub(element, "DueDate", record.due_date.isoformat())
    _sub(element, "Haushaltsstelle", record.haushaltsstelle)
    party = etree.SubElement(element, q("Party"))
    _sub(party, "Name", record.party_name)
    _sub(party, "Street", record.party_street)
    _sub(party, "Postcode", record.party_postcode)
    _sub(party, "City", record.party_city)
    _sub(party, "Iban", record.iban)
    _sub(party, "Bic", record.bic)
    _sub(element, "Purpose", record.purpose)
    _sub(element, "ReplacesOrderId", record.replaces_order_id)
    return element


def ack_element(record: AckRecord) -> etree._Element:
    element = etree.Element(q("Record"), nsmap={None: NS})
    _sub(element, "OrderId", record.order_id)
    _sub(element, "Kassenzeichen", record.kassenzeichen)
    _sub(element, "AmountCents", record.amount_cents)
    _sub(element, "Result", "accepted" if record.accepted else "rejected")
    _sub(element, "Reason", record.reason)
    return element


def booking_element(record: BookingRecord) -> etree._Element:
    element = etree.Element(q("Booking"), nsmap={None: NS})
    _sub(element, "Reference", record.reference)
    _sub(element, "Kassenzeichen", record.kassenzeichen)
    _sub(element, "Direction", record.direction)
    _sub(element, "AmountCents", record.amount_cents)
    _sub(element, "BookingDate", record.booking_date.isoformat())
    _sub(element, "Counterparty", record.counterparty)
    _sub(element, "Purpose", record.purpose)
    return element


def _write(target: IO[bytes], root: str, header: Header, records: Iterable[Any],
           to_element: Callable[[Any], etree._Element],
           before_records: Iterable[etree._Element] = ()) -> None:
    with etree.xmlfile(target, encoding="utf-8") as xf:
        xf.write_declaration()
        with xf.element(q(root), nsmap={None: NS}, version=VERSION):
            xf.write(_header_element(header))
            for element in before_records:
                xf.write(element)
            for record in records:
                xf.write(to_element(record))
                xf.flush()


def write_transfer(target: IO[bytes], header: Header, records: Iterable[OrderRecord]) -> None:
    _write(target, TRANSFER, header, records, order_element)


def write_acknowledgement(target: IO[bytes], header: Header, transfer_sequence_number: int,
                          records: Iterable[AckRecord]) -> None:
    reference = etree.Element(q("TransferSequenceNumber"), nsmap={None: NS})
    reference.text = str(transfer_sequence_number)
    _write(target, ACKNOWLEDGEMENT, header, records, ack_element, [reference])


def write_bookings(target: IO[bytes], header: Header, records: Iterable[BookingRecord]) -> None:
    _write(target, BOOKINGS, header, records, booking_element)


# --- reading ------------------------------------------------------------------------------------


def refuse_dtd(path: Path) -> None:
    with path.open("rb") as handle:
        prolog = handle.read(_PROLOG_BYTES)
    if _DTD_MARKERS.search(prolog):
        raise FormatError("the file contains a DOCTYPE or entity declaration; such files are "
                          "refused (they can hide entity expansion or external references)")


def _iterparse(path: Path, *, validate: bool) -> Iterator[tuple[str, etree._Element]]:
    kwargs: dict[str, Any] = {"events": ("start", "end"), "resolve_entities": False,
                              "no_network": True, "huge_tree": False, "load_dtd": False,
                              "remove_comments": True, "remove_pis": True}
    if validate:
        kwargs["schema"] = schema()
    # Our own handle, closed however the caller leaves the loop (a raise mid-file included).
    with path.open("rb") as handle:
        context = etree.iterparse(handle, **kwargs)
        try:
            yield from context
        except etree.XMLSyntaxError as error:
            line = getattr(error, "lineno", None) or getattr(error, "position", (None,))[0]
            where = f" (line {line})" if line else ""
            raise FormatError(f"not a valid file{where}: {error.msg}") from None


def _text(element: etree._Element, name: str) -> str | None:
    child = element.find(q(name))
    return None if child is None or child.text is None else child.text


def _required(element: etree._Element, name: str) -> str:
    value = _text(element, name)
    if value is None:
        raise FormatError(f"element {name} missing")
    return value


def _parse_header(element: etree._Element) -> Header:
    sender = element.find(q("Sender"))
    if sender is None:
        raise FormatError("header has no sender")
    created = _required(element, "CreatedAt")
    return Header(
        sender_id=_required(sender, "Id"),
        sender_name=_required(sender, "Name"),
        sequence_number=int(_required(element, "SequenceNumber")),
        created_at=datetime.fromisoformat(created.replace("Z", "+00:00")),
        count=int(_required(element, "Count")),
        control_sum_cents=int(_required(element, "ControlSumCents")),
    )


def _release(element: etree._Element) -> None:
    # Drop what was read so the tree never grows: the element's children and earlier siblings.
    element.clear()
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]


def validate_file(path: Path, expected_kind: str | None = None) -> ValidatedFile:
    """Check a file while streaming it: well-formed, then that its records add up to the
    header's count and control sum, then against the XSD. Raise :class:`FormatError` with the
    first problem.

    Two passes on purpose: lxml's schema-validating iterparse does not report a file cut off
    after a valid prefix (nor gives readable messages for broken markup), so well-formedness is
    checked by a plain pass first and the schema pass must also see the root element close.
    """
    refuse_dtd(path)
    kind: str | None = None
    header: Header | None = None
    transfer_sequence: int | None = None
    count = 0
    total = 0
    record_name: str | None = None
    for event, element in _iterparse(path, validate=False):
        if event == "start":
            if kind is None:
                kind = etree.QName(element).localname
                if etree.QName(element).namespace != NS or kind not in RECORD_ELEMENT:
                    raise FormatError(f"unknown document {element.tag!r}")
                if expected_kind is not None and kind != expected_kind:
                    raise FormatError(f"expected a {expected_kind} file, got {kind}")
                record_name = q(RECORD_ELEMENT[kind])
            continue
        try:
            if element.tag == q("Header"):
                header = _parse_header(element)
                _release(element)
            elif element.tag == q("TransferSequenceNumber"):
                transfer_sequence = int(element.text or "0")
            elif element.tag == record_name:
                count += 1
                total += int(_required(element, "AmountCents"))
                _release(element)
        except (ValueError, TypeError):
            # Caught properly by the schema pass below; here only so a malformed number does
            # not hide behind a less helpful message.
            _check_schema(path)
            raise FormatError(f"unreadable value in {etree.QName(element).localname}") from None
    if kind is None or header is None:
        raise FormatError("the file is empty or has no header")
    _check_schema(path)
    if count != header.count:
        raise FormatError(f"the header announces {header.count} records, the file holds {count}")
    if total != header.control_sum_cents:
        raise FormatError(f"the header's control sum is {header.control_sum_cents} cents, the "
                          f"records add up to {total} cents")
    return ValidatedFile(kind, header, transfer_sequence)


def _check_schema(path: Path) -> None:
    root_closed = False
    depth = 0
    for event, element in _iterparse(path, validate=True):
        if event == "start":
            depth += 1
        else:
            depth -= 1
            root_closed = depth == 0
            if depth == 1:
                _release(element)
    if not root_closed:
        raise FormatError("the file ends before its root element is closed (truncated)")


def _iter_records(path: Path, name: str) -> Iterator[etree._Element]:
    tag = q(name)
    for event, element in _iterparse(path, validate=False):
        if event == "end" and element.tag == tag:
            yield element
            _release(element)


def _party(element: etree._Element, name: str) -> str:
    party = element.find(q("Party"))
    return "" if party is None else (_text(party, name) or "")


def iter_orders(path: Path) -> Iterator[OrderRecord]:
    """The orders of a transfer file that :func:`validate_file` accepted."""
    for element in _iter_records(path, "Order"):
        replaces = _text(element, "ReplacesOrderId")
        yield OrderRecord(
            order_id=int(_required(element, "OrderId")),
            kassenzeichen=_required(element, "Kassenzeichen"),
            direction=_required(element, "Direction"),
            amount_cents=int(_required(element, "AmountCents")),
            due_date=date.fromisoformat(_required(element, "DueDate")),
            haushaltsstelle=_required(element, "Haushaltsstelle"),
            party_name=_party(element, "Name"),
            party_street=_party(element, "Street"),
            party_postcode=_party(element, "Postcode"),
            party_city=_party(element, "City"),
            iban=_party(element, "Iban") or None,
            bic=_party(element, "Bic") or None,
            purpose=_required(element, "Purpose"),
            replaces_order_id=int(replaces) if replaces else None,
        )


def iter_acks(path: Path) -> Iterator[AckRecord]:
    for element in _iter_records(path, "Record"):
        yield AckRecord(
            order_id=int(_required(element, "OrderId")),
            kassenzeichen=_required(element, "Kassenzeichen"),
            amount_cents=int(_required(element, "AmountCents")),
            accepted=_required(element, "Result") == "accepted",
            reason=_text(element, "Reason"),
        )


def iter_bookings(path: Path) -> Iterator[BookingRecord]:
    for element in _iter_records(path, "Booking"):
        yield BookingRecord(
            reference=_required(element, "Reference"),
            kassenzeichen=_required(element, "Kassenzeichen"),
            direction=_required(element, "Direction"),
            amount_cents=int(_required(element, "AmountCents")),
            booking_date=date.fromisoformat(_required(element, "BookingDate")),
            counterparty=_text(element, "Counterparty") or "",
            purpose=_text(element, "Purpose") or "",
        )
