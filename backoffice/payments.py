"""The case side of the IHV module: a one-off order on a case, the case's orders, and the
timeline entries for payments and receipts.

ihv lies below backoffice and knows cases only by id. It tells what happened through its signals
(ihv.signals); this module writes the timeline entries, inside the transaction of the change.
It also tells ihv who may see a case's orders (§ 35 SGB I: staff of the case's Fachbereich).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from amtsweg.extensions import db
from amtsweg.sessions import current_staff, guard_staff_blueprint
from amtsweg.staff.models import Role, Staff
from amtsweg.translate import gettext as _
from amtsweg.translate import lazy_gettext as _l
from backoffice import access
from backoffice.models import Fall, FallEvent, register_event_labels
from ihv import reconciliation
from ihv import services as ihv_services
from ihv import views as ihv_views
from ihv.codes import format_kassenzeichen
from ihv.forms import DIRECTION_LABELS, STATUS_LABELS, OrderForm
from ihv.models import Booking, Direction, OrderStatus, Sollstellung
from ihv.services import OrderError
from ihv.signals import booking_matched, order_state_changed

bp = Blueprint("backoffice_payments", __name__, url_prefix="/intern/faelle")
guard_staff_blueprint(bp)

CASE_ROLES = (Role.CASEWORKER, Role.LEAD)


class PaymentEventKind:
    """Timeline kinds this module writes (FallEvent.kind is a free string by design)."""

    PAYMENT_ORDERED = "payment_ordered"
    RECEIVABLE_ORDERED = "receivable_ordered"
    PAYMENT_BOOKED = "payment_booked"
    RECEIPT_BOOKED = "receipt_booked"
    ORDER_REJECTED = "order_rejected"
    ORDER_CANCELLED = "order_cancelled"


register_event_labels({
    PaymentEventKind.PAYMENT_ORDERED: _l("Payment ordered"),
    PaymentEventKind.RECEIVABLE_ORDERED: _l("Receivable ordered"),
    PaymentEventKind.PAYMENT_BOOKED: _l("Payment booked"),
    PaymentEventKind.RECEIPT_BOOKED: _l("Payment received"),
    PaymentEventKind.ORDER_REJECTED: _l("Order rejected by the treasury"),
    PaymentEventKind.ORDER_CANCELLED: _l("Order cancelled"),
})

# Sources whose module writes its own timeline entries for bookings (e.g. the UVG recovery, which
# books receipts against its claims); this module then stays silent for them.
_OWN_BOOKING_EVENTS: set[str] = set()


def skip_booking_events_for(source: str) -> None:
    _OWN_BOOKING_EVENTS.add(source)


def _money(cents: int) -> str:
    euros, rest = divmod(abs(cents), 100)
    return f"{'-' if cents < 0 else ''}{euros:,}".replace(",", ".") + f",{rest:02d} €"


def _summary(order: Sollstellung, cents: int) -> str:
    return f"{format_kassenzeichen(order.kassenzeichen)} – {_money(cents)}"


def _write(order: Sollstellung, kind: str, summary: str, actor_name: str) -> None:
    # Straight into the session, no flush and no case loaded: a payment run or an IST file
    # touches thousands of cases in one transaction.
    assert order.fall_id is not None
    db.session.add(FallEvent(fall_id=order.fall_id, kind=kind, summary=summary[:2000],
                             actor_name=actor_name[:200]))


def _on_state_changed(order: Sollstellung, old: OrderStatus, new: OrderStatus) -> None:
    if order.fall_id is None:
        return
    if new == OrderStatus.ANGEORDNET:
        kind = (PaymentEventKind.PAYMENT_ORDERED if order.direction == Direction.AUSZAHLUNG
                else PaymentEventKind.RECEIVABLE_ORDERED)
        staff = current_staff()
        _write(order, kind, _summary(order, order.amount_cents),
               staff.username if staff is not None else "System")
    elif new == OrderStatus.REJECTED:
        _write(order, PaymentEventKind.ORDER_REJECTED,
               f"{_summary(order, order.amount_cents)}: {order.rejection_reason or ''}", "Kasse")
    elif new == OrderStatus.CANCELLED and old != OrderStatus.DRAFT:
        _write(order, PaymentEventKind.ORDER_CANCELLED,
               f"{_summary(order, order.amount_cents)}: {order.cancel_reason or ''}",
               "System")


def _on_booking(booking: Booking, order: Sollstellung) -> None:
    if order.fall_id is None or order.source in _OWN_BOOKING_EVENTS:
        return
    kind = (PaymentEventKind.PAYMENT_BOOKED if order.direction == Direction.AUSZAHLUNG
            else PaymentEventKind.RECEIPT_BOOKED)
    _write(order, kind, f"{_summary(order, booking.amount_cents)}, "
                        f"{booking.booking_date:%d.%m.%Y}", "Kasse")


order_state_changed.connect(_on_state_changed)
booking_matched.connect(_on_booking)


def _may_see_case(staff: Staff, fall_id: int) -> bool:
    """Whether ``staff`` may see the orders of this case; a refusal is logged.

    An order shows the case's payee, bank account and amounts: someone of another Fachbereich
    opening its URL has tried to look into the case, and leaves the same trace in the access
    log as a guessed case URL (§ 35 SGB I).
    """
    fall = db.session.get(Fall, fall_id)
    return fall is not None and access.admits(staff, fall)


ihv_views.set_case_access_check(_may_see_case)


# --- the case view's section ---------------------------------------------------------------


def case_payments(fall_id: int) -> dict[str, Any]:
    """What the case view shows: the case's orders and Soll/Ist/open per direction."""
    orders = ihv_services.orders_for_case(fall_id)
    # Most cases have no orders yet: no balance to sum, and one statement less per view.
    return {"orders": orders,
            "balance": reconciliation.case_balance(fall_id) if orders else {},
            "status_labels": {status: str(label) for status, label in STATUS_LABELS.items()},
            "direction_labels": {direction: str(label)
                                 for direction, label in DIRECTION_LABELS.items()},
            "format_kz": format_kassenzeichen}


# --- a new one-off order on a case ---------------------------------------------------------


def _staff() -> Staff:
    staff = current_staff()
    if staff is None or not staff.has_role(*CASE_ROLES):
        abort(403)
    return staff


def _no_date() -> date:
    # DataRequired has refused an empty date before this runs; this keeps the type checker sure.
    raise OrderError("Enter the due date as a date, like 01.03.2026.", "due_date")


def _form_error(form: OrderForm, error: OrderError) -> None:
    message = _(error.message, **error.params)
    target = {"amount": "amount", "due_date": "due_date"}.get(error.field_name or "",
                                                               error.field_name)
    if target and target in form:
        form[target].errors = [*form[target].errors, message]
    else:
        form.form_errors.append(message)


@bp.route("/<int:fall_id>/sollstellung/neu", methods=["GET", "POST"])
def new_order(fall_id: int) -> ResponseReturnValue:
    staff = _staff()
    fall = access.case_for(staff, fall_id)
    form = OrderForm()
    back_url = url_for("backoffice.case", fall_id=fall.id)
    if request.method == "POST" and form.validate_on_submit():
        try:
            order = ihv_services.create_order(
                staff, direction=Direction(form.direction.data),
                amount_cents=form.amount.cents or 0, due_date=form.due_date.data or _no_date(),
                haushaltsstelle=form.haushaltsstelle.data or "",
                party_name=form.party_name.data or "", party_street=form.party_street.data or "",
                party_postcode=form.party_postcode.data or "",
                party_city=form.party_city.data or "", iban=form.iban.data or None,
                bic=form.bic.data or None, purpose=form.purpose.data or None, fall_id=fall.id,
                period_start=form.period_start.data, period_end=form.period_end.data)
        except OrderError as error:
            db.session.rollback()
            _form_error(form, error)
        else:
            db.session.commit()
            flash(_("The order %(kassenzeichen)s has been raised and waits for the "
                    "Feststellung.", kassenzeichen=format_kassenzeichen(order.kassenzeichen)),
                  "success")
            return redirect(back_url + "#zahlungen")
    status = 400 if form.errors or form.form_errors else 200
    return render_template("ihv/order_form.html", form=form, aktenzeichen=fall.aktenzeichen,
                           back_url=back_url), status


@bp.before_request
def require_role() -> None:
    staff = current_staff()
    if staff is None or not staff.has_role(*CASE_ROLES):
        abort(403)
