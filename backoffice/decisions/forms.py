"""Forms for decisions and objections; choices are filled per case by the views."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]
from wtforms.validators import DataRequired, InputRequired, Length, StopValidation

from amtsweg.translate import lazy_gettext as _l
from backoffice.decisions.models import (
    DECISION_KIND_LABELS,
    OUTCOME_LABELS,
    DecisionKind,
    WiderspruchOutcome,
)
from backoffice.decisions.services import MAX_SUBJECT, MAX_TEXT


def _max(limit: int) -> Length:
    return Length(max=limit, message=_l("Enter at most %(max)s characters.", max=limit))


class DayField(StringField):
    """A date typed as TT.MM.JJJJ (or ISO); ``data`` is a date, the typed text survives errors."""

    data: date | None  # type: ignore[assignment]

    def process_formdata(self, valuelist: list[Any]) -> None:
        raw = str(valuelist[0]).strip() if valuelist else ""
        self.data = _parse(raw) if raw else None

    def pre_validate(self, form: FlaskForm) -> None:
        typed = str(self.raw_data[0]).strip() if self.raw_data else ""
        if typed and self.data is None:
            raise StopValidation(_l("Enter a real date in the form DD.MM.YYYY, e.g. "
                                    "01.03.2025."))

    def _value(self) -> str:
        if self.raw_data:
            return str(self.raw_data[0])
        return self.data.strftime("%d.%m.%Y") if self.data else ""


def _parse(raw: str) -> date | None:
    if len(raw) > 10:
        return None
    for pattern in ("%d.%m.%Y", "%Y-%m-%d"):
        try:
            parsed = datetime.strptime(raw, pattern).date()  # noqa: DTZ007  (a date)
        except ValueError:
            continue
        return parsed if parsed.year >= 1900 else None
    return None


def _kind_choices() -> list[Any]:
    return [SelectChoice(kind.value, DECISION_KIND_LABELS[kind]) for kind in DecisionKind]


class DecisionForm(FlaskForm):
    kind = SelectField(_l("Kind of decision"), choices=_kind_choices,
                       validators=[InputRequired(_l("Choose the kind of decision."))])
    addressee = SelectField(_l("Addressee"), coerce=str, validate_choice=True,
                            description=_l("The person the Bescheid is addressed to."))
    subject = StringField(_l("Subject line"), validators=[_max(MAX_SUBJECT)],
                          description=_l("For example: Bescheid über Unterhaltsvorschuss "
                                         "für Lea Müller"))
    decision_date = DayField(_l("Date of the decision"),
                             description=_l("DD.MM.YYYY. Empty: the day it is issued."))
    tenor = TextAreaField(_l("Tenor"), validators=[_max(MAX_TEXT)],
                          description=_l("What is decided, in plain words."))
    begruendung = TextAreaField(_l("Begründung"), validators=[_max(MAX_TEXT)],
                                description=_l("The essential facts and legal reasons "
                                               "(§ 35 SGB X)."))


class IssueForm(FlaskForm):
    posted_on = DayField(_l("Date of posting (letters on paper only)"),
                         description=_l("DD.MM.YYYY. Empty: today."))


class ObjectionForm(FlaskForm):
    decision = SelectField(_l("Bescheid objected to"), coerce=str,
                           validators=[DataRequired(_l("Choose the Bescheid the objection is "
                                                       "against."))])
    received_on = DayField(_l("Date of receipt"),
                           validators=[InputRequired(_l("Enter the date the objection "
                                                        "arrived."))])
    note = TextAreaField(_l("Note"), validators=[_max(MAX_TEXT)])


class AttachObjectionForm(FlaskForm):
    decision = SelectField(_l("Bescheid objected to"), coerce=str,
                           validators=[DataRequired(_l("Choose the Bescheid the objection is "
                                                       "against."))])


class ForwardForm(FlaskForm):
    forwarded_on = DayField(_l("Date sent to the Widerspruchsbehörde"),
                            validators=[InputRequired(_l("Enter the date it was sent."))])


def _outcome_choices() -> list[Any]:
    return [SelectChoice("", _l("Please choose"))] + [
        SelectChoice(outcome.value, OUTCOME_LABELS[outcome]) for outcome in WiderspruchOutcome]


class OutcomeForm(FlaskForm):
    outcome = SelectField(_l("Outcome"), choices=_outcome_choices,
                          validators=[DataRequired(_l("Choose the outcome."))])
    outcome_on = DayField(_l("Date of the outcome"),
                          validators=[InputRequired(_l("Enter the date of the outcome."))])
