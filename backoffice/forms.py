"""Forms of the case pages. Every text field has a length limit and a German message."""

from __future__ import annotations

import re
from typing import Any

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import Field, HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]
from wtforms.validators import DataRequired, Email, Length, Optional, ValidationError

from amtsweg.forms import GermanDateField, WholeNumberField
from amtsweg.translate import lazy_gettext as _l
from backoffice.deadlines import MAX_WORKING_DAYS
from backoffice.models import FALL_STATUS_LABELS, FallStatus
from backoffice.queries import DeadlineFilter
from backoffice.services import MAX_NOTE, MAX_REASON
from storage.forms import UploadRequired

RESUME = "resume"
POOL = "pool"


def _max(limit: int) -> Length:
    return Length(max=limit, message=_l("Enter at most %(max)s characters.", max=limit))


def _no_control_characters(_form: FlaskForm, field: Field) -> None:
    # NUL and other control characters come from scripts, not keyboards; PostgreSQL refuses NUL.
    value = field.data if isinstance(field.data, str) else ""
    if any(ord(char) < 32 and char not in "\r\n\t" for char in value):
        raise ValidationError(_l("Remove the invisible control characters."))


class VersionField(HiddenField):
    """The case version the page showed; anything that is no number counts as stale (0)."""

    data: Any

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.type = "HiddenField"  # the forms macro renders it hidden, not as a "Version" box

    def process_formdata(self, valuelist: list[Any]) -> None:
        raw = valuelist[0].strip() if valuelist else ""
        self.data = int(raw) if raw.isdecimal() and len(raw) <= 9 else 0

    def version(self) -> int:
        return self.data if isinstance(self.data, int) else 0




# --- lists ------------------------------------------------------------------------------------


class CaseFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET filter changes nothing

    status = SelectField(_l("Status"), validators=[Optional()])
    deadline = SelectField(_l("Follow-ups"), validators=[Optional()])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.status.choices = [SelectChoice("", _l("All")), *(
            SelectChoice(status.value, label) for status, label in FALL_STATUS_LABELS.items())]
        self.deadline.choices = [SelectChoice("", _l("All")),
                                 SelectChoice(DeadlineFilter.DUE.value, _l("Due today or earlier")),
                                 SelectChoice(DeadlineFilter.OVERDUE.value, _l("Overdue"))]

    def status_value(self) -> FallStatus | None:
        return FallStatus(self.status.data) if self.status.data else None

    def deadline_value(self) -> DeadlineFilter | None:
        return DeadlineFilter(self.deadline.data) if self.deadline.data else None


class SearchForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField(_l("Name, Aktenzeichen, reference number or Kassenzeichen"),
                    validators=[Optional(), _max(100), _no_control_characters])
    birth_date = GermanDateField(_l("Date of birth"), validators=[Optional()],
                                 description=_l("For example 14.03.2018"))

    def validate(self, extra_validators: Any = None) -> bool:
        if not super().validate(extra_validators):
            return False
        if not (self.q.data or "").strip() and self.birth_date.data is None:
            self.q.errors = [_l("Enter a name, an Aktenzeichen, a reference number, a "
                                "Kassenzeichen or a date of birth.")]
            return False
        return True


# --- the case ---------------------------------------------------------------------------------


class StatusForm(FlaskForm):
    status = SelectField(_l("New status"),
                         validators=[DataRequired(message=_l("Choose the new status."))])
    version = VersionField()

    def __init__(self, *args: Any, allowed: list[FallStatus], suspended: bool,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [SelectChoice(status.value, FALL_STATUS_LABELS[status]) for status in allowed]
        if suspended:
            choices.append(SelectChoice(RESUME, _l("Resume the case")))
        self.status.choices = choices


class NoteForm(FlaskForm):
    text = TextAreaField(_l("Note"), validators=[
        DataRequired(message=_l("Enter the text of the note.")), _max(MAX_NOTE),
        _no_control_characters])


class DeadlineForm(FlaskForm):
    due_date = GermanDateField(_l("Due on"), validators=[Optional()],
                               description=_l("For example 14.03.2027"))
    working_days = WholeNumberField(_l("Or: in how many working days"), validators=[Optional()],
                                    description=_l("Counts Monday to Friday without public "
                                                   "holidays."))
    reason = StringField(_l("Reason"), validators=[
        DataRequired(message=_l("Enter the reason for the follow-up.")), _max(MAX_REASON),
        _no_control_characters])
    owner = SelectField(_l("Who follows up"), validators=[Optional()])

    def __init__(self, *args: Any, owners: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.owner.choices = [SelectChoice(str(staff_id), name) for staff_id, name in owners]

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        if self.due_date.errors or self.working_days.errors:
            return False
        if self.due_date.data is None and self.working_days.data is None:
            self.due_date.errors = [_l("Enter the date or the number of working days.")]
            return False
        if self.due_date.data is not None and self.working_days.data is not None:
            self.due_date.errors = [_l("Enter either the date or the number of working days, "
                                       "not both.")]
            return False
        if self.working_days.data is not None and not (
                1 <= self.working_days.data <= MAX_WORKING_DAYS):
            self.working_days.errors = [_l("Enter a number from 1 to %(max)s.",
                                           max=MAX_WORKING_DAYS)]
            return False
        return bool(valid)


IBAN_SHAPE = re.compile(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}")


def iban_checksum_ok(iban: str) -> bool:
    """ISO 13616: move the first four characters to the end, letters to numbers, mod 97 = 1."""
    rearranged = iban[4:] + iban[:4]
    digits = "".join(str(int(char, 36)) for char in rearranged)
    return int(digits) % 97 == 1


def normalise_iban(raw: str) -> str:
    return re.sub(r"\s+", "", raw).upper()


def _iban(_form: FlaskForm, field: Field) -> None:
    if not field.data:
        return
    iban = normalise_iban(field.data)
    if not IBAN_SHAPE.fullmatch(iban) or not iban_checksum_ok(iban):
        raise ValidationError(_l("Enter a valid IBAN, e.g. DE89 3704 0044 0532 0130 00."))


class PartyForm(FlaskForm):
    first_name = StringField(_l("First name"), validators=[Optional(), _max(100),
                                                           _no_control_characters])
    last_name = StringField(_l("Last name"), validators=[
        DataRequired(message=_l("Enter the last name.")), _max(100), _no_control_characters])
    birth_date = GermanDateField(_l("Date of birth"), validators=[Optional()])
    address = TextAreaField(_l("Address"), validators=[Optional(), _max(500),
                                                       _no_control_characters])
    email = StringField(_l("E-mail address"), validators=[
        Optional(), _max(254), Email(message=_l("Enter a valid e-mail address."))])
    phone = StringField(_l("Phone"), validators=[Optional(), _max(40), _no_control_characters])
    iban = StringField(_l("IBAN"), validators=[Optional(), _max(42), _iban])
    account_holder = StringField(_l("Account holder"), validators=[Optional(), _max(100),
                                                                   _no_control_characters])
    version = VersionField()

    def changes(self) -> dict[str, object]:
        def text(value: str | None) -> str | None:
            return value.strip() if value and value.strip() else None

        return {
            "first_name": (self.first_name.data or "").strip(),
            "last_name": (self.last_name.data or "").strip(),
            "birth_date": self.birth_date.data,
            "address": (self.address.data or "").strip(),
            "email": text(self.email.data),
            "phone": text(self.phone.data),
            "iban": normalise_iban(self.iban.data or "") or None,
            "account_holder": text(self.account_holder.data),
        }


class UploadForm(FlaskForm):
    file = FileField(_l("File"), validators=[UploadRequired()])
    title = StringField(_l("Title"), validators=[Optional(), _max(200), _no_control_characters],
                        description=_l("Empty: the file name."))
    kind = StringField(_l("Kind of document"), validators=[Optional(), _max(60),
                                                           _no_control_characters],
                       description=_l("For example Geburtsurkunde"))
    replaces = SelectField(_l("New version of"), validators=[Optional()])

    def __init__(self, *args: Any, series: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.replaces.choices = [SelectChoice("", _l("– a new document –")), *(
            SelectChoice(str(series_id), title) for series_id, title in series)]


class AssignForm(FlaskForm):
    assignee = SelectField(_l("Hand the case to"),
                           validators=[DataRequired(message=_l("Choose a colleague or the "
                                                               "pool."))])
    note = TextAreaField(_l("Handover note"), validators=[Optional(), _max(MAX_NOTE),
                                                         _no_control_characters])
    version = VersionField()

    def __init__(self, *args: Any, colleagues: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.assignee.choices = [SelectChoice(POOL, _l("Pool of the Fachbereich")), *(
            SelectChoice(str(staff_id), name) for staff_id, name in colleagues)]


class BulkReassignForm(FlaskForm):
    from_staff = SelectField(_l("All cases of"),
                             validators=[DataRequired(message=_l("Choose whose cases move."))])
    to_staff = SelectField(_l("Hand them to"),
                           validators=[DataRequired(message=_l("Choose a colleague or the "
                                                               "pool."))])

    def __init__(self, *args: Any, staff: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        people = [SelectChoice(str(staff_id), name) for staff_id, name in staff]
        self.from_staff.choices = [SelectChoice("", _l("– choose –")), *people]
        self.to_staff.choices = [SelectChoice("", _l("– choose –")),
                                 SelectChoice(POOL, _l("Pool of the Fachbereich")), *people]

    def validate(self, extra_validators: Any = None) -> bool:
        if not super().validate(extra_validators):
            return False
        if self.from_staff.data == self.to_staff.data:
            self.to_staff.errors = [_l("Choose someone other than the current holder.")]
            return False
        return True


class AccessFilterForm(FlaskForm):
    class Meta:
        csrf = False

    staff = SelectField(_l("Person"), validators=[Optional()])
    aktenzeichen = StringField(_l("Aktenzeichen"), validators=[Optional(), _max(30),
                                                               _no_control_characters])
    day_from = GermanDateField(_l("From"), validators=[Optional()])
    day_to = GermanDateField(_l("To"), validators=[Optional()])

    def __init__(self, *args: Any, staff: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.staff.choices = [SelectChoice("", _l("Everyone")), *(
            SelectChoice(str(staff_id), name) for staff_id, name in staff)]
