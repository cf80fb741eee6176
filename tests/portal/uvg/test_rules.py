"""Which pages and documents the answers call for: pure rules, no app."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal.uvg import rules

TODAY = date(2026, 6, 15)


def _child(child_id: str, born: date, **parts: dict[str, Any]) -> dict[str, Any]:
    return {"id": child_id, "person": {"birth_date": born.isoformat(), "nationality": "german"},
            **parts}


@pytest.mark.parametrize(("born", "day", "age"), [
    (date(2014, 6, 15), TODAY, 12),   # the 12th birthday itself counts (§ 1 Abs. 1a UVG)
    (date(2014, 6, 16), TODAY, 11),
    (date(2008, 6, 15), TODAY, 18),
    (date(2008, 2, 29), date(2026, 2, 28), 17),
    (date(2008, 2, 29), date(2026, 3, 1), 18),
])
def test_age_counts_completed_years(born: date, day: date, age: int) -> None:
    assert rules.age_on(born, day) == age


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 1, 1)),
       st.integers(min_value=0, max_value=30000))
def test_age_never_decreases_over_time(born: date, days: int) -> None:
    later = born + timedelta(days=days)
    assert rules.age_on(born, later) >= 0
    assert rules.age_on(born, later + timedelta(days=1)) >= rules.age_on(born, later)


@pytest.mark.parametrize(("age", "sgb2", "school"), [
    (11, False, False), (12, True, False), (14, True, False), (15, True, True),
    (17, True, True), (18, False, False),
])
def test_pages_for_a_child_follow_its_age(age: int, sgb2: bool, school: bool) -> None:
    answers = {"children": [_child("k1", date(TODAY.year - age, 1, 1))]}
    ids = [step.id for step in rules.step_sequence(answers, TODAY)]
    assert ("sgb2:k1" in ids) is sgb2
    assert ("school:k1" in ids) is school
    assert ids[:2] == ["person:k1", "children"]
    assert ids[-1] == "declarations"


def test_first_open_step_skips_done_pages() -> None:
    answers = {"children": [_child("k1", date(2020, 1, 1))],
               "done": ["children", "person:k1", "applicant"]}
    step = rules.first_open_step(answers, TODAY)
    assert step is not None
    assert step.id == "other_parent"
    everything = [step.id for step in rules.step_sequence(answers, TODAY)]
    assert rules.first_open_step({**answers, "done": everything}, TODAY) is None


@pytest.mark.parametrize(("status", "paternity", "maintenance", "expected"), [
    ("single", "yes", "no", {"paternity_proof"}),
    ("single", "no", "no", set()),
    ("separated", None, "regular", {"separation_proof", "maintenance_title"}),
    ("divorced", None, "irregular", {"separation_proof", "maintenance_title"}),
    ("widowed", None, "no", {"death_certificate"}),
    ("married_together", None, "no", set()),
])
def test_documents_follow_the_family_situation(status: str, paternity: str | None,
                                               maintenance: str, expected: set[str]) -> None:
    answers = {"children": [_child("k1", date(2020, 1, 1))],
               "applicant": {"marital_status": status},
               "other_parent": {"paternity_established": paternity,
                                "maintenance_paid": maintenance}}
    kinds = {req.key for req in rules.required_documents(answers, TODAY)}
    assert kinds == {"birth_certificate:k1", "meldebescheinigung"} | expected


def test_documents_for_each_child() -> None:
    answers = {"children": [
        _child("k1", date(2013, 1, 1), sgb2={"child_sgb2": "yes"}),
        _child("k2", date(2009, 1, 1), school={"attends_school": "no"}),
        {"id": "k3", "person": {"birth_date": "2019-05-05", "nationality": "other"}},
    ]}
    keys = {req.key for req in rules.required_documents(answers, TODAY)}
    assert {"birth_certificate:k1", "birth_certificate:k2", "birth_certificate:k3",
            "jobcenter_decision", "child_income:k2", "residence_title:k3"} <= keys
    assert "child_income:k1" not in keys


def test_answers_that_rule_the_benefit_out_give_notes() -> None:
    answers = {"children": [_child("k1", date(2007, 1, 1)),
                            _child("k2", date(2012, 1, 1),
                                   sgb2={"child_sgb2": "yes", "parent_income_600": "no"})],
               "applicant": {"marital_status": "married_together",
                             "lives_with_other_parent": "yes"},
               "benefits": {"youth_welfare": True}}
    notes = {(note.code, note.child_id) for note in rules.eligibility_notes(answers, TODAY)}
    assert notes == {("married_together", None), ("lives_with_other_parent", None),
                     ("youth_welfare", None), ("adult", "k1"), ("sgb2", "k2")}


def test_broken_answers_do_not_crash_the_rules() -> None:
    answers: dict[str, Any] = {"children": ["nonsense", {"id": "k1", "person": {
        "birth_date": "2020-02-31"}}], "applicant": [], "done": "x"}
    assert [step.id for step in rules.step_sequence(answers, TODAY)][:2] == [
        "person:k1", "children"]
    assert rules.eligibility_notes(answers, TODAY) == []
