"""One service that every write uses to leave its audit entry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from flask import has_request_context, request

from amtsweg.audit.models import ActorKind, AuditEntry
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
    after: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add an audit entry to the current transaction; the caller's commit makes it stick.

    Written in the same transaction as the change it describes, so a change never lands without
    its entry and an entry never describes a change that was rolled back.
    """
    entry = AuditEntry(
        actor_kind=actor.kind,
        actor_id=actor.id,
        actor_name=actor.name[:200],
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        before=_jsonable(before) if before is not None else None,
        after=_jsonable(after) if after is not None else None,
        remote_addr=request.remote_addr if has_request_context() else None,
    )
    db.session.add(entry)
    return entry
