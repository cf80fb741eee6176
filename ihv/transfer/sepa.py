"""The SEPA adapter, for offices that pay through their own bank account.

Out: a pain.001.001.09 credit transfer file (ISO 20022, EPC/DK rules) built with sepaxml from the
transfer's payment orders and validated against the official XSD (``ihv/schemas``). In: a
camt.053.001.08 bank statement whose booked entries become IST bookings: credits (CRDT) are money
received for receivable orders, debits (DBIT) our executed payouts.

The camt.053.001.08 XSD is not shipped with any package available offline, so a statement is
checked against the documented subset this importer relies on (``docs/ihv-format.md``): the
namespace, statement id and electronic sequence number, and per entry amount in EUR, credit or
debit, status BOOK, booking date and a reference. Entries in another state (PDNG, INFO) are not
bookings yet and are skipped. When the statement carries a transaction summary
(TxsSummry/TtlNtries) its count and sum must match the entries.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from lxml import etree
from sepaxml import SepaTransfer  # type: ignore[import-untyped]

from ihv import codes
from ihv.models import Sollstellung, Transfer
from ihv.transfer.format import FormatError, refuse_dtd

PAIN_SCHEMA = "pain.001.001.09"
PAIN_NS = f"urn:iso:std:iso:20022:tech:xsd:{PAIN_SCHEMA}"
PAIN_XSD = Path(__file__).resolve().parent.parent / "schemas" / f"{PAIN_SCHEMA}.xsd"
CAMT_NS = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"
_KASSENZEICHEN_IN_TEXT = re.compile(r"K\s*Z[\s\-]*(?:\d[\s\-]*){14}", re.IGNORECASE)


class SepaError(Exception):
    """The SEPA file cannot be built (e.g. the office's account is not configured)."""


@dataclass(frozen=True)
class DebtorAccount:
    name: str
    iban: str
    bic: str


def debtor_account() -> DebtorAccount:
    """The office's own account, as the admin keeps it in the office settings."""
    from amtsweg.office.services import office_data

    office = office_data()
    if not office.iban:
        raise SepaError("the office's bank account (IBAN) is not set in the office settings")
    return DebtorAccount(codes.sepa_text(office.name)[:70], office.iban.replace(" ", ""),
                         office.bic.replace(" ", ""))


def end_to_end_id(order: Sollstellung) -> str:
    # At most 35 characters; the Kassenzeichen first, so a bank statement can be matched by it.
    return f"{order.kassenzeichen}-{order.id}"[:35]


def build_pain001(orders: Iterable[Sollstellung], debtor: DebtorAccount,
                  message_id: str) -> bytes:
    config: dict[str, Any] = {"name": debtor.name, "IBAN": debtor.iban, "batch": True,
                              "currency": "EUR"}
    if debtor.bic:
        config["BIC"] = debtor.bic
    transfer = SepaTransfer(config, schema=PAIN_SCHEMA, clean=True)
    transfer.msg_id = message_id
    count = 0
    for order in orders:
        payment: dict[str, Any] = {
            "name": codes.sepa_text(order.party_name)[:70] or "Unbekannt",
            "IBAN": (order.iban or "").replace(" ", ""),
            "amount": order.amount_cents,  # sepaxml takes integer cents
            "execution_date": order.due_date,
            "description": order.purpose,
            "endtoend_id": end_to_end_id(order),
        }
        if order.bic:
            payment["BIC"] = order.bic
        transfer.add_payment(payment)
        count += 1
    if count == 0:
        raise SepaError("a pain.001 file needs at least one payment order")
    data: bytes = transfer.export(validate=True)
    validate_pain001(data)
    return data


def validate_pain001(data: bytes) -> None:
    """Validate against the official pain.001.001.09 XSD with lxml (sepaxml checks too)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    schema = etree.XMLSchema(etree.parse(str(PAIN_XSD), parser))
    document = etree.fromstring(data, parser)
    if not schema.validate(document):
        raise FormatError(f"pain.001 fails its schema: {schema.error_log.last_error}")


def write_pain001(path: Path, transfer: Transfer, orders: Iterable[Sollstellung],
                  created: datetime) -> None:
    # The message id must be unique per debtor; the sequence number makes it so.
    message_id = f"AW{transfer.sequence_number:08d}{created.astimezone(UTC):%Y%m%d%H%M%S}"
    path.write_bytes(build_pain001(orders, debtor_account(), message_id))


# --- camt.053 --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CamtEntry:
    reference: str
    credit: bool  # CRDT: money received; DBIT: money paid out
    amount_cents: int
    booking_date: date
    remittance: str
    end_to_end_id: str
    counterparty: str


@dataclass(frozen=True)
class CamtStatement:
    statement_id: str
    sequence_number: int | None
    count: int
    sum_cents: int


def _c(name: str) -> str:
    return f"{{{CAMT_NS}}}{name}"


def _path_text(element: etree._Element, *names: str) -> str:
    node: etree._Element | None = element
    for name in names:
        node = node.find(_c(name)) if node is not None else None
    return (node.text or "").strip() if node is not None else ""


def _cents(text: str, where: str) -> int:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise FormatError(f"{where}: amount {text!r} is not a number") from None
    if value <= 0 or value != value.quantize(Decimal("0.01")) or value > Decimal(10_000_000):
        raise FormatError(f"{where}: amount {text!r} is not a positive amount in cents")
    return int(value * 100)


def _iterparse(path: Path) -> Iterator[tuple[str, etree._Element]]:
    with path.open("rb") as handle:
        context = etree.iterparse(handle, events=("start", "end"), resolve_entities=False,
                                  no_network=True, huge_tree=False, load_dtd=False,
                                  remove_comments=True, remove_pis=True)
        try:
            yield from context
        except etree.XMLSyntaxError as error:
            raise FormatError(f"not a valid file: {error.msg}") from None


def _entries_raw(path: Path) -> Iterator[tuple[str, Any]]:
    """Stream ("statement", element-info) and ("entry", CamtEntry | None) events."""
    refuse_dtd(path)
    seen_root = False
    index = 0
    for event, element in _iterparse(path):
        if event == "start":
            if not seen_root:
                seen_root = True
                if element.tag != _c("Document"):
                    raise FormatError(f"not a camt.053.001.08 statement (root {element.tag!r})")
            continue
        if element.tag == _c("Ntry"):
            index += 1
            yield "entry", (_entry(element, index), _entry_cents(element, index))
            element.clear()
        elif element.tag == _c("TxsSummry"):
            yield "summary", (_path_text(element, "TtlNtries", "NbOfNtries"),
                              _path_text(element, "TtlNtries", "Sum"))
        elif element.tag == _c("ElctrncSeqNb"):
            yield "ElctrncSeqNb", (element.text or "").strip()
        elif element.tag == _c("Id"):
            parent = element.getparent()
            if parent is not None and parent.tag == _c("Stmt"):
                yield "Id", (element.text or "").strip()
    if not seen_root:
        raise FormatError("the file is empty")


def _entry_cents(element: etree._Element, index: int) -> int:
    amount = element.find(_c("Amt"))
    if amount is None or amount.get("Ccy") != "EUR":
        raise FormatError(f"entry {index}: amount missing or not in EUR")
    return _cents((amount.text or "").strip(), f"entry {index}")


def _entry(element: etree._Element, index: int) -> CamtEntry | None:
    where = f"entry {index}"
    status = _path_text(element, "Sts", "Cd") or _path_text(element, "Sts")
    cents = _entry_cents(element, index)
    indicator = _path_text(element, "CdtDbtInd")
    if indicator not in {"CRDT", "DBIT"}:
        raise FormatError(f"{where}: CdtDbtInd must be CRDT or DBIT")
    if status != "BOOK":
        return None  # pending or information only: not money that moved yet
    booked = _path_text(element, "BookgDt", "Dt") or _path_text(element, "BookgDt", "DtTm")[:10]
    try:
        booking_date = date.fromisoformat(booked)
    except ValueError:
        raise FormatError(f"{where}: booking date missing or invalid") from None
    reference = (_path_text(element, "AcctSvcrRef") or _path_text(element, "NtryRef"))[:80]
    if not reference:
        raise FormatError(f"{where}: no reference (AcctSvcrRef or NtryRef)")
    details = element.find(f"{_c('NtryDtls')}/{_c('TxDtls')}")
    remittance = end_to_end = counterparty = ""
    if details is not None:
        remittance = " ".join(t.text or "" for t in details.iter(_c("Ustrd")))[:200]
        end_to_end = _path_text(details, "Refs", "EndToEndId")
        party = "Dbtr" if indicator == "CRDT" else "Cdtr"
        counterparty = (_path_text(details, "RltdPties", party, "Pty", "Nm")
                        or _path_text(details, "RltdPties", party, "Nm"))[:200]
    return CamtEntry(reference, indicator == "CRDT", cents, booking_date, remittance.strip(),
                     end_to_end, counterparty)


def validate_camt053(path: Path) -> CamtStatement:
    """Check a statement against the documented subset; count and sum its booked entries."""
    statement_id = ""
    sequence: int | None = None
    count = total = 0
    summary: tuple[str, str] | None = None
    all_count = all_total = 0
    for kind, value in _entries_raw(path):
        if kind == "entry":
            entry, cents = value
            all_count += 1
            all_total += cents
            if entry is not None:
                count += 1
                total += cents
        elif kind == "summary":
            summary = value
        elif kind == "ElctrncSeqNb":
            if not (value.isascii() and value.isdigit()) or len(value) > 9:
                raise FormatError("ElctrncSeqNb is not a number")
            sequence = int(value)
        elif kind == "Id" and not statement_id:
            statement_id = value
    if not statement_id:
        raise FormatError("the statement has no Stmt/Id")
    if all_count == 0:
        raise FormatError("the statement holds no entries")
    if summary is not None:
        # TtlNtries counts every entry; its Sum adds all amounts, credits and debits alike.
        announced_count, announced_sum = summary
        if announced_count and announced_count != str(all_count):
            raise FormatError(f"the summary announces {announced_count} entries, the statement "
                              f"holds {all_count}")
        if announced_sum and _cents(announced_sum, "summary") != all_total:
            raise FormatError(f"the summary's sum is {announced_sum} EUR, the entries add up to "
                              f"{_amount(all_total)} EUR")
    return CamtStatement(statement_id, sequence, count, total)


def iter_camt_entries(path: Path) -> Iterator[CamtEntry]:
    for kind, value in _entries_raw(path):
        if kind == "entry" and value[0] is not None:
            yield value[0]


def kassenzeichen_of(entry: CamtEntry) -> str:
    """The Kassenzeichen a payer wrote (or our EndToEndId carries), normalised; else the text."""
    for text in (entry.end_to_end_id, entry.remittance):
        for match in _KASSENZEICHEN_IN_TEXT.finditer(text):
            candidate = codes.normalise_kassenzeichen(match.group(0))
            if codes.is_valid_kassenzeichen(candidate):
                return candidate
    return (entry.remittance or entry.end_to_end_id or "-")[:40]


def write_camt053(path: Path, entries: Iterable[CamtEntry], *, account_iban: str,
                  statement_id: str, sequence_number: int, created: datetime) -> None:
    """Write a statement (the simulator plays the bank with it; tests use it too)."""
    entries = list(entries)
    nsmap = {None: CAMT_NS}

    def sub(parent: etree._Element, name: str, text: str | None = None,
            **attributes: str) -> etree._Element:
        child: etree._Element = etree.SubElement(parent, _c(name), attrib=attributes)
        if text is not None:
            child.text = text
        return child

    document = etree.Element(_c("Document"), nsmap=nsmap)
    root = sub(document, "BkToCstmrStmt")
    header = sub(root, "GrpHdr")
    sub(header, "MsgId", statement_id)
    sub(header, "CreDtTm", created.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00"))
    statement = sub(root, "Stmt")
    sub(statement, "Id", statement_id)
    sub(statement, "ElctrncSeqNb", str(sequence_number))
    sub(statement, "CreDtTm", created.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00"))
    account = sub(statement, "Acct")
    sub(sub(account, "Id"), "IBAN", account_iban)
    summary = sub(sub(statement, "TxsSummry"), "TtlNtries")
    sub(summary, "NbOfNtries", str(len(entries)))
    sub(summary, "Sum", _amount(sum(e.amount_cents for e in entries)))
    for entry in entries:
        node = sub(statement, "Ntry")
        sub(node, "NtryRef", entry.reference[:35])
        sub(node, "Amt", _amount(entry.amount_cents), Ccy="EUR")
        sub(node, "CdtDbtInd", "CRDT" if entry.credit else "DBIT")
        sub(sub(node, "Sts"), "Cd", "BOOK")
        sub(sub(node, "BookgDt"), "Dt", entry.booking_date.isoformat())
        sub(sub(node, "ValDt"), "Dt", entry.booking_date.isoformat())
        sub(node, "AcctSvcrRef", entry.reference)
        family = sub(sub(node, "BkTxCd"), "Domn")
        sub(family, "Cd", "PMNT")
        details = sub(sub(node, "NtryDtls"), "TxDtls")
        refs = sub(details, "Refs")
        sub(refs, "EndToEndId", entry.end_to_end_id or "NOTPROVIDED")
        party = sub(sub(details, "RltdPties"), "Dbtr" if entry.credit else "Cdtr")
        sub(sub(party, "Pty"), "Nm", entry.counterparty or "Unbekannt")
        sub(sub(details, "RmtInf"), "Ustrd", entry.remittance or "-")
    path.write_bytes(etree.tostring(document, xml_declaration=True, encoding="UTF-8"))


def _amount(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def now_utc() -> datetime:
    return datetime.now(UTC)
