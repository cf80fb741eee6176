"""The demo orders: something in each queue, loaded once, refused without the demo accounts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from amtsweg.demo import load_demo_data
from amtsweg.extensions import db
from backoffice.models import Fall
from ihv.demo import DemoRefused, load_demo
from ihv.models import OrderStatus, Sollstellung


def test_demo_orders_fill_both_queues_once(app: Flask, create_case: Callable[..., Any]) -> None:
    with app.app_context():
        load_demo_data(only_if_empty=False)
        fall: Fall = create_case()
        assert load_demo([fall.id]) == 5
        db.session.commit()
        assert load_demo([fall.id]) == 0
        counts = dict(db.session.execute(select(Sollstellung.status, func.count())
                                         .group_by(Sollstellung.status)).all())
        assert counts == {OrderStatus.DRAFT: 2, OrderStatus.FESTGESTELLT: 2,
                          OrderStatus.ANGEORDNET: 1}


def test_demo_orders_need_the_demo_accounts(app: Flask) -> None:
    with app.app_context(), pytest.raises(DemoRefused):
        load_demo()
