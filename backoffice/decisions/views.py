"""Decision and objection pages of a case: thin, parse, authorise, call one service, render."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy.orm.exc import StaleDataError
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]

from amtsweg.extensions import db
from amtsweg.sessions import current_staff, guard_staff_blueprint, staff_actor
from amtsweg.staff.models import Role, Staff
from amtsweg.translate import gettext as _
from backoffice import access
from backoffice.decisions import services
from backoffice.decisions.forms import (
    AttachObjectionForm,
    DecisionForm,
    ForwardForm,
    IssueForm,
    ObjectionForm,
    OutcomeForm,
)
from backoffice.decisions.models import (
    OUTCOME_LABELS,
    WIDERSPRUCH_STATUS_LABELS,
    Decision,
    DecisionKind,
    Widerspruch,
    WiderspruchOutcome,
)
from backoffice.models import PARTY_ROLE_LABELS, AccessKind, Fall
from storage.models import Document
from storage.services import document_response

bp = Blueprint("decisions", __name__, url_prefix="/intern/faelle")
guard_staff_blueprint(bp)

CASE_ROLES = (Role.CASEWORKER, Role.LEAD)


@bp.before_request
def require_role() -> None:
    # Runs after the staff guard: anonymous visitors were redirected to the sign-in already.
    staff = current_staff()
    if staff is None or not staff.has_role(*CASE_ROLES):
        abort(403)


def _staff() -> Staff:
    staff = current_staff()
    assert staff is not None
    return staff


def _case(fall_id: int, what: AccessKind = AccessKind.CASE_VIEW) -> Fall:
    return access.case_for(_staff(), fall_id, what)


def _decision(fall: Fall, decision_id: int) -> Decision:
    decision = services.find_decision(fall, decision_id)
    if decision is None:
        abort(404)
    return decision


def _objection(fall: Fall, widerspruch_id: int) -> Widerspruch:
    widerspruch = services.find_objection(fall, widerspruch_id)
    if widerspruch is None:
        abort(404)
    return widerspruch


def _overview(fall: Fall) -> ResponseReturnValue:
    return redirect(url_for("decisions.overview", fall_id=fall.id))


def _refused(error: Exception) -> None:
    db.session.rollback()
    flash(str(error), "error")


# --- overview -------------------------------------------------------------------------------


@bp.get("/<int:fall_id>/bescheide")
def overview(fall_id: int) -> ResponseReturnValue:
    fall = _case(fall_id)
    access.log_access(_staff(), fall, AccessKind.CASE_VIEW)
    db.session.commit()
    decisions = services.decisions_of(fall)
    open_items = [(item_id, received_at, subject, _attach_form(item_id, decisions))
                  for item_id, received_at, subject in services.unattached_objection_items(fall)]
    return render_template(
        "backoffice/decisions/overview.html", fall=fall, decisions=decisions,
        objections=services.objections_of(fall), open_items=open_items,
        status_labels=WIDERSPRUCH_STATUS_LABELS, outcome_labels=OUTCOME_LABELS)


def _attach_form(eingang_id: int, decisions: list[Decision]) -> AttachObjectionForm:
    # One form per open item, each with its own field ids (a label must find its select).
    form = AttachObjectionForm(prefix=f"item{eingang_id}")
    form.decision.choices = _issued_choices(decisions)
    return form


# --- drafting -------------------------------------------------------------------------------


def _addressee_choices(fall: Fall) -> list[Any]:
    return [SelectChoice("", _("Please choose"))] + [
        SelectChoice(str(party.id), f"{party.full_name} ({PARTY_ROLE_LABELS[party.role]})")
        for party in fall.parties]


def _draft_from(form: DecisionForm) -> services.DecisionDraft:
    addressee = form.addressee.data or ""
    return services.DecisionDraft(
        kind=DecisionKind(form.kind.data), subject=form.subject.data or "",
        tenor=form.tenor.data or "", begruendung=form.begruendung.data or "",
        addressee_party_id=int(addressee) if addressee.isdecimal() else None,
        decision_date=form.decision_date.data)


def _render_form(fall: Fall, form: DecisionForm, decision: Decision | None,
                 status: int = 200) -> ResponseReturnValue:
    issue_form = IssueForm(None) if decision is not None else None
    return render_template("backoffice/decisions/form.html", fall=fall, form=form,
                           decision=decision, issue_form=issue_form), status


@bp.route("/<int:fall_id>/bescheide/neu", methods=["GET", "POST"])
def new(fall_id: int) -> ResponseReturnValue:
    fall = _case(fall_id)
    form = DecisionForm()
    form.addressee.choices = _addressee_choices(fall)
    if form.validate_on_submit():
        try:
            decision = services.create_decision(fall, _draft_from(form), staff_actor(_staff()))
        except services.DecisionRefused as error:
            db.session.rollback()
            form.form_errors.append(str(error))
        else:
            db.session.commit()
            flash(_("The draft has been saved."), "success")
            return redirect(url_for("decisions.edit", fall_id=fall.id, decision_id=decision.id))
    return _render_form(fall, form, None, 400 if form.errors or form.form_errors else 200)


@bp.route("/<int:fall_id>/bescheide/<int:decision_id>", methods=["GET", "POST"])
def edit(fall_id: int, decision_id: int) -> ResponseReturnValue:
    fall = _case(fall_id)
    decision = _decision(fall, decision_id)
    if decision.is_issued:
        return render_template("backoffice/decisions/issued.html", fall=fall,
                               decision=decision)
    form = DecisionForm(obj=None, data=None if request.method == "POST" else {
        "kind": decision.kind.value, "subject": decision.subject, "tenor": decision.tenor,
        "begruendung": decision.begruendung, "decision_date": decision.decision_date,
        "addressee": str(decision.addressee_party_id or "")})
    form.addressee.choices = _addressee_choices(fall)
    if form.validate_on_submit():
        try:
            services.update_decision(decision, _draft_from(form), staff_actor(_staff()))
            db.session.commit()
        except services.DecisionRefused as error:
            db.session.rollback()
            form.form_errors.append(str(error))
        except StaleDataError:
            db.session.rollback()
            form.form_errors.append(_("Someone else changed this decision in the meantime. "
                                      "Your input is kept below; please check and save again."))
        else:
            flash(_("The draft has been saved."), "success")
            return redirect(url_for("decisions.edit", fall_id=fall.id, decision_id=decision.id))
    return _render_form(fall, form, decision, 400 if form.errors or form.form_errors else 200)


@bp.post("/<int:fall_id>/bescheide/<int:decision_id>/erlassen")
def issue(fall_id: int, decision_id: int) -> ResponseReturnValue:
    fall = _case(fall_id)
    decision = _decision(fall, decision_id)
    form = IssueForm()
    if not form.validate_on_submit():
        flash(form.posted_on.errors[0] if form.posted_on.errors else
              _("The form could not be sent. Please try again."), "error")
        return redirect(url_for("decisions.edit", fall_id=fall.id, decision_id=decision.id))
    try:
        services.issue_decision(decision, staff_actor(_staff()), posted_on=form.posted_on.data)
        db.session.commit()
    except (services.DecisionRefused, StaleDataError) as error:
        _refused(error if isinstance(error, services.DecisionRefused) else
                 services.DecisionRefused(_("Someone else changed this decision in the "
                                            "meantime. Please check it and try again.")))
        return redirect(url_for("decisions.edit", fall_id=fall.id, decision_id=decision_id))
    flash(_("The Bescheid has been issued."), "success")
    return redirect(url_for("decisions.edit", fall_id=fall.id, decision_id=decision.id))


@bp.get("/<int:fall_id>/bescheide/<int:decision_id>/pdf")
def pdf(fall_id: int, decision_id: int) -> ResponseReturnValue:
    fall = _case(fall_id, AccessKind.DOCUMENT_DOWNLOAD)
    decision = _decision(fall, decision_id)
    document = db.session.get(Document, decision.document_id) if decision.document_id else None
    if document is None:
        abort(404)
    access.log_access(_staff(), fall, AccessKind.DOCUMENT_DOWNLOAD, document=document)
    db.session.commit()
    return document_response(document)


@bp.post("/<int:fall_id>/bescheide/<int:decision_id>/belehrung-fehlerhaft")
def instruction_defective(fall_id: int, decision_id: int) -> ResponseReturnValue:
    fall = _case(fall_id)
    decision = _decision(fall, decision_id)
    services.mark_instruction_defective(decision, staff_actor(_staff()))
    db.session.commit()
    flash(_("The objection period is now one year (§ 58 VwGO)."), "success")
    return redirect(url_for("decisions.edit", fall_id=fall.id, decision_id=decision.id))


# --- Widerspruch ----------------------------------------------------------------------------


def _issued_choices(decisions: list[Decision]) -> list[Any]:
    return [SelectChoice("", _("Please choose"))] + [
        SelectChoice(str(decision.id), f"{decision.subject} "
                     f"({decision.decision_date.strftime('%d.%m.%Y')})")
        for decision in decisions if decision.is_issued and decision.decision_date]


def _chosen_decision(fall: Fall, value: str | None) -> Decision | None:
    return services.find_decision(fall, int(value)) if value and value.isdecimal() else None


@bp.route("/<int:fall_id>/widersprueche/neu", methods=["GET", "POST"])
def new_objection(fall_id: int) -> ResponseReturnValue:
    fall = _case(fall_id)
    form = ObjectionForm()
    form.decision.choices = _issued_choices(services.decisions_of(fall))
    if form.validate_on_submit():
        assert form.received_on.data is not None
        try:
            services.record_objection(fall, _chosen_decision(fall, form.decision.data),
                                      form.received_on.data, staff_actor(_staff()),
                                      note=form.note.data or "")
        except services.DecisionRefused as error:
            db.session.rollback()
            form.form_errors.append(str(error))
        else:
            db.session.commit()
            flash(_("The objection has been recorded."), "success")
            return _overview(fall)
    return render_template("backoffice/decisions/objection_form.html", fall=fall, form=form,
                           has_decisions=len(form.decision.choices) > 1), (
        400 if form.errors or form.form_errors else 200)


@bp.post("/<int:fall_id>/widersprueche/eingang/<int:eingang_id>")
def attach_objection(fall_id: int, eingang_id: int) -> ResponseReturnValue:
    fall = _case(fall_id)
    form = _attach_form(eingang_id, services.decisions_of(fall))
    if not form.validate_on_submit():
        flash(form.decision.errors[0] if form.decision.errors else
              _("The form could not be sent. Please try again."), "error")
        return _overview(fall)
    try:
        services.attach_objection_item(fall, eingang_id,
                                       _chosen_decision(fall, form.decision.data),
                                       staff_actor(_staff()))
        db.session.commit()
    except services.DecisionRefused as error:
        _refused(error)
    else:
        flash(_("The objection has been attached to the Bescheid."), "success")
    return _overview(fall)


@bp.post("/<int:fall_id>/widersprueche/<int:widerspruch_id>/abhilfe")
def remedy(fall_id: int, widerspruch_id: int) -> ResponseReturnValue:
    fall = _case(fall_id)
    widerspruch = _objection(fall, widerspruch_id)
    try:
        decision = services.remedy_objection(widerspruch, staff_actor(_staff()))
        db.session.commit()
    except (services.DecisionRefused, StaleDataError) as error:
        _refused(error if isinstance(error, services.DecisionRefused) else
                 services.DecisionRefused(_("This step is not possible in the objection's "
                                            "current state.")))
        return _overview(fall)
    flash(_("A new decision (Abhilfe) has been drafted."), "success")
    return redirect(url_for("decisions.edit", fall_id=fall.id, decision_id=decision.id))


@bp.route("/<int:fall_id>/widersprueche/<int:widerspruch_id>/weiterleiten",
          methods=["GET", "POST"])
def forward(fall_id: int, widerspruch_id: int) -> ResponseReturnValue:
    fall = _case(fall_id)
    widerspruch = _objection(fall, widerspruch_id)
    form = ForwardForm()
    if form.validate_on_submit():
        assert form.forwarded_on.data is not None
        try:
            services.forward_objection(widerspruch, form.forwarded_on.data,
                                       staff_actor(_staff()))
            db.session.commit()
        except (services.DecisionRefused, StaleDataError) as error:
            db.session.rollback()
            form.form_errors.append(str(error) if isinstance(error, services.DecisionRefused)
                                    else _("This step is not possible in the objection's "
                                           "current state."))
        else:
            flash(_("The objection has been sent to the Widerspruchsbehörde."), "success")
            return _overview(fall)
    return render_template("backoffice/decisions/objection_step.html", fall=fall, form=form,
                           widerspruch=widerspruch, heading=_("Send to the Widerspruchsbehörde"),
                           fields=[form.forwarded_on]), (
        400 if form.errors or form.form_errors else 200)


@bp.route("/<int:fall_id>/widersprueche/<int:widerspruch_id>/ergebnis",
          methods=["GET", "POST"])
def outcome(fall_id: int, widerspruch_id: int) -> ResponseReturnValue:
    fall = _case(fall_id)
    widerspruch = _objection(fall, widerspruch_id)
    form = OutcomeForm()
    if form.validate_on_submit():
        assert form.outcome_on.data is not None
        try:
            services.record_outcome(widerspruch, WiderspruchOutcome(form.outcome.data),
                                    form.outcome_on.data, staff_actor(_staff()))
            db.session.commit()
        except (services.DecisionRefused, StaleDataError) as error:
            db.session.rollback()
            form.form_errors.append(str(error) if isinstance(error, services.DecisionRefused)
                                    else _("This step is not possible in the objection's "
                                           "current state."))
        else:
            flash(_("The outcome has been recorded."), "success")
            return _overview(fall)
    return render_template("backoffice/decisions/objection_step.html", fall=fall, form=form,
                           widerspruch=widerspruch, heading=_("Record the outcome"),
                           fields=[form.outcome, form.outcome_on]), (
        400 if form.errors or form.form_errors else 200)
