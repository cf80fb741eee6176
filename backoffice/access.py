"""The access log (§ 35 SGB I): who looked into which case file or document, and when.

Social data may be read only by the staff who need it; the office must be able to show who
did. Every case view and every document download by staff writes one entry here, a denied
attempt too. The log is append-only: the mapper refuses any UPDATE or DELETE of an entry, so
not even a bug in a later feature can rewrite who read what.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from flask import abort
from sqlalchemy import bindparam, event, select
from sqlalchemy.orm import Mapper, joinedload

from amtsweg.clock import BERLIN
from amtsweg.extensions import db
from amtsweg.staff.models import Staff
from backoffice.models import AccessKind, AccessLogEntry, Fall
from backoffice.queries import fachbereich_scope
from storage.models import Document

PAGE_SIZE = 100


class AccessLogIsAppendOnly(RuntimeError):
    pass


@event.listens_for(AccessLogEntry, "before_update")
def _refuse_update(_mapper: Mapper[Any], _connection: Any, _target: AccessLogEntry) -> None:
    raise AccessLogIsAppendOnly("access log entries are never changed")


@event.listens_for(AccessLogEntry, "before_delete")
def _refuse_delete(_mapper: Mapper[Any], _connection: Any, _target: AccessLogEntry) -> None:
    raise AccessLogIsAppendOnly("access log entries are never deleted")


# The responsible colleague is shown by name only; without lazyload("*") loading them would
# pull their roles and Fachbereiche too (two queries per page for nothing). The parties come in
# the same statement: every case page shows them. Built once, like the case file's statements.
_CASE_WITH_PARTIES = (select(Fall).options(joinedload(Fall.responsible).lazyload("*"),
                                           joinedload(Fall.parties))
                      .where(Fall.id == bindparam("fall_id")))


def case_for(staff: Staff, fall_id: int, what: AccessKind = AccessKind.CASE_VIEW) -> Fall:
    """The case, if ``staff`` belongs to its Fachbereich; for every case and decision route.

    Unknown: 404. Another Fachbereich's case: 403, and the attempt is logged and committed
    before answering, so guessing URLs leaves a trace (§ 35 SGB I).
    """
    fall = db.session.execute(_CASE_WITH_PARTIES, {"fall_id": fall_id}).unique().scalar()
    if fall is None:
        abort(404)
    if not admits(staff, fall, what):
        abort(403)
    return fall


def admits(staff: Staff, fall: Fall, what: AccessKind = AccessKind.CASE_VIEW) -> bool:
    """Whether ``staff`` belongs to the case's Fachbereich; a refusal is logged and committed
    at once, so the attempt stays on record whatever the caller does next (§ 35 SGB I)."""
    if fall.fachbereich_id in fachbereich_scope(staff):
        return True
    db.session.rollback()
    log_access(staff, fall, what, granted=False)
    db.session.commit()
    return False


def log_access(staff: Staff, fall: Fall, what: AccessKind, *, document: Document | None = None,
               granted: bool = True) -> AccessLogEntry:
    """Write one entry; the caller commits (a denied attempt commits before answering 403)."""
    entry = AccessLogEntry(staff_id=staff.id, staff_name=staff.full_name[:200], fall_id=fall.id,
                           aktenzeichen=fall.aktenzeichen,
                           document_id=document.id if document is not None else None,
                           what=what, granted=granted)
    db.session.add(entry)
    db.session.flush()
    return entry


@dataclass(frozen=True)
class AccessFilter:
    staff_id: int | None = None
    aktenzeichen: str | None = None
    day_from: date | None = None
    day_to: date | None = None


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, BERLIN)


def access_entries(filters: AccessFilter, *, before_id: int | None = None,
                   limit: int = PAGE_SIZE) -> list[AccessLogEntry]:
    """Entries newest first, filtered; keyset pagination by id (``before_id``)."""
    query = select(AccessLogEntry).order_by(AccessLogEntry.id.desc()).limit(limit)
    if filters.staff_id is not None:
        query = query.where(AccessLogEntry.staff_id == filters.staff_id)
    if filters.aktenzeichen:
        query = query.where(AccessLogEntry.aktenzeichen == filters.aktenzeichen)
    if filters.day_from is not None:
        query = query.where(AccessLogEntry.at >= _start_of(filters.day_from))
    if filters.day_to is not None:
        query = query.where(AccessLogEntry.at < _start_of(filters.day_to + timedelta(days=1)))
    if before_id is not None:
        query = query.where(AccessLogEntry.id < before_id)
    return list(db.session.scalars(query))
