"""Case work services: status, suspension, parties with history, E-Akte versions, notes,
deadlines, bulk reassignment and the append-only access log, on the real database."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date, timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from amtsweg.audit.models import AuditEntry
from amtsweg.audit.services import SYSTEM, Actor
from amtsweg.citizens.models import Citizen
from amtsweg.extensions import db
from amtsweg.sessions import staff_actor
from amtsweg.staff.models import Role, Staff
from backoffice import access, services
from backoffice.models import (
    AccessKind,
    AccessLogEntry,
    CaseDocument,
    DocumentOrigin,
    Fall,
    FallEvent,
    FallStatus,
    PartyVersion,
    Wiedervorlage,
)
from backoffice.services import (
    DeadlineRefused,
    StaleCase,
    TransitionRefused,
    add_deadline,
    change_status,
    file_document,
    reassign_cases,
    resume_case,
    update_party,
)
from clearing.models import EingangKind
from clearing.services import Sender, create_eingang
from storage.models import Document
from storage.services import store_upload
from tests.backoffice.support import pdf

pytestmark = pytest.mark.usefixtures("app_ctx")
TODAY = date(2026, 3, 2)


def _staff(staff: Staff) -> Staff:
    return db.session.get_one(Staff, staff.id)


def _kinds(fall: Fall) -> list[str]:
    return list(db.session.scalars(select(FallEvent.kind).where(FallEvent.fall_id == fall.id)
                                   .order_by(FallEvent.id)))


def test_status_follows_open_decided_paying_closed(create_case: Callable[..., Fall]) -> None:
    fall = create_case()
    for status in (FallStatus.DECIDED, FallStatus.PAYING, FallStatus.CLOSED):
        change_status(fall, status, SYSTEM)
    db.session.commit()
    assert fall.status is FallStatus.CLOSED
    assert fall.closed_at is not None
    assert _kinds(fall).count("status_changed") == 3
    with pytest.raises(TransitionRefused):
        change_status(fall, FallStatus.OPEN, SYSTEM)


def test_a_step_that_skips_a_state_is_refused(create_case: Callable[..., Fall]) -> None:
    fall = create_case()
    with pytest.raises(TransitionRefused):
        change_status(fall, FallStatus.PAYING, SYSTEM)
    assert fall.status is FallStatus.OPEN


def test_the_database_refuses_a_suspended_case_without_its_start(
        create_case: Callable[..., Fall]) -> None:
    fall = create_case()
    with pytest.raises(IntegrityError):
        db.session.execute(text("UPDATE faelle SET status = 'suspended' WHERE id = :id"),
                           {"id": fall.id})
    db.session.rollback()


def test_resuming_moves_open_deadlines_by_the_days_suspended(
        create_case: Callable[..., Fall]) -> None:
    fall = create_case()
    change_status(fall, FallStatus.DECIDED, SYSTEM)
    open_one = add_deadline(fall, due_date=TODAY + timedelta(days=5), reason="Nachweis",
                            owner=None, actor=SYSTEM, today=TODAY)
    done_one = add_deadline(fall, due_date=TODAY + timedelta(days=3), reason="Erledigt",
                            owner=None, actor=SYSTEM, today=TODAY)
    services.set_deadline_done(done_one, True, fall, SYSTEM)
    change_status(fall, FallStatus.SUSPENDED, SYSTEM, today=TODAY)
    db.session.commit()
    with pytest.raises(TransitionRefused):
        change_status(fall, FallStatus.CLOSED, SYSTEM)
    days = resume_case(fall, SYSTEM, today=TODAY + timedelta(days=14))
    db.session.commit()
    assert days == 14
    assert fall.status is FallStatus.DECIDED
    assert fall.suspended_at is None
    assert db.session.get_one(Wiedervorlage, open_one.id).due_date == TODAY + timedelta(days=19)
    assert db.session.get_one(Wiedervorlage, done_one.id).due_date == TODAY + timedelta(days=3)


def test_a_write_from_an_older_page_is_refused(create_case: Callable[..., Fall]) -> None:
    fall = create_case()
    seen = fall.version
    change_status(fall, FallStatus.DECIDED, SYSTEM, expected_version=seen)
    db.session.commit()
    with pytest.raises(StaleCase):
        change_status(fall, FallStatus.CLOSED, SYSTEM, expected_version=seen)
    assert fall.status is FallStatus.DECIDED


def test_a_party_change_keeps_every_earlier_version(create_case: Callable[..., Fall]) -> None:
    fall = create_case()
    applicant = fall.parties[1]
    actor = Actor(SYSTEM.kind, None, "Sachbearbeiterin")
    assert update_party(fall, applicant, {"iban": "DE89370400440532013000",
                                          "address": "Marktplatz 2, Haßfurt"}, actor)
    assert update_party(fall, applicant, {"iban": "DE02120300000000202051"}, actor)
    assert not update_party(fall, applicant, {"iban": "DE02120300000000202051"}, actor)
    db.session.commit()
    versions = list(db.session.scalars(select(PartyVersion).where(
        PartyVersion.party_id == applicant.id).order_by(PartyVersion.number)))
    assert [(v.number, v.iban, v.address) for v in versions] == [
        (1, None, "Hauptstraße 1, Haßfurt"),
        (2, "DE89370400440532013000", "Marktplatz 2, Haßfurt"),
        (3, "DE02120300000000202051", "Marktplatz 2, Haßfurt")]
    # The audit log names the fields, never the bank data itself.
    entries = db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "fall.party_changed")).all()
    assert entries
    assert all("DE89" not in str(entry.after) for entry in entries)


def _document(name: str = "urkunde.pdf", content: str = "Urkunde") -> Document:
    return store_upload(io.BytesIO(pdf(content)), name, SYSTEM)


def test_a_new_version_never_overwrites_the_old_one(create_case: Callable[..., Fall]) -> None:
    fall = create_case()
    first = file_document(fall, _document(), origin=DocumentOrigin.STAFF_UPLOAD,
                          kind="Geburtsurkunde", title="Geburtsurkunde Lea", actor=SYSTEM)
    second = file_document(fall, _document("neu.pdf", "Neu"),
                           origin=DocumentOrigin.STAFF_UPLOAD, kind="Geburtsurkunde",
                           title="Geburtsurkunde Lea", actor=SYSTEM, replaces=first)
    db.session.commit()
    assert (first.version, second.version) == (1, 2)
    assert first.series_id == second.series_id == first.id
    assert first.document_id != second.document_id
    assert db.session.get(CaseDocument, first.id) is not None


def test_documents_attached_through_clearing_carry_their_origin(
        create_case: Callable[..., Fall], create_citizen: Callable[..., Citizen]) -> None:
    citizen = create_citizen()
    online = create_eingang(kind=EingangKind.NEUANTRAG, subject="Antrag",
                            sender=Sender("Sabine Müller", None, citizen.id),
                            actor=SYSTEM)
    paper = create_eingang(kind=EingangKind.PAPIEREINGANG, subject="Brief", sender=Sender("Post"),
                           actor=SYSTEM)
    fall = create_case()
    online_document, paper_document = _document(), _document("brief.pdf", "Brief")
    services.attach_to_case(fall, eingang_id=online.id, summary="Antrag", actor=SYSTEM,
                            document_ids=[online_document.id])
    services.attach_to_case(fall, eingang_id=paper.id, summary="Brief", actor=SYSTEM,
                            document_ids=[paper_document.id])
    db.session.commit()
    origins = dict(db.session.execute(select(CaseDocument.eingang_id, CaseDocument.origin)
                                      .where(CaseDocument.fall_id == fall.id)).all())
    assert origins == {online.id: DocumentOrigin.ONLINE, paper.id: DocumentOrigin.CLEARING}


def test_a_deadline_in_the_past_is_refused(create_case: Callable[..., Fall]) -> None:
    fall = create_case()
    with pytest.raises(DeadlineRefused):
        add_deadline(fall, due_date=TODAY - timedelta(days=1), reason="Zu spät", owner=None,
                     actor=SYSTEM, today=TODAY)
    with pytest.raises(DeadlineRefused):
        add_deadline(fall, due_date=TODAY, reason="   ", owner=None, actor=SYSTEM, today=TODAY)
    assert add_deadline(fall, due_date=TODAY, reason="Heute", owner=None, actor=SYSTEM,
                        today=TODAY).due_date == TODAY


def test_bulk_reassignment_moves_the_valid_cases_and_lists_the_others(
        create_case: Callable[..., Fall], create_staff: Callable[..., Staff]) -> None:
    away = create_staff("away", fachbereiche=("uvg", "wohngeld"))
    deputy = create_staff("deputy", fachbereiche=("uvg",))
    lead = create_staff("lead", roles=(Role.LEAD,), fachbereiche=("uvg", "wohngeld"))
    uvg = [create_case(responsible=away) for _ in range(2)]
    wohngeld = create_case(responsible=away, fachbereich="wohngeld")
    falls = [db.session.get_one(Fall, fall.id) for fall in (*uvg, wohngeld)]
    result = reassign_cases(falls, _staff(deputy), staff_actor(_staff(lead)))
    db.session.commit()
    assert result.moved == [fall.aktenzeichen for fall in uvg]
    assert [aktenzeichen for aktenzeichen, _ in result.refused] == [wohngeld.aktenzeichen]
    assert db.session.get_one(Fall, wohngeld.id).responsible_staff_id == away.id
    assert {db.session.get_one(Fall, fall.id).responsible_staff_id for fall in uvg} == {deputy.id}


def test_the_access_log_is_append_only(create_case: Callable[..., Fall],
                                       create_staff: Callable[..., Staff]) -> None:
    fall = create_case()
    entry = access.log_access(_staff(create_staff()), fall, AccessKind.CASE_VIEW)
    db.session.commit()
    entry.granted = False
    with pytest.raises(access.AccessLogIsAppendOnly):
        db.session.flush()
    db.session.rollback()
    db.session.delete(db.session.get_one(AccessLogEntry, entry.id))
    with pytest.raises(access.AccessLogIsAppendOnly):
        db.session.flush()
    db.session.rollback()
    assert db.session.get_one(AccessLogEntry, entry.id).granted is True
