"""Translations are looked up once per request, and ``force_locale`` still switches them."""

from __future__ import annotations

from flask import Flask
from flask_babel import force_locale
from flask_babel import gettext as _


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
