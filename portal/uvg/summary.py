"""Every answer grouped by topic, for the check-answers page, the receipt and the clearing queue."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from amtsweg.translate import gettext as _
from amtsweg.translate import lazy_gettext as _l
from portal.models import Draft
from portal.receipt import SummarySection
from portal.services import Party
from portal.uvg import rules
from portal.uvg.forms import StepContext
from portal.uvg.steps import FORM_STEPS, Step, rows, stored

REQUIREMENT_LABELS: dict[str, Any] = {
    "birth_certificate": _l("Birth certificate (Geburtsurkunde) of %(name)s"),
    "meldebescheinigung": _l("Meldebescheinigung (confirmation of registered address)"),
    "separation_proof": _l("Proof of separation or divorce (for example the divorce decree)"),
    "death_certificate": _l("Death certificate of the other parent"),
    "maintenance_title": _l("Proof of the maintenance (title, agreement or bank statements)"),
    "paternity_proof": _l("Acknowledgement of paternity or court decision"),
    "orphan_benefit_notice": _l("Notice of the orphan benefit (Rentenbescheid)"),
    "jobcenter_decision": _l("Latest decision of the Jobcenter (Bürgergeld-Bescheid)"),
    "child_income": _l("Proof of income of %(name)s (payslips, training allowance, interest)"),
    "residence_title": _l("Residence title of %(name)s"),
}

NOTE_TEXTS: dict[str, Any] = {
    "married_together": _l(
        "You said you are married or in a civil partnership and live with your partner. "
        "Unterhaltsvorschuss is usually only paid to parents who bring up the child alone. "
        "You can still send the application: the office checks your case."),
    "lives_with_other_parent": _l(
        "You said you live together with the other parent. Then there is usually no "
        "Unterhaltsvorschuss (§ 1 Abs. 3 UVG). You can still send the application: the office "
        "checks your case."),
    "youth_welfare": _l(
        "If the child lives in a children's home or a foster family paid by the Jugendamt, "
        "there is usually no Unterhaltsvorschuss (§ 1 Abs. 4 UVG). The office checks your case."),
    "adult": _l(
        "%(name)s is 18 or older. Unterhaltsvorschuss is paid only until the 18th birthday. "
        "For months before the birthday a claim may still exist; the office checks it."),
    "sgb2": _l(
        "For %(name)s (12 to 17 years), Unterhaltsvorschuss is usually paid only if the child "
        "gets no Bürgergeld or you earn at least 600 euros gross a month (§ 1 Abs. 1a UVG). "
        "You can still send the application: the office checks your case."),
}


def child_name(answers: dict[str, Any], child_id: str | None) -> str:
    child = rules.find_child(answers, child_id) if child_id else None
    person = rules.child_part(child or {}, "person")
    name = " ".join(str(person.get(key) or "") for key in ("first_name", "last_name")).strip()
    return name or _("the child")


def requirement_label(answers: dict[str, Any], requirement: rules.Requirement) -> str:
    # Translated first, then filled in: the name is the citizen's text, never a msgid.
    return str(REQUIREMENT_LABELS[requirement.kind]) % {
        "name": child_name(answers, requirement.child_id)}


def label_for_key(answers: dict[str, Any], key: str) -> str:
    kind, _sep, child_id = key.partition(":")
    if kind not in REQUIREMENT_LABELS:
        return key
    return requirement_label(answers, rules.Requirement(kind, child_id or None))


def note_text(answers: dict[str, Any], note: rules.Note) -> str:
    return str(NOTE_TEXTS[note.code]) % {"name": child_name(answers, note.child_id)}


@dataclass(frozen=True)
class Entry:
    label: str
    value: str
    step: Step | None = None
    child_id: str | None = None


@dataclass
class Group:
    title: str
    entries: list[Entry] = field(default_factory=list)


def _entries(step: Step, answers: dict[str, Any], today: date, child: dict[str, Any] | None,
             email: str) -> list[Entry]:
    context = StepContext(answers, today, child, email)
    values = stored(answers, step, child)
    child_id = str(child["id"]) if child else None
    return [Entry(row.label, row.value, step, child_id)
            for row in rows(step, values, context)]


def build_groups(answers: dict[str, Any], today: date, email: str = "") -> list[Group]:
    groups = []
    for number, child in enumerate(rules.children(answers), start=1):
        group = Group(_("Child %(number)s: %(name)s", number=number,
                        name=child_name(answers, str(child["id"]))))
        group.entries += _entries(FORM_STEPS["person"], answers, today, child, email)
        if rules.asks_sgb2(child, today):
            group.entries += _entries(FORM_STEPS["sgb2"], answers, today, child, email)
        if rules.asks_school(child, today):
            group.entries += _entries(FORM_STEPS["school"], answers, today, child, email)
        groups.append(group)
    for key in ("applicant", "other_parent", "orphan", "earlier", "benefits", "bank",
                "declarations"):
        step = FORM_STEPS[key]
        groups.append(Group(str(step.title), _entries(step, answers, today, None, email)))
    return groups


def outstanding_documents(draft: Draft, today: date) -> list[str]:
    """Labels of required documents the citizen will send later."""
    later = set(draft.answers.get("documents_later") or [])
    have = {item.requirement for item in draft.documents}
    return [requirement_label(draft.answers, requirement)
            for requirement in rules.required_documents(draft.answers, today)
            if requirement.key in later and requirement.key not in have]


def missing_documents(draft: Draft, today: date) -> list[str]:
    """Labels of required documents with neither a file nor "I will send it later"."""
    later = set(draft.answers.get("documents_later") or [])
    have = {item.requirement for item in draft.documents}
    return [requirement_label(draft.answers, requirement)
            for requirement in rules.required_documents(draft.answers, today)
            if requirement.key not in have and requirement.key not in later]


def receipt_sections(draft: Draft, today: date, email: str) -> list[SummarySection]:
    sections = [SummarySection(group.title, [(entry.label, entry.value)
                                             for entry in group.entries])
                for group in build_groups(draft.answers, today, email)]
    outstanding = outstanding_documents(draft, today)
    if outstanding:
        sections.append(SummarySection(_("Documents to be sent later"),
                                       [(label, _("outstanding")) for label in outstanding]))
    return sections


def parties(answers: dict[str, Any]) -> list[Party]:
    """The people named in the application, for clearing to match and open a case."""
    found = []
    for child in rules.children(answers):
        person = rules.child_part(child, "person")
        found.append(Party("child", str(person.get("first_name") or ""),
                           str(person.get("last_name") or ""), person.get("birth_date")))
    applicant = rules.part(answers, "applicant")
    found.append(Party("applicant", str(applicant.get("first_name") or ""),
                       str(applicant.get("last_name") or ""), applicant.get("birth_date"),
                       _address(applicant)))
    other = rules.part(answers, "other_parent")
    if other.get("first_name") or other.get("last_name"):
        found.append(Party("other_parent", str(other.get("first_name") or ""),
                           str(other.get("last_name") or ""), other.get("birth_date"),
                           _address(other)))
    return found


def _address(values: dict[str, Any]) -> str | None:
    if not values.get("street"):
        return None
    return f"{values.get('street')}, {values.get('postcode') or ''} {values.get('city') or ''}"
