"""The what-if form of the UVG calculator: a child, a period, the income to deduct."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_wtf import FlaskForm
from wtforms import BooleanField, Field
from wtforms.validators import InputRequired, Optional, StopValidation, ValidationError
from wtforms.widgets import TextInput

from amtsweg.forms import GermanDateField
from amtsweg.translate import lazy_gettext as _l
from backoffice.uvg.calculation import MAX_MONTHLY_CENTS

_MONTH = re.compile(r"^(\d{1,2})\.(\d{4})$|^(\d{4})-(\d{1,2})$")
# German (1.234,56 / 150,50 / 150) or a plain decimal point (150.50)
_AMOUNT = re.compile(r"^\d{1,3}(\.\d{3})*(,\d{1,2})?$|^\d+(,\d{1,2})?$|^\d+\.\d{1,2}$")
_MAX_TYPED = 40


class _TypedField(Field):
    """A text field whose typed text survives an error, so the user can correct it."""

    widget = TextInput()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.raw_text = ""
        self.parse_error: Any = None

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.raw_text = str(valuelist[0]).strip()[:_MAX_TYPED] if valuelist else ""
        self.parse_error = None
        self.data = self.parse(self.raw_text) if self.raw_text else None

    def parse(self, text: str) -> Any:
        raise NotImplementedError

    def pre_validate(self, form: Any) -> None:
        if self.parse_error is not None:
            raise StopValidation(str(self.parse_error))


class MonthField(_TypedField):
    """A month typed as MM.JJJJ; ``data`` is the first day of that month."""

    def parse(self, text: str) -> date | None:
        match = _MONTH.match(text)
        if match:
            month = int(match.group(1) or match.group(4))
            year = int(match.group(2) or match.group(3))
            if 1 <= month <= 12 and 1900 <= year <= 2200:
                return date(year, month, 1)
        self.parse_error = _l("Enter a month in the form MM.YYYY, e.g. 03.2025.")
        return None

    def _value(self) -> str:
        if self.raw_text:
            return self.raw_text
        return self.data.strftime("%m.%Y") if isinstance(self.data, date) else ""


class MoneyField(_TypedField):
    """A euro amount per month typed the German way (1.234,56); ``data`` is integer cents."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("render_kw", {"inputmode": "decimal", "autocomplete": "off"})
        super().__init__(*args, **kwargs)

    def parse(self, text: str) -> int | None:
        text = text.replace("€", "").replace(" ", "").replace("\u00a0", "")
        if not text:
            return None
        if not _AMOUNT.match(text):
            self.parse_error = _l("Enter an amount in euros, for example 150 or 150,50.")
            return None
        if "," in text:
            normal = text.replace(".", "").replace(",", ".")
        elif re.match(r"^\d{1,3}(\.\d{3})+$", text):
            normal = text.replace(".", "")  # 1.200 is twelve hundred euros, not 1.2
        else:
            normal = text
        try:
            return int(Decimal(normal) * 100)
        except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
            self.parse_error = _l("Enter an amount in euros, for example 150 or 150,50.")
            return None

    def pre_validate(self, form: Any) -> None:
        super().pre_validate(form)
        if isinstance(self.data, int) and self.data > MAX_MONTHLY_CENTS:
            raise ValidationError(_l("Enter an amount of at most 100.000 euros."))

    def _value(self) -> str:
        if self.raw_text:
            return self.raw_text
        if not isinstance(self.data, int):
            return ""
        euros, cents = divmod(self.data, 100)
        return f"{euros},{cents:02d}"


class CalculatorForm(FlaskForm):  # type: ignore[misc]  # flask_wtf ships no type information
    birth_date = GermanDateField(
        _l("Child's date of birth"),
        validators=[InputRequired(message=_l("Enter the child's date of birth."))],
        description=_l("DD.MM.YYYY, e.g. 01.03.2019"))
    first_month = MonthField(
        _l("From month"),
        validators=[InputRequired(message=_l("Enter the first month to calculate."))],
        description=_l("MM.YYYY, e.g. 01.2026"))
    last_month = MonthField(
        _l("To month"),
        validators=[InputRequired(message=_l("Enter the last month to calculate."))],
        description=_l("MM.YYYY, e.g. 12.2026"))
    application_date = GermanDateField(
        _l("Application received on"), validators=[Optional()],
        description=_l("Nothing is paid before the month preceding this date (§ 4 UVG)."))
    maintenance = MoneyField(
        _l("Maintenance paid by the other parent per month"),
        description=_l("Deducted in full (§ 2 Abs. 3 Nr. 1 UVG)."))
    orphan_benefit = MoneyField(
        _l("Orphan benefits per month"),
        description=_l("Deducted in full (§ 2 Abs. 3 Nr. 2 UVG)."))
    child_income = MoneyField(
        _l("The child's gross earnings per month"),
        description=_l("Only deducted once the child no longer attends a general-education "
                       "school (§ 2 Abs. 4 UVG)."))
    left_school = BooleanField(_l("The child no longer attends a general-education school"))
    trainee = BooleanField(
        _l("The child is a trainee"),
        description=_l("A further 100 euros of the earnings are left out (§ 2 Abs. 4 S. 2 "
                       "UVG)."))

    def validate_last_month(self, field: MonthField) -> None:
        first = self.first_month.data
        if isinstance(first, date) and isinstance(field.data, date) and field.data < first:
            raise ValidationError(_l("The last month must not lie before the first month."))
