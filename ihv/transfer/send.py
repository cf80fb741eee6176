"""``amtsweg ihv send``: ordered Sollstellungen out to the treasury, exactly once.

A transfer is a state machine kept in the database, so a crash at any point is finished by the
next run, on any node:

1. **prepare** (one transaction): take the next sequence number under a lock (an UPDATE on the
   single TransferCounter row: a row lock on PostgreSQL, the write lock on SQLite, so two nodes
   queue here), claim the ordered orders no transfer holds yet (``transfer_id``), write the file
   (streamed), validate it, keep its exact bytes in the blob store, record the Transfer as
   *prepared*. Commit. A crash before the commit leaves nothing: no order claimed, no number used
   (the numbers stay gapless).
2. **deliver** through the transport, idempotently: the same name and bytes again is success.
3. **finish** (one transaction): transfer *sent*, its orders *transmitted*. Commit.

A run first finishes every prepared or failed transfer (step 2 and 3, with the stored bytes),
then prepares new ones. So an order is never lost (it stays claimed by its transfer until that
is sent) and never in two files (the claim is a conditional UPDATE on ``transfer_id IS NULL``).

An order that would make the file invalid (an IBAN with a wrong checksum, say) is held back and
reported, never sent; it waits until someone corrects it (which sends it back through both
approvals).
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from amtsweg.audit.services import SYSTEM, Actor, record
from amtsweg.config import Settings
from amtsweg.db import utcnow
from amtsweg.extensions import db
from ihv import codes, services
from ihv.models import (
    Direction,
    OrderStatus,
    Sollstellung,
    Transfer,
    TransferCounter,
    TransferStatus,
)
from ihv.transfer import format as fmt
from ihv.transfer.transport import (
    DropDirectoryTransport,
    Transport,
    TransportError,
    fault_point,
)
from storage.blobstore import get_blobstore

OBJECT_TYPE = "ihv_transfer"
COUNTER_ID = 1
CHUNK = 1000  # orders loaded and marked at a time: memory stays flat however many are sent
ADAPTERS = ("ihv-xml", "sepa")


class SendError(Exception):
    """A transfer could not be built (e.g. the SEPA debtor account is not configured)."""


@dataclass
class SendReport:
    prepared: list[int] = field(default_factory=list)  # sequence numbers built in this run
    sent: list[int] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)
    # (order id, Kassenzeichen, reason): orders that cannot go out until corrected.
    held_back: list[tuple[int, str, str]] = field(default_factory=list)


def transport_for(settings: Settings) -> Transport:
    return DropDirectoryTransport(settings.ihv_outbox_dir)


def file_name_for(adapter: str, sequence_number: int, sender_id: str) -> str:
    prefix = "AW-SEPA" if adapter == "sepa" else "AW-IHV"
    return f"{prefix}-{sender_id}-{sequence_number:08d}.xml"


# --- checks on each order before it may go into a file ------------------------------------------


def hold_back_reason(order: Sollstellung, adapter: str) -> str | None:
    """Why ``order`` cannot go into a file, or None. Checked again while writing."""
    if not codes.is_valid_kassenzeichen(order.kassenzeichen):
        return "invalid Kassenzeichen"
    if not codes.is_valid_haushaltsstelle(order.haushaltsstelle) or (
            codes.normalise_haushaltsstelle(order.haushaltsstelle) != order.haushaltsstelle):
        return "invalid Haushaltsstelle"
    if not order.purpose or len(order.purpose) > codes.MAX_PURPOSE_LENGTH:
        return "purpose missing or longer than 140 characters"
    if order.iban is not None or order.direction == Direction.AUSZAHLUNG:
        # An IBAN with a wrong checksum never reaches a file (schwifty checks the MOD 97 digits
        # and the country's length and bank code format).
        try:
            IBAN(order.iban or "")
        except SchwiftyException as error:
            return f"invalid IBAN: {error}"
    if order.bic:
        try:
            BIC(order.bic)
        except SchwiftyException as error:
            return f"invalid BIC: {error}"
    if adapter == "sepa" and order.direction == Direction.AUSZAHLUNG and not codes.is_sepa_text(
            order.purpose):
        return "purpose outside the SEPA character set"
    return None


def order_record(order: Sollstellung) -> fmt.OrderRecord:
    return fmt.OrderRecord(
        order_id=order.id, kassenzeichen=order.kassenzeichen, direction=order.direction.value,
        amount_cents=order.amount_cents, due_date=order.due_date,
        haushaltsstelle=order.haushaltsstelle, party_name=order.party_name,
        party_street=order.party_street, party_postcode=order.party_postcode,
        party_city=order.party_city, iban=order.iban, bic=order.bic, purpose=order.purpose,
        replaces_order_id=order.replaces_id)


# --- step 1: prepare --------------------------------------------------------------------------


def _ensure_counter() -> None:
    if db.session.get(TransferCounter, COUNTER_ID) is not None:
        return
    try:
        with db.session.begin_nested():
            db.session.execute(insert(TransferCounter).values(id=COUNTER_ID, last_sequence=0))
    except IntegrityError:
        pass  # another node created it at the same moment
    db.session.commit()


def _candidates(adapter: str) -> Iterator[Sollstellung]:
    query = (select(Sollstellung)
             .where(Sollstellung.status == OrderStatus.ANGEORDNET,
                    Sollstellung.transfer_id.is_(None))
             .order_by(Sollstellung.id)
             .execution_options(yield_per=CHUNK))
    yield from db.session.scalars(query)


def _orders_of(transfer_id: int, direction: Direction | None = None) -> Iterator[Sollstellung]:
    """The transfer's orders in id order, a window of ids at a time (then dropped from the
    session, so memory stays flat).

    Windows over the primary key, not "next 1000 after the last id of this transfer": that
    query is answered from the transfer_id index with a sort of every order of the transfer,
    once per chunk, and a payment run of 100,000 orders took minutes instead of seconds.
    """
    low, high = db.session.execute(
        select(func.min(Sollstellung.id), func.max(Sollstellung.id))
        .where(Sollstellung.transfer_id == transfer_id)).one()
    if low is None:
        return
    start = int(low)
    while start <= high:
        query = select(Sollstellung).where(Sollstellung.id >= start,
                                           Sollstellung.id < start + CHUNK,
                                           Sollstellung.transfer_id == transfer_id)
        if direction is not None:
            query = query.where(Sollstellung.direction == direction)
        # The session holds unchanged objects weakly: a window is freed once the caller lets
        # go of it (expunging each object cost more than writing it).
        yield from db.session.scalars(query.order_by(Sollstellung.id)).all()
        start += CHUNK


def prepare_transfer(settings: Settings, report: SendReport, *,
                     max_orders: int | None = None,
                     now: datetime | None = None) -> Transfer | None:
    """Step 1 in one transaction; None (and nothing written) when no order is waiting."""
    adapter = settings.ihv_adapter
    _ensure_counter()
    # The lock: from here until the commit, no other node prepares a transfer.
    sequence = db.session.execute(
        update(TransferCounter).where(TransferCounter.id == COUNTER_ID)
        .values(last_sequence=TransferCounter.last_sequence + 1)
        .returning(TransferCounter.last_sequence)).scalar_one()
    held: list[int] = []
    claimable = 0
    last_claimable = 0
    payouts = 0
    already_reported = {order_id for order_id, _, _ in report.held_back}
    for order in _candidates(adapter):
        reason = hold_back_reason(order, adapter)
        if reason is not None:
            held.append(order.id)
            if order.id not in already_reported:
                report.held_back.append((order.id, order.kassenzeichen, reason))
        elif max_orders is None or claimable < max_orders:
            claimable += 1
            last_claimable = order.id
            payouts += order.direction == Direction.AUSZAHLUNG
    db.session.expunge_all()
    if adapter == "sepa" and not payouts:
        # A pain.001 carries payouts only; receivable orders are released with the next file
        # (they need no file of their own: the payer pays into the office's account).
        claimable = 0
    if not claimable:
        db.session.rollback()  # gives the sequence number back: numbers stay gapless
        if held:
            _record_held_back(report)
        return None
    created = now or utcnow()
    transfer = Transfer(sequence_number=sequence, adapter=adapter, status=TransferStatus.PREPARED,
                        file_name=file_name_for(adapter, sequence, settings.ihv_sender_id),
                        blob_key="", sha256="", order_count=0, control_sum_cents=0,
                        created_at=created, attempts=0)
    db.session.add(transfer)
    db.session.flush()
    _claim(transfer.id, last_claimable, held)
    count, total = db.session.execute(
        select(func.count(), func.coalesce(func.sum(Sollstellung.amount_cents), 0))
        .where(Sollstellung.transfer_id == transfer.id)).one()
    with tempfile.TemporaryDirectory(prefix="amtsweg-ihv-") as directory:
        path = Path(directory) / transfer.file_name
        if adapter == "sepa":
            from ihv.transfer import sepa

            sepa.write_pain001(path, transfer, _orders_of(transfer.id, Direction.AUSZAHLUNG),
                               created)
        else:
            header = fmt.Header(settings.ihv_sender_id, settings.office.short_name, sequence,
                                created, int(count), int(total))
            with path.open("wb") as handle:
                fmt.write_transfer(handle, header, _checked_records(transfer.id, adapter))
            # Nothing leaves unvalidated: the written file is read back against the XSD.
            fmt.validate_file(path, fmt.TRANSFER)
        with path.open("rb") as handle:
            stored = get_blobstore().put(handle)
    transfer.blob_key = stored.key
    transfer.sha256 = stored.sha256
    transfer.order_count = int(count)
    transfer.control_sum_cents = int(total)
    record(SYSTEM, "ihv.transfer_prepared", OBJECT_TYPE, transfer.id,
           after={"sequence_number": sequence, "adapter": adapter, "file_name": transfer.file_name,
                  "order_count": transfer.order_count, "control_sum_cents": int(total),
                  "sha256": stored.sha256,
                  "held_back": [order_id for order_id, _, _ in report.held_back]})
    fault_point("before-prepare-commit")
    db.session.commit()
    report.prepared.append(sequence)
    return transfer


def _claim(transfer_id: int, last_id: int, held: list[int]) -> None:
    """One UPDATE claims every waiting order up to ``last_id`` except those held back.

    Conditional on ``transfer_id IS NULL``: an order another node claimed is never taken twice
    (and the counter lock keeps nodes from preparing at the same moment anyway).
    """
    conditions = [Sollstellung.status == OrderStatus.ANGEORDNET,
                  Sollstellung.transfer_id.is_(None), Sollstellung.id <= last_id]
    if held:
        conditions.append(Sollstellung.id.not_in(held))
    db.session.execute(update(Sollstellung).where(*conditions).values(transfer_id=transfer_id)
                       .execution_options(synchronize_session=False))


def _checked_records(transfer_id: int, adapter: str) -> Iterator[fmt.OrderRecord]:
    for order in _orders_of(transfer_id):
        reason = hold_back_reason(order, adapter)
        if reason is not None:
            # Checked before the claim; an order approved between that check and the claim
            # lands here. The whole transfer is rolled back rather than sending a bad order,
            # and the next run holds that order back.
            raise SendError(f"order {order.id} became invalid while writing: {reason}")
        yield order_record(order)


def _record_held_back(report: SendReport) -> None:
    record(SYSTEM, "ihv.orders_held_back", OBJECT_TYPE, None,
           after={"orders": [{"id": order_id, "kassenzeichen": kz, "reason": reason}
                             for order_id, kz, reason in report.held_back]})
    db.session.commit()


# --- step 2 and 3: deliver and finish -----------------------------------------------------------


def deliver_transfer(transfer: Transfer, transport: Transport, report: SendReport,
                     actor: Actor = SYSTEM) -> bool:
    """Deliver the stored bytes of ``transfer`` and mark it sent; False if delivery failed."""
    fault_point("before-deliver")
    try:
        with get_blobstore().open(transfer.blob_key) as stream:
            transport.deliver(transfer.file_name, stream, transfer.sha256)
    except (TransportError, OSError) as error:
        message = str(error) or type(error).__name__
        db.session.execute(update(Transfer).where(Transfer.id == transfer.id,
                                                  Transfer.status != TransferStatus.SENT)
                           .values(status=TransferStatus.FAILED, last_error=message[:2000],
                                   attempts=Transfer.attempts + 1))
        record(actor, "ihv.transfer_failed", OBJECT_TYPE, transfer.id,
               after={"sequence_number": transfer.sequence_number, "error": message[:500]})
        db.session.commit()
        report.failed.append((transfer.sequence_number, message))
        return False
    fault_point("after-deliver")
    _finish(transfer, actor)
    report.sent.append(transfer.sequence_number)
    return True


def _finish(transfer: Transfer, actor: Actor) -> None:
    # Conditional: if another node finished this transfer meanwhile, there is nothing to do.
    result = db.session.execute(
        update(Transfer).where(Transfer.id == transfer.id, Transfer.status != TransferStatus.SENT)
        .values(status=TransferStatus.SENT, sent_at=utcnow(), last_error=None,
                attempts=Transfer.attempts + 1)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:  # type: ignore[attr-defined]
        db.session.rollback()
        return
    chunk: list[Sollstellung] = []
    for order in _orders_of(transfer.id):
        chunk.append(order)
        if len(chunk) == CHUNK:
            services.mark_transmitted(chunk, transfer)
            chunk = []
    if chunk:
        services.mark_transmitted(chunk, transfer)
    record(actor, "ihv.transfer_sent", OBJECT_TYPE, transfer.id,
           after={"sequence_number": transfer.sequence_number, "file_name": transfer.file_name,
                  "sha256": transfer.sha256})
    fault_point("before-finish-commit")
    db.session.commit()


def pending_transfers() -> list[Transfer]:
    return list(db.session.scalars(
        select(Transfer).where(Transfer.status.in_([TransferStatus.PREPARED,
                                                    TransferStatus.FAILED]))
        .order_by(Transfer.sequence_number)))


def send_transfers(settings: Settings, transport: Transport | None = None, *,
                   max_orders: int | None = None, now: datetime | None = None,
                   before_deliver: Callable[[Transfer], None] | None = None) -> SendReport:
    """Finish what an earlier run left, then send everything that waits.

    ``max_orders`` splits a large run into several files. ``before_deliver`` is called between
    step 1 and step 2 (a test crashes the run there).
    """
    if settings.ihv_adapter not in ADAPTERS:
        raise SendError(f"unknown adapter {settings.ihv_adapter!r}")
    transport = transport or transport_for(settings)
    report = SendReport()
    for waiting in pending_transfers():
        if not deliver_transfer(waiting, transport, report):
            # Keep the order of the sequence numbers: nothing newer goes out before it.
            return report
    while True:
        transfer = prepare_transfer(settings, report, max_orders=max_orders, now=now)
        if transfer is None:
            break
        if before_deliver is not None:
            before_deliver(transfer)
        if not deliver_transfer(transfer, transport, report):
            break
        if max_orders is None:
            break
    return report


def resend_transfer(transfer: Transfer, settings: Settings, actor: Actor,
                    transport: Transport | None = None) -> bool:
    """Deliver a failed (or stuck prepared) transfer again, with its stored bytes."""
    if transfer.status == TransferStatus.SENT:
        return True
    record(actor, "ihv.transfer_resend_requested", OBJECT_TYPE, transfer.id,
           after={"sequence_number": transfer.sequence_number})
    return deliver_transfer(transfer, transport or transport_for(settings), SendReport(), actor)


def stored_bytes_sha256(transfer: Transfer) -> str:
    digest = hashlib.sha256()
    with get_blobstore().open(transfer.blob_key) as stream:
        while chunk := stream.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()
