"""The admin forms for the office's letter data and the per-Fachbereich remedy texts."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import Field, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, Optional, ValidationError

from amtsweg.office.services import OfficeDataInvalid, normalise_bic, normalise_iban
from amtsweg.translate import lazy_gettext as _l


def _max(limit: int) -> Length:
    return Length(max=limit, message=_l("Enter at most %(max)s characters.", max=limit))


def _required(message: str) -> DataRequired:
    return DataRequired(message)


def _valid_iban(_form: FlaskForm, field: Field) -> None:
    try:
        normalise_iban(field.data or "")
    except OfficeDataInvalid as error:
        raise ValidationError(str(error)) from None


def _valid_bic(_form: FlaskForm, field: Field) -> None:
    try:
        normalise_bic(field.data or "")
    except OfficeDataInvalid as error:
        raise ValidationError(str(error)) from None


class OfficeForm(FlaskForm):
    name = StringField(_l("Name of the office"),
                       validators=[_required(_l("Enter the name of the office.")), _max(200)])
    street = StringField(_l("Street and number"),
                         validators=[_required(_l("Enter the street.")), _max(200)])
    postcode = StringField(_l("Postcode"),
                           validators=[_required(_l("Enter the postcode.")), _max(10)])
    city = StringField(_l("Town"), validators=[_required(_l("Enter the town.")), _max(100)])
    phone = StringField(_l("Phone"), validators=[_required(_l("Enter the phone number.")),
                                                 _max(60)])
    email = StringField(_l("E-mail address"), validators=[
        _required(_l("Enter the e-mail address.")), _max(254),
        Email(_l("Enter an e-mail address like name@example.org."))])
    opening_hours = TextAreaField(_l("Opening hours"), validators=[Optional(), _max(500)])
    letterhead = TextAreaField(_l("Letterhead"), validators=[Optional(), _max(500)],
                               description=_l("One line per line of the letterhead; the first "
                                              "is printed in bold."))
    bank_name = StringField(_l("Bank"), validators=[Optional(), _max(200)])
    iban = StringField(_l("IBAN"), validators=[Optional(), _max(42), _valid_iban])
    bic = StringField(_l("BIC"), validators=[Optional(), _max(14), _valid_bic])
    widerspruchsbehoerde_name = StringField(
        _l("Widerspruchsbehörde"), validators=[
            _required(_l("Enter the Widerspruchsbehörde.")), _max(200)],
        description=_l("In Bavaria usually the Regierung of the district."))
    widerspruchsbehoerde_address = TextAreaField(
        _l("Address of the Widerspruchsbehörde"),
        validators=[_required(_l("Enter the address of the Widerspruchsbehörde.")), _max(500)])
    court_name = StringField(
        _l("Administrative court"), validators=[
            _required(_l("Enter the administrative court.")), _max(200)],
        description=_l("As it reads after \"bei dem\", e.g. Bayerischen Verwaltungsgericht "
                       "Würzburg."))
    court_address = TextAreaField(
        _l("Seat and address of the court"),
        validators=[_required(_l("Enter the address of the court.")), _max(500)])
    signature_line = StringField(_l("Signature line"), validators=[Optional(), _max(200)])


class RemedyTextForm(FlaskForm):
    text = TextAreaField(
        _l("Rechtsbehelfsbelehrung"),
        validators=[_required(_l("Enter the text of the Rechtsbehelfsbelehrung.")),
                    _max(10_000)],
        description=_l("Placeholders: $office_name, $office_address, $widerspruchsbehoerde_name,"
                       " $widerspruchsbehoerde_address, $court_name, $court_address."))
