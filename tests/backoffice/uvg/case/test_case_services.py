"""The UVG case services on a real database: take-over, checklist, facts, calculation."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from sqlalchemy import func, select

from amtsweg.audit.models import AuditEntry
from amtsweg.audit.services import SYSTEM
from amtsweg.extensions import db
from backoffice.models import Fall, FallEvent
from backoffice.services import PartyData
from backoffice.uvg import case_services as services
from backoffice.uvg import eligibility
from backoffice.uvg.models import ConditionState, UvgCalculation, UvgChildStatus
from portal.services import Party
from tests.backoffice.uvg.case.conftest import (
    APPLICANT,
    CHILD,
    IBAN,
    TODAY,
    answers,
    confirm,
    taken_over,
)


def test_children_are_taken_over_with_the_answers_of_the_application(
        applied_case: Callable[..., Fall]) -> None:
    values = answers(other_parent={"first_name": "Tom", "last_name": "Schmidt",
                                   "maintenance_paid": "regular",
                                   "maintenance_amount": 10_000},
                     orphan={"receives": "yes", "amount": 3_000})
    fall = applied_case(values)
    child = taken_over(fall)
    assert child.birth_date == date(2018, 3, 14)
    assert child.application_key == "k1"
    assert child.maintenance_cents == 10_000
    assert child.orphan_benefit_cents == 3_000
    assert child.payee_iban == IBAN
    assert child.payee_name == "Sabine Müller"
    assert not child.facts_confirmed
    assert child.application_date == TODAY
    # Taking over twice creates nothing new.
    again = services.take_over_children(fall, SYSTEM)
    assert again.created == []
    kinds = list(db.session.scalars(select(FallEvent.kind).where(FallEvent.fall_id == fall.id)))
    assert kinds.count(services.UvgEventKind.CHECK_STARTED) == 1


def two_children_answers(**overrides: object) -> dict[str, object]:
    values = answers(**overrides)
    values["children"] = [*values["children"], {"id": "k2", "person": {
        "first_name": "Ben", "last_name": "Müller", "birth_date": "2015-06-02",
        "nationality": "german", "living_since": "2015-06-02"}}]
    return values


BEN = Party("child", "Ben", "Müller", "2015-06-02")


def test_amounts_named_for_several_children_go_to_none_of_them(
        applied_case: Callable[..., Fall]) -> None:
    # § 2 Abs. 3 UVG deducts from each child's claim what that child gets. An application for
    # two children names one total: copied to both, it was deducted twice.
    values = two_children_answers(
        other_parent={"first_name": "Tom", "last_name": "Schmidt",
                      "maintenance_paid": "regular", "maintenance_amount": 12_050},
        orphan={"receives": "yes", "kind": "Halbwaisenrente für Lea", "amount": 20_000})
    fall = applied_case(values, parties=(CHILD, BEN, APPLICANT))
    result = services.take_over_children(fall, SYSTEM)
    assert sorted(child.application_key or "" for child in result.created) == ["k1", "k2"]
    for child in result.created:
        assert child.maintenance_cents == 0
        assert child.orphan_benefit_cents == 0
        assert child.payee_iban == IBAN  # what is the same for every child is still taken over
    assert result.to_split == services.SharedAmounts(12_050, 20_000)
    # Taken over already: nothing left to split the second time.
    assert not services.take_over_children(fall, SYSTEM).to_split


def test_one_child_gets_the_amounts_and_nothing_is_left_to_split(
        applied_case: Callable[..., Fall]) -> None:
    fall = applied_case(answers(orphan={"receives": "yes", "amount": 3_000}))
    result = services.take_over_children(fall, SYSTEM)
    [child] = result.created
    assert (child.maintenance_cents, child.orphan_benefit_cents) == (5_000, 3_000)
    assert not result.to_split


def test_hostile_answers_are_ignored_not_trusted(applied_case: Callable[..., Fall]) -> None:
    values = answers(other_parent={"maintenance_paid": "regular",
                                   "maintenance_amount": "1000; DROP TABLE"},
                     orphan={"receives": "yes", "amount": -500},
                     bank={"account_holder": ["x"], "iban": "DE00 kaputt"})
    values["children"][0]["school"] = {"attends_school": "no", "earnings": 10**12}
    fall = applied_case(values)
    child = taken_over(fall)
    assert child.maintenance_cents == 0
    assert child.orphan_benefit_cents == 0
    assert child.child_income_cents == 0
    assert child.payee_iban is None


def test_the_checklist_reads_the_answers_and_names_the_evidence(
        applied_case: Callable[..., Fall]) -> None:
    fall = applied_case(with_documents=True)
    child = taken_over(fall)
    results = {r.code: r for r in services.checklist_of(
        child, services.application_of(fall), services.evidence_of(fall))}
    assert results[eligibility.AGE].state is ConditionState.MET
    assert results[eligibility.AGE].evidence_document_ids
    assert results[eligibility.APPLICANT_STATUS].state is ConditionState.MET
    assert results[eligibility.APPLICANT_STATUS].evidence_document_ids
    assert results[eligibility.NOT_WITH_OTHER_PARENT].state is ConditionState.MET
    assert results[eligibility.MAINTENANCE].state is ConditionState.MET
    assert results[eligibility.SECTION_1A].state is ConditionState.MET  # under 12
    assert eligibility.overall(list(results.values())) is ConditionState.MET


@pytest.mark.parametrize(("override", "condition", "state"), [
    ({"applicant": {"marital_status": "married_together", "lives_with_other_parent": "no"}},
     eligibility.NOT_MARRIED, ConditionState.NOT_MET),
    ({"applicant": {"marital_status": "single", "lives_with_other_parent": "yes"}},
     eligibility.NOT_WITH_OTHER_PARENT, ConditionState.NOT_MET),
    ({"other_parent": {"maintenance_paid": "regular", "maintenance_amount": 30_000}},
     eligibility.MAINTENANCE, ConditionState.NOT_MET),
    ({"other_parent": {"maintenance_paid": "no"}}, eligibility.COOPERATION,
     ConditionState.OPEN),
    ({"benefits": {"youth_welfare": True}}, eligibility.NO_YOUTH_WELFARE,
     ConditionState.NOT_MET),
])
def test_answers_that_rule_the_benefit_out_show_as_not_met_or_open(
        applied_case: Callable[..., Fall], override: dict[str, object], condition: str,
        state: ConditionState) -> None:
    fall = applied_case(answers(**override))
    child = taken_over(fall)
    results = {r.code: r for r in services.checklist_of(child, services.application_of(fall),
                                                         {})}
    assert results[condition].state is state


def test_a_foreign_child_needs_the_residence_title_checked(
        applied_case: Callable[..., Fall]) -> None:
    values = answers()
    values["children"][0]["person"]["nationality"] = "other"
    fall = applied_case(values)
    child = taken_over(fall)
    results = {r.code: r for r in services.checklist_of(child, services.application_of(fall),
                                                         {})}
    assert results[eligibility.RESIDENCE].state is ConditionState.OPEN
    services.assess_condition(child, eligibility.RESIDENCE, ConditionState.MET,
                              "Niederlassungserlaubnis gesehen", SYSTEM)
    db.session.commit()
    results = {r.code: r for r in services.checklist_of(child, services.application_of(fall),
                                                         {})}
    assert results[eligibility.RESIDENCE].state is ConditionState.MET
    assert results[eligibility.RESIDENCE].from_caseworker
    audit = db.session.scalar(select(AuditEntry).where(
        AuditEntry.action == "uvg.condition_assessed"))
    assert audit is not None


def test_a_finding_needs_a_note_and_a_known_condition(applied_case: Callable[..., Fall]) -> None:
    child = taken_over(applied_case())
    with pytest.raises(services.UvgRefused):
        services.assess_condition(child, eligibility.AGE, ConditionState.MET, "  ", SYSTEM)
    with pytest.raises(services.UvgRefused):
        services.assess_condition(child, "erfunden", ConditionState.MET, "x", SYSTEM)
    with pytest.raises(services.UvgRefused):
        services.assess_condition(child, eligibility.AGE, ConditionState.MET, "x" * 2001,
                                  SYSTEM)


def test_a_paper_case_without_answers_leaves_the_conditions_open(
        app_ctx: None, create_case: Callable[..., Fall]) -> None:
    fall = create_case()
    child = taken_over(fall)
    results = services.checklist_of(child, services.application_of(fall), {})
    assert eligibility.overall(results) is ConditionState.OPEN
    assert child.payee_iban is None
    assert child.application_date is not None


def test_a_child_without_birth_date_is_named_not_taken_over(
        app_ctx: None, create_case: Callable[..., Fall]) -> None:
    fall = create_case((PartyData("child", "Ohne", "Datum"),
                        PartyData("applicant", "Sabine", "Müller", None, "Weg 1")))
    result = services.take_over_children(fall, SYSTEM)
    assert result.created == []
    assert result.without_birth_date == ["Ohne Datum"]


def test_another_fachbereichs_case_is_refused(app_ctx: None,
                                              create_case: Callable[..., Fall]) -> None:
    fall = create_case(fachbereich="wohngeld")
    with pytest.raises(services.UvgRefused):
        services.take_over_children(fall, SYSTEM)


@pytest.mark.parametrize(("overrides", "message"), [
    ({"birth_date": date(2027, 1, 1)}, "future|Zukunft"),
    ({"birth_date": date(2000, 1, 1)}, "18"),
    ({"application_date": date(2026, 12, 24)}, "future|Zukunft"),
    ({"maintenance_cents": -100}, "negative|negativ"),
    ({"orphan_benefit_cents": 100_000 * 100 + 1}, "100,000|100.000"),
    ({"child_income_cents": 50_000}, "school|Schule"),
    ({"payee_iban": "DE00 1234"}, "IBAN"),
    ({"payee_bic": "kaputt"}, "BIC"),
])
def test_bad_facts_are_refused_and_nothing_changes(
        applied_case: Callable[..., Fall], overrides: dict[str, object], message: str) -> None:
    child = taken_over(applied_case())
    before = child.facts_version
    with pytest.raises(services.UvgRefused, match=message):
        confirm(child, **overrides)
    db.session.rollback()
    assert child.facts_version == before
    assert not child.facts_confirmed


def test_a_stale_form_version_is_refused(applied_case: Callable[..., Fall]) -> None:
    child = taken_over(applied_case())
    facts = services.ConfirmedFacts(
        birth_date=child.birth_date, application_date=TODAY, requested_from=None,
        maintenance_cents=0, orphan_benefit_cents=0, child_income_cents=0, left_school=False,
        trainee=False, payee_name="Sabine Müller", payee_iban=IBAN)
    with pytest.raises(services.UvgRefused, match=r"meantime|Zwischenzeit"):
        services.confirm_facts(child, facts, SYSTEM, expected_version=child.version + 1,
                               today=TODAY)


def test_the_calculation_runs_from_the_month_before_the_application(
        applied_case: Callable[..., Fall]) -> None:
    child = taken_over(applied_case())
    with pytest.raises(services.UvgRefused, match=r"Confirm|[Bb]estätigen"):
        services.calculate_child(child, SYSTEM, today=TODAY)
    db.session.rollback()
    confirm(child)
    calculation = services.calculate_child(child, SYSTEM, today=TODAY)
    db.session.commit()
    # § 4 UVG: from October for an application of November; § 1 Abs. 1a not yet established,
    # so up to the 12th birthday (14.03.2030): the day before it ends the entitlement.
    assert calculation.first_month == date(2026, 10, 1)
    assert calculation.last_month == date(2030, 3, 1)
    first = calculation.months[0]
    # 6–11 band 2026: 299 EUR, less 50 EUR maintenance = 249 EUR (§ 2 Abs. 3 Nr. 1 UVG).
    assert first["age_band"] == "6-11"
    assert first["paid_cents"] == 24_900
    assert first["deductions"][0]["kind"] == "maintenance"
    last = calculation.months[-1]
    assert last["days"] == 13  # 1 to 13 March 2030
    assert services.current_calculation(child) is calculation


def test_a_finding_on_section_1a_extends_the_period_to_18(
        applied_case: Callable[..., Fall]) -> None:
    child = taken_over(applied_case())
    confirm(child)
    services.assess_condition(child, eligibility.SECTION_1A, ConditionState.MET,
                              "Kein SGB II", SYSTEM)
    calculation = services.calculate_child(child, SYSTEM, today=TODAY)
    assert calculation.last_month == date(2036, 3, 1)


def test_confirming_new_facts_outdates_the_calculation(
        applied_case: Callable[..., Fall]) -> None:
    child = taken_over(applied_case())
    confirm(child)
    services.calculate_child(child, SYSTEM, today=TODAY)
    confirm(child, maintenance_cents=0)
    assert services.current_calculation(child) is None
    assert db.session.scalar(select(func.count(UvgCalculation.id))) == 1
    assert child.status is UvgChildStatus.APPLIED


def test_the_demo_data_loads_a_granted_and_a_waiting_case(app_ctx: None) -> None:
    from backoffice.uvg.case_demo import load_demo

    granted, waiting = load_demo(TODAY)
    db.session.commit()
    (child,) = services.children_of(granted)
    assert child.status is UvgChildStatus.GRANTED
    assert services.entitlements_of(child)
    (other,) = services.children_of(waiting)
    assert other.status is UvgChildStatus.APPLIED
    assert not other.facts_confirmed
