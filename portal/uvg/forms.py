"""The question pages of the application, one form per topic (DOMAIN.md §4, form content)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, Field, StringField
from wtforms.validators import DataRequired, Email, Length, Optional, Regexp

from amtsweg.translate import gettext as _
from amtsweg.translate import lazy_gettext as _l
from portal.uvg import rules
from portal.uvg.fields import (
    ChoiceField,
    DateField,
    IbanField,
    MoneyField,
    choice,
    require,
    yes_no_field,
)

NAME_LENGTH = 100
TEXT_LENGTH = 300


_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


def _strip(value: Any) -> Any:
    # One-line answers: control characters are never meant, and a NUL byte would be refused by
    # PostgreSQL text columns further down the line (clearing's sender, case parties).
    return _CONTROL_CHARACTERS.sub("", value).strip() if isinstance(value, str) else value


def _max(length: int) -> Length:
    return Length(max=length, message=_l("Enter at most %(max)s characters.", max=length))


def text(label: Any, message: Any = None, length: int = NAME_LENGTH, **kwargs: Any) -> StringField:
    first = DataRequired(message=message) if message is not None else Optional()
    return StringField(label, [first, _max(length)], filters=[_strip], **kwargs)


def postcode(label: Any, message: Any = None) -> StringField:
    first = DataRequired(message=message) if message is not None else Optional()
    return StringField(label, [first, Regexp(r"^\d{5}$", message=_l(
        "Enter a German postcode with 5 digits, for example 93047."))], filters=[_strip],
        render_kw={"inputmode": "numeric", "autocomplete": "postal-code"})


@dataclass(frozen=True)
class StepContext:
    """What a page needs to know besides its own answers."""

    answers: dict[str, Any]
    today: date
    child: dict[str, Any] | None = None
    account_email: str = ""

    @property
    def several_children(self) -> bool:
        """Questions asked once for the whole application then speak of all the children."""
        return len(rules.children(self.answers)) > 1

    @property
    def child_name(self) -> str:
        person = rules.child_part(self.child or {}, "person")
        return str(person.get("first_name") or _("the child"))


@dataclass(frozen=True)
class Condition:
    """``field`` is asked only when ``controller`` has one of ``values``; then ``message``
    (if any) makes it required."""

    controller: str
    values: tuple[Any, ...]
    message: Any = None


class StepForm(FlaskForm):
    """A question page. Subclasses list their conditional questions in ``CONDITIONS``."""

    CONDITIONS: ClassVar[dict[str, Condition]] = {}

    @classmethod
    def prefill(cls, context: StepContext) -> dict[str, Any]:
        """Values to offer on a page never answered (e.g. the account's e-mail address)."""
        return {}

    def setup(self, context: StepContext) -> None:
        """Adapt the page to earlier answers (drop questions, name the child)."""

    def answer_fields(self) -> list[Field]:
        return [field for name, field in self._fields.items() if name != "csrf_token"]

    def is_relevant(self, name: str) -> bool:
        condition = self.CONDITIONS.get(name)
        if condition is None or condition.controller not in self._fields:
            return True
        return self._fields[condition.controller].data in condition.values

    def check(self, context: StepContext) -> bool:
        """Conditional questions: required only when the controlling answer asks for them."""
        ok = True
        for name, condition in self.CONDITIONS.items():
            if name in self._fields and condition.message is not None and self.is_relevant(name):
                ok = require(self._fields[name], condition.message) and ok
        return ok


YES_NO = (rules.YES, rules.NO)


class ChildForm(StepForm):
    first_name = text(_l("First name"), _l("Enter the child's first name."),
                      render_kw={"autocomplete": "off"})
    last_name = text(_l("Last name"), _l("Enter the child's last name."),
                     render_kw={"autocomplete": "off"})
    birth_date = DateField(_l("Date of birth"), [DataRequired(_l("Enter the child's date of "
                                                                   "birth."))],
                           description=_l("For example 27.03.2019"))
    nationality = ChoiceField(_l("Nationality"), [
        choice(rules.NATIONALITY_GERMAN, _l("German")),
        choice(rules.NATIONALITY_EU, _l("Another EU country, EEA or Switzerland")),
        choice(rules.NATIONALITY_OTHER, _l("Another country")),
    ], _l("Select the child's nationality."))
    nationality_country = text(_l("Which nationality?"), length=TEXT_LENGTH,
                               description=_l("Only if another country"))
    residence_title = text(_l("Residence title of the child"), length=TEXT_LENGTH,
                           description=_l("Only if another country: as written on the "
                                          "residence document, for example "
                                          "Niederlassungserlaubnis."))
    living_since = DateField(_l("Living with you since"),
                             [DataRequired(_l("Enter since when the child lives with you."))],
                             description=_l("For example the date of birth or of the "
                                            "separation, as DD.MM.YYYY"))

    CONDITIONS: ClassVar[dict[str, Condition]] = {
        "nationality_country": Condition("nationality", (rules.NATIONALITY_OTHER,),
                                         _l("Enter the child's nationality.")),
        # § 1 Abs. 2a UVG: a child from outside the EU needs a qualifying residence title.
        "residence_title": Condition("nationality", (rules.NATIONALITY_OTHER,),
                                     _l("Enter the child's residence title.")),
    }

    def check(self, context: StepContext) -> bool:
        ok = super().check(context)
        born, since = self.birth_date.data, self.living_since.data
        if (isinstance(born, date) and isinstance(since, date) and since < born
                and not self.living_since.errors):
            self.living_since.errors = [_l("The date cannot be before the child's birth.")]
            ok = False
        return ok


MARITAL_LABELS = {
    rules.SINGLE: _l("Single (never married)"),
    rules.SEPARATED: _l("Married, but permanently separated"),
    rules.DIVORCED: _l("Divorced"),
    rules.WIDOWED: _l("Widowed"),
    rules.MARRIED_TOGETHER: _l("Married or in a civil partnership and living together"),
}


class ApplicantForm(StepForm):
    first_name = text(_l("First name"), _l("Enter your first name."),
                      render_kw={"autocomplete": "given-name"})
    last_name = text(_l("Last name"), _l("Enter your last name."),
                     render_kw={"autocomplete": "family-name"})
    birth_date = DateField(_l("Your date of birth"),
                           [DataRequired(_l("Enter your date of birth."))],
                           description=_l("For example 04.11.1990"))
    street = text(_l("Street and house number"), _l("Enter your street and house number."),
                  TEXT_LENGTH, render_kw={"autocomplete": "street-address"})
    postcode = postcode(_l("Postcode"), _l("Enter your postcode."))
    city = text(_l("Town or city"), _l("Enter your town or city."),
                render_kw={"autocomplete": "address-level2"})
    phone = StringField(_l("Phone number"), [Optional(), Regexp(
        r"^[0-9 +()/-]{5,30}$", message=_l("Enter a phone number with digits only, for "
                                           "example 0941 123456."))],
        filters=[_strip], description=_l("So that the office can call you with a question."),
        render_kw={"autocomplete": "tel", "inputmode": "tel"})
    email = StringField(_l("E-mail address"), [
        DataRequired(_l("Enter your e-mail address.")),
        Email(message=_l("Enter an e-mail address like name@example.org."),
              check_deliverability=False), _max(254)], filters=[_strip],
        render_kw={"autocomplete": "email"})
    marital_status = ChoiceField(_l("Your marital status"),
                                 [choice(key, label) for key, label in MARITAL_LABELS.items()],
                                 _l("Select your marital status."))
    marital_since = DateField(_l("In this marital status since"),
                              description=_l("Not needed if you have never been married."))
    lives_with_other_parent = yes_no_field(
        _l("Do you live together with the child's other parent?"),
        _l("Select whether you live together with the other parent."))

    CONDITIONS: ClassVar[dict[str, Condition]] = {
        "marital_since": Condition(
            "marital_status", (rules.SEPARATED, rules.DIVORCED, rules.WIDOWED,
                               rules.MARRIED_TOGETHER),
            _l("Enter since when you are in this marital status.")),
    }

    @classmethod
    def prefill(cls, context: StepContext) -> dict[str, Any]:
        return {"email": context.account_email}

    def setup(self, context: StepContext) -> None:
        if context.several_children:
            self.lives_with_other_parent.label.text = _(
                "Do you live together with the children's other parent?")


MAINTENANCE_LABELS = {
    rules.MAINTENANCE_REGULAR: _l("Yes, regularly"),
    rules.MAINTENANCE_IRREGULAR: _l("Yes, but irregularly or not the full amount"),
    rules.NO: _l("No"),
}


class OtherParentForm(StepForm):
    first_name = text(_l("First name of the other parent"),
                      render_kw={"autocomplete": "off"})
    last_name = text(_l("Last name of the other parent"),
                     render_kw={"autocomplete": "off"})
    birth_date = DateField(_l("Date of birth of the other parent"),
                           description=_l("If you know it"))
    address_known = yes_no_field(_l("Do you know where the other parent lives?"),
                                 _l("Select whether you know where the other parent lives."))
    street = text(_l("Street and house number"), length=TEXT_LENGTH,
                  description=_l("Only if you know the address"))
    postcode = postcode(_l("Postcode"))
    city = text(_l("Town or city"))
    paternity_established = yes_no_field(
        _l("Is paternity established?"),
        _l("Select whether paternity is established."),
        description=_l("By an acknowledgement of paternity or a court decision."))
    maintenance_paid = ChoiceField(_l("Does the other parent pay maintenance for the child?"),
                                   [choice(k, v) for k, v in MAINTENANCE_LABELS.items()],
                                   _l("Select whether the other parent pays maintenance."))
    maintenance_amount = MoneyField(_l("How much maintenance per month, in euros?"),
                                    description=_l("Only if maintenance is paid"))
    maintenance_since = DateField(_l("Maintenance paid since"),
                                  description=_l("Only if maintenance is paid"))

    CONDITIONS: ClassVar[dict[str, Condition]] = {
        "street": Condition("address_known", (rules.YES,),
                            _l("Enter the street of the other parent.")),
        "postcode": Condition("address_known", (rules.YES,),
                              _l("Enter the postcode of the other parent.")),
        "city": Condition("address_known", (rules.YES,),
                          _l("Enter the town or city of the other parent.")),
        "maintenance_amount": Condition("maintenance_paid", rules.MAINTENANCE_PAID,
                                        _l("Enter how much maintenance is paid per month.")),
        "maintenance_since": Condition("maintenance_paid", rules.MAINTENANCE_PAID,
                                       _l("Enter since when maintenance is paid.")),
    }

    def setup(self, context: StepContext) -> None:
        # Paternity needs establishing only where the parents were not married (§ 1592 BGB).
        applicant = rules.part(context.answers, "applicant")
        if applicant.get("marital_status") != rules.SINGLE:
            del self.paternity_established
        if context.several_children:
            # One amount for several children is their total: the office splits it per child
            # (§ 2 Abs. 3 Nr. 1 UVG deducts what each child gets), so the question says so.
            self.maintenance_paid.label.text = _("Does the other parent pay maintenance for "
                                                 "the children?")
            self.maintenance_amount.label.text = _("How much maintenance per month for all "
                                                   "children together, in euros?")

    def check(self, context: StepContext) -> bool:
        ok = super().check(context)
        # § 1 Abs. 3 UVG expects the applicant to help find the other parent: a name is needed
        # unless paternity is not established (then it may truly be unknown).
        paternity = getattr(self, "paternity_established", None)
        if paternity is None or paternity.data != rules.NO:
            ok = require(self.first_name, _l("Enter the first name of the other parent.")) and ok
            ok = require(self.last_name, _l("Enter the last name of the other parent.")) and ok
        return ok


class OrphanForm(StepForm):
    receives = yes_no_field(
        _l("Does the child receive orphan benefits?"),
        _l("Select whether the child receives orphan benefits."),
        description=_l("For example Waisenrente or damages because a parent or step-parent "
                       "died."))
    kind = text(_l("Which benefit, and from whom?"), length=TEXT_LENGTH,
                description=_l("Only if yes, for example Halbwaisenrente from the "
                               "Deutsche Rentenversicherung"))
    amount = MoneyField(_l("Amount per month, in euros"), description=_l("Only if yes"))

    CONDITIONS: ClassVar[dict[str, Condition]] = {
        "kind": Condition("receives", (rules.YES,), _l("Enter which benefit the child gets.")),
        "amount": Condition("receives", (rules.YES,), _l("Enter the amount per month.")),
    }

    def setup(self, context: StepContext) -> None:
        if not context.several_children:
            return
        # Orphan benefits are the child's own and deducted from its own claim only (§ 2 Abs. 3
        # Nr. 2 UVG): with several children the office must learn which child gets them.
        self.receives.label.text = _("Does one of the children receive orphan benefits?")
        self.kind.label.text = _("Which benefit, for which child, and from whom?")
        self.amount.label.text = _("Amount per month for all children together, in euros")


class Sgb2Form(StepForm):
    child_sgb2 = yes_no_field(_l("Does the child receive Bürgergeld (SGB II)?"),
                              _l("Select whether the child receives Bürgergeld."))
    parent_income_600 = yes_no_field(
        _l("Do you earn at least 600 euros gross per month yourself?"),
        _l("Select whether you earn at least 600 euros gross per month."),
        description=_l("Count your own income before deductions, without Kindergeld and "
                       "without Unterhaltsvorschuss."))

    def setup(self, context: StepContext) -> None:
        self.child_sgb2.label.text = _("Does %(name)s receive Bürgergeld (SGB II)?",
                                       name=context.child_name)


class SchoolForm(StepForm):
    attends_school = yes_no_field(
        _l("Does the child still attend a general school?"),
        _l("Select whether the child still attends a general school."),
        description=_l("General schools are for example Mittelschule, Realschule, Gymnasium. "
                       "A vocational school or a training does not count."))
    earnings = MoneyField(_l("Earnings from work per month, gross, in euros"),
                          description=_l("Only if the child no longer attends a general school"))
    training_allowance = MoneyField(_l("Training allowance per month, gross, in euros"),
                                    description=_l("Only if the child is in training"))
    asset_income = MoneyField(_l("Income from assets per month, in euros"),
                              description=_l("For example interest or rent"))

    CONDITIONS: ClassVar[dict[str, Condition]] = {
        # § 2 Abs. 4 UVG: only a child that has left general school has its income counted.
        "earnings": Condition("attends_school", (rules.NO,)),
        "training_allowance": Condition("attends_school", (rules.NO,)),
        "asset_income": Condition("attends_school", (rules.NO,)),
    }

    def setup(self, context: StepContext) -> None:
        self.attends_school.label.text = _("Does %(name)s still attend a general school?",
                                           name=context.child_name)


class EarlierForm(StepForm):
    received_before = yes_no_field(
        _l("Has Unterhaltsvorschuss been paid for one of the children before?"),
        _l("Select whether Unterhaltsvorschuss has been paid before."))
    earlier_from = DateField(_l("Paid from"), description=_l("Only if yes"))
    earlier_until = DateField(_l("Paid until"), description=_l("Only if yes; leave empty if "
                                                               "you do not know"))
    earlier_office = text(_l("Which office paid it?"), length=TEXT_LENGTH,
                          description=_l("Only if yes, for example Jugendamt Regensburg"))

    CONDITIONS: ClassVar[dict[str, Condition]] = {
        "earlier_from": Condition("received_before", (rules.YES,),
                                  _l("Enter since when it was paid.")),
        "earlier_until": Condition("received_before", (rules.YES,)),
        "earlier_office": Condition("received_before", (rules.YES,),
                                    _l("Enter which office paid it.")),
    }


class BenefitsForm(StepForm):
    buergergeld = BooleanField(_l("Bürgergeld (SGB II)"))
    sozialhilfe = BooleanField(_l("Sozialhilfe (SGB XII)"))
    youth_welfare = BooleanField(_l("Hilfe zur Erziehung, a children's home or a foster "
                                    "family (SGB VIII)"))
    unterhaltssicherung = BooleanField(_l("Unterhaltssicherung"))
    details = text(_l("Details"), length=TEXT_LENGTH,
                   description=_l("For example which office pays, and since when"))


class BankForm(StepForm):
    account_holder = text(_l("Account holder"), _l("Enter the name of the account holder."),
                          render_kw={"autocomplete": "name"})
    iban = IbanField(_l("IBAN"), [DataRequired(_l("Enter the IBAN."))],
                     description=_l("You find it on your bank card or bank statement."))


class DeclarationsForm(StepForm):
    report_changes = BooleanField(
        _l("I will tell the office without delay about every change, for example when the "
           "child moves, the other parent pays or I marry (§ 6 Abs. 4 UVG)."),
        [DataRequired(_l("Confirm that you will report changes without delay."))])
    repayment = BooleanField(
        _l("I know that I must pay back Unterhaltsvorschuss that was paid because of wrong or "
           "missing information (§ 5 UVG)."),
        [DataRequired(_l("Confirm that you know about the duty to pay back."))])
    truthful = BooleanField(
        _l("My answers are true and complete."),
        [DataRequired(_l("Confirm that your answers are true and complete."))])
    consent = BooleanField(
        _l("I agree that the office processes my data for this application and asks other "
           "bodies (§ 6 UVG) for the information it needs."),
        [DataRequired(_l("Confirm that you agree to the processing of your data."))])


class ContinueForm(FlaskForm):
    """A page with buttons only (the children list, check answers, delete)."""


def field_name(prefix: str, requirement: rules.Requirement) -> str:
    return f"{prefix}_{requirement.key.replace(':', '__')}"


def documents_form_class(labelled: list[tuple[rules.Requirement, str]],
                         later: set[str]) -> type[FlaskForm]:
    """One upload field and one "send later" box per document the answers call for."""

    class DocumentsForm(FlaskForm):
        pass

    for requirement, label in labelled:
        setattr(DocumentsForm, field_name("file", requirement), FileField(label))
        setattr(DocumentsForm, field_name("later", requirement), BooleanField(
            _l("I will send this document later"), default=requirement.key in later))
    return DocumentsForm
