"""Exactly once: a crash at every step of `ihv send`, and two nodes sending at the same time."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO

import pytest
from flask import Flask
from sqlalchemy import func, select

from amtsweg.extensions import db
from amtsweg.staff.models import Staff
from ihv import services
from ihv.models import OrderStatus, Sollstellung, Transfer, TransferCounter, TransferStatus
from ihv.transfer import format as fmt
from ihv.transfer import send
from ihv.transfer.transport import DropDirectoryTransport, TransportError
from tests.ihv.transfer.support import approved, reload, settings

Factory = Callable[..., Sollstellung]


class Crash(BaseException):
    """The process dies here: nothing catches it, nothing after it runs."""


class DownTransport:
    name = "down"

    def deliver(self, file_name: str, stream: IO[bytes], sha256: str) -> None:
        raise TransportError("connection refused by the treasury's gateway")


def _orders_in_files(outbox: Path) -> list[int]:
    ids: list[int] = []
    for path in sorted(outbox.glob("*.xml")):
        ids.extend(order.order_id for order in fmt.iter_orders(path))
    return ids


def _three_orders(create_order: Factory, finance: dict[str, Staff]) -> list[int]:
    return [approved(create_order, finance, amount_cents=1_000 + i).id for i in range(3)]


@pytest.mark.usefixtures("app_ctx")
def test_crash_while_preparing_leaves_nothing(create_order: Factory, finance: dict[str, Staff],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    ids = _three_orders(create_order, finance)

    def crash(*args: object, **kwargs: object) -> None:
        raise Crash

    monkeypatch.setattr(fmt, "validate_file", crash)
    with pytest.raises(Crash):
        send.send_transfers(settings())
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Transfer)) == 0
    assert db.session.scalar(select(TransferCounter.last_sequence)) == 0
    assert all(db.session.get(Sollstellung, i).transfer_id is None for i in ids)  # type: ignore[union-attr]

    monkeypatch.undo()
    report = send.send_transfers(settings())
    assert report.sent == [1]
    assert sorted(_orders_in_files(settings().ihv_outbox_dir)) == ids


@pytest.mark.usefixtures("app_ctx")
def test_crash_after_prepare_before_delivery(create_order: Factory, finance: dict[str, Staff]
                                             ) -> None:
    ids = _three_orders(create_order, finance)

    def crash(transfer: Transfer) -> None:
        raise Crash

    with pytest.raises(Crash):
        send.send_transfers(settings(), before_deliver=crash)
    db.session.rollback()
    transfer = db.session.scalar(select(Transfer))
    assert transfer is not None
    assert transfer.status == TransferStatus.PREPARED
    assert not list(settings().ihv_outbox_dir.glob("*.xml"))
    # A new order arrives before the rerun: it goes into a new file, after the old one.
    late = approved(create_order, finance, amount_cents=5_000).id

    report = send.send_transfers(settings())

    assert report.sent == [1, 2]
    files = sorted(settings().ihv_outbox_dir.glob("*.xml"))
    assert [sorted(o.order_id for o in fmt.iter_orders(f)) for f in files] == [ids, [late]]
    assert {reload(db.session.get(Sollstellung, i)).status  # type: ignore[arg-type]
            for i in [*ids, late]} == {OrderStatus.TRANSMITTED}


@pytest.mark.usefixtures("app_ctx")
def test_crash_after_delivery_before_marking_sent(create_order: Factory,
                                                  finance: dict[str, Staff],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    ids = _three_orders(create_order, finance)

    def crash(*args: object, **kwargs: object) -> int:
        raise Crash

    monkeypatch.setattr(services, "mark_transmitted", crash)
    with pytest.raises(Crash):
        send.send_transfers(settings())
    db.session.rollback()
    delivered = sorted(settings().ihv_outbox_dir.glob("*.xml"))
    assert len(delivered) == 1
    first_bytes = delivered[0].read_bytes()
    assert db.session.scalar(select(Transfer.status)) == TransferStatus.PREPARED

    monkeypatch.undo()
    report = send.send_transfers(settings())

    # The same file again (same name, same bytes: the drop directory takes it as delivered).
    assert report.sent == [1]
    assert not report.failed
    delivered = sorted(settings().ihv_outbox_dir.glob("*.xml"))
    assert len(delivered) == 1
    assert delivered[0].read_bytes() == first_bytes
    assert sorted(_orders_in_files(settings().ihv_outbox_dir)) == ids
    assert {db.session.get(Sollstellung, i).status for i in ids} == {  # type: ignore[union-attr]
        OrderStatus.TRANSMITTED}


@pytest.mark.usefixtures("app_ctx")
def test_failed_delivery_is_recorded_and_resent_with_the_same_bytes(
        create_order: Factory, finance: dict[str, Staff]) -> None:
    ids = _three_orders(create_order, finance)

    report = send.send_transfers(settings(), DownTransport())

    assert report.failed
    assert "connection refused" in report.failed[0][1]
    transfer = db.session.scalar(select(Transfer))
    assert transfer is not None
    assert transfer.status == TransferStatus.FAILED
    assert transfer.attempts == 1
    assert transfer.last_error is not None
    sha = transfer.sha256
    # Orders stay claimed by the failed transfer: the next run does not put them elsewhere.
    approved(create_order, finance, amount_cents=7_000)
    assert send.send_transfers(settings(), DownTransport()).prepared == []

    report = send.send_transfers(settings())

    assert report.sent == [1, 2]
    db.session.expire_all()
    transfer = db.session.get(Transfer, transfer.id)
    assert transfer is not None
    assert transfer.status == TransferStatus.SENT
    assert transfer.sha256 == sha == send.stored_bytes_sha256(transfer)
    assert sorted(_orders_in_files(settings().ihv_outbox_dir))[:3] == ids


def test_drop_directory_refuses_a_different_file_under_the_same_name(tmp_path: Path) -> None:
    transport = DropDirectoryTransport(tmp_path)
    (tmp_path / "AW-IHV-0000-00000001.xml").write_bytes(b"something else")
    import hashlib
    import io

    data = b"<Transfer/>"
    with pytest.raises(TransportError, match="different content"):
        transport.deliver("AW-IHV-0000-00000001.xml", io.BytesIO(data),
                          hashlib.sha256(data).hexdigest())
    with pytest.raises(TransportError, match="refusing file name"):
        transport.deliver("../escape.xml", io.BytesIO(data), hashlib.sha256(data).hexdigest())
    transport.deliver("AW-IHV-0000-00000002.xml", io.BytesIO(data),
                      hashlib.sha256(data).hexdigest())
    transport.deliver("AW-IHV-0000-00000002.xml", io.BytesIO(data),
                      hashlib.sha256(data).hexdigest())
    assert (tmp_path / "AW-IHV-0000-00000002.xml").read_bytes() == data
    assert sorted(p.name for p in tmp_path.iterdir()) == ["AW-IHV-0000-00000001.xml",
                                                          "AW-IHV-0000-00000002.xml"]


def test_two_nodes_sending_at_once(app: Flask, create_order: Factory,
                                   finance: dict[str, Staff]) -> None:
    """Each order in exactly one file, sequence numbers gapless (PostgreSQL: real row locks;
    SQLite: the database's single writer)."""
    with app.app_context():
        ids = [approved(create_order, finance, amount_cents=100 + i).id for i in range(40)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def node() -> None:
        try:
            with app.app_context():
                barrier.wait()
                for _ in range(3):
                    send.send_transfers(settings(), max_orders=7)
                db.session.remove()
        except BaseException as error:  # reported below, not lost in the thread
            errors.append(error)

    threads = [threading.Thread(target=node) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    with app.app_context():
        sent = sorted(_orders_in_files(settings().ihv_outbox_dir))
        assert sent == ids, "every order in exactly one file"
        sequences = list(db.session.scalars(select(Transfer.sequence_number)
                                            .order_by(Transfer.sequence_number)))
        assert sequences == list(range(1, len(sequences) + 1))
        assert len(sequences) == 6  # 40 orders, 7 a file
        assert set(db.session.scalars(select(Transfer.status))) == {TransferStatus.SENT}
