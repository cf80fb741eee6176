"""Forms of the clearing office. Every text field has a length limit and a German message."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]
from wtforms.validators import DataRequired, Email, InputRequired, Length, Optional

from amtsweg.forms import GermanDateField, WholeNumberField
from amtsweg.translate import lazy_gettext as _l
from clearing.models import EingangKind, EingangStatus, RejectionReason
from clearing.queue import KIND_LABELS, STATUS_LABELS
from storage.forms import UploadRequired


def _max(limit: int) -> Length:
    return Length(max=limit, message=_l("Enter at most %(max)s characters.", max=limit))


def _required(message: Any) -> DataRequired:
    return DataRequired(message=message)




class QueueFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET filter changes nothing

    kind = SelectField(_l("Kind"), validators=[Optional()])
    service = SelectField(_l("Service"), validators=[Optional()])
    status = SelectField(_l("Status"), validators=[Optional()])
    min_age = WholeNumberField(_l("At least … working days old"), validators=[Optional()])

    def __init__(self, *args: Any, services: dict[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        everything = SelectChoice("", _l("All"))
        self.kind.choices = [everything, *(SelectChoice(kind.value, label)
                                           for kind, label in KIND_LABELS.items())]
        self.service.choices = [everything, *(SelectChoice(code, label)
                                              for code, label in sorted(services.items()))]
        self.status.choices = [SelectChoice("", _l("All open")),
                               *(SelectChoice(status.value, label)
                                 for status, label in STATUS_LABELS.items())]

    def validate_min_age(self, field: WholeNumberField) -> None:
        if field.data is not None and field.data > 366:
            from wtforms.validators import ValidationError

            raise ValidationError(_l("Enter a number from 0 to 366."))


class VersionedForm(FlaskForm):
    """Carries the version of the item the page showed: a stale page changes nothing."""

    version = HiddenField()

    @property
    def version_number(self) -> int:
        raw = str(self.version.data or "")
        return int(raw) if raw.isdecimal() and len(raw) < 10 else 0


class RouteForm(VersionedForm):
    fachbereich = SelectField(_l("Fachbereich"), coerce=str,
                              validators=[_required(_l("Choose a Fachbereich."))])
    aktenzeichen = StringField(
        _l("Aktenzeichen of an existing case"),
        description=_l("For example UV-2026-00042. Leave empty to open a new case with the "
                       "people named in the item."),
        validators=[Optional(), _max(30)])
    caseworker = SelectField(_l("Caseworker"), coerce=str, validators=[Optional()],
                             description=_l("Leave empty: the case goes to the Fachbereich's "
                                            "pool."))

    def __init__(self, *args: Any, fachbereiche: list[tuple[int, str]],
                 caseworkers: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fachbereich.choices = [SelectChoice("", _l("Choose …")),
                                    *(SelectChoice(str(ident), name)
                                      for ident, name in fachbereiche)]
        self.caseworker.choices = [SelectChoice("", _l("Pool of the Fachbereich")),
                                   *(SelectChoice(str(ident), name)
                                     for ident, name in caseworkers)]


class RequestForm(VersionedForm):
    subject = StringField(_l("Subject"), validators=[_required(_l("Enter a subject.")),
                                                     _max(200)])
    body = TextAreaField(_l("What is missing"),
                         description=_l("Write in plain words which documents or information "
                                        "the citizen should send."),
                         validators=[_required(_l("Describe what is missing.")), _max(5000)])


class RejectForm(VersionedForm):
    reason = RadioField(_l("Reason"), validators=[InputRequired(message=_l("Choose a reason."))],
                        choices=[
                            SelectChoice(RejectionReason.DUPLICATE.value, _l("Duplicate")),
                            SelectChoice(RejectionReason.NOT_OUR_OFFICE.value,
                                         _l("Not our office")),
                            SelectChoice(RejectionReason.SPAM.value, _l("Spam")),
                            SelectChoice(RejectionReason.OTHER.value, _l("Other reason")),
                        ])
    text = TextAreaField(_l("Explanation"), description=_l("Required for “Other reason”."),
                         validators=[Optional(), _max(2000)])
    send_letter = BooleanField(_l("Send a letter to the sender's postbox"))
    letter = TextAreaField(_l("Letter"), validators=[Optional(), _max(5000)])

    def validate(self, extra_validators: Any = None) -> bool:
        ok: bool = super().validate(extra_validators)
        if self.reason.data == RejectionReason.OTHER.value and not (self.text.data or "").strip():
            self.text.errors = [*self.text.errors, _l("Describe the reason.")]
            ok = False
        if self.send_letter.data and not (self.letter.data or "").strip():
            self.letter.errors = [*self.letter.errors, _l("Write the letter, or untick the box.")]
            ok = False
        return ok


class PaperIntakeForm(FlaskForm):
    scan = FileField(_l("Scanned letter"), validators=[UploadRequired()])
    letter_kind = SelectField(_l("What is it?"), validators=[_required(_l("Choose a kind."))])
    service = SelectField(_l("Service"), validators=[Optional()])
    sender_name = StringField(_l("Sender's name"),
                              validators=[_required(_l("Enter the sender's name.")),
                                          _max(200)])
    sender_address = TextAreaField(_l("Sender's address"), validators=[Optional(), _max(500)])
    sender_email = EmailField(_l("Sender's e-mail address"), validators=[
        Optional(), _max(254),
        Email(message=_l("Enter an e-mail address like name@example.org."),
              check_deliverability=False)])
    received_on = GermanDateField(_l("Received on"), description=_l("DD.MM.YYYY"),
                                  validators=[_required(_l("Enter the date of receipt."))])
    note = TextAreaField(_l("Note"), validators=[Optional(), _max(2000)])

    def __init__(self, *args: Any, services: dict[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        kinds = [kind for kind in KIND_LABELS if kind is not EingangKind.ANTWORT]
        self.letter_kind.choices = [SelectChoice("", _l("Choose …")),
                                    *(SelectChoice(kind.value, KIND_LABELS[kind])
                                      for kind in kinds)]
        self.service.choices = [SelectChoice("", _l("Not known")),
                                *(SelectChoice(code, label)
                                  for code, label in sorted(services.items()))]


class RuleForm(FlaskForm):
    label = StringField(_l("Name of the service"),
                        validators=[_required(_l("Enter a name.")), _max(200)])
    fachbereich = SelectField(_l("Proposed Fachbereich"), validators=[Optional()])

    def __init__(self, *args: Any, fachbereiche: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fachbereich.choices = [SelectChoice("", _l("No proposal")),
                                    *(SelectChoice(str(ident), name)
                                      for ident, name in fachbereiche)]


class BulkForm(FlaskForm):
    """The queue's bulk action; the selected rows come as ``item`` values."""

    action = RadioField(_l("Action for the selected items"),
                        validators=[InputRequired(message=_l("Choose an action."))],
                        choices=[SelectChoice("route", _l("Route, each into a new case")),
                                 SelectChoice("assign", _l("Assign to a colleague"))])
    fachbereich = SelectField(_l("Fachbereich"), validators=[Optional()],
                              description=_l("Leave empty: each item goes where its routing "
                                             "rule proposes."))
    assignee = SelectField(_l("Colleague"), validators=[Optional()])

    def __init__(self, *args: Any, fachbereiche: list[tuple[int, str]],
                 clerks: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fachbereich.choices = [SelectChoice("", _l("As proposed")),
                                    *(SelectChoice(str(ident), name)
                                      for ident, name in fachbereiche)]
        self.assignee.choices = [SelectChoice("", _l("Choose …")),
                                 *(SelectChoice(str(ident), name) for ident, name in clerks)]


def status_value(raw: str | None) -> EingangStatus | None:
    try:
        return EingangStatus(raw) if raw else None
    except ValueError:
        return None


def kind_value(raw: str | None) -> EingangKind | None:
    try:
        return EingangKind(raw) if raw else None
    except ValueError:
        return None


def bulk_form(item_ids: list[int], **kwargs: Any) -> BulkForm:
    """A bulk form with one checkbox field ``item_<id>`` per posted row. The queue page renders
    the row checkboxes as plain inputs with these names (see templates/clearing/index.html)."""
    fields = {f"item_{ident}": BooleanField(_l("Select item %(number)s", number=ident))
              for ident in item_ids}
    form_class = type("QueueBulkForm", (BulkForm,), fields)
    form: BulkForm = form_class(**kwargs)
    return form


def selected_items(form: BulkForm) -> list[int]:
    return [int(field.name.removeprefix("item_")) for field in form
            if field.name.startswith("item_") and field.data]


def posted_item_ids(keys: Any) -> list[int]:
    """The row ids a posted bulk form carries (hand-made keys are ignored)."""
    ids = []
    for key in keys:
        number = str(key).removeprefix("item_")
        if str(key).startswith("item_") and number.isdecimal() and len(number) < 10:
            ids.append(int(number))
    return ids[:200]
