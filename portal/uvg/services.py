"""Writes of the UVG application that go beyond one page's answers."""

from __future__ import annotations

import copy
from datetime import date

from amtsweg.audit.services import Actor
from amtsweg.citizens.models import Citizen
from amtsweg.extensions import db
from amtsweg.sessions import citizen_actor
from amtsweg.translate import gettext as _
from clearing.models import EingangKind
from portal import drafts
from portal.models import Draft, Submission
from portal.services import AttachedDocument, find_by_idempotency_key, submit
from portal.uvg import rules, summary

SERVICE_CODE = "uvg"


def remove_child(draft: Draft, child_id: str, actor: Actor) -> None:
    """Take a child off the application, with its answers and the files asked for it."""
    suffix = f":{child_id}"
    for item in [item for item in draft.documents if item.requirement.endswith(suffix)]:
        drafts.remove_document(draft, item, actor)
    answers = copy.deepcopy(draft.answers)
    answers["children"] = [child for child in rules.children(answers)
                           if child.get("id") != child_id]
    answers["done"] = [step for step in rules.done_steps(answers)
                       if not step.endswith(suffix) and step != "children"]
    answers["documents_later"] = [key for key in answers.get("documents_later") or []
                                  if not str(key).endswith(suffix)]
    drafts.save_answers(draft, answers, f"remove_child{suffix}", actor)


def submit_application(draft: Draft, citizen: Citizen, today: date) -> Submission | None:
    """Send the draft to the office: one submission, whatever a double click does.

    The draft's rows go in the same transaction that ``submit`` commits; its files now belong
    to the submission and stay. Returns the submission another request made of this draft a
    moment ago, or ``None`` if the draft was deleted meanwhile.
    """
    # A new top level only: the draft is deleted below, so nothing else changes what it holds.
    answers = dict(draft.answers)
    # The wizard's own bookkeeping is no answer of the citizen's.
    answers.pop("done", None)
    answers.pop("next_child", None)
    answers["documents_later"] = [key for key in answers.get("documents_later") or []
                                  if key not in {item.requirement for item in draft.documents}]
    applicant = rules.part(answers, "applicant")
    documents = [AttachedDocument(item.document, item.requirement,
                                  summary.label_for_key(answers, item.requirement))
                 for item in draft.documents]
    sections = summary.receipt_sections(draft, today, citizen.email)
    parties = summary.parties(answers)
    idempotency_key = draft.public_id
    if not drafts.discard_submitted_draft(draft, citizen_actor(citizen)):
        db.session.rollback()
        return find_by_idempotency_key(idempotency_key)
    sender = f"{applicant.get('first_name') or ''} {applicant.get('last_name') or ''}".strip()
    return submit(citizen=citizen, kind=EingangKind.NEUANTRAG,
                  title=_("Application for Unterhaltsvorschuss"),
                  idempotency_key=idempotency_key, sender_name=sender or citizen.email,
                  service_code=SERVICE_CODE, answers=answers, summary=sections,
                  documents=documents, parties=parties)
