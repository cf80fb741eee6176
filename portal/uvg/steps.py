"""The question pages: where each one's answers live in the draft, and how they are shown.

A form's fields are the single source of the questions: the page, the check-answers summary
and the receipt all take their labels from the same field, so they cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from wtforms import BooleanField, Field

from amtsweg.translate import gettext as _
from amtsweg.translate import lazy_gettext as _l
from portal.uvg import rules
from portal.uvg.fields import ChoiceField, DateField, MoneyField
from portal.uvg.forms import (
    ApplicantForm,
    BankForm,
    BenefitsForm,
    ChildForm,
    DeclarationsForm,
    EarlierForm,
    OrphanForm,
    OtherParentForm,
    SchoolForm,
    Sgb2Form,
    StepContext,
    StepForm,
)


@dataclass(frozen=True)
class Step:
    key: str
    slug: str  # the URL segment
    title: Any
    form: type[StepForm]
    per_child: bool = False
    intro: str = ""  # a template with explanations shown above the questions


FORM_STEPS: dict[str, Step] = {step.key: step for step in (
    Step("person", "kind", _l("About the child"), ChildForm, per_child=True,
         intro="portal/uvg/intro/person.html"),
    Step("applicant", "antragsteller", _l("About you"), ApplicantForm,
         intro="portal/uvg/intro/applicant.html"),
    Step("other_parent", "anderer-elternteil", _l("The other parent"), OtherParentForm,
         intro="portal/uvg/intro/other_parent.html"),
    Step("orphan", "waisenbezuege", _l("Orphan benefits"), OrphanForm),
    Step("sgb2", "buergergeld", _l("Bürgergeld for children aged 12 to 17"), Sgb2Form,
         per_child=True, intro="portal/uvg/intro/sgb2.html"),
    Step("school", "schule-und-einkommen", _l("School and income of the child"), SchoolForm,
         per_child=True, intro="portal/uvg/intro/school.html"),
    Step("earlier", "frueherer-unterhaltsvorschuss", _l("Earlier Unterhaltsvorschuss"),
         EarlierForm),
    Step("benefits", "andere-leistungen", _l("Other benefits"), BenefitsForm,
         intro="portal/uvg/intro/benefits.html"),
    Step("bank", "bankverbindung", _l("Bank account"), BankForm,
         intro="portal/uvg/intro/bank.html"),
    Step("declarations", "erklaerungen", _l("Declarations"), DeclarationsForm,
         intro="portal/uvg/intro/declarations.html"),
)}
STEPS_BY_SLUG = {step.slug: step for step in FORM_STEPS.values()}
# Pages that are not a question form of their own.
CHILDREN_SLUG = "kinder"
DOCUMENTS_SLUG = "unterlagen"


def stored(answers: dict[str, Any], step: Step, child: dict[str, Any] | None) -> dict[str, Any]:
    source = child if step.per_child else answers
    return rules.part(source or {}, step.key)


def to_json(field: Field) -> Any:
    if isinstance(field.data, date):
        return field.data.isoformat()
    return field.data


def form_data(form_class: type[StepForm], values: dict[str, Any]) -> dict[str, Any]:
    """The stored answers as Python values for the form's ``data=``."""
    result = {}
    for name, value in values.items():
        field_class = getattr(getattr(form_class, name, None), "field_class", None)
        if isinstance(field_class, type) and issubclass(field_class, DateField):
            result[name] = rules.parse_iso(value)
        else:
            result[name] = value
    return result


def collect(form: StepForm, *, only_valid: bool) -> dict[str, Any]:
    """The form's answers as JSON values; questions that do not apply are left out, so a
    changed answer leaves no stale amounts behind."""
    values = {}
    for field in form.answer_fields():
        if only_valid and field.errors:
            continue
        if not form.is_relevant(field.name):
            continue
        values[field.name] = to_json(field)
    return values


# --- showing answers --------------------------------------------------------------------------


def format_cents(cents: int) -> str:
    euros, rest = divmod(cents, 100)
    return f"{euros:,}".replace(",", ".") + f",{rest:02d} €"


def display(field: Field) -> str:
    data = field.data
    if isinstance(field, BooleanField):
        return str(_("Yes") if data else _("No"))
    if data in (None, ""):
        return "–"
    if isinstance(field, ChoiceField):
        return str(field.label_of(data) or data)
    if isinstance(field, DateField) and isinstance(data, date):
        return data.strftime("%d.%m.%Y")
    if isinstance(field, MoneyField) and isinstance(data, int):
        return format_cents(data)
    return str(data)


@dataclass(frozen=True)
class Row:
    label: str
    value: str


def rows(step: Step, values: dict[str, Any], context: StepContext) -> list[Row]:
    """The answers of one page as label/value pairs, only the questions that applied."""
    form = step.form(formdata=None, data=form_data(step.form, values), meta={"csrf": False})
    form.setup(context)
    return [Row(str(field.label.text), display(field)) for field in form.answer_fields()
            if form.is_relevant(field.name)]
