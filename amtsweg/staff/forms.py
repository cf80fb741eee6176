"""Forms for staff sign-in, the own account and the admin pages."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, PasswordField, StringField
from wtforms.validators import (
    DataRequired,
    EqualTo,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
)

from amtsweg.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from amtsweg.staff.models import Fachbereich, Role
from amtsweg.translate import lazy_gettext as _l

ROLE_LABELS: dict[Role, Any] = {
    Role.CLEARING: _l("Clearing office"),
    Role.CASEWORKER: _l("Caseworker"),
    Role.FESTSTELLER: _l("Feststeller (certifies payments as correct)"),
    Role.ANORDNER: _l("Anordner (orders payments)"),
    Role.LEAD: _l("Team lead"),
    Role.ADMIN: _l("Administrator"),
    Role.AUDITOR: _l("Auditor (reads the audit log)"),
}

TOTP_CODE = Regexp(r"^\s*\d{3}\s?\d{3}\s*$",
                   message=_l("Enter the 6-digit code from your authenticator app."))


class WholeNumberField(IntegerField):
    """An integer field that leaves the message for a non-number to its validators.

    WTForms' own "Not a valid integer value." is English and technical; NumberRange then says in
    plain words what to type.
    """

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.data = None
        if valuelist and valuelist[0].strip():
            try:
                self.data = int(valuelist[0].strip())
            except ValueError:
                self.data = None


class LoginForm(FlaskForm):
    # No length limits here: a too-long name gets the same answer as any wrong login.
    username = StringField(_l("Username"), validators=[DataRequired(_l("Enter your username."))],
                           render_kw={"autocomplete": "username", "spellcheck": "false"})
    password = PasswordField(_l("Password"),
                             validators=[DataRequired(_l("Enter your password."))],
                             render_kw={"autocomplete": "current-password"})


class TotpForm(FlaskForm):
    code = StringField(_l("Security code"),
                       description=_l("The 6-digit code your authenticator app shows now."),
                       validators=[DataRequired(_l("Enter the 6-digit code from your "
                                                   "authenticator app.")), TOTP_CODE],
                       render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"})


class ReauthenticateForm(FlaskForm):
    password = PasswordField(_l("Password"),
                             validators=[DataRequired(_l("Enter your password."))],
                             render_kw={"autocomplete": "current-password"})


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(
        _l("Current password"), validators=[DataRequired(_l("Enter your current password."))],
        render_kw={"autocomplete": "current-password"})
    new_password = PasswordField(
        _l("New password"),
        description=_l("At least %(min)s characters.", min=MIN_PASSWORD_LENGTH),
        validators=[DataRequired(_l("Enter a new password.")),
                    Length(min=MIN_PASSWORD_LENGTH, max=MAX_PASSWORD_LENGTH,
                           message=_l("The password must be between %(min)s and %(max)s "
                                      "characters long.", min=MIN_PASSWORD_LENGTH,
                                      max=MAX_PASSWORD_LENGTH))],
        render_kw={"autocomplete": "new-password"})
    confirm_password = PasswordField(
        _l("Repeat the new password"),
        validators=[DataRequired(_l("Repeat the new password.")),
                    EqualTo("new_password", _l("The two new passwords do not match."))],
        render_kw={"autocomplete": "new-password"})


class StaffSearchForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search changes nothing

    q = StringField(_l("Name or username"), validators=[Optional(), Length(
        max=100, message=_l("Enter at most %(max)s characters.", max=100))])


class StaffDetailsForm(FlaskForm):
    """Name, e-mail, and one checkbox per role and per Fachbereich (built per request)."""

    full_name = StringField(
        _l("Full name"),
        validators=[DataRequired(_l("Enter the full name.")),
                    Length(max=200, message=_l("The full name must be at most %(max)s "
                                               "characters long.", max=200))])
    email = StringField(
        _l("E-mail address"),
        validators=[Optional(), Length(max=254, message=_l("Enter a valid e-mail address, "
                                                           "like name@example.org."))],
        render_kw={"autocomplete": "off", "spellcheck": "false"})

    def role_fields(self) -> list[BooleanField]:
        return [self[f"role_{role.value}"] for role in Role]

    def fachbereich_fields(self) -> list[BooleanField]:
        return [self[name] for name in self._fields if name.startswith("fb_")]

    def selected_roles(self) -> set[Role]:
        return {role for role in Role if self[f"role_{role.value}"].data}

    def selected_fachbereich_ids(self) -> set[int]:
        return {int(name[3:]) for name in self._fields
                if name.startswith("fb_") and self[name].data}


class StaffCreateFormBase(StaffDetailsForm):
    username = StringField(
        _l("Username"),
        description=_l("2 to 64 characters: lower-case letters, digits, dot, hyphen or "
                       "underscore."),
        validators=[DataRequired(_l("Enter a username.")),
                    Length(max=64, message=_l("The username must be at most %(max)s "
                                              "characters long.", max=64))],
        render_kw={"autocomplete": "off", "spellcheck": "false"})


def _with_checkboxes(base: type[StaffDetailsForm],
                     fachbereiche: list[Fachbereich]) -> type[StaffDetailsForm]:
    attributes: dict[str, Any] = {f"role_{role.value}": BooleanField(ROLE_LABELS[role])
                                  for role in Role}
    attributes.update({f"fb_{fb.id}": BooleanField(fb.name) for fb in fachbereiche})
    return type(base.__name__, (base,), attributes)


def staff_create_form(fachbereiche: list[Fachbereich]) -> StaffDetailsForm:
    return _with_checkboxes(StaffCreateFormBase, fachbereiche)()


def staff_edit_form(fachbereiche: list[Fachbereich], **data: Any) -> StaffDetailsForm:
    return _with_checkboxes(StaffDetailsForm, fachbereiche)(**data)


class FachbereichEditForm(FlaskForm):
    name = StringField(
        _l("Name"),
        validators=[DataRequired(_l("Enter the name of the Fachbereich.")),
                    Length(max=120, message=_l("The name must be at most %(max)s characters "
                                               "long.", max=120))])
    retention_years = WholeNumberField(
        _l("Retention period in years"),
        description=_l("How long files are kept after the case is closed."),
        validators=[InputRequired(_l("Enter the retention period as a whole number of "
                                     "years.")),
                    NumberRange(min=1, max=100, message=_l("The retention period must be "
                                                           "between 1 and 100 years."))],
        render_kw={"inputmode": "numeric"})


class FachbereichCreateForm(FachbereichEditForm):
    code = StringField(
        _l("Code"),
        description=_l("Short internal name, e.g. uvg. Cannot be changed later."),
        validators=[DataRequired(_l("Enter a code.")),
                    Length(max=40, message=_l("The code must be at most %(max)s characters "
                                              "long.", max=40))],
        render_kw={"autocomplete": "off", "spellcheck": "false"})
