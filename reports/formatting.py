"""Numbers as people in the office read them: German format (1.234,56 €) in the German UI.

A year's dashboard formats thousands of cells; Babel's formatter costs about 0.1 ms a call, so
the symbols are looked up once per locale and the numbers formatted with str.format.
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from typing import Any

from babel import Locale
from babel.numbers import get_decimal_symbol, get_group_symbol


def euros(cents: int) -> Decimal:
    return Decimal(cents) / 100


@lru_cache(maxsize=16)
def _symbols(locale: str) -> tuple[str, str, bool]:
    """Decimal mark, thousands separator, and whether the euro sign follows the number."""
    parsed = Locale.parse(locale.replace("-", "_"))
    pattern = parsed.currency_formats["standard"].pattern
    return (get_decimal_symbol(parsed), get_group_symbol(parsed),
            pattern.replace("\xa0", "").rstrip(";").endswith("¤"))


def _localise(text: str, locale: str) -> str:
    decimal, group, _suffix = _symbols(locale)
    return text.replace(",", "\0").replace(".", decimal).replace("\0", group)


def format_cents(cents: int, locale: str = "de_DE") -> str:
    number = _localise(f"{euros(cents):,.2f}", locale)
    return f"{number}\xa0€" if _symbols(locale)[2] else f"€{number}"


def format_number(value: float | int, locale: str = "de_DE", digits: int = 1) -> str:
    if isinstance(value, int):
        return _localise(f"{value:,}", locale)
    return _localise(f"{value:,.{digits}f}", locale)


def format_cell(value: Any, kind: str, locale: str = "de_DE") -> str:
    """One table cell as text; an absent figure (no data to compute it from) is a dash."""
    if value is None:
        return "–"
    if kind == "cents":
        return format_cents(int(value), locale)
    if kind == "count":
        return format_number(int(value), locale)
    if kind in {"decimal", "hours", "days"}:
        return format_number(float(value), locale)
    if kind == "percent":
        return f"{format_number(float(value), locale)}\xa0%"
    return str(value)
