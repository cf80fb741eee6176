"""Shared by the whole-app form tests (tests/test_csrf_everywhere.py, tests/test_form_fuzz.py):
one world of data in which every URL parameter names a real object, visitors who pass every
access rule, a fingerprint of the whole database, a reader for the forms of a page, plausible
and hostile values to fill them with, and a sender that posts as a browser does.

The world is built once per test module: the demo data of `amtsweg demo-data`, plus what the
demo leaves out (a citizen's draft, submission and postbox message, queue items, a draft
decision, an objection). Objects the forms use up (an item routed, a Bescheid issued) are
replaced by the ``renew`` functions below when a test needs a fresh one.
"""

from __future__ import annotations

import functools
import hashlib
import io
import itertools
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from click.testing import CliRunner
from flask import Flask
from flask.cli import ScriptInfo
from flask.testing import FlaskClient
from hypothesis import strategies as st
from reportlab.pdfgen import canvas
from sqlalchemy import Table, create_engine, func, select, text
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Rule

from amtsweg.app import create_app
from amtsweg.citizens.models import Citizen
from amtsweg.citizens.tokens import Purpose, make_token
from amtsweg.cli import main as amtsweg_cli
from amtsweg.clock import berlin_today
from amtsweg.db import Base, utcnow
from amtsweg.demo import DEMO_CITIZEN_EMAIL
from amtsweg.extensions import db
from amtsweg.fachbereiche import fachbereich_by_code, seed_fachbereiche
from amtsweg.passwords import hash_password
from amtsweg.sessions import staff_actor
from amtsweg.staff.models import Fachbereich, Role, Staff, StaffRole
from amtsweg.staff.services import new_totp_secret
from backoffice.decisions.models import Decision, DecisionKind, DecisionStatus
from backoffice.decisions.services import DecisionDraft, create_decision, record_objection
from backoffice.models import Fall, Party, Wiedervorlage
from backoffice.uvg import eligibility
from backoffice.uvg.models import UvgChild, UvgChildStatus
from clearing import rules, triage
from clearing.models import Eingang, EingangKind
from clearing.services import Sender, create_eingang, request_from_citizen
from ihv.models import Booking, BookingStatus, OrderStatus, Sollstellung, Transfer
from ihv.services import create_order
from ihv.transfer.receive import MATCHABLE
from portal.models import Draft, DraftDocument, Submission
from tests.conftest import PASSWORD, make_settings, sign_in_citizen

UVG = "/antrag/unterhaltsvorschuss"


def german_date(day: date) -> str:
    return f"{day.day:02}.{day.month:02}.{day.year:04}"


# --- the app and its database for one module --------------------------------------------------


@contextmanager
def module_app(tmp_path: Path, postgres_url: str | None) -> Iterator[Flask]:
    """An app of its own for one test module, on the run's database (on PostgreSQL the schema
    the session fixture built, emptied again afterwards as the per-test app does)."""
    app = create_app(make_settings(tmp_path, postgres_url))
    with app.app_context():
        if postgres_url is None:
            db.create_all()
        seed_fachbereiche()
        db.session.commit()
    try:
        yield app
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        if postgres_url is not None:
            engine = create_engine(postgres_url)
            tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
            with engine.begin() as connection:
                connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
            engine.dispose()


Fingerprint = dict[str, tuple[int, str]]


def fingerprint(app: Flask) -> Fingerprint:
    """Row count and a hash of all rows, per table: any insert, update or delete shows.

    Plain DB-API statements, on PostgreSQL a single one hashing on the server: the fuzz takes
    a fingerprint after every post, and through the ORM that cost ten times as much.
    """
    with app.app_context():
        connection = db.engine.raw_connection()
        try:
            cursor = connection.cursor()
            if db.engine.dialect.name == "postgresql":
                cursor.execute(_hashed_on_the_server())
                found = {name: (count, digest) for name, count, digest in cursor.fetchall()}
            else:
                found = {}
                for table in Base.metadata.sorted_tables:
                    cursor.execute(f'SELECT * FROM "{table.name}" ORDER BY '  # noqa: S608
                                   f"{_order(table)}")
                    rows = cursor.fetchall()
                    found[table.name] = (len(rows), hashlib.blake2b(
                        repr(rows).encode(), digest_size=16).hexdigest())
            connection.rollback()
        finally:
            connection.close()
    return found


def _order(table: Table, alias: str = "") -> str:
    columns = list(table.primary_key.columns) or list(table.columns)
    return ", ".join(f'{alias}"{column.name}"' for column in columns)


@functools.cache
def _hashed_on_the_server() -> str:
    # Table names come from our own metadata, not from any input.
    return " UNION ALL ".join(
        f"SELECT '{table.name}', count(*), "  # noqa: S608
        f"md5(coalesce(string_agg(t::text, '|' ORDER BY {_order(table, 't.')}), '')) "
        f'FROM "{table.name}" t' for table in Base.metadata.sorted_tables)


def changed_tables(before: Fingerprint, after: Fingerprint) -> set[str]:
    return {name for name in before.keys() | after.keys() if before.get(name) != after.get(name)}


# --- the world --------------------------------------------------------------------------------


@dataclass(frozen=True)
class World:
    """Ids of real objects, each within reach of the visitor the tests sign in."""

    staff_id: int  # every role, every Fachbereich: no access rule refuses before the form
    totp_staff_id: int  # has a second factor; waits in the code step of the sign-in
    target_staff_id: int  # a colleague the admin pages change (never the signed-in one)
    citizen_id: int  # the demo citizen, with the draft, the submission and the postbox
    spare_citizen_id: int  # for the forms that end an account or reset its password
    fachbereich_id: int  # a Fachbereich other than UVG, for the admin pages
    uvg_fachbereich_id: int
    draft_id: str  # the citizen's UVG application in progress
    draft_child: str  # its child, aged 16: the Bürgergeld and school pages apply
    draft_document_id: int
    submission_id: str  # a sent general request, for the follow-up forms
    message_id: str  # the office's request in the postbox, open for a reply
    tokens: dict[str, str]  # the spare account's e-mail links, by Purpose value
    claimed_eingang_id: int  # in triage, held by the signed-in member of staff
    rule_id: int
    fall_id: int  # a UVG case being paid: decisions, objection, recovery, deadline
    open_fall_id: int  # a UVG case waiting for its check
    second_fall_id: int  # another UVG case, for notes, assignment and parties
    second_party_id: int
    status_fall_id: int  # a new case whose status the tests change
    draft_decision_id: int
    widerspruch_id: int
    objection_eingang_id: int  # an objection routed to the case, not yet attached
    deadline_id: int
    party_id: int  # the other parent of ``fall_id`` (recovery)
    granted_child_id: int  # UVG child of ``fall_id``
    applied_child_id: int  # UVG child of ``open_fall_id``
    draft_order_id: int
    cancel_order_id: int  # a draft order of its own, for the cancellation form
    transfer_id: int
    unclear_booking_id: int

    def url_values(self, rule: Rule) -> dict[str, Any]:
        """A real value for every parameter of ``rule``."""
        portal = not rule.rule.startswith("/intern")
        values: dict[str, Any] = {
            "fall_id": self.fall_id, "decision_id": self.draft_decision_id,
            "widerspruch_id": self.widerspruch_id, "eingang_id": self.claimed_eingang_id,
            "deadline_id": self.deadline_id, "party_id": self.party_id,
            "child_id": self.draft_child if portal else self.granted_child_id,
            "order_id": self.draft_order_id, "transfer_id": self.transfer_id,
            "booking_id": self.unclear_booking_id, "staff_id": self.target_staff_id,
            "fachbereich_id": self.fachbereich_id, "rule_id": self.rule_id,
            "public_id": self.draft_id, "item_id": self.draft_document_id,
            "state": "erledigt", "step": "feststellung", "slug": "antragsteller",
            "condition": eligibility.CONDITIONS[0], "action": "nachricht",
            "token": self.tokens[Purpose.VERIFY_EMAIL.value],
        }
        by_endpoint: dict[str, dict[str, Any]] = {
            "uvg_antrag.child_step": {"slug": "buergergeld"},
            "portal.follow_up": {"public_id": self.submission_id},
            "portal.postbox_message": {"public_id": self.message_id},
            "citizens.reset_password": {"token": self.tokens[Purpose.RESET_PASSWORD.value]},
            "citizens.confirm_email_change": {
                "token": self.tokens[Purpose.CHANGE_EMAIL.value]},
            "decisions.attach_objection": {"eingang_id": self.objection_eingang_id},
            "backoffice.edit_party": {"fall_id": self.second_fall_id,
                                      "party_id": self.second_party_id},
            "backoffice.change_status": {"fall_id": self.status_fall_id},
            "backoffice.add_note": {"fall_id": self.second_fall_id},
            "backoffice.assign": {"fall_id": self.second_fall_id},
            "uvg.facts": {"fall_id": self.open_fall_id, "child_id": self.applied_child_id},
            "uvg.assess": {"fall_id": self.open_fall_id, "child_id": self.applied_child_id},
        }
        chosen = {**values, **by_endpoint.get(rule.endpoint, {})}
        return {name: chosen[name] for name in rule.arguments}


@functools.cache
def pdf_bytes(line: str = "Geburtsurkunde") -> bytes:
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer)
    page.drawString(72, 720, line)
    page.save()
    return buffer.getvalue()


def sign_in(client: FlaskClient, app: Flask, visitor: str, world: World) -> None:
    """A fresh session for ``visitor`` ("anonymous", "citizen", "spare", "staff", or "totp":
    between password and code), with the account's current epoch: a password changed by an
    earlier post has ended the older sessions."""
    now = utcnow().timestamp()
    ids = {"staff": world.staff_id, "totp": world.totp_staff_id, "citizen": world.citizen_id,
           "spare": world.spare_citizen_id}
    epoch = 0
    if visitor != "anonymous":
        with app.app_context():
            account = (db.session.get(Staff, ids[visitor]) if visitor in ("staff", "totp")
                       else db.session.get(Citizen, ids[visitor]))
            if account is None:  # deleted by an earlier post: nobody to sign in
                visitor = "anonymous"
            else:
                epoch = account.session_epoch
    with client.session_transaction() as session:
        session.clear()
        if visitor == "staff":
            session["staff"] = {"id": world.staff_id, "epoch": epoch, "seen": now,
                                "auth_at": now}
        elif visitor in ("citizen", "spare"):
            session["citizen"] = {"id": ids[visitor], "epoch": epoch, "seen": now}
        elif visitor == "totp":
            # As amtsweg.staff.auth.start_pending_login leaves it after the right password.
            session["staff_pending"] = {"id": world.totp_staff_id, "epoch": epoch,
                                        "purpose": "totp", "at": now, "next": None}


# --- building it ------------------------------------------------------------------------------


def _redirected(response: Any, what: str) -> str:
    assert response.status_code in (302, 303), (what, response.status_code,
                                                response.get_data(as_text=True)[:2000])
    return str(response.headers["Location"])


def _token_on(page: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert match, "no CSRF token on the page"
    return match.group(1)


def _citizen_side(app: Flask, client: FlaskClient) -> dict[str, Any]:
    """What the citizen does in the portal: a general request, a UVG application under way."""
    page = client.get("/anfrage").get_data(as_text=True)
    token = _token_on(page)
    key = re.search(r'name="idempotency_key"[^>]*value="([^"]+)"', page)
    assert key
    sent = client.post("/anfrage", data={
        "csrf_token": token, "idempotency_key": key.group(1), "topic": "leistung:uvg",
        "subject": "Frage zum Unterhaltsvorschuss", "message": "Wann wird gezahlt?"})
    submission_id = _redirected(sent, "general request").rstrip("/").split("/")[-2]
    born = german_date(berlin_today() - timedelta(days=16 * 365 + 100))
    started = client.post(f"{UVG}/neu", data={
        "csrf_token": token, "action": "continue", "first_name": "Lena", "last_name": "Muster",
        "birth_date": born, "nationality": "german", "living_since": born})
    draft_id = _redirected(started, "new application").rstrip("/").split("/")[-2]
    upload = Posted([("csrf_token", token), ("action", "upload")],
                    [("file_birth_certificate__k1", "geburtsurkunde.pdf", pdf_bytes())])
    _redirected(send(client, "post", f"{UVG}/{draft_id}/unterlagen", upload, multipart=True,
                     remote_addr="127.0.0.1"), "document upload")
    with app.app_context():
        document = db.session.scalar(select(DraftDocument).join(Draft).where(
            Draft.public_id == draft_id))
        assert document is not None, "the upload did not reach the draft"
        return {"submission_id": submission_id, "draft_id": draft_id,
                "draft_document_id": document.id}


def _new_staff(username: str, roles: tuple[Role, ...], fachbereiche: list[Fachbereich],
               totp_secret: str | None = None) -> Staff:
    staff = Staff(username=username, full_name=f"Fuzz {username.title()}",
                  password_hash=hash_password(PASSWORD), active=True, totp_secret=totp_secret,
                  failed_logins=0, session_epoch=0)
    staff.role_rows = [StaffRole(role=role) for role in roles]
    staff.fachbereiche = fachbereiche
    db.session.add(staff)
    db.session.flush()
    return staff


def _queue_item(citizen_id: int | None, kind: EingangKind, staff: Staff) -> Eingang:
    return create_eingang(
        kind=kind, subject="Antrag auf Unterhaltsvorschuss", service_code="uvg",
        sender=Sender("Maria Muster", None, citizen_id), actor=staff_actor(staff),
        payload={"parties": [{"role": "child", "first_name": "Lea", "last_name": "Muster",
                              "birth_date": "2019-02-01", "address": None}]})


def build_world(app: Flask) -> World:
    """The demo data through the real command, then the objects the demo leaves out."""
    result = CliRunner().invoke(amtsweg_cli, ["demo-data"],
                                obj=ScriptInfo(create_app=lambda: app))
    assert result.exit_code == 0, result.output
    with app.app_context():
        everything = list(db.session.scalars(select(Fachbereich).order_by(Fachbereich.id)))
        staff_id = _new_staff("pruefer", tuple(Role), everything).id
        totp_id = _new_staff("zweifaktor", (Role.CASEWORKER,), everything[:1],
                             totp_secret=new_totp_secret()).id
        citizen = db.session.scalar(select(Citizen).where(Citizen.email == DEMO_CITIZEN_EMAIL))
        assert citizen is not None
        db.session.commit()
        db.session.refresh(citizen)
        db.session.expunge(citizen)
    client = app.test_client()
    sign_in_citizen(client, citizen)
    portal = _citizen_side(app, client)
    with app.app_context():
        actor = staff_actor(db.session.get_one(Staff, staff_id))
        uvg, other = fachbereich_by_code("uvg"), fachbereich_by_code("wjh")
        target = db.session.scalar(select(Staff).where(Staff.username == "revision"))
        submission = db.session.scalar(select(Submission).where(
            Submission.public_id == portal["submission_id"]))
        assert uvg is not None
        assert other is not None
        assert target is not None
        assert submission is not None
        message = request_from_citizen(submission.eingang, "Bitte Geburtsurkunde nachreichen",
                                       "Uns fehlt die Geburtsurkunde.", actor)
        rules.ensure_default_rules()
        # The paid case: an issued Bescheid, a liable parent, an open deadline.
        fall = db.session.scalar(select(Fall).join(UvgChild, UvgChild.fall_id == Fall.id).where(
            UvgChild.status == UvgChildStatus.GRANTED, Fall.id.in_(
                select(Party.fall_id).where(Party.role == "other_parent"))).order_by(Fall.id))
        assert fall is not None
        issued = db.session.scalar(select(Decision).where(
            Decision.fall_id == fall.id, Decision.status == DecisionStatus.ISSUED))
        second = db.session.scalar(select(Fall).where(
            Fall.id != fall.id, Fall.fachbereich_id == uvg.id).order_by(Fall.id))
        open_child = db.session.scalar(select(UvgChild).where(
            UvgChild.status == UvgChildStatus.APPLIED).order_by(UvgChild.id))
        granted_child = db.session.scalar(select(UvgChild).where(
            UvgChild.fall_id == fall.id, UvgChild.status == UvgChildStatus.GRANTED))
        deadline = db.session.scalar(select(Wiedervorlage).where(
            Wiedervorlage.fall_id == fall.id))
        order = db.session.scalar(select(Sollstellung).where(
            Sollstellung.status == OrderStatus.DRAFT, Sollstellung.fall_id.is_not(None))
            .order_by(Sollstellung.id.desc()))
        transfer = db.session.scalar(select(Transfer).order_by(Transfer.id))
        booking = db.session.scalar(select(Booking).where(
            Booking.status == BookingStatus.UNCLEAR).order_by(Booking.id))
        assert issued is not None
        assert second is not None
        assert open_child is not None
        assert granted_child is not None
        assert deadline is not None
        assert order is not None
        assert transfer is not None
        assert booking is not None
        widerspruch = record_objection(fall, issued, berlin_today(), actor, note="Einspruch")
        db.session.commit()
        world = World(
            staff_id=staff_id, totp_staff_id=totp_id, target_staff_id=target.id,
            citizen_id=citizen.id, spare_citizen_id=0, fachbereich_id=other.id,
            uvg_fachbereich_id=uvg.id, draft_id=portal["draft_id"], draft_child="k1",
            draft_document_id=portal["draft_document_id"],
            submission_id=portal["submission_id"], message_id=message.public_id, tokens={},
            claimed_eingang_id=0, rule_id=rules.all_rules()[0].id, fall_id=fall.id,
            open_fall_id=open_child.fall_id, second_fall_id=second.id,
            second_party_id=second.parties[0].id, status_fall_id=0, draft_decision_id=0,
            widerspruch_id=widerspruch.id, objection_eingang_id=0, deadline_id=deadline.id,
            party_id=next(p.id for p in fall.parties if p.role == "other_parent"),
            granted_child_id=granted_child.id, applied_child_id=open_child.id,
            draft_order_id=order.id, cancel_order_id=0, transfer_id=transfer.id,
            unclear_booking_id=booking.id)
    world = replace(world, spare_citizen_id=spare_citizen(app, world))
    return replace(world, tokens=mailed_links(app, world),
                   claimed_eingang_id=claimed_queue_item(app, world),
                   objection_eingang_id=routed_objection(app, world),
                   draft_decision_id=draft_decision(app, world),
                   cancel_order_id=draft_order(app, world), status_fall_id=new_case(app, world),
                   unclear_booking_id=unclear_booking(app, world))


# --- fresh objects, when a form has used one up -----------------------------------------------


def claimed_queue_item(app: Flask, world: World) -> int:
    """A new item in the queue, taken over by the signed-in member of staff."""
    with app.app_context():
        staff = db.session.get_one(Staff, world.staff_id)
        eingang = _queue_item(None, EingangKind.NEUANTRAG, staff)
        db.session.commit()
        triage.claim(eingang.id, staff)
        db.session.commit()
        return eingang.id


def new_case(app: Flask, world: World) -> int:
    """A new UVG case, opened by routing a queue item to the Fachbereich."""
    with app.app_context():
        staff = db.session.get_one(Staff, world.staff_id)
        eingang = _queue_item(world.citizen_id, EingangKind.NEUANTRAG, staff)
        db.session.commit()
        claimed = triage.claim(eingang.id, staff)
        db.session.commit()
        routed = triage.route(eingang.id, claimed.version,
                              triage.RouteTarget(world.uvg_fachbereich_id), staff)
        db.session.commit()
        assert routed.fall_id is not None
        return routed.fall_id


def routed_objection(app: Flask, world: World) -> int:
    """A citizen's objection, routed to the case and not yet attached to its Bescheid."""
    with app.app_context():
        staff = db.session.get_one(Staff, world.staff_id)
        objection = _queue_item(world.citizen_id, EingangKind.WIDERSPRUCH, staff)
        db.session.commit()
        claimed = triage.claim(objection.id, staff)
        db.session.commit()
        triage.route(objection.id, claimed.version,
                     triage.RouteTarget(world.uvg_fachbereich_id, fall_id=world.fall_id), staff)
        db.session.commit()
        return objection.id


def draft_decision(app: Flask, world: World) -> int:
    with app.app_context():
        fall = db.session.get_one(Fall, world.fall_id)
        applicant = next(party for party in fall.parties if party.role == "applicant")
        decision = create_decision(fall, DecisionDraft(
            kind=DecisionKind.AENDERUNG, subject="Änderungsbescheid",
            tenor="Der Bescheid wird geändert.", begruendung="Das Einkommen hat sich geändert.",
            addressee_party_id=applicant.id, decision_date=None),
            staff_actor(db.session.get_one(Staff, world.staff_id)))
        db.session.commit()
        return decision.id


def postbox_request(app: Flask, world: World) -> str:
    """The office asks the citizen for a document; the message waits for the reply."""
    with app.app_context():
        staff = db.session.get_one(Staff, world.staff_id)
        eingang = _queue_item(world.citizen_id, EingangKind.NEUANTRAG, staff)
        message = request_from_citizen(eingang, "Bitte Geburtsurkunde nachreichen",
                                       "Uns fehlt die Geburtsurkunde.", staff_actor(staff))
        db.session.commit()
        return message.public_id


def matchable_order(app: Flask) -> Sollstellung:
    """An order the treasury has been sent: a booking can be assigned to it by hand."""
    with app.app_context():
        order = db.session.scalar(select(Sollstellung).where(
            Sollstellung.status.in_(MATCHABLE)).order_by(Sollstellung.id))
        assert order is not None, "the demo data has no transmitted order"
        db.session.expunge(order)
        return order


def unclear_booking(app: Flask, world: World) -> int:
    """A payment on the Klärungsliste, as an import leaves one with a wrong Kassenzeichen."""
    order = matchable_order(app)
    with app.app_context():
        model = db.session.get_one(Booking, world.unclear_booking_id)
        count = db.session.scalar(select(func.count(Booking.id))) or 0
        booking = Booking(import_id=model.import_id, reference=f"FUZZ-{count + 1}",
                          source=model.source, direction=order.direction,
                          kassenzeichen="unbekannt", amount_cents=1500,
                          booking_date=model.booking_date, counterparty="Thomas Beispiel",
                          purpose="Unterhalt", status=BookingStatus.UNCLEAR, excess_cents=0)
        db.session.add(booking)
        db.session.commit()
        return booking.id


def spare_citizen(app: Flask, world: World) -> int:
    """A second verified account, for the forms that may end it or reset its password."""
    with app.app_context():
        count = db.session.scalar(select(func.count(Citizen.id))) or 0
        citizen = Citizen(email=f"zweitkonto{count + 1}@example.org",
                          password_hash=hash_password(PASSWORD), email_verified_at=utcnow(),
                          session_epoch=0)
        db.session.add(citizen)
        db.session.commit()
        return citizen.id


def mailed_links(app: Flask, world: World) -> dict[str, str]:
    """Fresh tokens for the links the spare account gets by e-mail (a used one is void)."""
    with app.app_context():
        citizen = db.session.get_one(Citizen, world.spare_citizen_id)
        return {purpose.value: make_token(citizen, purpose) for purpose in Purpose}


def draft_order(app: Flask, world: World) -> int:
    """A new draft order, raised by the system as the payment run does (four eyes: an order
    the signed-in member of staff raised would not be theirs to establish)."""
    with app.app_context():
        model = db.session.get_one(Sollstellung, world.draft_order_id)
        order = create_order(None, direction=model.direction, amount_cents=model.amount_cents,
                             due_date=model.due_date, haushaltsstelle=model.haushaltsstelle,
                             party_name=model.party_name, iban=model.iban,
                             fall_id=model.fall_id)
        db.session.commit()
        return order.id


# --- routes and visitors ----------------------------------------------------------------------

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# For anonymous visitors: a signed-in citizen is sent on to the account instead.
ANONYMOUS_ENDPOINTS = frozenset({
    "citizens.login", "citizens.register", "citizens.resend_verification",
    "citizens.verify_email", "citizens.forgot_password", "citizens.reset_password",
    "citizens.confirm_email_change", "staff_auth.login", "i18n.switch_language",
})


def write_rules(app: Flask) -> list[tuple[Rule, str]]:
    """Every (rule, method) of the app that changes something."""
    found = [(rule, method) for rule in app.url_map.iter_rules()
             for method in sorted((rule.methods or set()) & WRITE_METHODS)]
    return sorted(found, key=lambda pair: (pair[0].rule, pair[1]))


def visitor_for(endpoint: str, path: str) -> str:
    """The visitor every access rule lets through, so that only the token can refuse."""
    if endpoint == "staff_auth.totp":
        return "totp"
    if endpoint in ANONYMOUS_ENDPOINTS:
        return "anonymous"
    return "staff" if path.startswith("/intern") else "citizen"


def build_path(app: Flask, rule: Rule, world: World) -> str:
    return app.url_map.bind("localhost").build(rule.endpoint, world.url_values(rule))


# --- reading forms ----------------------------------------------------------------------------


@dataclass
class Control:
    name: str
    kind: str  # the input's type, or "select", "textarea", "button"
    value: str = ""
    checked: bool = False
    options: list[str] = field(default_factory=list)
    selected: list[str] = field(default_factory=list)


@dataclass
class ParsedForm:
    method: str
    action: str
    enctype: str
    controls: list[Control] = field(default_factory=list)

    def baseline(self) -> list[tuple[str, str]]:
        """What a browser sends when the visitor presses the button without typing."""
        pairs: list[tuple[str, str]] = []
        for control in self.controls:
            if control.kind in ("checkbox", "radio"):
                if control.checked:
                    pairs.append((control.name, control.value or "on"))
            elif control.kind == "select":
                pairs.extend((control.name, value)
                             for value in (control.selected or control.options)[:1])
            elif control.kind not in ("submit", "button", "file", "reset", "image"):
                pairs.append((control.name, control.value))
        return pairs

    def groups(self) -> list[tuple[str, list[Control]]]:
        """The controls by name, in page order (radio buttons and checkboxes share one)."""
        grouped: dict[str, list[Control]] = {}
        for control in self.controls:
            grouped.setdefault(control.name, []).append(control)
        return list(grouped.items())


class FormParser(HTMLParser):
    """The forms of a page with their named controls."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[ParsedForm] = []
        self._form: ParsedForm | None = None
        self._select: Control | None = None
        self._option: dict[str, str] | None = None  # the open <option>'s attributes
        self._option_text = ""
        self._textarea: Control | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {key: value or "" for key, value in attrs}
        if tag == "form":
            self._form = ParsedForm(found.get("method", "get").lower(), found.get("action", ""),
                                    found.get("enctype", ""))
            self.forms.append(self._form)
        elif tag == "option" and self._select is not None:
            self._finish_option()
            self._option, self._option_text = found, ""
        elif self._form is not None and found.get("name"):
            self._control(self._form, tag, found)

    def _control(self, form: ParsedForm, tag: str, found: dict[str, str]) -> None:
        name = found["name"]
        if tag == "input":
            form.controls.append(Control(name, found.get("type", "text").lower(),
                                         found.get("value", ""), "checked" in found))
        elif tag == "button":
            form.controls.append(Control(name, "button", found.get("value", "")))
        elif tag == "select":
            self._select = Control(name, "select")
            form.controls.append(self._select)
        elif tag == "textarea":
            self._textarea = Control(name, "textarea")
            form.controls.append(self._textarea)

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._textarea.value += data
        elif self._option is not None:
            self._option_text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag in ("option", "select"):
            self._finish_option()
            if tag == "select":
                self._select = None
        elif tag == "textarea" and self._textarea is not None:
            # A browser drops the line break that follows <textarea>.
            self._textarea.value = self._textarea.value.removeprefix("\r").removeprefix("\n")
            self._textarea = None

    def _finish_option(self) -> None:
        if self._select is None or self._option is None:
            return
        value = self._option.get("value", self._option_text.strip())
        self._select.options.append(value)
        if "selected" in self._option:
            self._select.selected.append(value)
        self._option = None


def parse_forms(page: str) -> list[ParsedForm]:
    parser = FormParser()
    parser.feed(page)
    parser.close()
    return parser.forms


def form_for(app: Flask, page_path: str, forms: list[ParsedForm], endpoint: str,
             method: str = "post") -> tuple[ParsedForm, str] | None:
    """The form of the page that a browser sends to ``endpoint``, and the URL it goes to."""
    adapter = app.url_map.bind("localhost")
    for form in forms:
        if form.method != method:
            continue
        target = (form.action or page_path).split("#")[0]
        try:
            found, _arguments = adapter.match(target.split("?")[0], method=method.upper())
        except HTTPException:  # a form that goes elsewhere
            continue
        if found == endpoint:
            return form, target
    return None


def is_token(name: str) -> bool:
    return name == "csrf_token" or name.endswith("-csrf_token")  # prefixed forms have their own


# --- what a careful person would type ---------------------------------------------------------

NEW_PASSWORD = "ein-ganz-neues-Passwort-7"
MONTHS = ("first_month", "last_month", "month_from", "month_to", "until", "requested_from")
MONEY = ("amount", "maintenance", "maintenance_amount", "orphan_benefit", "child_income",
         "net_income", "monthly_cap", "earnings", "training_allowance", "asset_income")
WHOLE_NUMBERS = ("working_days", "retention_years", "year", "min_age", "object_id")
FUTURE_DATES = ("due_date", "reply_by")
_serial = itertools.count(1)


def field_kind(name: str, kind: str) -> str:
    """What a field holds, read from its name: plausible values and edges depend on it."""
    base = name.rsplit("-", 1)[-1]  # a prefixed form's field: c2-until, item3-decision
    if kind in ("hidden", "file", "select", "radio", "checkbox", "button", "submit"):
        return kind
    if base in MONTHS:
        return "month"
    if base in MONEY:
        return "money"
    if base in WHOLE_NUMBERS or kind == "number":
        return "number"
    if base == "since" or base.endswith(("date", "_on", "since", "_from", "_until", "_to",
                                         "_start", "_end", "reply_by")):
        return "date"
    if "password" in base:
        return "password"
    for known in ("iban", "bic", "email", "postcode", "phone", "haushaltsstelle"):
        if base.endswith(known):
            return known
    return "textarea" if kind == "textarea" else "text"


def plausible(name: str, kind: str) -> str:
    base = name.rsplit("-", 1)[-1]
    if base == "year":
        return str(berlin_today().year)
    if base == "birth_date":
        return german_date(berlin_today() - timedelta(days=10 * 365))
    if base in ("username", "code") and kind != "number":
        return f"fz{next(_serial)}"
    if base in ("aktenzeichen", "kassenzeichen", "q"):
        return ""  # a made-up reference finds nothing; the search is left open
    today = berlin_today()
    return {
        "month": today.strftime("%m.%Y"), "money": "120,50", "number": "5",
        # Today: not in the future, and not before the case or objection it belongs to.
        "date": german_date(today + timedelta(days=20) if base in FUTURE_DATES else today),
        "iban": "DE89 3704 0044 0532 0130 00", "bic": "COBADEFFXXX",
        "email": f"fuzz{next(_serial)}@example.org", "postcode": "97437",
        "phone": "09521 1234", "haushaltsstelle": "10 07/681 01-4",
        "password": PASSWORD if base == "current_password" else NEW_PASSWORD,
        "textarea": "Bitte rufen Sie mich zurück.\r\nDanke.",
    }.get(kind, "Erika Muster")


def background(form: ParsedForm, fill: dict[str, str]) -> list[tuple[str, str]]:
    """A post the form should accept: the page's own values, the rest filled in plausibly
    (every box ticked, the first real option chosen), the spec's ``fill`` over all."""
    pairs: list[tuple[str, str]] = []
    for name, controls in form.groups():
        kind = field_kind(name, controls[0].kind)
        if name in fill:
            pairs.append((name, fill[name]))
        elif kind == "file":
            continue
        elif kind == "checkbox":
            pairs.extend((name, control.value or "y") for control in controls)
        elif kind == "select":
            chosen = controls[0].selected or [o for o in controls[0].options if o][:1] \
                or controls[0].options[:1]
            pairs.extend((name, value) for value in chosen[:1])
        elif kind in ("radio", "button", "submit", "hidden") or controls[0].value:
            pairs.append((name, controls[0].value))
        else:
            pairs.append((name, plausible(name, kind)))
    return pairs


def files_for(form: ParsedForm) -> list[tuple[str, str, bytes]]:
    return [(name, "Nachweis.pdf", pdf_bytes()) for name, controls in form.groups()
            if controls[0].kind == "file"]


# Three posts on that background: free text with a NUL byte (PostgreSQL refuses it in text),
# then every number, date and amount at the largest and the smallest a form should accept.
EDGES: dict[str, dict[str, str]] = {
    "nul": {"text": "Zeile mit \x00 NUL", "textarea": "Absatz mit \x00 NUL\r\nZeile 2"},
    "max": {"date": "31.12.9000", "month": "12.9000", "money": "99999999999,99",
            "number": "999999999", "text": "\u202e\U0001f600" + "Ä" * 190,
            "textarea": "Ä" * 9_000},
    "min": {"date": "01.01.1900", "month": "01.1900", "money": "0,00", "number": "0",
            "text": "\ufeff", "textarea": "\u2028"},
}


def edge_post(form: ParsedForm, fill: dict[str, str], edge: str) -> Posted:
    kinds = {name: field_kind(name, controls[0].kind) for name, controls in form.groups()}
    pairs = [(name, value if name in fill else EDGES[edge].get(kinds[name], value))
             for name, value in background(form, fill)]
    return Posted(pairs, files_for(form))


# --- hostile input ----------------------------------------------------------------------------

# Every markup payload carries "fz": a raw copy of one in a page is unmistakable.
MARKUP = ("<script>fz()</script>", '"><img src=x onerror=fz()>', "'><svg onload=fz()>",
          "</textarea><script>fz()</script>", "<iframe srcdoc=fz>", "<a href=javascript:fz()>x</a>")
SQL = ("' OR '1'='1", "1; DROP TABLE staff; --", "'); SELECT pg_sleep(3); --", "%' OR 1=1 --",
       "\\", "'", '"')
CONTROL = ("\x00", "a\x00b", "\x1b[2J", "\r\n\r\n", "\t", "\u202e\u202d", "\ufeff", "\x7f",
           "\x00\x01\x02\x03", "\u2028", "\U0001f600" * 3, "Ä" * 300, " ", "")
NUMBERS = ("-1", "-0", "0", "-5,00", "-0,01", "1e309", "NaN", "inf", "-inf",
           "99999999999999999999999999", "2147483648", "9223372036854775808", "0x1F", "１２",
           "²", "٣", "①", "1_000", " 7 ", "7.", ",5", "1.000.000,00", "999999999,99", "0,001",
           "1.5", "12,345", "+3", "--1")
DATES = ("31.02.2025", "00.00.0000", "01.01.0001", "31.12.9999", "2025-03-01", "1.1.25",
         "29.02.2023", "01.13.2025", "99.99.9999", "01.01.10000", "-1.01.2025", "01.2025",
         "13.2025", "00.2025", "12.9999", "01.0001", "01.01.1", "１.１.２０２５")
IBANS = ("DE00 0000 0000 0000 0000 00", "DE89370400440532013001", "XX89370400440532013000",
         "GB82WEST12345698765432", "de89370400440532013000",
         "DE89370400440532013000DE89370400440532013000", "COBADEFFXXX", "AAAAAAAA")
# Mostly ASCII: a url-encoded "ä" is six bytes that Python's parser unquotes one at a time,
# and 100,000 of them in every field would slow the run without testing anything more.
LONG = ("x" * 100_000, "ä" * 10_000 + "x" * 90_000, "<script>fz()</script>\x00" * 4_000)

# Each field of each form meets every probe once (``probe_post``). The first carries NUL,
# markup, SQL and 100,000 characters at once; the others are exact, as a number, date or money
# field must meet them to reach its parser: a digit int() refuses, a negative and a huge
# number, an impossible date, the last and the first day a date can have, an overflowing
# float, not a number, a negative amount of money.
PROBES = ("\x00<script>fz()</script>' OR '1'='1 äöü\u202e" + "x" * 100_000,
          "²", "-1", "99999999999999999999", "31.02.2025", "31.12.9999", "01.01.0001", "1e309",
          "NaN", "-0,01")
HOSTILE: st.SearchStrategy[str] = st.one_of(
    st.sampled_from(PROBES[1:]),
    st.sampled_from(MARKUP + SQL + CONTROL + NUMBERS + DATES + IBANS + LONG),
    st.text(max_size=30),  # any code point but surrogates: control characters and NUL too
    st.integers(min_value=-10**30, max_value=10**30).map(str),
    st.dates().map(german_date),
    st.tuples(st.text(max_size=4), st.sampled_from(MARKUP + SQL),
              st.text(max_size=4)).map("".join),
)


@dataclass
class Posted:
    pairs: list[tuple[str, str]]
    files: list[tuple[str, str, bytes]]  # field name, file name, content

    def values(self) -> list[str]:
        return [value for _name, value in self.pairs]


def probe_post(form: ParsedForm, _fill: dict[str, str], round_number: int) -> Posted:
    """Round k of a Latin square: field i gets probe k + i, so that after len(PROBES) rounds
    every field has met every probe. The token stays, file fields get a good PDF."""
    fields = [name for name, controls in form.groups()
              if not is_token(name) and controls[0].kind != "file"]
    pairs = [(name, controls[0].value) for name, controls in form.groups() if is_token(name)]
    pairs += [(name, PROBES[(round_number + index) % len(PROBES)])
              for index, name in enumerate(fields)]
    return Posted(pairs, files_for(form))


@st.composite
def hostile_posts(draw: st.DrawFn, form: ParsedForm, fill: dict[str, str]) -> Posted:
    """What a hostile or clumsy browser might send: each field kept, changed to a hostile
    value, left out or sent twice, now and then a field the form does not have. The token is
    always the real one (tests/test_csrf_everywhere.py is about the token)."""
    kept = background(form, fill)
    pairs: list[tuple[str, str]] = []
    files: list[tuple[str, str, bytes]] = []
    for name, controls in form.groups():
        kind = controls[0].kind
        own = [(key, value) for key, value in kept if key == name]
        if is_token(name):
            pairs.extend(own)
            continue
        if kind == "file":
            choice = draw(st.sampled_from(("none", "pdf", "junk", "empty")))
            if choice != "none":
                files.append((name, "Nachweis ä.pdf", pdf_bytes()) if choice == "pdf" else
                             (name, "leer.pdf", b"") if choice == "empty" else
                             (name, draw(st.sampled_from(("x.pdf", "..\\..\\a.exe", "a.png"))),
                              draw(st.binary(max_size=64))))
            continue
        options = controls[0].options if kind == "select" else [
            control.value for control in controls
            if control.kind in ("radio", "checkbox", "button", "submit")]
        # Mostly the background's values, so that a post often passes the other fields'
        # checks and reaches the code behind them; the probe rounds cover every field anyway.
        op = draw(st.sampled_from(
            ("keep", "keep", "keep", "keep", "hostile", "omit") if kind == "hidden" else
            ("keep", "keep", "option", "hostile", "hostile", "omit", "twice") if options else
            ("keep", "keep", "keep", "hostile", "hostile", "omit", "twice")))
        if op == "keep":
            pairs.extend(own)
        elif op == "option":
            pairs.append((name, draw(st.sampled_from(options))))
        elif op == "hostile":
            pairs.append((name, draw(HOSTILE)))
        elif op == "twice":
            first = draw(st.sampled_from(options)) if options else (own[0][1] if own else "")
            pairs.extend([(name, first), (name, draw(HOSTILE))])
    if draw(st.integers(0, 4)) == 0:
        pairs.append(("fz_extra", draw(HOSTILE)))
    return Posted(pairs, files)


# --- sending --------------------------------------------------------------------------------

BOUNDARY = "----amtsweg-fuzz"


def _multipart(posted: Posted) -> bytes:
    # Built by hand: the test client spools a large body to a temporary file it never closes.
    parts = [f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
             + value.encode() + b"\r\n" for name, value in posted.pairs]
    parts += [f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"; '
              f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
              .encode() + content + b"\r\n" for name, filename, content in posted.files]
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


def send(client: FlaskClient, method: str, target: str, posted: Posted, *, multipart: bool,
         remote_addr: str) -> Any:
    """Send ``posted`` as a browser would: a query string, a url-encoded or a multipart body."""
    environ = {"REMOTE_ADDR": remote_addr}
    if method == "get":
        query = urlencode(posted.pairs)
        path = target.split("?")[0]
        return client.get(f"{path}?{query}" if query else path, environ_base=environ)
    if multipart or posted.files:
        return client.post(target, data=_multipart(posted), environ_base=environ,
                           content_type=f"multipart/form-data; boundary={BOUNDARY}")
    return client.post(target, data=urlencode(posted.pairs), environ_base=environ,
                       content_type="application/x-www-form-urlencoded")
