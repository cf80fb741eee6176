"""Forms of the Kasse pages: a new order, approvals, cancellation, reconciliation filters.

Every text field has a length limit and a German message; what the service checks again (IBAN,
BIC, Haushaltsstelle, Kassenzeichen) it reports on the field it belongs to.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from flask_wtf import FlaskForm
from wtforms import Field, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from amtsweg.forms import GermanDateField
from amtsweg.translate import lazy_gettext as _l
from ihv import codes
from ihv.models import Direction, OrderStatus
from ihv.services import MAX_AMOUNT_CENTS, MAX_CITY, MAX_NAME, MAX_POSTCODE, MAX_REASON, MAX_STREET

DIRECTION_LABELS = {
    Direction.AUSZAHLUNG: _l("Payment order (Auszahlung)"),
    Direction.ANNAHME: _l("Receivable order (Annahme)"),
}

STATUS_LABELS = {
    OrderStatus.DRAFT: _l("Draft"),
    OrderStatus.FESTGESTELLT: _l("Established"),
    OrderStatus.ANGEORDNET: _l("Ordered"),
    OrderStatus.TRANSMITTED: _l("Sent to the treasury"),
    OrderStatus.ACKNOWLEDGED: _l("Accepted by the treasury"),
    OrderStatus.REJECTED: _l("Rejected by the treasury"),
    OrderStatus.BOOKED: _l("Booked"),
    OrderStatus.CANCELLED: _l("Cancelled"),
}

# "1.234,56", "1234,56", "1234.56", "227", "227,-": euros as people write them.
_EURO = re.compile(r"^(\d{1,3}(?:\.\d{3})+|\d+)(?:[,.](\d{1,2}|-))?$")


def _max(limit: int) -> Length:
    return Length(max=limit, message=_l("Enter at most %(max)s characters.", max=limit))


def _no_control_characters(_form: FlaskForm, field: Field) -> None:
    value = field.data if isinstance(field.data, str) else ""
    if any(ord(char) < 32 and char not in "\r\n\t" for char in value):
        raise ValidationError(_l("Remove the invisible control characters."))


def parse_euros(text: str) -> int | None:
    """Cents from a euro amount as typed in Germany; None if it is not one."""
    raw = text.strip().replace(" ", "").removesuffix("€").removesuffix("EUR").strip()
    if raw.endswith("-") and not raw.endswith(",-"):
        return None
    match = _EURO.match(raw)
    if match is None:
        return None
    whole, fraction = match.groups()
    if fraction is None or fraction == "-":
        fraction = "00"
    euros = int(whole.replace(".", ""))
    return euros * 100 + int(fraction.ljust(2, "0"))


class EuroField(StringField):
    """An amount in euros, kept as integer cents."""

    cents: int | None = None

    def process_formdata(self, valuelist: list[Any]) -> None:
        super().process_formdata(valuelist)
        self.cents = None
        raw = self.data or ""
        if not raw.strip():
            return
        if len(raw) > 20:
            raise ValueError(_l("Enter the amount in euros and cents, like 227,00."))
        cents = parse_euros(raw)
        if cents is None:
            raise ValueError(_l("Enter the amount in euros and cents, like 227,00."))
        self.cents = cents

    def pre_validate(self, form: Any) -> None:
        if self.cents is not None and self.cents <= 0:
            raise ValidationError(_l("The amount must be more than 0 euros."))
        if self.cents is not None and self.cents > MAX_AMOUNT_CENTS:
            raise ValidationError(_l("The amount must not exceed 10,000,000 euros."))


class VersionField(HiddenField):
    """The order version the page showed; anything that is no number counts as stale (0)."""

    data: Any

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.type = "HiddenField"

    def process_formdata(self, valuelist: list[Any]) -> None:
        raw = valuelist[0].strip() if valuelist else ""
        self.data = int(raw) if raw.isdecimal() and len(raw) <= 9 else 0

    def version(self) -> int:
        return self.data if isinstance(self.data, int) else 0


def _haushaltsstelle(_form: FlaskForm, field: Field) -> None:
    if field.data and not codes.is_valid_haushaltsstelle(field.data):
        raise ValidationError(_l("Enter the Haushaltsstelle in the form xx xx/xxx xx-x, like "
                                 "70 55/101 38-1."))


def _kassenzeichen(_form: FlaskForm, field: Field) -> None:
    if field.data and not codes.is_valid_kassenzeichen(field.data):
        raise ValidationError(_l("This Kassenzeichen is not valid; please check it for typing "
                                 "errors."))


class OrderForm(FlaskForm):
    """A one-off order on a case (a payment run makes its orders in bulk, not here)."""

    direction = SelectField(_l("Kind of order"), validators=[DataRequired(_l("Choose the kind "
                                                                              "of order."))])
    amount = EuroField(_l("Amount in euros"), validators=[DataRequired(_l("Enter the amount."))],
                       description=_l("For example 227,00"))
    due_date = GermanDateField(_l("Due date"), validators=[DataRequired(_l("Enter the due date."))],
                               description=_l("For example 01.03.2026"))
    haushaltsstelle = StringField(_l("Haushaltsstelle"), validators=[
        DataRequired(_l("Enter the Haushaltsstelle.")), _max(40), _haushaltsstelle],
        description=_l("Kapitel / Titel - Prüfziffer, like 70 55/101 38-1"))
    party_name = StringField(_l("Name of the payee or payer"), validators=[
        DataRequired(_l("Enter the name of the payee or payer.")), _max(MAX_NAME),
        _no_control_characters])
    party_street = StringField(_l("Street and number"), validators=[
        Optional(), _max(MAX_STREET), _no_control_characters])
    party_postcode = StringField(_l("Postcode"), validators=[
        Optional(), _max(MAX_POSTCODE), _no_control_characters])
    party_city = StringField(_l("Town"), validators=[
        Optional(), _max(MAX_CITY), _no_control_characters])
    iban = StringField(_l("IBAN"), validators=[Optional(), _max(50), _no_control_characters],
                       description=_l("Needed for a payment order."))
    bic = StringField(_l("BIC"), validators=[Optional(), _max(20), _no_control_characters])
    purpose = StringField(_l("Purpose"), validators=[Optional(), _max(codes.MAX_PURPOSE_LENGTH),
                                                     _no_control_characters],
                          description=_l("At most 140 characters, starting with the "
                                         "Kassenzeichen. Leave it empty to have it filled in."))
    period_start = GermanDateField(_l("Period from"), validators=[Optional()])
    period_end = GermanDateField(_l("Period to"), validators=[Optional()])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.direction.choices = [(direction.value, label)
                                  for direction, label in DIRECTION_LABELS.items()]

    def validate_period_end(self, field: Field) -> None:
        start = self.period_start.data
        if isinstance(start, date) and isinstance(field.data, date) and field.data < start:
            raise ValidationError(_l("The end of the period must not be before its start."))


class EditOrderForm(OrderForm):
    """Change an order that has not left the office; its kind stays (a different kind is a
    different order)."""

    direction = None  # type: ignore[assignment]
    version = VersionField()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        FlaskForm.__init__(self, *args, **kwargs)


class ApproveForm(FlaskForm):
    version = VersionField()


class BulkConfirmForm(FlaskForm):
    """The second step of a bulk approval: the selection, confirmed with its total."""

    selection = HiddenField()


class CancelForm(FlaskForm):
    reason = TextAreaField(_l("Reason for the cancellation"), validators=[
        DataRequired(_l("Give the reason for the cancellation.")), _max(MAX_REASON),
        _no_control_characters])


_MONTH = re.compile(r"^(0?[1-9]|1[0-2])\.(\d{4})$")


def parse_month(text: str) -> date | None:
    match = _MONTH.match(text.strip())
    if match is None:
        return None
    year = int(match.group(2))
    if not 2000 <= year <= 2100:
        return None
    return date(year, int(match.group(1)), 1)


def _month(_form: FlaskForm, field: Field) -> None:
    if field.data and parse_month(field.data) is None:
        raise ValidationError(_l("Enter a month in the form MM.YYYY, like 03.2026."))


class ReconciliationFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET filter changes nothing

    haushaltsstelle = StringField(_l("Haushaltsstelle"), validators=[Optional(), _max(40),
                                                                     _haushaltsstelle])
    month_from = StringField(_l("From month"), validators=[Optional(), _max(7), _month],
                             description=_l("MM.YYYY"))
    month_to = StringField(_l("To month"), validators=[Optional(), _max(7), _month],
                           description=_l("MM.YYYY"))
    aktenzeichen = StringField(_l("Aktenzeichen of the case"), validators=[Optional(), _max(40),
                                                                          _no_control_characters])
    kassenzeichen = StringField(_l("Kassenzeichen"), validators=[Optional(), _max(40),
                                                                 _kassenzeichen])

    def validate_month_to(self, field: Field) -> None:
        start = parse_month(self.month_from.data or "")
        end = parse_month(field.data or "")
        if start is not None and end is not None and end < start:
            raise ValidationError(_l("The last month must not be before the first."))
