"""The UVG case pages: thin, parse, authorise, call one service, render.

Every route goes through backoffice.access.case_for (the Fachbereich check and the access log,
§ 35 SGB I) and answers 404 for a case of another Fachbereich's kind.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy.orm.exc import StaleDataError

from amtsweg.extensions import db
from amtsweg.sessions import current_staff, guard_staff_blueprint, staff_actor
from amtsweg.staff.models import Role, Staff
from amtsweg.translate import gettext as _
from amtsweg.translate import lazy_gettext as _l
from backoffice import access
from backoffice.decisions.models import DecisionKind
from backoffice.decisions.services import DecisionRefused
from backoffice.models import AccessKind, CaseDocument, Fall
from backoffice.modules import CaseLink, register_case_link
from backoffice.uvg import case_services as services
from backoffice.uvg import eligibility
from backoffice.uvg.calculator_views import DEDUCTION_LABELS
from backoffice.uvg.forms import AssessForm, CalculateForm, ChangeForm, DecideForm, FactsForm
from backoffice.uvg.models import (
    CONDITION_STATE_LABELS,
    UVG_END_REASON_LABELS,
    UvgChild,
    UvgChildStatus,
)
from ihv.services import OrderError

bp = Blueprint("uvg", __name__, url_prefix="/intern/uvg")
guard_staff_blueprint(bp)

CASE_ROLES = (Role.CASEWORKER, Role.LEAD)

register_case_link(CaseLink(_l("Unterhaltsvorschuss: check, calculation and decision"),
                            "uvg.case", fachbereich_code=services.UVG_CODE))


@bp.before_request
def require_role() -> None:
    # After the staff guard: anonymous visitors were sent to the sign-in already.
    staff = current_staff()
    if staff is None or not staff.has_role(*CASE_ROLES):
        abort(403)


def _staff() -> Staff:
    staff = current_staff()
    assert staff is not None
    return staff


def _case(fall_id: int) -> Fall:
    fall = access.case_for(_staff(), fall_id)
    if not services.is_uvg_case(fall):
        abort(404)
    return fall


def _child(fall: Fall, child_id: int) -> UvgChild:
    child = services.child_of(fall, child_id)
    if child is None:
        abort(404)
    return child


def _viewed(fall: Fall) -> None:
    access.log_access(_staff(), fall, AccessKind.CASE_VIEW)
    db.session.commit()


def _to_case(fall: Fall) -> ResponseReturnValue:
    return redirect(url_for("uvg.case", fall_id=fall.id))


def _version(form: Any) -> int | None:
    raw = str(form.version.data or "")
    return int(raw) if raw.isdecimal() and len(raw) < 10 else None


STALE = _l("Someone else changed this child's facts in the meantime. Please look at the "
           "current state and enter your change again.")


# --- the case page ----------------------------------------------------------------------------


@bp.get("/faelle/<int:fall_id>")
def case(fall_id: int) -> ResponseReturnValue:
    fall = _case(fall_id)
    _viewed(fall)
    application = services.application_of(fall)
    evidence = services.evidence_of(fall)
    documents = {entry.id: entry for entry in db.session.query(CaseDocument)
                 .filter(CaseDocument.fall_id == fall.id)}
    children = []
    for child in services.children_of(fall):
        results = services.checklist_of(child, application, evidence)
        entitlements = services.entitlements_of(child)
        children.append({
            "child": child, "checklist": results, "overall": eligibility.overall(results),
            "calculation": services.latest_calculation(child),
            "current": services.current_calculation(child),
            "entitlements": entitlements,
            "paid_months": [e for e in entitlements if e.paid_cents],
            "calculate_form": CalculateForm(prefix=f"c{child.id}"),
        })
    return render_template(
        "backoffice/uvg/case.html", fall=fall, children=children,
        has_application=application.eingang_id is not None, documents=documents,
        decide_form=DecideForm(), drafts=services.open_drafts(fall),
        changes=services.changes_of(fall), state_labels=CONDITION_STATE_LABELS,
        end_labels=UVG_END_REASON_LABELS, applied=UvgChildStatus.APPLIED,
        granted=UvgChildStatus.GRANTED, translate=_translate)


def _translate(msgid: str) -> str:
    # The calculation and the checklist speak English msgids; the page the user's language.
    return str(_(msgid))


@bp.post("/faelle/<int:fall_id>/kinder-uebernehmen")
def take_over(fall_id: int) -> ResponseReturnValue:
    fall = _case(fall_id)  # CSRF: checked for every POST by the app (csrf.init_app)
    try:
        result = services.take_over_children(fall, staff_actor(_staff()))
    except services.UvgRefused as error:
        db.session.rollback()
        flash(str(error), "error")
        return _to_case(fall)
    db.session.commit()
    for name in result.without_birth_date:
        flash(_("%(name)s has no date of birth in the case. Enter it in the party details "
                "first.", name=name), "error")
    if result.created:
        flash(_("%(count)s child(ren) taken over from the application.",
                count=len(result.created)), "success")
    elif not result.without_birth_date:
        flash(_("There is no further child in the case to take over."), "info")
    if result.to_split:
        flash(_split_message(result.to_split), "warning")
    return _to_case(fall)


def _split_message(amounts: services.SharedAmounts) -> str:
    maintenance = services.euro(amounts.maintenance_cents)
    orphan = services.euro(amounts.orphan_benefit_cents)
    if amounts.maintenance_cents and amounts.orphan_benefit_cents:
        named = _("maintenance of %(maintenance)s and orphan benefits of %(orphan)s",
                  maintenance=maintenance, orphan=orphan)
    elif amounts.maintenance_cents:
        named = _("maintenance of %(maintenance)s", maintenance=maintenance)
    else:
        named = _("orphan benefits of %(orphan)s", orphan=orphan)
    return _("The application names %(amounts)s a month for all children together. It was "
             "taken over for none of them: enter each child's share in its facts.",
             amounts=named)


# --- facts ------------------------------------------------------------------------------------


def _facts_data(child: UvgChild) -> dict[str, Any]:
    return {"version": str(child.version), "birth_date": child.birth_date,
            "application_date": child.application_date, "requested_from": child.requested_from,
            "maintenance": child.maintenance_cents or None,
            "orphan_benefit": child.orphan_benefit_cents or None,
            "child_income": child.child_income_cents or None,
            "left_school": child.left_school, "trainee": child.trainee,
            "payee_name": child.payee_name, "payee_iban": child.payee_iban or "",
            "payee_bic": child.payee_bic or ""}


@bp.route("/faelle/<int:fall_id>/kinder/<int:child_id>/angaben", methods=["GET", "POST"])
def facts(fall_id: int, child_id: int) -> ResponseReturnValue:
    fall = _case(fall_id)
    child = _child(fall, child_id)
    form = FactsForm() if request.method == "POST" else FactsForm(data=_facts_data(child))
    if request.method == "GET":
        _viewed(fall)
    if form.validate_on_submit():
        assert form.birth_date.data is not None
        assert form.application_date.data is not None
        facts_given = services.ConfirmedFacts(
            birth_date=form.birth_date.data, application_date=form.application_date.data,
            requested_from=form.requested_from.data,
            maintenance_cents=form.maintenance.data or 0,
            orphan_benefit_cents=form.orphan_benefit.data or 0,
            child_income_cents=form.child_income.data or 0,
            left_school=bool(form.left_school.data), trainee=bool(form.trainee.data),
            payee_name=form.payee_name.data or "", payee_iban=form.payee_iban.data or "",
            payee_bic=form.payee_bic.data or "")
        try:
            services.confirm_facts(child, facts_given, staff_actor(_staff()),
                                   expected_version=_version(form))
            db.session.commit()
        except services.UvgRefused as error:
            db.session.rollback()
            form.form_errors.append(str(error))
        except StaleDataError:
            db.session.rollback()
            form.form_errors.append(str(STALE))
        else:
            flash(_("The facts of %(name)s have been confirmed.", name=child.party.full_name),
                  "success")
            return _to_case(fall)
    _name_shared_amounts(form, services.amounts_to_split(services.application_of(fall)))
    status = 400 if form.errors or form.form_errors else 200
    return render_template("backoffice/uvg/facts.html", fall=fall, child=child, form=form,
                           has_errors=status == 400), status


def _name_shared_amounts(form: FactsForm, amounts: services.SharedAmounts) -> None:
    # Beside the field, for as long as the facts are edited: the flash of the take-over is gone
    # by the time the caseworker has the evidence at hand.
    for field, cents in ((form.maintenance, amounts.maintenance_cents),
                         (form.orphan_benefit, amounts.orphan_benefit_cents)):
        if cents:
            field.description = _("%(hint)s. The application names %(amount)s for all "
                                  "children together.", hint=field.description,
                                  amount=services.euro(cents))


# --- the checklist ----------------------------------------------------------------------------


@bp.route("/faelle/<int:fall_id>/kinder/<int:child_id>/pruefung/<condition>",
          methods=["GET", "POST"])
def assess(fall_id: int, child_id: int, condition: str) -> ResponseReturnValue:
    fall = _case(fall_id)
    child = _child(fall, child_id)
    if condition not in eligibility.CONDITIONS:
        abort(404)
    result = next(r for r in services.checklist_of(child, services.application_of(fall), {})
                  if r.code == condition)
    form = AssessForm() if request.method == "POST" else AssessForm(
        data={"state": result.state.value, "note": result.note})
    if request.method == "GET":
        _viewed(fall)
    if form.validate_on_submit():
        try:
            services.assess_condition(child, condition, form.finding(), form.note.data or "",
                                      staff_actor(_staff()))
            db.session.commit()
        except services.UvgRefused as error:
            db.session.rollback()
            form.form_errors.append(str(error))
        else:
            flash(_("The finding has been recorded."), "success")
            return _to_case(fall)
    status = 400 if form.errors or form.form_errors else 200
    return render_template("backoffice/uvg/assess.html", fall=fall, child=child, form=form,
                           result=result, reason=_(result.reason),
                           has_errors=status == 400), status


# --- calculating ------------------------------------------------------------------------------


@bp.post("/faelle/<int:fall_id>/kinder/<int:child_id>/berechnen")
def calculate(fall_id: int, child_id: int) -> ResponseReturnValue:
    fall = _case(fall_id)
    child = _child(fall, child_id)
    form = CalculateForm(prefix=f"c{child.id}")
    if not form.validate_on_submit():
        flash(next(iter(form.errors.values()))[0] if form.errors else
              _("The form could not be sent. Please try again."), "error")
        return _to_case(fall)
    try:
        services.calculate_child(child, staff_actor(_staff()), until=form.until.data)
        db.session.commit()
    except services.UvgRefused as error:
        db.session.rollback()
        flash(str(error), "error")
        return _to_case(fall)
    flash(_("The calculation for %(name)s has been saved.", name=child.party.full_name),
          "success")
    return redirect(url_for("uvg.calculation", fall_id=fall.id, child_id=child.id))


@bp.get("/faelle/<int:fall_id>/kinder/<int:child_id>/berechnung")
def calculation(fall_id: int, child_id: int) -> ResponseReturnValue:
    fall = _case(fall_id)
    child = _child(fall, child_id)
    _viewed(fall)
    latest = services.latest_calculation(child)
    if latest is None:
        abort(404)
    return render_template("backoffice/uvg/calculation.html", fall=fall, child=child,
                           calculation=latest,
                           outdated=latest.facts_version != child.facts_version,
                           deduction_labels=DEDUCTION_LABELS, translate=_translate,
                           as_date=_as_date)


def _as_date(value: str) -> date:
    return date.fromisoformat(value)


# --- deciding ---------------------------------------------------------------------------------


@bp.post("/faelle/<int:fall_id>/entscheidung")
def decide(fall_id: int) -> ResponseReturnValue:
    fall = _case(fall_id)
    form = DecideForm()
    if not form.validate_on_submit():
        flash(_("Choose the decision."), "error")
        return _to_case(fall)
    try:
        decision = services.prepare_decision(fall, DecisionKind(form.kind.data),
                                             staff_actor(_staff()))
        db.session.commit()
    except (services.UvgRefused, DecisionRefused) as error:
        db.session.rollback()
        flash(str(error), "error")
        return _to_case(fall)
    flash(_("The draft has been prepared. Check the text, then issue the Bescheid."),
          "success")
    return redirect(url_for("decisions.edit", fall_id=fall.id, decision_id=decision.id))


# --- changes ----------------------------------------------------------------------------------


@bp.route("/faelle/<int:fall_id>/kinder/<int:child_id>/aenderung", methods=["GET", "POST"])
def change(fall_id: int, child_id: int) -> ResponseReturnValue:
    fall = _case(fall_id)
    child = _child(fall, child_id)
    if child.status is not UvgChildStatus.GRANTED:
        flash(_("Changes are recorded for children with a Bewilligung."), "error")
        return _to_case(fall)
    form = ChangeForm() if request.method == "POST" else ChangeForm(
        data={"version": str(child.version)})
    if request.method == "GET":
        _viewed(fall)
    if form.validate_on_submit():
        assert form.effective_on.data is not None
        assert form.reported_on.data is not None
        reported = services.ReportedChange(
            kind=form.change_kind(), effective_on=form.effective_on.data,
            reported_on=form.reported_on.data, note=form.note.data or "",
            maintenance_cents=form.maintenance.data,
            orphan_benefit_cents=form.orphan_benefit.data,
            child_income_cents=form.child_income.data,
            left_school=form.flag(form.left_school.data), trainee=form.flag(form.trainee.data),
            abroad=bool(form.abroad.data), end_reason=form.chosen_end_reason())
        try:
            _row, decision = services.record_change(child, reported, staff_actor(_staff()),
                                                    expected_version=_version(form))
            db.session.commit()
        except (services.UvgRefused, DecisionRefused, OrderError) as error:
            db.session.rollback()
            form.form_errors.append(str(error))
        except StaleDataError:
            db.session.rollback()
            form.form_errors.append(str(STALE))
        else:
            if decision is None:
                flash(_("The change has been recorded; it changes no amount."), "success")
                return _to_case(fall)
            flash(_("The change has been recorded and recalculated. Check the draft, then "
                    "issue the Bescheid."), "success")
            return redirect(url_for("decisions.edit", fall_id=fall.id,
                                    decision_id=decision.id))
    status = 400 if form.errors or form.form_errors else 200
    return render_template("backoffice/uvg/change.html", fall=fall, child=child, form=form,
                           has_errors=status == 400), status
