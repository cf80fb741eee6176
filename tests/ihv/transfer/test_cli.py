"""The commands as an operator runs them: send, simulate, receive, transfers."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from amtsweg.extensions import db
from amtsweg.staff.models import Staff
from ihv.cli import ihv_group
from ihv.models import OrderStatus, Sollstellung
from tests.ihv.transfer.support import approved

Factory = Callable[..., Sollstellung]


def test_send_simulate_receive_from_the_command_line(app: Flask, create_order: Factory,
                                                     finance: dict[str, Staff],
                                                     tmp_path: Path) -> None:
    with app.app_context():
        booked_id = approved(create_order, finance, haushaltsstelle="70 55/101 38-1").id
        refused_id = approved(create_order, finance, haushaltsstelle="11 22/333 44-5").id
    scenario = tmp_path / "szenario.toml"
    scenario.write_text('known_haushaltsstellen = ["70 55/101 38-1"]\nreceivables = "full"\n')
    runner = app.test_cli_runner()

    sent = runner.invoke(ihv_group, ["send"])
    assert sent.exit_code == 0, sent.output
    assert "sent 1" in sent.output
    simulated = runner.invoke(ihv_group, ["simulate", "--scenario", str(scenario),
                                    "--today", "2026-12-31"])
    assert simulated.exit_code == 0, simulated.output
    assert "accepted 1, rejected 1" in simulated.output
    received = runner.invoke(ihv_group, ["receive"])
    assert received.exit_code == 0, received.output
    listed = runner.invoke(ihv_group, ["transfers"])
    assert "sent" in listed.output
    assert "AW-IHV-0000-00000001.xml" in listed.output

    with app.app_context():
        assert db.session.get(Sollstellung, booked_id).status == OrderStatus.BOOKED  # type: ignore[union-attr]
        assert db.session.get(Sollstellung, refused_id).status == OrderStatus.REJECTED  # type: ignore[union-attr]


@pytest.mark.parametrize(("content", "suffix", "fragment"), [
    ('receivables = "sometimes"', ".toml", "receivables must be one of"),
    ("receivables = ", ".toml", "szenario.toml"),
    (json.dumps({"partial_percent": 150}), ".json", "partial_percent"),
    (json.dumps({"surprise": 1}), ".json", "unknown keys surprise"),
    (json.dumps({"known_haushaltsstellen": ["Kapitel 7"]}), ".json", "Haushaltsstelle"),
])
def test_bad_scenario_file_gives_a_clear_message(app: Flask, tmp_path: Path, content: str,
                                                 suffix: str, fragment: str) -> None:
    scenario = tmp_path / f"szenario{suffix}"
    scenario.write_text(content)
    result = app.test_cli_runner().invoke(ihv_group, ["simulate", "--scenario", str(scenario)])
    assert result.exit_code != 0
    assert fragment in result.output
    assert "Traceback" not in result.output


def test_receive_exits_non_zero_when_a_file_was_rejected(app: Flask) -> None:
    with app.app_context():
        inbox: Path = app.config["AMTSWEG"].ihv_inbox_dir
    inbox.mkdir(parents=True, exist_ok=True)
    (inbox / "x.xml").write_bytes(b"not xml")
    result = app.test_cli_runner().invoke(ihv_group, ["receive"])
    assert result.exit_code == 1
    assert "REJECTED x.xml" in result.output
    with app.app_context():
        assert db.session.scalar(select(Sollstellung.id)) is None
