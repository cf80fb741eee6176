"""The HTML of one form field in KERN markup: label, hint, error and aria-describedby together.

This is the body of the ``field`` macro in templates/macros/forms.html, written in Python because
it runs for every field of every page: as nested Jinja macros it cost about 2 ms a field (four
macro calls, a list built by ``set`` statements, ``kwargs`` copied), which made it the largest
fixed cost of a staff page. Templates still call ``field(...)``; only the body moved here.

Every piece is built with ``Markup(...).format``, which escapes each value that is not already
markup (WTForms' own widgets return markup), so nothing a user typed reaches the page unescaped.
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup, escape
from wtforms import Field
from wtforms.widgets import Select, html_params

from amtsweg.translate import gettext as _

_EMPTY = Markup("")
_HINT = Markup('<div class="kern-hint" id="{}-hint">{}</div>')
_ERROR = Markup('<p class="kern-error" id="{}-error" role="alert"><span class="kern-icon '
                'kern-icon--danger kern-icon--default" aria-hidden="true"></span><span '
                'class="kern-body"><span class="kern-sr-only">{} </span>{}</span></p>')
_OPTIONAL = Markup(' <span class="kern-label__optional">{}</span>')
_RADIO_OPTION = Markup('<div class="kern-form-check">{}{}</div>')
_FIELDSET = Markup('<fieldset class="{}"{} id="{}"><legend class="kern-label">{}{}</legend>{}{}'
                   '<div class="kern-fieldset__body">{}</div></fieldset>')
_DESCRIBED = Markup(' aria-describedby="{}"')
_CHECKBOX = Markup('<div class="{}">{}{}{}{}</div>')
_LABEL = Markup('<label class="kern-label" for="{}">{}{}</label>')
_SELECT = Markup('<div class="kern-form-input__select-wrapper">{}</div>')
_INPUT = Markup('<div class="{}">{}{}{}{}</div>')


def _described_by(field: Field, has_hint: bool) -> str:
    ids = []
    if has_hint:
        ids.append(f"{field.id}-hint")
    if field.errors:
        ids.append(f"{field.id}-error")
    return " ".join(ids)


def _hint(field: Field, extra_hint: Any) -> Markup:
    parts = [part for part in (field.description, extra_hint) if part]
    if not parts:
        return _EMPTY
    return _HINT.format(field.id, Markup(" ").join(parts))


def _error(field: Field) -> Markup:
    if not field.errors:
        return _EMPTY
    return _ERROR.format(field.id, _("Error:"), field.errors[0])


def _optional(field: Field) -> Markup:
    return _EMPTY if field.flags.required else _OPTIONAL.format(_("– optional"))


def _modifier(base: str, field: Field) -> str:
    return f"{base} {base}--error" if field.errors else base


def _plain_select(field: Field, attrs: dict[str, Any]) -> Markup | None:
    """WTForms' own Select widget, with each option written directly.

    The widget renders every option through ``html_params``, two ``Markup.format`` calls an
    option (a Python-level string formatter); a queue page with its filter and bulk forms has
    forty options, and they cost more than the rest of the fields together. The markup is the
    widget's, byte for byte (tests/amtsweg/test_form_macros.py compares the two). Grouped,
    multiple and custom selects, and options with their own attributes, go to the widget.
    """
    widget: Any = field.widget  # the stubs type widgets generically
    choices: Any = field  # SelectField's iter_choices and has_groups are not in the stubs
    if type(widget) is not Select or widget.multiple or choices.has_groups():
        return None
    params = {"id": field.id, **attrs}
    for flag in Select.validation_attrs:
        if flag not in params and getattr(field.flags, flag, False):
            params[flag] = getattr(field.flags, flag)
    options = []
    for choice in choices.iter_choices():
        if choice.render_kw:
            return None
        value = str(choice.value) if isinstance(choice.value, bool) else choice.value
        selected = "selected " if choice.selected else ""
        options.append(f'<option {selected}value="{escape(value)}">'
                       f"{escape(choice.label or choice.value)}</option>")
    return Markup(  # noqa: S704  (values escaped above; html_params escapes the attributes)
        f"<select {html_params(name=field.name, **params)}>{''.join(options)}</select>")


def render_field(field: Field, extra_hint: Any = None, width: Any = None, *,
                 optional_mark: bool = True, **attrs: Any) -> Markup:
    """Render any WTForms field; ``attrs`` go to the input element (autocomplete, ...).

    ``optional_mark=False`` leaves out "– optional" beside a field that may stay empty only
    because the form offers another way (an upload, or the box "I will send it later").
    """
    kind = field.type
    if kind in ("HiddenField", "CSRFTokenField"):
        return Markup(field())  # noqa: S704 - a WTForms widget: escaped markup already
    described = _described_by(field, bool(field.description or extra_hint))
    if described:
        attrs["aria-describedby"] = described
    if field.errors:
        attrs["aria-invalid"] = "true"
    hint, error = _hint(field, extra_hint), _error(field)
    if kind == "RadioField":
        choices: Any = field  # a RadioField iterates over its options (not in the stubs)
        options = Markup("").join(
            _RADIO_OPTION.format(option(class_=_modifier("kern-form-check__radio", field)),
                                 option.label(class_="kern-label")) for option in choices)
        return _FIELDSET.format(_modifier("kern-fieldset", field),
                                _DESCRIBED.format(described) if described else _EMPTY,
                                field.id, field.label.text, _optional(field), hint, error,
                                options)
    if kind == "BooleanField":
        checkbox = field(class_=_modifier("kern-form-check__checkbox", field), **attrs)
        return _CHECKBOX.format(_modifier("kern-form-check", field), checkbox,
                                field.label(class_="kern-label"), hint, error)
    label = _LABEL.format(field.id, field.label.text,
                          _optional(field) if optional_mark else _EMPTY)
    if kind == "SelectField":
        select_attrs = {"class_": _modifier("kern-form-input__select", field), **attrs}
        control = _SELECT.format(_plain_select(field, select_attrs)
                                 or field(**select_attrs))
    else:
        css = _modifier("kern-form-input__input", field)
        if width:
            css += f" kern-form-input__input--width-{width}"
        control = field(class_=css, **attrs)
    return _INPUT.format(_modifier("kern-form-input", field), label, hint, error, control)
