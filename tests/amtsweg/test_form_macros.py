"""The one macro layer: every field has its label, hint, error and aria-describedby wired up."""

from __future__ import annotations

import re

from flask import Flask, render_template_string
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, RadioField, SelectField, StringField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # stubs predate 3.3
from wtforms.validators import DataRequired, Optional

PAGE = """{% extends "layout.html" %}
{% from "macros/forms.html" import field, upload_field, error_summary, submit %}
{% block title %}Testformular{% endblock %}
{% block content %}
{{ error_summary(form) }}
<form method="post" novalidate>
{{ form.hidden_tag() }}
{{ field(form.name, autocomplete="name") }}
{{ field(form.nickname) }}
{{ field(form.marital_status) }}
{{ field(form.kind) }}
{{ field(form.consent) }}
{{ upload_field(form.document, max_mb=20) }}
{{ upload_field(form.evidence, max_mb=20, optional_mark=False) }}
{{ submit("Weiter") }}
</form>
{% endblock %}"""


class SampleForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired("Enter your name")],
                       description="As on your identity card")
    nickname = StringField("Nickname", validators=[Optional()])
    marital_status = RadioField("Marital status", choices=[SelectChoice("single", "single"),
                                                           SelectChoice("divorced", "divorced")],
                                validators=[DataRequired("Select your marital status")])
    kind = SelectField("Kind", choices=[SelectChoice("a", "A"), SelectChoice("b", "B")])
    consent = BooleanField("I agree", validators=[DataRequired("You must agree")])
    document = FileField("Document")
    evidence = FileField("Evidence")  # may stay empty only because the form offers "later"


def _render(app: Flask, data: dict[str, str] | None) -> str:
    with app.test_request_context("/", method="POST" if data is not None else "GET",
                                  data=data or {}):
        form = SampleForm(meta={"csrf": False})
        if data is not None:
            form.validate()
        return render_template_string(PAGE, form=form)


def _ids(page: str) -> set[str]:
    return set(re.findall(r'\bid="([^"]+)"', page))


def test_fields_have_labels_hints_and_optional_marks(app: Flask) -> None:
    page = _render(app, None)
    assert '<label class="kern-label" for="name">Name</label>' in page
    assert 'aria-describedby="name-hint"' in page
    assert '<div class="kern-hint" id="name-hint">As on your identity card</div>' in page
    assert 'autocomplete="name"' in page
    assert "– optional" in page.split('for="nickname"')[1].split("</label>")[0]
    assert "– optional" not in page.split('for="name"')[1].split("</label>")[0]
    assert "– optional" in page.split('for="document"')[1].split("</label>")[0]
    # Left out on request, and the request never becomes an attribute of the input.
    assert "– optional" not in page.split('for="evidence"')[1].split("</label>")[0]
    assert "optional_mark" not in page
    assert "<legend" in page
    assert "Marital status" in page
    assert "höchstens 20 MB" in page
    assert 'accept="application/pdf,image/jpeg,image/png"' in page
    assert "error-summary" not in page
    assert "<title>Testformular" in page


def test_errors_link_from_the_summary_to_the_fields(app: Flask) -> None:
    page = _render(app, {"name": "", "kind": "a"})
    assert "<title>Fehler: Testformular" in page
    summary = page.split('id="error-summary"')[1].split("</div>\n    </div>")[0]
    links = re.findall(r'href="#([^"]+)">([^<]+)</a>', summary)
    assert ("name", "Enter your name") in links
    assert ("consent", "You must agree") in links
    ids = _ids(page)
    for target, _message in links:
        assert target in ids
    for described in re.findall(r'aria-describedby="([^"]+)"', page):
        for ref in described.split():
            assert ref in ids, ref
    assert 'aria-describedby="name-hint name-error"' in page
    assert 'aria-invalid="true"' in page


def test_input_is_kept_and_escaped_on_error(app: Flask) -> None:
    hostile = '"><script>alert(1)</script>'
    page = _render(app, {"name": "", "nickname": hostile, "kind": "b"})
    assert "<script>alert(1)</script>" not in page
    assert "&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert '<option selected value="b">' in page


def test_german_date_fields_are_text_inputs_a_browser_sends_as_typed(app: Flask) -> None:
    from amtsweg.forms import GermanDateField

    class DateForm(FlaskForm):
        day = GermanDateField("Day")

    with app.test_request_context("/", method="POST", data={"day": "31.12.2025"}):
        form = DateForm(meta={"csrf": False})
        form.validate()
        assert 'type="text"' in form.day()
        assert form.day.data is not None
        assert form.day.data.isoformat() == "2025-12-31"
    with app.test_request_context("/", method="POST", data={"day": "2025-12-31"}):
        form = DateForm(meta={"csrf": False})
        assert not form.validate()
        assert form.day.errors


class SelectForm(FlaskForm):
    plain = SelectField("Plain", choices=[SelectChoice("", "– all –"),
                                          SelectChoice("a&b", 'Say "hi" <b>'),
                                          SelectChoice("c", "C")])
    required = SelectField("Required", validators=[DataRequired("Choose one")],
                           choices=[SelectChoice("1", "One"), SelectChoice("2", "Two")])
    numbers = SelectField("Numbers", coerce=int,
                          choices=[SelectChoice(1, "One"), SelectChoice(2, "Two")])
    flags = SelectField("Flags", choices=[SelectChoice(True, "Yes"), SelectChoice(False, "No")])
    custom = SelectField("Custom", choices=[SelectChoice("x", "X", render_kw={"disabled": True})])


def test_select_options_are_written_as_the_widget_writes_them(app: Flask) -> None:
    """amtsweg.field_html writes plain selects itself (the widget's per-option formatting was the
    costliest part of list pages): the markup must be the widget's, byte for byte."""
    from amtsweg.field_html import _plain_select

    with app.test_request_context("/", method="POST",
                                  data={"plain": "a&b", "required": "", "numbers": "2"}):
        form = SelectForm(meta={"csrf": False})
        form.validate()
        attrs = {"class_": "kern-form-input__select", "aria-describedby": "x-error",
                 "aria-invalid": "true"}
        for name in ("plain", "required", "numbers", "flags"):
            written = _plain_select(form[name], dict(attrs))
            assert written is not None
            assert str(written) == str(form[name](**attrs)), name
        assert 'selected value="a&amp;b">Say &#34;hi&#34; &lt;b&gt;</option>' in str(
            _plain_select(form.plain, {}))
        assert " required" in str(_plain_select(form.required, {}))
        # An option with attributes of its own is left to the widget.
        assert _plain_select(form.custom, {}) is None


def _form_classes(root: type[FlaskForm]) -> list[type[FlaskForm]]:
    found = []
    for subclass in root.__subclasses__():
        found += [subclass, *_form_classes(subclass)]
    return found


def test_no_label_writes_optional_itself(app: Flask) -> None:
    # The macro marks every field without a required validator "– optional"; a label saying
    # "(optional)" as well reads "Berechnen bis (optional) – optional".
    assert app is not None  # every blueprint, and so every form class, is imported
    labels = {f"{form.__module__}.{form.__name__}.{name}": str(unbound.args[0])
              for form in _form_classes(FlaskForm)
              for name, unbound in vars(form).items()
              if hasattr(unbound, "field_class") and unbound.args}
    assert len(labels) > 100
    assert [name for name, label in labels.items() if "optional" in label.lower()] == []
