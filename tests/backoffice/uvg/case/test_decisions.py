"""Deciding a UVG case: the draft rests on the calculation; issuing writes the entitlements and
the Bescheid carries the amounts per month, every deduction, the duties and § 5."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from amtsweg.audit.services import SYSTEM
from amtsweg.extensions import db
from backoffice.decisions.models import Decision, DecisionKind
from backoffice.decisions.services import (
    DecisionDraft,
    DecisionRefused,
    create_decision,
    issue_decision,
)
from backoffice.models import Fall, FallEvent, FallStatus
from backoffice.uvg import case_services as services
from backoffice.uvg import eligibility
from backoffice.uvg.models import (
    ConditionState,
    UvgChildStatus,
    UvgEntitlement,
)
from portal.services import Party
from storage.models import Document
from storage.services import open_document
from tests.backoffice.uvg.case.conftest import APPLICANT, CHILD, TODAY, answers, confirm, taken_over


def pdf_text(document_id: int | None) -> str:
    assert document_id is not None
    document = db.session.get(Document, document_id)
    assert document is not None
    with open_document(document) as stream:
        reader = PdfReader(io.BytesIO(stream.read()))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def calculated(fall: Fall) -> Any:
    child = taken_over(fall)
    confirm(child)
    services.calculate_child(child, SYSTEM, today=TODAY)
    db.session.commit()
    return child


def issue(decision: Decision) -> Decision:
    issue_decision(decision, SYSTEM, today=TODAY)
    db.session.commit()
    return decision


def test_a_decision_without_a_calculation_is_refused(applied_case: Callable[..., Fall]) -> None:
    fall = applied_case()
    child = taken_over(fall)
    confirm(child)
    with pytest.raises(services.UvgRefused, match=r"calculation|Berechnung"):
        services.prepare_decision(fall, DecisionKind.BEWILLIGUNG, SYSTEM)
    db.session.rollback()
    assert db.session.scalar(select(func.count(Decision.id))) == 0


def test_a_bewilligung_drafted_elsewhere_cannot_be_issued_without_calculation(
        applied_case: Callable[..., Fall]) -> None:
    fall = applied_case()
    taken_over(fall)
    applicant = services.applicant_of(fall)
    assert applicant is not None
    decision = create_decision(fall, DecisionDraft(
        DecisionKind.BEWILLIGUNG, "Bescheid", "Bewilligt.", "", applicant.id, None), SYSTEM)
    db.session.commit()
    with pytest.raises(DecisionRefused, match="UVG"):
        issue_decision(decision, SYSTEM, today=TODAY)
    db.session.rollback()
    assert not decision.is_issued
    assert db.session.scalar(select(func.count(UvgEntitlement.id))) == 0


def test_issuing_a_bewilligung_writes_the_months_and_the_bescheid_shows_them(
        applied_case: Callable[..., Fall]) -> None:
    fall = applied_case()
    child = calculated(fall)
    decision = services.prepare_decision(fall, DecisionKind.BEWILLIGUNG, SYSTEM)
    db.session.commit()
    assert "Lea Müller" in decision.subject
    assert "Vollendung des 12. Lebensjahres" in decision.begruendung  # § 1 Abs. 1a UVG
    issue(decision)
    entitlements = services.entitlements_of(child)
    # October 2026 to March 2030 (the 12th birthday; § 1 Abs. 1a UVG not yet established).
    assert len(entitlements) == 42
    assert entitlements[0].month == date(2026, 10, 1)
    assert entitlements[0].paid_cents == 24_900
    assert all(e.decision_id == decision.id for e in entitlements)
    assert child.status is UvgChildStatus.GRANTED
    assert fall.status is FallStatus.DECIDED
    kinds = set(db.session.scalars(select(FallEvent.kind).where(FallEvent.fall_id == fall.id)))
    assert {services.UvgEventKind.GRANTED, services.UvgEventKind.CALCULATED,
            services.UvgEventKind.CHECK_STARTED} <= kinds
    text = pdf_text(decision.document_id)
    assert "Berechnung für Lea Müller (§ 9 Abs. 2 UVG)" in text
    assert "Unterhalt des anderen Elternteils 50,00 €" in text
    assert "249,00 €" in text
    assert "§ 6 Abs. 4 UVG" in text
    assert "Ersatz- und Rückzahlungspflicht (§ 5 UVG)" in text
    assert "Rechtsbehelfsbelehrung" in text


def test_an_open_condition_blocks_the_decision(applied_case: Callable[..., Fall]) -> None:
    values = answers()
    values["children"][0]["person"]["nationality"] = "other"
    fall = applied_case(values)
    calculated(fall)
    with pytest.raises(services.UvgRefused, match=r"open|offen"):
        services.prepare_decision(fall, DecisionKind.BEWILLIGUNG, SYSTEM)


def test_an_ablehnung_needs_a_condition_not_met_and_refuses_the_child(
        applied_case: Callable[..., Fall]) -> None:
    fall = applied_case()
    child = calculated(fall)
    with pytest.raises(services.UvgRefused, match="Ablehnung"):
        services.prepare_decision(fall, DecisionKind.ABLEHNUNG, SYSTEM)
    db.session.rollback()
    services.assess_condition(child, eligibility.NOT_WITH_OTHER_PARENT, ConditionState.NOT_MET,
                              "Gemeinsame Meldeadresse", SYSTEM)
    db.session.commit()
    with pytest.raises(services.UvgRefused):
        services.prepare_decision(fall, DecisionKind.BEWILLIGUNG, SYSTEM)
    db.session.rollback()
    decision = services.prepare_decision(fall, DecisionKind.ABLEHNUNG, SYSTEM)
    db.session.commit()
    assert "mit dem anderen Elternteil zusammenleben (§ 1 Abs. 3 UVG)" in decision.begruendung
    issue(decision)
    assert child.status is UvgChildStatus.REFUSED
    assert services.entitlements_of(child) == []


def test_a_teilbewilligung_grants_one_child_and_refuses_the_other(
        applied_case: Callable[..., Fall]) -> None:
    values = answers()
    values["children"].append({"id": "k2", "person": {
        "first_name": "Max", "last_name": "Müller", "birth_date": "2016-05-02",
        "nationality": "german", "living_since": "2016-05-02"}})
    fall = applied_case(values, parties=(CHILD, Party("child", "Max", "Müller", "2016-05-02"),
                                         APPLICANT))
    services.take_over_children(fall, SYSTEM)
    db.session.commit()
    lea, max_ = services.children_of(fall)
    for child in (lea, max_):
        confirm(child)
        services.calculate_child(child, SYSTEM, today=TODAY)
    services.assess_condition(max_, eligibility.LIVES_WITH_APPLICANT, ConditionState.NOT_MET,
                              "Lebt beim Vater", SYSTEM)
    db.session.commit()
    decision = services.prepare_decision(fall, DecisionKind.TEILBEWILLIGUNG, SYSTEM)
    db.session.commit()
    issue(decision)
    assert lea.status is UvgChildStatus.GRANTED
    assert max_.status is UvgChildStatus.REFUSED
    assert services.entitlements_of(max_) == []


def test_facts_changed_after_the_draft_stop_the_issue(applied_case: Callable[..., Fall]) -> None:
    fall = applied_case()
    child = calculated(fall)
    decision = services.prepare_decision(fall, DecisionKind.BEWILLIGUNG, SYSTEM)
    db.session.commit()
    confirm(child, maintenance_cents=0)
    with pytest.raises(DecisionRefused, match=r"calculate again|erneut"):
        issue_decision(decision, SYSTEM, today=TODAY)
    db.session.rollback()
    assert child.status is UvgChildStatus.APPLIED
    assert db.session.scalar(select(func.count(UvgEntitlement.id))) == 0


def test_a_uvg_case_not_yet_checked_is_decided_like_any_case(
        app_ctx: None, create_case: Callable[..., Fall]) -> None:
    fall = create_case()
    applicant = services.applicant_of(fall)
    assert applicant is not None
    decision = create_decision(fall, DecisionDraft(
        DecisionKind.BEWILLIGUNG, "Bescheid", "Bewilligt.", "", applicant.id, None), SYSTEM)
    db.session.commit()
    issue(decision)
    assert decision.is_issued
