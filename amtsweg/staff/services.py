"""Every write to staff accounts and Fachbereiche, each with its audit entry.

The functions here know nothing of requests or forms, so the admin pages and the CLI share them.
Errors are :class:`StaffError` carrying an English msgid and its parameters; the web layer
translates them, the CLI prints them as they are.
"""

from __future__ import annotations

import hmac
import re
import secrets
import string
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

import pyotp
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, or_, select

from amtsweg.audit.models import ActorKind
from amtsweg.audit.services import ANONYMOUS, Actor, record
from amtsweg.config import Settings
from amtsweg.db import utcnow
from amtsweg.extensions import db
from amtsweg.passwords import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    hash_password,
    needs_rehash,
    verify_password,
)
from amtsweg.sessions import staff_actor
from amtsweg.staff.models import Fachbereich, Role, Staff, StaffRole

USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
CODE_PATTERN = re.compile(r"^[a-z][a-z0-9_-]{1,39}$")
MAX_FULL_NAME = 200
MAX_FACHBEREICH_NAME = 120
GENERATED_PASSWORD_LENGTH = 16
# No look-alikes (0/O, 1/l/I): the password is read off a screen and typed in by hand.
_PASSWORD_ALPHABET = "".join(c for c in string.ascii_letters + string.digits
                             if c not in "0O1lI")
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


class StaffError(ValueError):
    """A write was refused; ``message`` is an English msgid with ``%(name)s`` placeholders."""

    def __init__(self, message: str, field_name: str | None = None, **params: Any) -> None:
        super().__init__(message % params if params else message)
        self.message = message
        self.field_name = field_name
        self.params = params


# --- reading -----------------------------------------------------------------------------------


def staff_by_username(username: str) -> Staff | None:
    return db.session.scalar(select(Staff).where(Staff.username == username.strip().lower()))


def search_staff(term: str = "") -> list[Staff]:
    query = select(Staff).order_by(Staff.full_name, Staff.username)
    term = term.strip()[:100]
    if term:
        # Escape LIKE wildcards so a search for "a_b" or "100%" means exactly that.
        escaped = term.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"
        query = query.where(or_(func.lower(Staff.username).like(pattern, escape="\\"),
                                func.lower(Staff.full_name).like(pattern, escape="\\")))
    return list(db.session.scalars(query))


def all_fachbereiche() -> list[Fachbereich]:
    return list(db.session.scalars(select(Fachbereich).order_by(Fachbereich.name)))


def fachbereiche_by_codes(codes: Iterable[str]) -> list[Fachbereich]:
    wanted = {code.strip().lower() for code in codes}
    found = list(db.session.scalars(select(Fachbereich).where(Fachbereich.code.in_(wanted))))
    missing = wanted - {fb.code for fb in found}
    if missing:
        raise StaffError("Unknown Fachbereich: %(codes)s", "fachbereiche",
                         codes=", ".join(sorted(missing)))
    return found


def parse_roles(names: Iterable[str]) -> set[Role]:
    roles: set[Role] = set()
    for name in names:
        try:
            roles.add(Role(name.strip().lower()))
        except ValueError:
            raise StaffError("Unknown role: %(role)s", "roles", role=name) from None
    return roles


def is_locked(staff: Staff, now: datetime | None = None) -> bool:
    return staff.locked_until is not None and staff.locked_until > (now or utcnow())


def snapshot(staff: Staff) -> dict[str, Any]:
    """What the audit log keeps of an account: never the hash or the TOTP secret."""
    return {
        "username": staff.username,
        "full_name": staff.full_name,
        "email": staff.email,
        "active": staff.active,
        "roles": sorted(role.value for role in staff.roles),
        "fachbereiche": sorted(fb.code for fb in staff.fachbereiche),
        "totp_enabled": staff.totp_secret is not None,
        "locked_until": staff.locked_until,
    }


# --- validation --------------------------------------------------------------------------------


def clean_username(raw: str) -> str:
    username = raw.strip().lower()
    if not USERNAME_PATTERN.fullmatch(username):
        raise StaffError("A username has 2 to 64 characters: lower-case letters a–z, digits, "
                         "dot, hyphen or underscore, starting with a letter or digit.", "username")
    return username


def clean_full_name(raw: str) -> str:
    name = " ".join(raw.split())
    if not name:
        raise StaffError("Enter the full name.", "full_name")
    if len(name) > MAX_FULL_NAME or _CONTROL_CHARACTERS.search(name):
        raise StaffError("The full name must be at most %(max)s characters long.", "full_name",
                         max=MAX_FULL_NAME)
    return name


def clean_email(raw: str | None) -> str | None:
    if raw is None or not raw.strip():
        return None
    try:
        result = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError:
        raise StaffError("Enter a valid e-mail address, like name@example.org.",
                         "email") from None
    return result.normalized.lower()


def check_new_password(password: str) -> None:
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise StaffError("The password must be between %(min)s and %(max)s characters long.",
                         "new_password", min=MIN_PASSWORD_LENGTH, max=MAX_PASSWORD_LENGTH)


def generate_password() -> str:
    return "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(GENERATED_PASSWORD_LENGTH))


def _check_unique(username: str | None, email: str | None, exclude_id: int | None) -> None:
    if username is not None:
        other = db.session.scalar(select(Staff.id).where(Staff.username == username))
        if other is not None and other != exclude_id:
            raise StaffError("The username %(username)s is already taken.", "username",
                             username=username)
    if email is not None:
        other = db.session.scalar(select(Staff.id).where(Staff.email == email))
        if other is not None and other != exclude_id:
            raise StaffError("Another staff member already uses this e-mail address.", "email")


# --- login -------------------------------------------------------------------------------------


class LoginOutcome(Enum):
    WRONG = "wrong"
    LOCKED = "locked"
    NEEDS_TOTP = "needs_totp"
    NEEDS_TOTP_SETUP = "needs_totp_setup"
    SIGNED_IN = "signed_in"


@dataclass
class LoginResult:
    outcome: LoginOutcome
    staff: Staff | None = None
    locked_until: datetime | None = None


def check_password_login(username: str, password: str, settings: Settings) -> LoginResult:
    """The first login step. Commits, so failures and locks stay counted."""
    # A name longer than any account's cannot match; it is answered like any unknown name.
    staff = staff_by_username(username) if 0 < len(username.strip()) <= 64 else None
    usable = staff is not None and staff.active
    # Verify even for unknown or inactive accounts, so timing does not tell them apart.
    password_ok = verify_password(staff.password_hash if usable and staff else None,
                                  password[:MAX_PASSWORD_LENGTH])
    if staff is None or not usable:
        _record_unknown_failure(staff)
        return LoginResult(LoginOutcome.WRONG)
    if is_locked(staff):
        record(ANONYMOUS, "staff.login_refused_locked", "staff", staff.id)
        db.session.commit()
        return LoginResult(LoginOutcome.LOCKED, staff, staff.locked_until)
    if not password_ok:
        return _count_failure(staff, settings, "password")
    if needs_rehash(staff.password_hash):
        staff.password_hash = hash_password(password)
    if staff.totp_secret:
        db.session.commit()
        return LoginResult(LoginOutcome.NEEDS_TOTP, staff)
    if settings.staff_totp_required:
        db.session.commit()
        return LoginResult(LoginOutcome.NEEDS_TOTP_SETUP, staff)
    complete_login(staff)
    return LoginResult(LoginOutcome.SIGNED_IN, staff)


def _record_unknown_failure(staff: Staff | None) -> None:
    # The typed name of an unknown account is not kept: people type passwords into that field.
    record(ANONYMOUS, "staff.login_failed", "staff", staff.id if staff else None,
           after={"reason": "inactive" if staff else "unknown_user"})
    db.session.commit()


def _count_failure(staff: Staff, settings: Settings, reason: str) -> LoginResult:
    staff.failed_logins += 1
    record(ANONYMOUS, "staff.login_failed", "staff", staff.id,
           after={"reason": reason, "failed_logins": staff.failed_logins})
    if staff.failed_logins < settings.login_max_failures:
        db.session.commit()
        return LoginResult(LoginOutcome.WRONG, staff)
    # Guessing is slowed to a few tries per lock period (BSI IT-Grundschutz ORP.4.A22).
    staff.locked_until = utcnow() + timedelta(minutes=settings.login_lock_minutes)
    staff.failed_logins = 0
    record(ANONYMOUS, "staff.locked", "staff", staff.id,
           after={"locked_until": staff.locked_until})
    db.session.commit()
    return LoginResult(LoginOutcome.LOCKED, staff, staff.locked_until)


def check_totp_login(staff: Staff, code: str, settings: Settings) -> LoginResult:
    """The second login step; a wrong code counts as a failed login like a wrong password."""
    if not staff.active:
        return LoginResult(LoginOutcome.WRONG)
    if is_locked(staff):
        return LoginResult(LoginOutcome.LOCKED, staff, staff.locked_until)
    if staff.totp_secret is None or not _accept_totp(staff, staff.totp_secret, code):
        return _count_failure(staff, settings, "totp")
    complete_login(staff)
    return LoginResult(LoginOutcome.SIGNED_IN, staff)


def _accept_totp(staff: Staff, secret: str, code: str) -> bool:
    """Accept a code of the current, previous or next 30-second step, each step only once.

    RFC 6238 §5.2 allows one step of clock drift; remembering the last step used stops a code
    seen over someone's shoulder from being replayed within its window (§5.2, "MUST NOT").
    """
    code = code.strip().replace(" ", "")
    if not (code.isascii() and code.isdigit()) or len(code) != 6:
        return False
    totp = pyotp.TOTP(secret)
    now = utcnow()
    current_step = totp.timecode(now)
    for offset in (-1, 0, 1):
        step = current_step + offset
        if staff.totp_last_step is not None and step <= staff.totp_last_step:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            staff.totp_last_step = step
            return True
    return False


def complete_login(staff: Staff) -> None:
    staff.failed_logins = 0
    staff.locked_until = None
    staff.last_login_at = utcnow()
    record(_self(staff), "staff.login", "staff", staff.id)
    db.session.commit()


def record_logout(staff: Staff) -> None:
    record(_self(staff), "staff.logout", "staff", staff.id)
    db.session.commit()


def verify_reauthentication(staff: Staff, password: str, settings: Settings) -> LoginResult:
    """Ask for the password again before a sensitive action; failures count towards the lock."""
    if is_locked(staff):
        return LoginResult(LoginOutcome.LOCKED, staff, staff.locked_until)
    if not verify_password(staff.password_hash, password[:MAX_PASSWORD_LENGTH]):
        return _count_failure(staff, settings, "reauthentication")
    staff.failed_logins = 0
    record(_self(staff), "staff.reauthenticated", "staff", staff.id)
    db.session.commit()
    return LoginResult(LoginOutcome.SIGNED_IN, staff)


def _self(staff: Staff) -> Actor:
    return staff_actor(staff)


# --- own account -------------------------------------------------------------------------------


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_provisioning_uri(staff: Staff, secret: str, issuer: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=staff.username, issuer_name=issuer)


def enable_totp(staff: Staff, secret: str, code: str, actor: Actor) -> None:
    """Store the secret only once the staff member has proved their app produces its codes."""
    if not _accept_totp(staff, secret, code):
        raise StaffError("The code is not correct. Enter the current 6-digit code from your "
                         "authenticator app.", "code")
    before = snapshot(staff)
    staff.totp_secret = secret
    record(actor, "staff.totp_enabled", "staff", staff.id, before=before, after=snapshot(staff))
    db.session.commit()


def change_own_password(staff: Staff, current: str, new: str) -> None:
    if not verify_password(staff.password_hash, current[:MAX_PASSWORD_LENGTH]):
        raise StaffError("Your current password is not correct.", "current_password")
    check_new_password(new)
    if current == new:
        raise StaffError("The new password must differ from the current one.", "new_password")
    staff.password_hash = hash_password(new)
    # Every other session of this account ends (a stolen cookie dies with the old password).
    staff.session_epoch += 1
    record(_self(staff), "staff.password_changed", "staff", staff.id)
    db.session.commit()


# --- administration ----------------------------------------------------------------------------


@dataclass
class StaffDetails:
    full_name: str
    email: str | None = None
    roles: set[Role] = field(default_factory=set)
    fachbereiche: list[Fachbereich] = field(default_factory=list)


def create_staff(username: str, details: StaffDetails, actor: Actor,
                 password: str | None = None) -> tuple[Staff, str]:
    """Create an account; return it with its initial password (generated when none is given)."""
    username = clean_username(username)
    full_name = clean_full_name(details.full_name)
    email = clean_email(details.email)
    _check_unique(username, email, exclude_id=None)
    initial_password = password if password is not None else generate_password()
    check_new_password(initial_password)
    staff = Staff(username=username, full_name=full_name, email=email,
                  password_hash=hash_password(initial_password), active=True,
                  failed_logins=0, session_epoch=0)
    staff.role_rows = [StaffRole(role=role) for role in sorted(details.roles)]
    staff.fachbereiche = sorted(details.fachbereiche, key=lambda fb: fb.name)
    db.session.add(staff)
    db.session.flush()
    record(actor, "staff.created", "staff", staff.id, after=snapshot(staff))
    db.session.commit()
    return staff, initial_password


def update_staff(staff: Staff, details: StaffDetails, actor: Actor) -> None:
    full_name = clean_full_name(details.full_name)
    email = clean_email(details.email)
    _check_unique(None, email, exclude_id=staff.id)
    _refuse_own_admin_removal(staff, details.roles, actor)
    before = snapshot(staff)
    staff.full_name = full_name
    staff.email = email
    _apply_roles(staff, details.roles)
    staff.fachbereiche = sorted(details.fachbereiche, key=lambda fb: fb.name)
    _commit_change(staff, actor, "staff.updated", before)


def set_roles(staff: Staff, roles: set[Role], actor: Actor) -> None:
    _refuse_own_admin_removal(staff, roles, actor)
    before = snapshot(staff)
    _apply_roles(staff, roles)
    _commit_change(staff, actor, "staff.roles_changed", before)


def set_fachbereiche(staff: Staff, fachbereiche: list[Fachbereich], actor: Actor) -> None:
    before = snapshot(staff)
    staff.fachbereiche = sorted(fachbereiche, key=lambda fb: fb.name)
    _commit_change(staff, actor, "staff.fachbereiche_changed", before)


def deactivate_staff(staff: Staff, actor: Actor) -> None:
    if _is_self(staff, actor):
        raise StaffError("You cannot deactivate your own account.")
    before = snapshot(staff)
    staff.active = False
    staff.session_epoch += 1  # signs the person out everywhere at once
    _commit_change(staff, actor, "staff.deactivated", before)


def activate_staff(staff: Staff, actor: Actor) -> None:
    before = snapshot(staff)
    staff.active = True
    _commit_change(staff, actor, "staff.activated", before)


def unlock_staff(staff: Staff, actor: Actor) -> None:
    before = snapshot(staff)
    staff.locked_until = None
    staff.failed_logins = 0
    _commit_change(staff, actor, "staff.unlocked", before)


def reset_password(staff: Staff, actor: Actor, password: str | None = None) -> str:
    new_password = password if password is not None else generate_password()
    check_new_password(new_password)
    staff.password_hash = hash_password(new_password)
    staff.session_epoch += 1
    staff.locked_until = None
    staff.failed_logins = 0
    record(actor, "staff.password_reset", "staff", staff.id)
    db.session.commit()
    return new_password


def reset_totp(staff: Staff, actor: Actor) -> None:
    before = snapshot(staff)
    staff.totp_secret = None
    staff.totp_last_step = None
    # A lost or stolen phone is the usual reason: sessions opened with it end too.
    staff.session_epoch += 1
    _commit_change(staff, actor, "staff.totp_reset", before)


def _apply_roles(staff: Staff, roles: set[Role]) -> None:
    current = {row.role: row for row in staff.role_rows}
    staff.role_rows = [current.get(role) or StaffRole(role=role) for role in sorted(roles)]


def _is_self(staff: Staff, actor: Actor) -> bool:
    return actor.kind == ActorKind.STAFF and actor.id == staff.id


def _refuse_own_admin_removal(staff: Staff, roles: set[Role], actor: Actor) -> None:
    # Otherwise the last admin could lock the whole office out of its own administration.
    if _is_self(staff, actor) and Role.ADMIN in staff.roles and Role.ADMIN not in roles:
        raise StaffError("You cannot remove the admin role from your own account.", "roles")


def _commit_change(staff: Staff, actor: Actor, action: str, before: dict[str, Any]) -> None:
    db.session.flush()
    record(actor, action, "staff", staff.id, before=before, after=snapshot(staff))
    db.session.commit()


# --- Fachbereiche ------------------------------------------------------------------------------


def _fachbereich_snapshot(fachbereich: Fachbereich) -> dict[str, Any]:
    return {"code": fachbereich.code, "name": fachbereich.name,
            "retention_years": fachbereich.retention_years}


def _clean_fachbereich_name(raw: str) -> str:
    name = " ".join(raw.split())
    if not name:
        raise StaffError("Enter the name of the Fachbereich.", "name")
    if len(name) > MAX_FACHBEREICH_NAME or _CONTROL_CHARACTERS.search(name):
        raise StaffError("The name must be at most %(max)s characters long.", "name",
                         max=MAX_FACHBEREICH_NAME)
    return name


def _check_retention(years: int) -> None:
    # Mirrors the table's CHECK constraint, to answer with a message instead of an error.
    if not 1 <= years <= 100:
        raise StaffError("The retention period must be between 1 and 100 years.",
                         "retention_years")


def _check_name_free(name: str, exclude_id: int | None) -> None:
    other = db.session.scalar(select(Fachbereich.id).where(Fachbereich.name == name))
    if other is not None and other != exclude_id:
        raise StaffError("A Fachbereich with this name already exists.", "name")


def create_fachbereich(code: str, name: str, retention_years: int, actor: Actor) -> Fachbereich:
    code = code.strip().lower()
    if not CODE_PATTERN.fullmatch(code):
        raise StaffError("A code has 2 to 40 characters: lower-case letters a–z, digits, hyphen "
                         "or underscore, starting with a letter.", "code")
    name = _clean_fachbereich_name(name)
    _check_retention(retention_years)
    if db.session.scalar(select(Fachbereich.id).where(Fachbereich.code == code)) is not None:
        raise StaffError("The code %(code)s is already taken.", "code", code=code)
    _check_name_free(name, exclude_id=None)
    fachbereich = Fachbereich(code=code, name=name, retention_years=retention_years)
    db.session.add(fachbereich)
    db.session.flush()
    record(actor, "fachbereich.created", "fachbereich", fachbereich.id,
           after=_fachbereich_snapshot(fachbereich))
    db.session.commit()
    return fachbereich


def update_fachbereich(fachbereich: Fachbereich, name: str, retention_years: int,
                       actor: Actor) -> None:
    name = _clean_fachbereich_name(name)
    _check_retention(retention_years)
    _check_name_free(name, exclude_id=fachbereich.id)
    before = _fachbereich_snapshot(fachbereich)
    fachbereich.name = name
    fachbereich.retention_years = retention_years
    record(actor, "fachbereich.updated", "fachbereich", fachbereich.id, before=before,
           after=_fachbereich_snapshot(fachbereich))
    db.session.commit()
