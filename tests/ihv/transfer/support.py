"""Helpers for the transfer tests: approved orders, settings with drop directories, the loop
send → simulate → receive."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from flask import current_app

from amtsweg.config import Settings
from amtsweg.extensions import db
from amtsweg.staff.models import Staff
from ihv import services
from ihv.models import Sollstellung
from ihv.transfer import receive, send, simulator


def settings() -> Settings:
    value: Settings = current_app.config["AMTSWEG"]
    return value


def approved(create_order: Callable[..., Sollstellung], finance: dict[str, Staff],
             **overrides: Any) -> Sollstellung:
    """An order created by the caseworker, established and ordered by two other people."""
    order = create_order(finance["caseworker"], **overrides)
    services.feststellen(db.session.merge(finance["feststeller"]), order, order.version)
    services.anordnen(db.session.merge(finance["anordner"]), order, order.version)
    db.session.commit()
    return order


def simulate(today: date = date(2026, 12, 31), **scenario: Any) -> simulator.SimulationReport:
    config = settings()
    return simulator.simulate(config.ihv_outbox_dir, config.ihv_inbox_dir,
                              scenario=simulator.load_scenario(None, **scenario), today=today,
                              adapter=config.ihv_adapter)


def round_trip(today: date = date(2026, 12, 31), **scenario: Any) -> receive.ReceiveReport:
    send.send_transfers(settings())
    simulate(today, **scenario)
    return receive.receive_files(settings())


def inbox_files(sub: str = "") -> list[str]:
    directory: Path = settings().ihv_inbox_dir / sub if sub else settings().ihv_inbox_dir
    return sorted(p.name for p in directory.iterdir() if p.is_file()) if directory.exists() \
        else []


def reload(order: Sollstellung) -> Sollstellung:
    db.session.expire_all()
    fresh = db.session.get(Sollstellung, order.id)
    assert fresh is not None
    return fresh
