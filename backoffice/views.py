"""The caseworkers' pages: case lists, the case file, E-Akte, notes, deadlines, assignment, and
the auditors' access log.

Thin views: parse, authorise, call one service, commit, render or redirect. Access follows
§ 35 SGB I: staff open only cases of their own Fachbereiche (others get 403, and the attempt is
logged); every case view and document download is written to the access log.
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Flask,
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
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from amtsweg.clock import berlin_today
from amtsweg.config import Settings
from amtsweg.extensions import db
from amtsweg.navigation import add_staff_item
from amtsweg.sessions import current_staff, guard_staff_blueprint, staff_actor
from amtsweg.staff.models import Role, Staff
from amtsweg.translate import gettext as _
from amtsweg.translate import lazy_gettext as _l
from backoffice import access, queries, services
from backoffice.case_rows import berlin_time, case_table_rows, document_rows, timeline_items
from backoffice.deadlines import add_working_days
from backoffice.forms import (
    POOL,
    RESUME,
    AccessFilterForm,
    AssignForm,
    BulkReassignForm,
    CaseFilterForm,
    DeadlineForm,
    NoteForm,
    PartyForm,
    SearchForm,
    StatusForm,
    UploadForm,
)
from backoffice.models import (
    ACCESS_KIND_LABELS,
    ALLOWED_TRANSITIONS,
    DOCUMENT_ORIGIN_LABELS,
    FALL_EVENT_LABELS,
    FALL_STATUS_LABELS,
    PARTY_ROLE_LABELS,
    AccessKind,
    CaseDocument,
    DocumentOrigin,
    Fall,
    FallStatus,
    Party,
    Wiedervorlage,
)
from backoffice.modules import case_links
from backoffice.payments import case_payments
from storage.forms import store_field_upload
from storage.services import document_response

bp = Blueprint("backoffice", __name__, url_prefix="/intern/faelle")
guard_staff_blueprint(bp)

CASE_ROLES = (Role.CASEWORKER, Role.LEAD)
# Endpoints with their own role; every other endpoint of the blueprint needs CASE_ROLES.
_OWN_ROLES = {
    "backoffice.access_log": (Role.AUDITOR,),
    "backoffice.bulk_reassign": (Role.LEAD,),
}


@bp.before_request
def require_role() -> None:
    staff = current_staff()
    roles = _OWN_ROLES.get(request.endpoint or "", CASE_ROLES)
    if staff is None or not staff.has_role(*roles):
        abort(403)


def _settings() -> Settings:
    settings: Settings = current_app.config["AMTSWEG"]
    return settings


def _staff() -> Staff:
    staff = current_staff()
    assert staff is not None  # the guard let only staff through
    return staff


def _case(fall_id: int, what: AccessKind = AccessKind.CASE_VIEW) -> Fall:
    return access.case_for(_staff(), fall_id, what)


def _case_document(fall: Fall, case_document_id: int) -> CaseDocument:
    entry = db.session.get(CaseDocument, case_document_id)
    if entry is None or entry.fall_id != fall.id:
        abort(404)
    return entry


def _context() -> dict[str, Any]:
    # Labels are translated once per request here, not once per row in the templates.
    return {"status_labels": FALL_STATUS_LABELS, "role_labels": PARTY_ROLE_LABELS,
            "origin_labels": DOCUMENT_ORIGIN_LABELS, "access_labels": ACCESS_KIND_LABELS,
            "status_names": {status: str(label) for status, label in FALL_STATUS_LABELS.items()},
            "pool_label": _("Pool"), "overdue_label": _("overdue"),
            "case_base": url_for("backoffice.mine"), "berlin_time": berlin_time,
            "case_table_rows": case_table_rows,
            "today": berlin_today()}


def _render(template: str, **context: Any) -> str:
    return render_template(template, **_context(), **context)


def _after() -> int | None:
    raw = request.args.get("nach", "")
    return int(raw) if raw.isdecimal() and len(raw) <= 18 else None


# --- lists ----------------------------------------------------------------------------------


def _list(template: str, *, mine: bool) -> ResponseReturnValue:
    staff = _staff()
    form = CaseFilterForm(request.args)
    status = deadline = None
    if form.validate():
        status, deadline = form.status_value(), form.deadline_value()
    page = queries.case_list(queries.fachbereich_scope(staff),
                             responsible_id=staff.id if mine else None, pool=not mine,
                             status=status, deadline=deadline, today=berlin_today(), after=_after())
    filter_args = {name: request.args[name] for name in ("status", "deadline")
                   if request.args.get(name) and not form[name].errors}
    due = queries.due_for(staff, berlin_today()) if mine else []
    return _render(template, form=form, page=page, due=due, filter_args=filter_args)


@bp.get("/")
def mine() -> ResponseReturnValue:
    return _list("backoffice/mine.html", mine=True)


@bp.get("/pool")
def pool() -> ResponseReturnValue:
    return _list("backoffice/pool.html", mine=False)


@bp.get("/suche")
def search() -> ResponseReturnValue:
    form = SearchForm(request.args)
    rows: list[queries.CaseRow] | None = None
    if request.args and form.validate():
        rows = queries.search_cases(form.q.data or "", form.birth_date.data,
                                    queries.fachbereich_scope(_staff()))
    return _render("backoffice/search.html", form=form if request.args else SearchForm(None),
                   rows=rows)


# --- the case file --------------------------------------------------------------------------


def _status_form(fall: Fall, formdata: Any = None) -> StatusForm:
    allowed = sorted(ALLOWED_TRANSITIONS[fall.status], key=list(FallStatus).index)
    form = StatusForm(formdata, allowed=allowed, suspended=fall.status is FallStatus.SUSPENDED)
    form.version.data = fall.version if formdata is None else form.version.data
    return form


def _render_case(fall: Fall, *, status_form: StatusForm | None = None,
                 note_form: NoteForm | None = None, stale: bool = False) -> str:
    context = _context()
    timeline = queries.timeline(fall.id, before=_after())
    documents = queries.case_documents(fall.id)
    return render_template("backoffice/case.html", **context, fall=fall, timeline=timeline,
                   timeline_html=timeline_items(
                       timeline.events,
                       {str(kind): str(label) for kind, label in FALL_EVENT_LABELS.items()}),
                   documents=documents,
                   document_html=document_rows(
                       documents,
                       {origin: str(label) for origin, label in DOCUMENT_ORIGIN_LABELS.items()},
                       f"{context['case_base']}{fall.id}/dokumente/", _("View"), _("Download")),
                   notes=queries.case_notes(fall.id),
                   module_links=case_links(fall),
                   payments=case_payments(fall.id),
                   deadlines=queries.case_deadlines(fall.id),
                   versions=queries.party_versions([party.id for party in fall.parties]),
                   status_form=status_form or _status_form(fall),
                   note_form=note_form or NoteForm(None), stale=stale,
                   form=status_form if status_form is not None and status_form.errors
                   else note_form)


@bp.get("/<int:fall_id>")
def case(fall_id: int) -> ResponseReturnValue:
    fall = _case(fall_id)
    access.log_access(_staff(), fall, AccessKind.CASE_VIEW)
    page = _render_case(fall)
    # Committed after rendering, so the case is not expired and loaded a second time; nothing
    # reaches the caseworker unless the log entry is stored.
    db.session.commit()
    return page


def _stale(fall_id: int) -> Fall:
    """After a lost race: the fresh case, to render with the caseworker's input kept."""
    db.session.rollback()
    return _case(fall_id)


@bp.post("/<int:fall_id>/status")
def change_status(fall_id: int) -> ResponseReturnValue:
    fall = _case(fall_id)
    form = _status_form(fall, request.form)
    if not form.validate():
        return _render_case(fall, status_form=form), 400
    actor = staff_actor(_staff())
    try:
        if form.status.data == RESUME:
            days = services.resume_case(fall, actor, expected_version=form.version.version())
            if days:
                flash(_("Open follow-ups were moved by %(days)s days.", days=days), "info")
        else:
            services.change_status(fall, FallStatus(form.status.data), actor,
                                   expected_version=form.version.version())
        db.session.commit()
    except (services.StaleCase, StaleDataError):
        fall = _stale(fall_id)
        return _render_case(fall, status_form=_status_form(fall, request.form), stale=True), 409
    except services.TransitionRefused as refusal:
        db.session.rollback()
        form.status.errors = [str(refusal)]
        return _render_case(_case(fall_id), status_form=form), 400
    flash(_("The status was changed."), "success")
    return redirect(url_for(".case", fall_id=fall_id))


@bp.post("/<int:fall_id>/vermerke")
def add_note(fall_id: int) -> ResponseReturnValue:
    fall = _case(fall_id)
    form = NoteForm(request.form)
    if not form.validate():
        return _render_case(fall, note_form=form), 400
    staff = _staff()
    services.add_note(fall, form.text.data or "", staff, staff_actor(staff))
    db.session.commit()
    flash(_("The note was saved."), "success")
    return redirect(url_for(".case", fall_id=fall_id) + "#vermerke")


# --- parties --------------------------------------------------------------------------------


def _party(fall: Fall, party_id: int) -> Party:
    party = next((party for party in fall.parties if party.id == party_id), None)
    if party is None:
        abort(404)
    return party


@bp.route("/<int:fall_id>/beteiligte/<int:party_id>", methods=["GET", "POST"])
def edit_party(fall_id: int, party_id: int) -> ResponseReturnValue:
    fall = _case(fall_id)
    party = _party(fall, party_id)
    if request.method == "GET":
        form = PartyForm(None, obj=party)
        form.version.data = fall.version
        return _render("backoffice/party.html", fall=fall, party=party, form=form)
    form = PartyForm(request.form)
    if not form.validate():
        return _render("backoffice/party.html", fall=fall, party=party, form=form), 400
    try:
        services.update_party(fall, party, form.changes(), staff_actor(_staff()),
                              expected_version=form.version.version())
        db.session.commit()
    except (services.StaleCase, StaleDataError):
        fall = _stale(fall_id)
        return _render("backoffice/party.html", fall=fall, party=_party(fall, party_id),
                       form=form, stale=True), 409
    flash(_("The details were saved. The earlier version stays in the history."), "success")
    return redirect(url_for(".case", fall_id=fall_id) + "#beteiligte")


# --- the E-Akte -----------------------------------------------------------------------------


def _series(fall: Fall) -> list[tuple[int, str]]:
    seen: dict[int, str] = {}
    for entry in queries.case_documents(fall.id):
        if entry.series_id is not None:
            seen.setdefault(entry.series_id, entry.title)
    return list(seen.items())


@bp.route("/<int:fall_id>/dokumente/neu", methods=["GET", "POST"])
def upload(fall_id: int) -> ResponseReturnValue:
    fall = _case(fall_id)
    series = _series(fall)
    form = UploadForm(series=series)
    max_mb = _settings().max_upload_mb
    if request.method == "GET":
        return _render("backoffice/upload.html", fall=fall, form=form, max_mb=max_mb)
    if not form.validate():
        return _render("backoffice/upload.html", fall=fall, form=form, max_mb=max_mb), 400
    staff = _staff()
    actor = staff_actor(staff)
    document = store_field_upload(form.file, actor)
    if document is None:
        db.session.rollback()
        return _render("backoffice/upload.html", fall=fall, form=form, max_mb=max_mb), 400
    replaces = None
    if form.replaces.data:
        replaces = db.session.scalar(select(CaseDocument).where(
            CaseDocument.fall_id == fall.id, CaseDocument.series_id == int(form.replaces.data),
            CaseDocument.id == CaseDocument.series_id))
    services.file_document(fall, document, origin=DocumentOrigin.STAFF_UPLOAD,
                           kind=(form.kind.data or "").strip(),
                           title=(form.title.data or "").strip() or document.filename,
                           actor=actor, replaces=replaces)
    db.session.commit()
    flash(_("The document was filed."), "success")
    return redirect(url_for(".case", fall_id=fall_id) + "#e-akte")


def _send(fall_id: int, case_document_id: int, *, inline: bool) -> ResponseReturnValue:
    what = AccessKind.DOCUMENT_PREVIEW if inline else AccessKind.DOCUMENT_DOWNLOAD
    fall = _case(fall_id, what)
    entry = _case_document(fall, case_document_id)
    access.log_access(_staff(), fall, what, document=entry.document)
    db.session.commit()
    return document_response(entry.document, inline=inline)


@bp.get("/<int:fall_id>/dokumente/<int:case_document_id>")
def download(fall_id: int, case_document_id: int) -> ResponseReturnValue:
    return _send(fall_id, case_document_id, inline=False)


@bp.get("/<int:fall_id>/dokumente/<int:case_document_id>/ansicht")
def preview(fall_id: int, case_document_id: int) -> ResponseReturnValue:
    return _send(fall_id, case_document_id, inline=True)


# --- Wiedervorlagen -------------------------------------------------------------------------


def _owners(fall: Fall) -> list[tuple[int, str]]:
    me = _staff()
    people = [(member.id, member.full_name) for member in queries.colleagues(fall.fachbereich_id)]
    return sorted(people, key=lambda person: person[0] != me.id)


@bp.route("/<int:fall_id>/wiedervorlagen/neu", methods=["GET", "POST"])
def add_deadline(fall_id: int) -> ResponseReturnValue:
    fall = _case(fall_id)
    form = DeadlineForm(owners=_owners(fall))
    if request.method == "GET":
        return _render("backoffice/deadline.html", fall=fall, form=form)
    if not form.validate():
        return _render("backoffice/deadline.html", fall=fall, form=form), 400
    due = form.due_date.data or add_working_days(berlin_today(), form.working_days.data or 0,
                                                 _settings().holiday_state)
    owner = db.session.get(Staff, int(form.owner.data)) if form.owner.data else None
    try:
        services.add_deadline(fall, due_date=due, reason=form.reason.data or "", owner=owner,
                              actor=staff_actor(_staff()), today=berlin_today())
    except services.DeadlineRefused as refusal:
        db.session.rollback()
        form.due_date.errors = [str(refusal)]
        return _render("backoffice/deadline.html", fall=_case(fall_id), form=form), 400
    except services.AssignmentRefused as refusal:
        db.session.rollback()
        form.owner.errors = [str(refusal)]
        return _render("backoffice/deadline.html", fall=_case(fall_id), form=form), 400
    db.session.commit()
    flash(_("The follow-up is set for %(date)s.", date=due.strftime("%d.%m.%Y")), "success")
    return redirect(url_for(".case", fall_id=fall_id) + "#wiedervorlagen")


@bp.post("/<int:fall_id>/wiedervorlagen/<int:deadline_id>/<any(erledigt, offen):state>")
def mark_deadline(fall_id: int, deadline_id: int, state: str) -> ResponseReturnValue:
    fall = _case(fall_id)
    deadline = db.session.get(Wiedervorlage, deadline_id)
    if deadline is None or deadline.fall_id != fall.id:
        abort(404)
    services.set_deadline_done(deadline, state == "erledigt", fall, staff_actor(_staff()))
    db.session.commit()
    return redirect(url_for(".case", fall_id=fall_id) + "#wiedervorlagen")


# --- assignment -----------------------------------------------------------------------------


@bp.route("/<int:fall_id>/zuweisen", methods=["GET", "POST"])
def assign(fall_id: int) -> ResponseReturnValue:
    fall = _case(fall_id)
    people = [(member.id, member.full_name) for member in queries.colleagues(fall.fachbereich_id)]
    form = AssignForm(colleagues=people)
    if request.method == "GET":
        form.version.data = fall.version
        return _render("backoffice/assign.html", fall=fall, form=form)
    if not form.validate():
        return _render("backoffice/assign.html", fall=fall, form=form), 400
    target = None if form.assignee.data == POOL else db.session.get(Staff, int(form.assignee.data))
    staff = _staff()
    try:
        services.assign_with_note(fall, target, form.note.data or "", staff, staff_actor(staff),
                                  expected_version=form.version.version())
        db.session.commit()
    except (services.StaleCase, StaleDataError):
        return _render("backoffice/assign.html", fall=_stale(fall_id), form=form,
                       stale=True), 409
    except services.AssignmentRefused as refusal:
        db.session.rollback()
        form.assignee.errors = [str(refusal)]
        return _render("backoffice/assign.html", fall=_case(fall_id), form=form), 400
    flash(_("The case was handed over."), "success")
    return redirect(url_for(".case", fall_id=fall_id))


def _lead_staff() -> list[tuple[int, str]]:
    scope = queries.fachbereich_scope(_staff())
    members = db.session.scalars(select(Staff).order_by(Staff.full_name))
    return [(member.id, member.full_name) for member in members
            if member.fachbereich_ids & scope]


@bp.route("/umverteilen", methods=["GET", "POST"])
def bulk_reassign() -> ResponseReturnValue:
    form = BulkReassignForm(staff=_lead_staff())
    if request.method == "GET":
        return _render("backoffice/bulk.html", form=form, result=None)
    if not form.validate():
        return _render("backoffice/bulk.html", form=form, result=None), 400
    lead = _staff()
    target = None if form.to_staff.data == POOL else db.session.get(Staff, int(form.to_staff.data))
    # A lead moves only cases of the Fachbereiche they lead (§ 35 SGB I holds for leads too).
    falls = list(db.session.scalars(
        select(Fall).where(Fall.responsible_staff_id == int(form.from_staff.data),
                           Fall.fachbereich_id.in_(list(queries.fachbereich_scope(lead))),
                           Fall.status != FallStatus.CLOSED).order_by(Fall.id)))
    result = services.reassign_cases(falls, target, staff_actor(lead))
    db.session.commit()
    return _render("backoffice/bulk.html", form=form, result=result)


# --- the access log -------------------------------------------------------------------------


@bp.get("/zugriffe")
def access_log() -> ResponseReturnValue:
    people = [(member.id, member.full_name)
              for member in db.session.scalars(select(Staff).order_by(Staff.full_name))]
    form = AccessFilterForm(request.args, staff=people)
    filters = access.AccessFilter()
    if form.validate():
        filters = access.AccessFilter(
            staff_id=int(form.staff.data) if form.staff.data else None,
            aktenzeichen=queries.normalise_aktenzeichen(form.aktenzeichen.data or "")
            or ((form.aktenzeichen.data or "").strip().upper() or None),
            day_from=form.day_from.data, day_to=form.day_to.data)
    entries = access.access_entries(filters, before_id=_after())
    filter_args = {name: request.args[name] for name in ("staff", "aktenzeichen", "day_from",
                                                         "day_to")
                   if request.args.get(name) and not form[name].errors}
    next_after = entries[-1].id if len(entries) == access.PAGE_SIZE else None
    return _render("backoffice/access_log.html", form=form, entries=entries,
                   filter_args=filter_args, next_after=next_after)


def _add_navigation(state: BlueprintSetupState) -> None:
    app = state.app
    assert isinstance(app, Flask)
    add_staff_item(app, "backoffice.mine", _l("My cases"), CASE_ROLES)
    add_staff_item(app, "backoffice.pool", _l("Pool"), CASE_ROLES)
    add_staff_item(app, "backoffice.search", _l("Find a case"), CASE_ROLES)
    add_staff_item(app, "backoffice.access_log", _l("Access log"), (Role.AUDITOR,))


bp.record_once(_add_navigation)
