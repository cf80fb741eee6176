"""German by default, English on request: the choice is kept in the session."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import Blueprint, Flask, has_request_context, redirect, request, session
from flask.typing import ResponseReturnValue
from flask_babel import format_date, format_datetime, format_decimal

from amtsweg.sessions import safe_next_url

LOCALES = ("de", "en")

bp = Blueprint("i18n", __name__)


def select_locale() -> str:
    # Outside a request (CLI, batch jobs, letters built in the background) the office writes German.
    if not has_request_context():
        return "de"
    chosen = session.get("locale")
    return chosen if chosen in LOCALES else "de"


@bp.post("/sprache")
def switch_language() -> ResponseReturnValue:
    locale = request.form.get("locale", "de")
    if locale in LOCALES:
        session["locale"] = locale
    return redirect(safe_next_url(request.form.get("next"), "/"))


def _cents(value: int | None) -> str:
    """Money is integer cents; shown the German way: 1.234,56 €."""
    if value is None:
        return ""
    amount: str = format_decimal(value / 100, format="#,##0.00")
    return amount + "\u00a0€"


def _date(value: date | datetime | None, fmt: str = "medium") -> str:
    if value is None:
        return ""
    formatted: str = (format_datetime(value, fmt) if isinstance(value, datetime)
                      else format_date(value, fmt))
    return formatted


def init_app(app: Flask) -> None:
    app.jinja_env.filters["cents"] = _cents
    app.jinja_env.filters["date"] = _date
    app.jinja_env.add_extension("jinja2.ext.i18n")

    @app.context_processor
    def locale_context() -> dict[str, Any]:
        return {"current_locale": select_locale(), "locales": LOCALES}
