"""Finding cases: the search helpers clearing's matching and the case lists use.

They return the minimal facts of a case (Aktenzeichen, Fachbereich, status, the parties' names,
roles and birth dates), which is what the clearing office may see of any Fachbereich's case to
route an item. Opening the case file itself is for the Fachbereich's staff only (§ 35 SGB I):
callers showing cases to caseworkers pass ``fachbereich_ids=fachbereich_scope(staff)``.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Row, Select, and_, bindparam, column, exists, func, or_, select, table
from sqlalchemy.orm import joinedload

from amtsweg.extensions import db
from amtsweg.staff.models import Fachbereich, Staff
from backoffice.models import (
    AKTENZEICHEN_PATTERN,
    CaseDocument,
    DocumentOrigin,
    Fall,
    FallEvent,
    FallStatus,
    Party,
    PartyRole,
    PartyVersion,
    Vermerk,
    Wiedervorlage,
    name_key,
)
from ihv.codes import is_valid_kassenzeichen, normalise_kassenzeichen
from ihv.models import Sollstellung

# A name search across a state-wide office can hit many people called Anna Müller; a list that
# long helps nobody, so the search stops and the clerk narrows it (birth date, first name).
DEFAULT_LIMIT = 50


@dataclass(frozen=True)
class PartyFacts:
    role: PartyRole
    first_name: str
    last_name: str
    birth_date: date | None


@dataclass(frozen=True)
class CaseFacts:
    """What anyone routing an item may see of a case, whatever its Fachbereich."""

    fall_id: int
    aktenzeichen: str
    fachbereich_id: int
    fachbereich_name: str
    status: FallStatus
    parties: tuple[PartyFacts, ...]
    # The roles in which the searched person appears in this case (empty for other searches).
    matched_roles: frozenset[PartyRole] = frozenset()


def fachbereich_scope(staff: Staff) -> frozenset[int]:
    """The Fachbereiche whose cases ``staff`` may list and open (§ 35 SGB I)."""
    return staff.fachbereich_ids


def _scoped(query: Select[int, PartyRole],
            fachbereich_ids: Collection[int] | None) -> Select[int, PartyRole]:
    if fachbereich_ids is None:
        return query
    return query.join(Fall, Fall.id == Party.fall_id).where(
        Fall.fachbereich_id.in_(list(fachbereich_ids)))


def case_facts(fall_ids: Iterable[int],
               matched_roles: dict[int, frozenset[PartyRole]] | None = None) -> list[CaseFacts]:
    """The facts of the given cases, newest first, in two indexed queries."""
    ids = sorted(set(fall_ids))
    if not ids:
        return []
    rows = db.session.execute(
        select(Fall.id, Fall.aktenzeichen, Fall.fachbereich_id, Fachbereich.name, Fall.status)
        .join(Fachbereich, Fachbereich.id == Fall.fachbereich_id)
        .where(Fall.id.in_(ids)).order_by(Fall.opened_at.desc(), Fall.id.desc())).all()
    parties: dict[int, list[PartyFacts]] = {fall_id: [] for fall_id in ids}
    for fall_id, role, first_name, last_name, birth_date in db.session.execute(
            select(Party.fall_id, Party.role, Party.first_name, Party.last_name,
                   Party.birth_date).where(Party.fall_id.in_(ids)).order_by(Party.id)):
        parties[fall_id].append(PartyFacts(role, first_name, last_name, birth_date))
    roles = matched_roles or {}
    return [CaseFacts(fall_id=row[0], aktenzeichen=row[1], fachbereich_id=row[2],
                      fachbereich_name=row[3], status=row[4], parties=tuple(parties[row[0]]),
                      matched_roles=roles.get(row[0], frozenset()))
            for row in rows]


def cases_by_party(
    last_name: str,
    first_name: str | None = None,
    birth_date: date | None = None,
    *,
    roles: Collection[PartyRole] | None = None,
    fachbereich_ids: Collection[int] | None = None,
    limit: int = DEFAULT_LIMIT,
) -> list[CaseFacts]:
    """Cases in which a person of that name (and birth date, if given) appears.

    Names are compared folded (case, ä/ae, ß/ss, accents, hyphens), through the indexed key
    columns, so "MUELLER" finds "Müller". ``fachbereich_ids=None`` searches every Fachbereich
    (clearing); a caseworker's search passes ``fachbereich_scope(staff)``.
    """
    last_key = name_key(last_name)
    if not last_key:
        return []
    query = select(Party.fall_id, Party.role).where(Party.last_name_key == last_key)
    first_key = name_key(first_name) if first_name else ""
    if first_key:
        query = query.where(Party.first_name_key == first_key)
    if birth_date is not None:
        query = query.where(Party.birth_date == birth_date)
    if roles is not None:
        query = query.where(Party.role.in_([PartyRole(role) for role in roles]))
    query = _scoped(query, fachbereich_ids).order_by(Party.fall_id.desc()).limit(limit * 4)
    matched: dict[int, set[PartyRole]] = {}
    for fall_id, role in db.session.execute(query):
        if fall_id in matched or len(matched) < limit:
            matched.setdefault(fall_id, set()).add(role)
    return case_facts(matched, {fall_id: frozenset(found) for fall_id, found in matched.items()})


def normalise_aktenzeichen(text: str) -> str | None:
    """The Aktenzeichen in canonical form, or None if ``text`` is not one."""
    match = AKTENZEICHEN_PATTERN.fullmatch(text.strip().upper())
    return match.group(0) if match else None


def case_by_aktenzeichen(aktenzeichen: str, *,
                         fachbereich_ids: Collection[int] | None = None) -> CaseFacts | None:
    canonical = normalise_aktenzeichen(aktenzeichen)
    if canonical is None:
        return None
    query = select(Fall.id).where(Fall.aktenzeichen == canonical)
    if fachbereich_ids is not None:
        query = query.where(Fall.fachbereich_id.in_(list(fachbereich_ids)))
    fall_id = db.session.scalar(query)
    if fall_id is None:
        return None
    return case_facts([fall_id])[0]


def aktenzeichen_in(text: str, limit: int = 10) -> list[str]:
    """The Aktenzeichen quoted in a free text (a subject line, a message), in order, once each."""
    found: list[str] = []
    for match in AKTENZEICHEN_PATTERN.finditer(text.upper()):
        if match.group(0) not in found:
            found.append(match.group(0))
        if len(found) >= limit:
            break
    return found


# --- case lists for caseworkers ---------------------------------------------------------------

PAGE_SIZE = 50
TIMELINE_PAGE = 100
# The portal's reference numbers (portal.references), matched by shape: backoffice sits below
# the portal and finds the case through the routed intake item's ``reference`` column.
REFERENCE_PATTERN = re.compile(r"AW-\d{4}-\d{7}-\d")
_EINGAENGE = table("eingaenge", column("reference"), column("fall_id"))


class DeadlineFilter(enum.StrEnum):
    DUE = "due"          # due today or earlier
    OVERDUE = "overdue"  # due before today


@dataclass(frozen=True)
class CaseRow:
    """One line of a case list: enough to recognise the case, nothing of its content."""

    fall_id: int
    aktenzeichen: str
    title: str
    status: FallStatus
    responsible_name: str | None
    opened_at: datetime
    names: str
    next_due: date | None


@dataclass(frozen=True)
class CasePage:
    rows: list[CaseRow]
    next_after: int | None  # the keyset for the next page: cases with a smaller id


def _open_deadlines_due(today: date, deadline: DeadlineFilter) -> Any:
    due = (Wiedervorlage.due_date < today if deadline is DeadlineFilter.OVERDUE
           else Wiedervorlage.due_date <= today)
    return exists().where(Wiedervorlage.fall_id == Fall.id, Wiedervorlage.done_at.is_(None), due)


def _row_query() -> Select[int, str, str, FallStatus, datetime, str, date, str]:
    """The columns of a list row; the next open follow-up and the names as correlated
    subqueries."""
    next_due = (select(func.min(Wiedervorlage.due_date))
                .where(Wiedervorlage.fall_id == Fall.id, Wiedervorlage.done_at.is_(None))
                .correlate(Fall).scalar_subquery())
    return (select(Fall.id, Fall.aktenzeichen, Fall.title, Fall.status, Fall.opened_at,
                   Staff.full_name, next_due.label("next_due"), _names_of_case().label("names"))
            .outerjoin(Staff, Staff.id == Fall.responsible_staff_id))


def _names_of_case() -> Any:
    """The children's and the applicant's names, in the order they were recorded, as one string.

    In the row's own statement, not a second query for the page: a list page is one round trip.
    The aggregate reads from a sorted subquery because SQLite (before 3.44) knows no ORDER BY
    inside an aggregate; both databases keep that order.
    """
    ordered = (select(func.trim(Party.first_name + " " + Party.last_name).label("name"))
               .where(Party.fall_id == Fall.id,
                      Party.role.in_([PartyRole.CHILD, PartyRole.APPLICANT]))
               .order_by(Party.id).correlate(Fall).subquery())
    return select(func.aggregate_strings(ordered.c.name, ", ")).scalar_subquery()


def _rows(found: Sequence[Any]) -> list[CaseRow]:
    return [CaseRow(fall_id=row.id, aktenzeichen=row.aktenzeichen, title=row.title,
                    status=row.status, responsible_name=row.full_name,
                    opened_at=row.opened_at, names=row.names or "", next_due=row.next_due)
            for row in found]


def case_rows(fall_ids: Sequence[int]) -> list[CaseRow]:
    """The rows for these cases in the given order, in one indexed query."""
    if not fall_ids:
        return []
    found = {row.id: row for row in db.session.execute(
        _row_query().where(Fall.id.in_(fall_ids)))}
    return _rows([found[fall_id] for fall_id in fall_ids if fall_id in found])


def case_list(fachbereich_ids: Collection[int], *, responsible_id: int | None = None,
              pool: bool = False, status: FallStatus | None = None,
              deadline: DeadlineFilter | None = None, today: date | None = None,
              after: int | None = None, limit: int = PAGE_SIZE) -> CasePage:
    """A page of cases, newest first, by key (``after`` = the last id of the previous page).

    ``responsible_id``: "Meine Fälle"; ``pool``: the unassigned cases of these Fachbereiche.
    One query whatever the page size.
    """
    query = (_row_query().where(Fall.fachbereich_id.in_(list(fachbereich_ids)))
             .order_by(Fall.id.desc()).limit(limit + 1))
    if responsible_id is not None:
        query = query.where(Fall.responsible_staff_id == responsible_id)
    if pool:
        query = query.where(Fall.responsible_staff_id.is_(None))
    if status is not None:
        query = query.where(Fall.status == status)
    if deadline is not None:
        assert today is not None
        query = query.where(_open_deadlines_due(today, deadline))
    if after is not None:
        query = query.where(Fall.id < after)
    found = list(db.session.execute(query))
    next_after = found[limit - 1].id if len(found) > limit else None
    return CasePage(_rows(found[:limit]), next_after)


def _ids_by_reference(reference: str, fachbereich_ids: Collection[int]) -> list[int]:
    fall_id = db.session.execute(
        select(_EINGAENGE.c.fall_id).where(_EINGAENGE.c.reference == reference)).scalar()
    if fall_id is None:
        return []
    allowed = db.session.scalar(select(Fall.id).where(
        Fall.id == fall_id, Fall.fachbereich_id.in_(list(fachbereich_ids))))
    return [allowed] if allowed is not None else []


def _ids_by_kassenzeichen(kassenzeichen: str, fachbereich_ids: Collection[int]) -> list[int]:
    """The cases whose payment orders carry this Kassenzeichen (the treasury's reference, which
    citizens and the Landesamt quote on the phone and in letters)."""
    return list(db.session.scalars(
        select(Sollstellung.fall_id).distinct().join(Fall, Fall.id == Sollstellung.fall_id)
        .where(Sollstellung.kassenzeichen == normalise_kassenzeichen(kassenzeichen),
               Fall.fachbereich_id.in_(list(fachbereich_ids)))
        .order_by(Sollstellung.fall_id)))


def _ids_by_name(text: str, birth_date: date | None,
                 fachbereich_ids: Collection[int]) -> list[int]:
    words = text.split()
    if not words:
        return []
    if len(words) == 1:
        found = cases_by_party(words[0], birth_date=birth_date, fachbereich_ids=fachbereich_ids)
    else:
        # "Lea Müller" and "Müller Lea": try both orders, the first as the first name.
        found = (cases_by_party(words[-1], " ".join(words[:-1]), birth_date,
                                fachbereich_ids=fachbereich_ids)
                 or cases_by_party(words[0], " ".join(words[1:]), birth_date,
                                   fachbereich_ids=fachbereich_ids))
    return sorted((facts.fall_id for facts in found), reverse=True)


def _ids_by_birth_date(birth_date: date, fachbereich_ids: Collection[int]) -> list[int]:
    return list(db.session.scalars(
        select(Party.fall_id).distinct().join(Fall, Fall.id == Party.fall_id)
        .where(Party.birth_date == birth_date, Fall.fachbereich_id.in_(list(fachbereich_ids)))
        .order_by(Party.fall_id.desc()).limit(DEFAULT_LIMIT)))


def search_cases(text: str, birth_date: date | None,
                 fachbereich_ids: Collection[int]) -> list[CaseRow]:
    """Find cases by Aktenzeichen, portal reference, Kassenzeichen, name and/or date of birth.

    Only cases of ``fachbereich_ids`` are ever returned (§ 35 SGB I): a caseworker searching
    for a case of another Fachbereich learns nothing, not even that it exists.
    """
    text = text.strip()
    if not fachbereich_ids or (not text and birth_date is None):
        return []
    canonical = normalise_aktenzeichen(text) if text else None
    if canonical is not None:
        facts = case_by_aktenzeichen(canonical, fachbereich_ids=fachbereich_ids)
        return case_rows([facts.fall_id]) if facts is not None else []
    if REFERENCE_PATTERN.fullmatch(text.upper()):
        return case_rows(_ids_by_reference(text.upper(), fachbereich_ids))
    if is_valid_kassenzeichen(text):
        return case_rows(_ids_by_kassenzeichen(text, fachbereich_ids))
    if not text:
        assert birth_date is not None
        return case_rows(_ids_by_birth_date(birth_date, fachbereich_ids))
    return case_rows(_ids_by_name(text, birth_date, fachbereich_ids))


# --- what is due --------------------------------------------------------------------------------


@dataclass(frozen=True)
class DueItem:
    deadline_id: int
    fall_id: int
    aktenzeichen: str
    due_date: date
    reason: str
    overdue: bool


# Built once, as the case file's statements below: "Meine Fälle" runs it on every visit.
_DUE_FOR = (select(Wiedervorlage.id, Wiedervorlage.fall_id, Fall.aktenzeichen,
                   Wiedervorlage.due_date, Wiedervorlage.reason)
            .join(Fall, Fall.id == Wiedervorlage.fall_id)
            # Mine: set for me, or set for nobody on a case I hold.
            .where(or_(Wiedervorlage.owner_id == bindparam("staff_id"),
                       and_(Wiedervorlage.owner_id.is_(None),
                            Fall.responsible_staff_id == bindparam("staff_id"))),
                   Wiedervorlage.done_at.is_(None),
                   Wiedervorlage.due_date <= bindparam("today"),
                   Fall.fachbereich_id.in_(bindparam("fachbereich_ids", expanding=True)))
            .order_by(Wiedervorlage.due_date, Wiedervorlage.id).limit(bindparam("limit")))


def due_for(staff: Staff, today: date, limit: int = 200) -> list[DueItem]:
    """Open follow-ups of ``staff`` due today or earlier, oldest first (overdue on top)."""
    rows = db.session.execute(_DUE_FOR, {"staff_id": staff.id, "today": today, "limit": limit,
                                         "fachbereich_ids": list(fachbereich_scope(staff))})
    return [DueItem(row[0], row[1], row[2], row[3], row[4], row[3] < today) for row in rows]


# --- one case -------------------------------------------------------------------------------


def scoped_case(fall_id: int) -> Fall | None:
    return db.session.get(Fall, fall_id)


# Long lists of a case are read as plain rows, not ORM objects: a case with years of history
# has hundreds of entries, and building an identity-mapped object per entry costs more than
# the query (bench/cases.py).
EventRow = Row[int, datetime, str, str, str]
DocumentRow = Row[int, int | None, int, DocumentOrigin, str, str, datetime, str]


@dataclass(frozen=True)
class TimelinePage:
    events: list[EventRow]
    next_before: int | None


# The case file's statements are built once, their values bound at each call: building a
# select (columns, conditions, ordering) cost about half as much Python time as running it, and
# the case view runs these five on every visit.
_TIMELINE = (select(FallEvent.id, FallEvent.at, FallEvent.kind, FallEvent.summary,
                    FallEvent.actor_name).where(FallEvent.fall_id == bindparam("fall_id"))
             .order_by(FallEvent.id.desc()).limit(bindparam("limit")))
_TIMELINE_BEFORE = _TIMELINE.where(FallEvent.id < bindparam("before"))
_CASE_DOCUMENTS = (select(CaseDocument.id, CaseDocument.series_id, CaseDocument.version,
                          CaseDocument.origin, CaseDocument.kind, CaseDocument.title,
                          CaseDocument.filed_at, CaseDocument.filed_by_name)
                   .where(CaseDocument.fall_id == bindparam("fall_id"))
                   .order_by(CaseDocument.series_id.desc(), CaseDocument.version.desc()))
_CASE_NOTES = (select(Vermerk).where(Vermerk.fall_id == bindparam("fall_id"))
               .order_by(Vermerk.id.desc()))
# Owners are shown by name: their roles and Fachbereiche stay unloaded.
_CASE_DEADLINES = (select(Wiedervorlage)
                   .options(joinedload(Wiedervorlage.owner).lazyload("*"))
                   .where(Wiedervorlage.fall_id == bindparam("fall_id"))
                   .order_by(Wiedervorlage.done_at.is_not(None), Wiedervorlage.due_date,
                             Wiedervorlage.id))
_PARTY_VERSIONS = (select(PartyVersion)
                   .where(PartyVersion.party_id.in_(bindparam("party_ids", expanding=True)))
                   .order_by(PartyVersion.party_id, PartyVersion.number.desc()))


def timeline(fall_id: int, *, before: int | None = None,
             limit: int = TIMELINE_PAGE) -> TimelinePage:
    """The case's events newest first, ``limit`` at a time (``before`` = the last id shown)."""
    values = {"fall_id": fall_id, "limit": limit + 1}
    if before is None:
        events = list(db.session.execute(_TIMELINE, values))
    else:
        events = list(db.session.execute(_TIMELINE_BEFORE, {**values, "before": before}))
    next_before = events[limit - 1].id if len(events) > limit else None
    return TimelinePage(events[:limit], next_before)


def case_documents(fall_id: int) -> list[DocumentRow]:
    """The E-Akte: every version of every document, series together, newest version first."""
    return list(db.session.execute(_CASE_DOCUMENTS, {"fall_id": fall_id}))


def case_notes(fall_id: int) -> list[Vermerk]:
    return list(db.session.scalars(_CASE_NOTES, {"fall_id": fall_id}))


def case_deadlines(fall_id: int) -> list[Wiedervorlage]:
    return list(db.session.scalars(_CASE_DEADLINES, {"fall_id": fall_id}))


def party_versions(party_ids: Collection[int]) -> dict[int, list[PartyVersion]]:
    history: dict[int, list[PartyVersion]] = {}
    if not party_ids:
        return history
    for version in db.session.scalars(_PARTY_VERSIONS, {"party_ids": list(party_ids)}):
        history.setdefault(version.party_id, []).append(version)
    return history


def colleagues(fachbereich_id: int) -> list[Staff]:
    """Active staff of the Fachbereich, who may take its cases."""
    return [staff for staff in db.session.scalars(
        select(Staff).where(Staff.active.is_(True)).order_by(Staff.full_name))
        if fachbereich_id in staff.fachbereich_ids]
