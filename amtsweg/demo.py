"""Demo data for a local try-out: one account per role, and a citizen."""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy import func, select

from amtsweg.audit.services import SYSTEM, record
from amtsweg.citizens.models import Citizen
from amtsweg.db import utcnow
from amtsweg.extensions import db
from amtsweg.fachbereiche import fachbereich_by_code, seed_fachbereiche
from amtsweg.passwords import hash_password
from amtsweg.staff.models import Role, Staff, StaffRole

# Printed by `make run` and in the README. Only ever loaded outside production.
DEMO_PASSWORD = "Amtsweg-Demo-2026"  # noqa: S105 (public demo password, never in production)

DEMO_STAFF: tuple[tuple[str, str, tuple[Role, ...], tuple[str, ...], str], ...] = (
    ("admin", "Anna Admin", (Role.ADMIN,), (), "manages staff, roles, Fachbereiche"),
    ("clearing", "Clara Clearing", (Role.CLEARING,), (), "Clearing-Stelle: triages the intake"),
    ("sachbearbeitung", "Sven Sachbearbeiter", (Role.CASEWORKER,), ("uvg",),
     "caseworker, Unterhaltsvorschuss"),
    ("feststellung", "Frieda Feststellerin", (Role.FESTSTELLER,), ("uvg",),
     "sachlich und rechnerisch richtig"),
    ("anordnung", "Armin Anordner", (Role.ANORDNER,), ("uvg",), "Anordnungsbefugter"),
    ("leitung", "Lena Leitung", (Role.LEAD, Role.CASEWORKER), ("uvg", "wjh"),
     "lead of UVG and WJH"),
    ("revision", "Rudi Revision", (Role.AUDITOR,), (), "auditor: reads the logs"),
)
DEMO_CITIZEN_EMAIL = "buergerin@example.org"


class DemoRefused(RuntimeError):
    pass


def load_demo_data(*, only_if_empty: bool) -> list[dict[str, Any]]:
    """Create the demo accounts; return the logins to print (empty if nothing was loaded)."""
    if current_app.config["AMTSWEG"].is_production:
        raise DemoRefused("demo data is never loaded in production")
    seed_fachbereiche()
    if only_if_empty and db.session.scalar(select(func.count(Staff.id))):
        db.session.commit()
        return []
    logins = [_demo_staff(*entry) for entry in DEMO_STAFF]
    logins.append(_demo_citizen())
    db.session.commit()
    return [login for login in logins if login]


def _demo_staff(username: str, full_name: str, roles: tuple[Role, ...],
                fachbereich_codes: tuple[str, ...], description: str) -> dict[str, Any]:
    if db.session.scalar(select(Staff).where(Staff.username == username)) is None:
        staff = Staff(username=username, full_name=full_name,
                      password_hash=hash_password(DEMO_PASSWORD), active=True,
                      failed_logins=0, session_epoch=0)
        staff.role_rows = [StaffRole(role=role) for role in roles]
        staff.fachbereiche = [fb for code in fachbereich_codes
                              if (fb := fachbereich_by_code(code)) is not None]
        db.session.add(staff)
        db.session.flush()
        record(SYSTEM, "demo.staff_created", "staff", staff.id,
               after={"username": username, "roles": [r.value for r in roles]})
    return {"kind": "staff", "login": username, "password": DEMO_PASSWORD,
            "description": description}


def _demo_citizen() -> dict[str, Any]:
    if db.session.scalar(select(Citizen).where(Citizen.email == DEMO_CITIZEN_EMAIL)) is None:
        citizen = Citizen(email=DEMO_CITIZEN_EMAIL, password_hash=hash_password(DEMO_PASSWORD),
                          email_verified_at=utcnow(), session_epoch=0)
        db.session.add(citizen)
        db.session.flush()
        record(SYSTEM, "demo.citizen_created", "citizen", citizen.id)
    return {"kind": "citizen", "login": DEMO_CITIZEN_EMAIL, "password": DEMO_PASSWORD,
            "description": "citizen with a verified account"}
