"""Helpers for staff views: a fresh password before sensitive actions, the pending login step."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import ParamSpec

from flask import flash, redirect, request, session, url_for
from flask.typing import ResponseReturnValue

from amtsweg.db import utcnow
from amtsweg.extensions import db
from amtsweg.sessions import current_staff, reset_session, safe_next_url, staff_authenticated_at
from amtsweg.staff.models import Staff
from amtsweg.translate import gettext as _

P = ParamSpec("P")

PENDING_KEY = "staff_pending"
# Between password and second factor: long enough to open the app, short enough that a
# half-finished login left on a shared screen is useless soon.
PENDING_LIFETIME = timedelta(minutes=5)
PURPOSE_TOTP = "totp"
PURPOSE_TOTP_SETUP = "totp_setup"


def fresh_login_required(max_age: int | timedelta) -> Callable[
        [Callable[P, ResponseReturnValue]], Callable[P, ResponseReturnValue]]:
    """Let the view run only if the password was typed within ``max_age`` (seconds or delta).

    For actions whose misuse would be expensive (e.g. an IHV Anordnung), so that a session left
    open at an unattended desk is not enough.
    """
    window = max_age if isinstance(max_age, timedelta) else timedelta(seconds=max_age)

    def decorator(view: Callable[P, ResponseReturnValue]) -> Callable[P, ResponseReturnValue]:
        @wraps(view)
        def wrapped(*args: P.args, **kwargs: P.kwargs) -> ResponseReturnValue:
            authenticated_at = staff_authenticated_at()
            if authenticated_at is not None and utcnow() - authenticated_at <= window:
                return view(*args, **kwargs)
            flash(_("Please confirm your password to continue."), "info")
            return redirect(url_for("staff_auth.reauthenticate", next=_return_path()))

        return wrapped

    return decorator


def _return_path() -> str:
    # After a POST the browser can only come back to the page that held the form.
    if request.method == "GET":
        return request.full_path if request.query_string else request.path
    referrer = request.referrer or ""
    host = request.host_url
    path = referrer[len(host) - 1:] if referrer.startswith(host) else ""
    return safe_next_url(path, url_for("staff_auth.home"))


def start_pending_login(staff: Staff, purpose: str, next_url: str | None) -> None:
    """Remember that the password was right; the session is not a staff session yet.

    Until the second step is done ``current_staff()`` stays None, so every staff route keeps
    refusing (deny by default) without each of them having to know about this step.
    """
    reset_session()
    session[PENDING_KEY] = {"id": staff.id, "epoch": staff.session_epoch, "purpose": purpose,
                            "at": utcnow().timestamp(), "next": next_url}


def pending_staff(purpose: str) -> Staff | None:
    data = session.get(PENDING_KEY)
    if not data or data.get("purpose") != purpose:
        return None
    if utcnow().timestamp() - data.get("at", 0) > PENDING_LIFETIME.total_seconds():
        session.pop(PENDING_KEY, None)
        return None
    staff = db.session.get(Staff, data.get("id"))
    if staff is None or not staff.active or staff.session_epoch != data.get("epoch"):
        session.pop(PENDING_KEY, None)
        return None
    return staff


def pending_next() -> str | None:
    data = session.get(PENDING_KEY) or {}
    next_url = data.get("next")
    return next_url if isinstance(next_url, str) else None


def current_or_pending_setup() -> Staff | None:
    return current_staff() or pending_staff(PURPOSE_TOTP_SETUP)
