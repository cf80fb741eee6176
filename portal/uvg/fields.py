"""Form fields for the application: German dates, euro amounts, IBANs, yes/no questions."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from schwifty import IBAN
from schwifty.exceptions import InvalidChecksumDigits, SchwiftyException
from wtforms import Field, RadioField, StringField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]
from wtforms.validators import StopValidation, ValidationError
from wtforms.widgets import TextInput

from amtsweg.clock import berlin_today
from amtsweg.translate import lazy_gettext as _l

EARLIEST_DATE = date(1900, 1, 1)
# Higher than any maintenance or income a form like this sees; a typo beyond it is caught.
MAX_AMOUNT_CENTS = 100_000 * 100
_GERMAN_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_AMOUNT = re.compile(r"^\d{1,3}(\.\d{3})*(,\d{1,2})?$|^\d+(,\d{1,2})?$|^\d+\.\d{1,2}$")


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


class DateField(Field):
    """A date typed as TT.MM.JJJJ; ``data`` is a ``date`` or ``None``.

    A text field, not ``type=date``: the browser's date pickers are hard to use on phones for
    birth dates decades back, and the server has to check the value anyway.
    """

    widget = TextInput()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("render_kw", {"inputmode": "numeric", "autocomplete": "off"})
        super().__init__(*args, **kwargs)
        self.raw_text = ""
        self.parse_error: Any = None

    def _value(self) -> str:
        if self.raw_text:
            return self.raw_text
        return self.data.strftime("%d.%m.%Y") if isinstance(self.data, date) else ""

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.raw_text = str(valuelist[0]).strip()[:40] if valuelist else ""
        self.data = None
        if not self.raw_text:
            return
        match = _GERMAN_DATE.match(self.raw_text)
        parts = (match.group(3), match.group(2), match.group(1)) if match else None
        iso = _ISO_DATE.match(self.raw_text)
        if iso:
            parts = (iso.group(1), iso.group(2), iso.group(3))
        if parts is None:
            self.parse_error = _l("Enter the date as DD.MM.YYYY, for example 27.03.2019.")
            return
        try:
            self.data = date(int(parts[0]), int(parts[1]), int(parts[2]))
        except ValueError:
            self.parse_error = _l("%(value)s is not a real date. Check day and month.",
                                  value=self.raw_text)

    def pre_validate(self, form: Any) -> None:
        if self.parse_error is not None:
            raise StopValidation(str(self.parse_error))
        if self.data is None:
            return
        if self.data < EARLIEST_DATE:
            raise ValidationError(_l("Enter a date from 01.01.1900 onwards."))
        if self.data > berlin_today():
            raise ValidationError(_l("The date must not be in the future."))


class MoneyField(Field):
    """A euro amount typed the German way (1.234,56); ``data`` is integer cents or ``None``."""

    widget = TextInput()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("render_kw", {"inputmode": "decimal", "autocomplete": "off"})
        super().__init__(*args, **kwargs)
        self.raw_text = ""
        self.parse_error: Any = None

    def _value(self) -> str:
        if self.raw_text:
            return self.raw_text
        if not isinstance(self.data, int):
            return ""
        euros, cents = divmod(self.data, 100)
        return f"{euros},{cents:02d}"

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.raw_text = str(valuelist[0]).strip()[:40] if valuelist else ""
        self.data = None
        text = self.raw_text.replace("€", "").replace(" ", "").replace("\u00a0", "")
        if not text:
            return
        if not _AMOUNT.match(text):
            self.parse_error = _l("Enter an amount in euros, for example 150 or 150,50.")
            return
        normal = text.replace(".", "").replace(",", ".") if "," in text else text
        if "," not in text and re.match(r"^\d{1,3}(\.\d{3})+$", text):
            normal = text.replace(".", "")  # 1.200 is twelve hundred euros, not 1.2
        try:
            cents = int((Decimal(normal) * 100).to_integral_value())
        except InvalidOperation:
            self.parse_error = _l("Enter an amount in euros, for example 150 or 150,50.")
            return
        self.data = cents

    def pre_validate(self, form: Any) -> None:
        if self.parse_error is not None:
            raise StopValidation(str(self.parse_error))
        if isinstance(self.data, int) and self.data > MAX_AMOUNT_CENTS:
            raise ValidationError(_l("Enter an amount of at most 100.000 euros."))


class IbanField(StringField):
    """An IBAN, checked with its check digits; only SEPA accounts can receive the payment."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("filters", [_strip])
        kwargs.setdefault("render_kw", {"autocomplete": "off", "spellcheck": "false"})
        super().__init__(*args, **kwargs)

    def pre_validate(self, form: Any) -> None:
        text = re.sub(r"\s+", "", str(self.data or "")).upper()
        if not text:
            return
        if len(text) > 34 or not text.isalnum():
            raise ValidationError(_l("Enter a valid IBAN, for example DE89 3704 0044 0532 "
                                     "0130 00."))
        try:
            iban = IBAN(text)
        except InvalidChecksumDigits:
            raise ValidationError(_l("This IBAN is not correct: the check digits do not match. "
                                     "Please check every character.")) from None
        except SchwiftyException:
            raise ValidationError(_l("Enter a valid IBAN, for example DE89 3704 0044 0532 "
                                     "0130 00.")) from None
        # The state treasury pays by SEPA transfer; an account outside the SEPA area cannot
        # receive it.
        if not iban.in_sepa_zone:
            raise ValidationError(_l("Only accounts in the SEPA area (EU, EEA, Switzerland and "
                                     "a few more) can receive the payment."))
        self.data = iban.formatted


def choice(value: str, label: Any) -> Any:
    return SelectChoice(value, label)


class ChoiceField(RadioField):
    """Radio buttons; with ``message`` an answer is required, without it the question is
    optional or required only under a condition the form checks."""

    def __init__(self, label: Any, choices: list[Any], message: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(label, choices=choices, **kwargs)
        self.type = "RadioField"  # rendered by the forms macro as a KERN radio fieldset
        self.required_message = message
        self.flags.required = message is not None

    def pre_validate(self, form: Any) -> None:
        if self.data in (None, "", "None"):
            self.data = None
            if self.required_message is not None:
                raise StopValidation(str(self.required_message))
            return
        if not any(value == self.data for value, _label in self._choice_pairs()):
            raise StopValidation(str(_l("Choose one of the options shown.")))

    def _choice_pairs(self) -> list[tuple[str, Any]]:
        pairs = []
        for item in self.choices or []:
            value = getattr(item, "value", None)
            pairs.append((str(value if value is not None else item[0]),
                          getattr(item, "label", None)))
        return pairs

    def label_of(self, value: Any) -> str:
        for item_value, label in self._choice_pairs():
            if item_value == value:
                return str(label)
        return ""


def yes_no_field(label: Any, message: Any = None, **kwargs: Any) -> ChoiceField:
    return ChoiceField(label, [choice("yes", _l("Yes")), choice("no", _l("No"))], message,
                       **kwargs)


def require(field: Field, message: Any) -> bool:
    """Put ``message`` on ``field`` unless it has a value (for conditional questions)."""
    if field.errors:
        return False
    if field.data not in (None, "", []):
        return True
    field.errors = [*field.errors, message]
    return False
