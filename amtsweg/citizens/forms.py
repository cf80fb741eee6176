"""Forms of the citizen account. Every message is a lazy msgid, shown in German by default."""

from __future__ import annotations

from typing import Any

from email_validator import EmailNotValidError, validate_email
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, Field, PasswordField
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from amtsweg.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from amtsweg.translate import lazy_gettext as _l

# RFC 5321 allows 254 characters in a forward path; anything longer cannot be a mailbox.
MAX_EMAIL_LENGTH = 254


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


class ValidEmail:
    """Accept one plain e-mail address and store it normalised in lower case."""

    def __call__(self, form: FlaskForm, field: Field) -> None:
        value = field.data or ""
        if any(char in value for char in "\r\n\t ,;<>"):
            # Line breaks or lists would let one field smuggle extra recipients into a header.
            raise ValidationError(_l("Enter a single e-mail address, like name@example.de."))
        try:
            result = validate_email(value, check_deliverability=False)
        except EmailNotValidError:
            raise ValidationError(
                _l("Enter an e-mail address in the correct format, like name@example.de.")
            ) from None
        field.data = result.normalized.lower()


def _email_field(label: Any) -> EmailField:
    return EmailField(label, filters=[_strip], validators=[
        DataRequired(_l("Enter your e-mail address.")),
        Length(max=MAX_EMAIL_LENGTH,
               message=_l("The e-mail address must be at most %(max)d characters long.")),
        ValidEmail(),
    ])


def _new_password_field(label: Any) -> PasswordField:
    return PasswordField(label, description=_l(
        "At least %(min)d characters. A sentence of several words is easy to remember.",
        min=MIN_PASSWORD_LENGTH), validators=[
        DataRequired(_l("Enter a password.")),
        Length(min=MIN_PASSWORD_LENGTH, max=MAX_PASSWORD_LENGTH,
               message=_l("The password must be between %(min)d and %(max)d characters long.")),
    ])


def _repeat_field(label: Any, other: str) -> PasswordField:
    return PasswordField(label, validators=[
        DataRequired(_l("Enter the password a second time.")),
        EqualTo(other, message=_l("The two passwords do not match.")),
    ])


def _current_password_field(label: Any) -> PasswordField:
    return PasswordField(label, validators=[
        DataRequired(_l("Enter your current password.")),
        Length(max=MAX_PASSWORD_LENGTH, message=_l("The password is too long.")),
    ])


class RegisterForm(FlaskForm):
    email = _email_field(_l("E-mail address"))
    password = _new_password_field(_l("Password"))
    password_repeat = _repeat_field(_l("Repeat the password"), "password")
    privacy_consent = BooleanField(
        _l("I have read the privacy notice and agree that my data is processed to run my "
           "account."),
        validators=[DataRequired(_l("Confirm that you have read the privacy notice."))])


class LoginForm(FlaskForm):
    email = _email_field(_l("E-mail address"))
    password = PasswordField(_l("Password"), validators=[
        DataRequired(_l("Enter your password.")),
        Length(max=MAX_PASSWORD_LENGTH, message=_l("The password is too long.")),
    ])


class EmailOnlyForm(FlaskForm):
    """Resend the verification link, or ask for a password reset link."""

    email = _email_field(_l("E-mail address"))


class ConfirmForm(FlaskForm):
    """A page behind a link acts only on a button press: mail scanners that open links
    must not verify, reset or change anything."""


class ResetPasswordForm(FlaskForm):
    password = _new_password_field(_l("New password"))
    password_repeat = _repeat_field(_l("Repeat the new password"), "password")


class ChangePasswordForm(FlaskForm):
    current_password = _current_password_field(_l("Current password"))
    password = _new_password_field(_l("New password"))
    password_repeat = _repeat_field(_l("Repeat the new password"), "password")


class ChangeEmailForm(FlaskForm):
    email = _email_field(_l("New e-mail address"))
    current_password = _current_password_field(_l("Current password"))


class DeleteAccountForm(FlaskForm):
    current_password = _current_password_field(_l("Current password"))
    confirm = BooleanField(
        _l("Yes, delete my account and everything stored in it."),
        validators=[DataRequired(_l("Confirm that you want to delete your account."))])
