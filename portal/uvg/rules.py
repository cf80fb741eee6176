"""Which questions and which documents an application for Unterhaltsvorschuss needs.

Pure functions on the draft's answers (a JSON dict) and today's date: no Flask, no database.
The answers look like this (every part optional while the draft is being filled in)::

    {"children": [{"id": "k1", "person": {...}, "sgb2": {...}, "school": {...}}],
     "applicant": {...}, "other_parent": {...}, "orphan": {...}, "earlier": {...},
     "benefits": {...}, "bank": {...}, "declarations": {...},
     "documents_later": ["meldebescheinigung"], "done": ["applicant", "sgb2:k1"]}
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

# § 1 Abs. 1 UVG: children up to their 12th birthday; § 1 Abs. 1a: 12 to 17 under conditions;
# nothing from the 18th birthday.
SGB2_QUESTION_AGE = 12
ADULT_AGE = 18
# § 2 Abs. 4 UVG counts the child's own income once it no longer attends a general school;
# compulsory full-time schooling ends after 9 or 10 years, so the question starts at 15.
SCHOOL_QUESTION_AGE = 15

# Marital statuses of the applicant (§ 1 Abs. 1 Nr. 2 UVG).
SINGLE = "single"
SEPARATED = "separated"  # verheiratet, aber dauernd getrennt lebend
DIVORCED = "divorced"
WIDOWED = "widowed"
MARRIED_TOGETHER = "married_together"  # verheiratet / Lebenspartnerschaft, zusammenlebend
MARITAL_STATUSES = (SINGLE, SEPARATED, DIVORCED, WIDOWED, MARRIED_TOGETHER)

YES = "yes"
NO = "no"
NATIONALITY_GERMAN = "german"
NATIONALITY_EU = "eu"
NATIONALITY_OTHER = "other"
MAINTENANCE_REGULAR = "regular"
MAINTENANCE_IRREGULAR = "irregular"
MAINTENANCE_PAID = (MAINTENANCE_REGULAR, MAINTENANCE_IRREGULAR)


@dataclass(frozen=True)
class StepRef:
    """One question page of one draft: ``key`` names the page, ``child_id`` the child."""

    key: str
    child_id: str | None = None

    @property
    def id(self) -> str:
        return self.key if self.child_id is None else f"{self.key}:{self.child_id}"


@dataclass(frozen=True)
class Requirement:
    """A document the office needs; ``key`` is stable ("birth_certificate:k1")."""

    kind: str
    child_id: str | None = None

    @property
    def key(self) -> str:
        return self.kind if self.child_id is None else f"{self.kind}:{self.child_id}"


@dataclass(frozen=True)
class Note:
    """An answer that probably rules the benefit out: explained, never blocking (§ 1 UVG)."""

    code: str
    child_id: str | None = None


def parse_iso(value: Any) -> date | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def age_on(birth_date: date, day: date) -> int:
    """Completed years on ``day`` (a birthday counts from its own day)."""
    years = day.year - birth_date.year
    if (day.month, day.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years


def children(answers: dict[str, Any]) -> list[dict[str, Any]]:
    found = answers.get("children")
    return [child for child in found if isinstance(child, dict)] if isinstance(found, list) else []


def find_child(answers: dict[str, Any], child_id: str) -> dict[str, Any] | None:
    return next((child for child in children(answers) if child.get("id") == child_id), None)


def part(answers: dict[str, Any], key: str) -> dict[str, Any]:
    found = answers.get(key)
    return found if isinstance(found, dict) else {}


def child_part(child: dict[str, Any], key: str) -> dict[str, Any]:
    found = child.get(key)
    return found if isinstance(found, dict) else {}


def child_age(child: dict[str, Any], today: date) -> int | None:
    birth_date = parse_iso(child_part(child, "person").get("birth_date"))
    return None if birth_date is None else age_on(birth_date, today)


def asks_sgb2(child: dict[str, Any], today: date) -> bool:
    """§ 1 Abs. 1a UVG: the SGB II conditions apply to a child aged 12 to 17."""
    age = child_age(child, today)
    return age is not None and SGB2_QUESTION_AGE <= age < ADULT_AGE


def asks_school(child: dict[str, Any], today: date) -> bool:
    age = child_age(child, today)
    return age is not None and SCHOOL_QUESTION_AGE <= age < ADULT_AGE


def has_left_school(child: dict[str, Any], today: date) -> bool:
    return asks_school(child, today) and child_part(child, "school").get("attends_school") == NO


def step_sequence(answers: dict[str, Any], today: date) -> list[StepRef]:
    """Every question page this draft needs, in order; later pages follow earlier answers."""
    # Each child's own page first: resuming lands on a half-filled child, not on the list.
    steps = [StepRef("person", child["id"]) for child in children(answers)]
    steps.append(StepRef("children"))
    steps += [StepRef("applicant"), StepRef("other_parent"), StepRef("orphan")]
    steps += [StepRef("sgb2", child["id"]) for child in children(answers)
              if asks_sgb2(child, today)]
    steps += [StepRef("school", child["id"]) for child in children(answers)
              if asks_school(child, today)]
    steps += [StepRef("earlier"), StepRef("benefits"), StepRef("bank"), StepRef("documents"),
              StepRef("declarations")]
    return steps


def done_steps(answers: dict[str, Any]) -> set[str]:
    found = answers.get("done")
    return {str(item) for item in found} if isinstance(found, list) else set()


def first_open_step(answers: dict[str, Any], today: date) -> StepRef | None:
    """The first page not yet answered, or ``None`` when everything is there."""
    done = done_steps(answers)
    return next((step for step in step_sequence(answers, today) if step.id not in done), None)


def required_documents(answers: dict[str, Any], today: date) -> list[Requirement]:
    """The documents the answers call for (DOMAIN.md §4, typical attachments)."""
    applicant = part(answers, "applicant")
    other_parent = part(answers, "other_parent")
    status = applicant.get("marital_status")
    needed = [Requirement("birth_certificate", child["id"]) for child in children(answers)]
    needed.append(Requirement("meldebescheinigung"))
    if status in (SEPARATED, DIVORCED):
        needed.append(Requirement("separation_proof"))
    if status == WIDOWED:
        needed.append(Requirement("death_certificate"))
    if other_parent.get("maintenance_paid") in MAINTENANCE_PAID:
        needed.append(Requirement("maintenance_title"))
    if status == SINGLE and other_parent.get("paternity_established") == YES:
        needed.append(Requirement("paternity_proof"))
    if part(answers, "orphan").get("receives") == YES:
        needed.append(Requirement("orphan_benefit_notice"))
    if any(asks_sgb2(child, today) and child_part(child, "sgb2").get("child_sgb2") == YES
           for child in children(answers)):
        needed.append(Requirement("jobcenter_decision"))
    for child in children(answers):
        if has_left_school(child, today):
            needed.append(Requirement("child_income", child["id"]))
        if child_part(child, "person").get("nationality") == NATIONALITY_OTHER:
            needed.append(Requirement("residence_title", child["id"]))
    return needed


def eligibility_notes(answers: dict[str, Any], today: date) -> list[Note]:
    """Answers under which § 1 UVG probably gives no claim; the office decides all the same."""
    notes: list[Note] = []
    applicant = part(answers, "applicant")
    if applicant.get("marital_status") == MARRIED_TOGETHER:
        notes.append(Note("married_together"))
    if applicant.get("lives_with_other_parent") == YES:
        notes.append(Note("lives_with_other_parent"))  # § 1 Abs. 3 UVG
    if part(answers, "benefits").get("youth_welfare"):
        notes.append(Note("youth_welfare"))  # § 1 Abs. 4 UVG
    for child in children(answers):
        age = child_age(child, today)
        if age is not None and age >= ADULT_AGE:
            notes.append(Note("adult", child["id"]))
        sgb2 = child_part(child, "sgb2")
        if (asks_sgb2(child, today) and sgb2.get("child_sgb2") == YES
                and sgb2.get("parent_income_600") == NO):
            notes.append(Note("sgb2", child["id"]))  # § 1 Abs. 1a UVG
    return notes
