"""Forms of the UVG case: the confirmed facts, a finding on a condition, the calculation period,
the decision, a reported change."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from amtsweg.forms import GermanDateField
from amtsweg.translate import lazy_gettext as _l
from backoffice.uvg.calculator_forms import MoneyField, MonthField
from backoffice.uvg.models import (
    CONDITION_STATE_LABELS,
    UVG_CHANGE_KIND_LABELS,
    UVG_END_REASON_LABELS,
    ConditionState,
    UvgChangeKind,
    UvgEndReason,
)

MAX_NOTE = 2000


def _max(limit: int) -> Length:
    return Length(max=limit, message=_l("Enter at most %(max)s characters.", max=limit))


class FactsForm(FlaskForm):
    version = HiddenField()
    birth_date = GermanDateField(_l("Child's date of birth"), validators=[
        InputRequired(message=_l("Enter the child's date of birth."))])
    application_date = GermanDateField(
        _l("Application received on"),
        validators=[InputRequired(message=_l("Enter the day the application arrived."))],
        description=_l("§ 4 UVG: at most the month before this month is paid."))
    requested_from = MonthField(_l("First month asked for"),
                                description=_l("MM.YYYY; empty: as early as § 4 UVG allows."))
    maintenance = MoneyField(_l("Maintenance paid by the other parent per month"),
                             description=_l("§ 2 Abs. 3 Nr. 1 UVG, in euros"))
    orphan_benefit = MoneyField(_l("Orphan benefits per month"),
                                description=_l("§ 2 Abs. 3 Nr. 2 UVG, in euros"))
    child_income = MoneyField(_l("The child's gross earnings per month"),
                              description=_l("§ 2 Abs. 4 UVG: only once the child has left "
                                             "general school"))
    left_school = BooleanField(_l("The child no longer attends a general school"))
    trainee = BooleanField(_l("The child is in vocational training (100 EUR more deducted "
                              "from the earnings)"))
    payee_name = StringField(_l("Account holder"), validators=[
        DataRequired(message=_l("Enter the account holder.")), _max(140)])
    payee_iban = StringField(_l("IBAN"), validators=[
        DataRequired(message=_l("Enter the IBAN.")), _max(42)])
    payee_bic = StringField(_l("BIC"), validators=[Optional(), _max(11)])


class AssessForm(FlaskForm):
    state = SelectField(_l("Finding"), choices=[
        SelectChoice(state.value, label) for state, label in CONDITION_STATE_LABELS.items()],
        validators=[InputRequired(message=_l("Choose the finding."))])
    note = TextAreaField(_l("Reason and evidence"), validators=[
        DataRequired(message=_l("Write down why: the note is part of the file.")),
        _max(MAX_NOTE)])

    def finding(self) -> ConditionState:
        return ConditionState(self.state.data)


class CalculateForm(FlaskForm):
    until = MonthField(_l("Calculate until"),
                       description=_l("MM.YYYY; empty: until the entitlement ends."))


DECISION_CHOICES = (
    ("bewilligung", _l("Bewilligung (granted)")),
    ("teilbewilligung", _l("Teilbewilligung (partly granted)")),
    ("ablehnung", _l("Ablehnung (refused)")),
)


class DecideForm(FlaskForm):
    kind = SelectField(_l("Decision"), choices=[SelectChoice(value, label)
                                                for value, label in DECISION_CHOICES],
                       validators=[InputRequired(message=_l("Choose the decision."))])


_UNCHANGED = ""
FLAG_CHOICES = (("", _l("unchanged")), ("yes", _l("yes")), ("no", _l("no")))


class ChangeForm(FlaskForm):
    version = HiddenField()
    kind = SelectField(_l("What changed"), choices=[
        SelectChoice(kind.value, label) for kind, label in UVG_CHANGE_KIND_LABELS.items()],
        validators=[InputRequired(message=_l("Choose what changed."))])
    effective_on = GermanDateField(_l("Takes effect on"), validators=[
        InputRequired(message=_l("Enter the day the change takes effect."))])
    reported_on = GermanDateField(_l("Reported on"), validators=[
        InputRequired(message=_l("Enter the day the change was reported."))])
    maintenance = MoneyField(_l("New maintenance per month"),
                             description=_l("Empty: unchanged"))
    orphan_benefit = MoneyField(_l("New orphan benefits per month"),
                                description=_l("Empty: unchanged"))
    child_income = MoneyField(_l("New gross earnings of the child per month"),
                              description=_l("Empty: unchanged"))
    left_school = SelectField(_l("The child has left general school"), choices=[
        SelectChoice(value, label) for value, label in FLAG_CHOICES], default="")
    trainee = SelectField(_l("The child is in vocational training"), choices=[
        SelectChoice(value, label) for value, label in FLAG_CHOICES], default="")
    abroad = BooleanField(_l("Moved abroad (ends the benefit)"))
    end_reason = SelectField(_l("Reason for the end (for an Einstellung)"), choices=[
        SelectChoice("", _l("Please choose"))] + [
        SelectChoice(reason.value, label) for reason, label in UVG_END_REASON_LABELS.items()],
        default="")
    note = TextAreaField(_l("Note for the file"), validators=[Optional(), _max(MAX_NOTE)])

    def change_kind(self) -> UvgChangeKind:
        return UvgChangeKind(self.kind.data)

    def chosen_end_reason(self) -> UvgEndReason | None:
        return UvgEndReason(self.end_reason.data) if self.end_reason.data else None

    @staticmethod
    def flag(value: str | None) -> bool | None:
        return None if not value else value == "yes"
