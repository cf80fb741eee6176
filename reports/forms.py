"""The period and Fachbereich picker of the statistics page (a GET form: it changes nothing)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask_wtf import FlaskForm
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]
from wtforms.validators import Optional, ValidationError

from amtsweg.forms import GermanDateField, WholeNumberField
from amtsweg.translate import lazy_gettext as _l
from reports.figures import Period, next_month

FIRST_YEAR = 2000
# A longer period helps nobody read a chart and would let one request scan the whole history
# of a state-wide office; the yearly figures of older years are each one request away.
MAX_YEARS = 10

PERIOD_KINDS = (("month", _l("Month")), ("quarter", _l("Quarter")), ("year", _l("Year")),
                ("range", _l("From – to")))
MONTH_NAMES = (_l("January"), _l("February"), _l("March"), _l("April"), _l("May"), _l("June"),
               _l("July"), _l("August"), _l("September"), _l("October"), _l("November"),
               _l("December"))


class PeriodForm(FlaskForm):
    class Meta:
        csrf = False  # a GET filter changes nothing

    period = SelectField(_l("Period"), choices=[SelectChoice(k, label)
                                                for k, label in PERIOD_KINDS], default="year")
    year = WholeNumberField(_l("Year"))
    month = SelectField(_l("Month"), validators=[Optional()],
                        choices=[SelectChoice(str(i + 1), name)
                                 for i, name in enumerate(MONTH_NAMES)], default="1")
    quarter = SelectField(_l("Quarter"), validators=[Optional()],
                          choices=[SelectChoice(str(q), _l("Q%(q)s", q=q)) for q in (1, 2, 3, 4)],
                          default="1")
    date_from = GermanDateField(_l("From"))
    date_to = GermanDateField(_l("To (inclusive)"))
    fachbereich = SelectField(_l("Fachbereich"), validators=[Optional()])

    def __init__(self, *args: Any, fachbereiche: list[tuple[int, str]], all_label: Any,
                 today: date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.today = today
        self.fachbereich.choices = [SelectChoice("", all_label),
                                    *(SelectChoice(str(fb_id), name)
                                      for fb_id, name in fachbereiche)]
        if self.year.data is None and not self.year.raw_data:
            self.year.data = today.year

    def validate_year(self, field: WholeNumberField) -> None:
        if self.period.data == "range":
            return
        if field.data is None:
            raise ValidationError(_l("Enter the year, e.g. %(year)s.", year=self.today.year))
        if not FIRST_YEAR <= field.data <= self.today.year + 1:
            raise ValidationError(_l("Enter a year from %(first)s to %(last)s.",
                                     first=FIRST_YEAR, last=self.today.year + 1))

    def validate_date_from(self, field: GermanDateField) -> None:
        if self.period.data == "range" and field.data is None and not field.errors:
            raise ValidationError(_l("Enter the first day of the period."))
        if field.data is not None and field.data.year < FIRST_YEAR:
            raise ValidationError(_l("Enter a day from 1 January %(first)s on.",
                                     first=FIRST_YEAR))

    def validate_date_to(self, field: GermanDateField) -> None:
        if self.period.data != "range":
            return
        if field.data is None:
            if not field.errors:
                raise ValidationError(_l("Enter the last day of the period."))
            return
        start = self.date_from.data
        if start is None:
            return
        if field.data < start:
            raise ValidationError(_l("The last day must not be before the first day."))
        if (field.data - start).days > MAX_YEARS * 366:
            raise ValidationError(_l("The period may span at most %(years)s years. Choose a "
                                     "shorter period, or one year at a time.", years=MAX_YEARS))
        if field.data.year > self.today.year + 1:
            raise ValidationError(_l("Enter a day up to the end of %(year)s.",
                                     year=self.today.year + 1))

    def chosen_period(self) -> Period:
        """The period the valid form describes."""
        kind = self.period.data
        if kind == "range":
            assert self.date_from.data is not None
            assert self.date_to.data is not None
            return Period(self.date_from.data, self.date_to.data + timedelta(days=1))
        year = int(self.year.data or self.today.year)
        if kind == "month":
            start = date(year, int(self.month.data or 1), 1)
            return Period(start, next_month(start))
        if kind == "quarter":
            start = date(year, 3 * (int(self.quarter.data or 1) - 1) + 1, 1)
            return Period(start, next_month(next_month(next_month(start))))
        return Period(date(year, 1, 1), date(year + 1, 1, 1))
