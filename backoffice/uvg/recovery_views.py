"""The recovery file on a UVG case and the payment run report: parse, authorise, call one
service, render.

Staff only (deny by default), caseworkers and leads; a case only for members of its
Fachbereich (backoffice.access.case_for logs every look, a refused one too).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, url_for
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from sqlalchemy.orm.exc import StaleDataError

from amtsweg.extensions import db
from amtsweg.fachbereiche import fachbereich_by_code
from amtsweg.navigation import add_staff_item
from amtsweg.sessions import current_staff, guard_staff_blueprint, staff_actor
from amtsweg.staff.models import Role, Staff
from amtsweg.translate import gettext as _
from amtsweg.translate import lazy_gettext as _l
from backoffice import access
from backoffice.models import AccessKind, Fall, Party
from backoffice.modules import CaseLink, register_case_link
from backoffice.queries import fachbereich_scope
from backoffice.uvg import payments, recovery
from backoffice.uvg.payment_models import UvgPaymentRun
from backoffice.uvg.recovery_forms import (
    AnhoerungForm,
    DemandForm,
    LiableParentForm,
    RechtswahrungsanzeigeForm,
)
from backoffice.uvg.recovery_models import LETTER_KIND_LABELS, UvgRecovery
from ihv.codes import format_kassenzeichen

bp = Blueprint("uvg_recovery", __name__, url_prefix="/intern/uvg")
guard_staff_blueprint(bp)

ROLES = (Role.CASEWORKER, Role.LEAD)
UVG = "uvg"

register_case_link(CaseLink(_l("Recovery from the liable parent (§ 7 UVG)"),
                            "uvg_recovery.overview", fachbereich_code=UVG))


@bp.record_once
def _navigation(state: BlueprintSetupState) -> None:
    app = state.app
    assert isinstance(app, Flask)
    add_staff_item(app, "uvg_recovery.payment_runs", _l("UVG payment runs"), roles=ROLES,
                   fachbereich="uvg")


@bp.before_request
def require_role() -> None:
    # Runs after the staff guard: anonymous visitors were redirected to the sign-in already.
    staff = current_staff()
    if staff is None or not staff.has_role(*ROLES):
        abort(403)


def _staff() -> Staff:
    staff = current_staff()
    assert staff is not None
    return staff


def _case(fall_id: int) -> Fall:
    fall = access.case_for(_staff(), fall_id, AccessKind.CASE_VIEW)
    if fall.fachbereich.code != UVG:
        abort(404)
    return fall


def _party(fall: Fall, party_id: int) -> Party:
    party = recovery.liable_parent(fall, party_id)
    if party is None:
        abort(404)
    return party


def _chosen_party(fall: Fall) -> Party | None:
    parents = recovery.liable_parents(fall)
    wanted = request.args.get("beteiligter", "")
    if not wanted:
        return parents[0] if parents else None
    chosen = next((party for party in parents if str(party.id) == wanted), None)
    if chosen is None:
        abort(404)
    return chosen


def _parent_form(party: Party, file: UvgRecovery | None) -> LiableParentForm:
    income = file.net_income_cents if file is not None else None
    return LiableParentForm(formdata=None, data={
        "address": party.address, "employer": file.employer if file else "",
        "net_income": income, "receives_sgb2": file.receives_sgb2 if file else False,
        "income_note": file.income_note if file else "",
        "version": str(file.version) if file else ""})


def _render(fall: Fall, party: Party | None, status: int = 200,
            **forms: FlaskForm) -> ResponseReturnValue:
    context: dict[str, Any] = {"fall": fall, "party": party,
                               "parents": recovery.liable_parents(fall),
                               "figures": recovery.figures(fall),
                               "letter_labels": LETTER_KIND_LABELS}
    if party is not None:
        file = recovery.recovery_of(fall, party)
        context.update(
            file=file,
            letters=recovery.letters_of(file) if file else [],
            claims=recovery.claims_of(file) if file else [],
            receipts=recovery.receipts_of(file) if file else [],
            claimable=recovery.claimable_months(fall, file) if file else [],
            parent_form=forms.get("parent_form") or _parent_form(party, file),
            rwa_form=forms.get("rwa_form") or RechtswahrungsanzeigeForm(formdata=None),
            anhoerung_form=forms.get("anhoerung_form") or AnhoerungForm(formdata=None),
            demand_form=forms.get("demand_form") or DemandForm(formdata=None))
    return render_template("backoffice/uvg/recovery.html", **context), status


def _back(fall: Fall, party: Party, anchor: str = "") -> ResponseReturnValue:
    return redirect(url_for(".overview", fall_id=fall.id, beteiligter=party.id) + anchor)


@bp.get("/faelle/<int:fall_id>/rueckgriff")
def overview(fall_id: int) -> ResponseReturnValue:
    fall = _case(fall_id)
    party = _chosen_party(fall)
    access.log_access(_staff(), fall, AccessKind.CASE_VIEW)
    db.session.commit()
    return _render(fall, party)


def _refused(fall_id: int, party_id: int, form: FlaskForm, name: str,
             error: Exception) -> ResponseReturnValue:
    db.session.rollback()
    form.form_errors.append(str(error))
    fall = _case(fall_id)
    return _render(fall, _party(fall, party_id), 400, **{name: form})


@bp.post("/faelle/<int:fall_id>/rueckgriff/<int:party_id>/daten")
def save_parent(fall_id: int, party_id: int) -> ResponseReturnValue:
    fall = _case(fall_id)
    party = _party(fall, party_id)
    form = LiableParentForm()
    if not form.validate():
        return _render(fall, party, 400, parent_form=form)
    version = form.version.data or ""
    data = recovery.LiableParentData(
        address=form.address.data or "", employer=form.employer.data or "",
        net_income_cents=form.net_income.data, receives_sgb2=bool(form.receives_sgb2.data),
        income_note=form.income_note.data or "")
    try:
        recovery.save_liable_parent(fall, party, data, staff_actor(_staff()),
                                    expected_version=int(version) if version.isdecimal()
                                    else None)
        db.session.commit()
    except recovery.RecoveryRefused as error:
        return _refused(fall_id, party_id, form, "parent_form", error)
    except StaleDataError:
        return _refused(fall_id, party_id, form, "parent_form", recovery.RecoveryRefused(
            _("Someone else changed this file in the meantime. Please check the data shown "
              "and save again.")))
    flash(_("The liable parent's data has been saved."), "success")
    return _back(fall, party)


@bp.post("/faelle/<int:fall_id>/rueckgriff/<int:party_id>/rechtswahrungsanzeige")
def rechtswahrungsanzeige(fall_id: int, party_id: int) -> ResponseReturnValue:
    fall = _case(fall_id)
    party = _party(fall, party_id)
    form = RechtswahrungsanzeigeForm()
    if not form.validate():
        return _render(fall, party, 400, rwa_form=form)
    assert isinstance(form.letter_date.data, date)
    try:
        recovery.send_rechtswahrungsanzeige(fall, party, form.letter_date.data,
                                            staff_actor(_staff()))
        db.session.commit()
    except recovery.RecoveryRefused as error:
        return _refused(fall_id, party_id, form, "rwa_form", error)
    flash(_("The Rechtswahrungsanzeige has been filed in the E-Akte; please send it."),
          "success")
    return _back(fall, party, "#briefe")


@bp.post("/faelle/<int:fall_id>/rueckgriff/<int:party_id>/anhoerung")
def anhoerung(fall_id: int, party_id: int) -> ResponseReturnValue:
    fall = _case(fall_id)
    party = _party(fall, party_id)
    form = AnhoerungForm()
    if not form.validate():
        return _render(fall, party, 400, anhoerung_form=form)
    assert isinstance(form.letter_date.data, date)
    assert isinstance(form.reply_by.data, date)
    try:
        recovery.send_anhoerung(fall, party, form.letter_date.data, form.reply_by.data,
                                staff_actor(_staff()), monthly_cap_cents=form.monthly_cap.data)
        db.session.commit()
    except recovery.RecoveryRefused as error:
        return _refused(fall_id, party_id, form, "anhoerung_form", error)
    flash(_("The Anhörung letter has been filed in the E-Akte; please send it."), "success")
    return _back(fall, party, "#briefe")


@bp.post("/faelle/<int:fall_id>/rueckgriff/<int:party_id>/zahlungsaufforderung")
def demand(fall_id: int, party_id: int) -> ResponseReturnValue:
    fall = _case(fall_id)
    party = _party(fall, party_id)
    form = DemandForm()
    if not form.validate():
        return _render(fall, party, 400, demand_form=form)
    assert isinstance(form.letter_date.data, date)
    assert isinstance(form.due_date.data, date)
    staff = _staff()
    try:
        claim = recovery.demand_payment(fall, party, form.letter_date.data, form.due_date.data,
                                        staff_actor(staff), staff=staff,
                                        monthly_cap_cents=form.monthly_cap.data)
        db.session.commit()
    except recovery.RecoveryRefused as error:
        return _refused(fall_id, party_id, form, "demand_form", error)
    flash(_("The claim (Kassenzeichen %(kz)s) and the demand letter have been created; the "
            "receivable order now needs its Feststellung and Anordnung.",
            kz=format_kassenzeichen(claim.kassenzeichen)), "success")
    return _back(fall, party, "#forderungen")


# --- the payment run report -------------------------------------------------------------------


@bp.get("/zahlungslauf")
def payment_runs() -> ResponseReturnValue:
    staff = _staff()
    area = fachbereich_by_code(UVG)
    # The report names cases (Aktenzeichen): only for staff of the UVG Fachbereich (§ 35 SGB I).
    if area is None or area.id not in fachbereich_scope(staff):
        abort(403)
    runs = payments.runs()
    chosen: UvgPaymentRun | None = runs[0] if runs else None
    wanted = request.args.get("monat", "")
    if wanted:
        try:
            chosen = payments.run_for(payments.parse_month(wanted))
        except payments.PaymentRunRefused:
            abort(404)
        if chosen is None:
            abort(404)
    return render_template("backoffice/uvg/payment_runs.html", runs=runs, run=chosen,
                           exception_label=payments.exception_label)
