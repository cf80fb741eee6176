"""The transfer pages of the Kasse: transfers (failed ones with their error and a resend
button), the files that came back (rejected ones with their report) and the Klärungsliste of
bookings that matched no order, where finance staff assign them by hand.

Thin views: parse, authorise, call one service, commit, render or redirect. Staff routes deny
by default; finance roles only. These pages show amounts and payees across all Fachbereiche, as
the Kasse does; they link to no case file.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue
from sqlalchemy import func, select

from amtsweg.config import Settings
from amtsweg.extensions import db
from amtsweg.navigation import add_staff_item
from amtsweg.sessions import current_staff, guard_staff_blueprint, staff_actor
from amtsweg.staff.models import Role, Staff
from amtsweg.translate import gettext as _
from amtsweg.translate import lazy_gettext as _l
from ihv.codes import format_kassenzeichen
from ihv.models import (
    Booking,
    BookingStatus,
    ImportedFile,
    ImportKind,
    ImportStatus,
    Sollstellung,
    Transfer,
    TransferStatus,
)
from ihv.transfer import receive, send
from ihv.transfer.forms import AssignForm, ResendForm
from storage.blobstore import get_blobstore

bp = Blueprint("ihv_transfers", __name__, url_prefix="/intern/kasse/uebertragungen")
guard_staff_blueprint(bp)

# Transfers carry every Fachbereich's payees: finance staff and auditors, not leads (§ 35 SGB I).
READ_ROLES = (Role.FESTSTELLER, Role.ANORDNER, Role.AUDITOR)
# Resending and assigning money by hand are finance work, not the auditor's.
WRITE_ROLES = (Role.FESTSTELLER, Role.ANORDNER)
_WRITE_ENDPOINTS = frozenset({"ihv_transfers.resend", "ihv_transfers.assign"})
PAGE = 100

TRANSFER_STATUS_LABELS = {
    TransferStatus.PREPARED: _l("Prepared, not yet delivered"),
    TransferStatus.SENT: _l("Sent"),
    TransferStatus.FAILED: _l("Delivery failed"),
}
IMPORT_KIND_LABELS = {
    ImportKind.ACKNOWLEDGEMENT: _l("Acknowledgement"),
    ImportKind.BOOKINGS: _l("IST bookings"),
    ImportKind.CAMT053: _l("Bank statement (camt.053)"),
}
BOOKING_STATUS_LABELS = {
    BookingStatus.MATCHED: _l("Bookings matched"),
    BookingStatus.UNCLEAR: _l("Bookings on the Klärungsliste"),
    BookingStatus.ASSIGNED: _l("Bookings assigned by hand"),
}
IMPORT_STATUS_LABELS = {
    ImportStatus.IMPORTED: _l("Imported"),
    ImportStatus.REJECTED: _l("Refused"),
}


# receive.assign_booking refuses with these English msgids; listed here so they are translated.
ASSIGNMENT_MESSAGES = {
    "This booking has already been assigned.": _l("This booking has already been assigned."),
    "This is not a valid Kassenzeichen (check digits wrong).": _l(
        "This is not a valid Kassenzeichen (check digits wrong)."),
    "There is no sent order in this direction with this Kassenzeichen.": _l(
        "There is no sent order in this direction with this Kassenzeichen."),
    "The order of this Kassenzeichen cannot take the booking.": _l(
        "The order of this Kassenzeichen cannot take the booking."),
}


@bp.before_request
def require_role() -> None:
    staff = current_staff()
    roles = WRITE_ROLES if request.endpoint in _WRITE_ENDPOINTS else READ_ROLES
    if staff is None or not staff.has_role(*roles):
        abort(403)


def _staff() -> Staff:
    staff = current_staff()
    assert staff is not None  # the guard let only staff through
    return staff


def _settings() -> Settings:
    settings: Settings = current_app.config["AMTSWEG"]
    return settings


def _render(template: str, **context: Any) -> str:
    return render_template(
        template, transfer_status_labels={k: str(v) for k, v in TRANSFER_STATUS_LABELS.items()},
        import_kind_labels={k: str(v) for k, v in IMPORT_KIND_LABELS.items()},
        import_status_labels={k: str(v) for k, v in IMPORT_STATUS_LABELS.items()},
        booking_status_labels={k: str(v) for k, v in BOOKING_STATUS_LABELS.items()},
        format_kz=format_kassenzeichen, can_write=_staff().has_role(*WRITE_ROLES), **context)


def _page() -> int:
    raw = request.args.get("seite", "1")
    return int(raw) if raw.isdecimal() and 0 < len(raw) < 7 and int(raw) > 0 else 1


# --- transfers -----------------------------------------------------------------------------


@bp.get("/")
def transfers() -> ResponseReturnValue:
    page = _page()
    failed = list(db.session.scalars(select(Transfer).where(
        Transfer.status != TransferStatus.SENT).order_by(Transfer.sequence_number)))
    rows = list(db.session.scalars(select(Transfer).order_by(Transfer.sequence_number.desc())
                                   .offset((page - 1) * PAGE).limit(PAGE + 1)))
    return _render("ihv/transfer/transfers.html", failed=failed, rows=rows[:PAGE], page=page,
                   has_next=len(rows) > PAGE, form=ResendForm(formdata=None))


def _transfer_or_404(transfer_id: int) -> Transfer:
    transfer = db.session.get(Transfer, transfer_id)
    if transfer is None:
        abort(404)
    return transfer


@bp.get("/<int:transfer_id>")
def transfer(transfer_id: int) -> ResponseReturnValue:
    item = _transfer_or_404(transfer_id)
    orders = list(db.session.scalars(select(Sollstellung).where(
        Sollstellung.transfer_id == item.id).order_by(Sollstellung.id).limit(PAGE)))
    return _render("ihv/transfer/transfer.html", transfer=item, orders=orders,
                   form=ResendForm(formdata=None))


@bp.get("/<int:transfer_id>/datei")
def download(transfer_id: int) -> ResponseReturnValue:
    item = _transfer_or_404(transfer_id)
    stream = get_blobstore().open(item.blob_key)

    def chunks() -> Iterator[bytes]:
        # A payment run's file runs to tens of megabytes: streamed, never read whole.
        with stream:
            while chunk := stream.read(1024 * 1024):
                yield chunk

    return Response(chunks(), mimetype="application/xml", headers={
        "Content-Disposition": f'attachment; filename="{item.file_name}"'})


@bp.post("/<int:transfer_id>/erneut-senden")
def resend(transfer_id: int) -> ResponseReturnValue:
    form = ResendForm()
    if not form.validate_on_submit():
        abort(400)
    item = _transfer_or_404(transfer_id)
    if item.status == TransferStatus.SENT:
        flash(_("Transfer %(number)s has already been sent.", number=item.sequence_number),
              "info")
    elif send.resend_transfer(item, _settings(), staff_actor(_staff())):
        flash(_("Transfer %(number)s has been delivered.", number=item.sequence_number),
              "success")
    else:
        db.session.expire_all()
        flash(_("Delivery of transfer %(number)s failed again: %(error)s",
                number=item.sequence_number, error=item.last_error or "-"), "error")
    return redirect(url_for("ihv_transfers.transfers"))


# --- files that came back ------------------------------------------------------------------


@bp.get("/eingaenge")
def imports() -> ResponseReturnValue:
    page = _page()
    rows = list(db.session.scalars(select(ImportedFile).order_by(ImportedFile.id.desc())
                                   .offset((page - 1) * PAGE).limit(PAGE + 1)))
    return _render("ihv/transfer/imports.html", rows=rows[:PAGE], page=page,
                   has_next=len(rows) > PAGE)


@bp.get("/eingaenge/<int:import_id>")
def imported_file(import_id: int) -> ResponseReturnValue:
    item = db.session.get(ImportedFile, import_id)
    if item is None:
        abort(404)
    figures = db.session.execute(
        select(Booking.status, func.count(), func.coalesce(func.sum(Booking.amount_cents), 0))
        .where(Booking.import_id == item.id).group_by(Booking.status)).all()
    return _render("ihv/transfer/import.html", item=item,
                   figures={BookingStatus(status): (int(count), int(total))
                            for status, count, total in figures})


# --- Klärungsliste -------------------------------------------------------------------------


@bp.get("/klaerungsliste")
def klaerungsliste() -> ResponseReturnValue:
    page = _page()
    total = db.session.execute(
        select(func.count(), func.coalesce(func.sum(Booking.amount_cents), 0))
        .where(Booking.status == BookingStatus.UNCLEAR)).one()
    rows = list(db.session.scalars(select(Booking).where(Booking.status == BookingStatus.UNCLEAR)
                                   .order_by(Booking.booking_date, Booking.id)
                                   .offset((page - 1) * PAGE).limit(PAGE + 1)))
    return _render("ihv/transfer/klaerungsliste.html", rows=rows[:PAGE], page=page,
                   has_next=len(rows) > PAGE, total=(int(total[0]), int(total[1])))


@bp.route("/klaerungsliste/<int:booking_id>", methods=["GET", "POST"])
def assign(booking_id: int) -> ResponseReturnValue:
    booking = db.session.get(Booking, booking_id)
    if booking is None:
        abort(404)
    if booking.status != BookingStatus.UNCLEAR:
        flash(_("This booking has already been assigned."), "info")
        return redirect(url_for("ihv_transfers.klaerungsliste"))
    form = AssignForm()
    if form.validate_on_submit():
        staff = _staff()
        try:
            order = receive.assign_booking(booking, form.kassenzeichen.data or "",
                                           staff_actor(staff),
                                           staff.id, (form.note.data or "").strip())
        except receive.AssignmentError as error:
            db.session.rollback()
            message = str(error)
            form.kassenzeichen.errors = [*form.kassenzeichen.errors,
                                         str(ASSIGNMENT_MESSAGES.get(message, message))]
        else:
            db.session.commit()
            flash(_("The booking has been assigned to the order %(kz)s.",
                    kz=format_kassenzeichen(order.kassenzeichen)), "success")
            return redirect(url_for("ihv_transfers.klaerungsliste"))
    status = 400 if request.method == "POST" else 200
    return _render("ihv/transfer/assign.html", booking=booking, form=form), status


def _add_navigation(state: BlueprintSetupState) -> None:
    app = cast(Flask, state.app)
    add_staff_item(app, "ihv_transfers.transfers", _l("Transfers"), READ_ROLES)
    add_staff_item(app, "ihv_transfers.klaerungsliste", _l("Klärungsliste"), READ_ROLES)


bp.record_once(_add_navigation)
