"""``gettext`` and ``lazy_gettext`` for the app's one message domain.

Flask-Babel's own functions look the domain up again for every text (the request context, ``g``
and the extension, a dozen proxy lookups each); a staff page resolves about eighty lazy labels,
and those lookups were a fixed part of every request. These go straight to the domain that
``amtsweg.i18n`` installs, which keeps the request's translations at hand and still follows
``force_locale`` (letters are always German). Import them as ``_`` and ``_l``.
"""

from __future__ import annotations

from typing import Any

from babel import support
from flask_babel import LazyString

from amtsweg.extensions import babel


def translations() -> support.NullTranslations:
    found: support.NullTranslations = babel.domain_instance.get_translations()
    return found


def gettext(string: str, **variables: Any) -> str:
    translated: str = translations().ugettext(string)
    return translated % variables if variables else translated


def lazy_gettext(string: str, **variables: Any) -> LazyString:
    return LazyString(gettext, string, **variables)
