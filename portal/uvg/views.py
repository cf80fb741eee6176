"""The online application for Unterhaltsvorschuss: question pages, documents, check, submit.

Every page after the start page belongs to one draft, found by its public id and the signed-in
citizen; a foreign, unknown or malformed id answers 404. Each page saves the draft; "save and
continue later" keeps whatever is valid and leaves.
"""

from __future__ import annotations

import copy
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import format_date
from flask_wtf import FlaskForm
from sqlalchemy import select

from amtsweg.citizens.models import Citizen
from amtsweg.clock import berlin_today
from amtsweg.extensions import db
from amtsweg.sessions import citizen_actor, current_citizen, guard_citizen_blueprint
from amtsweg.translate import gettext as _
from amtsweg.translate import lazy_gettext as _l
from amtsweg.uploads import accepts_files
from portal import drafts
from portal.catalogue import Leistung, register
from portal.models import Draft, Submission
from portal.services import find_by_idempotency_key, receipt_response
from portal.uvg import rules, summary
from portal.uvg.forms import (
    ChildForm,
    ContinueForm,
    StepContext,
    StepForm,
    documents_form_class,
    field_name,
)
from portal.uvg.services import SERVICE_CODE, remove_child, submit_application
from portal.uvg.steps import (
    DOCUMENTS_SLUG,
    FORM_STEPS,
    STEPS_BY_SLUG,
    Step,
    collect,
    form_data,
    stored,
)
from storage.forms import store_field_upload
from storage.services import document_response

bp = Blueprint("uvg_antrag", __name__, url_prefix="/antrag/unterhaltsvorschuss")

register(Leistung(
    code=SERVICE_CODE,
    title=_l("Unterhaltsvorschuss"),
    fachbereich_code="uvg",
    summary=_l("Money for a child who lives with one parent when the other parent pays no or "
               "too little maintenance."),
    who_can_apply=_l("The parent the child lives with, for a child under 18 living in Germany."),
    documents=(_l("Birth certificate of each child"), _l("Meldebescheinigung"),
               _l("Proof of separation or divorce, if any"),
               _l("Proof of maintenance payments, if any")),
    how_to_apply=_l("Online in about 20 minutes; you can save and continue later."),
    form_endpoint="uvg_antrag.start",
    keywords=("UVG", "Unterhalt", "Alleinerziehend"),
))

RETURN_TO_CHECK = "pruefen"
SAVE_LATER = "save_later"


# --- helpers ----------------------------------------------------------------------------------


def _citizen() -> Citizen:
    citizen = current_citizen()
    assert citizen is not None  # guard_citizen_blueprint let only signed-in citizens through
    return citizen


def _draft(public_id: str) -> Draft:
    draft = drafts.find_draft(public_id, _citizen().id, SERVICE_CODE)
    if draft is None:
        abort(404)
    return draft


def _answers(draft: Draft | None) -> dict[str, Any]:
    return copy.deepcopy(draft.answers) if draft is not None else {}


def _context(answers: dict[str, Any], child: dict[str, Any] | None = None) -> StepContext:
    return StepContext(answers, berlin_today(), child, _citizen().email)


def _returning() -> bool:
    return request.args.get("zurueck") == RETURN_TO_CHECK


def _step_url(draft: Draft, step: rules.StepRef, **extra: Any) -> str:
    if step.key == "children":
        return url_for(".children", public_id=draft.public_id, **extra)
    if step.key == "person":
        return url_for(".child", public_id=draft.public_id, child_id=step.child_id, **extra)
    if step.key == "documents":
        return url_for(".documents", public_id=draft.public_id, **extra)
    slug = FORM_STEPS[step.key].slug
    if step.child_id is not None:
        return url_for(".child_step", public_id=draft.public_id, slug=slug,
                       child_id=step.child_id, **extra)
    return url_for(".step", public_id=draft.public_id, slug=slug, **extra)


def _page_steps(answers: dict[str, Any]) -> list[rules.StepRef]:
    # The children's own pages are reached from the list of children, not in the line.
    return [step for step in rules.step_sequence(answers, berlin_today())
            if step.key != "person"]


def _next_url(draft: Draft, current: str) -> str:
    if _returning():
        return url_for(".check", public_id=draft.public_id)
    steps = _page_steps(draft.answers)
    ids = [step.id for step in steps]
    if current.startswith("person:"):
        return url_for(".children", public_id=draft.public_id)
    position = ids.index(current) if current in ids else -1
    if position + 1 < len(steps):
        return _step_url(draft, steps[position + 1])
    return url_for(".check", public_id=draft.public_id)


def _back_url(draft: Draft | None, current: str) -> str:
    if draft is None:
        return url_for(".start")
    if _returning():
        return url_for(".check", public_id=draft.public_id)
    if current.startswith("person:") or current == "children":
        return (url_for(".children", public_id=draft.public_id) if current != "children"
                else url_for(".start"))
    steps = _page_steps(draft.answers)
    ids = [step.id for step in steps]
    position = ids.index(current) if current in ids else len(steps)
    if position > 0:
        return _step_url(draft, steps[position - 1])
    return url_for(".start")


def _overview_url() -> str:
    # "Meine Anträge" of the portal lists drafts; the account page is the fallback.
    endpoint = ("portal.submissions" if "portal.submissions" in current_app.view_functions
                else "citizens.account")
    return url_for(endpoint)


def _saved_for_later(draft: Draft) -> ResponseReturnValue:
    flash(_("Your application has been saved. You can continue it until %(date)s.",
            date=format_date(draft.expires_at, "dd.MM.yyyy")), "success")
    return redirect(_overview_url())


def _mark_done(answers: dict[str, Any], step_id: str) -> None:
    done = rules.done_steps(answers)
    done.add(step_id)
    answers["done"] = sorted(done)


def _mark_open(answers: dict[str, Any], step_id: str) -> None:
    answers["done"] = sorted(rules.done_steps(answers) - {step_id})


def _put(answers: dict[str, Any], step: Step, child_id: str | None,
         values: dict[str, Any]) -> None:
    if not step.per_child:
        answers[step.key] = values
        return
    child = rules.find_child(answers, child_id or "")
    if child is None:
        child = {"id": child_id}
        answers.setdefault("children", []).append(child)
    child[step.key] = values


def _save(draft: Draft | None, answers: dict[str, Any], step_id: str) -> Draft:
    actor = citizen_actor(_citizen())
    if draft is None:
        return drafts.create_draft(_citizen(), SERVICE_CODE, answers, step_id, actor)
    drafts.save_answers(draft, answers, step_id, actor)
    return draft


def _new_child_id(answers: dict[str, Any]) -> str:
    number = int(answers.get("next_child") or 1)
    answers["next_child"] = number + 1
    return f"k{number}"


# --- the question pages -----------------------------------------------------------------------


def _form_page(draft: Draft | None, step: Step, child_id: str | None) -> ResponseReturnValue:
    answers = _answers(draft)
    child = rules.find_child(answers, child_id) if child_id else None
    if child_id and child is None:
        abort(404)
    context = _context(answers, child)
    values = stored(answers, step, child)
    form: StepForm
    if request.method == "POST":
        form = step.form()
    else:
        prefill = step.form.prefill(context)
        form = step.form(data={**prefill, **form_data(step.form, values)})
    form.setup(context)
    step_id = step.key if child_id is None else f"{step.key}:{child_id}"
    if request.method == "POST":
        valid = form.validate()
        valid = form.check(context) and valid
        if request.form.get("action") == SAVE_LATER:
            return _save_valid_part(draft, answers, step, child_id, step_id, form, values, valid)
        if valid:
            _put(answers, step, child_id, collect(form, only_valid=False))
            _mark_done(answers, step_id)
            draft = _save(draft, answers, step_id)
            return redirect(_next_url(draft, step_id))
    return _render_step(form, step, draft, _back_url(draft, step_id),
                        context.child_name if child else "")


def _render_step(form: StepForm, step: Step, draft: Draft | None, back_url: str,
                 child_name: str = "") -> ResponseReturnValue:
    return render_template("portal/uvg/step.html", form=form, step=step, draft=draft,
                           child_name=child_name, back_url=back_url)


def _save_valid_part(draft: Draft | None, answers: dict[str, Any], step: Step,
                     child_id: str | None, step_id: str, form: StepForm,
                     values: dict[str, Any], valid: bool) -> ResponseReturnValue:
    """Keep the answers that passed their checks; the page stays open until all do."""
    kept = {**values, **collect(form, only_valid=True)}
    _put(answers, step, child_id, kept)
    if valid:
        _mark_done(answers, step_id)
    else:
        _mark_open(answers, step_id)
    return _saved_for_later(_save(draft, answers, step_id))


@bp.get("/")
def start() -> ResponseReturnValue:
    return render_template("portal/uvg/start.html")


@bp.route("/neu", methods=["GET", "POST"])
def new_application() -> ResponseReturnValue:
    """The first child's page; the draft is created when it is first saved."""
    return _new_child(None)


@bp.get("/<public_id>")
def resume(public_id: str) -> ResponseReturnValue:
    draft = _draft(public_id)
    step = rules.first_open_step(draft.answers, berlin_today())
    if step is None:
        return redirect(url_for(".check", public_id=public_id))
    return redirect(_step_url(draft, step))


@bp.route("/<public_id>/kinder", methods=["GET", "POST"])
def children(public_id: str) -> ResponseReturnValue:
    draft = _draft(public_id)
    answers = _answers(draft)
    form = ContinueForm()
    incomplete = [child for child in rules.children(answers)
                  if f"person:{child['id']}" not in rules.done_steps(answers)]
    if form.validate_on_submit():
        if request.form.get("action") == SAVE_LATER:
            return _saved_for_later(draft)
        if not rules.children(answers):
            form.form_errors.append(_("Add at least one child."))
        for child in incomplete:
            form.form_errors.append(_("Complete the details of %(name)s.",
                                      name=summary.child_name(answers, str(child["id"]))))
        if not form.form_errors:
            _mark_done(answers, "children")
            _save(draft, answers, "children")
            return redirect(_next_url(draft, "children"))
    notes = [note for note in rules.eligibility_notes(answers, berlin_today())
             if note.code == "adult"]
    return render_template("portal/uvg/children.html", form=form, draft=draft,
                           children=rules.children(answers), answers=answers,
                           incomplete={str(child["id"]) for child in incomplete},
                           notes=[summary.note_text(answers, note) for note in notes],
                           child_name=summary.child_name, has_errors=bool(form.form_errors),
                           born={str(child["id"]): rules.parse_iso(
                               rules.child_part(child, "person").get("birth_date"))
                               for child in rules.children(answers)},
                           back_url=url_for(".start"))


@bp.route("/<public_id>/kind/neu", methods=["GET", "POST"])
def add_child(public_id: str) -> ResponseReturnValue:
    return _new_child(_draft(public_id))


def _new_child(draft: Draft | None) -> ResponseReturnValue:
    step = FORM_STEPS["person"]
    back_url = (url_for(".start") if draft is None
                else url_for(".children", public_id=draft.public_id))
    form = ChildForm()
    if request.method == "GET":
        return _render_step(form, step, draft, back_url)
    answers = _answers(draft)
    child_id = _new_child_id(answers)  # stored with the child; a refused form stores nothing
    valid = form.validate()
    valid = form.check(_context(answers)) and valid
    step_id = f"person:{child_id}"
    if request.form.get("action") == SAVE_LATER:
        if draft is None and not _has_answer(collect(form, only_valid=True)):
            return _nothing_to_save(form, step, back_url)
        return _save_valid_part(draft, answers, step, child_id, step_id, form, {}, valid)
    if not valid:
        return _render_step(form, step, draft, back_url)
    _put(answers, step, child_id, collect(form, only_valid=False))
    _mark_done(answers, step_id)
    _mark_open(answers, "children")
    draft = _save(draft, answers, step_id)
    return redirect(url_for(".children", public_id=draft.public_id))


def _has_answer(values: dict[str, Any]) -> bool:
    return any(value not in (None, "", False) for value in values.values())


def _nothing_to_save(form: StepForm, step: Step, back_url: str) -> ResponseReturnValue:
    """The button "save and continue later" on the first page, before any answer passed its
    checks: there is no draft to keep yet."""
    typed = any(isinstance(value, str) and value.strip()
                for field in form.answer_fields() for value in field.raw_data or ())
    if not typed:
        flash(_("Nothing was saved: you had not entered anything yet."), "info")
        return redirect(_overview_url())
    # Leaving now would lose what was typed: the page stays, with what is wrong marked.
    flash(_("Nothing has been saved yet. Correct the entries marked below to save them."),
          "info")
    return _render_step(form, step, None, back_url)


@bp.route("/<public_id>/kind/<child_id>", methods=["GET", "POST"])
def child(public_id: str, child_id: str) -> ResponseReturnValue:
    draft = _draft(public_id)
    if rules.find_child(draft.answers, child_id) is None:
        abort(404)
    return _form_page(draft, FORM_STEPS["person"], child_id)


@bp.post("/<public_id>/kind/<child_id>/entfernen")
def delete_child(public_id: str, child_id: str) -> ResponseReturnValue:
    draft = _draft(public_id)
    form = ContinueForm()
    if rules.find_child(draft.answers, child_id) is None or not form.validate_on_submit():
        abort(404)
    remove_child(draft, child_id, citizen_actor(_citizen()))
    flash(_("The child has been removed from the application."), "success")
    return redirect(url_for(".children", public_id=public_id))


@bp.route("/<public_id>/<slug>", methods=["GET", "POST"])
def step(public_id: str, slug: str) -> ResponseReturnValue:
    definition = STEPS_BY_SLUG.get(slug)
    if definition is None or definition.per_child:
        abort(404)
    return _form_page(_draft(public_id), definition, None)


@bp.route("/<public_id>/<slug>/<child_id>", methods=["GET", "POST"])
def child_step(public_id: str, slug: str, child_id: str) -> ResponseReturnValue:
    definition = STEPS_BY_SLUG.get(slug)
    if definition is None or not definition.per_child or definition.key == "person":
        abort(404)
    draft = _draft(public_id)
    found = rules.find_child(draft.answers, child_id)
    if found is None:
        abort(404)
    today = berlin_today()
    applies = (rules.asks_sgb2(found, today) if definition.key == "sgb2"
               else rules.asks_school(found, today))
    if not applies:
        # The question no longer applies (e.g. the birth date was corrected): go on.
        return redirect(url_for(".resume", public_id=public_id))
    return _form_page(draft, definition, child_id)


# --- documents --------------------------------------------------------------------------------


# One POST of the documents page may carry this many files (each within the one-file limit);
# with more documents required, the citizen simply sends them in two rounds.
MAX_FILES_PER_POST = 10


def _documents_form(draft: Draft) -> tuple[FlaskForm, list[tuple[rules.Requirement, str]]]:
    requirements = rules.required_documents(draft.answers, berlin_today())
    labelled = [(requirement, summary.requirement_label(draft.answers, requirement))
                for requirement in requirements]
    later = set(draft.answers.get("documents_later") or [])
    return documents_form_class(labelled, later)(), labelled


@bp.route(f"/<public_id>/{DOCUMENTS_SLUG}", methods=["GET", "POST"])
@accepts_files(MAX_FILES_PER_POST)
def documents(public_id: str) -> ResponseReturnValue:
    draft = _draft(public_id)
    form, labelled = _documents_form(draft)
    if form.validate_on_submit():
        actor = citizen_actor(_citizen())
        refused = False
        for requirement, _label in labelled:
            file_field = form[field_name("file", requirement)]
            if not getattr(file_field.data, "filename", None):
                continue
            # One flush for all files of the page and its answers: at the commit below.
            document = store_field_upload(file_field, actor, flush=False)
            if document is None:  # refused before anything was written; the reason is on the field
                refused = True
                continue
            drafts.attach_document(draft, document, requirement.key, actor)
        answers = _answers(draft)
        answers["documents_later"] = [requirement.key for requirement, _label in labelled
                                      if form[field_name("later", requirement)].data]
        continuing = request.form.get("action") == "continue"
        if continuing and not refused:
            _mark_done(answers, "documents")
        drafts.save_answers(draft, answers, "documents", actor)
        if request.form.get("action") == SAVE_LATER:
            return _saved_for_later(draft)
        if not refused:
            if continuing:
                return redirect(_next_url(draft, "documents"))
            flash(_("The file has been added."), "success")
            return redirect(url_for(".documents", public_id=public_id, **_return_args()))
    files: dict[str, list[Any]] = {}
    for item in draft.documents:
        files.setdefault(item.requirement, []).append(item)
    return render_template("portal/uvg/documents.html", form=form, draft=draft,
                           labelled=labelled, files=files, field_name=field_name,
                           max_mb=current_app.config["AMTSWEG"].max_upload_mb,
                           back_url=_back_url(draft, "documents"), returning=_returning())


def _return_args() -> dict[str, Any]:
    return {"zurueck": RETURN_TO_CHECK} if _returning() else {}


@bp.post(f"/<public_id>/{DOCUMENTS_SLUG}/<int:item_id>/entfernen")
def remove_document(public_id: str, item_id: int) -> ResponseReturnValue:
    draft = _draft(public_id)
    item = drafts.find_draft_document(draft, item_id)
    if item is None or not ContinueForm().validate_on_submit():
        abort(404)
    drafts.remove_document(draft, item, citizen_actor(_citizen()))
    flash(_("The file has been removed."), "success")
    return redirect(url_for(".documents", public_id=public_id, **_return_args()))


@bp.get(f"/<public_id>/{DOCUMENTS_SLUG}/<int:item_id>")
def document(public_id: str, item_id: int) -> ResponseReturnValue:
    draft = _draft(public_id)
    item = drafts.find_draft_document(draft, item_id)
    if item is None:
        abort(404)
    return document_response(item.document)


# --- check answers, submit, confirmation ------------------------------------------------------


def _check_page(draft: Draft, form: FlaskForm, missing: list[str]) -> ResponseReturnValue:
    today = berlin_today()
    answers = draft.answers
    return render_template(
        "portal/uvg/check.html", form=form, draft=draft,
        groups=summary.build_groups(answers, today, _citizen().email),
        files=[(summary.label_for_key(answers, item.requirement), item)
               for item in draft.documents],
        outstanding=summary.outstanding_documents(draft, today), missing=missing,
        notes=[summary.note_text(answers, note)
               for note in rules.eligibility_notes(answers, today)],
        change_url=_change_url, has_errors=bool(missing),
        back_url=_back_url(draft, "declarations"))


def _change_url(draft: Draft, entry: summary.Entry) -> str:
    assert entry.step is not None
    return _step_url(draft, rules.StepRef(entry.step.key, entry.child_id),
                     zurueck=RETURN_TO_CHECK)


@bp.get("/<public_id>/pruefen")
def check(public_id: str) -> ResponseReturnValue:
    draft = _draft(public_id)
    open_step = rules.first_open_step(draft.answers, berlin_today())
    if open_step is not None:
        flash(_("Please answer these questions first."), "info")
        return redirect(_step_url(draft, open_step))
    return _check_page(draft, ContinueForm(), [])


@bp.post("/<public_id>/absenden")
def submit(public_id: str) -> ResponseReturnValue:
    citizen = _citizen()
    draft = drafts.find_draft(public_id, citizen.id, SERVICE_CODE)
    if draft is None:
        # Sent already (a double click, the back button, a replayed form): the same one result.
        return redirect(_confirmation_url(_own_submission_for_draft(public_id, citizen)))
    form = ContinueForm()
    if not form.validate_on_submit():
        abort(400)
    today = berlin_today()
    open_step = rules.first_open_step(draft.answers, today)
    if open_step is not None:
        flash(_("Please answer these questions first."), "info")
        return redirect(_step_url(draft, open_step))
    missing = summary.missing_documents(draft, today)
    if missing:
        for label in missing:
            form.form_errors.append(_("Upload this document or tick \"I will send this document "
                                      "later\": %(label)s", label=label))
        return _check_page(draft, form, missing)
    submission = submit_application(draft, citizen, today)
    if submission is None:
        abort(404)
    return redirect(_confirmation_url(submission))


def _own_submission_for_draft(public_id: str, citizen: Citizen) -> Submission:
    submission = find_by_idempotency_key(public_id) if drafts.is_public_id(public_id) else None
    if submission is None or submission.citizen_id != citizen.id:
        abort(404)
    return submission


def _confirmation_url(submission: Submission) -> str:
    if "portal.confirmation" in current_app.view_functions:
        return url_for("portal.confirmation", public_id=submission.public_id)
    return url_for(".confirmation", public_id=submission.public_id)


def _own_submission(public_id: str) -> Submission:
    if not drafts.is_public_id(public_id):
        abort(404)
    found = db.session.scalar(select(Submission).where(
        Submission.public_id == public_id, Submission.citizen_id == _citizen().id))
    if found is None:
        abort(404)
    return found


@bp.get("/eingereicht/<public_id>")
def confirmation(public_id: str) -> ResponseReturnValue:
    """Shown when the portal has no confirmation page of its own; works when bookmarked."""
    return render_template("portal/uvg/confirmation.html", submission=_own_submission(public_id))


@bp.get("/eingereicht/<public_id>/eingangsbestaetigung.pdf")
def receipt(public_id: str) -> ResponseReturnValue:
    return receipt_response(_own_submission(public_id))


# --- deleting a draft -------------------------------------------------------------------------


@bp.route("/<public_id>/loeschen", methods=["GET", "POST"])
def delete_draft(public_id: str) -> ResponseReturnValue:
    draft = _draft(public_id)
    form = ContinueForm()
    if form.validate_on_submit():
        drafts.delete_draft(draft, citizen_actor(_citizen()))
        flash(_("The application and its files have been deleted."), "success")
        return redirect(_overview_url())
    return render_template("portal/uvg/delete.html", form=form, draft=draft,
                           back_url=url_for(".resume", public_id=public_id))


guard_citizen_blueprint(bp, public_endpoints=("start",))
