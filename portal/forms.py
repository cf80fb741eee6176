"""Forms of the portal's core pages: general request, follow-ups and answers to the office."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any, ClassVar

from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from werkzeug.datastructures import FileStorage
from wtforms import Field, HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]
from wtforms.validators import (
    DataRequired,
    Length,
    Optional,
    Regexp,
    StopValidation,
    ValidationError,
)

from amtsweg.clock import berlin_today
from amtsweg.fachbereiche import DEFAULT_FACHBEREICHE
from amtsweg.translate import lazy_gettext as _l
from portal.catalogue import all_leistungen

MAX_MESSAGE_LENGTH = 5000
MAX_NOTE_LENGTH = 2000
MAX_SUBJECT_LENGTH = 200
MAX_ATTACHMENTS = 5
UNKNOWN_TOPIC = "unknown"
LEISTUNG_PREFIX = "leistung:"
FACHBEREICH_PREFIX = "fachbereich:"
# § 6 Abs. 4 UVG asks for changes "without delay"; a date further ahead than a year is a typo.
LATEST_CHANGE_AHEAD = timedelta(days=365)
EARLIEST_CHANGE = date(1900, 1, 1)


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _too_long(maximum: int) -> Length:
    return Length(max=maximum, message=_l("Enter at most %(max)s characters.", max=maximum))


def _invalid_choice(message: Any) -> dict[str, Any]:
    # A value that is not among the choices (a tampered request) gets the same plain message.
    return {"invalid_choice_message": message}


def chosen_files(field: Field) -> list[FileStorage]:
    """The files really chosen (a browser sends one empty part when none was)."""
    data = field.data or []
    return [item for item in data if isinstance(item, FileStorage) and item.filename]


class AtMostFiles:
    def __init__(self, maximum: int) -> None:
        self.maximum = maximum

    def __call__(self, form: FlaskForm, field: Field) -> None:
        if len(chosen_files(field)) > self.maximum:
            raise ValidationError(_l("Attach at most %(max)s files at once.", max=self.maximum))


class AtLeastOneFile:
    field_flags: ClassVar[dict[str, bool]] = {"required": True}

    def __call__(self, form: FlaskForm, field: Field) -> None:
        if not chosen_files(field):
            raise ValidationError(_l("Select at least one file to upload."))


def _attachments(required: bool = False) -> MultipleFileField:
    validators: list[Any] = [AtMostFiles(MAX_ATTACHMENTS)]
    if required:
        validators.insert(0, AtLeastOneFile())
    return MultipleFileField(
        _l("Documents"), description=_l("You can choose up to %(max)s files at once.",
                                        max=MAX_ATTACHMENTS), validators=validators)


class GermanDateField(StringField):
    """A date typed as TT.MM.JJJJ (or the ISO form a date picker sends); ``data`` is a date."""

    data: date | None  # type: ignore[assignment]  # a date, not the typed text

    def process_formdata(self, valuelist: list[Any]) -> None:
        raw = str(valuelist[0]).strip() if valuelist else ""
        self.data = parse_date(raw) if raw else None

    def pre_validate(self, form: FlaskForm) -> None:
        typed = str(self.raw_data[0]).strip() if self.raw_data else ""
        if typed and self.data is None:
            raise StopValidation(_l("Enter a real date in the form DD.MM.YYYY, e.g. "
                                    "01.03.2026."))

    def _value(self) -> str:
        # On an error page the date is shown as it was typed, not lost.
        if self.raw_data:
            return str(self.raw_data[0])
        return self.data.strftime("%d.%m.%Y") if self.data else ""


def parse_date(raw: str) -> date | None:
    """The date in ``raw``, or None if it is no real date (31.02., 13th month, letters)."""
    if not re.fullmatch(r"\d{1,2}\.\d{1,2}\.\d{4}|\d{4}-\d{2}-\d{2}", raw):
        return None
    for pattern in ("%d.%m.%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(raw, pattern).date()  # noqa: DTZ007  (a date, no time)
        except ValueError:
            continue
    return None


class IdempotentForm(FlaskForm):
    """A form that carries a one-time key, so a double click or a replay sends it once."""

    idempotency_key = HiddenField(validators=[Regexp(
        r"^[A-Za-z0-9_-]{16,40}$",
        message=_l("The form could not be sent. Please check your entries and send it again."))])


def topic_choices() -> list[Any]:
    choices = [SelectChoice("", _l("Please choose"))]
    services = _l("Services")
    departments = _l("Departments")
    choices += [SelectChoice(f"{LEISTUNG_PREFIX}{leistung.code}", str(leistung.title),
                             optgroup=str(services)) for leistung in all_leistungen()]
    choices += [SelectChoice(f"{FACHBEREICH_PREFIX}{seed.code}", seed.name,
                             optgroup=str(departments)) for seed in DEFAULT_FACHBEREICHE]
    choices.append(SelectChoice(UNKNOWN_TOPIC, _l("I don't know")))
    return choices


class GeneralRequestForm(IdempotentForm):
    topic = SelectField(_l("What is your request about?"),
                        description=_l("If you are not sure, choose \"I don't know\". We will "
                                       "pass your request on to the right department."),
                        validators=[DataRequired(_l("Choose what your request is about."))],
                        **_invalid_choice(_l("Choose what your request is about.")))
    subject = StringField(_l("Subject"), filters=[_strip], validators=[
        DataRequired(_l("Enter a subject.")), _too_long(MAX_SUBJECT_LENGTH)])
    message = TextAreaField(_l("Your message"), filters=[_strip],
                            description=_l("At most %(max)s characters.", max=MAX_MESSAGE_LENGTH),
                            validators=[DataRequired(_l("Enter your message.")),
                                        _too_long(MAX_MESSAGE_LENGTH)])
    attachments = _attachments()
    phone = StringField(_l("Phone number for questions"), filters=[_strip],
                        description=_l("So that we can call you back if something is unclear."),
                        validators=[Optional(), _too_long(30), Regexp(
                            r"^\+?[0-9 ()/-]{5,30}$",
                            message=_l("Enter a phone number like 09521 123456."))])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.topic.choices = topic_choices()


class NachreichungForm(IdempotentForm):
    attachments = _attachments(required=True)
    note = TextAreaField(_l("Note"), filters=[_strip],
                         description=_l("For example which document is which. At most "
                                        "%(max)s characters.", max=MAX_NOTE_LENGTH),
                         validators=[Optional(), _too_long(MAX_NOTE_LENGTH)])


class MessageForm(IdempotentForm):
    message = TextAreaField(_l("Your message"), filters=[_strip],
                            description=_l("At most %(max)s characters.", max=MAX_MESSAGE_LENGTH),
                            validators=[DataRequired(_l("Enter your message.")),
                                        _too_long(MAX_MESSAGE_LENGTH)])
    attachments = _attachments()


CHANGE_KINDS = (
    ("umzug", _l("Move to a new address")),
    ("einkommen", _l("Income (yours or your child's)")),
    ("unterhalt", _l("Maintenance payments of the other parent")),
    ("kind_ausgezogen", _l("The child no longer lives with me")),
    ("heirat", _l("Marriage, or living together with the other parent")),
    ("sonstiges", _l("Something else")),
)


class VeraenderungForm(IdempotentForm):
    what_changed = RadioField(
        _l("What has changed?"),
        choices=[SelectChoice(value, label) for value, label in CHANGE_KINDS],
        validators=[DataRequired(_l("Choose what has changed."))],
        **_invalid_choice(_l("Choose what has changed.")))
    since = GermanDateField(_l("Since when?"),
                            description=_l("For example 01.03.2026."),
                            validators=[DataRequired(_l("Enter the date of the change."))])
    description = TextAreaField(_l("Describe the change"), filters=[_strip],
                                description=_l("At most %(max)s characters.",
                                               max=MAX_MESSAGE_LENGTH),
                                validators=[DataRequired(_l("Describe the change.")),
                                            _too_long(MAX_MESSAGE_LENGTH)])
    attachments = _attachments()

    def validate_since(self, field: GermanDateField) -> None:
        when = field.data
        if when is None:
            return
        if when < EARLIEST_CHANGE:
            raise ValidationError(_l("Enter a real date in the form DD.MM.YYYY, e.g. "
                                     "01.03.2026."))
        if when > berlin_today() + LATEST_CHANGE_AHEAD:
            raise ValidationError(_l("The date can be at most one year in the future."))


class WiderspruchForm(IdempotentForm):
    decision = StringField(_l("Which decision do you object to?"), filters=[_strip],
                           description=_l("For example: Bescheid of 03.03.2026 on "
                                          "Unterhaltsvorschuss, with its file number."),
                           validators=[DataRequired(_l("Name the decision you object to.")),
                                       _too_long(MAX_SUBJECT_LENGTH)])
    reason = TextAreaField(_l("Why do you object?"), filters=[_strip],
                           description=_l("At most %(max)s characters.", max=MAX_MESSAGE_LENGTH),
                           validators=[DataRequired(_l("Give the reason for your Widerspruch.")),
                                       _too_long(MAX_MESSAGE_LENGTH)])
    attachments = _attachments()


class ReplyForm(IdempotentForm):
    # No Optional(): it would stop the chain before validate_message sees an empty answer.
    message = TextAreaField(_l("Your answer"), filters=[_strip],
                            description=_l("At most %(max)s characters.", max=MAX_MESSAGE_LENGTH),
                            validators=[_too_long(MAX_MESSAGE_LENGTH)])
    attachments = _attachments()

    def validate_message(self, field: TextAreaField) -> None:
        if not field.data and not chosen_files(self.attachments):
            raise ValidationError(_l("Write an answer or attach at least one document."))
