"""Drafting and issuing a Bescheid: required parts, the PDF, E-Akte, postbox or paper, periods."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date

import pytest
from flask import Flask
from pypdf import PdfReader
from sqlalchemy import func, select

from amtsweg.audit.models import AuditEntry
from amtsweg.audit.services import SYSTEM
from amtsweg.citizens.models import Citizen
from amtsweg.extensions import db
from amtsweg.postbox.models import PostboxKind, PostboxMessage
from amtsweg.staff.models import Staff
from backoffice.decisions.models import DecisionKind, DecisionStatus, Delivery
from backoffice.decisions.services import (
    DecisionDraft,
    DecisionRefused,
    issue_decision,
    mark_instruction_defective,
    record_posting,
    update_decision,
)
from backoffice.models import (
    CaseDocument,
    Fall,
    FallEvent,
    FallStatus,
    PartyRole,
    Wiedervorlage,
)
from backoffice.services import PartyData
from storage.models import Document
from storage.services import open_document
from tests.amtsweg.mail.support import mails_to
from tests.backoffice.decisions.conftest import applicant_of, draft_for, submit_and_route
from tests.backoffice.support import stored_pdf_language


def pdf_text(document_id: int | None) -> str:
    assert document_id is not None
    document = db.session.get(Document, document_id)
    assert document is not None
    with open_document(document) as stream:
        reader = PdfReader(io.BytesIO(stream.read()))
    return "\n".join(page.extract_text() for page in reader.pages)


def flat(text: str) -> str:
    return " ".join(text.split())


def test_a_routed_citizen_gets_the_bescheid_in_the_postbox(
        app: Flask, app_ctx: None, create_citizen: Callable[..., Citizen], clerk: Staff) -> None:
    citizen = create_citizen("sabine@example.org")
    fall, submission = submit_and_route(citizen, clerk)
    decision = draft_for(fall)

    issue_decision(decision, SYSTEM, today=date(2026, 11, 26))
    db.session.commit()

    db.session.expire_all()
    assert decision.status is DecisionStatus.ISSUED
    assert decision.delivery is Delivery.POSTBOX
    assert decision.posted_on is None
    assert decision.bekanntgabe_on == date(2026, 11, 30)  # 4th day after provision
    assert decision.objection_deadline == date(2026, 12, 30)
    message = db.session.scalar(select(PostboxMessage).where(
        PostboxMessage.citizen_id == citizen.id, PostboxMessage.kind == PostboxKind.BESCHEID))
    assert message is not None
    assert message.document_id == decision.document_id
    assert "Bescheid über Unterhaltsvorschuss" in message.subject
    # The PDF names the application's reference number beside the Aktenzeichen.
    assert submission.reference in flat(pdf_text(decision.document_id))
    # The notice mail says only that something is there, never the content.
    notices = mails_to(app, "sabine@example.org")
    assert notices
    assert "abgelehnt" not in notices[-1].as_string()
    # Filed in the E-Akte and on the timeline.
    filed = db.session.scalar(select(CaseDocument).where(
        CaseDocument.fall_id == fall.id, CaseDocument.document_id == decision.document_id))
    assert filed is not None
    assert filed.kind == "Bescheid"
    event = db.session.scalar(select(FallEvent).where(FallEvent.fall_id == fall.id,
                                                      FallEvent.kind == "bescheid_issued"))
    assert event is not None
    assert event.document_id == decision.document_id
    # The objection period is a Wiedervorlage on its last day.
    deadline = db.session.scalar(select(Wiedervorlage).where(Wiedervorlage.fall_id == fall.id))
    assert deadline is not None
    assert deadline.due_date == date(2026, 12, 30)
    assert "Widerspruchsfrist" in deadline.reason
    assert db.session.get(Fall, fall.id).status is FallStatus.DECIDED  # type: ignore[union-attr]


def test_the_pdf_holds_every_required_part(app_ctx: None, create_case: Callable[..., Fall]
                                           ) -> None:
    fall = create_case()
    decision = draft_for(fall)
    issue_decision(decision, SYSTEM, posted_on=date(2026, 11, 26), today=date(2026, 11, 26))
    db.session.commit()

    text = flat(pdf_text(decision.document_id))
    for part in ("Landratsamt Musterkreis", "Sabine Müller", "Hauptstraße 1, Haßfurt",
                 fall.aktenzeichen, "20.11.2026",
                 "Bescheid über Unterhaltsvorschuss für Lea Müller",
                 "Entscheidung", "wird abgelehnt", "Begründung", "§ 1 Abs. 3 UVG",
                 "Rechtsbehelfsbelehrung", "nach Ihrer Wahl entweder Widerspruch einlegen",
                 "innerhalb eines Monats", "Regierung von Unterfranken",
                 "Verwaltungsgericht Würzburg", "Seite 1 von 1"):
        assert part in text, part
    assert decision.rechtsbehelfsbelehrung.startswith("Gegen diesen Bescheid")
    # A screen reader reads the Bescheid in German.
    assert stored_pdf_language(decision.document_id) == "de-DE"


def test_a_long_begruendung_runs_over_pages_with_numbers(
        app_ctx: None, create_case: Callable[..., Fall]) -> None:
    fall = create_case()
    decision = draft_for(fall, begruendung="Die Voraussetzungen liegen nicht vor. " * 400)
    issue_decision(decision, SYSTEM, today=date(2026, 11, 26))
    db.session.commit()
    text = flat(pdf_text(decision.document_id))
    pages = int(text.split("Seite 1 von ")[1].split()[0])
    assert pages > 2
    for page in range(1, pages + 1):
        assert f"Seite {page} von {pages}" in text


def test_without_an_account_it_is_marked_for_paper_with_the_fourth_day(
        app_ctx: None, create_case: Callable[..., Fall]) -> None:
    fall = create_case()
    decision = draft_for(fall)
    # Posted on Friday 28 November 2025: notified Tuesday 2 December, period to 2 January.
    issue_decision(decision, SYSTEM, posted_on=date(2025, 11, 28), today=date(2025, 11, 28))
    db.session.commit()
    assert decision.delivery is Delivery.PAPER
    assert decision.posted_on == date(2025, 11, 28)
    assert decision.bekanntgabe_on == date(2025, 12, 2)
    assert decision.objection_deadline == date(2026, 1, 2)
    assert db.session.scalar(select(func.count(PostboxMessage.id))) == 0


def test_the_real_posting_date_moves_the_periods(app_ctx: None,
                                                 create_case: Callable[..., Fall]) -> None:
    fall = create_case()
    decision = draft_for(fall)
    issue_decision(decision, SYSTEM, posted_on=date(2026, 1, 29), today=date(2026, 1, 29))
    record_posting(decision, date(2026, 1, 30), SYSTEM)
    db.session.commit()
    # Notified Tuesday 3 February; one month later is Tuesday 3 March.
    assert decision.bekanntgabe_on == date(2026, 2, 3)
    assert decision.objection_deadline == date(2026, 3, 3)


def test_a_defective_instruction_gives_one_year(app_ctx: None,
                                                create_case: Callable[..., Fall]) -> None:
    fall = create_case()
    decision = draft_for(fall)
    issue_decision(decision, SYSTEM, posted_on=date(2026, 3, 11), today=date(2026, 3, 11))
    mark_instruction_defective(decision, SYSTEM)
    db.session.commit()
    assert decision.instruction_defective
    assert decision.objection_deadline == date(2027, 3, 15)  # 15 March 2027, a Monday


def test_a_bescheid_to_the_other_parent_never_goes_to_the_applicants_postbox(
        app_ctx: None, create_citizen: Callable[..., Citizen], clerk: Staff) -> None:
    citizen = create_citizen()
    fall, _submission = submit_and_route(citizen, clerk)
    other = PartyData("other_parent", "Tom", "Schmidt", None, "Weg 2\n97070 Würzburg")
    from backoffice.models import Party

    party = Party(fall_id=fall.id, role=PartyRole.OTHER_PARENT, first_name=other.first_name,
                  last_name=other.last_name, address=other.address or "")
    db.session.add(party)
    db.session.commit()
    decision = draft_for(fall, addressee_party_id=party.id, kind=DecisionKind.AENDERUNG)
    issue_decision(decision, SYSTEM, today=date(2026, 11, 26))
    db.session.commit()
    assert decision.delivery is Delivery.PAPER
    assert db.session.scalar(select(func.count(PostboxMessage.id)).where(
        PostboxMessage.kind == PostboxKind.BESCHEID)) == 0


@pytest.mark.parametrize(("overrides", "named"), [
    ({"tenor": "  "}, "Tenor"),
    ({"begruendung": ""}, "Begründung"),
    ({"addressee_party_id": None}, "der Empfänger"),
    ({"subject": ""}, "der Betreff"),
])
def test_a_missing_part_is_refused_by_name(app_ctx: None, create_case: Callable[..., Fall],
                                           overrides: dict[str, object], named: str) -> None:
    fall = create_case()
    decision = draft_for(fall, **overrides)
    with pytest.raises(DecisionRefused, match=named):
        issue_decision(decision, SYSTEM, today=date(2026, 11, 26))
    db.session.rollback()
    assert decision.status is DecisionStatus.DRAFT
    assert decision.document_id is None
    assert db.session.scalar(select(func.count(Document.id))) == 0


def test_an_empty_date_is_the_day_of_issuing(app_ctx: None,
                                             create_case: Callable[..., Fall]) -> None:
    fall = create_case()
    decision = draft_for(fall, decision_date=None)
    issue_decision(decision, SYSTEM, today=date(2026, 11, 26))
    db.session.commit()
    assert decision.decision_date == date(2026, 11, 26)
    assert "26.11.2026" in pdf_text(decision.document_id)


def test_an_addressee_without_address_is_refused(app_ctx: None,
                                                 create_case: Callable[..., Fall]) -> None:
    fall = create_case()
    child = next(party for party in fall.parties if party.role is PartyRole.CHILD)
    decision = draft_for(fall, addressee_party_id=child.id)
    with pytest.raises(DecisionRefused, match="Anschrift des Empfängers"):
        issue_decision(decision, SYSTEM, today=date(2026, 11, 26))


def test_a_full_bewilligung_needs_no_begruendung(app_ctx: None,
                                                 create_case: Callable[..., Fall]) -> None:
    # § 35 Abs. 2 Nr. 1 SGB X.
    fall = create_case()
    decision = draft_for(fall, kind=DecisionKind.BEWILLIGUNG, begruendung="")
    issue_decision(decision, SYSTEM, today=date(2026, 11, 26))
    db.session.commit()
    assert decision.is_issued
    assert "Begründung" not in pdf_text(decision.document_id)


def test_an_issued_bescheid_is_frozen(app_ctx: None, create_case: Callable[..., Fall]) -> None:
    fall = create_case()
    decision = draft_for(fall)
    issue_decision(decision, SYSTEM, today=date(2026, 11, 26))
    db.session.commit()
    with pytest.raises(DecisionRefused, match="nicht mehr geändert"):
        update_decision(decision, DecisionDraft(DecisionKind.BEWILLIGUNG, "x", "y", "z",
                                                None, None), SYSTEM)
    with pytest.raises(DecisionRefused, match="nicht mehr geändert"):
        issue_decision(decision, SYSTEM, today=date(2026, 11, 26))


def test_an_addressee_from_another_case_is_refused(app_ctx: None,
                                                   create_case: Callable[..., Fall]) -> None:
    fall = create_case()
    other = create_case()
    with pytest.raises(DecisionRefused, match="Empfänger"):
        draft_for(fall, addressee_party_id=applicant_of(other))


def test_hostile_text_is_printed_as_text(app_ctx: None,
                                         create_case: Callable[..., Fall]) -> None:
    fall = create_case()
    decision = draft_for(fall, tenor="<b>fett</b> & <font size=80>groß</font> <br/>",
                         subject="Bescheid <para>")
    issue_decision(decision, SYSTEM, today=date(2026, 11, 26))
    db.session.commit()
    text = pdf_text(decision.document_id)
    assert "<b>fett</b> & <font size=80>groß</font>" in text


def test_the_audit_entry_keeps_no_text_of_the_decision(
        app_ctx: None, create_case: Callable[..., Fall]) -> None:
    fall = create_case()
    decision = draft_for(fall)
    issue_decision(decision, SYSTEM, today=date(2026, 11, 26))
    db.session.commit()
    entries = db.session.scalars(select(AuditEntry).where(
        AuditEntry.object_type == "decision")).all()
    assert {entry.action for entry in entries} == {"decision.created", "decision.issued"}
    for entry in entries:
        assert "abgelehnt" not in str(entry.after)
        assert "Müller" not in str(entry.after)
