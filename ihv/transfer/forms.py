"""Forms of the transfer pages: resending a transfer, assigning an unclear booking by hand."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from amtsweg.translate import lazy_gettext as _l
from ihv import codes

MAX_NOTE = 500


def _kassenzeichen(form: Any, field: Any) -> None:
    if field.data and not codes.is_valid_kassenzeichen(field.data):
        raise ValidationError(_l("Enter a valid Kassenzeichen, e.g. KZ-2026-00000123-45 "
                                 "(the check digits do not match)."))


def _printable(form: Any, field: Any) -> None:
    if field.data and any(ord(char) < 32 and char not in "\r\n\t" for char in field.data):
        raise ValidationError(_l("The text contains characters that cannot be stored."))


class ResendForm(FlaskForm):
    """Only the CSRF token: the button itself is the request."""


class AssignForm(FlaskForm):
    kassenzeichen = StringField(
        _l("Kassenzeichen of the order"),
        validators=[DataRequired(message=_l("Enter the Kassenzeichen the money belongs to.")),
                    Length(max=40, message=_l("A Kassenzeichen has at most 40 characters.")),
                    _kassenzeichen],
        description=_l("The booking goes to the oldest open order of this Kassenzeichen."))
    note = TextAreaField(
        _l("Note on the assignment"),
        validators=[Optional(), Length(max=MAX_NOTE, message=_l(
            "The note may have at most %(max)d characters.", max=MAX_NOTE)), _printable],
        description=_l("Why the booking belongs there, e.g. what the payer wrote."))
