"""Retention: the dry run lists and changes nothing; the real run deletes rows and blobs, leaves
anonymous tombstones, and a second run changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.cli import ScriptInfo
from sqlalchemy import Table, create_engine, func, select, text

from amtsweg.audit.models import AuditEntry
from amtsweg.audit.services import SYSTEM
from amtsweg.citizens.models import Citizen
from amtsweg.db import Base
from amtsweg.extensions import db
from amtsweg.postbox.models import PostboxMessage
from amtsweg.staff.models import Staff
from backoffice.access import log_access
from backoffice.cli import retention_group
from backoffice.decisions.models import Decision, Widerspruch
from backoffice.decisions.services import issue_decision, record_objection
from backoffice.models import (
    AccessKind,
    AccessLogEntry,
    Fall,
    FallEvent,
    FallStatus,
    Party,
    Vermerk,
)
from backoffice.retention import CaseTombstone, delete_case, run_retention
from storage.blobstore import get_blobstore
from storage.models import Document
from tests.backoffice.decisions.conftest import draft_for, submit_and_route
from tests.conftest import POSTGRES_URL, _normalise

TODAY = "2026-11-26"


def close(fall: Fall, when: datetime) -> None:
    fall = db.session.merge(fall)
    fall.status = FallStatus.CLOSED
    fall.opened_at = when.replace(year=when.year - 2)
    fall.closed_at = when
    db.session.commit()


def count(table_name: str) -> int:
    table: Table = Base.metadata.tables[table_name]
    return db.session.scalar(select(func.count()).select_from(table)) or 0


def snapshot() -> dict[str, int]:
    return {table.name: count(table.name) for table in Base.metadata.sorted_tables}


def invoke(app: Flask, *args: str) -> str:
    result = CliRunner().invoke(retention_group, list(args),
                                obj=ScriptInfo(create_app=lambda: app))
    assert result.exit_code == 0, result.output
    return result.output


def full_case(citizen: Citizen, clerk: Staff, caseworker: Staff) -> tuple[Fall, list[str]]:
    """A case as it looks after years: routed from the portal, decided, objected, noted."""
    fall, _submission = submit_and_route(citizen, clerk)
    decision = draft_for(fall)
    issue_decision(decision, SYSTEM, today=date(2014, 5, 2))
    record_objection(fall, decision, date(2014, 5, 20), SYSTEM, today=date(2014, 6, 1))
    db.session.add(Vermerk(fall_id=fall.id, author_name="Erika", text="Anruf der Mutter"))
    log_access(db.session.merge(caseworker), fall, AccessKind.CASE_VIEW)
    db.session.commit()
    keys = list(db.session.scalars(select(Document.storage_key)))
    return fall, keys


def test_dry_run_lists_due_cases_and_changes_nothing(
        app: Flask, app_ctx: None, create_case: Callable[..., Fall],
        create_citizen: Callable[..., Citizen], clerk: Staff, caseworker: Staff) -> None:
    due, _keys = full_case(create_citizen(), clerk, caseworker)
    close(due, datetime(2015, 3, 14, 10, tzinfo=UTC))
    # Closed in 2016: its ten years run to the end of 2026, so it stays this year.
    not_yet = create_case()
    close(not_yet, datetime(2016, 12, 31, 12, tzinfo=UTC))
    still_open = create_case()
    # Vormundschaft keeps files for 30 years.
    guardianship = create_case(fachbereich="vormundschaft")
    close(guardianship, datetime(2000, 6, 1, tzinfo=UTC))
    before = snapshot()

    output = invoke(app, "run", "--dry-run", "--today", TODAY)

    assert "1 case(s) would be deleted" in output
    assert due.aktenzeichen in output
    for kept in (not_yet, still_open, guardianship):
        assert kept.aktenzeichen not in output
    assert "decisions 1" in output
    assert "eingaenge 1" in output
    db.session.expire_all()
    assert snapshot() == before


def test_real_run_deletes_rows_and_blobs_and_leaves_a_tombstone(
        app: Flask, app_ctx: None, create_case: Callable[..., Fall],
        create_citizen: Callable[..., Citizen], clerk: Staff, caseworker: Staff) -> None:
    citizen = create_citizen()
    fall, keys = full_case(citizen, clerk, caseworker)
    fall_id, aktenzeichen = fall.id, fall.aktenzeichen
    close(fall, datetime(2015, 3, 14, 10, tzinfo=UTC))
    kept = create_case()
    close(kept, datetime(2016, 12, 31, 12, tzinfo=UTC))
    assert keys
    store = get_blobstore()
    assert all(store.exists(key) for key in keys)
    kept_events = db.session.scalar(select(func.count(FallEvent.id)).where(
        FallEvent.fall_id == kept.id))

    output = invoke(app, "run", "--today", TODAY)

    assert "Deleted 1 case(s)" in output
    db.session.expire_all()
    assert db.session.get(Fall, fall_id) is None
    assert db.session.get(Fall, kept.id) is not None
    assert db.session.scalar(select(func.count(Party.id)).where(Party.fall_id == fall_id)) == 0
    for table_name in ("decisions", "widersprueche", "vermerke", "eingaenge",
                       "submissions", "case_documents"):
        assert count(table_name) == 0, table_name
    assert count("fall_events") == kept_events  # only the kept case's own timeline
    assert db.session.scalar(select(func.count(Document.id))) == 0
    assert not any(store.exists(key) for key in keys)
    assert db.session.scalar(select(func.count(PostboxMessage.id))) == 0
    # The access log keeps who looked, but no longer points at the case.
    entry = db.session.scalar(select(AccessLogEntry))
    assert entry is not None
    assert entry.fall_id is None
    # The citizen's account is the citizen's, not the case's.
    assert db.session.get(Citizen, citizen.id) is not None

    tombstone = db.session.scalar(select(CaseTombstone))
    assert tombstone is not None
    assert (tombstone.year_opened, tombstone.year_closed) == (2013, 2015)
    assert tombstone.decisions == 1
    assert tombstone.intake_items == 1
    assert tombstone.parties == 2
    assert tombstone.documents == len(keys)
    audit = db.session.scalar(select(AuditEntry).where(
        AuditEntry.action == "retention.case_deleted"))
    assert audit is not None
    assert aktenzeichen not in str(audit.after)
    assert "Müller" not in str(audit.after)


def test_a_second_run_changes_nothing(
        app: Flask, app_ctx: None, create_case: Callable[..., Fall]) -> None:
    fall = create_case()
    close(fall, datetime(2010, 1, 5, tzinfo=UTC))
    first = run_retention(date(2026, 11, 26))
    assert len(first) == 1
    db.session.expire_all()
    before = snapshot()
    assert run_retention(date(2026, 11, 26)) == []
    db.session.expire_all()
    assert snapshot() == before
    assert invoke(app, "run", "--dry-run", "--today", TODAY).startswith(
        "Dry run for 2026-11-26: 0 case(s)")


def test_the_period_runs_to_the_end_of_the_year_closed(
        app_ctx: None, create_case: Callable[..., Fall]) -> None:
    fall = create_case()
    # Closed on 1 January 2016 (Berlin): ten years end on 31 December 2026.
    close(fall, datetime(2015, 12, 31, 23, 30, tzinfo=UTC))
    assert run_retention(date(2026, 12, 31)) == []
    assert len(run_retention(date(2027, 1, 1))) == 1


def test_objections_and_decisions_do_not_block_each_other(
        app_ctx: None, create_case: Callable[..., Fall]) -> None:
    fall = create_case()
    decision = draft_for(fall)
    issue_decision(decision, SYSTEM, posted_on=date(2014, 2, 3), today=date(2014, 2, 3))
    widerspruch = record_objection(fall, decision, date(2014, 2, 20), SYSTEM,
                                   today=date(2014, 3, 1))
    from backoffice.decisions.services import remedy_objection

    remedy_objection(widerspruch, SYSTEM)  # a second decision that refers to the first
    db.session.commit()
    close(fall, datetime(2014, 6, 1, tzinfo=UTC))
    assert len(run_retention(date(2026, 11, 26))) == 1
    assert db.session.scalar(select(func.count(Decision.id))) == 0
    assert db.session.scalar(select(func.count(Widerspruch.id))) == 0


@pytest.mark.skipif(not POSTGRES_URL, reason="row locks with SKIP LOCKED need PostgreSQL")
def test_a_case_another_node_is_deleting_is_skipped(
        app_ctx: None, create_case: Callable[..., Fall]) -> None:
    fall = create_case()
    close(fall, datetime(2010, 1, 5, tzinfo=UTC))
    other_node = create_engine(_normalise(POSTGRES_URL))
    try:
        with other_node.connect() as connection:
            transaction = connection.begin()
            connection.execute(text("SELECT id FROM faelle WHERE id = :id FOR UPDATE"),
                               {"id": fall.id})
            assert delete_case(fall.id, date(2026, 11, 26)) is None
            assert db.session.get(Fall, fall.id) is not None
            transaction.rollback()
        assert delete_case(fall.id, date(2026, 11, 26)) is not None
        assert db.session.scalar(select(func.count(CaseTombstone.id))) == 1
    finally:
        other_node.dispose()
