"""The transfer demo: after the demo orders, one round trip and a booking to clarify."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from amtsweg.demo import load_demo_data
from amtsweg.extensions import db
from ihv import demo as order_demo
from ihv.models import Booking, BookingStatus, OrderStatus, Sollstellung, Transfer
from ihv.transfer import demo

pytestmark = pytest.mark.usefixtures("app_ctx")


def test_demo_sends_one_round_trip_and_fills_the_klaerungsliste() -> None:
    load_demo_data(only_if_empty=False)
    order_demo.load_demo()
    db.session.commit()

    assert demo.load_demo() is True

    transfer = db.session.scalar(select(Transfer))
    assert transfer is not None
    assert transfer.order_count == 1
    statuses = set(db.session.scalars(select(Sollstellung.status).where(
        Sollstellung.transfer_id == transfer.id)))
    assert statuses == {OrderStatus.BOOKED}
    assert db.session.scalar(select(Booking.status).where(
        Booking.reference == "DEMO-KLAERUNG-1")) == BookingStatus.UNCLEAR
    assert demo.load_demo() is False
    assert len(list(db.session.scalars(select(Transfer)))) == 1
