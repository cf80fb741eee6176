"""Deleting closed cases once their retention period is over, leaving an anonymous tombstone.

When the period starts: DOMAIN.md §2 leaves the start for UVG files unverified. We count from
the END OF THE CALENDAR YEAR in which the case was closed (the usual rule of German records
schedules, "Ablauf des Jahres, in dem die Akte geschlossen wurde"): a UVG case (10 years)
closed on 14 March 2015 may be deleted from 1 January 2026. This is never earlier than counting
from the day of closing, so a wrong guess keeps a file a little longer, never deletes it early.

What goes: the case, every row that hangs off it (parties, timeline, notes, deadlines, E-Akte
entries, decisions, objections, the intake items routed to it and what hangs off those, such as
the portal's frozen submissions) and every document any of those rows pointed at, blob included
(storage.services.delete_document). The walk follows the foreign keys in the metadata, so a
table a later module adds is covered without editing this file: a row that must not survive its
case points at it with a NOT NULL key; a nullable key is set to NULL instead (the access log,
for one, keeps its entry with the Aktenzeichen but loses the link).

Safe on two nodes at once: each case is deleted in its own transaction after re-reading it with
a row lock (PostgreSQL: FOR UPDATE SKIP LOCKED, so the other node skips it); a case already gone
is skipped, so a second run, or a crashed one rerun, changes nothing twice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import (
    ForeignKey,
    Index,
    Integer,
    Select,
    String,
    Table,
    delete,
    select,
    update,
)
from sqlalchemy.orm import Mapped, mapped_column

from amtsweg.audit.services import SYSTEM, Actor, record
from amtsweg.clock import BERLIN
from amtsweg.db import Base, UTCDateTime, utcnow
from amtsweg.extensions import db
from amtsweg.staff.models import Fachbereich
from backoffice.models import Fall, FallStatus
from storage.models import Document
from storage.services import delete_document

# Rows that reference what is deleted with a NULLABLE key and still go with it: an intake item
# has no case before routing (hence nullable), and a postbox message carrying one of the case's
# letters or answering one of its items is the same social data as the file's copy.
_OWNED_THROUGH_NULLABLE = frozenset({
    ("eingaenge", "fall_id"),
    ("postbox_messages", "document_id"),
    ("postbox_messages", "eingang_id"),
})


class CaseTombstone(Base):
    """What is left of a deleted case: enough for statistics, nothing about a person."""

    __tablename__ = "case_tombstones"

    id: Mapped[int] = mapped_column(primary_key=True)
    fachbereich_id: Mapped[int | None] = mapped_column(
        ForeignKey("fachbereiche.id", ondelete="SET NULL"))
    year_opened: Mapped[int] = mapped_column(Integer)
    year_closed: Mapped[int] = mapped_column(Integer)
    parties: Mapped[int] = mapped_column(Integer, default=0)
    events: Mapped[int] = mapped_column(Integer, default=0)
    documents: Mapped[int] = mapped_column(Integer, default=0)
    decisions: Mapped[int] = mapped_column(Integer, default=0)
    intake_items: Mapped[int] = mapped_column(Integer, default=0)
    deleted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    retention_rule: Mapped[str] = mapped_column(String(60), default="end_of_year_closed")

    # No check that closing follows opening: a tombstone must be writable whatever the case
    # row held, or one odd record would stop every deletion after it.
    __table_args__ = (
        Index("ix_case_tombstones_fachbereich_year", "fachbereich_id", "year_closed"),
    )


@dataclass
class DeletionPlan:
    """Every row (table name → ids) and document a case's deletion removes."""

    fall_id: int
    rows: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    document_ids: set[int] = field(default_factory=set)

    def count(self, table_name: str) -> int:
        return len(self.rows.get(table_name, ()))


@dataclass(frozen=True)
class DueCase:
    fall_id: int
    aktenzeichen: str
    fachbereich: str
    year_opened: int
    year_closed: int
    plan: DeletionPlan


def _year(moment: datetime) -> int:
    return moment.astimezone(BERLIN).year


def deletion_cutoff(retention_years: int, today: date) -> datetime:
    """Cases closed before this moment are due: the period of N years ends on 31 December of
    (year closed + N), so on ``today`` every case closed before 1 January (today.year - N) is
    past it."""
    return datetime(today.year - retention_years, 1, 1, tzinfo=BERLIN)


def _due_query(fachbereich: Fachbereich, today: date) -> Select[int]:
    return (select(Fall.id).where(Fall.fachbereich_id == fachbereich.id,
                                  Fall.status == FallStatus.CLOSED,
                                  Fall.closed_at < deletion_cutoff(fachbereich.retention_years,
                                                                   today))
            .order_by(Fall.id))


def due_case_ids(today: date) -> list[int]:
    ids: list[int] = []
    for fachbereich in db.session.scalars(select(Fachbereich).order_by(Fachbereich.id)):
        ids += db.session.scalars(_due_query(fachbereich, today))
    return ids


# --- the plan: a walk along the foreign keys --------------------------------------------------


def _tables() -> dict[str, Table]:
    return dict(Base.metadata.tables)


def _referencing(target: str) -> Iterator[tuple[Table, str, bool]]:
    """(table, column, nullable) for every column whose foreign key points at ``target``."""
    for table in Base.metadata.sorted_tables:
        for fk in table.foreign_keys:
            if fk.column.table.name == target and fk.parent.table is table:
                yield table, fk.parent.name, bool(fk.parent.nullable)


def _document_columns(table: Table) -> list[str]:
    return [fk.parent.name for fk in table.foreign_keys if fk.column.table.name == "documents"]


def _walk(plan: DeletionPlan, queue: list[tuple[str, set[int]]]) -> None:
    """Add every row that must go with the queued rows (NOT NULL or owned keys), transitively."""
    while queue:
        target, ids = queue.pop()
        for table, column_name, nullable in _referencing(target):
            owned = (table.name, column_name) in _OWNED_THROUGH_NULLABLE
            if (nullable and not owned) or table.name == "documents":
                continue
            found = set(db.session.scalars(select(table.c.id)
                                           .where(table.c[column_name].in_(ids))))
            new = found - plan.rows[table.name]
            if new:
                plan.rows[table.name] |= new
                queue.append((table.name, new))


def _documents_of(plan: DeletionPlan) -> set[int]:
    tables = _tables()
    found: set[int] = set()
    for table_name, ids in plan.rows.items():
        table = tables[table_name]
        for column_name in _document_columns(table):
            found |= {value for value in db.session.scalars(
                select(table.c[column_name]).where(table.c.id.in_(ids))) if value is not None}
    return found


def _owned_by_documents(plan: DeletionPlan, document_ids: set[int]
                        ) -> list[tuple[str, set[int]]]:
    """Rows that go with one of these documents through an owned nullable key (a postbox
    message carrying the Bescheid); they join the plan and are walked in turn."""
    queue: list[tuple[str, set[int]]] = []
    if not document_ids:
        return queue
    for table, column_name, _nullable in _referencing("documents"):
        if (table.name, column_name) not in _OWNED_THROUGH_NULLABLE:
            continue
        found = set(db.session.scalars(select(table.c.id)
                                       .where(table.c[column_name].in_(document_ids))))
        new = found - plan.rows[table.name]
        if new:
            plan.rows[table.name] |= new
            queue.append((table.name, new))
    return queue


def plan_deletion(fall_id: int) -> DeletionPlan:
    """Every row and document that goes with the case (see the module docstring)."""
    plan = DeletionPlan(fall_id)
    plan.rows["faelle"].add(fall_id)
    queue: list[tuple[str, set[int]]] = [("faelle", {fall_id})]
    while queue:
        _walk(plan, queue)
        new_documents = _documents_of(plan) - plan.document_ids
        plan.document_ids |= new_documents
        queue = _owned_by_documents(plan, new_documents)
    return plan


def _detach_nullable(plan: DeletionPlan, target: str, ids: set[int]) -> None:
    """Set to NULL every nullable key outside the plan that points at rows about to go."""
    for table, column_name, nullable in _referencing(target):
        if not nullable or (table.name, column_name) in _OWNED_THROUGH_NULLABLE:
            continue
        own = plan.rows.get(table.name, set())
        statement = update(table).where(table.c[column_name].in_(ids)).values(
            {column_name: None})
        if own:
            statement = statement.where(table.c.id.not_in(own))
        db.session.execute(statement)


def _still_referenced(document_id: int, plan: DeletionPlan) -> bool:
    """True if a NOT NULL key outside the plan still needs the document (then it stays)."""
    for table, column_name, nullable in _referencing("documents"):
        if nullable:
            continue
        statement = select(table.c.id).where(table.c[column_name] == document_id)
        own = plan.rows.get(table.name)
        if own:
            statement = statement.where(table.c.id.not_in(own))
        if db.session.scalar(statement.limit(1)) is not None:
            return True
    return False


def _execute(plan: DeletionPlan, actor: Actor) -> int:
    """Delete the plan's rows (children first) and its documents; return documents deleted."""
    for table_name, ids in plan.rows.items():
        _detach_nullable(plan, table_name, ids)
    order = [table for table in reversed(Base.metadata.sorted_tables)
             if plan.rows.get(table.name)]
    for table in order:
        ids = plan.rows[table.name]
        # Self-references inside the plan (a decision correcting another, an item following
        # another) would block the delete: cut them first.
        for fk in table.foreign_keys:
            if fk.column.table is table and fk.parent.nullable:
                db.session.execute(update(table).where(table.c.id.in_(ids))
                                   .values({fk.parent.name: None}))
        db.session.execute(delete(table).where(table.c.id.in_(ids)))
    deleted = 0
    for document_id in sorted(plan.document_ids):
        if _still_referenced(document_id, plan):
            continue
        _detach_nullable(plan, "documents", {document_id})
        document = db.session.get(Document, document_id)
        if document is not None:
            delete_document(document, actor)
            deleted += 1
    return deleted


# --- the run ----------------------------------------------------------------------------------


def _lock_case(fall_id: int) -> Fall | None:
    """Re-read the case with a row lock; None if it is gone or another node holds it."""
    statement = select(Fall).where(Fall.id == fall_id).execution_options(populate_existing=True)
    if db.session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update(skip_locked=True, of=Fall)
    return db.session.scalar(statement)


def describe(fall: Fall) -> DueCase:
    assert fall.closed_at is not None
    return DueCase(fall_id=fall.id, aktenzeichen=fall.aktenzeichen,
                   fachbereich=fall.fachbereich.name, year_opened=_year(fall.opened_at),
                   year_closed=_year(fall.closed_at), plan=plan_deletion(fall.id))


def due_cases(today: date) -> list[DueCase]:
    """What a run on ``today`` would delete (the dry run); changes nothing."""
    cases = []
    for fall_id in due_case_ids(today):
        fall = db.session.get(Fall, fall_id)
        if fall is not None:
            cases.append(describe(fall))
    return cases


def _still_due(fall: Fall, today: date) -> bool:
    return (fall.status is FallStatus.CLOSED and fall.closed_at is not None
            and fall.closed_at < deletion_cutoff(fall.fachbereich.retention_years, today))


def delete_case(fall_id: int, today: date, actor: Actor = SYSTEM) -> CaseTombstone | None:
    """Delete one due case and leave its tombstone, in one transaction; None if not (or no
    longer) due or held by another node."""
    try:
        fall = _lock_case(fall_id)
        if fall is None or not _still_due(fall, today):
            db.session.rollback()
            return None
        due = describe(fall)
        plan = due.plan
        tombstone = CaseTombstone(
            fachbereich_id=fall.fachbereich_id, year_opened=due.year_opened,
            year_closed=due.year_closed, parties=plan.count("parties"),
            events=plan.count("fall_events"), decisions=plan.count("decisions"),
            intake_items=plan.count("eingaenge"), documents=len(plan.document_ids))
        db.session.expunge(fall)
        documents_deleted = _execute(plan, actor)
        tombstone.documents = documents_deleted
        db.session.add(tombstone)
        db.session.flush()
        # No personal data: ids, years and counts only (no Aktenzeichen, no names).
        record(actor, "retention.case_deleted", "fall", fall_id,
               after={"tombstone_id": tombstone.id, "fachbereich_id": tombstone.fachbereich_id,
                      "year_opened": tombstone.year_opened,
                      "year_closed": tombstone.year_closed,
                      "rows": {name: len(ids) for name, ids in sorted(plan.rows.items())},
                      "documents": documents_deleted})
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    db.session.expire_all()
    return tombstone


def run_retention(today: date, actor: Actor = SYSTEM) -> list[CaseTombstone]:
    """Delete every due case, each in its own transaction; rerunnable at any time."""
    tombstones = []
    for fall_id in due_case_ids(today):
        db.session.rollback()  # end the read transaction: each case takes its own
        tombstone = delete_case(fall_id, today, actor)
        if tombstone is not None:
            tombstones.append(tombstone)
    return tombstones
