"""Objections: attached to their decision, late ones flagged, Abhilfe, forwarding, outcome."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from flask import Flask
from sqlalchemy import func, select

from amtsweg.audit.services import SYSTEM
from amtsweg.citizens.models import Citizen
from amtsweg.extensions import db
from amtsweg.staff.models import Staff
from backoffice.decisions.models import (
    Decision,
    DecisionKind,
    DecisionStatus,
    Widerspruch,
    WiderspruchOutcome,
    WiderspruchStatus,
)
from backoffice.decisions.services import (
    DecisionRefused,
    attach_objection_item,
    forward_objection,
    issue_decision,
    record_objection,
    record_outcome,
    remedy_objection,
    unattached_objection_items,
)
from backoffice.models import Fall, FallEvent
from clearing.models import EingangKind
from portal.services import submit
from tests.backoffice.decisions.conftest import draft_for, submit_and_route

POSTED = date(2025, 11, 28)  # notified 2 December 2025; period ends Friday 2 January 2026


def issued(fall: Fall) -> Decision:
    decision = draft_for(fall)
    issue_decision(decision, SYSTEM, posted_on=POSTED, today=POSTED)
    db.session.commit()
    return decision


def test_a_paper_objection_in_time(app_ctx: None, create_case: Callable[..., Fall]) -> None:
    fall = create_case()
    decision = issued(fall)
    widerspruch = record_objection(fall, decision, date(2026, 1, 2), SYSTEM,
                                   note="per Brief", today=date(2026, 1, 5))
    db.session.commit()
    assert not widerspruch.late
    assert widerspruch.status is WiderspruchStatus.OPEN
    assert db.session.scalar(select(func.count(FallEvent.id)).where(
        FallEvent.fall_id == fall.id, FallEvent.kind == "widerspruch_received")) == 1


def test_a_late_objection_is_flagged(app_ctx: None, create_case: Callable[..., Fall]) -> None:
    fall = create_case()
    decision = issued(fall)
    widerspruch = record_objection(fall, decision, date(2026, 1, 5), SYSTEM,
                                   today=date(2026, 1, 5))
    db.session.commit()
    assert widerspruch.late
    summary = db.session.scalar(select(FallEvent.summary).where(
        FallEvent.fall_id == fall.id, FallEvent.kind == "widerspruch_received"))
    assert summary is not None
    assert "02.01.2026" in summary


def test_an_objection_without_a_decision_is_refused(app_ctx: None,
                                                    create_case: Callable[..., Fall]) -> None:
    fall = create_case()
    with pytest.raises(DecisionRefused, match="muss sich gegen einen Bescheid richten"):
        record_objection(fall, None, date(2026, 1, 2), SYSTEM)
    db.session.rollback()
    assert db.session.scalar(select(func.count(Widerspruch.id))) == 0


def test_an_objection_against_a_draft_or_another_case_is_refused(
        app_ctx: None, create_case: Callable[..., Fall]) -> None:
    fall = create_case()
    draft = draft_for(fall)
    with pytest.raises(DecisionRefused, match="erlassenen Bescheid dieses Falls"):
        record_objection(fall, draft, date(2026, 1, 2), SYSTEM)
    other = create_case()
    foreign = issued(other)
    with pytest.raises(DecisionRefused, match="erlassenen Bescheid dieses Falls"):
        record_objection(fall, foreign, date(2026, 1, 2), SYSTEM)


def test_a_receipt_date_in_the_future_is_refused(app_ctx: None,
                                                 create_case: Callable[..., Fall]) -> None:
    fall = create_case()
    decision = issued(fall)
    with pytest.raises(DecisionRefused, match="Zukunft"):
        record_objection(fall, decision, date(2026, 2, 1), SYSTEM, today=date(2026, 1, 5))


def test_abhilfe_drafts_a_new_decision_referring_to_the_old(
        app_ctx: None, create_case: Callable[..., Fall]) -> None:
    fall = create_case()
    decision = issued(fall)
    widerspruch = record_objection(fall, decision, date(2025, 12, 10), SYSTEM)
    new = remedy_objection(widerspruch, SYSTEM)
    db.session.commit()
    assert new.refers_to_id == decision.id
    assert new.status is DecisionStatus.DRAFT
    assert new.kind is DecisionKind.AENDERUNG
    assert new.addressee_party_id == decision.addressee_party_id
    assert widerspruch.status is WiderspruchStatus.ABGEHOLFEN
    assert widerspruch.abhilfe_decision_id == new.id
    # The objected Bescheid stays as it was.
    assert decision.is_issued
    with pytest.raises(DecisionRefused, match="jetzigen Stand"):
        remedy_objection(widerspruch, SYSTEM)


def test_forwarded_then_outcome(app_ctx: None, create_case: Callable[..., Fall]) -> None:
    fall = create_case()
    decision = issued(fall)
    widerspruch = record_objection(fall, decision, date(2025, 12, 10), SYSTEM)
    with pytest.raises(DecisionRefused, match="jetzigen Stand"):
        record_outcome(widerspruch, WiderspruchOutcome.ZURUECKGEWIESEN, date(2026, 3, 1),
                       SYSTEM, today=date(2026, 3, 2))
    with pytest.raises(DecisionRefused, match="Datum der Abgabe"):
        forward_objection(widerspruch, date(2025, 12, 1), SYSTEM, today=date(2026, 1, 5))
    forward_objection(widerspruch, date(2025, 12, 15), SYSTEM, today=date(2026, 1, 5))
    with pytest.raises(DecisionRefused, match="Datum des Ergebnisses"):
        record_outcome(widerspruch, WiderspruchOutcome.TEILWEISE, date(2026, 9, 1), SYSTEM,
                       today=date(2026, 3, 2))
    record_outcome(widerspruch, WiderspruchOutcome.TEILWEISE, date(2026, 3, 1), SYSTEM,
                   today=date(2026, 3, 2))
    db.session.commit()
    assert widerspruch.status is WiderspruchStatus.CLOSED
    assert widerspruch.outcome is WiderspruchOutcome.TEILWEISE
    assert widerspruch.forwarded_on == date(2025, 12, 15)


def test_a_withdrawal_closes_an_open_objection(app_ctx: None,
                                               create_case: Callable[..., Fall]) -> None:
    fall = create_case()
    widerspruch = record_objection(fall, issued(fall), date(2025, 12, 10), SYSTEM)
    record_outcome(widerspruch, WiderspruchOutcome.ZURUECKGENOMMEN, date(2025, 12, 12), SYSTEM)
    db.session.commit()
    assert widerspruch.status is WiderspruchStatus.CLOSED


def test_an_objection_from_the_portal_is_attached_with_its_day_of_receipt(
        app: Flask, app_ctx: None, create_citizen: Callable[..., Citizen],
        clerk: Staff) -> None:
    citizen = create_citizen()
    fall, submission = submit_and_route(citizen, clerk)
    decision = draft_for(fall)
    issue_decision(decision, SYSTEM)
    db.session.commit()
    # The citizen objects online; clearing routes the follow-up to the case by itself.
    objection = submit(citizen=db.session.merge(citizen), kind=EingangKind.WIDERSPRUCH,
                       title="Widerspruch", idempotency_key="widerspruch-0001-abcdef",
                       sender_name="Sabine Müller", message="Ich widerspreche.",
                       parent=submission)
    eingang_id = objection.eingang.id
    items = unattached_objection_items(fall)
    assert [item_id for item_id, _at, _subject in items] == [eingang_id]

    widerspruch = attach_objection_item(fall, eingang_id, decision, SYSTEM)
    db.session.commit()
    assert widerspruch.eingang_id == eingang_id
    assert not widerspruch.late
    assert unattached_objection_items(fall) == []
    with pytest.raises(DecisionRefused, match="kein offener Widerspruch"):
        attach_objection_item(fall, eingang_id, decision, SYSTEM)


def test_an_item_of_another_case_cannot_be_attached(
        app_ctx: None, create_citizen: Callable[..., Citizen], clerk: Staff,
        create_case: Callable[..., Fall]) -> None:
    citizen = create_citizen()
    _fall, submission = submit_and_route(citizen, clerk)
    objection = submit(citizen=db.session.merge(citizen), kind=EingangKind.WIDERSPRUCH,
                       title="Widerspruch", idempotency_key="widerspruch-0002-abcdef",
                       sender_name="Sabine Müller", parent=submission)
    other = create_case()
    with pytest.raises(DecisionRefused, match="kein offener Widerspruch"):
        attach_objection_item(other, objection.eingang.id, issued(other), SYSTEM)
