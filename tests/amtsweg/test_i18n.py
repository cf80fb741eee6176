"""Translations are looked up once per request, and ``force_locale`` still switches them."""

from __future__ import annotations

from flask import Flask
from flask_babel import force_locale

from amtsweg.translate import gettext as _
from amtsweg.translate import lazy_gettext as _l


def test_force_locale_switches_inside_a_request_that_speaks_english(app: Flask) -> None:
    with app.test_request_context("/"):
        from flask import session

        session["locale"] = "en"
        assert _("Sign out") == "Sign out"
        with force_locale("de"):
            # Letters are always German, whatever the caseworker's language.
            assert _("Sign out") == "Abmelden"
        assert _("Sign out") == "Sign out"


def test_each_request_has_its_own_language(app: Flask) -> None:
    with app.test_request_context("/"):
        assert _("Sign out") == "Abmelden"
    with app.test_request_context("/"):
        from flask import session

        session["locale"] = "en"
        assert _("Sign out") == "Sign out"


def test_lazy_texts_translate_when_shown_and_fill_in_their_values(app: Flask) -> None:
    label = _l("Receipt %(reference)s", reference="UVG-2026-000001")
    with app.test_request_context("/"):
        assert str(label) == "Eingangsbestätigung UVG-2026-000001"
    with app.test_request_context("/"):
        from flask import session

        session["locale"] = "en"
        assert str(label) == "Receipt UVG-2026-000001"
    # Outside any app (a script, an import-time constant) the text stays as written.
    assert _("Sign out") == "Sign out"
