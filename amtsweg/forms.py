"""Form fields every package shares."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from wtforms import DateField, IntegerField
from wtforms.widgets import TextInput

from amtsweg.translate import lazy_gettext as _l

# Year 1 cannot be made a moment in UTC, and from year 9999 no period can be added: such a
# date is a slip or an attack. No date of the office lies before 1900, and up to 9000 a date
# "in the future" still gets the form's own message.
EARLIEST_YEAR, LATEST_YEAR = 1900, 9000


class GermanDateField(DateField):
    """A date typed the German way (TT.MM.JJJJ), with a message a person understands.

    Rendered as a text input, not ``<input type="date">``: a browser's date input shows nothing
    for a value given as TT.MM.JJJJ and always sends ISO dates, so the form could not be sent
    from a real browser (and the picker is a poor fit for birth dates decades back).
    """

    widget = TextInput()

    def __init__(self, label: Any, **kwargs: Any) -> None:
        super().__init__(label, format="%d.%m.%Y", **kwargs)

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.data = None
        raw = valuelist[0].strip() if valuelist else ""
        if not raw:
            return
        try:
            day = datetime.strptime(raw, "%d.%m.%Y").date()  # noqa: DTZ007  (a date)
        except ValueError:
            day = None
        if day is None or not EARLIEST_YEAR <= day.year <= LATEST_YEAR:
            raise ValueError(_l("Enter a real date in the form DD.MM.YYYY, e.g. 01.03.2025."))
        self.data = day

    def _value(self) -> str:
        if self.raw_data:
            return str(self.raw_data[0])
        return self.data.strftime("%d.%m.%Y") if self.data else ""


class WholeNumberField(IntegerField):
    """A whole number with a message a person understands (not WTForms' English one)."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.data = None
        raw = valuelist[0].strip() if valuelist else ""
        if not raw:
            return
        # isdecimal, not isdigit: "²" is a digit to isdigit() but no number to int().
        if not raw.isdecimal() or len(raw) > 9:
            raise ValueError(_l("Enter a whole number, e.g. 3."))
        self.data = int(raw)
