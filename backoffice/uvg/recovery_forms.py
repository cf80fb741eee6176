"""Forms of the recovery file (Rückgriff) on a UVG case."""

from __future__ import annotations

import re
from typing import Any

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, StopValidation

from amtsweg.translate import lazy_gettext as _l
from backoffice.decisions.forms import DayField
from backoffice.uvg.recovery import MAX_ADDRESS, MAX_EMPLOYER, MAX_NOTE

# 1234 / 1234,56 / 1.234,56 / 1234.56: what people type for euros; at most 9 digits of euros.
_EURO = re.compile(r"^(\d{1,3}(\.\d{3}){1,2}|\d{1,9})([,.]\d{1,2})?$")


class EuroField(StringField):
    """An amount in euros, typed the German way; ``data`` is integer cents or None when empty.

    The typed text survives an error (``raw_data``), so the page shows what was entered.
    """

    data: int | None  # type: ignore[assignment]

    def process_formdata(self, valuelist: list[Any]) -> None:
        raw = str(valuelist[0]).strip() if valuelist else ""
        self.data = _cents(raw) if raw else None

    def pre_validate(self, form: FlaskForm) -> None:
        typed = str(self.raw_data[0]).strip() if self.raw_data else ""
        if typed and self.data is None:
            raise StopValidation(_l("Enter an amount in euros, like 450 or 1.234,56."))

    def _value(self) -> str:
        if self.raw_data:
            return str(self.raw_data[0])
        if self.data is None:
            return ""
        euros, cents = divmod(self.data, 100)
        return f"{euros},{cents:02d}"


def _cents(raw: str) -> int | None:
    if len(raw) > 20 or not _EURO.match(raw):
        return None
    # A dot followed by exactly three digits groups thousands; otherwise it marks the cents.
    if re.search(r"[,]\d{1,2}$", raw) or re.search(r"\.\d{1,2}$", raw):
        whole, fraction = re.split(r"[,.](?=\d{1,2}$)", raw)
    else:
        whole, fraction = raw, "0"
    return int(whole.replace(".", "")) * 100 + int(fraction.ljust(2, "0"))


def _max(limit: int) -> Length:
    return Length(max=limit, message=_l("Enter at most %(max)s characters.", max=limit))


class LiableParentForm(FlaskForm):  # type: ignore[misc]  # flask_wtf has no types
    address = TextAreaField(_l("Address"), validators=[
        DataRequired(_l("Enter the liable parent's address.")), _max(MAX_ADDRESS)],
        description=_l("Street and number, postcode and town; letters go to this address."))
    employer = StringField(_l("Employer"), validators=[Optional(), _max(MAX_EMPLOYER)])
    net_income = EuroField(_l("Net income per month in euros"),
                           description=_l("As far as known, e.g. from payslips (§ 6 UVG)."))
    receives_sgb2 = BooleanField(_l("Receives Bürgergeld (SGB II)"))
    income_note = TextAreaField(_l("Notes on income and assets"),
                                validators=[Optional(), _max(MAX_NOTE)])
    version = HiddenField()


class RechtswahrungsanzeigeForm(FlaskForm):  # type: ignore[misc]  # flask_wtf has no types
    letter_date = DayField(_l("Date of the letter"),
                           validators=[DataRequired(_l("Enter the date of the letter."))],
                           description=_l("DD.MM.YYYY. Claims for the past run from the first "
                                          "of this month (§ 7 para. 2 UVG)."))


class AnhoerungForm(FlaskForm):  # type: ignore[misc]  # flask_wtf has no types
    letter_date = DayField(_l("Date of the letter"),
                           validators=[DataRequired(_l("Enter the date of the letter."))],
                           description=_l("DD.MM.YYYY."))
    reply_by = DayField(_l("Reply by"),
                        validators=[DataRequired(_l("Enter the date by which the parent may "
                                                    "reply."))],
                        description=_l("DD.MM.YYYY; at least two weeks after the letter "
                                       "(§ 24 SGB X)."))
    monthly_cap = EuroField(_l("Maintenance owed per month in euros"),
                            description=_l("Only if the parent can pay less than was paid out "
                                           "(§ 1603 BGB); empty: the full amounts paid."))


class DemandForm(FlaskForm):  # type: ignore[misc]  # flask_wtf has no types
    letter_date = DayField(_l("Date of the letter"),
                           validators=[DataRequired(_l("Enter the date of the letter."))],
                           description=_l("DD.MM.YYYY."))
    due_date = DayField(_l("Pay by"),
                        validators=[DataRequired(_l("Enter the date by which the parent must "
                                                    "pay."))],
                        description=_l("DD.MM.YYYY; at least two weeks after the letter."))
    monthly_cap = EuroField(_l("Maintenance owed per month in euros"),
                            description=_l("Only if the parent can pay less than was paid out "
                                           "(§ 1603 BGB); empty: the full amounts paid."))
