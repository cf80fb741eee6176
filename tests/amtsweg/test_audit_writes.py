"""When and how audit entries reach the database: with the transaction's flush, in one INSERT,
naming ids the flush gave, and never for a change that was rolled back (a savepoint's too)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import event, select

from amtsweg.audit.models import AuditEntry
from amtsweg.audit.services import SYSTEM, record
from amtsweg.extensions import db
from storage.models import Document


def new_document() -> Document:
    return Document(filename="brief.pdf", media_type="application/pdf", size=10,
                    sha256="0" * 64, storage_key=secrets.token_hex(16), owner_kind="system")


def logged() -> list[tuple[str, str | None, dict[str, object] | None]]:
    return [(entry.action, entry.object_id, entry.after)
            for entry in db.session.scalars(select(AuditEntry).order_by(AuditEntry.id))]


@pytest.fixture
def audit_inserts(app_ctx: None) -> Iterator[list[int]]:
    """The number of rows of each INSERT into the log, as the driver was handed them."""
    counts: list[int] = []

    def count(_conn: object, _cursor: object, statement: str, parameters: object,
              _context: object, executemany: bool) -> None:
        if statement.startswith("INSERT INTO audit_entries"):
            counts.append(len(parameters) if executemany else 1)  # type: ignore[arg-type]

    event.listen(db.engine, "before_cursor_execute", count)
    yield counts
    event.remove(db.engine, "before_cursor_execute", count)


def test_an_entry_names_the_id_its_object_gets_and_reads_values_when_written(
        audit_inserts: list[int]) -> None:
    document = new_document()
    db.session.add(document)
    record(SYSTEM, "document.stored", "document", document,
           after=lambda: {"id_then": document.id})
    record(SYSTEM, "note", "case", 7, after={"plain": True})
    assert audit_inserts == []  # nothing is written before the flush
    db.session.commit()
    assert logged() == [("document.stored", str(document.id), {"id_then": document.id}),
                        ("note", "7", {"plain": True})]
    assert audit_inserts == [2]  # both in one statement


def test_an_entry_alone_is_written_by_the_commit(audit_inserts: list[int]) -> None:
    record(SYSTEM, "case.viewed", "case", 3)
    db.session.commit()
    assert logged() == [("case.viewed", "3", None)]


def test_a_query_of_the_log_sees_what_this_transaction_recorded(app_ctx: None) -> None:
    record(SYSTEM, "case.viewed", "case", 4)
    assert logged() == [("case.viewed", "4", None)]
    db.session.rollback()
    assert logged() == []


def test_a_rollback_drops_the_entries(app_ctx: None) -> None:
    db.session.add(new_document())
    record(SYSTEM, "document.stored", "document", 1)
    db.session.flush()
    db.session.rollback()
    record(SYSTEM, "after", "case", 2)
    db.session.commit()
    assert logged() == [("after", "2", None)]


def test_a_rolled_back_savepoint_takes_its_entries_and_keeps_the_ones_before_it(
        app_ctx: None) -> None:
    record(SYSTEM, "before the savepoint", "case", 1)  # still unwritten when the savepoint opens
    savepoint = db.session.begin_nested()
    db.session.add(new_document())
    record(SYSTEM, "inside the savepoint", "case", 2)
    db.session.flush()  # writes the entry of the savepoint, not the older one, into it
    savepoint.rollback()
    with db.session.begin_nested():
        record(SYSTEM, "in a released savepoint", "case", 3)
    db.session.commit()
    written = db.session.scalars(select(AuditEntry).order_by(AuditEntry.at)).all()
    assert [entry.action for entry in written] == [
        "before the savepoint", "in a released savepoint"]


def test_entries_of_many_savepoints_are_written_as_each_is_released(
        app_ctx: None, audit_inserts: list[int]) -> None:
    for _ in range(3):
        with db.session.begin_nested():
            document = new_document()
            db.session.add(document)
            record(SYSTEM, "document.stored", "document", document)
    assert audit_inserts == [1, 1, 1]  # nothing waits in memory for the final commit
    db.session.commit()
    assert len(logged()) == 3


def test_an_entry_naming_an_object_that_is_never_saved_stops_the_commit(app_ctx: None) -> None:
    record(SYSTEM, "document.stored", "document", new_document())
    with pytest.raises(RuntimeError, match="never saved"):
        db.session.commit()
    db.session.rollback()
    assert logged() == []


def test_the_entry_keeps_what_it_was_given(app: Flask) -> None:
    with app.test_request_context("/", environ_base={"REMOTE_ADDR": "192.0.2.7"}):
        entry = record(SYSTEM, "login", "staff", 5, before={"password": "geheim", "name": "x"})
        db.session.commit()
        [row] = db.session.scalars(select(AuditEntry)).all()
        assert (row.remote_addr, row.before, row.at) == ("192.0.2.7", {"name": "x"}, entry.at)
