"""Opening, attaching to and assigning cases: each write audited and on the timeline."""

from __future__ import annotations

import io
from datetime import date

import pytest
from pypdf import PdfWriter
from sqlalchemy import func, select, update
from sqlalchemy.orm.exc import StaleDataError

from amtsweg.audit.models import AuditEntry
from amtsweg.audit.services import SYSTEM
from amtsweg.extensions import db
from amtsweg.fachbereiche import fachbereich_by_code
from amtsweg.sessions import staff_actor
from amtsweg.staff.models import Role
from backoffice.models import Fall, FallEvent, FallStatus, Party, PartyRole
from backoffice.services import (
    AssignmentRefused,
    assign_case,
    attach_to_case,
    open_case,
)
from clearing.models import EingangKind
from clearing.services import Sender, create_eingang
from storage.models import Document
from storage.services import store_upload
from tests.backoffice.conftest import CHILD

pytestmark = pytest.mark.usefixtures("app_ctx")


def audit(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)
                                   .order_by(AuditEntry.id)))


def timeline(fall: Fall) -> list[FallEvent]:
    return list(db.session.scalars(select(FallEvent).where(FallEvent.fall_id == fall.id)
                                   .order_by(FallEvent.at, FallEvent.id)))


def new_eingang(subject: str = "Antrag auf Unterhaltsvorschuss") -> int:
    eingang = create_eingang(kind=EingangKind.NEUANTRAG, subject=subject,
                             sender=Sender("Sabine Müller"), actor=SYSTEM)
    db.session.commit()
    return eingang.id


def test_open_case_creates_case_parties_events_and_audit(create_staff, create_case) -> None:
    clerk = create_staff("clerk", roles=(Role.CLEARING,), fachbereiche=())
    worker = create_staff("worker", fachbereiche=("uvg",))
    eingang_id = new_eingang()

    fall = create_case(responsible=worker, actor=staff_actor(clerk),
                       source_eingang_id=eingang_id)

    assert fall.aktenzeichen.startswith(f"UV-{fall.opened_at.year}-")
    assert fall.status is FallStatus.OPEN
    assert fall.closed_at is None
    assert fall.responsible_staff_id == worker.id
    assert fall.version == 1
    parties = db.session.scalars(select(Party).where(Party.fall_id == fall.id)
                                 .order_by(Party.id)).all()
    assert [(p.role, p.first_name, p.last_name, p.birth_date) for p in parties] == [
        (PartyRole.CHILD, "Lea", "Müller", date(2018, 3, 14)),
        (PartyRole.APPLICANT, "Sabine", "Müller", date(1990, 7, 1))]
    assert parties[0].last_name_key == "mueller"
    assert parties[1].address == "Hauptstraße 1, Haßfurt"
    events = timeline(fall)
    assert [(e.kind, e.eingang_id, e.actor_name) for e in events] == [
        ("case_opened", None, "clerk"), ("eingang_attached", eingang_id, "clerk"),
        ("assigned", None, "clerk")]
    assert events[2].summary == worker.full_name
    [entry] = audit("fall.opened")
    assert entry.actor_id == clerk.id
    assert entry.object_id == str(fall.id)
    assert entry.after is not None
    assert entry.after["aktenzeichen"] == fall.aktenzeichen
    assert entry.after["source_eingang_id"] == eingang_id
    # Names of parties are social data: the audit entry keeps only ids and roles.
    assert "Müller" not in str(entry.after)
    assert [p["role"] for p in entry.after["parties"]] == ["child", "applicant"]


def test_open_case_without_responsible_goes_to_the_pool(create_case) -> None:
    fall = create_case(parties=(CHILD,))
    assert fall.responsible_staff_id is None
    assert [e.kind for e in timeline(fall)] == ["case_opened"]


def test_aktenzeichen_counts_per_fachbereich(create_case) -> None:
    first = create_case()
    second = create_case()
    other = create_case(fachbereich="beistandschaft")
    year = first.opened_at.year
    assert first.aktenzeichen == f"UV-{year}-00001"
    assert second.aktenzeichen == f"UV-{year}-00002"
    assert other.aktenzeichen == f"BS-{year}-00001"


def test_rolled_back_opening_gives_its_number_back(create_case) -> None:
    area = fachbereich_by_code("uvg")
    assert area is not None
    open_case(fachbereich=area, parties=(CHILD,), responsible=None,
              actor=SYSTEM, source_eingang_id=None, title="verworfen")
    db.session.rollback()
    fall = create_case()
    assert fall.aktenzeichen.endswith("-00001")


def test_open_case_refuses_a_caseworker_of_another_fachbereich(create_staff,
                                                               create_case) -> None:
    outsider = create_staff("wohngeld1", full_name="Otto Wohngeld", fachbereiche=("wohngeld",))
    with pytest.raises(AssignmentRefused, match="Otto Wohngeld") as refused:
        create_case(responsible=outsider)
    assert "Unterhaltsvorschuss" in str(refused.value)
    db.session.rollback()
    assert db.session.scalar(select(func.count(Fall.id))) == 0
    assert audit("fall.opened") == []


def test_open_case_refuses_an_inactive_caseworker(create_staff, create_case) -> None:
    gone = create_staff("gone", full_name="Grete Gegangen", active=False)
    with pytest.raises(AssignmentRefused, match="Grete Gegangen"):
        create_case(responsible=gone)


def blank_pdf() -> Document:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    buffer = io.BytesIO()
    writer.write(buffer)
    buffer.seek(0)
    return store_upload(buffer, "Geburtsurkunde.pdf", SYSTEM)


def test_attach_to_case_records_item_and_documents_once(create_staff, create_case) -> None:
    clerk = create_staff("clerk", roles=(Role.CLEARING,), fachbereiche=())
    fall = create_case()
    eingang_id = new_eingang("Nachreichung: Geburtsurkunde")
    document = blank_pdf()
    db.session.commit()

    event = attach_to_case(fall, eingang_id=eingang_id, summary="Nachreichung: Geburtsurkunde",
                           actor=staff_actor(clerk), document_ids=[document.id])
    db.session.commit()
    again = attach_to_case(fall, eingang_id=eingang_id, summary="noch einmal",
                           actor=staff_actor(clerk), document_ids=[document.id])
    db.session.commit()

    assert again.id == event.id
    kinds = [(e.kind, e.eingang_id, e.document_id) for e in timeline(fall)]
    assert kinds == [("case_opened", None, None), ("eingang_attached", eingang_id, None),
                     ("document_filed", eingang_id, document.id)]
    assert str(timeline(fall)[1].label) == "Eingang erhalten"
    [entry] = audit("fall.eingang_attached")
    assert entry.after == {"eingang_id": eingang_id, "documents": [document.id],
                           "event_id": event.id}
    assert entry.actor_name == "clerk"


def test_a_case_routed_from_the_portal_files_the_documents_and_the_receipt(
        create_staff, create_citizen) -> None:
    """Regression: open_case already wrote the arrival entry, so attach_to_case returned early
    and a case routed from clearing had an empty E-Akte (and the receipt was never filed)."""
    from backoffice.models import CaseDocument, DocumentOrigin
    from clearing.triage import RouteTarget, claim, route
    from portal.services import AttachedDocument, submit
    from tests.backoffice.decisions.conftest import APPLICANT as APPLYING
    from tests.backoffice.decisions.conftest import CHILD as LEA

    citizen = db.session.merge(create_citizen("sabine@example.org"))
    clerk = db.session.merge(create_staff("clerk", roles=(Role.CLEARING,), fachbereiche=("uvg",)))
    certificate = blank_pdf()
    submission = submit(citizen=citizen, kind=EingangKind.NEUANTRAG, title="Antrag",
                        idempotency_key="antrag-regression-1", sender_name="Sabine Müller",
                        service_code="uvg", parties=[LEA, APPLYING],
                        documents=[AttachedDocument(certificate, "geburtsurkunde", "Urkunde")])
    eingang_id = submission.eingang.id
    uvg = fachbereich_by_code("uvg")
    assert uvg is not None
    routed = route(eingang_id, claim(eingang_id, clerk).version, RouteTarget(uvg.id), clerk)
    db.session.commit()
    fall = db.session.get_one(Fall, routed.fall_id)

    rows = list(db.session.scalars(select(CaseDocument).where(CaseDocument.fall_id == fall.id)
                                   .order_by(CaseDocument.id)))
    assert [(row.document_id, row.kind, row.origin) for row in rows] == [
        (certificate.id, "", DocumentOrigin.ONLINE),
        (submission.receipt_document_id, "Eingangsbestätigung", DocumentOrigin.ONLINE)]
    kinds = [e.kind for e in timeline(fall)]
    assert kinds.count("eingang_attached") == 1
    assert kinds.count("document_filed") == 2

    # A retried routing files nothing twice.
    attach_to_case(fall, eingang_id=eingang_id, summary="noch einmal", actor=SYSTEM,
                   document_ids=[certificate.id])
    db.session.commit()
    assert db.session.scalar(select(func.count(CaseDocument.id))
                             .where(CaseDocument.fall_id == fall.id)) == 2


def test_assign_case_hands_over_and_back_to_the_pool(create_staff, create_case) -> None:
    lead = create_staff("lead", roles=(Role.LEAD,))
    first = create_staff("first", full_name="Frieda Erste")
    second = create_staff("second", full_name="Sigrid Zweite")
    fall = create_case(responsible=first)

    event = assign_case(fall, db.session.merge(second), staff_actor(lead))
    db.session.commit()
    assert event is not None
    assert event.summary == "Sigrid Zweite"
    assert fall.responsible_staff_id == second.id
    assert fall.version == 2

    pooled = assign_case(fall, None, staff_actor(lead))
    db.session.commit()
    assert pooled is not None
    assert pooled.summary == "Pool des Fachbereichs"
    assert fall.responsible_staff_id is None

    assert assign_case(fall, None, staff_actor(lead)) is None  # unchanged: nothing written
    entries = audit("fall.assigned")
    assert [(e.before, e.after) for e in entries] == [
        ({"responsible_staff_id": first.id}, {"responsible_staff_id": second.id}),
        ({"responsible_staff_id": second.id}, {"responsible_staff_id": None})]
    assert [e.kind for e in timeline(fall)].count("assigned") == 3


def test_assign_case_refuses_staff_outside_the_fachbereich(create_staff, create_case) -> None:
    lead = create_staff("lead", roles=(Role.LEAD,))
    owner = create_staff("owner")
    outsider = create_staff("outsider", full_name="Olga Außen", fachbereiche=("asd",))
    fall = create_case(responsible=owner)

    with pytest.raises(AssignmentRefused) as refused:
        assign_case(fall, db.session.merge(outsider), staff_actor(lead))
    assert str(refused.value) == (
        "Olga Außen arbeitet nicht im Fachbereich Unterhaltsvorschuss.")
    db.session.rollback()
    db.session.refresh(fall)
    assert fall.responsible_staff_id == owner.id
    assert fall.version == 1
    assert audit("fall.assigned") == []


def test_concurrent_edit_of_a_case_is_refused(app, create_case) -> None:
    """Two caseworkers changing the same case: the second write is refused, not lost."""
    fall = create_case()
    with app.app_context():
        # Another request (its own session) changes the case first.
        db.session.execute(update(Fall).where(Fall.id == fall.id)
                           .values(title="zuerst", version=Fall.version + 1))
        db.session.commit()
    fall.title = "danach"
    with pytest.raises(StaleDataError):
        db.session.commit()
    db.session.rollback()
    stored = db.session.get(Fall, fall.id)
    assert stored is not None
    assert stored.title == "zuerst"
