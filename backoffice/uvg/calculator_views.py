"""The UVG calculator page: quick what-if answers for a caseworker on the phone.

Nothing is stored and no case is read, so there is no audit entry; the page only shows what
``backoffice.uvg.calculation`` computes.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, Flask, abort, render_template, request
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue

from amtsweg.clock import berlin_today
from amtsweg.navigation import add_staff_item
from amtsweg.sessions import current_staff, guard_staff_blueprint
from amtsweg.staff.models import Role
from amtsweg.translate import gettext
from amtsweg.translate import lazy_gettext as _l
from backoffice.uvg.calculation import (
    CHILD_INCOME,
    MAINTENANCE,
    ORPHAN_BENEFIT,
    Calculation,
    CalculationError,
    CalculationInput,
    Income,
    calculate,
)
from backoffice.uvg.calculator_forms import CalculatorForm

bp = Blueprint("uvg_calculator", __name__, url_prefix="/intern/uvg")
guard_staff_blueprint(bp)

UVG_CODE = "uvg"
CALCULATOR_ROLES = (Role.CASEWORKER, Role.LEAD)

DEDUCTION_LABELS = {
    MAINTENANCE: _l("Maintenance from the other parent"),
    ORPHAN_BENEFIT: _l("Orphan benefits"),
    CHILD_INCOME: _l("Half of the child's earnings after allowances"),
}


@bp.before_request
def require_uvg_staff() -> None:
    # After the staff guard: only caseworkers and leads of the UVG Fachbereich; the figures are
    # UVG practice, and the other Fachbereiche have no business with them.
    staff = current_staff()
    if staff is None or not staff.has_role(*CALCULATOR_ROLES) or UVG_CODE not in {
            fachbereich.code for fachbereich in staff.fachbereiche}:
        abort(403)


def _translated(error: CalculationError) -> str:
    # The calculation speaks English msgids; the page speaks the user's language.
    message: str = gettext(error.msgid, **error.params)
    return message


def _input_from(form: CalculatorForm) -> CalculationInput:
    assert form.birth_date.data is not None  # InputRequired passed
    return CalculationInput(
        birth_date=form.birth_date.data,
        first_month=form.first_month.data,
        last_month=form.last_month.data,
        application_date=form.application_date.data,
        income=Income(maintenance_cents=form.maintenance.data or 0,
                      orphan_benefit_cents=form.orphan_benefit.data or 0,
                      child_income_cents=form.child_income.data or 0),
        left_school=bool(form.left_school.data), trainee=bool(form.trainee.data))


def _empty_form() -> CalculatorForm:
    # A year from this month, the span a caseworker is most often asked about.
    this_month = berlin_today().replace(day=1)
    index = this_month.year * 12 + this_month.month - 1 + 11
    return CalculatorForm(formdata=None, data={
        "first_month": this_month, "last_month": date(index // 12, index % 12 + 1, 1)})


@bp.route("/rechner", methods=["GET", "POST"])
def calculator() -> ResponseReturnValue:
    form = CalculatorForm() if _is_post() else _empty_form()
    result: Calculation | None = None
    if _is_post() and form.validate_on_submit():
        try:
            result = calculate(_input_from(form), today=berlin_today())
        except CalculationError as error:
            form.form_errors.append(_translated(error))
    status = 400 if form.errors or form.form_errors else 200
    return render_template("backoffice/uvg/calculator.html", form=form, result=result,
                           deduction_labels=DEDUCTION_LABELS, has_errors=status == 400,
                           translate=_translate_note), status


def _is_post() -> bool:
    return request.method == "POST"


def _translate_note(note: str) -> Any:
    return gettext(note)


def _add_navigation(state: BlueprintSetupState) -> None:
    app = state.app
    assert isinstance(app, Flask)
    add_staff_item(app, "uvg_calculator.calculator", _l("UVG calculator"), CALCULATOR_ROLES,
                   fachbereich="uvg")


bp.record_once(_add_navigation)
