"""Claim and release: atomic, with expiry, the holder releases, a lead releases anyone's."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from amtsweg.audit.models import AuditEntry
from amtsweg.db import utcnow
from amtsweg.extensions import db
from amtsweg.staff.models import Staff
from clearing import triage
from clearing.cli import clearing_group
from clearing.models import Eingang, EingangStatus


def _actions(eingang_id: int) -> list[str]:
    return list(db.session.scalars(select(AuditEntry.action).where(
        AuditEntry.object_type == "eingang", AuditEntry.object_id == str(eingang_id))
        .order_by(AuditEntry.id)))


def _staff(staff: Staff) -> Staff:
    found = db.session.get_one(Staff, staff.id)
    assert found is not None
    return found


@pytest.mark.usefixtures("app_ctx")
def test_second_clerk_is_told_who_holds_the_item(make_eingang, clerk, other_clerk) -> None:
    item = make_eingang()
    claimed = triage.claim(item, _staff(clerk))
    db.session.commit()
    assert (claimed.status, claimed.claimed_by_id) == (EingangStatus.IN_TRIAGE, clerk.id)
    with pytest.raises(triage.HeldByOther) as refused:
        triage.claim(item, _staff(other_clerk))
    assert refused.value.holder == "Clara Clearing"
    db.session.rollback()
    assert _actions(item) == ["eingang.created", "eingang.claimed"]


@pytest.mark.usefixtures("app_ctx")
def test_an_idle_claim_expires_and_can_be_taken(make_eingang, clerk, other_clerk) -> None:
    item = make_eingang()
    triage.claim(item, _staff(clerk), now=utcnow() - timedelta(minutes=31))
    db.session.commit()
    taken = triage.claim(item, _staff(other_clerk))
    db.session.commit()
    assert taken.claimed_by_id == other_clerk.id


@pytest.mark.usefixtures("app_ctx")
def test_release_by_holder_and_by_lead_only(make_eingang, clerk, other_clerk, lead) -> None:
    item = make_eingang()
    triage.claim(item, _staff(clerk))
    db.session.commit()
    with pytest.raises(triage.HeldByOther):
        triage.release(item, _staff(other_clerk))
    db.session.rollback()
    released = triage.release(item, _staff(lead))
    db.session.commit()
    assert (released.status, released.claimed_by_id) == (EingangStatus.NEW, None)
    triage.claim(item, _staff(clerk))
    triage.release(item, _staff(clerk))
    db.session.commit()
    assert _actions(item).count("eingang.released") == 2


def test_cli_releases_expired_claims(app: Flask, make_eingang, clerk) -> None:
    fresh, idle = make_eingang(), make_eingang()
    with app.app_context():
        triage.claim(fresh, _staff(clerk))
        triage.claim(idle, _staff(clerk), now=utcnow() - timedelta(hours=2))
        db.session.commit()
    result = app.test_cli_runner().invoke(clearing_group, ["release-expired"])
    assert result.exit_code == 0, result.output
    assert "1 claim(s) released." in result.output
    with app.app_context():
        assert db.session.get_one(Eingang, idle).status is EingangStatus.NEW
        assert db.session.get_one(Eingang, fresh).status is EingangStatus.IN_TRIAGE
        assert "eingang.claim_expired" in _actions(idle)



def test_concurrent_claims_have_exactly_one_winner(app: Flask, make_eingang,
                                                   create_staff) -> None:
    item = make_eingang()
    clerks = [create_staff(f"c{i}", roles=("clearing",), fachbereiche=()) for i in range(12)]
    barrier = threading.Barrier(len(clerks))
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt(staff: Staff) -> None:
        with app.app_context():
            member = _staff(staff)
            barrier.wait()
            try:
                triage.claim(item, member)
                db.session.commit()
                result = "won"
            except triage.HeldByOther:
                db.session.rollback()
                result = "lost"
            finally:
                db.session.remove()
            with lock:
                outcomes.append(result)

    threads = [threading.Thread(target=attempt, args=(staff,)) for staff in clerks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["lost"] * 11 + ["won"]
    with app.app_context():
        assert _actions(item).count("eingang.claimed") == 1
