"""German by default, English on request: the choice is kept in the session."""

from __future__ import annotations

import functools
from datetime import date, datetime
from typing import Any

from babel import support
from flask import (
    Blueprint,
    Flask,
    g,
    has_app_context,
    has_request_context,
    redirect,
    request,
    session,
)
from flask.typing import ResponseReturnValue
from flask_babel import Domain, format_date, format_datetime, format_decimal
from flask_babel import _get_current_context as _babel_context
from wtforms.i18n import messages_path as wtforms_messages_path

from amtsweg.extensions import babel as babel_extension
from amtsweg.sessions import safe_next_url
from amtsweg.translate import translations as current_translations

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


class RequestCachedDomain(Domain):  # type: ignore[misc]  # flask_babel has no type hints
    """Flask-Babel's domain, keeping the request's translations at hand.

    Every ``_()`` in a template or view asked Flask-Babel for the locale and looked the
    translations up again (a dozen proxy and attribute lookups each); a staff page makes about
    fifty such calls. The translations are kept on the request's Babel context together with
    the locale they are for, so ``force_locale`` (letters are always German) still switches.
    """

    def get_translations(self) -> support.NullTranslations:
        # Flask-Babel's own context lookup resolves the ``g`` proxy three times; here the real
        # object is fetched once (this runs for every translated text of a page).
        if not has_app_context():
            return support.NullTranslations()
        context = vars(g._get_current_object()).get("_flask_babel")
        if context is None:
            context = _babel_context()
        state = vars(context)
        locale = state.get("babel_locale")
        cached = state.get("amtsweg_translations")
        if locale is not None and cached is not None and cached[0] is locale:
            translations: support.NullTranslations = cached[1]
            return translations
        translations = super().get_translations()
        context.amtsweg_translations = (getattr(context, "babel_locale", None), translations)
        return translations


@functools.cache
def _wtforms_catalogue(locale: str) -> support.NullTranslations:
    catalogue: support.NullTranslations = support.Translations.load(
        wtforms_messages_path(), [locale], domain="wtforms")
    return catalogue


def _hand_wtforms_its_catalogue() -> None:
    # Flask-WTF reads WTForms' own catalogue (the built-in messages such as "Not a valid
    # choice.") from disk for every request that builds a form, and keeps it on the request
    # under this name; parsed once per locale here and handed over before it looks.
    request.wtforms_translations = _wtforms_catalogue(  # type: ignore[attr-defined]
        select_locale())


def init_app(app: Flask) -> None:
    app.before_request(_hand_wtforms_its_catalogue)
    # Replaces the domain Flask-Babel would create on first use (a cached property).
    babel_extension.__dict__["domain_instance"] = RequestCachedDomain(domain="messages")
    app.jinja_env.add_extension("jinja2.ext.i18n")
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]  # added by the extension
        gettext=lambda s: current_translations().ugettext(s),
        ngettext=lambda s, p, n: current_translations().ungettext(s, p, n),
        pgettext=lambda c, s: current_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: current_translations().unpgettext(c, s, p, n),
        newstyle=True)
    app.jinja_env.filters["cents"] = _cents
    app.jinja_env.filters["date"] = _date

    @app.context_processor
    def locale_context() -> dict[str, Any]:
        return {"current_locale": select_locale(), "locales": LOCALES}
