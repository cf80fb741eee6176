"""Every write to a citizen account, each with its audit entry in the same transaction.

Answers never reveal whether an address has an account (user enumeration): registration,
resending the link and the password reset behave the same for known and unknown addresses, and
the mail goes only to the address itself.
"""

from __future__ import annotations

import enum
from typing import Any

from flask import current_app, render_template
from sqlalchemy import select

from amtsweg import mail
from amtsweg.audit.services import ANONYMOUS, Actor, record
from amtsweg.citizens.models import Citizen
from amtsweg.citizens.signals import citizen_deleted
from amtsweg.citizens.tokens import Purpose, make_token
from amtsweg.config import Settings
from amtsweg.db import utcnow
from amtsweg.extensions import db
from amtsweg.passwords import hash_password, needs_rehash, verify_password
from amtsweg.sessions import citizen_actor
from amtsweg.translate import gettext as _

OBJECT_TYPE = "citizen"


class LoginOutcome(enum.Enum):
    SIGNED_IN = "signed_in"
    WRONG_CREDENTIALS = "wrong_credentials"
    UNVERIFIED = "unverified"


class EmailTaken(Exception):
    """The new address belongs to another account by now."""


def _settings() -> Settings:
    settings: Settings = current_app.config["AMTSWEG"]
    return settings


def _link(endpoint_path: str) -> str:
    return f"{_settings().base_url}{endpoint_path}"


def _send(to: str, subject: str, template: str, **context: Any) -> None:
    # Mails name only what they are about and a link: no social data leaves by mail.
    body = render_template(f"mail/{template}.txt", office=_settings().office, **context)
    mail.queue_mail(to, subject, body)


def find_by_email(email: str) -> Citizen | None:
    return db.session.scalar(select(Citizen).where(Citizen.email == email.lower()))


def _send_verification(citizen: Citizen) -> None:
    token = make_token(citizen, Purpose.VERIFY_EMAIL)
    _send(citizen.email, _("Confirm your e-mail address"), "verify_email",
          link=_link(f"/konto/bestaetigen/{token}"))


# --- registration and verification -------------------------------------------------------------


def register_citizen(email: str, password: str) -> None:
    """Open an account, or tell the owner of an existing one that someone tried."""
    existing = find_by_email(email)
    if existing is not None:
        _send(existing.email, _("Someone tried to register with your e-mail address"),
              "registration_attempt", login_link=_link("/konto/anmelden"),
              reset_link=_link("/konto/passwort-vergessen"))
        record(ANONYMOUS, "citizen.register_repeated", OBJECT_TYPE, existing.id)
        db.session.commit()
        return
    citizen = Citizen(email=email, password_hash=hash_password(password), session_epoch=0,
                      created_at=utcnow())
    db.session.add(citizen)
    db.session.flush()
    record(citizen_actor(citizen), "citizen.registered", OBJECT_TYPE, citizen.id,
           after={"email": citizen.email, "verified": False})
    _send_verification(citizen)
    db.session.commit()


def resend_verification(email: str) -> None:
    citizen = find_by_email(email)
    if citizen is None or citizen.is_verified:
        return
    _send_verification(citizen)
    record(ANONYMOUS, "citizen.verification_resent", OBJECT_TYPE, citizen.id)
    db.session.commit()


def verify_email(citizen: Citizen) -> None:
    citizen.email_verified_at = utcnow()
    record(citizen_actor(citizen), "citizen.email_verified", OBJECT_TYPE, citizen.id,
           before={"verified": False}, after={"verified": True})
    db.session.commit()


# --- signing in --------------------------------------------------------------------------------


def authenticate(email: str, password: str) -> tuple[LoginOutcome, Citizen | None]:
    """Check the password; the caller starts the session only on ``SIGNED_IN``."""
    citizen = find_by_email(email)
    # Always verify (a dummy hash for unknown addresses): the answer time reveals nothing.
    if not verify_password(citizen.password_hash if citizen else None, password):
        record(ANONYMOUS, "citizen.login_failed", OBJECT_TYPE,
               citizen.id if citizen else None)
        db.session.commit()
        return LoginOutcome.WRONG_CREDENTIALS, None
    assert citizen is not None
    if not citizen.is_verified:
        return LoginOutcome.UNVERIFIED, None
    if needs_rehash(citizen.password_hash):
        citizen.password_hash = hash_password(password)
    citizen.last_login_at = utcnow()
    record(citizen_actor(citizen), "citizen.login", OBJECT_TYPE, citizen.id)
    db.session.commit()
    return LoginOutcome.SIGNED_IN, citizen


def record_logout(citizen: Citizen) -> None:
    record(citizen_actor(citizen), "citizen.logout", OBJECT_TYPE, citizen.id)
    db.session.commit()


# --- password ----------------------------------------------------------------------------------


def request_password_reset(email: str) -> None:
    citizen = find_by_email(email)
    if citizen is None:
        return
    token = make_token(citizen, Purpose.RESET_PASSWORD)
    _send(citizen.email, _("Reset your password"), "reset_password",
          link=_link(f"/konto/passwort-neu/{token}"))
    record(ANONYMOUS, "citizen.password_reset_requested", OBJECT_TYPE, citizen.id)
    db.session.commit()


def _set_password(citizen: Citizen, password: str) -> None:
    citizen.password_hash = hash_password(password)
    # Every session and every other link of this account ends here, a pending address change too
    # (the way out when someone else got into the account and asked for it).
    citizen.session_epoch += 1
    citizen.pending_email = None


def reset_password(citizen: Citizen, password: str) -> None:
    _set_password(citizen, password)
    # The link reached the mailbox, which proves the address as well as a verification would.
    if citizen.email_verified_at is None:
        citizen.email_verified_at = utcnow()
    record(citizen_actor(citizen), "citizen.password_reset", OBJECT_TYPE, citizen.id)
    _send(citizen.email, _("Your password was changed"), "password_changed",
          reset_link=_link("/konto/passwort-vergessen"))
    db.session.commit()


def change_password(citizen: Citizen, current_password: str, new_password: str) -> bool:
    if not verify_password(citizen.password_hash, current_password):
        return False
    _set_password(citizen, new_password)
    record(citizen_actor(citizen), "citizen.password_changed", OBJECT_TYPE, citizen.id)
    _send(citizen.email, _("Your password was changed"), "password_changed",
          reset_link=_link("/konto/passwort-vergessen"))
    db.session.commit()
    return True


# --- e-mail address ----------------------------------------------------------------------------


def request_email_change(citizen: Citizen, current_password: str, new_email: str) -> bool:
    """Send a link to the new address and tell the old one; nothing changes before the link."""
    if not verify_password(citizen.password_hash, current_password):
        return False
    if find_by_email(new_email) is not None:
        # Same answer on the page; only the owner of that address learns of the attempt.
        _send(new_email, _("Someone tried to use your e-mail address"), "email_change_taken",
              login_link=_link("/konto/anmelden"))
        record(citizen_actor(citizen), "citizen.email_change_refused", OBJECT_TYPE, citizen.id)
        db.session.commit()
        return True
    citizen.pending_email = new_email
    token = make_token(citizen, Purpose.CHANGE_EMAIL)
    _send(new_email, _("Confirm your new e-mail address"), "email_change_confirm",
          link=_link(f"/konto/e-mail-bestaetigen/{token}"))
    _send(citizen.email, _("Your e-mail address is about to change"), "email_change_notice",
          new_email=new_email, reset_link=_link("/konto/passwort-vergessen"))
    record(citizen_actor(citizen), "citizen.email_change_requested", OBJECT_TYPE, citizen.id,
           after={"pending_email": new_email})
    db.session.commit()
    return True


def confirm_email_change(citizen: Citizen) -> None:
    new_email = citizen.pending_email
    assert new_email is not None
    if find_by_email(new_email) is not None:
        raise EmailTaken
    before = {"email": citizen.email}
    citizen.email = new_email
    citizen.pending_email = None
    citizen.email_verified_at = utcnow()
    citizen.session_epoch += 1
    record(citizen_actor(citizen), "citizen.email_changed", OBJECT_TYPE, citizen.id,
           before=before, after={"email": new_email})
    db.session.commit()


# --- deletion ----------------------------------------------------------------------------------


def delete_account(citizen: Citizen, current_password: str, actor: Actor | None = None) -> bool:
    """Delete the account and, through ``citizen_deleted``, every package's data of it."""
    if not verify_password(citizen.password_hash, current_password):
        return False
    actor = actor or citizen_actor(citizen)
    citizen_id, email = citizen.id, citizen.email
    citizen_deleted.send(current_app._get_current_object(),  # type: ignore[attr-defined]
                         citizen_id=citizen_id, actor=actor)
    # Art. 17 DSGVO: the log keeps that the account was deleted, not whose it was.
    record(actor, "citizen.deleted", OBJECT_TYPE, citizen_id)
    db.session.delete(citizen)
    _send(email, _("Your account was deleted"), "account_deleted")
    db.session.commit()
    return True
