"""Every write to cases, each with its audit entry in the same transaction; callers commit."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import column, select, table, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm.attributes import flag_modified

from amtsweg.audit.services import Actor, record
from amtsweg.clock import BERLIN, berlin_today
from amtsweg.db import utcnow
from amtsweg.extensions import db
from amtsweg.staff.models import Fachbereich, Staff
from amtsweg.translate import gettext as _
from backoffice.models import (
    ALLOWED_TRANSITIONS,
    PARTY_VERSIONED_FIELDS,
    AktenzeichenCounter,
    CaseDocument,
    DocumentOrigin,
    Fall,
    FallEvent,
    FallEventKind,
    FallStatus,
    Party,
    PartyRole,
    PartyVersion,
    Vermerk,
    Wiedervorlage,
)
from storage.models import Document

# Readable prefixes for the Fachbereiche an office starts with (amtsweg.fachbereiche); a
# Fachbereich added later gets its code in capitals.
AKTENZEICHEN_PREFIXES = {
    "uvg": "UV",
    "beistandschaft": "BS",
    "vormundschaft": "VM",
    "wjh": "WJH",
    "asd": "ASD",
    "jgh": "JGH",
    "sozialhilfe": "SH",
    "wohngeld": "WG",
}

# A submission never names more people than this; anything beyond is not a real form.
MAX_PARTIES = 20
_MAX_NAME = 100
_MAX_ADDRESS = 500
_ROLES = frozenset(role.value for role in PartyRole)


@dataclass(frozen=True)
class PartyData:
    """A person to put into a case: the fields of ``portal.services.Party``."""

    role: str
    first_name: str
    last_name: str
    birth_date: str | None = None  # ISO date
    address: str | None = None

    @property
    def birth_date_value(self) -> date | None:
        return date.fromisoformat(self.birth_date) if self.birth_date else None


class AssignmentRefused(ValueError):
    """The case cannot go to this person; the message says why, in the user's language."""


# --- parties from a submission --------------------------------------------------------------


def _clean_text(value: object, limit: int) -> str | None:
    """The stripped text, or None for anything a form cannot have produced."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    # NUL and other control characters: PostgreSQL refuses NUL in text, and none belongs in a
    # name; an entry carrying one was not typed into our form.
    if len(value) > limit or any(ord(char) < 32 and char not in "\n\t" for char in value):
        return None
    return value


def _birth_date_broken(value: object) -> bool:
    """True for a birth date that is there but no plausible date (absent is fine)."""
    if value is None or value == "":
        return False
    if not isinstance(value, str) or len(value) != 10:
        return True
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        return True
    return parsed.year < 1900 or parsed > berlin_today()


def _party_from_entry(entry: object) -> PartyData | None:
    if not isinstance(entry, Mapping):
        return None
    role = entry.get("role")
    first_name = _clean_text(entry.get("first_name", ""), _MAX_NAME)
    last_name = _clean_text(entry.get("last_name"), _MAX_NAME)
    address = _clean_text(entry.get("address") or "", _MAX_ADDRESS)
    birth_date = entry.get("birth_date")
    if (not isinstance(role, str) or role not in _ROLES or first_name is None or not last_name
            or address is None or _birth_date_broken(birth_date)):
        return None
    return PartyData(role=role, first_name=first_name, last_name=last_name,
                     birth_date=birth_date if isinstance(birth_date, str) and birth_date else None,
                     address=address or None)


def parties_from_payload(payload: object) -> list[PartyData]:
    """The people a queue item names (``payload["parties"]``), skipping every broken entry.

    The payload is what a sender's browser posted, frozen: treat it as hostile. A wrong type,
    an unknown role, a missing last name, an impossible date or a control character drops that
    entry, never the whole item.
    """
    if not isinstance(payload, Mapping):
        return []
    entries = payload.get("parties")
    if not isinstance(entries, list):
        return []
    parties: list[PartyData] = []
    for entry in entries[:MAX_PARTIES]:
        party = _party_from_entry(entry)
        if party is not None:
            parties.append(party)
    return parties


# --- Aktenzeichen ---------------------------------------------------------------------------


def aktenzeichen_prefix(fachbereich: Fachbereich) -> str:
    return AKTENZEICHEN_PREFIXES.get(fachbereich.code, fachbereich.code.upper()[:12])


def _reserve_number(fachbereich_id: int, year: int) -> int:
    """Take the next number of the Fachbereich and year; the row stays locked until commit."""
    dialect = db.session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    db.session.execute(insert(AktenzeichenCounter)
                       .values(fachbereich_id=fachbereich_id, year=year, last_number=0)
                       .on_conflict_do_nothing())
    number = db.session.scalar(
        update(AktenzeichenCounter)
        .where(AktenzeichenCounter.fachbereich_id == fachbereich_id,
               AktenzeichenCounter.year == year)
        .values(last_number=AktenzeichenCounter.last_number + 1)
        .returning(AktenzeichenCounter.last_number)
        .execution_options(synchronize_session=False))
    assert number is not None
    return number


def next_aktenzeichen(fachbereich: Fachbereich, opened_at: datetime) -> str:
    # The office's year, not UTC's: a case opened on 31 December at 23:30 belongs to that year.
    year = opened_at.astimezone(BERLIN).year
    number = _reserve_number(fachbereich.id, year)
    return f"{aktenzeichen_prefix(fachbereich)}-{year}-{number:05d}"


# --- cases ----------------------------------------------------------------------------------


def _check_assignable(staff: Staff, fachbereich: Fachbereich) -> None:
    # § 35 SGB I: only staff of the case's Fachbereich may hold (and so read) its file.
    if not staff.active:
        raise AssignmentRefused(_("%(name)s is no longer active and cannot take cases.",
                                  name=staff.full_name))
    if fachbereich.id not in staff.fachbereich_ids:
        raise AssignmentRefused(_("%(name)s does not work in the Fachbereich %(fachbereich)s.",
                                  name=staff.full_name, fachbereich=fachbereich.name))


def _event(fall: Fall, kind: FallEventKind | str, summary: str, actor: Actor, *,
           eingang_id: int | None = None, document_id: int | None = None) -> FallEvent:
    event = FallEvent(fall_id=fall.id, kind=str(kind)[:40], summary=summary[:2000],
                      actor_name=actor.name[:200], eingang_id=eingang_id,
                      document_id=document_id)
    db.session.add(event)
    return event


def _party(data: PartyData) -> Party:
    return Party(role=PartyRole(data.role), first_name=data.first_name,
                 last_name=data.last_name, birth_date=data.birth_date_value,
                 address=data.address or "")


def open_case(
    *,
    fachbereich: Fachbereich,
    parties: Sequence[PartyData],
    responsible: Staff | None,
    actor: Actor,
    source_eingang_id: int | None,
    title: str,
) -> Fall:
    """Open a case with its parties and first timeline events; the caller commits.

    Without ``responsible`` the case lies in the Fachbereich's pool.
    """
    if responsible is not None:
        _check_assignable(responsible, fachbereich)
    fall = Fall(fachbereich=fachbereich, title=title[:200], responsible=responsible)
    fall.opened_at = utcnow()
    fall.aktenzeichen = next_aktenzeichen(fachbereich, fall.opened_at)
    fall.parties = [_party(data) for data in parties]
    db.session.add(fall)
    db.session.flush()
    _event(fall, FallEventKind.CASE_OPENED, fall.title, actor)
    if source_eingang_id is not None:
        _event(fall, FallEventKind.EINGANG_ATTACHED, fall.title, actor,
               eingang_id=source_eingang_id)
    if responsible is not None:
        _event(fall, FallEventKind.ASSIGNED, responsible.full_name, actor)
    # Party names are social data: the audit entry keeps ids and roles, the case keeps names.
    record(actor, "fall.opened", "fall", fall.id,
           after={"aktenzeichen": fall.aktenzeichen, "fachbereich_id": fachbereich.id,
                  "responsible_staff_id": fall.responsible_staff_id,
                  "source_eingang_id": source_eingang_id,
                  "parties": [{"id": party.id, "role": party.role} for party in fall.parties]})
    return fall


def attach_to_case(fall: Fall, *, eingang_id: int, summary: str, actor: Actor,
                   document_ids: Sequence[int] = ()) -> FallEvent:
    """Record on the case's timeline that an intake item (and its documents) arrived, and file
    its documents and the portal's receipt (Eingangsbestätigung) in the E-Akte.

    Attaching the same item twice (a retried routing) returns the first entry and files nothing
    twice. A case opened from the item already has the entry (``open_case``); its documents are
    filed all the same.
    """
    existing = db.session.scalar(
        select(FallEvent).where(FallEvent.fall_id == fall.id,
                                FallEvent.eingang_id == eingang_id,
                                FallEvent.kind == FallEventKind.EINGANG_ATTACHED.value))
    filed = set(db.session.scalars(
        select(CaseDocument.document_id).where(CaseDocument.fall_id == fall.id)))
    documents = [(document_id, "") for document_id in dict.fromkeys(document_ids)
                 if document_id not in filed]
    receipt = _receipt_of(eingang_id)
    if receipt is not None and receipt not in filed and receipt not in dict(documents):
        documents.append((receipt, RECEIPT_KIND))
    if existing is not None and not documents:
        return existing
    event = existing or _event(fall, FallEventKind.EINGANG_ATTACHED, summary[:2000], actor,
                               eingang_id=eingang_id)
    origin = _eingang_origin(eingang_id)
    for document_id, kind in documents:
        _event(fall, FallEventKind.DOCUMENT_FILED, summary[:2000], actor,
               eingang_id=eingang_id, document_id=document_id)
        _file(fall, document_id, origin=origin, kind=kind, title=_document_title(document_id),
              actor=actor, eingang_id=eingang_id)
    db.session.flush()
    record(actor, "fall.eingang_attached", "fall", fall.id,
           after={"eingang_id": eingang_id,
                  "documents": [document_id for document_id, _kind in documents],
                  "event_id": event.id})
    return event


def assign_case(fall: Fall, staff: Staff | None, actor: Actor) -> FallEvent | None:
    """Hand the case to ``staff``, or back to the pool with None; nothing when unchanged."""
    if staff is not None:
        _check_assignable(staff, fall.fachbereich)
    new_id = staff.id if staff is not None else None
    before = fall.responsible_staff_id
    if before == new_id:
        return None
    fall.responsible = staff
    summary = staff.full_name if staff is not None else _("Pool of the Fachbereich")
    event = _event(fall, FallEventKind.ASSIGNED, summary, actor)
    db.session.flush()
    record(actor, "fall.assigned", "fall", fall.id,
           before={"responsible_staff_id": before}, after={"responsible_staff_id": new_id})
    return event


# --- shared by every module that writes to a case --------------------------------------------


class StaleCase(RuntimeError):
    """The case changed since the page was loaded; nothing was written."""


class TransitionRefused(ValueError):
    """The case cannot go into that state; the message says why."""


class DeadlineRefused(ValueError):
    """The follow-up date cannot be set; the message says why."""


def check_version(fall: Fall, expected_version: int | None) -> None:
    """Refuse a write based on a page that showed an older state of the case.

    The ORM's version counter catches a race between this check and the commit too; this check
    catches the common case (the page was open while a colleague saved) before anything is
    written, so the view can keep the caseworker's input and say what happened.
    """
    if expected_version is not None and expected_version != fall.version:
        raise StaleCase(fall.aktenzeichen)


def touch(fall: Fall) -> None:
    """Bump the case's version with the write in hand, so pages showing the old state go stale."""
    flag_modified(fall, "title")


def add_event(fall: Fall, kind: FallEventKind | str, summary: str, actor: Actor, *,
              eingang_id: int | None = None, document_id: int | None = None) -> FallEvent:
    """Write one timeline entry; Fachbereich modules use their own ``kind`` strings."""
    event = _event(fall, kind, summary, actor, eingang_id=eingang_id, document_id=document_id)
    db.session.flush()
    return event


# --- the E-Akte -----------------------------------------------------------------------------

_EINGAENGE = table("eingaenge", column("id"), column("citizen_id"))


RECEIPT_KIND = "Eingangsbestätigung"
# The portal draws an online submission's receipt the first time it is needed; backoffice sits
# below the portal and asks for it through this hook (registered at start) when it files an item.
_RECEIPT_SOURCES: list[Callable[[int], int | None]] = []


def register_receipt_source(source: Callable[[int], int | None]) -> None:
    """``source(eingang_id)``: the document id of the item's receipt, or None (paper mail)."""
    if source not in _RECEIPT_SOURCES:
        _RECEIPT_SOURCES.append(source)


def _receipt_of(eingang_id: int) -> int | None:
    return next((found for source in _RECEIPT_SOURCES
                 if (found := source(eingang_id)) is not None), None)


def _eingang_origin(eingang_id: int) -> DocumentOrigin:
    # backoffice sits below clearing: it reads the one column it needs by name, no import.
    citizen_id = db.session.execute(
        select(_EINGAENGE.c.citizen_id).where(_EINGAENGE.c.id == eingang_id)).scalar()
    return DocumentOrigin.ONLINE if citizen_id is not None else DocumentOrigin.CLEARING


def _document_title(document_id: int) -> str:
    document = db.session.get(Document, document_id)
    return document.filename[:200] if document is not None else "?"


def _file(fall: Fall, document_id: int, *, origin: DocumentOrigin, kind: str, title: str,
          actor: Actor, eingang_id: int | None = None,
          replaces: CaseDocument | None = None) -> CaseDocument:
    version = 1
    series_id: int | None = None
    if replaces is not None:
        series_id = replaces.series_id or replaces.id
        latest = db.session.scalar(
            select(CaseDocument.version).where(CaseDocument.series_id == series_id)
            .order_by(CaseDocument.version.desc()).limit(1))
        version = (latest or 1) + 1
    entry = CaseDocument(fall_id=fall.id, document_id=document_id, origin=origin,
                         kind=kind[:60], title=title[:200] or "?", version=version,
                         series_id=series_id, filed_by_name=actor.name[:200],
                         eingang_id=eingang_id)
    db.session.add(entry)
    db.session.flush()
    if entry.series_id is None:
        entry.series_id = entry.id
        db.session.flush()
    return entry


def file_document(fall: Fall, document: Document, *, origin: DocumentOrigin, kind: str,
                  title: str, actor: Actor,
                  replaces: CaseDocument | None = None) -> CaseDocument:
    """Put a stored document into the case's E-Akte, as a new version of ``replaces`` if given.

    The decisions module files generated Bescheide with ``origin=DocumentOrigin.GENERATED``.
    """
    if replaces is not None and replaces.fall_id != fall.id:
        raise ValueError("a version must stay in its case")
    entry = _file(fall, document.id, origin=origin, kind=kind, title=title, actor=actor,
                  replaces=replaces)
    _event(fall, FallEventKind.DOCUMENT_FILED, entry.title, actor, document_id=document.id)
    touch(fall)
    db.session.flush()
    record(actor, "fall.document_filed", "fall", fall.id,
           after={"case_document_id": entry.id, "document_id": document.id,
                  "origin": origin.value, "kind": entry.kind, "version": entry.version,
                  "series_id": entry.series_id})
    return entry


# --- status ---------------------------------------------------------------------------------

def change_status(fall: Fall, new_status: FallStatus, actor: Actor, *,
                  expected_version: int | None = None, today: date | None = None) -> None:
    """Move the case along open -> decided -> paying -> closed, or suspend it."""
    check_version(fall, expected_version)
    if new_status not in ALLOWED_TRANSITIONS[fall.status]:
        if fall.status in (FallStatus.CLOSED, FallStatus.SUSPENDED):
            raise TransitionRefused(_("A closed case cannot change its status.")
                                    if fall.status is FallStatus.CLOSED
                                    else _("A suspended case can only be resumed."))
        raise TransitionRefused(_("This change of status is not possible."))
    before = fall.status
    if new_status is FallStatus.SUSPENDED:
        fall.suspended_at = today or berlin_today()
        fall.suspended_from = before
    if new_status is FallStatus.CLOSED:
        fall.closed_at = utcnow()
    fall.status = new_status
    _event(fall, FallEventKind.STATUS_CHANGED, f"{before.value} → {new_status.value}", actor)
    db.session.flush()
    record(actor, "fall.status_changed", "fall", fall.id,
           before={"status": before.value}, after={"status": new_status.value})


def resume_case(fall: Fall, actor: Actor, *, expected_version: int | None = None,
                today: date | None = None) -> int:
    """End a suspension: back to the earlier state, open deadlines moved by the days suspended.

    Returns the number of calendar days the deadlines moved. A deadline counts from facts the
    office waited for while the case rested (Open Zaak's "opschorting"), so the time suspended
    is added to each open one.
    """
    check_version(fall, expected_version)
    if fall.status is not FallStatus.SUSPENDED or fall.suspended_at is None:
        raise TransitionRefused(_("Only a suspended case can be resumed."))
    assert fall.suspended_from is not None
    days = max(((today or berlin_today()) - fall.suspended_at).days, 0)
    if days:
        for deadline in db.session.scalars(
                select(Wiedervorlage).where(Wiedervorlage.fall_id == fall.id,
                                            Wiedervorlage.done_at.is_(None))):
            deadline.due_date += timedelta(days=days)
    resumed = fall.suspended_from
    fall.status = resumed
    fall.suspended_at = None
    fall.suspended_from = None
    _event(fall, FallEventKind.STATUS_CHANGED,
           f"{FallStatus.SUSPENDED.value} → {resumed.value} (+{days})", actor)
    db.session.flush()
    record(actor, "fall.resumed", "fall", fall.id, before={"status": "suspended"},
           after={"status": resumed.value, "deadlines_moved_days": days})
    return days


# --- notes ----------------------------------------------------------------------------------

MAX_NOTE = 10_000


def add_note(fall: Fall, text: str, author: Staff, actor: Actor) -> Vermerk:
    """Append a Vermerk; there is no edit and no delete (a correction is a new note)."""
    text = text.strip()
    if not text or len(text) > MAX_NOTE:
        raise ValueError("note empty or too long")
    note = Vermerk(fall_id=fall.id, author_id=author.id, author_name=author.full_name[:200],
                   text=text)
    db.session.add(note)
    db.session.flush()
    # The note's text is social data: the timeline and audit entry name it, not quote it.
    _event(fall, FallEventKind.NOTE_ADDED, author.full_name, actor)
    record(actor, "fall.note_added", "fall", fall.id, after={"vermerk_id": note.id})
    return note


# --- parties --------------------------------------------------------------------------------


def _snapshot(party: Party) -> dict[str, object]:
    return {name: getattr(party, name) for name in PARTY_VERSIONED_FIELDS}


def _write_version(party: Party, number: int, actor_name: str) -> None:
    db.session.add(PartyVersion(party_id=party.id, number=number,
                                changed_by_name=actor_name[:200], **_snapshot(party)))


def update_party(fall: Fall, party: Party, changes: Mapping[str, object], actor: Actor, *,
                 expected_version: int | None = None) -> bool:
    """Change a party's contact or bank data; the old state stays as a PartyVersion row.

    Returns False when nothing changed (no version, no event).
    """
    check_version(fall, expected_version)
    if party.fall_id != fall.id:
        raise ValueError("party of another case")
    unknown = set(changes) - set(PARTY_VERSIONED_FIELDS)
    if unknown:
        raise ValueError(f"not a party field: {sorted(unknown)}")
    changed = {name: value for name, value in changes.items() if getattr(party, name) != value}
    if not changed:
        return False
    latest = db.session.scalar(select(PartyVersion.number).where(PartyVersion.party_id == party.id)
                               .order_by(PartyVersion.number.desc()).limit(1))
    if latest is None:
        # The state the case was opened with becomes version 1.
        _write_version(party, 1, _("Case opened"))
        latest = 1
    for name, value in changed.items():
        setattr(party, name, value)
    _write_version(party, latest + 1, actor.name)
    touch(fall)
    _event(fall, FallEventKind.PARTY_CHANGED,
           f"{party.full_name}: {', '.join(sorted(changed))}", actor)
    db.session.flush()
    # Field names only: the values are social data and stay in the party's versions.
    record(actor, "fall.party_changed", "party", party.id,
           after={"fall_id": fall.id, "fields": sorted(changed), "version": latest + 1})
    return True


# --- Wiedervorlagen -------------------------------------------------------------------------

MAX_REASON = 300


def add_deadline(fall: Fall, *, due_date: date, reason: str, owner: Staff | None, actor: Actor,
                 today: date | None = None) -> Wiedervorlage:
    """Set a follow-up date; a past one is refused (it would be overdue the moment it is set)."""
    reason = reason.strip()
    if due_date < (today or berlin_today()):
        raise DeadlineRefused(_("The follow-up date must be today or later."))
    if not reason or len(reason) > MAX_REASON:
        raise DeadlineRefused(_("Enter a reason of at most %(count)s characters.",
                                count=MAX_REASON))
    if owner is not None:
        _check_assignable(owner, fall.fachbereich)
    deadline = Wiedervorlage(fall_id=fall.id, due_date=due_date, reason=reason,
                             owner_id=owner.id if owner is not None else None)
    db.session.add(deadline)
    db.session.flush()
    _event(fall, FallEventKind.DEADLINE_SET, f"{due_date.isoformat()}: {reason}", actor)
    record(actor, "fall.deadline_set", "wiedervorlage", deadline.id,
           after={"fall_id": fall.id, "due_date": due_date.isoformat(),
                  "owner_id": deadline.owner_id})
    return deadline


def set_deadline_done(deadline: Wiedervorlage, done: bool, fall: Fall, actor: Actor) -> bool:
    """Mark a follow-up done (or open again); False when it already was."""
    if (deadline.done_at is not None) == done:
        return False
    deadline.done_at = utcnow() if done else None
    deadline.done_by_name = actor.name[:200] if done else None
    kind = FallEventKind.DEADLINE_DONE if done else FallEventKind.DEADLINE_REOPENED
    _event(fall, kind, f"{deadline.due_date.isoformat()}: {deadline.reason}", actor)
    db.session.flush()
    record(actor, "fall.deadline_done" if done else "fall.deadline_reopened", "wiedervorlage",
           deadline.id, after={"fall_id": fall.id, "done": done})
    return True


# --- assignment -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ReassignmentResult:
    moved: list[str]
    refused: list[tuple[str, str]]  # (Aktenzeichen, reason)


def assign_with_note(fall: Fall, staff: Staff | None, note: str, author: Staff, actor: Actor, *,
                     expected_version: int | None = None) -> FallEvent | None:
    """Hand the case over (or back to the pool) and leave the handover note as a Vermerk."""
    check_version(fall, expected_version)
    event = assign_case(fall, staff, actor)
    if note.strip():
        add_note(fall, note, author, actor)
    return event


def reassign_cases(falls: Sequence[Fall], to: Staff | None, actor: Actor) -> ReassignmentResult:
    """Move several cases at once (holidays, sickness); each either moves or is listed with why.

    A refusal for one case (another Fachbereich, inactive colleague) never stops the others.
    """
    moved: list[str] = []
    refused: list[tuple[str, str]] = []
    for fall in falls:
        try:
            with db.session.begin_nested():
                assign_case(fall, to, actor)
        except AssignmentRefused as refusal:
            refused.append((fall.aktenzeichen, str(refusal)))
            continue
        moved.append(fall.aktenzeichen)
    return ReassignmentResult(moved, refused)
