"""The admin pages for the office's letter data: admins only, every save audited."""

from __future__ import annotations

from flask import Blueprint, Flask, abort, flash, redirect, render_template, url_for
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue
from sqlalchemy.orm.exc import StaleDataError

from amtsweg.extensions import db
from amtsweg.navigation import add_staff_item
from amtsweg.office import services
from amtsweg.office.forms import OfficeForm, RemedyTextForm
from amtsweg.sessions import current_actor, current_staff, guard_staff_blueprint
from amtsweg.staff.models import Fachbereich, Role
from amtsweg.translate import gettext as _
from amtsweg.translate import lazy_gettext as _l

bp = Blueprint("office_settings", __name__, url_prefix="/intern/verwaltung/amt")
guard_staff_blueprint(bp)


@bp.before_request
def require_admin() -> None:
    # Runs after the staff guard: an anonymous visitor has been sent to the sign-in already.
    staff = current_staff()
    if staff is None or not staff.has_role(Role.ADMIN):
        abort(403)


@bp.route("/", methods=["GET", "POST"])
def edit() -> ResponseReturnValue:
    form = OfficeForm(data=services.office_form_values())
    if form.validate_on_submit():
        values = {name: form[name].data or "" for name in services.EDITABLE_FIELDS}
        try:
            services.save_office_data(values, current_actor())
            db.session.commit()
        except services.OfficeDataInvalid as error:
            db.session.rollback()
            form.form_errors.append(str(error))
        except StaleDataError:
            db.session.rollback()
            form.form_errors.append(_("Someone else saved the office data in the meantime. "
                                      "Your input is kept below; please check and save again."))
        else:
            flash(_("The changes have been saved."), "success")
            return redirect(url_for("office_settings.edit"))
    status = 400 if form.errors or form.form_errors else 200
    return render_template("office/edit.html", form=form, office=services.office_data(),
                           remedies=services.remedy_rows()), status


@bp.route("/belehrung/<int:fachbereich_id>", methods=["GET", "POST"])
def remedy(fachbereich_id: int) -> ResponseReturnValue:
    fachbereich = db.session.get(Fachbereich, fachbereich_id)
    if fachbereich is None:
        abort(404)
    template, saved = services.remedy_template(fachbereich)
    form = RemedyTextForm(data={"text": template})
    if form.validate_on_submit():
        try:
            services.save_remedy_text(fachbereich, form.text.data or "", current_actor())
            db.session.commit()
        except services.OfficeDataInvalid as error:
            db.session.rollback()
            form.form_errors.append(str(error))
        else:
            flash(_("The changes have been saved."), "success")
            return redirect(url_for("office_settings.edit"))
    status = 400 if form.errors or form.form_errors else 200
    preview = services.render_remedy(form.text.data or template, services.office_data())
    return render_template("office/remedy.html", form=form, fachbereich=fachbereich,
                           saved=saved, preview=preview), status


def _add_navigation(state: BlueprintSetupState) -> None:
    app = state.app
    assert isinstance(app, Flask)
    add_staff_item(app, "office_settings.edit", _l("Office data"), (Role.ADMIN,))


bp.record_once(_add_navigation)
