"""Who is signed in: staff and citizens, kept strictly apart.

Both identities live in the one signed session cookie under separate keys, but signing in as one
kind clears the whole session first, so a browser is never both at once and a session id is never
carried across a login (session fixation). Staff routes deny by default: every staff blueprint
calls :func:`guard_staff_blueprint`, which refuses every endpoint that is not listed as public.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from functools import wraps
from typing import Any, ParamSpec, TypeVar, cast

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    g,
    redirect,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload

from amtsweg.audit.models import ActorKind
from amtsweg.audit.services import ANONYMOUS, Actor
from amtsweg.citizens.models import Citizen
from amtsweg.config import Settings
from amtsweg.extensions import db
from amtsweg.staff.models import Role, Staff
from amtsweg.translate import gettext as _

STAFF_KEY = "staff"
CITIZEN_KEY = "citizen"

P = ParamSpec("P")
R = TypeVar("R")


def _now() -> datetime:
    return datetime.now(UTC)


def _settings() -> Settings:
    settings: Settings = current_app.config["AMTSWEG"]
    return settings


def reset_session() -> None:
    """Drop everything of the old session except the visitor's chosen language."""
    locale = session.get("locale")
    session.clear()
    if locale is not None:
        session["locale"] = locale


def login_staff(staff: Staff, *, fresh: bool = True) -> None:
    """Start a staff session (after password and, if set up, the second factor)."""
    reset_session()
    now = _now().timestamp()
    session[STAFF_KEY] = {"id": staff.id, "epoch": staff.session_epoch, "seen": now,
                          "auth_at": now if fresh else 0}
    session.permanent = False


def login_citizen(citizen: Citizen) -> None:
    reset_session()
    now = _now().timestamp()
    session[CITIZEN_KEY] = {"id": citizen.id, "epoch": citizen.session_epoch, "seen": now}
    session.permanent = False


def logout() -> None:
    reset_session()


def staff_authenticated_at() -> datetime | None:
    """When the staff member last typed their password (for actions that need a fresh login)."""
    data = session.get(STAFF_KEY)
    if not data or not data.get("auth_at"):
        return None
    return datetime.fromtimestamp(data["auth_at"], UTC)


def mark_staff_reauthenticated() -> None:
    data = dict(session.get(STAFF_KEY) or {})
    if data:
        data["auth_at"] = _now().timestamp()
        session[STAFF_KEY] = data


def current_staff() -> Staff | None:
    staff: Staff | None = g.get("staff")
    return staff


def current_citizen() -> Citizen | None:
    citizen: Citizen | None = g.get("citizen")
    return citizen


def current_actor() -> Actor:
    """The actor for audit entries written in this request."""
    staff = current_staff()
    if staff is not None:
        return Actor(ActorKind.STAFF, staff.id, staff.username)
    citizen = current_citizen()
    if citizen is not None:
        return Actor(ActorKind.CITIZEN, citizen.id, f"citizen:{citizen.id}")
    return ANONYMOUS


def staff_actor(staff: Staff) -> Actor:
    return Actor(ActorKind.STAFF, staff.id, staff.username)


def citizen_actor(citizen: Citizen) -> Actor:
    return Actor(ActorKind.CITIZEN, citizen.id, f"citizen:{citizen.id}")


# Staff come with their roles and Fachbereiche in the same statement: every staff request
# needs them (navigation, guards, scopes), and three round trips were a fixed cost of each.
# Both statements are built once and run with the id bound, on every request.
_IDENTITY_STATEMENTS: dict[type[Staff | Citizen], Any] = {
    Staff: select(Staff).options(joinedload(Staff.role_rows), joinedload(Staff.fachbereiche))
    .where(Staff.id == bindparam("id")),
    Citizen: select(Citizen).where(Citizen.id == bindparam("id")),
}


def _load_identity(key: str, model: type[Staff | Citizen], idle: timedelta) -> Any:
    data = session.get(key)
    if not data:
        return None
    seen = datetime.fromtimestamp(data.get("seen", 0), UTC)
    if _now() - seen > idle:
        session.clear()
        g.session_expired = True
        return None
    identity = cast("Staff | Citizen | None", db.session.execute(
        _IDENTITY_STATEMENTS[model], {"id": data.get("id")}).unique().scalar())
    if identity is None or identity.session_epoch != data.get("epoch"):
        session.clear()
        return None
    if isinstance(identity, Staff) and not identity.active:
        session.clear()
        return None
    # Refresh the idle clock at most once a minute, so not every request rewrites the cookie.
    if _now().timestamp() - data["seen"] > 60:
        session[key] = {**data, "seen": _now().timestamp()}
    return identity


def _load_identities() -> None:
    settings = _settings()
    g.staff = _load_identity(STAFF_KEY, Staff, timedelta(minutes=settings.staff_idle_minutes))
    g.citizen = _load_identity(CITIZEN_KEY, Citizen,
                               timedelta(minutes=settings.citizen_idle_minutes))


def init_app(app: Flask) -> None:
    app.before_request(_load_identities)

    @app.context_processor
    def identities() -> dict[str, Any]:
        return {"current_staff": current_staff(), "current_citizen": current_citizen()}


def _is_public(endpoint: str | None, public: frozenset[str]) -> bool:
    return endpoint is not None and endpoint in public


def guard_staff_blueprint(bp: Blueprint, public_endpoints: Iterable[str] = ()) -> None:
    """Deny every endpoint of ``bp`` to anyone but signed-in staff, except ``public_endpoints``.

    Deny by default (SecureDrop's journalist app does the same): a new route is protected the
    moment it is added, and only an explicit entry here opens it.
    """
    public = frozenset(f"{bp.name}.{name}" for name in public_endpoints)

    @bp.before_request
    def require_staff() -> ResponseReturnValue | None:
        if _is_public(request.endpoint, public) or current_staff() is not None:
            return None
        if g.get("session_expired"):
            flash(_("Your session has expired. Please sign in again."), "info")
        return redirect(url_for("staff_auth.login", next=_safe_next()))


def guard_citizen_blueprint(bp: Blueprint, public_endpoints: Iterable[str] = ()) -> None:
    """Deny every endpoint of ``bp`` to anyone but a signed-in citizen, except the public ones."""
    public = frozenset(f"{bp.name}.{name}" for name in public_endpoints)

    @bp.before_request
    def require_citizen() -> ResponseReturnValue | None:
        if _is_public(request.endpoint, public) or current_citizen() is not None:
            return None
        if g.get("session_expired"):
            flash(_("Your session has expired. Please sign in again."), "info")
        return redirect(url_for("citizens.login", next=_safe_next()))


def _safe_next() -> str | None:
    # Only a path on this site, never a full URL: no open redirect through ?next=.
    if request.method != "GET":
        return None
    return request.full_path if request.query_string else request.path


def safe_next_url(target: str | None, fallback: str) -> str:
    """Return ``target`` if it is a local path, else ``fallback`` (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return fallback
    return target


def roles_required(*roles: Role) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Allow the view only to staff holding at least one of ``roles``; others get 403."""

    def decorator(view: Callable[P, R]) -> Callable[P, R]:
        @wraps(view)
        def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
            staff = current_staff()
            if staff is None or not staff.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator
