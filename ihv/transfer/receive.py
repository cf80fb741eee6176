"""``amtsweg ihv receive``: acknowledgements and IST bookings back from the treasury (or a camt.053
statement from the bank), each file whole or not at all.

For every file in the inbox: the same bytes seen before (SHA-256) change nothing; otherwise the
file is validated (XSD or the camt subset, count, control sum, a sequence number not seen before)
and then applied in one transaction. Any problem, found before or while applying, rolls the
transaction back and records the file as rejected with a report for finance staff. The file is
then moved to ``done/`` or ``rejected/`` beside the inbox.

IST bookings are matched by Kassenzeichen (normalised: people type it with spaces and dashes) to
the oldest open order of that Kassenzeichen and direction; with none open but one already paid,
the money is kept on that order as overpayment (excess); with none at all, the booking goes to
the Klärungsliste, where finance staff assign it by hand.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from amtsweg.audit.services import SYSTEM, Actor, record
from amtsweg.config import Settings
from amtsweg.db import utcnow
from amtsweg.extensions import db
from ihv import codes, services
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
    TransferStatus,
)
from ihv.transfer import format as fmt
from ihv.transfer import sepa

OBJECT_TYPE = "ihv_import"
MAX_IMPORT_BYTES = 512 * 1024 * 1024
CHUNK = 1000
DONE = "done"
REJECTED = "rejected"
# Orders a booking may be matched to: sent to the treasury, and not refused or cancelled.
MATCHABLE = (OrderStatus.TRANSMITTED, OrderStatus.ACKNOWLEDGED, OrderStatus.BOOKED)


class ImportRejected(Exception):
    """The file is refused whole; the message is the report finance staff read."""


@dataclass
class ReceiveReport:
    imported: list[str] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    acknowledged: int = 0
    refused_orders: int = 0
    matched: int = 0
    unclear: int = 0
    skipped_known: int = 0


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def _sniff_kind(path: Path) -> ImportKind:
    with path.open("rb") as handle:
        head = handle.read(4096)
    if b"camt.053" in head:
        return ImportKind.CAMT053
    if re.search(rb"<(\w+:)?Acknowledgement[\s>]", head):
        return ImportKind.ACKNOWLEDGEMENT
    return ImportKind.BOOKINGS


def receive_files(settings: Settings, now: datetime | None = None) -> ReceiveReport:
    """Import every file waiting in the inbox, oldest name first."""
    inbox = settings.ihv_inbox_dir
    inbox.mkdir(parents=True, exist_ok=True)
    report = ReceiveReport()
    waiting = [path for path in inbox.iterdir()
               if path.is_file() and not path.name.startswith(".")]
    # Acknowledgements first: an order the treasury accepted is acknowledged before the money
    # booked on it arrives, whatever the file names.
    waiting.sort(key=lambda path: (_sniff_kind(path) != ImportKind.ACKNOWLEDGEMENT, path.name))
    for path in waiting:
        status = import_file(path, report, now=now)
        _move(path, inbox / (DONE if status == ImportStatus.IMPORTED else REJECTED))
    return report


def _move(path: Path, directory: Path) -> None:
    directory.mkdir(exist_ok=True)
    target = directory / path.name
    if target.exists():
        target = directory / f"{path.stem}-{sha256_of(path)[:12]}{path.suffix}"
    shutil.move(str(path), target)


def import_file(path: Path, report: ReceiveReport, *, now: datetime | None = None,
                actor: Actor = SYSTEM) -> ImportStatus:
    """Import one file whole, or record it as rejected with its report."""
    size = path.stat().st_size
    sha = sha256_of(path)
    known = db.session.scalar(select(ImportedFile).where(ImportedFile.sha256 == sha))
    if known is not None:
        report.duplicates.append(path.name)
        return known.status
    kind = _sniff_kind(path)
    sequence: int | None = None
    try:
        if size > MAX_IMPORT_BYTES:
            raise ImportRejected(f"the file has {size} bytes, more than the "
                                 f"{MAX_IMPORT_BYTES} accepted")
        if size == 0:
            raise ImportRejected("the file is empty")
        try:
            if kind == ImportKind.CAMT053:
                statement = sepa.validate_camt053(path)
                sequence = statement.sequence_number
                count, total = statement.count, statement.sum_cents
            else:
                validated = fmt.validate_file(path)
                if validated.kind == fmt.TRANSFER:
                    raise ImportRejected("this is a transfer file to the treasury, not an "
                                         "acknowledgement or booking file")
                kind = (ImportKind.ACKNOWLEDGEMENT if validated.kind == fmt.ACKNOWLEDGEMENT
                        else ImportKind.BOOKINGS)
                sequence = validated.header.sequence_number
                count, total = validated.header.count, validated.header.control_sum_cents
        except fmt.FormatError as error:
            raise ImportRejected(str(error)) from None
        if sequence is not None and db.session.scalar(
                select(ImportedFile.id).where(ImportedFile.kind == kind,
                                              ImportedFile.sequence_number == sequence,
                                              ImportedFile.status == ImportStatus.IMPORTED)):
            raise ImportRejected(f"sequence number {sequence} was already imported for "
                                 f"{kind.value} files")
        imported = ImportedFile(kind=kind, status=ImportStatus.IMPORTED, file_name=path.name[:200],
                                sha256=sha, sequence_number=sequence, record_count=count,
                                control_sum_cents=total, imported_at=now or utcnow())
        db.session.add(imported)
        db.session.flush()
        import_id = imported.id
        if kind == ImportKind.ACKNOWLEDGEMENT:
            assert validated.transfer_sequence_number is not None
            counts = _apply_acks(path, validated.transfer_sequence_number,
                                 validated.header.created_at)
            report.acknowledged += counts[0]
            report.refused_orders += counts[1]
            summary = {"accepted": counts[0], "rejected": counts[1]}
        else:
            def records() -> Iterator[fmt.BookingRecord]:
                return (_camt_records(path) if kind == ImportKind.CAMT053
                        else fmt.iter_bookings(path))

            already_booked = _known_references(records(), kind)
            matched, unclear, skipped = _apply_bookings(records(), import_id, kind,
                                                        already_booked)
            report.matched += matched
            report.unclear += unclear
            report.skipped_known += skipped
            summary = {"matched": matched, "unclear": unclear, "already_imported": skipped}
        record(actor, "ihv.file_imported", OBJECT_TYPE, import_id,
               after={"file_name": path.name, "kind": kind, "sha256": sha,
                      "sequence_number": sequence, "records": count, "sum_cents": total,
                      **summary})
        db.session.commit()
    except (ImportRejected, services.OrderError) as error:
        db.session.rollback()
        _record_rejected(path.name, kind, sha, sequence, str(error), actor, now)
        report.rejected.append((path.name, str(error)))
        return ImportStatus.REJECTED
    except IntegrityError as error:
        db.session.rollback()
        # Two nodes importing the same file at once: the other one won; nothing to do.
        if db.session.scalar(select(ImportedFile.id).where(ImportedFile.sha256 == sha)):
            report.duplicates.append(path.name)
            return ImportStatus.IMPORTED
        # The bookings' only unique key besides the id is (source, reference).
        message = ("a booking reference occurs twice in the file"
                   if "ihv_bookings" in str(error.statement or "")
                   else "the file conflicts with data already imported")
        _record_rejected(path.name, kind, sha, sequence, message, actor, now)
        report.rejected.append((path.name, message))
        return ImportStatus.REJECTED
    report.imported.append(path.name)
    return ImportStatus.IMPORTED


def _record_rejected(file_name: str, kind: ImportKind, sha: str, sequence: int | None,
                     message: str, actor: Actor, now: datetime | None) -> None:
    try:
        rejected = ImportedFile(kind=kind, status=ImportStatus.REJECTED, file_name=file_name[:200],
                                sha256=sha, sequence_number=sequence, record_count=0,
                                control_sum_cents=0, imported_at=now or utcnow(),
                                report=message[:10_000])
        db.session.add(rejected)
        db.session.flush()
        record(actor, "ihv.file_rejected", OBJECT_TYPE, rejected.id,
               after={"file_name": file_name, "kind": kind, "sha256": sha, "report": message})
        db.session.commit()
    except IntegrityError:
        db.session.rollback()


# --- acknowledgements ---------------------------------------------------------------------------


def _apply_acks(path: Path, transfer_sequence: int, at: datetime) -> tuple[int, int]:
    transfer = db.session.scalar(select(Transfer).where(
        Transfer.sequence_number == transfer_sequence))
    if transfer is None or transfer.status != TransferStatus.SENT:
        raise ImportRejected(f"the acknowledgement answers transfer {transfer_sequence}, which "
                             "was never sent")
    transfer_id = transfer.id
    accepted = refused = 0
    for position, ack in enumerate(fmt.iter_acks(path), start=1):
        order = db.session.get(Sollstellung, ack.order_id)
        if order is None or order.kassenzeichen != codes.normalise_kassenzeichen(
                ack.kassenzeichen):
            raise ImportRejected(f"record {position}: unknown order {ack.order_id} with "
                                 f"Kassenzeichen {ack.kassenzeichen}")
        if order.transfer_id != transfer_id:
            raise ImportRejected(f"record {position}: order {ack.order_id} "
                                 f"({ack.kassenzeichen}) was not in transfer {transfer_sequence}")
        if order.amount_cents != ack.amount_cents:
            raise ImportRejected(f"record {position}: amount {ack.amount_cents} cents does not "
                                 f"match the order's {order.amount_cents} cents")
        if ack.accepted:
            services.mark_acknowledged(order, at)
            accepted += 1
        else:
            services.mark_rejected(order, ack.reason or "-", at)
            refused += 1
        if position % CHUNK == 0:
            db.session.flush()
            db.session.expunge_all()
    return accepted, refused


# --- bookings -----------------------------------------------------------------------------------


def _camt_records(path: Path) -> Iterator[fmt.BookingRecord]:
    for entry in sepa.iter_camt_entries(path):
        yield fmt.BookingRecord(
            reference=entry.reference, kassenzeichen=sepa.kassenzeichen_of(entry),
            direction=(Direction.ANNAHME if entry.credit else Direction.AUSZAHLUNG).value,
            amount_cents=entry.amount_cents, booking_date=entry.booking_date,
            counterparty=entry.counterparty, purpose=entry.remittance)


def _chunks(records: Iterable[fmt.BookingRecord]) -> Iterator[list[fmt.BookingRecord]]:
    chunk: list[fmt.BookingRecord] = []
    for item in records:
        chunk.append(item)
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def matchable_kassenzeichen(text: str) -> str | None:
    return codes.normalise_kassenzeichen(text) if codes.is_valid_kassenzeichen(text) else None


def _known_references(records: Iterable[fmt.BookingRecord], source: ImportKind) -> set[str]:
    """References of this file already booked from earlier files (usually none).

    Looked up before this file inserts anything: while the table grows inside the one
    transaction its statistics lag behind, and the same lookup between inserts turned into a
    scan per chunk (minutes instead of seconds for 100,000 bookings).
    """
    known: set[str] = set()
    for chunk in _chunks(records):
        known.update(db.session.scalars(select(Booking.reference).where(
            Booking.source == source, Booking.reference.in_([r.reference for r in chunk]))))
    return known


def _apply_bookings(records: Iterable[fmt.BookingRecord], import_id: int,
                    source: ImportKind, known: set[str]) -> tuple[int, int, int]:
    matched = unclear = skipped = 0
    for chunk in _chunks(records):
        kassenzeichen = {kz for r in chunk if (kz := matchable_kassenzeichen(r.kassenzeichen))}
        orders: dict[tuple[str, str], list[Sollstellung]] = defaultdict(list)
        if kassenzeichen:
            for order in db.session.scalars(
                    select(Sollstellung).where(Sollstellung.kassenzeichen.in_(kassenzeichen),
                                               Sollstellung.status.in_(MATCHABLE))
                    .order_by(Sollstellung.due_date, Sollstellung.id)):
                orders[(order.kassenzeichen, order.direction.value)].append(order)
        pending: list[tuple[Booking, str | None]] = []
        for item in chunk:
            if item.reference in known:
                # Reported again in a later file: recognised by its reference, booked once.
                skipped += 1
                continue
            booking = Booking(import_id=import_id, reference=item.reference, source=source,
                              direction=Direction(item.direction),
                              kassenzeichen=item.kassenzeichen[:40],
                              amount_cents=item.amount_cents, booking_date=item.booking_date,
                              counterparty=item.counterparty[:200], purpose=item.purpose[:200],
                              status=BookingStatus.UNCLEAR, excess_cents=0)
            db.session.add(booking)
            pending.append((booking, matchable_kassenzeichen(item.kassenzeichen)))
        db.session.flush()
        for booking, kz in pending:
            # Chosen only now: the bookings before it in the file may have paid an order off.
            candidates = orders.get((kz, booking.direction.value), []) if kz else []
            target, note = _target(candidates, kz)
            if target is None:
                booking.note = note
                unclear += 1
                continue
            services.apply_booking(target, booking)
            if booking.status == BookingStatus.UNCLEAR:
                unclear += 1
            else:
                matched += 1
        db.session.flush()
        db.session.expunge_all()
    return matched, unclear, skipped


def _target(candidates: list[Sollstellung], kz: str | None) -> tuple[Sollstellung | None,
                                                                      str | None]:
    if kz is None:
        return None, "Kein gültiges Kassenzeichen."
    for order in candidates:
        if order.status != OrderStatus.BOOKED and order.open_cents > 0:
            return order, None
    if candidates:
        # Everything of this Kassenzeichen is paid: an overpayment, kept on the newest order.
        return candidates[-1], None
    return None, "Keine offene Sollstellung zu diesem Kassenzeichen."


# --- the Klärungsliste --------------------------------------------------------------------------


class AssignmentError(ValueError):
    """An unclear booking cannot be assigned as asked; the message is an English msgid."""


def assign_booking(booking: Booking, kassenzeichen: str, actor: Actor, actor_id: int | None,
                   note: str) -> Sollstellung:
    """Assign an unclear booking by hand to the oldest open order of ``kassenzeichen``."""
    if booking.status != BookingStatus.UNCLEAR:
        raise AssignmentError("This booking has already been assigned.")
    if not codes.is_valid_kassenzeichen(kassenzeichen):
        raise AssignmentError("This is not a valid Kassenzeichen (check digits wrong).")
    kz = codes.normalise_kassenzeichen(kassenzeichen)
    candidates = list(db.session.scalars(
        select(Sollstellung).where(Sollstellung.kassenzeichen == kz,
                                   Sollstellung.direction == booking.direction,
                                   Sollstellung.status.in_(MATCHABLE))
        .order_by(Sollstellung.due_date, Sollstellung.id)))
    target, _ = _target(candidates, kz)
    if target is None:
        raise AssignmentError("There is no sent order in this direction with this "
                              "Kassenzeichen.")
    before = {"status": booking.status, "kassenzeichen": booking.kassenzeichen,
              "note": booking.note}
    booking.status = BookingStatus.ASSIGNED
    booking.assigned_by_id = actor_id
    booking.assigned_at = utcnow()
    booking.note = note[:500] if note else None
    services.apply_booking(target, booking)
    if booking.status != BookingStatus.ASSIGNED:
        raise AssignmentError("The order of this Kassenzeichen cannot take the booking.")
    record(actor, "ihv.booking_assigned", "ihv_booking", booking.id, before=before,
           after={"status": booking.status, "sollstellung_id": target.id,
                  "kassenzeichen": kz, "excess_cents": booking.excess_cents,
                  "note": booking.note})
    return target
