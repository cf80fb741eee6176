"""Staff sign-in, the own account, and the admin pages for staff and Fachbereiche."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import qrcode
import qrcode.image.svg
from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue
from flask_babel import format_datetime
from markupsafe import Markup, escape

from amtsweg.config import Settings
from amtsweg.extensions import db, limiter
from amtsweg.navigation import add_staff_item
from amtsweg.sessions import (
    current_actor,
    current_staff,
    guard_staff_blueprint,
    login_staff,
    mark_staff_reauthenticated,
    safe_next_url,
    staff_actor,
)
from amtsweg.sessions import (
    logout as end_session,
)
from amtsweg.staff import services
from amtsweg.staff.auth import (
    PENDING_KEY,
    PURPOSE_TOTP,
    PURPOSE_TOTP_SETUP,
    current_or_pending_setup,
    pending_next,
    pending_staff,
    start_pending_login,
)
from amtsweg.staff.forms import (
    ROLE_LABELS,
    ChangePasswordForm,
    FachbereichCreateForm,
    FachbereichEditForm,
    LoginForm,
    ReauthenticateForm,
    StaffDetailsForm,
    StaffSearchForm,
    TotpForm,
    staff_create_form,
    staff_edit_form,
)
from amtsweg.staff.models import Fachbereich, Role, Staff
from amtsweg.staff.services import LoginOutcome, LoginResult, StaffError
from amtsweg.translate import gettext as _
from amtsweg.translate import lazy_gettext as _l

staff_auth_bp = Blueprint("staff_auth", __name__, url_prefix="/intern")
admin_bp = Blueprint("admin", __name__, url_prefix="/intern/verwaltung")

# Guessing passwords from one address is slowed here; the per-account lock does the rest.
LOGIN_RATE_LIMIT = "30 per minute"
TOTP_SETUP_SESSION_FIELD = "staff_totp_setup"


def _settings() -> Settings:
    settings: Settings = current_app.config["AMTSWEG"]
    return settings


def _berlin_time(moment: datetime | None) -> str:
    return str(format_datetime(moment, "dd.MM.yyyy, HH:mm")) if moment else ""


def _locked_message(result: LoginResult) -> str:
    return str(_("Your account is locked after too many failed sign-in attempts. You can try "
                 "again after %(time)s.", time=_berlin_time(result.locked_until)))


def _add_error(form: Any, error: StaffError) -> None:
    message = _(error.message, **error.params)
    field_name = error.field_name if error.field_name in form else None
    if field_name is not None:
        form[field_name].errors = [*form[field_name].errors, message]
    else:
        form.form_errors.append(message)


# --- sign-in -----------------------------------------------------------------------------------


@staff_auth_bp.route("/anmelden", methods=["GET", "POST"])
@limiter.limit(LOGIN_RATE_LIMIT, methods=["POST"])
def login() -> ResponseReturnValue:
    if current_staff() is not None:
        return redirect(url_for("staff_auth.home"))
    form = LoginForm()
    next_url = request.args.get("next")
    if not form.validate_on_submit():
        return render_template("staff/login.html", form=form)
    result = services.check_password_login(form.username.data or "", form.password.data or "",
                                           _settings())
    return _after_password(result, form, next_url)


def _after_password(result: LoginResult, form: LoginForm,
                    next_url: str | None) -> ResponseReturnValue:
    staff = result.staff
    if result.outcome is LoginOutcome.LOCKED:
        form.form_errors.append(_locked_message(result))
    elif result.outcome is LoginOutcome.WRONG or staff is None:
        # One message for both halves: which one was wrong would help a guesser.
        form.form_errors.append(_("The username or password is not correct."))
    elif result.outcome is LoginOutcome.NEEDS_TOTP:
        start_pending_login(staff, PURPOSE_TOTP, next_url)
        return redirect(url_for("staff_auth.totp"))
    elif result.outcome is LoginOutcome.NEEDS_TOTP_SETUP:
        start_pending_login(staff, PURPOSE_TOTP_SETUP, next_url)
        flash(_("This office requires a second factor. Please set it up now."), "info")
        return redirect(url_for("staff_auth.totp_setup"))
    else:
        return _sign_in(staff, next_url)
    form.password.data = ""
    return render_template("staff/login.html", form=form), 200


def _sign_in(staff: Staff, next_url: str | None) -> ResponseReturnValue:
    login_staff(staff)
    return redirect(safe_next_url(next_url, url_for("staff_auth.home")))


@staff_auth_bp.route("/anmelden/code", methods=["GET", "POST"])
@limiter.limit(LOGIN_RATE_LIMIT, methods=["POST"])
def totp() -> ResponseReturnValue:
    staff = pending_staff(PURPOSE_TOTP)
    if staff is None:
        flash(_("Please sign in again."), "info")
        return redirect(url_for("staff_auth.login"))
    form = TotpForm()
    if not form.validate_on_submit():
        return render_template("staff/totp.html", form=form)
    result = services.check_totp_login(staff, form.code.data or "", _settings())
    if result.outcome is LoginOutcome.SIGNED_IN:
        return _sign_in(staff, pending_next())
    if result.outcome is LoginOutcome.LOCKED:
        session.pop(PENDING_KEY, None)
        flash(_locked_message(result), "error")
        return redirect(url_for("staff_auth.login"))
    form.code.errors = [_("The code is not correct. Enter the current 6-digit code from your "
                          "authenticator app.")]
    return render_template("staff/totp.html", form=form)


@staff_auth_bp.route("/zwei-faktor", methods=["GET", "POST"])
def totp_setup() -> ResponseReturnValue:
    staff = current_or_pending_setup()
    if staff is None:
        return redirect(url_for("staff_auth.login"))
    if staff.totp_secret is not None:
        flash(_("Your second factor is already set up."), "info")
        return redirect(url_for("staff_auth.home"))
    form = TotpForm()
    secret = session.get(TOTP_SETUP_SESSION_FIELD)
    if not isinstance(secret, str) or request.method == "GET":
        # A new secret on every visit of the page: a half-finished setup is never reused.
        secret = services.new_totp_secret()
        session[TOTP_SETUP_SESSION_FIELD] = secret
    if form.validate_on_submit():
        try:
            services.enable_totp(staff, secret, form.code.data or "", staff_actor(staff))
        except StaffError as error:
            _add_error(form, error)
        else:
            session.pop(TOTP_SETUP_SESSION_FIELD, None)
            flash(_("Your second factor is set up. From now on you sign in with a code from "
                    "your authenticator app."), "success")
            if current_staff() is None:
                # This was the last step of a login the office's TOTP rule had held back.
                services.complete_login(staff)
                return _sign_in(staff, pending_next())
            return redirect(url_for("staff_auth.home"))
    return render_template("staff/totp_setup.html", form=form, secret=secret,
                           qr_svg=_qr_svg(staff, secret))


def _qr_svg(staff: Staff, secret: str) -> Markup:
    """The provisioning URI as an inline SVG, drawn on the server: no script, no data: URL."""
    uri = services.totp_provisioning_uri(staff, secret, _settings().office.short_name)
    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage)
    svg = image.to_string(encoding="unicode")
    label = escape(_("QR code for your authenticator app"))
    # The markup comes from qrcode alone (only path data, no text from the user).
    return Markup(svg.replace("<svg ", f'<svg role="img" aria-label="{label}" ', 1))  # noqa: S704


@staff_auth_bp.post("/abmelden")
def logout() -> ResponseReturnValue:
    staff = current_staff()
    if staff is not None:
        services.record_logout(staff)
    end_session()
    flash(_("You have been signed out."), "success")
    return redirect(url_for("staff_auth.login"))


@staff_auth_bp.route("/bestaetigen", methods=["GET", "POST"])
@limiter.limit(LOGIN_RATE_LIMIT, methods=["POST"])
def reauthenticate() -> ResponseReturnValue:
    staff = _signed_in()
    form = ReauthenticateForm()
    next_url = safe_next_url(request.args.get("next"), url_for("staff_auth.home"))
    if not form.validate_on_submit():
        return render_template("staff/reauthenticate.html", form=form)
    result = services.verify_reauthentication(staff, form.password.data or "", _settings())
    if result.outcome is LoginOutcome.SIGNED_IN:
        mark_staff_reauthenticated()
        return redirect(next_url)
    if result.outcome is LoginOutcome.LOCKED:
        end_session()
        flash(_locked_message(result), "error")
        return redirect(url_for("staff_auth.login"))
    form.password.errors = [_("The password is not correct.")]
    return render_template("staff/reauthenticate.html", form=form)


def _signed_in() -> Staff:
    staff = current_staff()
    if staff is None:  # the blueprint guard already refused; this keeps the type checker sure
        abort(403)
    return staff


# --- own account -------------------------------------------------------------------------------


@staff_auth_bp.get("/")
def home() -> ResponseReturnValue:
    staff = _signed_in()
    return render_template("staff/home.html", staff=staff, role_labels=ROLE_LABELS,
                           last_login=_berlin_time(staff.last_login_at))


@staff_auth_bp.route("/passwort", methods=["GET", "POST"])
def change_password() -> ResponseReturnValue:
    staff = _signed_in()
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            services.change_own_password(staff, form.current_password.data or "",
                                         form.new_password.data or "")
        except StaffError as error:
            _add_error(form, error)
        else:
            # The service ended every session of this account; this one continues anew.
            _sign_in(staff, None)
            flash(_("Your password has been changed."), "success")
            return redirect(url_for("staff_auth.home"))
    return render_template("staff/change_password.html", form=form)


# --- administration: staff ---------------------------------------------------------------------


def require_admin() -> None:
    # Runs after the staff guard, so here an anonymous visitor has already been sent away.
    staff = current_staff()
    if staff is None or not staff.has_role(Role.ADMIN):
        abort(403)


def _get_staff(staff_id: int) -> Staff:
    staff = db.session.get(Staff, staff_id)
    if staff is None:
        abort(404)
    return staff


@admin_bp.get("/")
def index() -> ResponseReturnValue:
    return redirect(url_for("admin.staff_list"))


@admin_bp.get("/mitarbeitende")
def staff_list() -> ResponseReturnValue:
    form = StaffSearchForm(request.args)
    term = (form.q.data or "") if form.validate() else ""
    return render_template("admin/staff_list.html", form=form,
                           staff_members=services.search_staff(term), role_labels=ROLE_LABELS,
                           is_locked=services.is_locked)


def _details(form: StaffDetailsForm, fachbereiche: list[Fachbereich]) -> services.StaffDetails:
    chosen = form.selected_fachbereich_ids()
    return services.StaffDetails(full_name=form.full_name.data or "",
                                 email=form.email.data or None,
                                 roles=form.selected_roles(),
                                 fachbereiche=[fb for fb in fachbereiche if fb.id in chosen])


@admin_bp.route("/mitarbeitende/neu", methods=["GET", "POST"])
def staff_create() -> ResponseReturnValue:
    fachbereiche = services.all_fachbereiche()
    form = staff_create_form(fachbereiche)
    if form.validate_on_submit():
        try:
            staff, password = services.create_staff(form["username"].data,
                                                    _details(form, fachbereiche),
                                                    current_actor())
        except StaffError as error:
            db.session.rollback()
            _add_error(form, error)
        else:
            # Rendered, not redirected: the password exists only in this one response.
            return render_template("admin/password_shown.html", staff=staff, password=password,
                                   created=True)
    return render_template("admin/staff_create.html", form=form)


@admin_bp.route("/mitarbeitende/<int:staff_id>", methods=["GET", "POST"])
def staff_edit(staff_id: int) -> ResponseReturnValue:
    staff = _get_staff(staff_id)
    fachbereiche = services.all_fachbereiche()
    form = staff_edit_form(fachbereiche, **_initial_data(staff))
    if form.validate_on_submit():
        try:
            services.update_staff(staff, _details(form, fachbereiche), current_actor())
        except StaffError as error:
            db.session.rollback()
            _add_error(form, error)
        else:
            flash(_("The changes have been saved."), "success")
            return redirect(url_for("admin.staff_edit", staff_id=staff.id))
    return render_template("admin/staff_edit.html", form=form, staff=staff,
                           locked=services.is_locked(staff))


def _initial_data(staff: Staff) -> dict[str, Any]:
    if request.method == "POST":
        return {}
    data: dict[str, Any] = {"full_name": staff.full_name, "email": staff.email or ""}
    data.update({f"role_{role.value}": True for role in staff.roles})
    data.update({f"fb_{fb_id}": True for fb_id in staff.fachbereich_ids})
    return data


def _staff_action(staff_id: int, action: Any, success: str) -> ResponseReturnValue:
    staff = _get_staff(staff_id)
    try:
        action(staff, current_actor())
    except StaffError as error:
        db.session.rollback()
        flash(_(error.message, **error.params), "error")
    else:
        flash(success, "success")
    return redirect(url_for("admin.staff_edit", staff_id=staff.id))


@admin_bp.post("/mitarbeitende/<int:staff_id>/deaktivieren")
def staff_deactivate(staff_id: int) -> ResponseReturnValue:
    return _staff_action(staff_id, services.deactivate_staff,
                         _("The account has been deactivated; its sessions have ended."))


@admin_bp.post("/mitarbeitende/<int:staff_id>/aktivieren")
def staff_activate(staff_id: int) -> ResponseReturnValue:
    return _staff_action(staff_id, services.activate_staff, _("The account is active again."))


@admin_bp.post("/mitarbeitende/<int:staff_id>/entsperren")
def staff_unlock(staff_id: int) -> ResponseReturnValue:
    return _staff_action(staff_id, services.unlock_staff, _("The account has been unlocked."))


@admin_bp.post("/mitarbeitende/<int:staff_id>/zwei-faktor-zuruecksetzen")
def staff_reset_totp(staff_id: int) -> ResponseReturnValue:
    return _staff_action(staff_id, services.reset_totp,
                         _("The second factor has been reset. The person sets it up again at "
                           "the next sign-in."))


@admin_bp.post("/mitarbeitende/<int:staff_id>/passwort-zuruecksetzen")
def staff_reset_password(staff_id: int) -> ResponseReturnValue:
    staff = _get_staff(staff_id)
    password = services.reset_password(staff, current_actor())
    return render_template("admin/password_shown.html", staff=staff, password=password,
                           created=False)


# --- administration: Fachbereiche --------------------------------------------------------------


@admin_bp.get("/fachbereiche")
def fachbereich_list() -> ResponseReturnValue:
    return render_template("admin/fachbereich_list.html",
                           fachbereiche=services.all_fachbereiche())


@admin_bp.route("/fachbereiche/neu", methods=["GET", "POST"])
def fachbereich_create() -> ResponseReturnValue:
    form = FachbereichCreateForm(data={"retention_years": 10})
    if form.validate_on_submit():
        try:
            services.create_fachbereich(form.code.data or "", form.name.data or "",
                                        form.retention_years.data or 0, current_actor())
        except StaffError as error:
            db.session.rollback()
            _add_error(form, error)
        else:
            flash(_("The Fachbereich has been created."), "success")
            return redirect(url_for("admin.fachbereich_list"))
    return render_template("admin/fachbereich_form.html", form=form, fachbereich=None)


@admin_bp.route("/fachbereiche/<int:fachbereich_id>", methods=["GET", "POST"])
def fachbereich_edit(fachbereich_id: int) -> ResponseReturnValue:
    fachbereich = db.session.get(Fachbereich, fachbereich_id)
    if fachbereich is None:
        abort(404)
    form = FachbereichEditForm(obj=fachbereich)
    if form.validate_on_submit():
        try:
            services.update_fachbereich(fachbereich, form.name.data or "",
                                        form.retention_years.data or 0, current_actor())
        except StaffError as error:
            db.session.rollback()
            _add_error(form, error)
        else:
            flash(_("The changes have been saved."), "success")
            return redirect(url_for("admin.fachbereich_list"))
    return render_template("admin/fachbereich_form.html", form=form, fachbereich=fachbereich)


# --- wiring ------------------------------------------------------------------------------------

# Deny by default: only the steps before a complete login are open.
guard_staff_blueprint(staff_auth_bp, public_endpoints=("login", "totp", "totp_setup"))
guard_staff_blueprint(admin_bp)
# Registered after the guard, so it runs second: anonymous visitors are redirected, staff
# without the admin role get 403.
admin_bp.before_request(require_admin)



def _add_navigation(state: BlueprintSetupState) -> None:
    app = state.app
    assert isinstance(app, Flask)
    add_staff_item(app, "staff_auth.home", _l("Start"))
    add_staff_item(app, "admin.staff_list", _l("Administration"), (Role.ADMIN,))


staff_auth_bp.record_once(_add_navigation)
