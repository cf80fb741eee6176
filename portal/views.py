"""The citizen portal's core pages: the service catalogue (public), the general request,
"Meine Anträge" with follow-ups, confirmations and receipts, and the postbox.

Everything under /konto belongs to the signed-in citizen only: each lookup is by public id AND
the citizen's id, and anything else (someone else's, unknown, malformed) answers 404, so ids
of other people's things leak nothing, not even that they exist.
"""

from __future__ import annotations

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
from sqlalchemy import select

from amtsweg import navigation
from amtsweg.citizens.models import Citizen
from amtsweg.config import Settings
from amtsweg.extensions import db
from amtsweg.postbox import services as postbox
from amtsweg.postbox.models import PostboxMessage
from amtsweg.sessions import citizen_actor, current_citizen, guard_citizen_blueprint
from amtsweg.translate import gettext as _
from amtsweg.translate import lazy_gettext as _l
from amtsweg.uploads import accepts_files
from portal import followups
from portal.catalogue import Leistung, all_leistungen, get_leistung
from portal.drafts import drafts_of
from portal.forms import (
    MAX_ATTACHMENTS,
    GeneralRequestForm,
    IdempotentForm,
    MessageForm,
    NachreichungForm,
    ReplyForm,
    VeraenderungForm,
    WiderspruchForm,
    chosen_files,
)
from portal.leistungen import register_all
from portal.models import Draft, Submission, SubmissionDocument
from portal.services import new_public_id, receipt_response
from portal.status import (
    KIND_WORDS,
    bescheide_for,
    bescheide_since,
    decided_by,
    latest_bescheid_named,
    objection_to,
    rejection_letter,
    rejection_reason,
    submission_status,
    timeline,
)
from storage.models import Document
from storage.services import document_response

bp = Blueprint("portal", __name__)
guard_citizen_blueprint(bp, public_endpoints=("catalogue", "leistung"))
register_all()

# Drafts of these services can be continued in their own wizard (endpoint takes public_id).
RESUME_ENDPOINTS = {"uvg": "uvg_antrag.resume"}


class PostboxLabel:
    """The navigation label "Postfach", with the number of unread messages when there are any."""

    def __str__(self) -> str:
        citizen = current_citizen()
        unread = postbox.unread_count(citizen.id) if citizen is not None else 0
        if unread:
            return str(_("Postbox (%(count)s new)", count=unread))
        return str(_("Postbox"))


def _setup(state: BlueprintSetupState) -> None:
    app = state.app
    assert isinstance(app, Flask)
    navigation.add_citizen_item(app, "portal.submissions", _l("My applications"))
    navigation.add_citizen_item(app, "portal.postbox", PostboxLabel())


bp.record_once(_setup)


def _settings() -> Settings:
    settings: Settings = current_app.config["AMTSWEG"]
    return settings


def _signed_in() -> Citizen:
    citizen = current_citizen()
    assert citizen is not None  # guard_citizen_blueprint let only signed-in citizens through
    return citizen


def _render(template: str, **context: Any) -> ResponseReturnValue:
    return render_template(template, max_mb=_settings().max_upload_mb,
                           max_files=MAX_ATTACHMENTS, **context)


# --- catalogue (public) ------------------------------------------------------------------------


def _start_url(leistung: Leistung) -> str:
    endpoint = leistung.form_endpoint
    if endpoint and endpoint in current_app.view_functions:
        return url_for(endpoint)
    return url_for("portal.general_request", leistung=leistung.code)


@bp.get("/leistungen")
def catalogue() -> ResponseReturnValue:
    leistungen = all_leistungen()
    return render_template("portal/catalogue.html", leistungen=leistungen,
                           start_urls={item.code: _start_url(item) for item in leistungen})


@bp.get("/leistungen/<code>")
def leistung(code: str) -> ResponseReturnValue:
    found = get_leistung(code)
    if found is None:
        abort(404)
    return render_template("portal/leistung.html", leistung=found, start_url=_start_url(found))


# --- sending -----------------------------------------------------------------------------------


def _key(form: IdempotentForm) -> str:
    return str(form.idempotency_key.data or "")


def _prepare_key(form: IdempotentForm) -> None:
    """A fresh one-time key on first display, and after a tampered or missing one."""
    if not form.is_submitted() or form.idempotency_key.errors:
        form.idempotency_key.data = new_public_id()


def _send_or_errors(form: IdempotentForm, sending: Callable[[], Submission]
                    ) -> ResponseReturnValue | None:
    """Send once; a replay goes to what was sent; a refused file goes back onto the form."""
    citizen = _signed_in()
    already = followups.already_sent(citizen, _key(form))
    if already is not None:
        flash(_("You had already sent this. It reached us once."), "info")
        return redirect(url_for("portal.confirmation", public_id=already.public_id))
    try:
        submission = sending()
    except followups.RefusedFiles as refused:
        form.attachments.errors = [*form.attachments.errors, *refused.reasons]
        return None
    return redirect(url_for("portal.confirmation", public_id=submission.public_id))


@bp.route("/anfrage", methods=["GET", "POST"])
@accepts_files(MAX_ATTACHMENTS)
def general_request() -> ResponseReturnValue:
    form = GeneralRequestForm()
    if not form.is_submitted():
        preselected = get_leistung(request.args.get("leistung"))
        if preselected is not None:
            form.topic.data = f"leistung:{preselected.code}"
    if form.validate_on_submit():
        citizen = _signed_in()
        outgoing = followups.general_request(str(form.topic.data), str(form.subject.data),
                                             str(form.message.data), str(form.phone.data or ""))
        response = _send_or_errors(form, lambda: followups.send(
            citizen, _key(form), outgoing, chosen_files(form.attachments)))
        if response is not None:
            return response
    _prepare_key(form)
    return _render("portal/general_request.html", form=form)


FOLLOW_UP_FORMS: dict[str, type[IdempotentForm]] = {
    "nachreichen": NachreichungForm,
    "nachricht": MessageForm,
    "veraenderung": VeraenderungForm,
    "widerspruch": WiderspruchForm,
}


@bp.route("/konto/antraege/<public_id>/<any(nachreichen, nachricht, veraenderung, widerspruch)"
          ":action>", methods=["GET", "POST"])
@accepts_files(MAX_ATTACHMENTS)
def follow_up(public_id: str, action: str) -> ResponseReturnValue:
    original = _original(_own_submission(public_id))
    form = FOLLOW_UP_FORMS[action]()
    if form.validate_on_submit():
        citizen = _signed_in()
        outgoing = followups.follow_up_outgoing(action, original, form.data)
        response = _send_or_errors(form, lambda: followups.send_follow_up(
            citizen, original, _key(form), outgoing,
            chosen_files(form.attachments)))
        if response is not None:
            return response
    if isinstance(form, WiderspruchForm) and not form.is_submitted():
        # Most objections are against the latest Bescheid: named for the citizen to keep or
        # change, so the office links the Widerspruch to the right decision.
        form.decision.data = latest_bescheid_named(original, _signed_in().id)
    _prepare_key(form)
    return _render(f"portal/follow_up_{action}.html", form=form, original=original)


# --- Meine Anträge ------------------------------------------------------------------------------


def _own_submission(public_id: str) -> Submission:
    submission = db.session.scalar(select(Submission).where(
        Submission.public_id == public_id, Submission.citizen_id == _signed_in().id))
    if submission is None:
        abort(404)
    return submission


def _original(submission: Submission) -> Submission:
    # Follow-ups always hang on the first submission, so its timeline shows all of them.
    return submission.parent or submission


def _resume_url(draft: Draft) -> str | None:
    endpoint = RESUME_ENDPOINTS.get(draft.service_code)
    if endpoint is None or endpoint not in current_app.view_functions:
        return None
    return url_for(endpoint, public_id=draft.public_id)


@bp.get("/konto/antraege")
def submissions() -> ResponseReturnValue:
    citizen = _signed_in()
    drafts = drafts_of(citizen.id)
    originals = db.session.scalars(
        select(Submission).where(Submission.citizen_id == citizen.id,
                                 Submission.parent_id.is_(None))
        .order_by(Submission.submitted_at.desc(), Submission.id.desc())).all()
    bescheide = bescheide_for(originals, citizen.id)
    return render_template(
        "portal/submissions.html", drafts=drafts, submissions=originals,
        resume_urls={draft.id: _resume_url(draft) for draft in drafts},
        service_title=_service_title, kind_words=KIND_WORDS,
        statuses={item.id: submission_status(item, bescheide.get(item.id))
                  for item in originals})


def _service_title(code: str | None) -> str:
    found = get_leistung(code)
    return str(found.title) if found is not None else (code or "")


@bp.get("/konto/antraege/<public_id>")
def submission_detail(public_id: str) -> ResponseReturnValue:
    citizen = _signed_in()
    submission = _own_submission(public_id)
    follow_ups = db.session.scalars(
        select(Submission).where(Submission.parent_id == submission.id,
                                 Submission.citizen_id == citizen.id)
        .order_by(Submission.submitted_at, Submission.id)).all()
    summary = submission.eingang.payload.get("summary") or []
    bescheide = bescheide_since(submission, citizen.id)
    bescheid = decided_by(submission, bescheide)
    return render_template(
        "portal/submission.html", submission=submission, summary=summary,
        status=submission_status(submission, bescheid), bescheid=bescheid,
        kind_words=KIND_WORDS,
        timeline=timeline(submission, list(follow_ups), citizen.id, bescheide),
        rejection=rejection_letter(submission, citizen.id),
        rejection_reason=rejection_reason(submission.eingang),
        is_original=submission.parent is None)


@bp.get("/konto/antraege/<public_id>/bestaetigung")
def confirmation(public_id: str) -> ResponseReturnValue:
    # Reads the submission itself, so the page works when bookmarked or opened again later.
    submission = _own_submission(public_id)
    return render_template("portal/confirmation.html", submission=submission,
                           original=submission.parent, kind_words=KIND_WORDS)


@bp.get("/konto/antraege/<public_id>/eingangsbestaetigung.pdf")
def receipt(public_id: str) -> ResponseReturnValue:
    return receipt_response(_own_submission(public_id))


@bp.get("/konto/antraege/<public_id>/dokumente/<int:item_id>")
def submission_document(public_id: str, item_id: int) -> ResponseReturnValue:
    submission = _own_submission(public_id)
    item = db.session.scalar(select(SubmissionDocument).where(
        SubmissionDocument.id == item_id, SubmissionDocument.submission_id == submission.id))
    if item is None:
        abort(404)
    return document_response(item.document)


# --- postbox ------------------------------------------------------------------------------------


def _own_message(public_id: str) -> PostboxMessage:
    message = postbox.find_message(_signed_in().id, public_id)
    if message is None:
        abort(404)
    return message


@bp.get("/konto/postfach", endpoint="postbox")
def postbox_index() -> ResponseReturnValue:
    return render_template("portal/postbox.html", messages=postbox.messages_of(_signed_in().id))


@bp.route("/konto/postfach/<public_id>", methods=["GET", "POST"])
@accepts_files(MAX_ATTACHMENTS)
def postbox_message(public_id: str) -> ResponseReturnValue:
    citizen = _signed_in()
    message = _own_message(public_id)
    if not message.is_read:
        postbox.mark_read(message, citizen_actor(citizen))
        db.session.commit()
    form = ReplyForm() if message.reply_allowed else None
    if form is not None and form.validate_on_submit():
        response = _send_or_errors(form, lambda: followups.answer_request(
            citizen, message, _key(form), str(form.message.data or ""),
            chosen_files(form.attachments)))
        if response is not None:
            return response
    if form is not None:
        _prepare_key(form)
    return _render("portal/postbox_message.html", message=message, form=form,
                   objection=objection_to(message))


@bp.get("/konto/postfach/<public_id>/anhang")
def postbox_attachment(public_id: str) -> ResponseReturnValue:
    message = _own_message(public_id)
    document = db.session.get(Document, message.document_id) if message.document_id else None
    if document is None:
        abort(404)
    return document_response(document)
