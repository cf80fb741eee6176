"""Citizen account pages under /konto: register, verify, sign in, reset, change, delete."""

from __future__ import annotations

from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue
from wtforms import Field

from amtsweg import navigation
from amtsweg.citizens import services
from amtsweg.citizens.forms import (
    ChangeEmailForm,
    ChangePasswordForm,
    ConfirmForm,
    DeleteAccountForm,
    EmailOnlyForm,
    LoginForm,
    RegisterForm,
    ResetPasswordForm,
)
from amtsweg.citizens.models import Citizen
from amtsweg.citizens.tokens import Purpose, TokenError, TokenExpired, read_token
from amtsweg.extensions import limiter
from amtsweg.sessions import current_citizen, guard_citizen_blueprint, login_citizen, safe_next_url
from amtsweg.sessions import logout as end_session
from amtsweg.translate import gettext as _
from amtsweg.translate import lazy_gettext as _l

bp = Blueprint("citizens", __name__, url_prefix="/konto")

# Per client address against guessing many accounts; per e-mail (failed attempts only) against
# guessing one account's password from many addresses. A mail-sending form is limited per
# address too, so nobody can flood a stranger's mailbox through us.
LOGIN_LIMIT_PER_CLIENT = "10 per minute"
LOGIN_FAILURES_PER_EMAIL = "20 per hour"
MAIL_FORM_LIMIT_PER_CLIENT = "10 per minute"
MAIL_FORM_LIMIT_PER_EMAIL = "5 per hour"


def _submitted_email() -> str:
    return "email:" + (request.form.get("email") or "").strip().lower()[:254]


def _login_failed(response: object) -> bool:
    return getattr(response, "status_code", 200) != 302


def _add_navigation(state: BlueprintSetupState) -> None:
    assert isinstance(state.app, Flask)
    navigation.add_citizen_item(state.app, "citizens.account", _l("My account"))


bp.record_once(_add_navigation)


def _text(field: Field) -> str:
    return str(field.data or "")


def _add_error(field: Field, message: str) -> None:
    field.errors = [*field.errors, message]


def _signed_in() -> Citizen:
    citizen = current_citizen()
    assert citizen is not None  # guard_citizen_blueprint let only signed-in citizens through
    return citizen


def _mail_sent(kind: str, email: str | None = None) -> ResponseReturnValue:
    return render_template("citizens/mail_sent.html", kind=kind, email=email)


def _link_problem(error: TokenError) -> ResponseReturnValue:
    expired = isinstance(error, TokenExpired)
    return render_template("citizens/link_problem.html", expired=expired), 400


# --- registration and verification -------------------------------------------------------------


@bp.route("/registrieren", methods=["GET", "POST"])
@limiter.limit(MAIL_FORM_LIMIT_PER_CLIENT, methods=["POST"])
@limiter.limit(MAIL_FORM_LIMIT_PER_EMAIL, methods=["POST"], key_func=_submitted_email)
def register() -> ResponseReturnValue:
    if current_citizen() is not None:
        return redirect(url_for("citizens.account"))
    form = RegisterForm()
    if not form.validate_on_submit():
        return render_template("citizens/register.html", form=form)
    services.register_citizen(_text(form.email), _text(form.password))
    return _mail_sent("register", _text(form.email))


@bp.route("/bestaetigung-erneut", methods=["GET", "POST"])
@limiter.limit(MAIL_FORM_LIMIT_PER_CLIENT, methods=["POST"])
@limiter.limit(MAIL_FORM_LIMIT_PER_EMAIL, methods=["POST"], key_func=_submitted_email)
def resend_verification() -> ResponseReturnValue:
    form = EmailOnlyForm()
    if not form.validate_on_submit():
        return render_template("citizens/resend_verification.html", form=form)
    services.resend_verification(_text(form.email))
    return _mail_sent("resend", _text(form.email))


@bp.route("/bestaetigen/<token>", methods=["GET", "POST"])
def verify_email(token: str) -> ResponseReturnValue:
    try:
        citizen = read_token(token, Purpose.VERIFY_EMAIL)
    except TokenError as error:
        return _link_problem(error)
    form = ConfirmForm()
    if not form.validate_on_submit():
        return render_template("citizens/verify_email.html", form=form)
    services.verify_email(citizen)
    flash(_("Your e-mail address is confirmed. You can sign in now."), "success")
    return redirect(url_for("citizens.login"))


# --- signing in and out ------------------------------------------------------------------------


@bp.route("/anmelden", methods=["GET", "POST"])
@limiter.limit(LOGIN_LIMIT_PER_CLIENT, methods=["POST"])
@limiter.limit(LOGIN_FAILURES_PER_EMAIL, methods=["POST"], key_func=_submitted_email,
               deduct_when=_login_failed)
def login() -> ResponseReturnValue:
    target = safe_next_url(request.args.get("next"), url_for("citizens.account"))
    if current_citizen() is not None:
        return redirect(target)
    form = LoginForm()
    if not form.validate_on_submit():
        return render_template("citizens/login.html", form=form)
    outcome, citizen = services.authenticate(_text(form.email), _text(form.password))
    if outcome is services.LoginOutcome.UNVERIFIED:
        return render_template("citizens/login.html", form=form, unverified=True)
    if citizen is None:
        # One message for both halves: the page never tells which addresses have accounts.
        form.form_errors.append(_("The e-mail address or the password is not correct."))
        return render_template("citizens/login.html", form=form)
    login_citizen(citizen)
    return redirect(target)


@bp.post("/abmelden")
def logout() -> ResponseReturnValue:
    services.record_logout(_signed_in())
    end_session()
    flash(_("You have signed out."), "success")
    return redirect(url_for("citizens.login"))


# --- password ----------------------------------------------------------------------------------


@bp.route("/passwort-vergessen", methods=["GET", "POST"])
@limiter.limit(MAIL_FORM_LIMIT_PER_CLIENT, methods=["POST"])
@limiter.limit(MAIL_FORM_LIMIT_PER_EMAIL, methods=["POST"], key_func=_submitted_email)
def forgot_password() -> ResponseReturnValue:
    form = EmailOnlyForm()
    if not form.validate_on_submit():
        return render_template("citizens/forgot_password.html", form=form)
    services.request_password_reset(_text(form.email))
    return _mail_sent("reset", _text(form.email))


@bp.route("/passwort-neu/<token>", methods=["GET", "POST"])
def reset_password(token: str) -> ResponseReturnValue:
    try:
        citizen = read_token(token, Purpose.RESET_PASSWORD)
    except TokenError as error:
        return _link_problem(error)
    form = ResetPasswordForm()
    if not form.validate_on_submit():
        return render_template("citizens/reset_password.html", form=form)
    services.reset_password(citizen, _text(form.password))
    end_session()
    flash(_("Your password has been changed. Please sign in with the new password."), "success")
    return redirect(url_for("citizens.login"))


@bp.route("/passwort-aendern", methods=["GET", "POST"])
def change_password() -> ResponseReturnValue:
    citizen = _signed_in()
    form = ChangePasswordForm()
    if not form.validate_on_submit():
        return render_template("citizens/change_password.html", form=form)
    if not services.change_password(citizen, _text(form.current_password), _text(form.password)):
        _add_error(form.current_password, _("The current password is not correct."))
        return render_template("citizens/change_password.html", form=form)
    login_citizen(citizen)  # this session goes on under the new epoch; all others have ended
    flash(_("Your password has been changed. You were signed out everywhere else."), "success")
    return redirect(url_for("citizens.account"))


# --- account -----------------------------------------------------------------------------------


@bp.get("/")
def account() -> ResponseReturnValue:
    return render_template("citizens/account.html", citizen=_signed_in())


@bp.route("/e-mail-aendern", methods=["GET", "POST"])
def change_email() -> ResponseReturnValue:
    citizen = _signed_in()
    form = ChangeEmailForm()
    if not form.validate_on_submit():
        return render_template("citizens/change_email.html", form=form)
    if form.email.data == citizen.email:
        _add_error(form.email, _("This is already the e-mail address of your account."))
        return render_template("citizens/change_email.html", form=form)
    if not services.request_email_change(citizen, _text(form.current_password), _text(form.email)):
        _add_error(form.current_password, _("The current password is not correct."))
        return render_template("citizens/change_email.html", form=form)
    return _mail_sent("change_email", _text(form.email))


@bp.route("/e-mail-bestaetigen/<token>", methods=["GET", "POST"])
def confirm_email_change(token: str) -> ResponseReturnValue:
    try:
        citizen = read_token(token, Purpose.CHANGE_EMAIL)
    except TokenError as error:
        return _link_problem(error)
    form = ConfirmForm()
    if not form.validate_on_submit():
        return render_template("citizens/confirm_email_change.html", form=form,
                               new_email=citizen.pending_email)
    was_signed_in = current_citizen() is citizen
    try:
        services.confirm_email_change(citizen)
    except services.EmailTaken:
        return render_template("citizens/link_problem.html", taken=True), 409
    if was_signed_in:
        login_citizen(citizen)  # a fresh session under the new epoch, before the flash
    flash(_("Your e-mail address has been changed."), "success")
    return redirect(url_for("citizens.account" if was_signed_in else "citizens.login"))


@bp.route("/loeschen", methods=["GET", "POST"])
def delete_account() -> ResponseReturnValue:
    citizen = _signed_in()
    form = DeleteAccountForm()
    if not form.validate_on_submit():
        return render_template("citizens/delete_account.html", form=form)
    if not services.delete_account(citizen, _text(form.current_password)):
        _add_error(form.current_password, _("The current password is not correct."))
        return render_template("citizens/delete_account.html", form=form)
    end_session()
    return render_template("citizens/deleted.html")


guard_citizen_blueprint(bp, public_endpoints=(
    "login", "register", "resend_verification", "verify_email", "forgot_password",
    "reset_password", "confirm_email_change",
))
