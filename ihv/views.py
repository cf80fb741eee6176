"""The Kasse pages: overview, the two approval queues, the order, cancellation, reconciliation.

Thin views: parse, authorise, call one service of ihv.services, commit, render or redirect.
Staff routes deny by default; each endpoint names the roles it admits. The Anordnung needs a
password typed within the last ten minutes, so a session left open at an unattended desk cannot
release money.

ihv lies below backoffice and cannot look into cases. Whether a caseworker may see an order of a
case is asked through :func:`set_case_access_check`, which backoffice fills in.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue
from sqlalchemy import ColumnElement, and_, func, or_, select

from amtsweg.extensions import db
from amtsweg.navigation import add_staff_item
from amtsweg.sessions import current_staff, guard_staff_blueprint
from amtsweg.staff.auth import fresh_login_required
from amtsweg.staff.models import Role, Staff
from amtsweg.translate import gettext as _
from amtsweg.translate import lazy_gettext as _l
from ihv import reconciliation, services
from ihv.codes import format_kassenzeichen
from ihv.forms import (
    DIRECTION_LABELS,
    STATUS_LABELS,
    ApproveForm,
    BulkConfirmForm,
    CancelForm,
    EditOrderForm,
    ReconciliationFilterForm,
    parse_month,
)
from ihv.models import Booking, Direction, OrderStatus, Sollstellung, Transfer
from ihv.services import OrderError

bp = Blueprint("ihv", __name__, url_prefix="/intern/kasse")
guard_staff_blueprint(bp)

# Leads are not among them: the Kasse lists every Fachbereich's payees and accounts, and a lead
# sees only their own Fachbereiche (§ 35 SGB I); the orders of their cases open from the case.
FINANCE_ROLES = (Role.FESTSTELLER, Role.ANORDNER, Role.AUDITOR)
CASE_ROLES = (Role.CASEWORKER, Role.LEAD)
# The Anordnung releases money: the password must have been typed this recently.
ANORDNUNG_FRESH_LOGIN = timedelta(minutes=10)
QUEUE_PAGE = 200
MAX_BULK = 5_000
STEPS = ("feststellung", "anordnung")

# Endpoints with their own roles; every other endpoint needs FINANCE_ROLES.
_OWN_ROLES: dict[str, tuple[Role, ...]] = {
    "ihv.feststellung": (Role.FESTSTELLER,),
    "ihv.anordnung": (Role.ANORDNER,),
    "ihv.feststellen": (Role.FESTSTELLER,),
    "ihv.anordnen": (Role.ANORDNER,),
    # The order and its cancellation: finance staff, and caseworkers for orders of their cases
    # (checked per order in the view).
    "ihv.order": (*FINANCE_ROLES, *CASE_ROLES),
    "ihv.cancel": (Role.FESTSTELLER, Role.ANORDNER, *CASE_ROLES),
    "ihv.edit": (Role.FESTSTELLER, *CASE_ROLES),
}

ACTION_LABELS = {
    "ihv.order_created": _l("Order raised"),
    "ihv.order_changed": _l("Order changed"),
    "ihv.order_festgestellt": _l("Established (sachlich und rechnerisch richtig)"),
    "ihv.order_angeordnet": _l("Ordered (Anordnung)"),
    "ihv.order_cancelled": _l("Cancelled"),
    "ihv.change_order_created": _l("Change order raised"),
    "ihv.order_acknowledged": _l("Accepted by the treasury"),
    "ihv.order_rejected": _l("Rejected by the treasury"),
    "ihv.booking_applied": _l("Booking matched"),
}

_case_access: Callable[[Staff, int], bool] | None = None


def set_case_access_check(check: Callable[[Staff, int], bool]) -> None:
    """Let the case layer decide whether a staff member may see the orders of a case."""
    global _case_access
    _case_access = check


@bp.before_request
def require_role() -> None:
    staff = current_staff()
    roles = _OWN_ROLES.get(request.endpoint or "", FINANCE_ROLES)
    if staff is None or not staff.has_role(*roles):
        abort(403)


def _staff() -> Staff:
    staff = current_staff()
    assert staff is not None  # the guard let only staff through
    return staff


def _is_finance(staff: Staff) -> bool:
    return staff.has_role(*FINANCE_ROLES)


def _may_see(staff: Staff, order: Sollstellung) -> bool:
    if _is_finance(staff):
        return True
    # Caseworkers see only orders of cases in their own Fachbereiche (§ 35 SGB I).
    return order.fall_id is not None and _case_access is not None and _case_access(
        staff, order.fall_id)


def _order_or_404(order_id: int) -> Sollstellung:
    order = services.find_order(order_id)
    if order is None:
        abort(404)
    if not _may_see(_staff(), order):
        abort(403)
    return order


def _context() -> dict[str, Any]:
    return {"status_labels": {status: str(label) for status, label in STATUS_LABELS.items()},
            "direction_labels": {direction: str(label)
                                 for direction, label in DIRECTION_LABELS.items()},
            "format_kz": format_kassenzeichen}


def _render(template: str, **context: Any) -> str:
    return render_template(template, **_context(), **context)


def _flash_error(error: OrderError) -> None:
    flash(_(error.message, **error.params), "error")


# --- overview ------------------------------------------------------------------------------


@bp.get("/")
def index() -> ResponseReturnValue:
    by_status = services.count_by_status()
    open_receivables = db.session.execute(
        select(func.count(), func.coalesce(func.sum(Sollstellung.amount_cents
                                                    - Sollstellung.booked_cents), 0))
        .where(Sollstellung.direction == Direction.ANNAHME,
               Sollstellung.replaces_id.is_(None),
               Sollstellung.status.in_([OrderStatus.ANGEORDNET, OrderStatus.TRANSMITTED,
                                        OrderStatus.ACKNOWLEDGED]))).one()
    staff = _staff()
    return _render("ihv/index.html", by_status=by_status, statuses=list(OrderStatus),
                   open_receivables=(int(open_receivables[0]), int(open_receivables[1])),
                   can_establish=staff.has_role(Role.FESTSTELLER),
                   can_order=staff.has_role(Role.ANORDNER))


# --- the queues ----------------------------------------------------------------------------


def _queue_conditions(step: str, staff: Staff) -> list[ColumnElement[bool]]:
    # Nobody is shown what they may not approve: their own orders and their own changes, and in
    # the Anordnung what they established themselves.
    conditions: list[ColumnElement[bool]] = [
        or_(Sollstellung.created_by_id.is_(None), Sollstellung.created_by_id != staff.id),
        or_(Sollstellung.changed_by_id.is_(None), Sollstellung.changed_by_id != staff.id)]
    if step == "feststellung":
        conditions.append(Sollstellung.status == OrderStatus.DRAFT)
    else:
        conditions.append(Sollstellung.status == OrderStatus.FESTGESTELLT)
        conditions.append(Sollstellung.festgestellt_by_id != staff.id)
    return conditions


def _queue(step: str) -> str:
    staff = _staff()
    conditions = _queue_conditions(step, staff)
    figures = db.session.execute(
        select(Sollstellung.direction, func.count(),
               func.coalesce(func.sum(Sollstellung.amount_cents), 0))
        .where(and_(*conditions)).group_by(Sollstellung.direction)).all()
    orders = list(db.session.scalars(select(Sollstellung).where(and_(*conditions))
                                     .order_by(Sollstellung.due_date, Sollstellung.id)
                                     .limit(QUEUE_PAGE)))
    totals = {Direction(direction): (int(count), int(total))
              for direction, count, total in figures}
    return _render("ihv/queue.html", step=step, orders=orders, totals=totals,
                   total_count=sum(count for count, _total in totals.values()),
                   form=BulkConfirmForm(formdata=None), page_size=QUEUE_PAGE)


@bp.get("/feststellung")
def feststellung() -> ResponseReturnValue:
    return _queue("feststellung")


@bp.get("/anordnung")
@fresh_login_required(ANORDNUNG_FRESH_LOGIN)
def anordnung() -> ResponseReturnValue:
    return _queue("anordnung")


def _parse_selection(values: list[str]) -> list[tuple[int, int]] | None:
    """``id:version`` pairs from the page; None if anything is not such a pair."""
    pairs: list[tuple[int, int]] = []
    seen: set[int] = set()
    for value in values:
        order_id, _sep, version = value.partition(":")
        if not (order_id.isdecimal() and version.isdecimal() and len(order_id) <= 12
                and len(version) <= 9):
            return None
        if int(order_id) not in seen:
            seen.add(int(order_id))
            pairs.append((int(order_id), int(version)))
    return pairs


def _step_role(step: str) -> Role:
    if step not in STEPS:
        abort(404)
    return Role.FESTSTELLER if step == "feststellung" else Role.ANORDNER


def _check_step(step: str) -> None:
    if not _staff().has_role(_step_role(step)):
        abort(403)


def _selection_or_back(step: str) -> list[tuple[int, int]] | ResponseReturnValue:
    raw = request.form.getlist("order")
    if request.form.get("all"):
        raw = request.form.getlist("shown")
    pairs = _parse_selection(raw[:MAX_BULK + 1])
    if pairs is None or len(raw) > MAX_BULK:
        abort(400)
    if not pairs:
        flash(_("Select at least one order."), "error")
        return redirect(url_for(f"ihv.{step}"))
    return pairs


@bp.post("/<step>/auswahl")
def bulk_review(step: str) -> ResponseReturnValue:
    """First step of a bulk approval: show what was selected, with its count and total."""
    _check_step(step)
    return _bulk_review(step)


def _bulk_review(step: str) -> ResponseReturnValue:
    form = BulkConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    selection = _selection_or_back(step)
    if not isinstance(selection, list):
        return selection
    staff = _staff()
    wanted = dict(selection)
    orders = [order for order in db.session.scalars(
        select(Sollstellung).where(Sollstellung.id.in_(list(wanted)),
                                   *_queue_conditions(step, staff))
        .order_by(Sollstellung.due_date, Sollstellung.id))
        if order.version == wanted[order.id]]
    skipped = len(selection) - len(orders)
    totals: dict[Direction, tuple[int, int]] = {}
    for order in orders:
        count, total = totals.get(order.direction, (0, 0))
        totals[order.direction] = (count + 1, total + order.amount_cents)
    confirm = BulkConfirmForm(formdata=None,
                              selection=" ".join(f"{o.id}:{o.version}" for o in orders))
    return _render("ihv/bulk_confirm.html", step=step, orders=orders, totals=totals,
                   skipped=skipped, form=confirm)


@bp.post("/<step>/bestaetigen")
def bulk_confirm(step: str) -> ResponseReturnValue:
    _check_step(step)
    if step == "anordnung":
        return _fresh_bulk_confirm(step)
    return _bulk_confirm(step)


@fresh_login_required(ANORDNUNG_FRESH_LOGIN)
def _fresh_bulk_confirm(step: str) -> ResponseReturnValue:
    return _bulk_confirm(step)


def _bulk_confirm(step: str) -> ResponseReturnValue:
    form = BulkConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    pairs = _parse_selection((form.selection.data or "").split()[:MAX_BULK + 1])
    if pairs is None or len(pairs) > MAX_BULK:
        abort(400)
    if not pairs:
        flash(_("Select at least one order."), "error")
        return redirect(url_for(f"ihv.{step}"))
    staff = _staff()
    if step == "feststellung":
        result = services.feststellen_many(staff, pairs)
    else:
        result = services.anordnen_many(staff, pairs)
    db.session.commit()
    refused = [(order_id, _(message, **params)) for order_id, message, params in result.refused]
    return _render("ihv/bulk_result.html", step=step, result=result, refused=refused)


# --- one order -----------------------------------------------------------------------------


@bp.get("/<int:order_id>")
def order(order_id: int) -> ResponseReturnValue:
    return _render_order(_order_or_404(order_id))


def _render_order(order: Sollstellung, *, cancel_form: CancelForm | None = None,
                  status: int = 200) -> ResponseReturnValue:
    staff = _staff()
    bookings = list(db.session.scalars(select(Booking).where(Booking.sollstellung_id == order.id)
                                       .order_by(Booking.booking_date, Booking.id)))
    change_orders = list(db.session.scalars(select(Sollstellung).where(
        Sollstellung.replaces_id == order.id).order_by(Sollstellung.id)))
    transfer = db.session.get(Transfer, order.transfer_id) if order.transfer_id else None
    history = services.order_history(order)
    people = {person.id: person.full_name for person in db.session.scalars(
        select(Staff).where(Staff.id.in_([pid for pid in (
            order.created_by_id, order.changed_by_id, order.festgestellt_by_id,
            order.angeordnet_by_id) if pid is not None])))}
    may_establish = (staff.has_role(Role.FESTSTELLER) and order.status == OrderStatus.DRAFT
                     and staff.id not in (order.created_by_id, order.changed_by_id))
    may_order = (staff.has_role(Role.ANORDNER) and order.status == OrderStatus.FESTGESTELLT
                 and staff.id not in (order.created_by_id, order.changed_by_id,
                                      order.festgestellt_by_id))
    may_edit = (staff.has_role(Role.FESTSTELLER, *CASE_ROLES)
                and order.status in services.BEFORE_TRANSMISSION and order.transfer_id is None)
    may_cancel = (staff.has_role(Role.FESTSTELLER, Role.ANORDNER, *CASE_ROLES)
                  and (order.status in services.BEFORE_TRANSMISSION
                       or order.status in services.CANCELLABLE_AFTER_TRANSMISSION))
    return _render("ihv/order.html", order=order, bookings=bookings,
                   change_orders=change_orders, transfer=transfer, history=history,
                   people=people, action_labels={k: str(v) for k, v in ACTION_LABELS.items()},
                   approve_form=ApproveForm(formdata=None, version=order.version),
                   cancel_form=cancel_form or CancelForm(formdata=None),
                   may_establish=may_establish, may_order=may_order, may_edit=may_edit,
                   may_cancel=may_cancel), status


@bp.post("/<int:order_id>/feststellen")
def feststellen(order_id: int) -> ResponseReturnValue:
    found = _order_or_404(order_id)
    form = ApproveForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        services.feststellen(_staff(), found, form.version.version())
    except OrderError as error:
        db.session.rollback()
        _flash_error(error)
    else:
        db.session.commit()
        flash(_("The order %(kassenzeichen)s is established.",
                kassenzeichen=format_kassenzeichen(found.kassenzeichen)), "success")
    return redirect(url_for("ihv.order", order_id=order_id))


@bp.post("/<int:order_id>/anordnen")
@fresh_login_required(ANORDNUNG_FRESH_LOGIN)
def anordnen(order_id: int) -> ResponseReturnValue:
    found = _order_or_404(order_id)
    form = ApproveForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        services.anordnen(_staff(), found, form.version.version())
    except OrderError as error:
        db.session.rollback()
        _flash_error(error)
    else:
        db.session.commit()
        flash(_("The order %(kassenzeichen)s is ordered and goes out with the next transfer.",
                kassenzeichen=format_kassenzeichen(found.kassenzeichen)), "success")
    return redirect(url_for("ihv.order", order_id=order_id))


_EDIT_FIELDS = ("amount_cents", "due_date", "haushaltsstelle", "party_name", "party_street",
                "party_postcode", "party_city", "iban", "bic", "purpose", "period_start",
                "period_end")


@bp.route("/<int:order_id>/bearbeiten", methods=["GET", "POST"])
def edit(order_id: int) -> ResponseReturnValue:
    found = _order_or_404(order_id)
    if found.status not in services.BEFORE_TRANSMISSION or found.transfer_id is not None:
        flash(_("This order has been sent to the treasury and can no longer be changed. "
                "Cancel it with a change order instead."), "error")
        return redirect(url_for("ihv.order", order_id=order_id))
    if request.method == "GET":
        form = EditOrderForm(formdata=None, obj=found, version=found.version,
                             amount=f"{found.amount_cents // 100},{found.amount_cents % 100:02d}")
        return _render("ihv/order_edit.html", form=form, order=found)
    form = EditOrderForm()
    if form.validate_on_submit():
        changes: dict[str, Any] = {
            "amount_cents": form.amount.cents, "due_date": form.due_date.data,
            "haushaltsstelle": form.haushaltsstelle.data or "",
            "party_name": form.party_name.data or "",
            "party_street": form.party_street.data or "",
            "party_postcode": form.party_postcode.data or "",
            "party_city": form.party_city.data or "", "iban": form.iban.data or None,
            "bic": form.bic.data or None, "purpose": form.purpose.data or None,
            "period_start": form.period_start.data, "period_end": form.period_end.data}
        try:
            services.update_order(_staff(), found, expected_version=form.version.version(),
                                  # An emptied purpose is filled in again from the order.
                                  **{name: changes[name] for name in _EDIT_FIELDS
                                     if name != "purpose" or changes[name]})
        except OrderError as error:
            db.session.rollback()
            message = _(error.message, **error.params)
            target = "amount" if error.field_name == "amount" else error.field_name
            if target and target in form:
                form[target].errors = [*form[target].errors, message]
            else:
                form.form_errors.append(message)
        else:
            db.session.commit()
            flash(_("The order is changed. It is back in draft and needs both approvals again."),
                  "success")
            return redirect(url_for("ihv.order", order_id=order_id))
    return _render("ihv/order_edit.html", form=form, order=found), 400


@bp.post("/<int:order_id>/stornieren")
def cancel(order_id: int) -> ResponseReturnValue:
    found = _order_or_404(order_id)
    form = CancelForm()
    if not form.validate_on_submit():
        return _render_order(found, cancel_form=form, status=400)
    try:
        result = services.cancel_order(_staff(), found, form.reason.data or "")
    except OrderError as error:
        db.session.rollback()
        if error.field_name == "reason":
            form.reason.errors = [_(error.message, **error.params)]
            return _render_order(found, cancel_form=form, status=400)
        _flash_error(error)
        return redirect(url_for("ihv.order", order_id=order_id))
    db.session.commit()
    if result.id == found.id:
        flash(_("The order is cancelled."), "success")
        return redirect(url_for("ihv.order", order_id=order_id))
    flash(_("The order has already been sent to the treasury. A change order was raised; it "
            "needs both approvals and cancels the order when it is sent."), "success")
    return redirect(url_for("ihv.order", order_id=result.id))


# --- reconciliation ------------------------------------------------------------------------


def _reconciliation_filter() -> tuple[ReconciliationFilterForm,
                                      reconciliation.ReconciliationFilter | None]:
    form = ReconciliationFilterForm(request.args)
    if not form.validate():
        return form, None
    return form, reconciliation.ReconciliationFilter(
        haushaltsstelle=form.haushaltsstelle.data or None,
        month_from=parse_month(form.month_from.data or ""),
        month_to=parse_month(form.month_to.data or ""),
        aktenzeichen=(form.aktenzeichen.data or "").strip() or None,
        kassenzeichen=form.kassenzeichen.data or None)


@bp.get("/abgleich")
def reconciliation_page() -> ResponseReturnValue:
    form, where = _reconciliation_filter()
    if where is None:
        return _render("ihv/reconciliation.html", form=form, tables=[], totals={},
                       filter_args={}), 400
    tables = [reconciliation.table_for(grouping, where)
              for grouping in reconciliation.GROUPINGS]
    filter_args = {name: value for name, value in request.args.items()
                   if name in form._fields and value}
    return _render("ihv/reconciliation.html", form=form, tables=tables,
                   totals=reconciliation.totals(where), filter_args=filter_args,
                   limit=reconciliation.PAGE_LIMIT)


@bp.get("/abgleich/<grouping>.csv")
def reconciliation_csv(grouping: str) -> ResponseReturnValue:
    if grouping not in reconciliation.GROUPINGS:
        abort(404)
    _form, where = _reconciliation_filter()
    if where is None:
        abort(400)
    lines = reconciliation.csv_lines(grouping, where)
    return Response(stream_with_context(lines), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition":
                             f'attachment; filename="abgleich-{grouping}.csv"'})


@bp.get("/abgleich.xlsx")
def reconciliation_xlsx() -> ResponseReturnValue:
    _form, where = _reconciliation_filter()
    if where is None:
        abort(400)
    return Response(reconciliation.xlsx_bytes(where),
                    mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": 'attachment; filename="abgleich.xlsx"'})


def _add_navigation(state: BlueprintSetupState) -> None:
    app = state.app
    assert isinstance(app, Flask)
    add_staff_item(app, "ihv.index", _l("Kasse"), FINANCE_ROLES)
    add_staff_item(app, "ihv.feststellung", _l("Feststellung"), (Role.FESTSTELLER,))
    add_staff_item(app, "ihv.anordnung", _l("Anordnung"), (Role.ANORDNER,))


bp.record_once(_add_navigation)
