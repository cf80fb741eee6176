"""Actions on a claimed item: route, request, reject, bulk; each audited, each version-checked."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from amtsweg.audit.models import AuditEntry
from amtsweg.audit.services import SYSTEM
from amtsweg.extensions import db
from amtsweg.fachbereiche import fachbereich_by_code
from amtsweg.postbox.models import PostboxKind, PostboxMessage
from amtsweg.staff.models import Staff
from backoffice.models import Fall, FallEvent
from clearing import triage
from clearing.models import Eingang, EingangKind, EingangStatus, RejectionReason
from clearing.services import mark_answered

pytestmark = pytest.mark.usefixtures("app_ctx")


def _staff(staff: Staff) -> Staff:
    found = db.session.get_one(Staff, staff.id)
    assert found is not None
    return found


def _actions(eingang_id: int) -> list[str]:
    return list(db.session.scalars(select(AuditEntry.action).where(
        AuditEntry.object_type == "eingang", AuditEntry.object_id == str(eingang_id))
        .order_by(AuditEntry.id)))


def _uvg_id() -> int:
    fachbereich = fachbereich_by_code("uvg")
    assert fachbereich is not None
    return fachbereich.id


def _claimed(item: int, clerk: Staff) -> Eingang:
    eingang = triage.claim(item, _staff(clerk))
    db.session.commit()
    return eingang


def test_route_opens_a_case_with_the_parties_in_one_step(make_eingang, clerk, caseworker) -> None:
    item = make_eingang()
    version = _claimed(item, clerk).version
    eingang = triage.route(item, version, triage.RouteTarget(_uvg_id(), None, caseworker.id),
                           _staff(clerk))
    db.session.commit()
    fall = db.session.get(Fall, eingang.fall_id)
    assert fall is not None
    assert (eingang.status, eingang.fachbereich_id, eingang.target_staff_id,
            eingang.claimed_by_id, eingang.routed_by_id) == (
        EingangStatus.ROUTED, _uvg_id(), caseworker.id, None, clerk.id)
    assert fall.responsible_staff_id == caseworker.id
    assert sorted(p.first_name for p in fall.parties) == ["Lea", "Maria"]
    assert _actions(item)[-1] == "eingang.routed"


def test_route_to_an_existing_case_attaches_the_item(make_eingang, clerk) -> None:
    first = make_eingang()
    routed = triage.route(first, _claimed(first, clerk).version,
                          triage.RouteTarget(_uvg_id()), _staff(clerk))
    db.session.commit()
    second = make_eingang(subject="Noch ein Brief", related_id=None)
    eingang = triage.route(second, _claimed(second, clerk).version,
                           triage.RouteTarget(_uvg_id(), routed.fall_id), _staff(clerk))
    db.session.commit()
    assert eingang.fall_id == routed.fall_id
    assert db.session.scalar(select(func.count(Fall.id))) == 1
    assert db.session.scalar(select(func.count(FallEvent.id)).where(
        FallEvent.eingang_id == second)) == 1


def test_caseworker_outside_the_fachbereich_is_refused_and_nothing_changes(
        make_eingang, clerk, create_staff) -> None:
    outsider = create_staff("wohngeld1", fachbereiche=("wohngeld",))
    item = make_eingang()
    version = _claimed(item, clerk).version
    with pytest.raises(triage.ClearingError):
        triage.route(item, version, triage.RouteTarget(_uvg_id(), None, outsider.id),
                     _staff(clerk))
    db.session.rollback()
    eingang = db.session.get_one(Eingang, item)
    assert eingang is not None
    assert eingang.status is EingangStatus.IN_TRIAGE
    assert db.session.scalar(select(func.count(Fall.id))) == 0


def test_stale_page_held_by_other_already_routed_and_vanished(make_eingang, clerk,
                                                              other_clerk) -> None:
    item = make_eingang()
    seen = _claimed(item, clerk).version
    triage.release(item, _staff(clerk))
    current = triage.claim(item, _staff(clerk)).version
    db.session.commit()
    with pytest.raises(triage.StaleVersion):
        triage.route(item, seen, triage.RouteTarget(_uvg_id()), _staff(clerk))
    db.session.rollback()
    with pytest.raises(triage.HeldByOther):
        triage.route(item, current, triage.RouteTarget(_uvg_id()), _staff(other_clerk))
    db.session.rollback()
    triage.route(item, current, triage.RouteTarget(_uvg_id()), _staff(clerk))
    db.session.commit()
    with pytest.raises(triage.AlreadyDone):
        triage.route(item, current + 1, triage.RouteTarget(_uvg_id()), _staff(clerk))
    db.session.rollback()
    with pytest.raises(triage.EingangNotFound):
        triage.route(999_999, 1, triage.RouteTarget(_uvg_id()), _staff(clerk))
    db.session.rollback()
    assert db.session.scalar(select(func.count(Fall.id))) == 1


def test_request_waits_and_the_answer_brings_the_item_back(make_eingang, clerk,
                                                           create_citizen) -> None:
    citizen = create_citizen()
    item = make_eingang(citizen_id=citizen.id)
    eingang = triage.request_information(item, _claimed(item, clerk).version,
                                         "Geburtsurkunde fehlt", "Bitte senden Sie …",
                                         _staff(clerk))
    db.session.commit()
    assert (eingang.status, eingang.claimed_by_id) == (EingangStatus.WAITING_FOR_CITIZEN, None)
    message = db.session.scalar(select(PostboxMessage).where(PostboxMessage.eingang_id == item))
    assert message is not None
    assert message.kind is PostboxKind.REQUEST
    mark_answered(eingang, SYSTEM)
    db.session.commit()
    assert eingang.status is EingangStatus.NEW
    assert eingang.answered_at is not None
    assert "eingang.citizen_asked" in _actions(item)
    assert "eingang.answered" in _actions(item)


def test_request_without_portal_account_is_refused(make_eingang, clerk) -> None:
    item = make_eingang()
    with pytest.raises(triage.ClearingError):
        triage.request_information(item, _claimed(item, clerk).version, "x", "y", _staff(clerk))
    db.session.rollback()
    assert db.session.get_one(Eingang, item).status is EingangStatus.IN_TRIAGE


def test_reject_with_a_letter_to_the_postbox(make_eingang, clerk, create_citizen) -> None:
    citizen = create_citizen()
    item = make_eingang(citizen_id=citizen.id)
    eingang = triage.reject(item, _claimed(item, clerk).version, RejectionReason.DUPLICATE, "",
                            "Ihr Antrag liegt uns bereits vor.", _staff(clerk))
    db.session.commit()
    assert (eingang.status, eingang.rejection_reason, eingang.rejected_by_id) == (
        EingangStatus.REJECTED, RejectionReason.DUPLICATE, clerk.id)
    letter = db.session.scalar(select(PostboxMessage).where(PostboxMessage.eingang_id == item))
    assert letter is not None
    assert letter.kind is PostboxKind.LETTER
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "eingang.rejected"))
    assert entry is not None
    assert entry.after is not None
    assert entry.after["postbox_message_id"] == letter.id


def test_reject_other_needs_a_text(make_eingang, clerk) -> None:
    item = make_eingang()
    with pytest.raises(triage.ClearingError):
        triage.reject(item, _claimed(item, clerk).version, RejectionReason.OTHER, " ", None,
                      _staff(clerk))
    db.session.rollback()
    assert db.session.get_one(Eingang, item).status is EingangStatus.IN_TRIAGE


def test_bulk_route_takes_the_valid_and_lists_the_rest(make_eingang, clerk,
                                                       other_clerk) -> None:
    good = make_eingang()
    no_rule = make_eingang(service_code=None, subject="Allgemeine Frage")
    held = make_eingang()
    _claimed(held, other_clerk)
    outcome = triage.bulk_route([good, no_rule, held, 424242], None, _staff(clerk))
    db.session.commit()
    assert [item.id for item in outcome.done] == [good]
    assert [item_id for item_id, _ in outcome.refused] == [no_rule, held, 424242]
    assert "Otto Zweiter" in dict(outcome.refused)[held]
    assert db.session.get_one(Eingang, no_rule).status is EingangStatus.NEW
    assert db.session.get_one(Eingang, good).status is EingangStatus.ROUTED
    assert db.session.scalar(select(func.count(Fall.id))) == 1


def test_bulk_assign_hands_items_to_a_colleague(make_eingang, clerk, other_clerk,
                                                caseworker) -> None:
    first, second = make_eingang(), make_eingang()
    _claimed(second, other_clerk)
    outcome = triage.bulk_assign([first, second], _staff(other_clerk), _staff(clerk))
    db.session.commit()
    assert [item.id for item in outcome.done] == [first]
    assert db.session.get_one(Eingang, first).claimed_by_id == other_clerk.id
    with pytest.raises(triage.ClearingError):
        triage.bulk_assign([first], _staff(caseworker), _staff(clerk))


def test_follow_up_of_a_routed_item_goes_straight_to_its_case(make_eingang, clerk) -> None:
    original = make_eingang()
    routed = triage.route(original, _claimed(original, clerk).version,
                          triage.RouteTarget(_uvg_id()), _staff(clerk))
    db.session.commit()
    follow_up = make_eingang(kind=EingangKind.NACHREICHUNG, related_id=original)
    eingang = db.session.get_one(Eingang, follow_up)
    assert eingang is not None
    assert (eingang.status, eingang.fall_id, eingang.routed_automatically) == (
        EingangStatus.ROUTED, routed.fall_id, True)
    entry = db.session.scalar(select(AuditEntry).where(
        AuditEntry.action == "eingang.routed_automatically"))
    assert entry is not None
    assert entry.actor_kind.value == "system"
