"""The clearing office's pages: the queue, triage, actions, routing rules, paper intake, figures.

Thin views: parse, authorise, call one service of clearing.triage / clearing.rules, commit, and
render or redirect. Only staff with the clearing role (or leads) get in; everyone else 403.
"""

from __future__ import annotations

import json
from collections.abc import Callable
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
from flask_wtf import FlaskForm
from sqlalchemy import select

from amtsweg.clock import BERLIN, berlin_today
from amtsweg.config import Settings
from amtsweg.extensions import db
from amtsweg.navigation import add_staff_item
from amtsweg.sessions import current_staff, guard_staff_blueprint, staff_actor
from amtsweg.staff.models import Fachbereich, Role, Staff, StaffRole
from amtsweg.translate import gettext as _
from amtsweg.translate import lazy_gettext as _l
from backoffice.queries import case_by_aktenzeichen
from clearing import queue, rules, triage
from clearing.forms import (
    PaperIntakeForm,
    QueueFilterForm,
    RejectForm,
    RequestForm,
    RouteForm,
    RuleForm,
    bulk_form,
    kind_value,
    posted_item_ids,
    selected_items,
    status_value,
)
from clearing.models import Eingang, EingangDocument, EingangKind, EingangStatus, RejectionReason
from clearing.rows import BadgeLabels, QueueTexts, queue_rows, status_badge
from storage.forms import store_field_upload
from storage.services import document_response, record_document_read

bp = Blueprint("clearing", __name__, url_prefix="/intern/clearing")

CLEARING_ROLES = (Role.CLEARING, Role.LEAD)
REJECTION_LABELS = {
    RejectionReason.DUPLICATE: _l("Duplicate"),
    RejectionReason.NOT_OUR_OFFICE: _l("Not our office"),
    RejectionReason.SPAM: _l("Spam"),
    RejectionReason.OTHER: _l("Other reason"),
}
ACTION_LABELS = {
    "eingang.created": _l("Received"),
    "eingang.paper_received": _l("Paper mail registered"),
    "eingang.claimed": _l("Taken over"),
    "eingang.released": _l("Released"),
    "eingang.claim_expired": _l("Claim expired"),
    "eingang.assigned": _l("Assigned"),
    "eingang.routed": _l("Routed"),
    "eingang.routed_automatically": _l("Routed automatically"),
    "eingang.rejected": _l("Rejected"),
    "eingang.citizen_asked": _l("Information requested from the citizen"),
    "eingang.answered": _l("The citizen answered"),
}


def _settings() -> Settings:
    settings: Settings = current_app.config["AMTSWEG"]
    return settings


def _state() -> str:
    return _settings().holiday_state


def _staff() -> Staff:
    staff = current_staff()
    assert staff is not None  # the guard let only staff through
    return staff


def require_clearing_role() -> None:
    staff = current_staff()
    if staff is None or not staff.has_role(*CLEARING_ROLES):
        abort(403)


def _require_lead() -> None:
    if not _staff().has_role(Role.LEAD):
        abort(403)


def _eingang_or_404(eingang_id: int) -> Eingang:
    eingang = triage.find_eingang(eingang_id)
    if eingang is None:
        abort(404)
    return eingang


def _fachbereiche() -> list[tuple[int, str]]:
    return [(fb.id, fb.name) for fb in db.session.scalars(
        select(Fachbereich).order_by(Fachbereich.name))]


def _caseworkers() -> list[tuple[int, str]]:
    staff_members = db.session.scalars(select(Staff).where(Staff.active.is_(True))
                                       .order_by(Staff.full_name))
    return [(member.id, f"{member.full_name} ({', '.join(fb.name for fb in member.fachbereiche)})")
            for member in staff_members
            if member.fachbereiche and member.has_role(Role.CASEWORKER)]


def _clerks() -> list[tuple[int, str]]:
    # One statement: the role filter runs in SQL, not by loading every colleague's roles.
    return [(ident, name) for ident, name in db.session.execute(
        select(Staff.id, Staff.full_name).where(
            Staff.active.is_(True),
            select(StaffRole.staff_id).where(StaffRole.staff_id == Staff.id,
                                             StaffRole.role.in_(CLEARING_ROLES)).exists())
        .order_by(Staff.full_name))]


def _services() -> dict[str, str]:
    # A read: never seeds or commits on a GET (rules.py says where seeding happens).
    labels = rules.service_labels()
    for code in queue.service_codes_in_use():
        labels.setdefault(code, code)
    return labels


def _flash_refusal(refusal: triage.ClearingError) -> None:
    flash(str(refusal.message), "error")


def _template_context() -> dict[str, Any]:
    return {"kind_labels": queue.KIND_LABELS, "status_labels": queue.STATUS_LABELS,
            "rejection_labels": REJECTION_LABELS, "waiting_limit": queue.WAITING_LIMIT_WORKING_DAYS,
            "berlin": BERLIN, "status_badge": status_badge}


def _render(template: str, **context: Any) -> str:
    return render_template(template, **{**_template_context(), **context})


# --- the queue ----------------------------------------------------------------------------------


@bp.get("/")
def index() -> ResponseReturnValue:
    services = _services()
    form = QueueFilterForm(request.args, services=services)
    queue_filter = queue.QueueFilter()
    if form.validate():
        queue_filter = queue.QueueFilter(kind=kind_value(form.kind.data),
                                         service_code=form.service.data or None,
                                         status=status_value(form.status.data),
                                         min_age=form.min_age.data)
    cursor = queue.Cursor.decode(request.args.get("nach"))
    page = queue.queue_page(queue_filter, cursor, _state())
    counts = queue.open_counts(queue_filter, _state())
    filter_args = {name: str(form[name].raw_data[0]) for name in ("kind", "service", "status",
                                                                  "min_age")
                   if form[name].raw_data and form[name].raw_data[0]}
    next_args = ({**filter_args, "nach": page.next_cursor.encode()}
                 if page.next_cursor else None)
    # The rows' checkboxes are plain inputs in the template (named like bulk_form's fields);
    # the form object only carries the CSRF token and the action fields.
    bulk = bulk_form([], fachbereiche=_fachbereiche() if page.items else [],
                     clerks=_clerks() if page.items else [], formdata=None)
    today, state = berlin_today(), _state()
    ages = {item.id: queue.age_in_working_days(item.received_at, state, today)
            for item in page.items}
    # 50 rows: resolve each translated label once per request instead of once per row (lazy
    # strings and gettext go through Babel's lookup every time), and format the times once.
    # "dd.MM.yyyy HH:mm" is all digits, so strftime in Berlin time gives what the `date`
    # filter gives, in every locale.
    received = {item.id: item.received_at.astimezone(BERLIN).strftime("%d.%m.%Y %H:%M")
                for item in page.items}
    texts = QueueTexts(
        kinds={kind: str(label) for kind, label in queue.KIND_LABELS.items()},
        services=services, badges=BadgeLabels.current(queue.STATUS_LABELS),
        select=_("Select item %(number)s"), overdue=_("overdue"),
        detail_prefix=url_for("clearing.index"), waiting_limit=queue.WAITING_LIMIT_WORKING_DAYS)
    return _render("clearing/index.html", form=form, items=page.items, counts=counts,
                   rows=queue_rows(page.items, ages, received, texts),
                   filter_args=filter_args, next_args=next_args, paged=cursor is not None,
                   bulk=bulk, status_labels=texts.badges.status)


@bp.post("/sammelaktion")
def bulk_action() -> ResponseReturnValue:
    form = bulk_form(posted_item_ids(request.form.keys()), fachbereiche=_fachbereiche(),
                     clerks=_clerks())
    if not form.validate_on_submit():
        return _render("clearing/bulk_result.html", form=form, outcome=None), 400
    chosen = selected_items(form)
    if not chosen:
        form.form_errors.append(_("Select at least one item."))
        return _render("clearing/bulk_result.html", form=form, outcome=None), 400
    staff = _staff()
    if form.action.data == "assign":
        assignee = db.session.get(Staff, int(form.assignee.data)) if form.assignee.data else None
        if assignee is None:
            form.assignee.errors = [_("Choose a colleague.")]
            return _render("clearing/bulk_result.html", form=form, outcome=None), 400
        try:
            outcome = triage.bulk_assign(chosen, assignee, staff)
        except triage.ClearingError as refusal:
            form.assignee.errors = [str(refusal.message)]
            return _render("clearing/bulk_result.html", form=form, outcome=None), 400
    else:
        fachbereich_id = int(form.fachbereich.data) if form.fachbereich.data else None
        outcome = triage.bulk_route(chosen, fachbereich_id, staff)
    db.session.commit()
    return _render("clearing/bulk_result.html", form=form, outcome=outcome)


# --- one item -----------------------------------------------------------------------------------


@bp.get("/<int:eingang_id>")
def detail(eingang_id: int) -> ResponseReturnValue:
    eingang = _eingang_or_404(eingang_id)
    staff = _staff()
    mine = eingang.status is EingangStatus.IN_TRIAGE and eingang.claimed_by_id == staff.id
    # Claim first: the answers and documents are shown to the clerk working on the item (and
    # for the record once it is done), not to everyone browsing the queue.
    show_content = mine or not eingang.is_open
    context: dict[str, Any] = {
        "eingang": eingang, "mine": mine, "show_content": show_content,
        "history": queue.history_of(eingang), "action_labels": ACTION_LABELS,
        "readable": _readable, "service_label": _services().get(eingang.service_code or "", ""),
        "proposal": rules.proposed_fachbereich(eingang.service_code),
        "age": queue.age_in_working_days(eingang.received_at, _state()),
        "is_lead": staff.has_role(Role.LEAD),
    }
    if show_content:
        context["others"] = queue.other_items_of_sender(eingang)
        context["matches"] = _matches(eingang)
        context["answer_tree"] = _answer_tree(eingang.payload.get("answers"))
    return _render("clearing/detail.html", **context)


def _matches(eingang: Eingang) -> list[Any]:
    from clearing.matching import find_matches

    return list(find_matches(eingang))


def _readable(value: dict[str, Any] | None) -> str:
    if value is None:
        return ""
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)


def _answer_tree(answers: Any, prefix: str = "") -> list[tuple[str, str]]:
    """Flatten the raw answers into readable label/value rows (when no summary was frozen)."""
    if isinstance(answers, dict):
        rows: list[tuple[str, str]] = []
        for key, value in answers.items():
            rows.extend(_answer_tree(value, f"{prefix}{key} › " if prefix or key else ""))
        return rows
    if isinstance(answers, list):
        rows = []
        for index, value in enumerate(answers, start=1):
            rows.extend(_answer_tree(value, f"{prefix}{index} › "))
        return rows
    if answers is None:
        return []
    return [(prefix.removesuffix(" › "), str(answers))]


@bp.post("/<int:eingang_id>/uebernehmen")
def claim(eingang_id: int) -> ResponseReturnValue:
    _eingang_or_404(eingang_id)
    try:
        triage.claim(eingang_id, _staff())
        db.session.commit()
    except triage.ClearingError as refusal:
        db.session.rollback()
        _flash_refusal(refusal)
    return redirect(url_for("clearing.detail", eingang_id=eingang_id))


@bp.post("/<int:eingang_id>/freigeben")
def release(eingang_id: int) -> ResponseReturnValue:
    _eingang_or_404(eingang_id)
    try:
        triage.release(eingang_id, _staff())
        db.session.commit()
        flash(_("The item is back in the queue."), "success")
    except triage.ClearingError as refusal:
        db.session.rollback()
        _flash_refusal(refusal)
    return redirect(url_for("clearing.detail", eingang_id=eingang_id))


def _action_page(eingang: Eingang, template: str, form: Any, status: int = 200,
                 **context: Any) -> ResponseReturnValue:
    if request.method == "GET":
        form.version.data = str(eingang.version)
    return _render(template, eingang=eingang, form=form, **context), status


def _refused(eingang_id: int, refusal: triage.ClearingError) -> ResponseReturnValue:
    db.session.rollback()
    if isinstance(refusal, triage.EingangNotFound):
        abort(404)
    _flash_refusal(refusal)
    return redirect(url_for("clearing.detail", eingang_id=eingang_id))


_REFUSALS = (triage.StaleVersion, triage.AlreadyDone, triage.HeldByOther, triage.NotClaimed,
             triage.EingangNotFound)


def _perform(eingang_id: int, action: Callable[[], object], *, form: FlaskForm, template: str,
             done: str, then: str) -> ResponseReturnValue:
    """Run one triage action in its transaction: a refusal about the item's state goes back to
    the item with its reason, a refusal about the input stays on the form, success commits."""
    try:
        action()
    except _REFUSALS as refusal:
        return _refused(eingang_id, refusal)
    except triage.ClearingError as refusal:
        db.session.rollback()
        form.form_errors.append(str(refusal.message))
        return _action_page(_eingang_or_404(eingang_id), template, form, 400)
    db.session.commit()
    flash(done, "success")
    return redirect(then)


@bp.route("/<int:eingang_id>/weiterleiten", methods=["GET", "POST"])
def route(eingang_id: int) -> ResponseReturnValue:
    eingang = _eingang_or_404(eingang_id)
    form = RouteForm(fachbereiche=_fachbereiche(), caseworkers=_caseworkers())
    proposal = rules.proposed_fachbereich(eingang.service_code)
    if request.method == "GET" and proposal is not None:
        form.fachbereich.data = str(proposal.id)
    if not form.validate_on_submit():
        return _action_page(eingang, "clearing/route.html", form,
                            400 if request.method == "POST" else 200)
    fall_id = _case_id(form)
    if form.aktenzeichen.errors:
        return _action_page(eingang, "clearing/route.html", form, 400)
    target = triage.RouteTarget(fachbereich_id=int(form.fachbereich.data),
                                fall_id=fall_id,
                                caseworker_id=int(form.caseworker.data)
                                if form.caseworker.data else None)
    return _perform(eingang_id,
                    lambda: triage.route(eingang_id, form.version_number, target, _staff()),
                    form=form, template="clearing/route.html",
                    done=_("The item has been routed."),
                    then=url_for("clearing.detail", eingang_id=eingang_id))


def _case_id(form: RouteForm) -> int | None:
    """The case the clerk named by its Aktenzeichen, looked up in the chosen Fachbereich."""
    raw = (form.aktenzeichen.data or "").strip()
    if not raw:
        return None
    facts = case_by_aktenzeichen(raw, fachbereich_ids=[int(form.fachbereich.data)])
    if facts is None:
        form.aktenzeichen.errors = [_("There is no case with this Aktenzeichen in the chosen "
                                      "Fachbereich.")]
        return None
    return facts.fall_id


@bp.route("/<int:eingang_id>/nachfordern", methods=["GET", "POST"])
def request_information(eingang_id: int) -> ResponseReturnValue:
    eingang = _eingang_or_404(eingang_id)
    form = RequestForm()
    if not form.validate_on_submit():
        return _action_page(eingang, "clearing/request.html", form,
                            400 if request.method == "POST" else 200)
    return _perform(eingang_id,
                    lambda: triage.request_information(eingang_id, form.version_number,
                                                       (form.subject.data or "").strip(),
                                                       (form.body.data or "").strip(), _staff()),
                    form=form, template="clearing/request.html",
                    done=_("The citizen has been asked. The item waits for the answer."),
                    then=url_for("clearing.index"))


@bp.route("/<int:eingang_id>/ablehnen", methods=["GET", "POST"])
def reject(eingang_id: int) -> ResponseReturnValue:
    eingang = _eingang_or_404(eingang_id)
    form = RejectForm()
    if not form.validate_on_submit():
        return _action_page(eingang, "clearing/reject.html", form,
                            400 if request.method == "POST" else 200)
    letter = (form.letter.data or "").strip() if form.send_letter.data else None
    return _perform(eingang_id,
                    lambda: triage.reject(eingang_id, form.version_number,
                                          RejectionReason(form.reason.data),
                                          form.text.data or "", letter, _staff()),
                    form=form, template="clearing/reject.html",
                    done=_("The item has been rejected."), then=url_for("clearing.index"))


def _document_or_404(eingang_id: int, document_id: int) -> EingangDocument:
    attached = db.session.scalar(select(EingangDocument).where(
        EingangDocument.eingang_id == eingang_id, EingangDocument.document_id == document_id))
    if attached is None:
        abort(404)
    return attached


@bp.get("/<int:eingang_id>/dokumente/<int:document_id>")
def document_download(eingang_id: int, document_id: int) -> ResponseReturnValue:
    return _document(eingang_id, document_id, inline=False)


@bp.get("/<int:eingang_id>/dokumente/<int:document_id>/ansehen")
def document_view(eingang_id: int, document_id: int) -> ResponseReturnValue:
    return _document(eingang_id, document_id, inline=True)


def _document(eingang_id: int, document_id: int, *, inline: bool) -> ResponseReturnValue:
    attached = _document_or_404(eingang_id, document_id)
    # § 35 SGB I: every read of social data by staff is logged, before the bytes leave.
    record_document_read(attached.document, staff_actor(_staff()))
    db.session.commit()
    return document_response(attached.document, inline=inline)


# --- paper intake -------------------------------------------------------------------------------


@bp.route("/papiereingang", methods=["GET", "POST"])
def paper_intake() -> ResponseReturnValue:
    form = PaperIntakeForm(services=_services())
    if not form.validate_on_submit():
        return _render("clearing/paper.html", form=form,
                       max_mb=_settings().max_upload_mb), 400 if request.method == "POST" else 200
    staff = _staff()
    assert form.received_on.data is not None  # required
    item = triage.PaperItem(
        letter_kind=EingangKind(form.letter_kind.data), service_code=form.service.data or None,
        sender_name=(form.sender_name.data or "").strip(),
        sender_address=(form.sender_address.data or "").strip(),
        sender_email=(form.sender_email.data or "").strip() or None,
        received_on=form.received_on.data, note=(form.note.data or "").strip())
    if item.received_on > berlin_today():
        form.received_on.errors = [_("The date of receipt cannot be in the future.")]
        return _render("clearing/paper.html", form=form, max_mb=_settings().max_upload_mb), 400
    scan = store_field_upload(form.scan, staff_actor(staff))
    if scan is None:
        db.session.rollback()
        return _render("clearing/paper.html", form=form, max_mb=_settings().max_upload_mb), 400
    eingang = triage.create_paper_eingang(item, scan, staff)
    db.session.commit()
    flash(_("The paper mail is in the queue as item %(number)s.", number=eingang.id), "success")
    return redirect(url_for("clearing.detail", eingang_id=eingang.id))


# --- routing rules (leads) ----------------------------------------------------------------------


@bp.get("/regeln")
def rules_list() -> ResponseReturnValue:
    _require_lead()
    if rules.missing_default_rules():
        # Seeding is a write, done once per database (normally by `amtsweg clearing
        # seed-rules` after `amtsweg db upgrade`); every later visit only reads.
        rules.ensure_default_rules()
        db.session.commit()
    return _render("clearing/rules.html", rules=rules.all_rules())


@bp.route("/regeln/<int:rule_id>", methods=["GET", "POST"])
def rule_edit(rule_id: int) -> ResponseReturnValue:
    _require_lead()
    rule = rules.find_rule(rule_id)
    if rule is None:
        abort(404)
    form = RuleForm(fachbereiche=_fachbereiche())
    if request.method == "GET":
        form.label.data = rule.label
        form.fachbereich.data = str(rule.fachbereich_id or "")
    if not form.validate_on_submit():
        return _render("clearing/rule_form.html", rule=rule, form=form), \
            400 if request.method == "POST" else 200
    fachbereich = (db.session.get(Fachbereich, int(form.fachbereich.data))
                   if form.fachbereich.data else None)
    rules.update_rule(rule, label=(form.label.data or "").strip(), fachbereich=fachbereich,
                      actor=staff_actor(_staff()))
    db.session.commit()
    flash(_("The routing rule has been saved."), "success")
    return redirect(url_for("clearing.rules_list"))


# --- the lead's overview ------------------------------------------------------------------------


@bp.get("/uebersicht")
def overview() -> ResponseReturnValue:
    _require_lead()
    return _render("clearing/overview.html",
                   per_day=queue.items_per_day_and_kind(14),
                   bands=queue.waiting_by_age_band(_state()),
                   durations=queue.routing_durations(30),
                   throughput=queue.throughput_per_clerk(4))


def _add_navigation(state: BlueprintSetupState) -> None:
    app = state.app
    assert isinstance(app, Flask)
    add_staff_item(app, "clearing.index", _l("Clearing"), CLEARING_ROLES)
    add_staff_item(app, "clearing.overview", _l("Clearing overview"), (Role.LEAD,))


# The guard first (anonymous and citizens go to the staff login), then the role check (403).
guard_staff_blueprint(bp)
bp.before_request(require_clearing_role)
bp.record_once(_add_navigation)
