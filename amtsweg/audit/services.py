"""One service that every write uses to leave its audit entry."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from flask import has_request_context, request
from sqlalchemy import event, insert, inspect
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction

from amtsweg.audit.models import ActorKind, AuditEntry
from amtsweg.db import Base, innermost_transaction, made_within, take_made_within, utcnow
from amtsweg.extensions import db


@dataclass(frozen=True)
class Actor:
    kind: ActorKind
    id: int | None
    name: str


SYSTEM = Actor(ActorKind.SYSTEM, None, "System")
ANONYMOUS = Actor(ActorKind.ANONYMOUS, None, "Anonym")

# Never written to the audit log, whatever a caller passes.
_SECRET_FIELDS = frozenset({"password", "password_hash", "totp_secret", "token"})


def _jsonable(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items() if k not in _SECRET_FIELDS}
    if isinstance(value, list | tuple | set | frozenset):
        items = [_jsonable(v) for v in value]
        return sorted(items, key=str) if isinstance(value, set | frozenset) else items
    return value


def record(
    actor: Actor,
    action: str,
    object_type: str,
    object_id: object | None = None,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | Callable[[], dict[str, Any]] | None = None,
) -> AuditEntry:
    """Add an audit entry to the current transaction; the caller's commit makes it stick.

    Written in the same transaction as the change it describes, so a change never lands without
    its entry and an entry never describes a change that was rolled back (a savepoint's too).

    ``object_id`` may be the object itself (a model instance) when it has no id yet, and
    ``after`` a function when its values are known only once the row is written (ids): both are
    read when the entry is written, right after the transaction's next flush. So a service does
    not flush only to learn the id it names in its entry, and all entries of a flush go to the
    database in one INSERT. The returned entry is never added to the session; changing it before
    the next flush changes what is written.
    """
    subject = object_id if isinstance(object_id, Base) else None
    entry = AuditEntry(
        at=utcnow(),
        actor_kind=actor.kind,
        actor_id=actor.id,
        actor_name=actor.name[:200],
        action=action,
        object_type=object_type,
        object_id=None if object_id is None or subject is not None else str(object_id),
        before=_jsonable(before) if before is not None else None,
        after=_jsonable(after) if isinstance(after, dict) else None,
        remote_addr=request.remote_addr if has_request_context() else None,
    )
    session = db.session()
    pending: list[_Pending] = session.info.setdefault(_PENDING, [])
    pending.append(_Pending(entry, subject, after if callable(after) else None,
                            innermost_transaction(session)))
    return entry


# --- writing the entries ----------------------------------------------------------------------

_PENDING = "amtsweg_audit_pending"  # recorded, not yet written
_COLUMNS = ("at", "actor_kind", "actor_id", "actor_name", "action", "object_type", "object_id",
            "before", "after", "remote_addr")


@dataclass
class _Pending:
    entry: AuditEntry
    subject: Base | None  # the object whose id the entry names, once it has one
    after: Callable[[], dict[str, Any]] | None
    recorded_in: SessionTransaction | None


def _writable(item: _Pending, current: SessionTransaction | None) -> bool:
    # Written into the savepoint it was recorded in (or an outer one it was released into),
    # never into a savepoint opened after it: rolling that one back would take an entry whose
    # change stands. Recorded before any transaction began: it belongs to the outermost one.
    if current is not None and current.nested and not made_within(item.recorded_in, current):
        return False
    return item.subject is None or inspect(item.subject).identity is not None


def _row(item: _Pending) -> dict[str, Any]:
    entry = item.entry
    if item.subject is not None:
        identity = inspect(item.subject).identity
        assert identity is not None
        entry.object_id = str(identity[0])
    if item.after is not None:
        entry.after = _jsonable(item.after())
    return {column: getattr(entry, column) for column in _COLUMNS}


def write_pending(session: Session) -> None:
    """Write every recorded entry that can be written now, in one INSERT."""
    pending: list[_Pending] = session.info.get(_PENDING) or []
    current = innermost_transaction(session)
    ready: list[_Pending] = []
    waiting: list[_Pending] = []
    for item in pending:
        (ready if _writable(item, current) else waiting).append(item)
    if not ready:
        return
    session.info[_PENDING] = waiting
    session.connection().execute(insert(AuditEntry), [_row(item) for item in ready])


def _after_flush(session: Session, _context: Any) -> None:
    write_pending(session)


def _before_commit(session: Session) -> None:
    # The objects the entries name get their ids; at the end nothing may be left unwritten.
    session.flush()
    write_pending(session)
    if session.get_nested_transaction() is None and session.info.get(_PENDING):
        raise RuntimeError("an audit entry names an object that was never saved")


def _after_commit(session: Session) -> None:
    # Also called when a savepoint is released: only the outermost commit ends the entries.
    if not session.in_nested_transaction():
        session.info.pop(_PENDING, None)


def _after_soft_rollback(session: Session, rolled_back: SessionTransaction) -> None:
    # Entries recorded in what was rolled back go with it; written ones went with its rows.
    if rolled_back.parent is None:
        session.info.pop(_PENDING, None)
        return
    take_made_within(session, _PENDING, rolled_back, _recorded_in)


def _recorded_in(item: _Pending) -> SessionTransaction | None:
    return item.recorded_in


def _before_reading_the_log(state: ORMExecuteState) -> None:
    # A query of the log in the same transaction sees the entries recorded so far.
    if (state.session.info.get(_PENDING) and state.is_select
            and any(mapper.class_ is AuditEntry for mapper in state.all_mappers)):
        write_pending(state.session)


def install_session_hooks() -> None:
    """Attach the writing of entries to the app's sessions (once per process)."""
    from flask_sqlalchemy.session import Session as FlaskSession

    hooks: list[tuple[str, Any]] = [
        # After the flush has given the new rows their identities.
        ("after_flush_postexec", _after_flush), ("before_commit", _before_commit),
        ("after_commit", _after_commit), ("after_soft_rollback", _after_soft_rollback),
        ("do_orm_execute", _before_reading_the_log)]
    for name, hook in hooks:
        if not event.contains(FlaskSession, name, hook):
            event.listen(FlaskSession, name, hook)
